/**
 * What an audit finds. Every discrepancy is counted; the first
 * `maxListed` of each kind are kept with their details, so a badly damaged
 * ledger of a million entries gives a report of bounded size that still
 * says how much is wrong.
 */

export type DiscrepancyKind =
  /** The source's leaf indices are not 0, 1, 2, … (a gap, a repeat, or out of order). */
  | "leaf-order"
  /** The leaf bytes are not UTF-8, not JSON, or not the RFC 8785 canonical form of the entry they hold. */
  | "leaf-encoding"
  /** The leaf is canonical JSON, but not a well-formed ledger entry. */
  | "entry-malformed"
  /** The service shows an `entry` that is not the leaf it serves beside it. */
  | "record-mismatch"
  /** Two leaves carry the same entry id. */
  | "duplicate-id"
  /** The tree rebuilt from the entries has another root than a checkpoint anchored on the chain. */
  | "root-mismatch"
  /** Localised damage: this leaf is not the anchored tree's leaf at its index (changed, or the first one after a deletion or insertion). */
  | "leaf-not-anchored-as-is"
  /** The chain anchors more entries than the source holds (deletion at the end, a rolled-back database). */
  | "source-behind-chain"
  /** A checkpoint signed with the trusted log key covers more entries than the source holds (a rolled-back or truncated log). */
  | "source-behind-checkpoint"
  /** The source says it holds more or fewer entries than it gave (an export header, a published checkpoint). */
  | "source-size-mismatch"
  /** On-chain checkpoints that do not extend one another. */
  | "chain-inconsistent"
  /** A signed checkpoint whose signature does not verify with the log's key, or is malformed. */
  | "checkpoint-signature"
  /** With a witness policy: the source's checkpoint lacks a quorum of valid cosignatures from the policy's witnesses, or carries a policy witness's cosignature that does not verify. */
  | "witness-cosignature"
  /** A published checkpoint (service, export) shows a tree that is not consistent with the chain's. */
  | "split-view"
  /** A published checkpoint's root is not the root of the entries the source gave for its size. */
  | "published-root-mismatch"
  /** A published tile or entry bundle (C2SP tlog-tiles) that does not parse, or whose hashes are not those of the published entries. */
  | "tile-mismatch"
  /** A business invariant does not hold at this entry. */
  | "invariant"
  /** An entry filed under a programme was recorded by an official of an agency that is neither the programme's nor one it had delegated to (rule `agency-scope`). */
  | "agency-scope"
  /** An entry older than the maximum anchoring delay is still not anchored. */
  | "anchoring-delay";

export interface Discrepancy {
  readonly kind: DiscrepancyKind;
  readonly message: string;
  readonly leafIndex?: number;
  readonly entryId?: string;
  /** For kind "invariant": the rule, named as the service names its business rules where there is one. */
  readonly rule?: string;
  readonly checkpointIndex?: number;
}

export const DEFAULT_MAX_LISTED = 50;

export class Findings {
  /** The first `maxListed` discrepancies of each kind, in the order found. */
  readonly listed: Discrepancy[] = [];
  /** The smallest leaf index found damaged, if any. */
  firstBadIndex: number | null = null;
  private readonly _counts = new Map<DiscrepancyKind, number>();

  constructor(readonly maxListed = DEFAULT_MAX_LISTED) {}

  add(d: Discrepancy): void {
    const n = (this._counts.get(d.kind) ?? 0) + 1;
    this._counts.set(d.kind, n);
    if (n <= this.maxListed) this.listed.push(d);
  }

  /** Records that leaves from `index` on are damaged. */
  badFrom(index: number): void {
    if (this.firstBadIndex === null || index < this.firstBadIndex) this.firstBadIndex = index;
  }

  total(): number {
    return [...this._counts.values()].reduce((a, b) => a + b, 0);
  }

  /** Counts by kind, in a stable order. */
  byKind(): Record<string, number> {
    return Object.fromEntries([...this._counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** How many of each kind were counted but not listed. */
  omitted(): Record<string, number> {
    return Object.fromEntries([...this._counts].filter(([, n]) => n > this.maxListed).map(([k, n]) => [k, n - this.maxListed]));
  }
}
