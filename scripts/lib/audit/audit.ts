/**
 * The full audit: replay every public entry against the checkpoints
 * anchored on the chain, trusting nothing but the chain (and, for
 * signatures, a log key the auditor got from somewhere they trust).
 *
 * One pass over the entries, in log order, never holding them all:
 * - each leaf is hashed as given, proved to be the canonical encoding of its
 *   entry, and appended to a compact range (O(log n) memory);
 * - at the size of every anchored checkpoint the rebuilt root is compared
 *   with the chain's, and at the size of every published checkpoint
 *   (the service's, an export's) it is remembered;
 * - the entry is read as a ledger entry and the business invariants are
 *   recomputed (./invariants.ts);
 * - its anchoring is timed against the checkpoint that first covers it.
 * Then: what the source is missing compared to the chain and to validly
 * signed checkpoints, the published checkpoints against the chain (split
 * view), and, if a root did not match or the source ends short of a trusted
 * tree and a proof oracle is at hand, the first damaged leaf (by binary
 * search, ./README.md "Trust") and a bounded number of later ones.
 *
 * Nothing found stops the audit: every discrepancy is counted (see
 * ./findings.ts). Only an unreadable source or chain throws (AuditError).
 */
import {
  CheckpointError,
  CompactRange,
  EMPTY_ROOT,
  equalBytes,
  HASH_SIZE,
  parseCheckpoint,
  splitSignedNote,
  VerificationError,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  type NoteVerifier,
} from "../../../service/log";
import { checkCosignedCheckpoint, type WitnessPolicy } from "../../../service/format/witness-policy";
import { entryOfLeaf, LeafReaders, TreeBuilder, type BatchCheck } from "./leaves";
import { readCheckpoints, rootHex, type AnchoredCheckpoint, type ChainReader } from "./chain";
import { LEDGER_KINDS as ENTRY_KINDS, type LedgerEntry as AuditEntry, type LedgerKind as EntryKind } from "../../../service/format";
import { AuditError, messageOf } from "./errors";
import { DEFAULT_MAX_LISTED, Findings, type Discrepancy, type DiscrepancyKind } from "./findings";
import { InvariantReplay, type InvariantTotals } from "./invariants";
import type { EntrySource, LeafBatch, ProofOracle, PublishedCheckpoint } from "./sources";

export const REPORT_FORMAT = "subsidy-ledger.audit-report";
export const REPORT_VERSION = 1;

/** The service's default LEDGER_ANCHOR_MAX_DELAY_MS. */
export const DEFAULT_MAX_DELAY_MS = 300_000;
/** Most leaves kept past the last matching checkpoint (their hashes) to locate damage with. */
export const DEFAULT_LOCATE_LIMIT = 10_000;

export interface AuditOptions {
  readonly source: EntrySource;
  /** The chain; null audits without it (and says so: nothing is then checked against anchors). */
  readonly chain: ChainReader | null;
  /** The log keys the auditor trusts; empty: signatures are not checked (and the report says so). */
  readonly verifiers: readonly NoteVerifier[];
  /** Where the verifier keys came from, for the report. */
  readonly keySource?: string;
  /** Require this checkpoint origin. */
  readonly origin?: string;
  /** The witnesses the auditor trusts and their quorum: the source's published checkpoint must carry a quorum of their valid cosignatures. */
  readonly witnessPolicy?: WitnessPolicy;
  /** Signed checkpoints to check against the chain, besides the source's own. */
  readonly published?: readonly PublishedCheckpoint[];
  /** Proofs to locate damage with; defaults to the source's. */
  readonly oracle?: ProofOracle;
  /** Read no more than this many leaves (the service's size when the audit began). */
  readonly until?: number;
  readonly now?: () => number;
  readonly maxDelayMs?: number;
  readonly maxListed?: number;
  readonly locateLimit?: number;
  /** Called with each batch after it is checked (to write an export while auditing). */
  readonly onBatch?: (batch: LeafBatch) => Promise<void>;
  readonly onProgress?: (done: number, total: number | undefined) => void;
  /** How many worker threads read and hash the leaves (./leaves.ts); 0 (default): all in this thread. */
  readonly workers?: number;
}

export interface PublishedResult {
  readonly label: string;
  readonly size: number | null;
  readonly rootHex: string | null;
  readonly signature: "valid" | "invalid" | "not-checked";
  /** How the checkpoint was found consistent with the chain's latest, or why not. */
  readonly withChain: "consistent (replay)" | "consistent (proof)" | "inconsistent" | "not checked";
  readonly witnesses: WitnessResult;
}

/** The cosignatures a published checkpoint carries. */
export interface WitnessResult {
  /** Signature lines from keys other than the trusted log key, as `name+keyid`: what it carries, verified or not. */
  readonly seen: readonly string[];
  /** With --witness-policy: its quorum, the policy witnesses whose cosignature verified, and whether they meet it; null without. */
  readonly policy: { readonly quorum: string; readonly vouched: readonly string[]; readonly satisfied: boolean } | null;
}

