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
 * signed checkpoints, and the published checkpoints against the chain
 * (split view). What needs proofs (a published checkpoint the replay could
 * not compare, consecutive checkpoints past a mismatch) and locating damage
 * are in ./locate.ts, loaded only then; a witness policy is checked by
 * ./witnesses.ts, loaded only when one is given.
 *
 * Nothing found stops the audit: every discrepancy is counted (see
 * ./findings.ts). Only an unreadable source or chain throws (AuditError).
 */
import { CheckpointError, EMPTY_ROOT, equalBytes, HASH_SIZE, parseCheckpoint, splitSignedNote, verifyCheckpoint, type NoteVerifier } from "../../../service/log";
import { LEDGER_KINDS, type LedgerEntry, type LedgerKind } from "../../../service/format";
import type { WitnessPolicy } from "../../../service/format/witness-policy";
import { entryOfLeaf, LeafReaders, TreeBuilder, type BatchCheck } from "./leaves";
import { readCheckpoints, rootHex, type AnchoredCheckpoint, type ChainReader } from "./chain";
import { DEFAULT_MAX_LISTED, Findings, type Discrepancy, type DiscrepancyKind } from "./findings";
import { InvariantReplay } from "./invariants";
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

/** A published checkpoint as the phases fill it in. */
export interface PublishedState {
  readonly cp: PublishedCheckpoint;
  /** Published by the source itself (the service's checkpoint when the service is the source, an export's header). */
  readonly fromSource: boolean;
  size: number | null;
  root: Uint8Array | null;
  signature: "valid" | "invalid" | "not-checked";
  /** The root the source's entries give at this size, once the pass reached it. */
  replayRoot: Uint8Array | null;
  /** How the checkpoint was found consistent with the chain's latest, or why not. */
  withChain: "consistent (replay)" | "consistent (proof)" | "inconsistent" | "not checked";
  witnesses: {
    /** Signature lines from keys other than the trusted log key, as `name+keyid`: what it carries, verified or not. */
    readonly seen: readonly string[];
    /** With a witness policy: its quorum, the policy witnesses whose cosignature verified, and whether they meet it. */
    readonly policy: { readonly quorum: string; readonly vouched: readonly string[]; readonly satisfied: boolean } | null;
  };
}

/** A tree the auditor trusts (anchored on the chain, or signed with the trusted key), to locate damage against. */
export type Target = { readonly label: string; readonly size: number; readonly root: Uint8Array };

/** What the phases of one audit share: its settings, the chain, the published checkpoints, and what is found. */
export type AuditRun = ReturnType<typeof newRun>;

function newRun(options: AuditOptions) {
  const findings = new Findings(options.maxListed ?? DEFAULT_MAX_LISTED);
  return {
    options,
    source: options.source,
    oracle: options.oracle ?? options.source.oracle,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    locateLimit: options.locateLimit ?? DEFAULT_LOCATE_LIMIT,
    findings,
    notices: [] as string[],
    add: (kind: DiscrepancyKind, message: string, extra: Omit<Discrepancy, "kind" | "message"> = {}) => findings.add({ kind, message, ...extra }),
    chainId: 0,
    checkpoints: [] as AnchoredCheckpoint[],
    latest: null as AnchoredCheckpoint | null,
    published: [] as PublishedState[],
  };
}

/** What the pass over the entries established (see replayEntries). */
export type Replayed = Awaited<ReturnType<typeof replayEntries>>;
/** The leaves kept from the last matching checkpoint on (leaf k is at position from + k), and the tree there. */
export type KeptLeaves = Replayed["kept"];

/** "leaf 5 is" or "leaves 5–9 are", for [from, to). */
export function span(from: number, to: number): string {
  return to - from === 1 ? `leaf ${from} is` : `leaves ${from}–${to - 1} are`;
}

/** The phases that need proofs, and damage location. */
const proofs = () => import("./locate");

