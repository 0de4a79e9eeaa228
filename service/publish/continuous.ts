/**
 * Continuous publishing (LEDGER_TLOG_DIR): keeps a static copy of the
 * published log in a directory, following the published checkpoint.
 *
 * Every {@link ContinuousPublisherOptions.everyMs} it compares the published
 * checkpoint with the last one it copied, and when it changed copies it with
 * {@link StaticLogDir.publish} (new tiles, then the checkpoint). One copy runs
 * at a time. A failed copy is logged and retried at the next tick; the
 * directory keeps the last good checkpoint meanwhile.
 */
import type { Logger } from "pino";
import type { LogReader } from "../format/log-reader";
import type { TileQueries } from "../queries/tiles";
import { StaticLogDir } from "./static-dir";

/** A {@link LogReader} over the service's own read model: what /tlog/ would serve, without HTTP. */
export function tileQueriesReader(tiles: Pick<TileQueries, "checkpoint" | "resource">): LogReader {
  const missing = (what: string) => new Error(`${what} is not published`);
  return {
    async readCheckpoint() {
      const cp = await tiles.checkpoint();
      if (cp === null) throw missing("no checkpoint");
      return new TextEncoder().encode(cp.note);
    },
    async readTile(level, index, width) {
      const b = await tiles.resource({ level, index, width });
      if (b === undefined) throw missing(`tile ${level}/${index}/${width}`);
      return b;
    },
    async readEntryBundle(index, width) {
      const b = await tiles.resource({ level: "entries", index, width });
      if (b === undefined) throw missing(`entry bundle ${index}/${width}`);
      return b;
    },
  };
}

export interface ContinuousPublisherOptions {
  readonly dir: string;
  readonly tiles: Pick<TileQueries, "checkpoint" | "resource">;
  readonly logger: Logger;
  /** Default 1000. */
  readonly everyMs?: number;
}

export class ContinuousPublisher {
  private _timer: NodeJS.Timeout | undefined;
  private _running: Promise<void> = Promise.resolve();
  private _lastNote: string | null = null;
  private _closed = false;

  private constructor(
    private readonly _dir: StaticLogDir,
    private readonly _o: ContinuousPublisherOptions,
  ) {}

  /** Opens the directory (removing a killed run's temporary files) and starts following the published checkpoint. */
  static async start(o: ContinuousPublisherOptions): Promise<ContinuousPublisher> {
    const p = new ContinuousPublisher(await StaticLogDir.open(o.dir), o);
    p._schedule(0);
    return p;
  }

  private _schedule(ms: number): void {
    if (this._closed) return;
    this._timer = setTimeout(() => {
      this._running = this.publishNow().finally(() => this._schedule(this._o.everyMs ?? 1000));
    }, ms);
    this._timer.unref();
  }

  /** Copies the published checkpoint if it changed since the last copy; never rejects. */
  async publishNow(): Promise<void> {
    const log = this._o.logger;
    try {
      const cp = await this._o.tiles.checkpoint();
      if (cp === null || cp.note === this._lastNote) return;
      const r = await this._dir.publish(tileQueriesReader(this._o.tiles));
      this._lastNote = cp.note;
      log.info({ dir: this._dir.dir, size: r.size, written: r.written }, "published the log's tiles");
    } catch (e) {
      log.error({ dir: this._dir.dir, err: { type: e instanceof Error ? e.name : typeof e, message: e instanceof Error ? e.message : String(e) } }, "publishing the log's tiles failed; retrying");
    }
  }

  /** Stops following, after the copy under way (if any). */
  async close(): Promise<void> {
    this._closed = true;
    if (this._timer !== undefined) clearTimeout(this._timer);
    await this._running;
  }
}
