/**
 * What an audit does with proofs, loaded only when it needs them: a
 * published checkpoint the replay could not compare with the chain,
 * consecutive anchored checkpoints past the point where the replay
 * diverged, and locating damage once a trusted root did not match.
 *
 * Proofs come from an untrusted party (the service's proof routes, or a
 * published log's tiles) and are checked against trusted roots only. The
 * first damaged leaf is found by binary search over prefix lengths m: the
 * root of the source's first m leaves (rebuilt from the compact range at the
 * last matching checkpoint and the kept leaf hashes) against the trusted
 * root, with a consistency proof. That holds for a changed, deleted,
 * inserted or moved leaf alike, in about log2(n) proofs; two inclusion
 * proofs then tell a deletion from an insertion. Later leaves are checked one
 * by one, at most LOCATE_PROOFS of them. Without proofs damage is located
 * to an interval.
 */
import { CompactRange, equalBytes, VerificationError, verifyConsistency, verifyInclusion } from "../../../service/log";
import type { AnchoredCheckpoint } from "./chain";
import { AuditError, messageOf } from "./errors";
import type { AuditRun, KeptLeaves, PublishedState, Replayed, Target } from "./audit";
import type { ProofOracle } from "./sources";

/** Most leaves checked one by one with an inclusion proof each, past the first damaged one. */
export const LOCATE_PROOFS = 256;

/** A proof the oracle could not give (out of its tree's range, a node it lacks): it proves nothing either way. */
function noProof(e: unknown): boolean {
  return (e instanceof AuditError && (e.code === "REFUSED" || e.code === "PROTOCOL")) || (e instanceof Error && e.name === "LogArgumentError");
}

/** Whether `check` passes; false when it throws a VerificationError. */
async function verifies(check: () => Promise<void> | void): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (e) {
    if (e instanceof VerificationError) return false;
    throw e;
  }
}

async function mapLimit<T>(items: readonly T[], limit: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A published checkpoint against the chain's latest, by a consistency proof from the oracle. */
export async function provePublished(run: AuditRun, p: PublishedState, label: string): Promise<void> {
  const latest = run.latest!;
  const oracle = run.oracle!;
  const [s1, r1, s2, r2] = p.size! <= latest.size ? [p.size!, p.root!, latest.size, latest.root] : [latest.size, latest.root, p.size!, p.root!];
  try {
    verifyConsistency(s1, s2, r1, r2, s1 === s2 ? [] : await oracle.consistencyProof(s1, s2));
    p.withChain = "consistent (proof)";
  } catch (e) {
    if (e instanceof VerificationError) {
      p.withChain = "inconsistent";
      run.add("split-view", `${label} is not consistent with the chain's latest checkpoint ${latest.index} (size ${latest.size}): ${e.code}: ${e.message}`, { checkpointIndex: latest.index });
    } else if (noProof(e)) run.notices.push(`${label}: no consistency proof with the chain could be had from ${oracle.description}: ${messageOf(e)}`);
    else throw e;
  }
}

/** How many of these pairs of consecutive anchored checkpoints a proof shows consistent (the first 1,000 pairs). */
export async function proveConsecutive(run: AuditRun, pairs: readonly [AnchoredCheckpoint, AnchoredCheckpoint][]): Promise<number> {
  const oracle = run.oracle!;
  let proved = 0;
  await mapLimit(pairs.slice(0, 1000), 8, async ([a, b]) => {
    try {
      if (b.size > a.size && (await verifies(async () => verifyConsistency(a.size, b.size, a.root, b.root, await oracle.consistencyProof(a.size, b.size))))) proved++;
    } catch (e) {
      if (!noProof(e)) throw e;
    }
  });
  return proved;
}

type Divergence =
  | { readonly kind: "no-proof"; readonly reason: string }
  /** Every kept leaf within the target is consistent with it: its first `upTo` leaves. */
  | { readonly kind: "all-consistent"; readonly upTo: number }
  /** "deleted": the leaf there is the target's next one; "inserted": the next leaf is the target's leaf there. */
  | { readonly kind: "found"; readonly position: number; readonly claimed: number; readonly id: string; readonly shift: "deleted" | "inserted" | null; readonly proofs: number };

/**
 * The first position where the source's leaves stop being the target's,
 * by binary search over prefix lengths: "the first m leaves are the
 * target's" holds up to the first damaged leaf and fails from there on,
 * whatever the damage. A proof that does not verify is taken as divergence
 * (the oracle is the audited party's: it could hide a later position, never
 * clear a damaged one).
 */
async function firstDivergence(kept: KeptLeaves, target: Target, oracle: ProofOracle): Promise<Divergence> {
  const n = Math.min(kept.count, target.size - kept.from);
  const range = new CompactRange(kept.from, kept.compact);
  const roots: Uint8Array[] = [range.root()];
  for (let k = 0; k < n; k++) {
    range.extend(kept.hash(k));
    roots.push(range.root());
  }
  let proofs = 0;
  /** Whether the source's first from + j leaves are the target's. */
  const consistent = async (j: number): Promise<boolean> => {
    const m = kept.from + j;
    if (j === 0) return true; // the last matching checkpoint's size, or none
    if (m === target.size) return equalBytes(roots[j]!, target.root);
    proofs++;
    const proof = await oracle.consistencyProof(m, target.size);
    return verifies(() => verifyConsistency(m, target.size, roots[j]!, target.root, proof));
  };
  const proves = async (leafHash: Uint8Array, index: number): Promise<boolean> => {
    proofs++;
    const proof = await oracle.inclusionProof(index, target.size);
    return verifies(() => verifyInclusion(leafHash, index, target.size, target.root, proof));
  };
  try {
    if (await consistent(n)) return { kind: "all-consistent", upTo: kept.from + n };
    let [lo, hi] = [0, n]; // lo consistent, hi not
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await consistent(mid)) lo = mid;
      else hi = mid;
    }
    const position = kept.from + lo;
    let shift: "deleted" | "inserted" | null = null;
    if (position + 1 < target.size && (await proves(kept.hash(lo), position + 1))) shift = "deleted";
    else if (lo + 1 < kept.count && (await proves(kept.hash(lo + 1), position))) shift = "inserted";
    return { kind: "found", position, claimed: kept.index[lo]!, id: kept.id[lo]!, shift, proofs };
  } catch (e) {
    if (noProof(e)) return { kind: "no-proof", reason: messageOf(e) };
    throw e;
  }
}

