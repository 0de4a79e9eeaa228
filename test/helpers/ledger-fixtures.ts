/**
 * A test world for the sequencer and the business rules, below the HTTP
 * layer: a real Ledger over the memory store, a settable clock, seeded
 * randomness, named officials, valid request factories, and a `submit` that
 * parses each body with the kind's request schema first, exactly as the
 * admin routes do, so a test can never hand the rules something the API
 * would have refused at the door.
 */
import { expect } from "chai";
import type { z } from "zod";
import { ENTRY_PATHS, requestHash } from "../../service/http/admin";
import type { Clock } from "../../service/clock";
import { IdempotencyConflict, Ledger, scopedIdempotencyKey, type Accepted } from "../../service/ledger/ledger";
import { sha256, toHex } from "../../service/log";
import type { Actor } from "../../service/records/entry";
import { creditCodeCheckChar } from "../../service/records/identifiers";
import { RuleViolation, type Command, type RuleName, type ViolationKind } from "../../service/records/rules";
import { REQUEST_SCHEMAS, type EntryKind, type RecordKind } from "../../service/records/schemas";
import type { EntryState } from "../../service/records/state";
import { MemoryStore } from "../../service/store/memory";
import { StoreUnavailableError, type CommitBatch } from "../../service/store/store";

// ---------------------------------------------------------------- clock

/** Where every test world starts: 2026-03-10 10:00 in China Standard Time. */
export const START = "2026-03-10T02:00:00.000Z";

/** A clock the test sets. Never global: each world has its own. */
export class FakeClock implements Pick<Clock, "now"> {
  private _t: number;
  constructor(start: string = START) {
    this._t = FakeClock.parse(start);
  }
  now(): number {
    return this._t;
  }
  /** Sets the time to an RFC 3339 UTC instant ("…Z"). */
  set(instant: string): void {
    this._t = FakeClock.parse(instant);
  }
  advance(ms: number): void {
    this._t += ms;
  }
  private static parse(instant: string): number {
    const t = Date.parse(instant);
    if (!instant.endsWith("Z") || Number.isNaN(t)) throw new Error(`FakeClock takes an RFC 3339 UTC instant, got ${JSON.stringify(instant)}`);
    return t;
  }
}

// ---------------------------------------------------------------- randomness

/**
 * Deterministic `randomBytes`: block k of the stream is SHA-256("seed:k").
 * Entry ids and commitment salts are reproducible from the seed, and still
 * distinct from one another.
 */
export function seededRandomBytes(seed = 1): (n: number) => Uint8Array {
  const utf8 = new TextEncoder();
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; filled += 32) {
      counter += 1;
      const block = sha256(utf8.encode(`${seed}:${counter}`));
      out.set(block.subarray(0, Math.min(32, n - filled)), filled);
    }
    return out;
  };
}

// ---------------------------------------------------------------- officials

const IND = "市工业和信息化局";
const FIN = "市财政局";

/**
 * Officials by letter. The last two are real officials holding a second
 * token in another role, to exercise the separation-of-duty rules, which
 * compare officials, not tokens.
 */
export const ACTORS = {
  clerkA: { official: "clerk.a.li", agency: IND, role: "clerk" },
  clerkB: { official: "clerk.b.wu", agency: IND, role: "clerk" },
  approverC: { official: "approver.c.zhao", agency: IND, role: "approver" },
  approverD: { official: "approver.d.qian", agency: IND, role: "approver" },
  payerE: { official: "payer.e.sun", agency: FIN, role: "payer" },
  payerF: { official: "payer.f.zhou", agency: FIN, role: "payer" },
  admin: { official: "admin.wang", agency: FIN, role: "admin" },
  /** Clerk A with an approver token. */
  approverA: { official: "clerk.a.li", agency: IND, role: "approver" },
  /** Payer E with an approver token. */
  approverE: { official: "payer.e.sun", agency: FIN, role: "approver" },
} as const satisfies Record<string, Actor>;

// ---------------------------------------------------------------- identifiers