export interface AuditReport {
  readonly format: typeof REPORT_FORMAT;
  readonly version: typeof REPORT_VERSION;
  readonly ok: boolean;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly source: { readonly kind: string; readonly description: string; readonly declaredSize: number | null };
  readonly chain: {
    readonly description: string;
    readonly chainId: number;
    readonly checkpoints: number;
    readonly latest: { readonly index: number; readonly size: number; readonly rootHex: string; readonly anchoredAt: string } | null;
  } | null;
  readonly keys: { readonly trusted: readonly string[]; readonly source: string };
  readonly entries: { readonly count: number; readonly byKind: Readonly<Record<EntryKind, number>> };
  readonly totals: InvariantTotals;
  readonly checkpoints: {
    readonly onChain: number;
    /** Anchored checkpoints whose root was compared with the replayed tree. */
    readonly checked: number;
    readonly matched: number;
    /** Anchored checkpoints beyond the entries the source holds (not checked). */
    readonly beyondSource: number;
    /** Consecutive pairs shown consistent: by the replay (both roots matched) or by a proof. */
    readonly consecutive: { readonly byReplay: number; readonly byProof: number; readonly unconfirmed: number };
  };
  readonly published: readonly PublishedResult[];
  readonly anchoring: {
    readonly maxDelayMs: number;
    /** Entries not under any anchored checkpoint. */
    readonly unanchored: number;
    /** Of those, older than the maximum delay. */
    readonly overdue: number;
    /** Anchored entries whose first anchoring came later than the maximum delay. */
    readonly anchoredLate: number;
    readonly worstDelayMs: number | null;
  };
  readonly discrepancies: {
    readonly total: number;
    readonly byKind: Readonly<Record<string, number>>;
    /** The smallest leaf index found damaged (ordering, deletion, localised tampering), if one could be named. */
    readonly firstBadIndex: number | null;
    /** Where damage is known to start when it could not be located to one leaf: [begin, end). */
    readonly firstBadRange: readonly [number, number] | null;
    readonly listed: readonly Discrepancy[];
    readonly omitted: Readonly<Record<string, number>>;
  };
  readonly notices: readonly string[];
}

interface PublishedState {
  readonly cp: PublishedCheckpoint;
  /** Published by the source itself (the service's checkpoint when the service is the source, an export's header). */
  readonly fromSource: boolean;
  size: number | null;
  root: Uint8Array | null;
  signature: PublishedResult["signature"];
  replayRoot: Uint8Array | null;
  withChain: PublishedResult["withChain"];
  witnesses: WitnessResult;
}

/** The body of a signed note, without checking its signatures. */
function noteBody(note: string): string {
  const i = note.lastIndexOf("\n\n");
  return i < 0 ? note : note.slice(0, i + 1);
}

/** "leaf 5 is" or "leaves 5–9 are", for [from, to). */
function span(from: number, to: number): string {
  return to - from === 1 ? `leaf ${from} is` : `leaves ${from}–${to - 1} are`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

async function mapLimit<T>(items: readonly T[], limit: number, f: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Most leaves checked one by one with an inclusion proof each, past the first damaged one. */
export const LOCATE_PROOFS = 256;

/** A tree the auditor trusts (anchored on the chain, or signed with the trusted key), to locate damage against. */
interface Target {
  readonly label: string;
  readonly size: number;
  readonly root: Uint8Array;
}

/** The leaves kept from the last matching checkpoint on (leaf k is at position from + k), and the tree there. */
interface KeptLeaves {
  readonly from: number;
  readonly compact: readonly Uint8Array[];
  readonly count: number;
  readonly index: Float64Array;
  readonly at: Int32Array;
  readonly hashes: readonly Uint8Array[];
  readonly id: readonly string[];
}

type Divergence =
  | { readonly kind: "no-proof"; readonly reason: string }
  /** Every kept leaf within the target is consistent with it: its first `upTo` leaves. */
  | { readonly kind: "all-consistent"; readonly upTo: number }
  | {
      readonly kind: "found";
      readonly position: number;
      readonly claimed: number;
      readonly id: string;
      /** "deleted": the leaf there is the target's next one; "inserted": the next leaf is the target's leaf there. */
      readonly shift: "deleted" | "inserted" | null;
      readonly proofs: number;
    };

/** A proof the oracle could not give (out of its tree's range, a node it lacks): it proves nothing either way. */
function noProof(e: unknown): boolean {
  return (e instanceof AuditError && (e.code === "REFUSED" || e.code === "PROTOCOL")) || (e instanceof Error && e.name === "LogArgumentError");
}

/**
 * The first position where the source's leaves stop being the target's,
 * by binary search over prefix lengths m: the source's root of its first m
 * leaves (rebuilt from the compact range at the last matching checkpoint
 * and the kept leaf hashes) against the target's root, with a consistency
 * proof from the oracle. "The first m leaves are the target's" holds up to
 * the first damaged leaf and fails from there on, whatever the damage (a
 * leaf changed, deleted, inserted or moved), so about log2(kept) proofs
 * find it. A proof that verifies shows the prefix is anchored; a proof
 * that does not is taken as divergence (the oracle is the audited party's:
 * it could hide a later position, never clear a damaged one).
 */
async function firstDivergence(kept: KeptLeaves, target: Target, oracle: ProofOracle): Promise<Divergence> {
  const hashOf = (k: number): Uint8Array => kept.hashes[k]!.subarray(kept.at[k]!, kept.at[k]! + HASH_SIZE);
  const n = Math.min(kept.count, target.size - kept.from);
  const range = new CompactRange(kept.from, kept.compact);
  const roots: Uint8Array[] = [range.root()];
  for (let k = 0; k < n; k++) {
    range.extend(hashOf(k));
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
    try {
      verifyConsistency(m, target.size, roots[j]!, target.root, proof);
      return true;
    } catch (e) {
      if (e instanceof VerificationError) return false;
      throw e;
    }
  };
  const proves = async (leafHash: Uint8Array, index: number): Promise<boolean> => {
    proofs++;
    const proof = await oracle.inclusionProof(index, target.size);
    try {
      verifyInclusion(leafHash, index, target.size, target.root, proof);
      return true;
    } catch (e) {
      if (e instanceof VerificationError) return false;
      throw e;
    }
  };
  try {
    if (await consistent(n)) return { kind: "all-consistent", upTo: kept.from + n };
    let lo = 0; // consistent
    let hi = n; // not consistent
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await consistent(mid)) lo = mid;
      else hi = mid;
    }
    const position = kept.from + lo;
    let shift: "deleted" | "inserted" | null = null;
    if (position + 1 < target.size && (await proves(hashOf(lo), position + 1))) shift = "deleted";
    else if (lo + 1 < kept.count && (await proves(hashOf(lo + 1), position))) shift = "inserted";
    return { kind: "found", position, claimed: kept.index[lo]!, id: kept.id[lo]!, shift, proofs };
  } catch (e) {
    if (noProof(e)) return { kind: "no-proof", reason: messageOf(e) };
    throw e;
  }
}

