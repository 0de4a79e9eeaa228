/**
 * Loads the demo plan into a store through the real ledger: every record is
 * parsed with its kind's strict request schema, as the admin API does, then
 * checked by the business rules and appended by the sequencer, one batch per
 * session, with the ledger's clock set to the session's instant.
 *
 * The demo only ever goes into a log that is empty or already begins with
 * the demo itself:
 * - empty: the whole plan is appended; the history is the six whole months
 *   before `now`.
 * - the demo, complete (more entries recorded afterwards are fine): nothing
 *   is appended.
 * - the demo, cut short (a crash or Ctrl-C between two batches): the rest is
 *   appended. Each session is one atomic commit, so the log always ends on a
 *   session boundary; the plan is regenerated from the month of the first
 *   entry, and ids of the entries already there are read back from the log.
 * - anything else: refused with a DemoError, nothing appended.
 */
import type { Clock } from "../clock";
import { BatchRecordRejected, Ledger, scopedIdempotencyKey, type AcceptedBatch } from "../ledger/ledger";
import { canonicalBytes, CodedError, decodeEntry, sha256, toHex } from "../log";
import type { Command } from "../records/rules";
import {
  AgencyRequest,
  DelegationRequest,
  ApplicationRequest,
  ConfirmationRequest,
  CorrectionRequest,
  DecisionRequest,
  PayoutRequest,
  ProgrammeRequest,
} from "../records/schemas";
import type { CommitBatch, LedgerStore } from "../store/store";
import { isDemoOfficial } from "./catalogue";
import { DEMO_SEED, demoStart, generateDemo, monthStartOf, type DemoPlan, type DemoSession, type PlannedCommand } from "./generate";

export type DemoErrorCode =
  /** The log holds entries that are not the demo's: demo data is never mixed with other records. */
  | "LOG_NOT_DEMO"
  /** The ledger refused a demo record: a bug in the generator or a rule it does not know about. */
  | "RECORD_REFUSED"
  /** A session was not appended where and when planned: another writer, or the ledger reads its clock differently. */
  | "LOAD_OUT_OF_STEP";

export class DemoError extends CodedError<DemoErrorCode> {
  override readonly name = "DemoError";
}

export interface LoadDemoOptions {
  readonly store: LedgerStore;
  /** The real current time, RFC 3339 UTC: the simulated history ends before it. */
  readonly now: string;
  /** Default {@link DEMO_SEED}. */
  readonly seed?: number;
  /** How many enterprises; the generator's default (300) if absent. */
  readonly enterprises?: number;
  /** Salts and ids; the ledger's CSPRNG pool by default. Tests pass a seeded one. */
  readonly randomBytes?: (n: number) => Uint8Array;
}

export interface DemoLoadResult {
  /** `loaded` into an empty log, `resumed` after an interrupted load, or `already-loaded` (nothing appended). */
  readonly status: "loaded" | "resumed" | "already-loaded";
  readonly plan: DemoPlan;
  /** The entry id of each planned record, by position in the plan (= leaf index). */
  readonly ids: readonly string[];
  readonly appended: number;
  /** The log's size afterwards. */
  readonly size: number;
}

/**
 * The ledger's clock while loading: hands out the instants of the sessions
 * queued, in order. The sequencer reads its clock once per submission, in
 * queue order, so each session is recorded at its own instant even when
 * several share one commit; the loader checks every entry's recordedAt
 * against the plan, so a change in how the ledger reads its clock fails the
 * load instead of skewing the history.
 */
class SessionClock implements Pick<Clock, "now"> {
  private readonly _queue: string[] = [];
  private _stopped: unknown = undefined;
  push(at: string): void {
    this._queue.push(at);
  }
  /** Makes every later read throw, so the sequencer refuses every submission still queued. */
  stop(cause: unknown): void {
    this._stopped ??= cause;
  }
  now(): number {
    if (this._stopped !== undefined) throw new DemoError("LOAD_OUT_OF_STEP", "the demo load stopped after a failed commit", { cause: this._stopped });
    const at = this._queue.shift();
    if (at === undefined) throw new DemoError("LOAD_OUT_OF_STEP", "the ledger read its clock more often than the demo queued sessions");
    return Date.parse(at);
  }
}

/** Most sessions queued in the ledger at once: enough for the sequencer to group them into few commits. */
const MAX_QUEUED_SESSIONS = 64;

const REF_FIELD = {
  agency: null,
  delegation: null,
  programme: null,
  application: "programmeId",
  decision: "applicationId",
  payout: "decisionId",
  confirmation: "payoutId",
  correction: "targetId",
} as const;

/** The reference a planned record makes, as a position in the plan, or null. */
function refOf(record: PlannedCommand): number | null {
  const field = REF_FIELD[record.kind];
  return field === null ? null : ((record.body as Record<string, unknown>)[field] as number);
}

