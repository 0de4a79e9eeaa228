/**
 * Accountability predicates over public entries: four-eyes that cannot be
 * split, and per-enterprise caps. Pure: the service's rules decide with them,
 * and the auditor's replay (scripts/lib/audit/invariants.ts) re-checks the
 * published log with the same ones, so the two cannot drift apart.
 *
 * The invariant: no application has money paid out at or above its
 * programme's four-eyes threshold in total unless every payout that takes its
 * cumulative paid amount (effective payouts net of clawbacks) to or past the
 * threshold was confirmed by another official than the one who recorded it.
 *
 * The rule that guarantees it ({@link payoutNeedsConfirmation}): every payout
 * under a decision whose approved amount is at or above the threshold needs a
 * confirmation. An application's net paid amount never exceeds its current
 * decision's approved amount (a decision can be revoked only once nothing is
 * paid under it), so payouts under a smaller decision can never reach the
 * threshold, and splitting a large one gains nothing.
 */

/**
 * Whether a payout under a decision approving `approvedFen`, in a programme
 * with four-eyes threshold `thresholdFen`, needs a second official's
 * confirmation before it counts as paid: exactly when approved ≥ threshold.
 */
export function payoutNeedsConfirmation(approvedFen: string | bigint, thresholdFen: string | bigint): boolean {
  return BigInt(approvedFen) >= BigInt(thresholdFen);
}

/**
 * Whether approving `approvedFen` more for an enterprise that already has
 * `enterpriseApprovedFen` approved in the programme stays within the
 * programme's per-enterprise cap; always true when the programme has none.
 */
export function withinEnterpriseCap(enterpriseApprovedFen: string | bigint, approvedFen: string | bigint, maxPerEnterpriseFen: string | bigint | undefined | null): boolean {
  if (maxPerEnterpriseFen === undefined || maxPerEnterpriseFen === null) return true;
  return BigInt(enterpriseApprovedFen) + BigInt(approvedFen) <= BigInt(maxPerEnterpriseFen);
}