/** What the phases of one audit share: its settings, the chain, the published checkpoints, and what is found. */
interface AuditRun {
  readonly options: AuditOptions;
  readonly source: EntrySource;
  readonly oracle: ProofOracle | undefined;
  readonly maxDelayMs: number;
  readonly locateLimit: number;
  readonly findings: Findings;
  readonly notices: string[];
  readonly add: (kind: DiscrepancyKind, message: string, extra?: Omit<Discrepancy, "kind" | "message">) => void;
  chainId: number;
  checkpoints: AnchoredCheckpoint[];
  latest: AnchoredCheckpoint | null;
  anchoredSize: number;
  published: PublishedState[];
}

/** What the pass over the entries established. */
interface Replayed {
  /** Leaves read. */
  readonly count: number;
  /** The index after the last leaf given: with a gap in the middle, more than the count. */
  readonly reach: number;
  readonly byKind: Record<EntryKind, number>;
  readonly totals: InvariantTotals;
  readonly checked: number;
  readonly matched: number;
  /** The largest anchored size whose root matched, with every earlier one matching too. */
  readonly matchedSize: number;
  readonly firstMismatch: { index: number; from: number; to: number } | null;
  readonly unanchored: number;
  readonly overdue: number;
  readonly anchoredLate: number;
  readonly worstDelay: number | null;
  /** The leaves kept from the last matching checkpoint on, to locate damage with. */
  readonly kept: KeptLeaves;
  /** The tree's node of level 8·L (L ≥ 1), for a published log's upper tiles. */
  readonly tileNode: (level: number, index: number) => Uint8Array | undefined;
}

/**
 * The audit, phase by phase: the chain, the published checkpoints'
 * signatures, one pass over the entries, what the source lacks, the
 * published checkpoints against the chain, consecutive anchored
 * checkpoints, locating damage, the report.
 */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const startedMs = Date.now();
  const findings = new Findings(options.maxListed ?? DEFAULT_MAX_LISTED);
  const run: AuditRun = {
    options,
    source: options.source,
    oracle: options.oracle ?? options.source.oracle,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    locateLimit: options.locateLimit ?? DEFAULT_LOCATE_LIMIT,
    findings,
    notices: [],
    add: (kind, message, extra = {}) => findings.add({ kind, message, ...extra }),
    chainId: 0,
    checkpoints: [],
    latest: null,
    anchoredSize: 0,
    published: [],
  };
  await readChain(run);
  checkSignatures(run);
  checkWitnesses(run);
  const replayed = await replayEntries(run);
  await checkUpperTiles(run, replayed);
  const behind = checkSourceEnd(run, replayed);
  const lost = await checkPublished(run, replayed, behind);
  const consecutive = await checkConsecutive(run, replayed);
  const firstBadRange = await locateDamage(run, replayed, lost);
  return report(run, replayed, consecutive, firstBadRange, startedMs);
}

/** The chain's checkpoints, and whether each grows from the one before. */
async function readChain(run: AuditRun): Promise<void> {
  const { options, add, notices } = run;
  let checkpoints: AnchoredCheckpoint[] = [];
  let chainId = 0;
  if (options.chain !== null) {
    chainId = await options.chain.chainId();
    checkpoints = await readCheckpoints(options.chain);
    for (let k = 1; k < checkpoints.length; k++) {
      const a = checkpoints[k - 1]!;
      const b = checkpoints[k]!;
      if (!(b.size > a.size))
        add("chain-inconsistent", `checkpoint ${k} (size ${b.size}) does not grow from checkpoint ${k - 1} (size ${a.size})`, { checkpointIndex: k });
      if (b.timestamp < a.timestamp) notices.push(`checkpoint ${k} was anchored at an earlier block time than checkpoint ${k - 1}`);
    }
  } else {
    notices.push("no chain was read: nothing was checked against anchored checkpoints");
  }
  const latest = checkpoints.length > 0 ? checkpoints[checkpoints.length - 1]! : null;
  const anchoredSize = latest?.size ?? 0;

  run.chainId = chainId;
  run.checkpoints = checkpoints;
  run.latest = latest;
  run.anchoredSize = anchoredSize;
}