/** The planned record as a request the admin API would accept: references resolved, then parsed by the strict schema. */
function toCommand(record: PlannedCommand, ids: readonly string[]): Command {
  const id = (n: number) => {
    const found = ids[n];
    if (found === undefined) throw new DemoError("RECORD_REFUSED", `a demo ${record.kind} refers to record ${n}, which has no id yet`);
    return found;
  };
  switch (record.kind) {
    case "agency":
      return { kind: "agency", body: AgencyRequest.parse(record.body) };
    case "delegation":
      return { kind: "delegation", body: DelegationRequest.parse(record.body) };
    case "programme":
      return { kind: "programme", body: ProgrammeRequest.parse(record.body) };
    case "application":
      return { kind: "application", body: ApplicationRequest.parse({ ...record.body, programmeId: id(record.body.programmeId) }) };
    case "decision":
      return { kind: "decision", body: DecisionRequest.parse({ ...record.body, applicationId: id(record.body.applicationId) }) };
    case "payout":
      return { kind: "payout", body: PayoutRequest.parse({ ...record.body, decisionId: id(record.body.decisionId) }) };
    case "confirmation":
      return { kind: "confirmation", body: ConfirmationRequest.parse({ ...record.body, payoutId: id(record.body.payoutId) }) };
    case "correction":
      return { kind: "correction", body: CorrectionRequest.parse({ ...record.body, targetId: id(record.body.targetId) }) };
  }
}

/** Idempotency keys of demo sessions are scoped to this, as a token's are to its id. */
const IDEMPOTENCY_SCOPE = "demo";

