/**
 * Where the witness stage keeps the newest checkpoint its quorum cosigned, so
 * that a restart goes on publishing it (and citing it in receipts) before the
 * witnesses answer again.
 *
 * The store only keeps bytes; it trusts nothing it reads back. What it loads
 * is checked by {@link checkSavedCosigned} against the log key, the chain the
 * service anchors on and the witness policy before it is used: the file sits
 * in the data directory, where a mistaken copy or an edit must not become
 * the published checkpoint.
 */
import { promises as fs } from "node:fs";
import { z } from "zod";
import { checkCosignedCheckpoint, type WitnessPolicy } from "../format/witness-policy";
import { CodedError } from "../log/errors";
import { toHex, verifyCheckpoint, type NoteVerifier } from "../log";
import type { AnchoredPoint } from "../ledger/receipts";
import { writeFileDurably } from "../durable-file";

/** A cosigned checkpoint as saved: the anchored point and its note with the cosignature lines appended. */
export interface SavedCosigned {
  readonly point: AnchoredPoint;
  /** `point.signedCheckpoint` followed by the quorum's cosignature lines. */
  readonly note: string;
}

/**
 * The newest cosigned checkpoint, kept across restarts. `save` resolves once
 * the new value is durable (a crash then loads it, or, if the save did not
 * resolve, the previous one, never a mixture). `load` resolves undefined when
 * nothing was ever saved; it rejects with {@link SavedCosignedError} when what
 * is stored cannot be read as a saved checkpoint.
 */
export interface CosignedCheckpointStore {
  load(): Promise<SavedCosigned | undefined>;
  save(saved: SavedCosigned): Promise<void>;
  /** Where it is kept, for log lines. */
  readonly where: string;
}

export type SavedCosignedErrorCode = "UNREADABLE" | "VERSION" | "LOG_SIGNATURE" | "MISMATCH" | "FOREIGN" | "QUORUM";

/** A saved cosigned checkpoint that must not be trusted; the message says why in one line. */
export class SavedCosignedError extends CodedError<SavedCosignedErrorCode> {
  override readonly name = "SavedCosignedError";
}

const VERSION = 1;

const PointSchema = z
  .object({
    chainId: z.number().int().nonnegative(),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    size: z.number().int().positive(),
    rootHex: z.string().regex(/^0x[0-9a-f]{64}$/),
    checkpointIndex: z.number().int().nonnegative(),
    txHash: z.string().regex(/^0x[0-9a-f]{64}$/).nullable(),
    blockNumber: z.number().int().nonnegative().nullable(),
    anchoredAt: z.string().min(1),
    signedCheckpoint: z.string().min(1),
  })
  .strict();

const FileSchema = z.object({ version: z.literal(VERSION), point: PointSchema, note: z.string().min(1) }).strict();

/** Encodes a saved checkpoint as the file's JSON (version-tagged). */
export function encodeSavedCosigned(saved: SavedCosigned): string {
  return `${JSON.stringify({ version: VERSION, point: saved.point, note: saved.note }, null, 2)}\n`;
}

/** Parses the file's JSON; throws SavedCosignedError (UNREADABLE or VERSION), never a SyntaxError. */
export function decodeSavedCosigned(text: string): SavedCosigned {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SavedCosignedError("UNREADABLE", "not JSON");
  }
  if (typeof json === "object" && json !== null && "version" in json && json.version !== VERSION)
    throw new SavedCosignedError("VERSION", `version ${JSON.stringify(json.version)}, this service reads version ${VERSION}`);
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) throw new SavedCosignedError("UNREADABLE", `not a saved cosigned checkpoint (${parsed.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")})`);
  return { point: parsed.data.point, note: parsed.data.note };
}

/** What a saved checkpoint must match to be trusted. */
export interface SavedCosignedExpectations {
  readonly policy: WitnessPolicy;
  /** The log's note verifier and origin: the checkpoint must be this log's. */
  readonly logVerifier: NoteVerifier;
  readonly origin: string;
  /** The chain and contract the service anchors on; absent: not checked. */
  readonly chain?: { readonly chainId: number; readonly address: string };
}