/** The published checkpoints (the source's and any given), their signatures checked first. */
function checkSignatures(run: AuditRun): void {
  const { options, source, add, notices } = run;
  const published: PublishedState[] = [
    ...(options.published ?? []).map((cp) => ({ cp, fromSource: false })),
    ...source.published.map((cp) => ({ cp, fromSource: true })),
  ].map(({ cp, fromSource }) => ({
    cp,
    fromSource,
    size: null,
    root: null,
    signature: "not-checked",
    replayRoot: null,
    withChain: "not checked",
    witnesses: { seen: [], policy: null },
  }));
  for (const p of published) {
    if (options.verifiers.length > 0) {
      try {
        const c = verifyCheckpoint(p.cp.note, options.verifiers, options.origin);
        p.signature = "valid";
        p.size = c.size;
        p.root = c.rootHash;
        continue;
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        p.signature = "invalid";
        add("checkpoint-signature", `the checkpoint from ${p.cp.label} does not verify with the trusted log key: ${e.code}: ${e.message}`);
      }
    }
    try {
      const c = parseCheckpoint(noteBody(p.cp.note));
      p.size = c.size;
      p.root = c.rootHash;
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      if (p.signature === "not-checked") add("checkpoint-signature", `the checkpoint from ${p.cp.label} is malformed: ${e.code}: ${e.message}`);
    }
  }
  if (options.verifiers.length === 0 && published.length > 0)
    notices.push("no trusted log key was given (--log-key): checkpoint signatures were not checked");

  run.published = published;
}

/**
 * The witness cosignatures on each published checkpoint. With a policy, the
 * source's own checkpoint (what it publishes as the log's state) must carry
 * a quorum of valid cosignatures from the policy's witnesses, and a policy
 * witness's cosignature that does not verify is a finding whatever the
 * quorum. Without a policy the cosignatures are listed, unverified.
 */
function checkWitnesses(run: AuditRun): void {
  const { options, add, notices } = run;
  const policy = options.witnessPolicy;
  const logKeys = new Set(options.verifiers.map((v) => `${v.name}+${v.keyId}`));
  for (const p of run.published) {
    let seen: string[];
    try {
      seen = splitSignedNote(p.cp.note)
        .signatures.filter((sig) => !logKeys.has(`${sig.name}+${sig.keyId}`))
        .map((sig) => `${sig.name}+${sig.keyId.toString(16).padStart(8, "0")}`);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      continue; // a malformed note is a checkpoint-signature finding already
    }
    p.witnesses = { seen, policy: null };
    if (policy === undefined) continue;
    const label = `the checkpoint from ${p.cp.label}`;
    try {
      const { vouched, satisfied } = checkCosignedCheckpoint(p.cp.note, policy);
      p.witnesses = { seen, policy: { quorum: policy.quorum, vouched, satisfied } };
      if (!satisfied && p.fromSource)
        add("witness-cosignature", `${label} is cosigned by ${vouched.length === 0 ? "no witness of the policy" : vouched.join(", ")}: the policy's quorum ${policy.quorum} is not met`);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      p.witnesses = { seen, policy: { quorum: policy.quorum, vouched: [], satisfied: false } };
      add("witness-cosignature", `${label} carries a cosignature of a policy witness that does not verify: ${e.code}: ${e.message}`);
    }
  }
  if (policy === undefined && run.published.some((p) => p.witnesses.seen.length > 0))
    notices.push("no --witness-policy was given: the cosignatures listed were not verified");
}

/**
 * One pass over the source's entries, in log order: each leaf read and
 * hashed (./leaves.ts), the tree's root compared at every anchored size and
 * kept at every published one, the invariants replayed, anchoring timed.
 */
