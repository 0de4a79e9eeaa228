/**
 * The audit's checks for a caller that holds leaves or entries in memory
 * (tests and tools; the audit itself streams): one leaf read as the audit
 * reads it, and the invariant replay (./invariants.ts) over a list of
 * entries. The record-layer, HTTP and demo tests check their logs with
 * {@link checkEntries}, so there is one replay.
 */
import { MalformedEntry, readEntry, type LedgerEntry } from "../../../service/format/entry-reader";
import { Flag, Kind } from "./columns";
import { InvariantReplay } from "./invariants";
import { checkBatch, entryOfLeaf } from "./leaves";
import { showsLeaf } from "./service";

/** What a leaf is, once read. */
export interface LeafReading {
  /** The entry, or null when the leaf is not one (see `encoding` and `malformed`). */
  readonly entry: LedgerEntry | null;
  /** Why the leaf bytes are not canonical JSON, or null. */
  readonly encoding: string | null;
  /** Why the canonical JSON is not a ledger entry, or null. */
  readonly malformed: string | null;
  /** Given `shown`: whether the entry a service shows beside the leaf differs from it. */
  readonly shownMismatch: boolean;
}

/**
 * Reads one leaf as the audit does (a batch of one through checkBatch, then
 * entryOfLeaf); `shown` is compared as ./service.ts compares the entry a
 * service shows beside a leaf. Never throws for bad input.
 */
export function readLeaf(bytes: Uint8Array, shown?: unknown): LeafReading {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = checkBatch({ length: 1, indices: [0], data, starts: [0], ends: [data.length] });
  const encoding = read.faults[0]!;
  if (encoding !== null) return { entry: null, encoding, malformed: null, shownMismatch: false };
  return { ...entryOfLeaf(read.texts[0]!), encoding: null, shownMismatch: shown !== undefined && !showsLeaf(shown, bytes) };
}

/** The replay, with what tests ask of its state afterwards. */
export class CheckedReplay extends InvariantReplay {
  /** Per decision slot: confirmed payouts net of clawbacks (the audit itself keeps only programme totals). */
  private readonly _paid = new Map<number, bigint>();

  protected override _addPaid(dec: number, fen: bigint): void {
    super._addPaid(dec, fen);
    this._paid.set(dec, (this._paid.get(dec) ?? 0n) + fen);
  }

  /** An application's paid amount (confirmed payouts under its live decision, net of clawbacks), or undefined for an unknown id. */
  paidFen(applicationId: string): bigint | undefined {
    const app = this._c.slotOf(applicationId);
    if (app < 0 || this._c.kind[app] !== Kind.application) return undefined;
    const dec = this._c.other[app]!;
    return dec < 0 ? 0n : (this._paid.get(dec) ?? 0n);
  }

  /** Whether the private values of the entry with this id were erased. */
  isErased(id: string): boolean {
    const s = this._c.slotOf(id);
    return s >= 0 && (this._c.flags[s]! & Flag.ERASED) !== 0;
  }
}

/** A rule broken at an entry, as {@link checkEntries} lists it. */
export interface FoundViolation {
  readonly rule: string;
  readonly entryId: string;
  readonly message: string;
}

/**
 * The replay over whole parsed entries, in log order, as the audit runs it:
 * an entry that is not a version-1 entry is rule `entry-malformed`, an id
 * seen before `duplicate-id`, and every broken business rule its own. For
 * tests and tools that hold a log in memory; the audit streams instead.
 */
export function checkEntries(values: Iterable<unknown>): { violations: FoundViolation[]; replay: CheckedReplay } {
  const replay = new CheckedReplay();
  const violations: FoundViolation[] = [];
  for (const value of values) {
    let e: LedgerEntry;
    try {
      e = readEntry(value);
    } catch (err) {
      if (!(err instanceof MalformedEntry)) throw err;
      const id = (value as { id?: unknown } | null)?.id;
      violations.push({ rule: "entry-malformed", entryId: typeof id === "string" ? id : "", message: err.message });
      continue;
    }
    if (replay.hasEntry(e)) violations.push({ rule: "duplicate-id", entryId: e.id, message: `entry id ${e.id} was already used` });
    else replay.apply(e, (rule, message) => violations.push({ rule, entryId: e.id, message }));
  }
  return { violations, replay };
}
