/** The readable form of an audit report. */
import { yuan } from "../../../service/format";
import type { AuditReport } from "./audit";

/** A count, grouped: "1,234,567". */
export function n(x: number): string {
  return x.toLocaleString("en-US");
}

/** Counts by name, "a 1, b 2,345", leaving out zeros. */
const counts = (byName: Record<string, number>): string =>
  Object.entries(byName)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${k} ${n(c)}`)
    .join(", ");

export function formatAuditReport(r: AuditReport): string {
  const out: string[] = [];
  const d = r.discrepancies;
  if (!r.ok) out.push(`AUDIT FAILED: ${n(d.total)} discrepanc${d.total === 1 ? "y" : "ies"} found.`);
  else if (r.chain === null) out.push("NOT AN AUDIT: no chain was read, so nothing was checked against anchored checkpoints; no other discrepancy found.");
  else out.push("AUDIT CLEAN: no discrepancy found.");
  out.push("");
  out.push(`Source        ${r.source.description}`);
  if (r.chain === null) out.push("Chain         not read (no --rpc): nothing was checked against anchored checkpoints");
  else {
    const l = r.chain.latest;
    out.push(`Chain         ${r.chain.description}`);
    out.push(`              ${n(r.chain.checkpoints)} checkpoints${l ? `; latest #${l.index}: size ${n(l.size)}, root ${l.rootHex}, anchored ${l.anchoredAt}` : ""}`);
  }
  out.push(`Log key       ${r.keys.trusted.length > 0 ? `${r.keys.trusted.join(", ")} (${r.keys.source})` : "none given: signatures not checked"}`);
  out.push("");
  const kinds = counts(r.entries.byKind);
  out.push(`Entries       ${n(r.entries.count)}${kinds ? ` (${kinds})` : ""}`);
  out.push(`Totals        ${n(r.totals.programmes)} live programmes: budget ${yuan(r.totals.budgetFen)}, approved ${yuan(r.totals.approvedFen)}, paid ${yuan(r.totals.paidFen)}`);
  const c = r.checkpoints;
  out.push(`Checkpoints   ${n(c.checked)} of ${n(c.onChain)} anchored checkpoints compared with the rebuilt tree: ${n(c.matched)} matched${c.beyondSource > 0 ? `; ${n(c.beyondSource)} beyond the source` : ""}`);
  if (c.onChain > 1)
    out.push(`              consecutive checkpoints shown consistent: ${n(c.consecutive.byReplay)} by the replay, ${n(c.consecutive.byProof)} by proof${c.consecutive.unconfirmed > 0 ? `, ${n(c.consecutive.unconfirmed)} not shown` : ""}`);
  for (const p of r.published) {
    out.push(`Published     ${p.label}: ${p.size === null ? "unreadable" : `size ${n(p.size)}, root ${p.rootHex}`}; signature ${p.signature}; with the chain: ${p.withChain}`);
    const w = p.witnesses;
    if (w.policy !== null)
      out.push(`Witnesses     vouched by ${w.policy.vouched.join(", ") || "no witness of the policy"}: quorum ${w.policy.quorum} ${w.policy.satisfied ? "met" : "NOT met"}`);
    else if (w.seen.length > 0) out.push(`Witnesses     cosigned by ${w.seen.join(", ")} (not verified: no --witness-policy)`);
  }
  const a = r.anchoring;
  out.push(
    `Anchoring     ${n(a.unanchored)} entries not yet anchored, ${n(a.overdue)} of them older than ${a.maxDelayMs / 1000} s${a.worstDelayMs !== null ? `; slowest anchoring ${(a.worstDelayMs / 1000).toFixed(1)} s` : ""}`,
  );
  out.push("");
  if (d.total > 0) {
    out.push(`Discrepancies ${n(d.total)}: ${counts(d.byKind)}`);
    if (d.firstBadIndex !== null) out.push(`First bad leaf index: ${n(d.firstBadIndex)}`);
    else if (d.firstBadRange !== null) out.push(`First bad leaf: somewhere in [${n(d.firstBadRange[0])}, ${n(d.firstBadRange[1])})`);
    for (const x of d.listed) {
      const where = [x.entryId !== undefined ? `entry ${x.entryId}` : null, x.leafIndex !== undefined ? `leaf ${x.leafIndex}` : null, x.checkpointIndex !== undefined ? `checkpoint ${x.checkpointIndex}` : null]
        .filter((s) => s !== null)
        .join(", ");
      out.push(`  [${x.kind}${x.rule ? `: ${x.rule}` : ""}] ${x.message}${where ? `  (${where})` : ""}`);
    }
    for (const [k, v] of Object.entries(d.omitted)) out.push(`  … and ${n(v)} more ${k} not listed (raise --max-listed to see them)`);
    out.push("");
  }
  if (r.notices.length > 0) {
    out.push("Notes");
    for (const s of r.notices) out.push(`  - ${s}`);
    out.push("");
  }
  out.push(`Done in ${(r.durationMs / 1000).toFixed(1)} s.`);
  return `${out.join("\n")}\n`;
}
