/**
 * A verified mirror of a published log (C2SP tlog-tiles), after C2SP
 * tlog-mirror's update process, pulled rather than pushed:
 *
 * - the *pending checkpoint* is the newest one in `checkpoints/` (one file per
 *   tree size, the signed note as the log served it, never rewritten): each
 *   is added only after its log signature, the witness policy and the chain
 *   (when given) and its consistency with the one before have been checked;
 * - the *mirror checkpoint* is `checkpoint` beside the tiles, written by
 *   {@link StaticLogDir} last, once every tile and bundle of the pending tree is
 *   durable; every byte written was first authenticated against the pending
 *   checkpoint ({@link VerifiedReader}) and is read back and checked again.
 *
 * Consistency is checked with an RFC 6962 consistency proof assembled from
 * upstream's tiles of the new tree and verified by the log core, after those
 * tiles are shown to hash to the new root: so a failing proof means the log's
 * new tree does not extend the one the mirror holds (a fork), not bad tiles.
 * This costs a few tile reads, before any entry is fetched or anything written.
 *
 * Crash safety: every file is written atomically; a kill at any point leaves
 * the mirror checkpoint and its tiles as they were, and the next sync goes on
 * from the pending checkpoint, skipping the tiles already written.
 *
 * A log that shrinks or forks is refused with {@link MirrorRefusal}; the copy is
 * kept, and a validly signed checkpoint that forks is saved in `refused/` as
 * evidence (two checkpoints the log signed that cannot both be true).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { writeOnceDurably } from "../durable-file";
import { consistencyProofFromTiles, type LogReader } from "../format/log-reader";
import { checkCosignedCheckpoint, type WitnessPolicy } from "../format/witness-policy";
import { CodedError, equalBytes, toHex, verifyCheckpoint, verifyConsistency, type Checkpoint, type NoteVerifier } from "../log";
import { StaticLogDir } from "../publish/static-dir";
import { TileAuthenticationError, VerifiedReader } from "./verified-reader";

export type MirrorRefusalCode = "SIGNATURE_INVALID" | "POLICY_UNSATISFIED" | "NOT_ANCHORED" | "SHRUNK" | "FORKED" | "TILES_INVALID";

/** The upstream checkpoint was refused; the mirror's copy and history are unchanged (a fork is saved under `refused/`). */
export class MirrorRefusal extends CodedError<MirrorRefusalCode> {
  override readonly name = "MirrorRefusal";
}

/** The chain check: whether (size, root) is a checkpoint anchored on the chain (service/format/anchor.ts AnchorReader). */
export interface AnchorCheck {
  isAnchored(treeSize: number, rootHex: string): Promise<boolean>;
}

export interface MirrorOptions {
  /** The log's key: every checkpoint must be signed by it. */
  readonly verifier: NoteVerifier;
  /** The checkpoints' origin; default: the key's name. */
  readonly origin?: string;
  /** When given, every checkpoint must carry cosignatures meeting its quorum. */
  readonly policy?: WitnessPolicy;
  /** When given, every checkpoint must be anchored on the chain, exactly (size and root). */
  readonly anchor?: AnchorCheck;
  /** Passed to StaticLogDir: called before each file of the copy is moved into place (tests simulate a crash). */
  readonly beforeRename?: (target: string) => Promise<void> | void;
}

export interface SyncResult {
  /** The mirror checkpoint's size after the sync. */
  readonly size: number;
  readonly previousSize: number;
  /** Whether upstream's checkpoint was new to the mirror (added to `checkpoints/`). */
  readonly newCheckpoint: boolean;
  /** Files written to the copy. */
  readonly written: number;
}

interface Held {
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly note: Uint8Array;
}

const HISTORY = "checkpoints";
const REFUSED = "refused";
const SIZE_NAME = /^(0|[1-9][0-9]{0,15})$/;

export class Mirror {
  private constructor(readonly copy: StaticLogDir, private readonly _o: MirrorOptions) {}

  /** Opens (creating) the mirror directory; removes a killed run's temporary files. */
  static async open(dir: string, options: MirrorOptions): Promise<Mirror> {
    return new Mirror(await StaticLogDir.open(dir), options);
  }

  get dir(): string {
    return this.copy.dir;
  }

  private get _origin(): string {
    return this._o.origin ?? this._o.verifier.name;
  }