async function replayEntries(run: AuditRun): Promise<Replayed> {
  const { options, source, add, findings, checkpoints, published, anchoredSize, maxDelayMs, locateLimit } = run;
  const now = options.now ?? Date.now;
  const wanted = new Map<number, { chain: AnchoredCheckpoint[]; published: PublishedState[] }>();
  const want = (size: number) => {
    let w = wanted.get(size);
    if (w === undefined) wanted.set(size, (w = { chain: [], published: [] }));
    return w;
  };
  for (const c of checkpoints) want(c.size).chain.push(c);
  for (const p of published) if (p.size !== null) want(p.size).published.push(p);
  const probes = [...wanted.keys()].sort((a, b) => a - b);

  // The pass itself: what is kept while reading.
  let size = 0; // leaves read so far
  const replay = new InvariantReplay();
  const byKind = Object.fromEntries(ENTRY_KINDS.map((k) => [k, 0])) as Record<EntryKind, number>;
  let expected = 0; // the next leaf index the source should give
  let probe = 0;
  while (probe < probes.length && probes[probe]! === 0) probe++;
  for (const p of wanted.get(0)?.published ?? []) p.replayRoot = EMPTY_ROOT;
  let checked = 0;
  let matched = 0;
  let matchedSize = 0; // the largest anchored size whose root matched, with every earlier one matching too
  let matchedCompact: Uint8Array[] = []; // the compact range of the tree at matchedSize (to rebuild prefix roots past it)
  let firstMismatch = null as { index: number; from: number; to: number } | null;
  let cover = 0; // the first checkpoint with size > the current leaf
  let unanchored = 0;
  let overdue = 0;
  let anchoredLate = 0;
  let worstDelay: number | null = null;
  let lastRecordedMs = -Infinity;
  let clockNotices = 0;
  const nowMs = now();
  // Leaves kept to locate damage: from the last matched checkpoint on, at most locateLimit.
  // Kept in columns (index, its batch's hash array and offset, entry id): no object per leaf,
  // since in a clean log every one is dropped at the next matching checkpoint.
  const locIndex = new Float64Array(locateLimit);
  const locAt = new Int32Array(locateLimit);
  const locHashes: Uint8Array[] = [];
  const locId: string[] = [];
  let locN = 0;
  // A service grows while it is read: read what was published or anchored when the audit began.
  const until =
    options.until ??
    (source.kind === "service" && (checkpoints.length > 0 || published.some((p) => p.size !== null))
      ? Math.max(anchoredSize, ...published.map((p) => p.size ?? 0))
      : undefined);
  const total = until ?? source.declaredSize;

  // The entry being replayed, for the one violation reporter (no closure per entry).
  const current: { e: AuditEntry; claimed: number } = { e: null as unknown as AuditEntry, claimed: 0 };
  const violation = (rule: string, message: string): void =>
    add(rule === "agency-scope" ? "agency-scope" : "invariant", `${current.e.kind} ${current.e.id} at leaf ${current.claimed}: ${message}`, { leafIndex: current.claimed, entryId: current.e.id, rule });
  const tree = new TreeBuilder(probes, source.checkUpperTiles !== undefined);
  const handle = (batch: LeafBatch, read: BatchCheck): void => {
    const step = tree.add(batch.indices, read.hashes);
    for (const p of batch.problems ?? []) {
      add("tile-mismatch", p.message, p.leafIndex === undefined ? {} : { leafIndex: p.leafIndex });
      if (p.leafIndex !== undefined) findings.badFrom(p.leafIndex);
    }
    if (batch.tileHashes !== undefined) checkLeafHashes(batch, read.hashes, add, findings);
    for (let i = 0; i < batch.length; i++) {
      const claimed = batch.indices[i]!;
      if (Number.isNaN(claimed)) {
        add("leaf-order", `record ${size + 1} of the source has no leaf index (not an [index,leaf] line or a malformed key); skipped`);
        findings.badFrom(expected);
        continue;
      }
      if (claimed !== expected) {
        if (claimed > expected) add("leaf-order", `${span(expected, claimed)} missing: the source goes from leaf ${expected - 1} to leaf ${claimed}`, { leafIndex: expected });
        else add("leaf-order", `leaf ${claimed} comes again or out of order, after leaf ${expected - 1}`, { leafIndex: claimed });
        findings.badFrom(Math.min(claimed, expected));
      }
      expected = claimed + 1;
      const pos = ++size; // leaves so far

      let id = "";
      let e: AuditEntry | null = null;
      const fault = read.faults[i]!;
      if (fault !== null) add("leaf-encoding", `leaf ${claimed}: ${fault}`, { leafIndex: claimed });
      else {
        const res = entryOfLeaf(read.texts[i]!);
        if (res.malformed !== null) add("entry-malformed", `leaf ${claimed}: ${res.malformed}`, { leafIndex: claimed });
        e = res.entry;
      }
      if (read.shownMismatch[i]) add("record-mismatch", `leaf ${claimed}: the entry the service shows is not the entry in the leaf it serves`, { leafIndex: claimed });
      if (e !== null) {
        id = e.id;
        byKind[e.kind]++;
        if (replay.hasEntry(e)) add("duplicate-id", `leaf ${claimed}: entry id ${e.id} was already used by an earlier leaf`, { leafIndex: claimed, entryId: e.id });
        else {
          current.e = e;
          current.claimed = claimed;
          replay.apply(e, violation);
        }
        if (e.recordedMs < lastRecordedMs && clockNotices++ < 5)
          findings.notice({ message: `leaf ${claimed} (${e.id}) was recorded at ${e.recordedAt}, before the leaf before it`, leafIndex: claimed });
        lastRecordedMs = e.recordedMs;
        // Anchoring: the first checkpoint that covers this leaf.
        while (cover < checkpoints.length && checkpoints[cover]!.size < pos) cover++;
        if (cover < checkpoints.length) {
          const delay = checkpoints[cover]!.timestamp * 1000 - e.recordedMs;
          if (worstDelay === null || delay > worstDelay) worstDelay = delay;
          if (delay > maxDelayMs) anchoredLate++;
        } else if (options.chain !== null) {
          unanchored++;
          const age = nowMs - e.recordedMs;
          if (age > maxDelayMs) {
            overdue++;
            add("anchoring-delay", `${e.kind} ${e.id} at leaf ${claimed} was recorded ${Math.round(age / 1000)} s ago (${e.recordedAt}) and is still not anchored (maximum delay ${maxDelayMs / 1000} s)`, {
              leafIndex: claimed,
              entryId: e.id,
            });
          }
        }
      }
      if (locN < locateLimit) {
        locIndex[locN] = claimed;
        locAt[locN] = i * HASH_SIZE;
        locHashes[locN] = read.hashes;
        locId[locN] = id;
        locN++;
      }

      if (probe < probes.length && probes[probe] === pos) {
        probe++;
        const w = wanted.get(pos)!;
        const at = step.sizes.indexOf(pos);
        const root = step.roots[at]!;
        for (const p of w.published) p.replayRoot = root;
        for (const c of w.chain) {
          checked++;
          if (equalBytes(root, c.root)) {
            matched++;
            if (firstMismatch === null) {
              matchedSize = pos;
              matchedCompact = [...step.compacts[at]!];
              locN = 0;
            }
          } else {
            add("root-mismatch", `the first ${pos} entries give root ${rootHex(root)}, but checkpoint ${c.index} on the chain anchors ${rootHex(c.root)} for that size`, {
              checkpointIndex: c.index,
            });
            firstMismatch ??= { index: c.index, from: matchedSize, to: pos };
          }
        }
      }
    }
  };

  // Batches are read ahead, up to `ahead` at a time (with workers, in parallel), and handled in log order.
  const workers = options.workers ?? 0;
  const readers = new LeafReaders(workers);
  const ahead = 1 + 2 * workers;
  const inFlight: { batch: LeafBatch; read: Promise<BatchCheck> }[] = [];
  const finish = async (): Promise<void> => {
    const { batch, read } = inFlight.shift()!;
    handle(batch, await read);
    if (options.onBatch) await options.onBatch(batch);
    options.onProgress?.(size, total);
  };
  try {
    for await (const batch of source.leaves(until ?? Number.MAX_SAFE_INTEGER)) {
      const read = readers.read(batch);
      read.catch(() => {}); // awaited in order below; a failure surfaces there
      inFlight.push({ batch, read });
      if (inFlight.length >= ahead) await finish();
    }
    while (inFlight.length > 0) await finish();
  } finally {
    await readers.close();
  }
  const count = tree.size;
  // The index after the last leaf given: with a gap in the middle, more than the count.
  const reach = Math.max(expected, count);

  return {
    count,
    reach,
    byKind,
    totals: replay.totals(),
    checked,
    matched,
    matchedSize,
    firstMismatch,
    unanchored,
    overdue,
    anchoredLate,
    worstDelay,
    kept: { from: matchedSize, compact: matchedCompact, count: locN, index: locIndex, at: locAt, hashes: locHashes, id: locId },
    tileNode: (level, index) => tree.tileNode(level, index),
  };
}

