/**
 * Derived state: what the business rules need to know about earlier entries.
 *
 * State is a cache of a left fold over the log, written in the same atomic
 * batch as the entry that changed it. It is never a source of truth for
 * verification: the auditor recomputes the same invariants from public
 * entries alone. Amounts are integer fen as decimal strings.
 */
import type { RegionType } from "./identifiers";

export interface RegionTally {
  applications: number;
  approvedFen: string;
  paidFen: string;
}

export interface ProgrammeState {
  readonly kind: "programme";
  readonly id: string;
  readonly code: string;
  readonly recordedAt: string;
  name: string;
  agency: string;
  readonly budgetFen: string;
  readonly fourEyesThresholdFen: string;
  /** The per-enterprise cap on approvals; absent when the programme has none. */
  readonly maxPerEnterpriseFen?: string;
  readonly opensOn: string;
  readonly closesOn: string;
  /** Sum of approvedFen over non-revoked approved decisions. */
  approvedFen: string;
  /** Sum of effective (confirmed where needed) payouts, net of clawbacks. */
  paidFen: string;
  applications: number;
  byRegion: Record<RegionType, RegionTally>;
  /**
   * The same tallies per county-level division code (the applications'
   * `region`), for totals by province, prefecture and county. Absent on
   * programmes recorded before it was kept: region totals leave those out
   * and say so.
   */
  byCounty?: Record<string, RegionTally>;
  revoked: boolean;
}

export interface ApplicationState {
  readonly kind: "application";
  readonly id: string;
  readonly programmeId: string;
  readonly creditCode: string;
  readonly recordedBy: string;
  readonly recordedAt: string;
  readonly requestedFen: string;
  enterpriseName: string;
  region: string;
  /** The current, non-revoked decision. */
  decisionId: string | null;
  /** Every decision ever recorded, revoked ones included, oldest first. */
  decisions: string[];
  corrections: string[];
  revoked: boolean;
}

export interface DecisionState {
  readonly kind: "decision";
  readonly id: string;
  readonly applicationId: string;
  readonly programmeId: string;
  readonly outcome: "approved" | "rejected";
  readonly approvedFen: string;
  readonly decidedBy: string;
  readonly recordedAt: string;
  /** Non-revoked payouts, awaiting confirmation included, net of clawbacks: what approvedFen still has to cover. */
  committedFen: string;
  /** Effective payouts net of clawbacks. */
  paidFen: string;
  payouts: string[];
  revoked: boolean;
}

export interface PayoutState {
  readonly kind: "payout";
  readonly id: string;
  readonly decisionId: string;
  readonly applicationId: string;
  readonly programmeId: string;
  readonly amountFen: string;
  readonly recordedBy: string;
  readonly recordedAt: string;
  paidOn: string;
  readonly needsConfirmation: boolean;
  confirmationId: string | null;
  clawedBackFen: string;
  revoked: boolean;
}

export interface ConfirmationState {
  readonly kind: "confirmation";
  readonly id: string;
  readonly payoutId: string;
}

export interface CorrectionState {
  readonly kind: "correction";
  readonly id: string;
  readonly targetId: string;
  readonly reasonCode: string;
}

/**
 * An erasure: stored under the erasure's own `e:` key and, as the marker that
 * the target's private values are gone (erased, commitments kept), under
 * `erased:<targetId>`.
 */
export interface ErasureState {
  readonly kind: "erasure";
  readonly id: string;
  readonly targetId: string;
  readonly reasonCode: string;
  /** The target's committed field names whose values and salts were deleted, sorted. */
  readonly fields: readonly string[];
  readonly recordedAt: string;
}

/** A government department, also found by its code under `agency:<code>`. */
export interface AgencyState {
  readonly kind: "agency";
  readonly id: string;
  readonly code: string;
  readonly name: string;
  /** The parent agency's code; null for a province-level agency. */
  readonly parent: string | null;
  readonly recordedAt: string;
}

/** The latest delegation between two agencies, stored under its own id and, as the one in force, under `dlg:<from>:<to>`. */
export interface DelegationState {
  readonly kind: "delegation";
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly granted: boolean;
}

export type EntryState =
  | ProgrammeState
  | ApplicationState
  | DecisionState
  | PayoutState
  | ConfirmationState
  | CorrectionState
  | ErasureState
  | AgencyState
  | DelegationState;

/** What one enterprise has approved in one programme: sum of approvedFen over its live approved decisions there. */
export interface EnterpriseTotalState {
  readonly kind: "enterprise-total";
  approvedFen: string;
}

/**
 * A key in the state space: one per entry, the programme-code uniqueness
 * index, one per (programme, credit code) for the per-enterprise cap, the
 * erasure of an entry, an agency by its code, and the delegation in force
 * between two agencies.
 */
export type StateKey = `e:${string}` | `code:${string}` | `ent:${string}:${string}` | `erased:${string}` | `agency:${string}` | `dlg:${string}:${string}`;

export type StateDoc = EntryState | { readonly kind: "code"; readonly id: string } | EnterpriseTotalState;

/** Reads derived state. Returns undefined, never throws, for a missing key. */
export interface StateReader {
  get(key: StateKey): Promise<StateDoc | undefined>;
}
