/**
 * The anchorer's own persistence: what it has sent and what the chain has
 * confirmed. Narrow on purpose (one small record, read at start, replaced on
 * every change) so it can live in a JSON file, as here, or under a meta key
 * of the ledger's LevelDB.
 *
 * Contract, for every implementation:
 * - `save` replaces the whole record atomically and is durable once its
 *   promise resolves: after a crash `load` returns either the record of the
 *   last resolved save, or (if the crash hit a save in flight) that one or the
 *   one before it, never a mix.
 * - `load` returns `undefined`, never throws, when nothing was ever saved. It
 *   throws {@link AnchorStateError} for a record it cannot read or validate
 *   (never a stray SyntaxError), and whatever I/O error it meets.
 */
import { promises as fs } from "node:fs";
import { z } from "zod";
import { writeFileDurably } from "../durable-file";
import { readTextIfExists } from "../secret-file";

/** Version tag of the serialized record; loading checks it first. */
export const ANCHOR_STATE_VERSION = 1;

/**
 * A checkpoint the anchorer has committed to sending. It is saved before any
 * transaction for it is broadcast, and every signed transaction's hash is
 * saved before that transaction is broadcast, so after a crash every
 * transaction that may be on the chain is listed here.
 */
export interface PendingAnchor {
  /** Size of the anchored checkpoint the proof starts from (0 for the first checkpoint). */
  readonly baseSize: number;
  readonly size: number;
  /** RFC 6962 root of the first `size` leaves: 0x and 64 lowercase hex digits. */
  readonly rootHex: string;
  /** Consistency proof from `baseSize` to `size`, each hash as 0x-hex; empty for the first checkpoint. */
  readonly proofHex: readonly string[];
  /** The C2SP signed checkpoint (signed note text) for (`size`, `rootHex`). */
  readonly signedCheckpoint: string;
  /** The recorder account's nonce every transaction for this checkpoint uses. */
  readonly nonce: number;
  /** Gas limit of the transactions, decimal. Kept so a resend signs the identical transaction. */
  readonly gasLimit: string;
  /** Gas price (wei, decimal) of the latest transaction, the last of `txHashes`. */
  readonly gasPrice: string;
  /** Every transaction signed for this checkpoint, oldest first (replacements included); each saved before it was broadcast. */
  readonly txHashes: readonly string[];
  /** RFC 3339: when the first transaction was signed and handed to the node. */
  readonly firstSentAt: string;
  /** RFC 3339: when the latest transaction (or rebroadcast) was handed to the node. */
  readonly lastSentAt: string;
}

/** The last checkpoint known to be anchored with enough confirmations. */
export interface AnchoredCheckpoint {
  readonly size: number;
  readonly rootHex: string;
  /** Position in the contract's checkpoint list (the CheckpointAnchored event's index). */
  readonly checkpointIndex: number;
  /** The anchoring transaction; null when the checkpoint was adopted from the chain and its event could not be found. */
  readonly txHash: string | null;
  readonly blockNumber: number | null;
  readonly signedCheckpoint: string;
  /** RFC 3339: the block time the contract recorded for the checkpoint. */
  readonly anchoredAt: string;
}

export interface AnchorState {
  /** The contract this record is about; a record for another contract is ignored, not reused. */
  readonly contract: { readonly chainId: number; readonly address: string };
  /** The oldest anchor transaction in flight (the next to be mined), or null when none is. */
  readonly pending: PendingAnchor | null;
  /**
   * The anchors sent after `pending` while it was in flight, oldest first: each
   * one's nonce is the one before it plus one, and its proof starts at the
   * size of the one before it (valid because they execute in nonce order).
   * Absent or empty when at most one is in flight; never non-empty without `pending`.
   */
  readonly following?: readonly PendingAnchor[];
  readonly anchored: AnchoredCheckpoint | null;
}

/** Every anchor in flight, oldest (lowest nonce) first. */
export function inFlight(state: AnchorState): readonly PendingAnchor[] {
  return state.pending === null ? [] : [state.pending, ...(state.following ?? [])];
}

