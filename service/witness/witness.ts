/**
 * A transparency log witness (c2sp.org/tlog-witness): checks a log's new
 * checkpoint against the latest one it cosigned for that origin, saves it,
 * and cosigns it with cosignature/v1 (c2sp.org/tlog-cosignature).
 *
 * The check of the old size and the save of the new checkpoint are one
 * critical section per origin: concurrent calls for one origin run one after
 * another, so two requests from the same old size cannot both pass (the
 * spec's rollback race), and no answer is given before the save is durable.
 * Different origins do not wait for each other.
 *
 * Outcomes are results or a {@link WitnessError} with a code; ./http.ts maps
 * codes to the spec's status codes. No HTTP here.
 */
import { parseAddCheckpointRequest, WitnessRequestError } from "../format/tlog-witness";
import {
  CheckpointError,
  CodedError,
  cosignCheckpoint,
  cosignerKeyOf,
  EMPTY_ROOT,
  equalBytes,
  parseCheckpoint,
  splitSignedNote,
  toHex,
  verifyCheckpoint,
  verifyConsistency,
  VerificationError,
  type NoteSigner,
  type NoteVerifier,
} from "../log";
import type { WitnessStateStore } from "./state";

export type WitnessErrorCode =
  /** The body is not an add-checkpoint request, or the checkpoint note is malformed: 400. */
  | "MALFORMED"
  /** The old size exceeds the checkpoint's size: 400. */
  | "OLD_SIZE_TOO_LARGE"
  /** No log with this origin is configured: 404. */
  | "UNKNOWN_ORIGIN"
  /** No signature from a trusted key of the origin verifies: 403. */
  | "SIGNATURE_UNVERIFIED"
  /** The old size is not the size this witness last cosigned: 409 with that size. */
  | "OLD_SIZE_MISMATCH"
  /** Same size as the latest cosigned checkpoint, different root: a split view, 409. */
  | "ROOT_MISMATCH"
  /** The consistency proof does not verify from the latest cosigned checkpoint: 422. */
  | "PROOF_INVALID";

export class WitnessError extends CodedError<WitnessErrorCode> {
  override readonly name = "WitnessError";
  constructor(
    code: WitnessErrorCode,
    message: string,
    /** For OLD_SIZE_MISMATCH: the size of the latest cosigned checkpoint. */
    readonly latestSize?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface WitnessOptions {
  /** The witness's note signer key (parseSignerKey); it cosigns with the derived cosignature/v1 key. */
  readonly signer: NoteSigner;
  /** Trusted log keys by origin. */
  readonly logs: ReadonlyMap<string, readonly NoteVerifier[]>;
  readonly store: WitnessStateStore;
  /** Milliseconds since the epoch; cosignatures carry it in whole seconds. */
  readonly now: () => number;
}

/** A successful add-checkpoint: the cosignature lines to answer with, and what was checked. */
export interface Cosigned {
  readonly origin: string;
  readonly oldSize: number;
  readonly size: number;
  /** One or more signature lines, each ending in a newline. */
  readonly cosignatures: string;
}

export class Witness {
  readonly #signer: NoteSigner;
  readonly #logs: ReadonlyMap<string, readonly NoteVerifier[]>;
  readonly #store: WitnessStateStore;
  readonly #now: () => number;
  readonly #queues = new Map<string, Promise<unknown>>();
  /** The cosigner vkey clients put in their policy (type 0x04). */
  readonly cosignerKey: string;

  constructor(options: WitnessOptions) {
    this.#signer = options.signer;
    this.#logs = options.logs;
    this.#store = options.store;
    this.#now = options.now;
    this.cosignerKey = cosignerKeyOf(options.signer);
  }

  /** The witness's cosigner name. */
  get name(): string {
    return this.#signer.name;
  }

  /**
   * Handles one add-checkpoint body, in the spec's order of checks: framing
   * (400), origin (404), log signature (403), old size ≤ size (400), then
   * under the origin's lock: old size = latest (409 + size), equal sizes need
   * equal roots (409), consistency proof (422); then saves durably and cosigns.
   */
  async addCheckpoint(body: Uint8Array | string): Promise<Cosigned> {
    let req;
    try {
      req = parseAddCheckpointRequest(body);
    } catch (e) {
      if (e instanceof WitnessRequestError) throw new WitnessError("MALFORMED", e.message, undefined, { cause: e });
      throw e;
    }
    let origin: string;
    try {
      origin = parseCheckpoint(splitSignedNote(req.checkpoint).text).origin;
    } catch (e) {
      if (e instanceof CheckpointError) throw new WitnessError("MALFORMED", `checkpoint: ${e.message}`, undefined, { cause: e });
      throw e;
    }
    const keys = this.#logs.get(origin);
    if (keys === undefined || keys.length === 0) throw new WitnessError("UNKNOWN_ORIGIN", `unknown log origin ${JSON.stringify(origin)}`);
    let cp;
    try {
      cp = verifyCheckpoint(req.checkpoint, keys, origin);
    } catch (e) {
      if (e instanceof CheckpointError) {
        if (e.code === "SIGNATURE_MISSING" || e.code === "SIGNATURE_INVALID") throw new WitnessError("SIGNATURE_UNVERIFIED", e.message, undefined, { cause: e });
        throw new WitnessError("MALFORMED", `checkpoint: ${e.message}`, undefined, { cause: e });
      }
      throw e;
    }
    if (req.oldSize > cp.size) throw new WitnessError("OLD_SIZE_TOO_LARGE", `old size ${req.oldSize} exceeds the checkpoint size ${cp.size}`);

    return this.#serialised(origin, async () => {
      const latest = await this.#store.latest(origin);
      const latestSize = latest?.checkpoint.size ?? 0;
      if (req.oldSize !== latestSize) throw new WitnessError("OLD_SIZE_MISMATCH", `old size ${req.oldSize} is not the latest cosigned size ${latestSize}`, latestSize);
      const latestRoot = latest?.checkpoint.rootHash ?? EMPTY_ROOT;
      if (latest !== undefined && cp.size === latestSize && !equalBytes(cp.rootHash, latestRoot))
        throw new WitnessError("ROOT_MISMATCH", `root ${toHex(cp.rootHash)} differs from the cosigned root ${toHex(latestRoot)} at size ${cp.size}`);
      if (latest === undefined && req.proof.length > 0) throw new WitnessError("PROOF_INVALID", "the proof must be empty when the old size is 0");
      if (latest !== undefined) {
        try {
          verifyConsistency(latestSize, cp.size, latestRoot, cp.rootHash, req.proof);
        } catch (e) {
          if (e instanceof VerificationError) throw new WitnessError("PROOF_INVALID", `consistency proof from ${latestSize} to ${cp.size}: ${e.message}`, undefined, { cause: e });
          throw e;
        }
      }
      // Re-cosigning the same tree head changes nothing on disk.
      const same = latest !== undefined && cp.size === latestSize;
      if (!same) await this.#store.save(origin, req.checkpoint);
      const text = splitSignedNote(req.checkpoint).text;
      const cosignatures = cosignCheckpoint(text, this.#signer, Math.floor(this.#now() / 1000));
      return { origin, oldSize: req.oldSize, size: cp.size, cosignatures };
    });
  }

  /** Runs `fn` after every earlier call for `origin` has settled. */
  #serialised<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.#queues.get(origin) ?? Promise.resolve();
    const run = prior.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(origin, tail);
    // Drop the queue entry once idle so the map does not grow with every origin ever seen.
    void tail.then(() => {
      if (this.#queues.get(origin) === tail) this.#queues.delete(origin);
    });
    return run;
  }
}