/** A valid unified social credit code numbered `n` (check character computed by the identifiers module). */
export function creditCode(n: number): string {
  const first17 = `91110101${String(n).padStart(9, "0")}`;
  return first17 + creditCodeCheckChar(first17);
}

/** One county-level division of each region type (NBS 2023 table). */
export const REGIONS = {
  /** 北京市东城区 */
  urban: "110101",
  /** 河北省正定县 */
  rural: "130123",
  /** 河北省辛集市 */
  countyCity: "130181",
} as const;

// ---------------------------------------------------------------- request factories

type Body = Record<string, unknown>;

let programmeCounter = 0;

/** A valid programme, open all of 2026, budget 1 000 000 yuan, four-eyes from 50 000 yuan. Each call has a fresh code. */
export function programmeRequest(overrides: Body = {}): Body {
  programmeCounter += 1;
  return {
    code: `SME-DIGI-2026-${programmeCounter}`,
    name: "中小企业数字化转型补贴",
    agency: IND,
    budgetFen: "100000000",
    currency: "CNY",
    policyDocument: { sha256: "ab".repeat(32), url: "https://www.gov.cn/zhengce/content/2026-01/05/content_0000001.htm" },
    opensOn: "2026-01-01",
    closesOn: "2026-12-31",
    fourEyesThresholdFen: "5000000",
    ...overrides,
  };
}

export const APPLICATION_PRIVATE = {
  contactPerson: "联系人甲",
  phone: "+86 138 0013 8000",
  bankAccount: "6222020200112233",
} as const;

/** A valid application for 30 000 yuan from an urban district. */
export function applicationRequest(programmeId: string, overrides: Body = {}): Body {
  return {
    programmeId,
    creditCode: creditCode(1),
    enterpriseName: "北京示例科技有限公司",
    region: REGIONS.urban,
    requestedFen: "3000000",
    private: { ...APPLICATION_PRIVATE },
    ...overrides,
  };
}

/** Approves 30 000 yuan unless overridden. */
export function decisionRequest(applicationId: string, overrides: Body = {}): Body {
  return { applicationId, outcome: "approved", approvedFen: "3000000", reason: "符合申报条件", ...overrides };
}

export const PAYOUT_REF = "ICBC-TXN-20260309-000417";

/** Pays 10 000 yuan on the day before the default clock's date (CST). */
export function payoutRequest(decisionId: string, overrides: Body = {}): Body {
  return { decisionId, amountFen: "1000000", paidOn: "2026-03-09", private: { bankTransactionRef: PAYOUT_REF }, ...overrides };
}

export function confirmationRequest(payoutId: string): Body {
  return { payoutId };
}

export function correctionRequest(targetId: string, reasonCode: string, overrides: Body = {}): Body {
  return { targetId, reasonCode, reasonText: "经复核更正", ...overrides };
}

// ---------------------------------------------------------------- submitting

/** The request body does not pass the kind's schema; the HTTP layer would have answered 400. */
export class InvalidRequestBody extends Error {
  override readonly name = "InvalidRequestBody";
}

function parseBody<S extends z.ZodType>(schema: S, kind: EntryKind, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new InvalidRequestBody(`${kind} body is invalid: ${JSON.stringify(parsed.error.issues)}`);
  return parsed.data;
}

/** Parses `body` with REQUEST_SCHEMAS[kind] and builds the typed command, as the admin route does. */
export function commandOf(kind: RecordKind, body: unknown): Command {
  switch (kind) {
    case "programme":
      return { kind, body: parseBody(REQUEST_SCHEMAS.programme, kind, body) };
    case "application":
      return { kind, body: parseBody(REQUEST_SCHEMAS.application, kind, body) };
    case "decision":
      return { kind, body: parseBody(REQUEST_SCHEMAS.decision, kind, body) };
    case "payout":
      return { kind, body: parseBody(REQUEST_SCHEMAS.payout, kind, body) };
    case "confirmation":
      return { kind, body: parseBody(REQUEST_SCHEMAS.confirmation, kind, body) };
    case "correction":
      return { kind, body: parseBody(REQUEST_SCHEMAS.correction, kind, body) };
    case "agency":
      return { kind, body: parseBody(REQUEST_SCHEMAS.agency, kind, body) };
    case "delegation":
      return { kind, body: parseBody(REQUEST_SCHEMAS.delegation, kind, body) };
  }
}

