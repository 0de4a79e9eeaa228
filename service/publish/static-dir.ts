/**
 * Writes the published log into a directory, laid out as C2SP tlog-tiles
 * (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), so that
 * nginx or an object store can serve it with no service running.
 *
 * Guarantees:
 * - Every file appears whole or not at all: it is written and fsynced under
 *   `.tmp/` in the same directory tree, then moved into place. A kill
 *   mid-write leaves at most a temporary file there, which the next run removes.
 * - A full tile or bundle is never rewritten: it is moved into place with
 *   link(2), which fails rather than replace an existing file, so not even a
 *   concurrent writer can change one.
 * - The checkpoint is written last, after every tile it needs is durable and
 *   has been read back from the directory and checked: the new tiles and
 *   bundles against each other (checkTiles) and the right edge against the
 *   checkpoint's root. A reader never sees a checkpoint whose tiles are
 *   missing or wrong.
 * - A checkpoint smaller than the one already in the directory is refused.
 * Partial tiles are kept after their full tile appears (the spec allows
 * deleting them): a reader holding an older checkpoint can still use them.
 */
import { constants, promises as fs } from "node:fs";
import path from "node:path";
import { replaceFromTempDurably, syncDirectory, writeOnceDurably } from "../durable-file";
import { checkTiles, dirLogReader, rootFromTiles, TileMismatchError, type LogReader } from "../format/log-reader";
import { resourcesForSize, resourcePath, TILE_WIDTH, type TlogResource } from "../format/tiles";
import { CodedError, equalBytes, parseCheckpoint, toHex, verifyCheckpoint, type NoteVerifier } from "../log";

export type PublishErrorCode = "CHECKPOINT_INVALID" | "SHRUNK" | "ROOT_MISMATCH" | "CONFLICT";

/** The copy was refused; the directory still holds the previous checkpoint and everything it needs. */
export class PublishError extends CodedError<PublishErrorCode> {
  override readonly name = "PublishError";
}

export interface PublishOptions {
  /** When given, the checkpoint must verify under one of these keys (and `origin`, when given). */
  readonly verifiers?: NoteVerifier | readonly NoteVerifier[];
  readonly origin?: string;
  /** Called before each file is moved into place; tests use it to simulate a crash. */
  readonly beforeRename?: (target: string) => Promise<void> | void;
}

export interface PublishResult {
  readonly size: number;
  /** Size of the checkpoint the directory held before, 0 for none. */
  readonly previousSize: number;
  /** Files written (tiles, bundles and the checkpoint). */
  readonly written: number;
  /** Files already present and left alone. */
  readonly skipped: number;
}

const TMP = ".tmp";

/** The body of a signed note: the text up to its blank line. */
function noteBody(note: Uint8Array): Uint8Array {
  for (let i = note.length - 2; i >= 0; i--) if (note[i] === 0x0a && note[i + 1] === 0x0a) return note.subarray(0, i + 1);
  throw new PublishError("CHECKPOINT_INVALID", "the checkpoint is not a signed note (no blank line before its signatures)");
}

function sizeOf(note: Uint8Array, options: PublishOptions): { size: number; rootHash: Uint8Array } {
  try {
    if (options.verifiers !== undefined) return verifyCheckpoint(note, options.verifiers, options.origin);
    return parseCheckpoint(noteBody(note));
  } catch (e) {
    if (e instanceof PublishError) throw e;
    throw new PublishError("CHECKPOINT_INVALID", `the checkpoint does not open: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export class StaticLogDir {
  private constructor(readonly dir: string) {}

  /** Creates the directory if needed and removes temporary files a killed run left. */
  static async open(dir: string): Promise<StaticLogDir> {
    const abs = path.resolve(dir);
    await fs.mkdir(abs, { recursive: true, mode: 0o755 });
    await fs.rm(path.join(abs, TMP), { recursive: true, force: true });
    await fs.mkdir(path.join(abs, TMP), { mode: 0o700 });
    return new StaticLogDir(abs);
  }

  /** The size of the checkpoint in the directory (unverified), or 0 for none. */
  async size(): Promise<number> {
    let note: Uint8Array;
    try {
      note = await fs.readFile(path.join(this.dir, "checkpoint"));
    } catch {
      return 0;
    }
    return parseCheckpoint(noteBody(note)).size;
  }

  /** A reader of what the directory holds. */
  reader(): LogReader {
    return dirLogReader(this.dir, (p) => fs.readFile(p));
  }

  /**
   * Copies the checkpoint `source` serves now, and every tile and bundle its
   * tree needs that the directory lacks, into the directory; see the module
   * comment for what is guaranteed. Rejects with {@link PublishError} (writing
   * no checkpoint) for a checkpoint that does not open, is smaller than the
   * directory's, or whose tiles do not hash to its root.
   */
  async publish(source: LogReader, options: PublishOptions = {}): Promise<PublishResult> {
    const note = await source.readCheckpoint();
    const { size, rootHash } = sizeOf(note, options);
    const previousSize = await this.size();
    if (size < previousSize) throw new PublishError("SHRUNK", `the log's checkpoint has ${size} entries, fewer than the ${previousSize} already published here`);
    let written = 0;
    let skipped = 0;
    const touched = new Set<string>();
    for (const r of resourcesForSize(size, previousSize)) {
      const target = path.join(this.dir, resourcePath(r));
      if (await exists(target)) {
        skipped++;
        continue;
      }
      const bytes = r.level === "entries" ? await source.readEntryBundle(r.index, r.width) : await source.readTile(r.level, r.index, r.width);
      await this._write(target, bytes, r, options);
      touched.add(path.dirname(target));
      written++;
    }
    for (const d of touched) await syncDirectory(d);
    if (size > 0) {
      try {
        await checkTiles(this.reader(), size, previousSize);
      } catch (e) {
        if (e instanceof TileMismatchError) throw new PublishError("ROOT_MISMATCH", `the tiles here do not match: ${e.message}`, { cause: e });
        throw e;
      }
      const root = await rootFromTiles(this.reader(), size);
      if (!equalBytes(root, rootHash))
        throw new PublishError("ROOT_MISMATCH", `the tiles here hash to ${toHex(root)}, the checkpoint of size ${size} says ${toHex(rootHash)}`);
    }
    await this._write(path.join(this.dir, "checkpoint"), note, undefined, options);
    await syncDirectory(this.dir);
    return { size, previousSize, written: written + 1, skipped };
  }

  /**
   * Writes `bytes` to a temporary file under `.tmp/`, fsyncs it, then links
   * (full tiles, never replaced) or renames (the rest) it into place. The
   * caller fsyncs the directories touched.
   */
  private async _write(target: string, bytes: Uint8Array, r: TlogResource | undefined, options: PublishOptions): Promise<void> {
    const how = { tmpDir: path.join(this.dir, TMP), beforePlace: () => options.beforeRename?.(target), syncDirectory: false };
    if (r === undefined || r.width !== TILE_WIDTH) return replaceFromTempDurably(target, bytes, how);
    if (await writeOnceDurably(target, bytes, how)) return;
    const there = await fs.readFile(target);
    if (!equalBytes(there, bytes)) throw new PublishError("CONFLICT", `${target} exists with other contents; full tiles are never rewritten`);
  }
}