/** A published log's hash tiles above level 0 against the tree the entries give. */
async function checkUpperTiles(run: AuditRun, r: Replayed): Promise<void> {
  if (run.source.checkUpperTiles === undefined) return;
  for (const p of await run.source.checkUpperTiles(r.tileNode)) run.add("tile-mismatch", p.message, p.leafIndex === undefined ? {} : { leafIndex: p.leafIndex });
}

/** A published log's level-0 tile against the hashes of the entries it publishes beside it. */
function checkLeafHashes(batch: LeafBatch, hashes: Uint8Array, add: AuditRun["add"], findings: Findings): void {
  const published = batch.tileHashes!;
  if (published.length !== batch.length * HASH_SIZE) {
    add("tile-mismatch", `${batch.tileName}: ${published.length / HASH_SIZE} hashes for ${batch.length} entries`, { leafIndex: batch.indices[0] });
    return;
  }
  for (let i = 0; i < batch.length; i++) {
    const at = i * HASH_SIZE;
    if (!equalBytes(published.subarray(at, at + HASH_SIZE), hashes.subarray(at, at + HASH_SIZE))) {
      add("tile-mismatch", `${batch.tileName}: the hash published for leaf ${batch.indices[i]} is not the hash of the entry published for it`, { leafIndex: batch.indices[i] });
      findings.badFrom(batch.indices[i]!);
    }
  }
}

/** An export or a published log that holds all it declares: it may simply be older than the chain or a signed checkpoint, which is not a loss. */
function holdsAllItDeclares(source: EntrySource, count: number): boolean {
  return (source.kind === "export" || source.kind === "tlog") && source.declaredSize !== undefined && count >= source.declaredSize;
}

/** What the source lacks against trusted trees, or declares and does not hold. Returns the smallest trusted tree beyond its end, if any. */
function checkSourceEnd(run: AuditRun, r: Replayed): Target | null {
  const { source, add, notices, checkpoints, anchoredSize } = run;
  const { reach, count } = r;
  // A trusted tree larger than the source (anchored on the chain, or signed with the trusted key)
  // proves entries were lost; the smallest such tree is where damage is located against.
  let behind: Target | null = null;
  const beyond = checkpoints.filter((c) => c.size > reach);
  const completeExport = holdsAllItDeclares(source, count);
  if (beyond.length > 0) {
    if (completeExport)
      notices.push(`${beyond.length} anchored checkpoints (up to size ${anchoredSize}) are beyond the ${reach} entries of the export and were not checked`);
    else {
      add("source-behind-chain", `the chain anchors ${anchoredSize} entries, but the source ends at ${reach}: ${span(reach, anchoredSize)} missing (a deletion, or a database rolled back to an older copy)`, {
        leafIndex: reach,
        checkpointIndex: beyond[0]!.index,
      });
      behind = { label: `anchored checkpoint ${beyond[0]!.index}`, size: beyond[0]!.size, root: beyond[0]!.root };
    }
  }
  if (source.declaredSize !== undefined && source.declaredSize !== count)
    add("source-size-mismatch", `${source.description} declares ${source.declaredSize} entries but holds ${count}`, { leafIndex: Math.min(count, source.declaredSize) });

  return behind;
}

/**
 * Each published checkpoint against the source and the chain (a split
 * view). Returns the smallest trusted tree beyond the source's end: `behind`,
 * or a smaller one signed with the trusted key.
 */