/**
 * The audit, phase by phase: the chain, the published checkpoints'
 * signatures and cosignatures, one pass over the entries, what the source
 * lacks, the published checkpoints against the chain, consecutive anchored
 * checkpoints, locating damage, the report.
 */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const startedMs = Date.now();
  const run = newRun(options);
  await readChain(run);
  checkSignatures(run);
  listCosignatures(run);
  if (options.witnessPolicy !== undefined) (await import("./witnesses")).checkQuorum(run, options.witnessPolicy);
  const r = await replayEntries(run);
  for (const p of (await run.source.checkTree?.()) ?? []) run.add(p.kind, p.message, p.leafIndex === undefined ? {} : { leafIndex: p.leafIndex });
  const behind = await checkPublished(run, r, checkSourceEnd(run, r));
  const consecutive = await checkConsecutive(run, r);
  // Damage is located against the first trusted tree the source disagrees with: the first
  // anchored checkpoint whose root did not match, else the smallest trusted tree beyond its end.
  const m = r.firstMismatch;
  const target = m !== null ? { label: `anchored checkpoint ${m.index}`, size: m.size, root: m.root } : behind;
  const firstBadRange = target === null ? null : await (await proofs()).locateDamage(run, r, target);
  return report(run, r, consecutive, firstBadRange, startedMs);
}

/** The chain's checkpoints, and whether each grows from the one before. */
async function readChain(run: AuditRun): Promise<void> {
  const { chain } = run.options;
  if (chain === null) {
    run.notices.push("no chain was read: nothing was checked against anchored checkpoints");
    return;
  }
  run.chainId = await chain.chainId();
  const cps = (run.checkpoints = await readCheckpoints(chain));
  for (let k = 1; k < cps.length; k++) {
    const [a, b] = [cps[k - 1]!, cps[k]!];
    if (!(b.size > a.size)) run.add("chain-inconsistent", `checkpoint ${k} (size ${b.size}) does not grow from checkpoint ${k - 1} (size ${a.size})`, { checkpointIndex: k });
    if (b.timestamp < a.timestamp) run.notices.push(`checkpoint ${k} was anchored at an earlier block time than checkpoint ${k - 1}`);
  }
  run.latest = cps[cps.length - 1] ?? null;
}

/** The body of a signed note, without checking its signatures. */
function noteBody(note: string): string {
  const i = note.lastIndexOf("\n\n");
  return i < 0 ? note : note.slice(0, i + 1);
}

/** The published checkpoints (the given ones, then the source's), their signatures checked first. */
function checkSignatures(run: AuditRun): void {
  const { options, add } = run;
  const state = (cp: PublishedCheckpoint, fromSource: boolean): PublishedState => ({ cp, fromSource, size: null, root: null, signature: "not-checked", replayRoot: null, withChain: "not checked", witnesses: { seen: [], policy: null } });
  run.published = [...(options.published ?? []).map((cp) => state(cp, false)), ...run.source.published.map((cp) => state(cp, true))];
  for (const p of run.published) {
    if (options.verifiers.length > 0) {
      try {
        const c = verifyCheckpoint(p.cp.note, options.verifiers, options.origin);
        [p.signature, p.size, p.root] = ["valid", c.size, c.rootHash];
        continue;
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        p.signature = "invalid";
        add("checkpoint-signature", `the checkpoint from ${p.cp.label} does not verify with the trusted log key: ${e.code}: ${e.message}`);
      }
    }
    try {
      const c = parseCheckpoint(noteBody(p.cp.note));
      [p.size, p.root] = [c.size, c.rootHash];
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      if (p.signature === "not-checked") add("checkpoint-signature", `the checkpoint from ${p.cp.label} is malformed: ${e.code}: ${e.message}`);
    }
  }
  if (options.verifiers.length === 0 && run.published.length > 0) run.notices.push("no trusted log key was given (--log-key): checkpoint signatures were not checked");
}