/** The first damaged leaf against `target`, and later ones one by one; returns where damage is known to start, [begin, end). */
export async function locateDamage(run: AuditRun, r: Replayed, target: Target): Promise<[number, number]> {
  const { findings, notices, oracle, locateLimit } = run;
  const { matchedSize, reach, kept } = r;
  // Damage starts at or after the last matching checkpoint, and at or before the source's end.
  const firstBadRange: [number, number] = [matchedSize, Math.min(target.size, reach + 1)];
  if (matchedSize === reach && target.size > reach) {
    // The source's whole tree matched an anchored root: it is the anchored log's prefix, and ends early.
    findings.badFrom(reach);
    return firstBadRange;
  }
  if (oracle === undefined) {
    notices.push(
      `the first damaged leaf is in [${firstBadRange[0]}, ${firstBadRange[1]}) (the last matching checkpoint is at ${matchedSize}); give --service, or audit the data directory, to locate it exactly`,
    );
    return firstBadRange;
  }
  const first = await firstDivergence(kept, target, oracle);
  if (first.kind === "no-proof") notices.push(`the first damaged leaf could not be located: ${oracle.description} gave no proof (${first.reason})`);
  else if (first.kind === "all-consistent") {
    if (first.upTo === reach && target.size > reach) findings.badFrom(reach);
    else notices.push(`the first ${first.upTo} leaves are consistent with ${target.label} (size ${target.size})${kept.count >= locateLimit ? `; leaves past them were not kept (--locate-limit ${locateLimit})` : ""}`);
  } else {
    const p = first.position;
    findings.badFrom(p);
    const claimed = first.claimed !== p ? ` (the source numbers it ${first.claimed})` : "";
    const id = first.id ? ` (${first.id})` : "";
    const what =
      first.shift === "deleted"
        ? `leaf ${p} of the anchored log is missing from the source: the source's leaf ${p}${id}${claimed} is the anchored leaf ${p + 1} (a deletion)`
        : first.shift === "inserted"
          ? `leaf ${p}${id}${claimed} is not in the anchored log: the source's next leaf is the anchored leaf ${p} (an insertion)`
          : `leaf ${p}${id}${claimed} is not the leaf anchored at that index: the first ${p} leaves are consistent with ${target.label}, the first ${p + 1} are not`;
    run.add("leaf-not-anchored-as-is", what, { leafIndex: p, ...(first.id ? { entryId: first.id } : {}) });
    notices.push(`located the first damaged leaf with ${first.proofs} proofs from ${oracle.description} against ${target.label} (size ${target.size})`);
    // Past it, unless the source is shifted there (then every later leaf fails, which says nothing more).
    if (first.shift === null && run.latest !== null) await checkLaterLeaves(run, kept, p - matchedSize + 1, run.latest, oracle);
  }
  return firstBadRange;
}

/** Kept leaves from `from` on, one by one against the latest checkpoint: at most LOCATE_PROOFS requests. */
async function checkLaterLeaves(run: AuditRun, kept: KeptLeaves, from: number, latest: AnchoredCheckpoint, oracle: ProofOracle): Promise<void> {
  const candidates: { index: number; hash: Uint8Array; id: string }[] = [];
  for (let k = from; k < kept.count && candidates.length < LOCATE_PROOFS; k++) if (kept.index[k]! < latest.size) candidates.push({ index: kept.index[k]!, hash: kept.hash(k), id: kept.id[k]! });
  let unavailable = 0;
  const bad: typeof candidates = [];
  await mapLimit(candidates, 8, async (l) => {
    let proof: Uint8Array[];
    try {
      proof = await oracle.inclusionProof(l.index, latest.size);
    } catch (e) {
      if (!noProof(e)) throw e;
      unavailable++;
      return;
    }
    if (!(await verifies(() => verifyInclusion(l.hash, l.index, latest.size, latest.root, proof)))) bad.push(l);
  });
  bad.sort((a, b) => a.index - b.index);
  for (const l of bad)
    run.add("leaf-not-anchored-as-is", `leaf ${l.index}${l.id ? ` (${l.id})` : ""} is not the leaf anchored at that index: its hash does not prove into checkpoint ${latest.index}`, {
      leafIndex: l.index,
      ...(l.id ? { entryId: l.id } : {}),
    });
  if (candidates.length > 0)
    run.notices.push(
      `checked ${candidates.length} later leaves one by one against checkpoint ${latest.index}: ${bad.length} not anchored as given${unavailable > 0 ? `, ${unavailable} without a proof` : ""}${
        candidates.length >= LOCATE_PROOFS ? ` (stopped after ${LOCATE_PROOFS})` : ""
      }`,
    );
}