  private _open(note: Uint8Array, what: string): Checkpoint {
    try {
      return verifyCheckpoint(note, this._o.verifier, this._origin);
    } catch (e) {
      throw new MirrorRefusal(
        "SIGNATURE_INVALID",
        `${what} does not verify under the log key ${this._o.verifier.name}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e }
      );
    }
  }

  /** The sizes in `checkpoints/`, ascending. */
  async history(): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(path.join(this.dir, HISTORY));
    } catch (e) {
      if ((e as { code?: unknown }).code === "ENOENT") return [];
      throw e;
    }
    return names
      .filter((n) => SIZE_NAME.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** The pending checkpoint: the newest in the history, else the copy's own checkpoint, else none. Each is re-verified with the log key. */
  async pending(): Promise<Held | undefined> {
    const sizes = await this.history();
    let note: Uint8Array;
    let what: string;
    if (sizes.length > 0) {
      what = `${HISTORY}/${sizes[sizes.length - 1]}`;
      note = await fs.readFile(path.join(this.dir, what));
    } else {
      what = "checkpoint";
      try {
        note = await fs.readFile(path.join(this.dir, "checkpoint"));
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return undefined;
        throw e;
      }
    }
    const cp = this._open(note, `the mirror's own ${what}`);
    return { size: cp.size, rootHash: cp.rootHash, note };
  }

  /**
   * Brings the copy up to upstream's checkpoint: checks it (see the module
   * comment), adds it to the history, then copies the tiles and bundles the
   * mirror lacks and writes it as the mirror checkpoint. Rejects with
   * {@link MirrorRefusal} for a checkpoint refused, LogReadError for a read
   * that fails, PublishError if the copy fails its own re-check.
   */
  async sync(upstream: LogReader): Promise<SyncResult> {
    const note = await upstream.readCheckpoint();
    const cp = this._open(note, "upstream's checkpoint");
    if (this._o.policy !== undefined) {
      let check;
      try {
        check = checkCosignedCheckpoint(note, this._o.policy);
      } catch (e) {
        throw new MirrorRefusal(
          "POLICY_UNSATISFIED",
          `upstream's checkpoint of size ${cp.size} carries an invalid cosignature: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e }
        );
      }
      if (!check.satisfied)
        throw new MirrorRefusal(
          "POLICY_UNSATISFIED",
          `upstream's checkpoint of size ${cp.size} lacks the witness quorum (vouched: ${check.vouched.length > 0 ? check.vouched.join(", ") : "none"})`
        );
    }
    if (this._o.anchor !== undefined && cp.size > 0 && !(await this._o.anchor.isAnchored(cp.size, `0x${toHex(cp.rootHash)}`)))
      throw new MirrorRefusal("NOT_ANCHORED", `upstream's checkpoint of size ${cp.size} (root ${toHex(cp.rootHash)}) is not anchored on the chain`);

    const held = await this.pending();
    let newCheckpoint = false;
    if (held !== undefined && cp.size < held.size) {
      throw new MirrorRefusal("SHRUNK", `the log shrank: upstream's checkpoint has ${cp.size} entries, the mirror holds a checkpoint of ${held.size}`);
    } else if (held !== undefined && cp.size === held.size) {
      if (!equalBytes(cp.rootHash, held.rootHash)) {
        await this._saveRefused(cp, note);
        throw new MirrorRefusal(
          "FORKED",
          `the log forked: upstream's checkpoint of size ${cp.size} has root ${toHex(cp.rootHash)}, the mirror holds root ${toHex(held.rootHash)}`
        );
      }
    } else {
      if (held !== undefined && held.size > 0) await this._checkConsistent(upstream, held, cp, note);
      await writeOnceDurably(path.join(this.dir, HISTORY, String(cp.size)), note, { tmpDir: path.join(this.dir, ".tmp") });
      newCheckpoint = true;
    }

    const target = (await this.pending())!;
    const previousSize = await this.copy.size();
    if (previousSize === target.size && previousSize > 0) return { size: target.size, previousSize, newCheckpoint, written: 0 };
    const source = target.size === 0 ? upstreamWithNote(upstream, target.note) : await this._verified(upstream, target, previousSize);
    let r;
    try {
      r = await this.copy.publish(source, {
        verifiers: this._o.verifier,
        origin: this._origin,
        ...(this._o.beforeRename ? { beforeRename: this._o.beforeRename } : {}),
      });
    } catch (e) {
      if (e instanceof TileAuthenticationError) throw new MirrorRefusal("TILES_INVALID", e.message, { cause: e });
      throw e;
    }
    return { size: r.size, previousSize: r.previousSize, newCheckpoint, written: r.written };
  }

  private async _verified(upstream: LogReader, target: Held, fromSize: number): Promise<VerifiedReader> {
    try {
      return await VerifiedReader.open(upstream, target.note, target.size, target.rootHash, fromSize);
    } catch (e) {
      if (e instanceof TileAuthenticationError) throw new MirrorRefusal("TILES_INVALID", e.message, { cause: e });
      throw e;
    }
  }

  /** Refuses `cp` unless upstream's tiles of its tree hash to its root and prove it extends `held`. */
  private async _checkConsistent(upstream: LogReader, held: Held, cp: Checkpoint, note: Uint8Array): Promise<void> {
    // Authenticates upstream's right edge first, so a proof that fails below is a fork, not damaged tiles.
    await this._verified(upstream, { size: cp.size, rootHash: cp.rootHash, note }, cp.size);
    const proof = await consistencyProofFromTiles(upstream, held.size, cp.size);
    try {
      verifyConsistency(held.size, cp.size, held.rootHash, cp.rootHash, proof);
    } catch (e) {
      await this._saveRefused(cp, note);
      throw new MirrorRefusal(
        "FORKED",
        `the log forked: upstream's checkpoint of size ${cp.size} does not extend the mirror's of size ${held.size} (${
          e instanceof Error ? e.message : String(e)
        })`,
        { cause: e }
      );
    }
  }

  /** Keeps a validly signed checkpoint that contradicts the history, as evidence. */
  private async _saveRefused(cp: Checkpoint, note: Uint8Array): Promise<void> {
    await writeOnceDurably(path.join(this.dir, REFUSED, `${cp.size}-${toHex(cp.rootHash)}`), note, { tmpDir: path.join(this.dir, ".tmp") });
  }
}

/** Upstream, except that its checkpoint is `note` (the empty tree has no tiles to authenticate). */
function upstreamWithNote(upstream: LogReader, note: Uint8Array): LogReader {
  return {
    readCheckpoint: () => Promise.resolve(note),
    readTile: (l, i, w) => upstream.readTile(l, i, w),
    readEntryBundle: (i, w) => upstream.readEntryBundle(i, w),
  };
}