/** `state` with `list` (oldest first) as the anchors in flight; `following` is left out when empty. */
export function withInFlight(state: AnchorState, list: readonly PendingAnchor[]): AnchorState {
  const { following: _following, ...rest } = state;
  const next: AnchorState = { ...rest, pending: list[0] ?? null };
  return list.length > 1 ? { ...next, following: list.slice(1) } : next;
}

export interface AnchorStateStore {
  /** The last saved record, or undefined if none was ever saved. */
  load(): Promise<AnchorState | undefined>;
  /** Replaces the record; durable when resolved. */
  save(state: AnchorState): Promise<void>;
  /**
   * Rejects when this store may no longer be written (a replica whose
   * leadership term is over, see ./postgres-state.ts). The anchorer calls it
   * before broadcasting again a transaction already recorded, the one send
   * not preceded by a save. Absent: always writable.
   */
  assertWritable?(): Promise<void>;
}

/** A stored anchor state that cannot be read or fails validation. */
export class AnchorStateError extends Error {
  override readonly name = "AnchorStateError";
}

const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "0x and 64 lowercase hex digits");
const Size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Decimal = z.string().regex(/^(?:0|[1-9][0-9]*)$/, "a decimal integer");
const Instant = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s)), "RFC 3339 UTC");
const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address");

const PendingSchema = z.strictObject({
  baseSize: Size,
  size: Size,
  rootHex: Hex32,
  proofHex: z.array(Hex32).max(128),
  signedCheckpoint: z.string().min(1),
  nonce: Size,
  gasLimit: Decimal,
  gasPrice: Decimal,
  txHashes: z.array(Hex32).min(1),
  firstSentAt: Instant,
  lastSentAt: Instant,
});

const AnchoredSchema = z.strictObject({
  size: Size,
  rootHex: Hex32,
  checkpointIndex: Size,
  txHash: Hex32.nullable(),
  blockNumber: Size.nullable(),
  signedCheckpoint: z.string().min(1),
  anchoredAt: Instant,
});

const StateSchema = z.strictObject({
  contract: z.strictObject({ chainId: z.number().int().positive(), address: Address }),
  pending: PendingSchema.nullable(),
  following: z.array(PendingSchema).max(1024).optional(),
  anchored: AnchoredSchema.nullable(),
});

const FileSchema = z.strictObject({ v: z.literal(ANCHOR_STATE_VERSION) }).catchall(z.unknown());

/** Validates a decoded record (without the version tag); throws AnchorStateError naming the first problem. */
export function parseAnchorState(value: unknown): AnchorState {
  const parsed = StateSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AnchorStateError(`invalid anchor state: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "unknown problem"}`);
  }
  const s = parsed.data;
  if (s.pending !== null && s.pending.baseSize >= s.pending.size) throw new AnchorStateError("invalid anchor state: pending.baseSize must be below pending.size");
  if (s.pending !== null && s.anchored !== null && s.pending.size <= s.anchored.size)
    throw new AnchorStateError("invalid anchor state: pending.size must exceed anchored.size");
  const following = s.following ?? [];
  if (following.length > 0 && s.pending === null) throw new AnchorStateError("invalid anchor state: following without pending");
  let before = s.pending;
  for (const [i, f] of following.entries()) {
    if (before === null) break;
    if (f.baseSize !== before.size || f.size <= f.baseSize || f.nonce !== before.nonce + 1)
      throw new AnchorStateError(`invalid anchor state: following.${i} must extend the one before it (base ${before.size}, nonce ${before.nonce + 1})`);
    before = f;
  }
  const { following: _f, ...rest } = s;
  return following.length > 0 ? { ...rest, following } : rest;
}

/** The serialized form: the version tag first, then the record. */
export function serializeAnchorState(state: AnchorState): string {
  return `${JSON.stringify({ v: ANCHOR_STATE_VERSION, ...state }, null, 2)}\n`;
}