let keyCounter = 0;

/** A fresh Idempotency-Key. */
export function newKey(): string {
  keyCounter += 1;
  return `fixture-key-${keyCounter}`;
}

/**
 * Submits one request as the HTTP layer does: the body parsed by its schema,
 * the key scoped to the caller (here the official's name stands in for the
 * token id), the request hash over method, path and canonical parsed body.
 * Rejects with InvalidRequestBody (before reaching the ledger) for a body the
 * schema refuses.
 */
export async function submit(ledger: Ledger, actor: Actor, kind: RecordKind, body: unknown, key: string = newKey()): Promise<Accepted> {
  const command = commandOf(kind, body);
  return ledger.submit({
    command,
    actor,
    idempotencyKey: scopedIdempotencyKey(actor.official, key),
    requestHash: requestHash("POST", ENTRY_PATHS[kind], command.body),
  });
}

// ---------------------------------------------------------------- store

/**
 * The memory store with two test hooks on top of its fault hooks: it records
 * how many leaves each stored commit carried, and it can hold the next
 * commit's acknowledgement (after persisting, before resolving), so a test
 * can queue requests that are then certain to share one later batch.
 */
export class TestStore extends MemoryStore {
  /** Leaves per stored commit, in commit order. */
  readonly batchSizes: number[] = [];
  private _hold: Promise<void> | null = null;

  /** Holds the next commit after it is stored; call the returned function to let it resolve. */
  holdNextCommit(): () => void {
    let release!: () => void;
    this._hold = new Promise<void>((r) => (release = r));
    return release;
  }

  private _gate: Promise<void> | null = null;

  /**
   * Holds the next commit before anything is stored; `release` lets it
   * store and resolve, `fail` rejects it with StoreUnavailableError and
   * stores nothing. For tests of batches checked while one is in flight.
   */
  holdNextCommitBeforeStoring(): { release: () => void; fail: () => void } {
    let release!: () => void;
    let fail!: () => void;
    this._gate = new Promise<void>((resolve, reject) => {
      release = resolve;
      fail = () => reject(new StoreUnavailableError("held commit failed"));
    });
    return { release, fail };
  }

  override async commit(batch: CommitBatch): Promise<void> {
    const gate = this._gate;
    this._gate = null;
    if (gate !== null) await gate;
    const hold = this._hold;
    this._hold = null;
    const commitsBefore = this.commits;
    try {
      await super.commit(batch);
    } finally {
      if (this.commits > commitsBefore) this.batchSizes.push(batch.leaves.length);
    }
    if (hold !== null) await hold;
  }
}

// ---------------------------------------------------------------- the world

export interface HarnessOptions {
  readonly store?: TestStore;
  readonly clock?: FakeClock;
  readonly seed?: number;
  readonly maxBatch?: number;
  readonly maxBatchRecords?: number;
  readonly maxInFlight?: number;
}

export class Harness {
  private constructor(
    readonly store: TestStore,
    readonly ledger: Ledger,
    readonly clock: FakeClock,
  ) {}

  static async open(options: HarnessOptions = {}): Promise<Harness> {
    const store = options.store ?? new TestStore();
    const clock = options.clock ?? new FakeClock();
    const ledger = await Ledger.open({
      store,
      clock,
      randomBytes: seededRandomBytes(options.seed ?? 1),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
      ...(options.maxBatchRecords !== undefined ? { maxBatchRecords: options.maxBatchRecords } : {}),
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
    });
    return new Harness(store, ledger, clock);
  }

  submit(actor: Actor, kind: RecordKind, body: unknown, key?: string): Promise<Accepted> {
    return submit(this.ledger, actor, kind, body, key);
  }