/**
 * Checks a loaded checkpoint before it is published again: the log's
 * signature and origin, the size and root it states against its anchored
 * point, the chain it was anchored on, and the policy's quorum of valid
 * cosignatures. Throws SavedCosignedError saying which failed; returns the
 * witnesses that vouched, in policy order.
 */
export function checkSavedCosigned(saved: SavedCosigned, expect: SavedCosignedExpectations): readonly string[] {
  const { point, note } = saved;
  if (!note.startsWith(point.signedCheckpoint)) throw new SavedCosignedError("MISMATCH", "its note does not begin with the anchored checkpoint it names");
  let checkpoint;
  try {
    checkpoint = verifyCheckpoint(note, expect.logVerifier, expect.origin);
  } catch (e) {
    throw new SavedCosignedError("LOG_SIGNATURE", `not signed by this log's key for origin ${expect.origin} (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (checkpoint.size !== point.size || `0x${toHex(checkpoint.rootHash)}` !== point.rootHex)
    throw new SavedCosignedError("MISMATCH", `its checkpoint (size ${checkpoint.size}) differs from the anchored point it names (size ${point.size})`);
  const chain = expect.chain;
  if (chain !== undefined && (chain.chainId !== point.chainId || chain.address.toLowerCase() !== point.contract.toLowerCase()))
    throw new SavedCosignedError("FOREIGN", `anchored on chain ${point.chainId} at ${point.contract}, but this service anchors on chain ${chain.chainId} at ${chain.address}`);
  let vouched: readonly string[];
  try {
    const check = checkCosignedCheckpoint(note, expect.policy);
    if (!check.satisfied) {
      // Lines from keys outside the policy are the usual sign of a policy changed since the file was saved: say so.
      const others = note.split("\n").filter((l) => l.startsWith("\u2014 ")).length - 1 - check.vouched.length;
      const outside = others > 0 ? `; ${others} other cosignature line(s) are from keys outside this policy (saved under another policy?)` : "";
      throw new SavedCosignedError("QUORUM", `its cosignatures from the policy's witnesses (${check.vouched.join(", ") || "none"}) do not satisfy the policy's quorum "${expect.policy.quorum}"${outside}`);
    }
    vouched = check.vouched;
  } catch (e) {
    if (e instanceof SavedCosignedError) throw e;
    throw new SavedCosignedError("QUORUM", `a cosignature does not verify against the policy (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  return vouched;
}

/** The store as one JSON file (mode 0600), replaced atomically and durably on each save (durable-file.ts). */
export class FileCosignedCheckpointStore implements CosignedCheckpointStore {
  constructor(readonly where: string) {}

  async load(): Promise<SavedCosigned | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.where, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new SavedCosignedError("UNREADABLE", `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
    }
    return decodeSavedCosigned(text);
  }

  async save(saved: SavedCosigned): Promise<void> {
    await writeFileDurably(this.where, encodeSavedCosigned(saved), 0o600);
  }
}

/** The memory twin, for tests: `reopen()` gives what a restarted process would load; `failNextSave()` makes one save fail and persist nothing. */
export class MemoryCosignedCheckpointStore implements CosignedCheckpointStore {
  readonly where = "memory";
  private _text: string | undefined;
  private _failures = 0;
  /** Number of saves that became durable. */
  saves = 0;

  constructor(text?: string) {
    this._text = text;
  }

  failNextSave(): void {
    this._failures++;
  }

  reopen(): MemoryCosignedCheckpointStore {
    return new MemoryCosignedCheckpointStore(this._text);
  }

  /** The stored bytes, to inspect or tamper with. */
  get text(): string | undefined {
    return this._text;
  }

  set text(t: string | undefined) {
    this._text = t;
  }

  async load(): Promise<SavedCosigned | undefined> {
    return this._text === undefined ? undefined : decodeSavedCosigned(this._text);
  }

  async save(saved: SavedCosigned): Promise<void> {
    if (this._failures > 0) {
      this._failures--;
      throw new Error("injected save failure");
    }
    this._text = encodeSavedCosigned(saved);
    this.saves++;
  }
}