async function checkPublished(run: AuditRun, r: Replayed, smallestBehind: Target | null): Promise<Target | null> {
  const { source, add, notices, latest, oracle, published, anchoredSize } = run;
  let behind = smallestBehind;
  const { reach, count, matchedSize } = r;
  const completeExport = holdsAllItDeclares(source, count);
  for (const p of published) {
    if (p.size === null || p.root === null) continue;
    const label = `the checkpoint from ${p.cp.label} (size ${p.size})`;
    if (p.fromSource && p.size > reach)
      add("published-root-mismatch", `${label} claims ${p.size} entries, but the source gave only ${reach}`, { leafIndex: reach });
    else if (p.size > reach && p.signature === "valid") {
      // Chosen: a validly signed tree the source cannot reach is a loss, as an anchored one is, unless the
      // source is an export that holds all it declares (an older snapshot). Unsigned, it proves nothing.
      if (completeExport) notices.push(`${label} is beyond the ${reach} entries of the export (an older snapshot) and was not compared with it`);
      else {
        add("source-behind-checkpoint", `${label} is signed with the trusted log key, but the source holds only ${reach} entries: ${span(reach, p.size)} missing (a deletion, or a log rolled back to an older copy)`, {
          leafIndex: reach,
        });
        if (behind === null || p.size < behind.size) behind = { label, size: p.size, root: p.root };
      }
    } else if (p.size > reach && p.signature === "not-checked")
      notices.push(`${label} covers more than the ${reach} entries of the source, but its signature was not checked (no --log-key): it proves nothing`);
    if (p.replayRoot !== null && !equalBytes(p.replayRoot, p.root)) {
      if (p.size <= matchedSize) {
        add("split-view", `${label} has root ${rootHex(p.root)}, but the anchored log has ${rootHex(p.replayRoot)} at that size: it shows a tree the chain has not seen`);
        p.withChain = "inconsistent";
      } else
        add("published-root-mismatch", `${label} has root ${rootHex(p.root)}, but the source's entries give ${rootHex(p.replayRoot)} at that size`);
    } else if (p.replayRoot !== null && latest !== null && matchedSize === anchoredSize && count >= p.size) {
      p.withChain = "consistent (replay)";
    }
    if (p.withChain === "not checked" && latest !== null && oracle !== undefined) {
      const [s1, r1, s2, r2] = p.size <= latest.size ? [p.size, p.root, latest.size, latest.root] : [latest.size, latest.root, p.size, p.root];
      try {
        verifyConsistency(s1, s2, r1, r2, s1 === s2 ? [] : await oracle.consistencyProof(s1, s2));
        p.withChain = "consistent (proof)";
      } catch (e) {
        if (e instanceof VerificationError) {
          p.withChain = "inconsistent";
          add("split-view", `${label} is not consistent with the chain's latest checkpoint ${latest.index} (size ${latest.size}): ${e.code}: ${e.message}`, { checkpointIndex: latest.index });
        } else if (noProof(e)) notices.push(`${label}: no consistency proof with the chain could be had from ${oracle.description}: ${messageOf(e)}`);
        else throw e;
      }
    }
    if (p.withChain === "not checked" && latest !== null) notices.push(`${label} could not be compared with the chain (no replay up to its size and no proof)`);
  }

  return behind;
}

/** Consecutive anchored checkpoints shown consistent: by the replay, or by a proof. */
async function checkConsecutive(run: AuditRun, r: Replayed): Promise<{ byReplay: number; byProof: number; unconfirmed: number }> {
  const { notices, checkpoints, oracle } = run;
  const { matchedSize } = r;
  let byReplay = 0;
  let byProof = 0;
  const unproved: [AnchoredCheckpoint, AnchoredCheckpoint][] = [];
  for (let k = 1; k < checkpoints.length; k++) {
    const a = checkpoints[k - 1]!;
    const b = checkpoints[k]!;
    if (b.size <= matchedSize) byReplay++;
    else unproved.push([a, b]);
  }
  if (oracle !== undefined && unproved.length > 0) {
    await mapLimit(unproved.slice(0, 1000), 8, async ([a, b]) => {
      try {
        if (b.size > a.size) {
          verifyConsistency(a.size, b.size, a.root, b.root, await oracle.consistencyProof(a.size, b.size));
          byProof++;
        }
      } catch (e) {
        if (!(e instanceof VerificationError) && !noProof(e)) throw e;
      }
    });
  }
  const unconfirmed = checkpoints.length > 0 ? checkpoints.length - 1 - byReplay - byProof : 0;
  if (unconfirmed > 0)
    notices.push(`${unconfirmed} pairs of consecutive anchored checkpoints could not be shown consistent here (the replay diverged before them and no proof verified); the contract refuses inconsistent ones itself`);

  return { byReplay, byProof, unconfirmed };
}