  /** Submits and returns the new entry's id; fails the test unless it was accepted fresh. */
  async record(actor: Actor, kind: RecordKind, body: unknown): Promise<string> {
    const a = await this.submit(actor, kind, body);
    expect(a.status).to.equal(201);
    expect(a.replayed).to.equal(false);
    expect(a.body.kind).to.equal(kind);
    return a.body.id;
  }

  /** The derived state of an entry, checked to be of `kind`. */
  async state<K extends EntryState["kind"]>(id: string, kind: K): Promise<Extract<EntryState, { kind: K }>> {
    const doc = await this.store.state(`e:${id}`);
    if (doc === undefined) expect.fail(`no state for ${id}`);
    expect(doc.kind, `state of ${id}`).to.equal(kind);
    return doc as Extract<EntryState, { kind: K }>;
  }

  /** What must not change when a request is refused. */
  async snapshot(): Promise<{ size: number; commits: number; root: string; storedSize: number }> {
    return { size: this.ledger.size, commits: this.store.commits, root: toHex(this.ledger.root()), storedSize: (await this.store.head()).size };
  }

  /**
   * Submits a request that a business rule must refuse: asserts the
   * RuleViolation's rule and kind, and that nothing was appended (ledger
   * size, root, store commits and stored head all unchanged).
   */
  async refuses(actor: Actor, kind: RecordKind, body: unknown, rule: RuleName, violation: ViolationKind): Promise<RuleViolation> {
    const before = await this.snapshot();
    const e = await rejection(this.submit(actor, kind, body));
    expect(e, String(e)).to.be.instanceOf(RuleViolation);
    const v = e as RuleViolation;
    expect({ rule: v.rule, kind: v.kind }, v.message).to.deep.equal({ rule, kind: violation });
    expect(await this.snapshot(), "nothing appended").to.deep.equal(before);
    return v;
  }

  // -------- scenario builders

  async programme(overrides: Body = {}): Promise<string> {
    return this.record(ACTORS.admin, "programme", programmeRequest(overrides));
  }

  async application(programmeId: string, overrides: Body = {}, actor: Actor = ACTORS.clerkA): Promise<string> {
    return this.record(actor, "application", applicationRequest(programmeId, overrides));
  }

  async decision(applicationId: string, overrides: Body = {}, actor: Actor = ACTORS.approverC): Promise<string> {
    return this.record(actor, "decision", decisionRequest(applicationId, overrides));
  }

  async payout(decisionId: string, overrides: Body = {}, actor: Actor = ACTORS.payerE): Promise<string> {
    return this.record(actor, "payout", payoutRequest(decisionId, overrides));
  }

  async confirmation(payoutId: string, actor: Actor = ACTORS.approverD): Promise<string> {
    return this.record(actor, "confirmation", confirmationRequest(payoutId));
  }

  async correction(targetId: string, reasonCode: string, overrides: Body = {}, actor: Actor = ACTORS.approverD): Promise<string> {
    return this.record(actor, "correction", correctionRequest(targetId, reasonCode, overrides));
  }

  /** programme → application (clerk A) → approved decision (approver C). */
  async approved(
    opts: { programme?: Body; application?: Body; decision?: Body } = {},
  ): Promise<{ programmeId: string; applicationId: string; decisionId: string }> {
    const programmeId = await this.programme(opts.programme);
    const applicationId = await this.application(programmeId, opts.application);
    const decisionId = await this.decision(applicationId, opts.decision);
    return { programmeId, applicationId, decisionId };
  }
}

/** Awaits a promise that must reject, and returns the reason; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    const value = await p;
    return expect.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof Error && e.name === "AssertionError") throw e;
    return e;
  }
}

/** Asserts an IdempotencyConflict rejection. */
export async function expectIdempotencyConflict(p: Promise<unknown>): Promise<void> {
  const e = await rejection(p);
  expect(e, String(e)).to.be.instanceOf(IdempotencyConflict);
}