/** A session's records as commands, references resolved; DemoError if the plan made a request the API would refuse. */
function toCommands(n: number, session: DemoSession, ids: readonly string[]): Command[] {
  try {
    return session.records.map((r) => toCommand(r, ids));
  } catch (e) {
    if (e instanceof DemoError) throw e;
    throw new DemoError("RECORD_REFUSED", `demo session ${n} does not pass the request schemas: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * The store, except that a failed commit stops the clock before the ledger
 * hears of it. After a failed commit the sequencer reloads its head and goes
 * on with what is queued, which would append later sessions where earlier
 * ones belong; with the clock stopped it refuses them all, and the log ends
 * on the session boundary of the last durable commit, ready to be resumed.
 */
function stoppingOnFailure(store: LedgerStore, clock: SessionClock): LedgerStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === "commit")
        return async (batch: CommitBatch) => {
          try {
            await target.commit(batch);
          } catch (e) {
            clock.stop(e);
            throw e;
          }
        };
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Queues one session as one batch, recorded at the session's instant. */
function submit(ledger: Ledger, clock: SessionClock, plan: DemoPlan, n: number, commands: Command[]): Promise<AcceptedBatch> {
  const session = plan.sessions[n]!;
  clock.push(session.at);
  return ledger.submitBatch({
    commands,
    actor: session.actor,
    idempotencyKey: scopedIdempotencyKey(IDEMPOTENCY_SCOPE, `${plan.seed}/${plan.start}/${n}`),
    requestHash: toHex(sha256(canonicalBytes({ at: session.at, actor: session.actor, records: session.records }))),
  });
}

/**
 * Why the stored leaf is not the planned record, or null if it is: same kind,
 * actor, instant and reference (and programme code). Ids are random, so a
 * match on these is what "this log is the demo" can mean.
 */
function mismatch(bytes: Uint8Array, session: DemoSession, record: PlannedCommand, ids: readonly string[]): string | null {
  let entry;
  try {
    entry = decodeEntry(bytes);
  } catch (e) {
    return `it does not decode (${e instanceof Error ? e.message : String(e)})`;
  }
  const actor = entry["actor"] as { official?: unknown; agency?: unknown; role?: unknown } | null;
  const refs = entry["refs"];
  const ref = refOf(record);
  if (entry["kind"] !== record.kind) return `it is a ${String(entry["kind"])}, the demo has a ${record.kind}`;
  if (entry["recordedAt"] !== session.at) return `it was recorded at ${String(entry["recordedAt"])}, the demo's at ${session.at}`;
  if (typeof actor !== "object" || actor === null || actor.official !== session.actor.official || actor.agency !== session.actor.agency || actor.role !== session.actor.role)
    return `its actor is not the demo's ${session.actor.official}`;
  // Agency and delegation entries refer to the agencies they name (by their entries' ids): their codes say the same.
  const body = entry["body"] as Record<string, unknown> | null;
  if (record.kind === "agency") return body?.["code"] === record.body.code ? null : `its agency code is not ${record.body.code}`;
  if (record.kind === "delegation") return body?.["from"] === record.body.from && body["to"] === record.body.to ? null : `it is not the delegation from ${record.body.from} to ${record.body.to}`;
  const expectedRefs = ref === null ? [] : [ids[ref]];
  if (!Array.isArray(refs) || refs.length !== expectedRefs.length || refs.some((r, i) => r !== expectedRefs[i])) return "it refers to other entries than the demo's";
  if (record.kind === "programme" && (entry["body"] as { code?: unknown } | null)?.code !== record.body.code) return `its programme code is not ${record.body.code}`;
  return null;
}

/** Whether leaf data was recorded by one of the demo's officials. */
function madeByDemo(bytes: Uint8Array): boolean {
  try {
    return isDemoOfficial((decodeEntry(bytes)["actor"] as { official?: unknown } | null)?.official);
  } catch {
    return false;
  }
}

/**
 * Loads the demo into `store`, or finishes an interrupted load, or does
 * nothing if it is there already; see the module comment. Throws DemoError
 * LOG_NOT_DEMO, appending nothing, if the log holds anything else.
 * Requires that nothing else writes to the store meanwhile.
 */
export async function loadDemo(options: LoadDemoOptions): Promise<DemoLoadResult> {
  const { store } = options;
  const seed = options.seed ?? DEMO_SEED;
  const head = await store.head();
  const firstLeaf = head.size > 0 ? await store.leaf(0) : undefined;
  const start = firstLeaf === undefined ? demoStart(options.now) : monthStartOf(firstLeaf.recordedAt);
  const plan = generateDemo({ seed, start, ...(options.enterprises !== undefined ? { enterprises: options.enterprises } : {}) });
  const records = plan.sessions.flatMap((s) => s.records.map((record) => ({ session: s, record })));

  // What is there already must be the demo, up to a session boundary.
  const ids: string[] = [];
  const present = Math.min(head.size, plan.recordCount);
  const olderDemo = firstLeaf !== undefined && madeByDemo(firstLeaf.bytes);
  const notDemo = (why: string) =>
    new DemoError(
      "LOG_NOT_DEMO",
      `the log already holds ${head.size} entries and they are not this demo (seed ${seed}): ${why}. ` +
        (olderDemo
          ? "They look like demo data from another seed or version of the demo generator: remove the data directory to load the current demo"
          : "Demo data goes only into an empty data directory"),
    );
  const leaves = await store.leaves(0, present);
  for (const [i, leaf] of leaves.entries()) {
    const { session, record } = records[i]!;
    const why = mismatch(leaf.bytes, session, record, ids);
    if (why !== null) throw notDemo(`entry ${i} differs from the demo's record ${i}: ${why}`);
    ids.push(leaf.id);
  }
  if (ids.length !== present) throw notDemo(`only ${ids.length} of its first ${present} entries could be read`);
  if (present < plan.recordCount && !plan.sessions.some((s) => s.first === present))
    throw notDemo(`it ends inside one of the demo's batches, at entry ${present}`);
  if (present === plan.recordCount) return { status: "already-loaded", plan, ids, appended: 0, size: head.size };
  if (plan.end > options.now) throw new RangeError(`the demo history ends at ${plan.end}, after now (${options.now})`);

  const clock = new SessionClock();
  const ledger = await Ledger.open({ store: stoppingOnFailure(store, clock), clock, ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}) });
  const queued: { n: number; session: DemoSession; accepted: Promise<AcceptedBatch> }[] = [];
  try {
    let next = plan.sessions.findIndex((s) => s.first === present);
    while (next < plan.sessions.length || queued.length > 0) {
      // Queue every session whose references are known, up to the limit.
      while (next < plan.sessions.length && queued.length < MAX_QUEUED_SESSIONS) {
        const session = plan.sessions[next]!;
        const waiting = session.records.some((r) => {
          const ref = refOf(r);
          return ref !== null && ids[ref] === undefined;
        });
        if (waiting) break;
        queued.push({ n: next, session, accepted: submit(ledger, clock, plan, next, toCommands(next, session, ids)) });
        next++;
      }
      const item = queued.shift();
      if (item === undefined) throw new DemoError("LOAD_OUT_OF_STEP", `demo session ${next} refers to records that were never appended`);
      const { n, session } = item;
      let accepted: AcceptedBatch;
      try {
        accepted = await item.accepted;
      } catch (e) {
        if (!(e instanceof BatchRecordRejected)) throw e;
        const record = session.first + e.index;
        throw new DemoError("RECORD_REFUSED", `the ledger refused demo record ${record} (a ${session.records[e.index]?.kind}): ${e.message}`, { cause: e });
      }
      const { results } = accepted.body;
      const wrong = results.findIndex((r, i) => r.leafIndex !== session.first + i || r.entry.recordedAt !== session.at);
      if (accepted.replayed || results.length !== session.records.length || wrong >= 0)
        throw new DemoError(
          "LOAD_OUT_OF_STEP",
          `demo session ${n} was not appended as planned (at leaf ${session.first}, recorded ${session.at}): another writer is using this store, or the ledger reads its clock differently`,
        );
      ids.push(...results.map((r) => r.id));
    }
  } catch (e) {
    // Refuse whatever is still queued, so nothing lands out of plan order, and
    // do not leave those sessions' rejections unhandled.
    clock.stop(e);
    for (const q of queued) q.accepted.catch(() => {});
    throw e;
  } finally {
    await ledger.close();
  }
  return { status: present === 0 ? "loaded" : "resumed", plan, ids, appended: plan.recordCount - present, size: ledger.size };
}
