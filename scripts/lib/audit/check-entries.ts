/**
 * The auditor's invariant replay (./invariants.ts) over a log held in
 * memory, as the audit runs it: the record-layer, HTTP and demo tests check
 * their logs with it, so there is one replay. The audit itself streams.
 */
import { MalformedEntry, readEntry, type LedgerEntry } from "../../../service/format/entry-reader";
import { Flag, Kind } from "./columns";
import { InvariantReplay } from "./invariants";

/** The replay, with what tests ask of its state afterwards. */
export class CheckedReplay extends InvariantReplay {
  /** An application's paid amount (confirmed payouts under its live decision, net of clawbacks), or undefined for an unknown id. */
  paidFen(applicationId: string): bigint | undefined {
    const app = this._c.slotOf(applicationId);
    if (app < 0 || this._c.kind[app] !== Kind.application) return undefined;
    const dec = this._c.other[app]!;
    return dec < 0 ? 0n : this._c.paid.get(dec);
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