/** Lists the cosignatures each published checkpoint carries (unverified). */
function listCosignatures(run: AuditRun): void {
  const logKeys = new Set(run.options.verifiers.map((v) => `${v.name}+${v.keyId}`));
  for (const p of run.published) {
    try {
      const sigs = splitSignedNote(p.cp.note).signatures.filter((sig) => !logKeys.has(`${sig.name}+${sig.keyId}`));
      p.witnesses = { seen: sigs.map((sig) => `${sig.name}+${sig.keyId.toString(16).padStart(8, "0")}`), policy: null };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e; // a malformed note is a checkpoint-signature finding already
    }
  }
  if (run.options.witnessPolicy === undefined && run.published.some((p) => p.witnesses.seen.length > 0))
    run.notices.push("no --witness-policy was given: the cosignatures listed were not verified");
}

/**
 * One pass over the source's entries, in log order: each leaf read and
 * hashed (./leaves.ts), the tree's root compared at every anchored size and
 * kept at every published one, the invariants replayed, anchoring timed.
 */
async function replayEntries(run: AuditRun) {
  const { options, source, add, findings, checkpoints, published, maxDelayMs, locateLimit } = run;
  const anchoredSize = run.latest?.size ?? 0;
  // The sizes at which the tree's root is wanted, and what wants it.
  const wanted = new Map<number, { chain: AnchoredCheckpoint[]; published: PublishedState[] }>();
  const want = (size: number) => wanted.get(size) ?? wanted.set(size, { chain: [], published: [] }).get(size)!;
  for (const c of checkpoints) want(c.size).chain.push(c);
  for (const p of published) if (p.size !== null) want(p.size).published.push(p);
  for (const p of wanted.get(0)?.published ?? []) p.replayRoot = EMPTY_ROOT;
  const tree = new TreeBuilder([...wanted.keys()].filter((s) => s > 0).sort((a, b) => a - b));

  const replay = new InvariantReplay();
  const byKind = Object.fromEntries(LEDGER_KINDS.map((k) => [k, 0])) as Record<LedgerKind, number>;
  let size = 0; // leaves read so far
  let expected = 0; // the next leaf index the source should give
  let [checked, matched, matchedSize] = [0, 0, 0]; // matchedSize: the largest anchored size whose root matched, with every earlier one too
  let matchedCompact: readonly Uint8Array[] = []; // the compact range at matchedSize (to rebuild prefix roots past it)
  let firstMismatch = null as AnchoredCheckpoint | null; // "as": it is set in handle(), which the compiler does not follow
  let cover = 0; // the first checkpoint with size > the current leaf
  let [unanchored, overdue, anchoredLate] = [0, 0, 0];
  let worstDelay = null as number | null;
  let lastRecordedMs = -Infinity;
  let clockNotices = 0;
  const nowMs = (options.now ?? Date.now)();
  // Leaves kept to locate damage: from the last matched checkpoint on, at most locateLimit, in columns
  // (no object per leaf: in a clean log every one is dropped at the next matching checkpoint).
  const kept = { index: new Float64Array(locateLimit), at: new Int32Array(locateLimit), hashes: [] as Uint8Array[], id: [] as string[], count: 0 };
  // A service grows while it is read: read what was published or anchored when the audit began.
  const until =
    options.until ??
    (source.kind === "service" && (checkpoints.length > 0 || published.some((p) => p.size !== null)) ? Math.max(anchoredSize, ...published.map((p) => p.size ?? 0)) : undefined);
  const total = until ?? source.declaredSize;

  // The entry being replayed, for the one violation reporter (no closure per entry).
  const current = { e: null as unknown as LedgerEntry, claimed: 0 };
  // Once leaves are missing, entries naming an entry the source lacks follow from the gap: one summary finding, after the gap's own.
  const afterGap = { from: -1, count: 0, first: "" };
  const violation = (rule: string, message: string): void => {
    const at = `${current.e.kind} ${current.e.id} at leaf ${current.claimed}: ${message}`;
    if (rule !== "reference-exists" || afterGap.from < 0) add(rule === "agency-scope" ? "agency-scope" : "invariant", at, { leafIndex: current.claimed, entryId: current.e.id, rule });
    else if (afterGap.count++ === 0) afterGap.first = at;
  };

  const handle = (batch: LeafBatch, read: BatchCheck): void => {
    const step = tree.add(batch.indices, read.hashes);
    for (const p of batch.check?.(read.hashes, read.faults) ?? []) {
      add(p.kind, p.message, p.leafIndex === undefined ? {} : { leafIndex: p.leafIndex });
      if (p.damagedFrom !== undefined) findings.badFrom(p.damagedFrom);
    }
    for (let i = 0; i < batch.length; i++) {
      const claimed = batch.indices[i]!;
      if (Number.isNaN(claimed)) {
        add("leaf-order", `record ${size + 1} of the source has no leaf index (not an [index,leaf] line or a malformed key); skipped`);
        findings.badFrom(expected);
        if (afterGap.from < 0) afterGap.from = expected;
        continue;
      }
      if (claimed !== expected) {
        if (claimed > expected) add("leaf-order", `${span(expected, claimed)} missing: the source goes from leaf ${expected - 1} to leaf ${claimed}`, { leafIndex: expected });
        if (claimed > expected && afterGap.from < 0) afterGap.from = expected;
        else add("leaf-order", `leaf ${claimed} comes again or out of order, after leaf ${expected - 1}`, { leafIndex: claimed });
        findings.badFrom(Math.min(claimed, expected));
      }
      expected = claimed + 1;
      const pos = ++size;

      let e: LedgerEntry | null = null;
      const fault = read.faults[i]!;
      if (fault !== null) add("leaf-encoding", `leaf ${claimed}: ${fault}`, { leafIndex: claimed });
      else {
        const res = entryOfLeaf(read.texts[i]!);
        if (res.malformed !== null) add("entry-malformed", `leaf ${claimed}: ${res.malformed}`, { leafIndex: claimed });
        e = res.entry;
      }
      if (e !== null) {
        byKind[e.kind]++;
        if (replay.hasEntry(e)) add("duplicate-id", `leaf ${claimed}: entry id ${e.id} was already used by an earlier leaf`, { leafIndex: claimed, entryId: e.id });
        else {
          current.e = e;
          current.claimed = claimed;
          replay.apply(e, violation);
        }
        if (e.recordedMs < lastRecordedMs && clockNotices++ < 5) run.notices.push(`leaf ${claimed} (${e.id}) was recorded at ${e.recordedAt}, before the leaf before it`);
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
      if (kept.count < locateLimit) {
        const k = kept.count++;
        kept.index[k] = claimed;
        kept.at[k] = i * HASH_SIZE;
        kept.hashes[k] = read.hashes;
        kept.id[k] = e?.id ?? "";
      }

      const at = step.sizes.indexOf(pos);
      if (at < 0) continue;
      const w = wanted.get(pos)!;
      const root = step.roots[at]!;
      for (const p of w.published) p.replayRoot = root;
      for (const c of w.chain) {
        checked++;
        if (!equalBytes(root, c.root)) {
          add("root-mismatch", `the first ${pos} entries give root ${rootHex(root)}, but checkpoint ${c.index} on the chain anchors ${rootHex(c.root)} for that size`, { checkpointIndex: c.index });
          firstMismatch ??= c;
        } else {
          matched++;
          if (firstMismatch === null) [matchedSize, matchedCompact, kept.count] = [pos, step.compacts[at]!, 0];
        }
      }
    }
  };

  // Batches are read ahead, up to `ahead` at a time (with workers, in parallel), and handled in log order.
  const workers = options.workers ?? 0;
  const readers = new LeafReaders(workers);
  const inFlight: { batch: LeafBatch; read: Promise<BatchCheck> }[] = [];
  const finish = async (): Promise<void> => {
    const { batch, read } = inFlight.shift()!;
    handle(batch, await read);
    await options.onBatch?.(batch);
    options.onProgress?.(size, total);
  };
  try {
    for await (const batch of source.leaves(until ?? Number.MAX_SAFE_INTEGER)) {
      const read = readers.read(batch);
      read.catch(() => {}); // awaited in order below; a failure surfaces there
      inFlight.push({ batch, read });
      if (inFlight.length >= 1 + 2 * workers) await finish();
    }
    while (inFlight.length > 0) await finish();
  } finally {
    await readers.close();
  }
  if (afterGap.count > 0) {
    const message = `${afterGap.count} entries after the leaves missing from leaf ${afterGap.from} name an entry the source does not hold, as the gap implies; the first: ${afterGap.first}`;
    add("invariant", message, { leafIndex: afterGap.from, rule: "reference-exists" });
  }
  const hash = (k: number) => kept.hashes[k]!.subarray(kept.at[k]!, kept.at[k]! + HASH_SIZE);
  return {
    count: tree.size,
    reach: Math.max(expected, tree.size),
    /** The source (an export, a published log) holds all it declares: it may simply be older than the chain or a signed checkpoint, which is not a loss. */
    complete: source.declaredSize !== undefined && tree.size >= source.declaredSize,
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
    clockNotices,
    /** The leaves kept from the last matching checkpoint on, to locate damage with: kept leaf k's index, id and hash. */
    kept: { from: matchedSize, compact: matchedCompact, count: kept.count, index: kept.index, id: kept.id, hash },
    tree,
  };
}

/** What the source lacks against the chain, or declares and does not hold. Returns the smallest anchored tree beyond its end, if any. */
function checkSourceEnd(run: AuditRun, r: Replayed): Target | null {
  const { source, add } = run;
  const { reach, count } = r;
  const anchoredSize = run.latest?.size ?? 0;
  // A trusted tree larger than the source proves entries were lost; the smallest such tree is where damage is located against.
  let behind: Target | null = null;
  const beyond = run.checkpoints.filter((c) => c.size > reach);
  if (beyond.length > 0 && r.complete)
    run.notices.push(`${beyond.length} anchored checkpoints (up to size ${anchoredSize}) are beyond the ${reach} entries of the export and were not checked`);
  else if (beyond.length > 0) {
    const first = beyond[0]!;
    add("source-behind-chain", `the chain anchors ${anchoredSize} entries, but the source ends at ${reach}: ${span(reach, anchoredSize)} missing (a deletion, or a database rolled back to an older copy)`, {
      leafIndex: reach,
      checkpointIndex: first.index,
    });
    behind = { label: `anchored checkpoint ${first.index}`, size: first.size, root: first.root };
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
async function checkPublished(run: AuditRun, r: Replayed, behind: Target | null): Promise<Target | null> {
  const { add, notices, latest } = run;
  const { reach, count, matchedSize } = r;
  for (const p of run.published) {
    if (p.size === null || p.root === null) continue;
    const label = `the checkpoint from ${p.cp.label} (size ${p.size})`;
    if (p.fromSource && p.size > reach) add("published-root-mismatch", `${label} claims ${p.size} entries, but the source gave only ${reach}`, { leafIndex: reach });
    else if (p.size > reach && p.signature === "valid") {
      // Chosen: a validly signed tree the source cannot reach is a loss, as an anchored one is, unless the
      // source is an export that holds all it declares (an older snapshot). Unsigned, it proves nothing.
      if (r.complete) notices.push(`${label} is beyond the ${reach} entries of the export (an older snapshot) and was not compared with it`);
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
      } else add("published-root-mismatch", `${label} has root ${rootHex(p.root)}, but the source's entries give ${rootHex(p.replayRoot)} at that size`);
    } else if (p.replayRoot !== null && latest !== null && matchedSize === latest.size && count >= p.size) p.withChain = "consistent (replay)";
    if (p.withChain === "not checked" && latest !== null && run.oracle !== undefined) await (await proofs()).provePublished(run, p, label);
    if (p.withChain === "not checked" && latest !== null) notices.push(`${label} could not be compared with the chain (no replay up to its size and no proof)`);
  }
  return behind;
}

/** Consecutive anchored checkpoints shown consistent: by the replay, or (past it) by a proof. */
/** Consecutive pairs shown consistent: by the replay (both roots matched) or by a proof. */
type Consecutive = { readonly byReplay: number; readonly byProof: number; readonly unconfirmed: number };

async function checkConsecutive(run: AuditRun, r: Replayed): Promise<Consecutive> {
  const cps = run.checkpoints;
  const byReplay = cps.slice(1).filter((b) => b.size <= r.matchedSize).length;
  const unproved = cps.slice(1).flatMap((b, k): [AnchoredCheckpoint, AnchoredCheckpoint][] => (b.size > r.matchedSize ? [[cps[k]!, b]] : []));
  const byProof = run.oracle !== undefined && unproved.length > 0 ? await (await proofs()).proveConsecutive(run, unproved) : 0;
  const unconfirmed = cps.length > 0 ? cps.length - 1 - byReplay - byProof : 0;
  if (unconfirmed > 0)
    run.notices.push(`${unconfirmed} pairs of consecutive anchored checkpoints could not be shown consistent here (the replay diverged before them and no proof verified); the contract refuses inconsistent ones itself`);
  return { byReplay, byProof, unconfirmed };
}

/** The audit's report (JSON with --json), in the format REPORT_FORMAT names, version REPORT_VERSION. */
export type AuditReport = ReturnType<typeof report>;

function report(run: AuditRun, r: Replayed, consecutive: Consecutive, firstBadRange: readonly [number, number] | null, startedMs: number) {
  const { options, findings, notices, checkpoints, latest, maxDelayMs } = run;
  if (r.clockNotices > 5) notices.push(`${r.clockNotices - 5} more leaves were recorded before the leaf before them (the first 5 are listed)`);
  if (r.anchoredLate > 0) notices.push(`${r.anchoredLate} entries were anchored later than the maximum delay of ${maxDelayMs / 1000} s (worst ${Math.round((r.worstDelay ?? 0) / 1000)} s)`);
  const total = findings.total();
  const chainLatest = latest === null ? null : { index: latest.index, size: latest.size, rootHex: rootHex(latest.root), anchoredAt: new Date(latest.timestamp * 1000).toISOString() };
  const { count, byKind, totals, checked, matched, unanchored, overdue, anchoredLate } = r;
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    ok: total === 0,
    startedAt: new Date(startedMs).toISOString(),
    durationMs: Date.now() - startedMs,
    source: { kind: run.source.kind, description: run.source.description, declaredSize: run.source.declaredSize ?? null },
    chain: options.chain === null ? null : { description: options.chain.description, chainId: run.chainId, checkpoints: checkpoints.length, latest: chainLatest },
    keys: { trusted: options.verifiers.map((v) => `${v.name}+${v.keyId.toString(16).padStart(8, "0")}`), source: options.keySource ?? (options.verifiers.length > 0 ? "given" : "none") },
    entries: { count, byKind },
    totals,
    // checked: compared with the rebuilt tree; beyondSource: beyond the entries the source holds, not checked.
    checkpoints: { onChain: checkpoints.length, checked, matched, beyondSource: checkpoints.filter((c) => c.size > r.reach).length, consecutive },
    published: run.published.map((p) => ({ label: p.cp.label, size: p.size, rootHex: p.root && rootHex(p.root), signature: p.signature, withChain: p.withChain, witnesses: p.witnesses })),
    // unanchored: not under any anchored checkpoint; overdue: of those, older than maxDelayMs; anchoredLate: first anchored later than that.
    anchoring: { maxDelayMs, unanchored, overdue, anchoredLate, worstDelayMs: r.worstDelay },
    // firstBadIndex: the smallest leaf found damaged, if one could be named; else firstBadRange, [begin, end), where damage starts.
    discrepancies: { total, byKind: findings.byKind(), firstBadIndex: findings.firstBadIndex, firstBadRange, listed: findings.listed, omitted: findings.omitted() },
    notices,
  } as const;
}