/** The first damaged leaf, against the first trusted tree the source disagrees with; later ones one by one. */
async function locateDamage(run: AuditRun, r: Replayed, behind: Target | null): Promise<[number, number] | null> {
  const { add, notices, findings, checkpoints, latest, oracle, locateLimit } = run;
  const { firstMismatch, matchedSize, reach, kept } = r;
  const { count: locN, index: locIndex, at: locAt, hashes: locHashes, id: locId } = kept;
  // Against the first trusted tree the source disagrees with: the first anchored checkpoint whose root
  // did not match, else the smallest trusted tree beyond the source's end.
  const mismatched = firstMismatch === null ? undefined : checkpoints.find((c) => c.index === firstMismatch!.index);
  const target: Target | null = mismatched !== undefined ? { label: `anchored checkpoint ${mismatched.index}`, size: mismatched.size, root: mismatched.root } : behind;
  let firstBadRange: [number, number] | null = null;
  if (target !== null) {
    // Damage starts at or after the last matching checkpoint, and at or before the source's end.
    firstBadRange = [matchedSize, Math.min(target.size, reach + 1)];
    if (matchedSize === reach && target.size > reach) {
      // The source's whole tree matched an anchored root: it is the anchored log's prefix, and ends early.
      findings.badFrom(reach);
    } else if (oracle !== undefined) {
      const first = await firstDivergence(kept, target, oracle);
      if (first.kind === "no-proof") notices.push(`the first damaged leaf could not be located: ${oracle.description} gave no proof (${first.reason})`);
      else if (first.kind === "all-consistent") {
        if (first.upTo === reach && target.size > reach) findings.badFrom(reach);
        else
          notices.push(
            `the first ${first.upTo} leaves are consistent with ${target.label} (size ${target.size})${locN >= locateLimit ? `; leaves past them were not kept (--locate-limit ${locateLimit})` : ""}`,
          );
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
        add("leaf-not-anchored-as-is", what, { leafIndex: p, ...(first.id ? { entryId: first.id } : {}) });
        notices.push(`located the first damaged leaf with ${first.proofs} proofs from ${oracle.description} against ${target.label} (size ${target.size})`);

        // Past it: other leaves one by one against the latest checkpoint, unless the source is shifted
        // there (then every later leaf fails, which says nothing more). At most LOCATE_PROOFS requests.
        if (first.shift === null && latest !== null) {
          const candidates: { index: number; hash: Uint8Array; id: string }[] = [];
          for (let k = p - matchedSize + 1; k < locN && candidates.length < LOCATE_PROOFS; k++)
            if (locIndex[k]! < latest.size) candidates.push({ index: locIndex[k]!, hash: locHashes[k]!.subarray(locAt[k]!, locAt[k]! + HASH_SIZE), id: locId[k]! });
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
            try {
              verifyInclusion(l.hash, l.index, latest.size, latest.root, proof);
            } catch (e) {
              if (!(e instanceof VerificationError)) throw e;
              bad.push(l);
            }
          });
          bad.sort((a, b) => a.index - b.index);
          for (const l of bad)
            add("leaf-not-anchored-as-is", `leaf ${l.index}${l.id ? ` (${l.id})` : ""} is not the leaf anchored at that index: its hash does not prove into checkpoint ${latest.index}`, {
              leafIndex: l.index,
              ...(l.id ? { entryId: l.id } : {}),
            });
          if (candidates.length > 0)
            notices.push(
              `checked ${candidates.length} later leaves one by one against checkpoint ${latest.index}: ${bad.length} not anchored as given${unavailable > 0 ? `, ${unavailable} without a proof` : ""}${
                candidates.length >= LOCATE_PROOFS ? ` (stopped after ${LOCATE_PROOFS})` : ""
              }`,
            );
        }
      }
    } else {
      notices.push(
        `the first damaged leaf is in [${firstBadRange[0]}, ${firstBadRange[1]}) (the last matching checkpoint is at ${matchedSize}); give --service, or audit the data directory, to locate it exactly`,
      );
    }
  }

  return firstBadRange;
}

function report(run: AuditRun, r: Replayed, consecutive: { byReplay: number; byProof: number; unconfirmed: number }, firstBadRange: [number, number] | null, startedMs: number): AuditReport {
  const { options, source, findings, notices, checkpoints, latest, published, chainId, maxDelayMs } = run;
  const { count, byKind, checked, matched, unanchored, overdue, anchoredLate, worstDelay, reach } = r;
  const beyond = checkpoints.filter((c) => c.size > reach).length;
  for (const n of findings.notices) notices.push(n.message);
  if (findings.noticesOmitted > 0) notices.push(`${findings.noticesOmitted} more notices omitted`);
  if (anchoredLate > 0) notices.push(`${anchoredLate} entries were anchored later than the maximum delay of ${maxDelayMs / 1000} s (worst ${Math.round((worstDelay ?? 0) / 1000)} s)`);

  const totalFound = findings.count();
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    ok: totalFound === 0,
    startedAt: iso(startedMs),
    durationMs: Date.now() - startedMs,
    source: { kind: source.kind, description: source.description, declaredSize: source.declaredSize ?? null },
    chain:
      options.chain === null
        ? null
        : {
            description: options.chain.description,
            chainId,
            checkpoints: checkpoints.length,
            latest: latest === null ? null : { index: latest.index, size: latest.size, rootHex: rootHex(latest.root), anchoredAt: iso(latest.timestamp * 1000) },
          },
    keys: { trusted: options.verifiers.map((v) => `${v.name}+${v.keyId.toString(16).padStart(8, "0")}`), source: options.keySource ?? (options.verifiers.length > 0 ? "given" : "none") },
    entries: { count, byKind },
    totals: r.totals,
    checkpoints: {
      onChain: checkpoints.length,
      checked,
      matched,
      beyondSource: beyond,
      consecutive,
    },
    published: published.map((p) => ({
      label: p.cp.label,
      size: p.size,
      rootHex: p.root === null ? null : rootHex(p.root),
      signature: p.signature,
      withChain: p.withChain,
      witnesses: p.witnesses,
    })),
    anchoring: { maxDelayMs, unanchored, overdue, anchoredLate, worstDelayMs: worstDelay },
    discrepancies: {
      total: totalFound,
      byKind: findings.byKind(),
      firstBadIndex: findings.firstBadIndex,
      firstBadRange,
      listed: findings.listed,
      omitted: findings.omitted(),
    },
    notices,
  };
}