/** Parses the serialized form, checking the version tag before the content. */
export function deserializeAnchorState(text: string): AnchorState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AnchorStateError("anchor state is not valid JSON");
  }
  const tagged = FileSchema.safeParse(raw);
  if (!tagged.success) throw new AnchorStateError(`anchor state has no supported version tag (want "v": ${ANCHOR_STATE_VERSION})`);
  const { v: _v, ...rest } = tagged.data;
  return parseAnchorState(rest);
}

/** The anchor state in one JSON file, replaced atomically and durably on every save. */
export class FileAnchorStateStore implements AnchorStateStore {
  constructor(readonly file: string) {}

  async load(): Promise<AnchorState | undefined> {
    const text = await readTextIfExists(this.file);
    if (text === undefined) return undefined;
    try {
      return deserializeAnchorState(text);
    } catch (e) {
      throw new AnchorStateError(`${this.file}: ${(e as Error).message}`, { cause: e });
    }
  }

  async save(state: AnchorState): Promise<void> {
    // Validate what we write, so a bug fails here and not at the next start.
    const text = serializeAnchorState(parseAnchorState(state));
    await writeFileDurably(this.file, text);
  }
}

/** How one save of the memory twin fails. */
export type SaveFault =
  /** The save rejects and nothing is stored. */
  | "fail-before-persist"
  /** The record is stored, then the save rejects (the write reached the disk, the caller never heard). */
  | "fail-after-persist"
  /** As fail-before-persist, and the store then behaves as a dead process's: every later call rejects. */
  | "crash-before-persist"
  /** As fail-after-persist, then dead. */
  | "crash-after-persist";

/** Thrown by a {@link MemoryAnchorStateStore} for an injected fault. */
export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
}

/**
 * The memory twin, for tests: the same contract, with fault hooks. `crash()`
 * stops the store from persisting anything more (a killed process's later
 * writes never reach the disk); `reopen()` gives what a restarted process
 * would load.
 */
export class MemoryAnchorStateStore implements AnchorStateStore {
  private _durable: AnchorState | undefined;
  private readonly _faults: SaveFault[] = [];
  private _crashed = false;
  /** Every record that became durable, in order. */
  readonly history: AnchorState[] = [];
  /** Called with each record about to be saved; may return a fault for that save. */
  faultWhen: ((next: AnchorState) => SaveFault | undefined) | undefined;

  constructor(initial?: AnchorState) {
    this._durable = initial === undefined ? undefined : structuredClone(initial);
  }

  /** Makes the next save fail in the given way; queue several for several saves. */
  injectFault(fault: SaveFault): void {
    this._faults.push(fault);
  }

  /** From now on every load and save rejects and nothing is persisted. */
  crash(): void {
    this._crashed = true;
  }

  get crashed(): boolean {
    return this._crashed;
  }

  /** A fresh store holding what this one made durable: what a restarted process would find. */
  reopen(): MemoryAnchorStateStore {
    return new MemoryAnchorStateStore(this._durable);
  }

  /** The durable record, for assertions. */
  peek(): AnchorState | undefined {
    return this._durable === undefined ? undefined : structuredClone(this._durable);
  }

  async load(): Promise<AnchorState | undefined> {
    if (this._crashed) throw new InjectedFault("the store's process has crashed");
    return this._durable === undefined ? undefined : structuredClone(this._durable);
  }

  async save(state: AnchorState): Promise<void> {
    if (this._crashed) throw new InjectedFault("the store's process has crashed");
    const checked = parseAnchorState(structuredClone(state));
    const fault = this._faults.shift() ?? this.faultWhen?.(structuredClone(checked));
    if (fault === "fail-before-persist" || fault === "crash-before-persist") {
      if (fault === "crash-before-persist") this._crashed = true;
      throw new InjectedFault(`injected ${fault}`);
    }
    this._durable = checked;
    this.history.push(structuredClone(checked));
    if (fault === "fail-after-persist" || fault === "crash-after-persist") {
      if (fault === "crash-after-persist") this._crashed = true;
      throw new InjectedFault(`injected ${fault}`);
    }
  }
}
