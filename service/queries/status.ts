/**
 * What the read model derives from state alone: an application's status and
 * amounts. Pure functions of state documents (records/state.ts).
 */
import type { ApplicationState, DecisionState } from "../records/state";

export type ApplicationStatus = "pending" | "approved" | "rejected" | "partially-paid" | "paid" | "corrected";

/** The derived status of an application; `decision` is its current decision's state, if any. */
export function applicationStatus(app: ApplicationState, decision: DecisionState | undefined): ApplicationStatus {
  if (app.revoked) return "corrected";
  if (app.decisionId === null || decision === undefined) return app.decisions.length > 0 ? "corrected" : "pending";
  if (decision.outcome === "rejected") return "rejected";
  const paid = BigInt(decision.paidFen);
  if (paid === 0n) return "approved";
  return paid >= BigInt(decision.approvedFen) ? "paid" : "partially-paid";
}

/** Requested, approved (by the current decision, if it approved) and paid amounts of an application, in fen. */
export interface ApplicationAmounts {
  readonly requestedFen: string;
  readonly approvedFen: string;
  readonly paidFen: string;
}

export function applicationAmounts(app: ApplicationState, decision: DecisionState | undefined): ApplicationAmounts {
  const current = app.decisionId !== null && decision !== undefined ? decision : undefined;
  return {
    requestedFen: app.requestedFen,
    approvedFen: current?.outcome === "approved" ? current.approvedFen : "0",
    paidFen: current?.paidFen ?? "0",
  };
}
