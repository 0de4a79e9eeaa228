/**
 * Business rules: turns a parsed, authenticated request into a log entry and
 * the state changes it causes, or a {@link RuleViolation}. Nothing is written
 * here; the sequencer appends the result atomically, or nothing at all.
 *
 * Calendar dates (programme open/close, payout date) are dates in China
 * Standard Time (UTC+8, no daylight saving), the jurisdiction's civil
 * calendar; a request recorded at 2026-11-30T17:00:00Z falls on 2026-12-01.
 */
import type { JsonValue } from "../log";
import { payoutNeedsConfirmation, withinEnterpriseCap } from "../format/accountability";
import { cstDate } from "../format/calendar";
import { AGENCY_CODE, CORRECTABLE } from "../format/entry";
import { officialId, sameOfficial } from "../format/officials";
import { governmentDivision, IdentifierError, regionType } from "./identifiers";
import { commitPrivate, LEDGER_ENTRY_VERSION, type Actor, type LedgerEntry, type Openings } from "./entry";
import type {
  AgencyRequest,
  ApplicationRequest,
  ConfirmationRequest,
  CorrectionRequest,
  DecisionRequest,
  DelegationRequest,
  EntryKind,
  ErasureCommand,
  PayoutRequest,
  ProgrammeRequest,
} from "./schemas";
import type { AgencyState, ApplicationState, DecisionState, EntryState, ProgrammeState, RegionTally, StateDoc, StateKey, StateReader } from "./state";

/** The names of the business rules, as reported in problem+json `rule`. */
export type RuleName =
  | "programme-code-unique"
  | "programme-dates-ordered"
  | "programme-budget-positive"
  | "reference-exists"
  | "reference-kind"
  | "programme-open"
  | "amount-positive"
  | "application-pending"
  | "decider-not-recorder"
  | "approved-within-requested"
  | "rejection-approves-nothing"
  | "budget-not-exceeded"
  | "enterprise-cap-not-exceeded"
  | "decision-approved"
  | "payout-within-approved"
  | "payout-date-not-future"
  | "payout-needs-confirmation"
  | "confirmer-not-recorder"
  | "clawback-within-paid"
  | "correction-fields"
  | "revocation-allowed"
  | "entry-revoked"
  | "erasure-target-private"
  | "erasure-once"
  | "agency-code-valid"
  | "agency-code-unique"
  | "agency-parent"
  | "agency-exists"
  | "agency-deployment-admin"
  | "agency-scope"
  | "delegation-changes";

/**
 * Why a rule refused a request, in the core's terms; the HTTP layer maps each
 * kind to a status code (service/http/problem.ts).
 * - `conflict`: the ledger's current state conflicts (the request may succeed later, or did once already).
 * - `invalid`: the request can never be valid as sent.
 * - `forbidden`: the actor may not do this, whatever the state.
 */
export type ViolationKind = "conflict" | "invalid" | "forbidden";

/** A business rule refused the request. Nothing was appended. */
export class RuleViolation extends Error {
  override readonly name = "RuleViolation";
  constructor(
    readonly rule: RuleName,
    readonly kind: ViolationKind,
    message: string,
  ) {
    super(message);
  }
}

export type Command =
  | { kind: "programme"; body: ProgrammeRequest }
  | { kind: "application"; body: ApplicationRequest }
  | { kind: "decision"; body: DecisionRequest }
  | { kind: "payout"; body: PayoutRequest }
  | { kind: "confirmation"; body: ConfirmationRequest }
  | { kind: "correction"; body: CorrectionRequest }
  | { kind: "erasure"; body: ErasureCommand }
  | { kind: "agency"; body: AgencyRequest }
  | { kind: "delegation"; body: DelegationRequest };

/** A secondary index entry: (name, value) → this entry, in log order. */
export interface IndexRef {
  readonly name: "enterprise" | "programme" | "kind";
  readonly value: string;
}

export interface Applied {
  readonly entry: LedgerEntry;
  readonly openings: Openings | null;
  readonly writes: ReadonlyMap<StateKey, StateDoc>;
  readonly indexes: readonly IndexRef[];
  /** Entries whose private values and salts the same store batch deletes (see {@link erasure}). */
  readonly erases?: readonly string[];
}

export interface RuleContext {
  readonly state: StateReader;
  readonly actor: Actor;
  /** RFC 3339 UTC. */
  readonly now: string;
  readonly newId: (kind: EntryKind) => string;
  readonly randomBytes: (n: number) => Uint8Array;
}

/** The civil date in China Standard Time (service/format/calendar.ts) of an RFC 3339 UTC instant. */
export function cstDateOf(instant: string): string {
  return cstDate(Date.parse(instant));
}

// Amounts reaching these helpers are canonical fen strings: request amounts
// were validated by the schemas, stored ones were written by these helpers.
// Sums may exceed the request maximum (approved + requested near the budget
// cap) and are only compared, never stored past the budget.
const add = (a: string, b: string) => (BigInt(a) + BigInt(b)).toString();
const sub = (a: string, b: string) => {
  const r = BigInt(a) - BigInt(b);
  if (r < 0n) throw new LedgerStateError(`amount ${a} − ${b} would be negative`);
  return r.toString();
};
const gt = (a: string, b: string) => BigInt(a) > BigInt(b);

/** Derived state contradicts itself: a bug, never the caller's fault. */
export class LedgerStateError extends Error {
  override readonly name = "LedgerStateError";
}

function violation(rule: RuleName, kind: ViolationKind, message: string): never {
  throw new RuleViolation(rule, kind, message);
}

/** Collects state changes; reads see earlier writes of the same command. */
class Tx {
  readonly writes = new Map<StateKey, StateDoc>();
  constructor(private readonly reader: StateReader) {}

  async get(key: StateKey): Promise<StateDoc | undefined> {
    return this.writes.get(key) ?? (await this.reader.get(key));
  }

  put(key: StateKey, doc: StateDoc): void {
    this.writes.set(key, doc);
  }

  /** A copy of the referenced entry's state, checked to be of the expected kind. */
  async entry<K extends EntryState["kind"]>(id: string, kind: K, field: string): Promise<Extract<EntryState, { kind: K }>> {
    const doc = await this.get(`e:${id}`);
    if (doc === undefined || doc.kind === "code" || doc.kind === "enterprise-total") violation("reference-exists", "invalid", `${field}: no entry ${id}`);
    if (doc.kind !== kind) violation("reference-kind", "invalid", `${field}: entry ${id} is a ${doc.kind}, not a ${kind}`);
    // A private copy: the caller mutates it, and the original may be shared
    // with other requests of the batch. State docs are plain JSON.
    return JSON.parse(JSON.stringify(doc)) as Extract<EntryState, { kind: K }>;
  }

  save(doc: EntryState): void {
    this.put(`e:${doc.id}`, doc);
  }

  /** What the enterprise has approved in the programme so far. */
  async enterpriseApproved(programmeId: string, creditCode: string): Promise<string> {
    const doc = await this.get(`ent:${programmeId}:${creditCode}`);
    return doc?.kind === "enterprise-total" ? doc.approvedFen : "0";
  }

  /** The registered agency with this code, or undefined (not registered, or free text from before agencies). */
  async agency(code: string): Promise<AgencyState | undefined> {
    const ref = await this.get(`agency:${code}`);
    if (ref?.kind !== "code") return undefined;
    const doc = await this.get(`e:${ref.id}`);
    return doc?.kind === "agency" ? doc : undefined;
  }

  /** Whether agency `from` has delegated to agency `to` and not withdrawn it. */
  async delegated(from: string, to: string): Promise<boolean> {
    const doc = await this.get(`dlg:${from}:${to}`);
    return doc?.kind === "delegation" && doc.granted;
  }

  setEnterpriseApproved(programmeId: string, creditCode: string, approvedFen: string): void {
    this.put(`ent:${programmeId}:${creditCode}`, { kind: "enterprise-total", approvedFen });
  }
}

function entryOf(ctx: RuleContext, kind: EntryKind, id: string, refs: string[], body: LedgerEntry["body"], commitments?: Record<string, string>): LedgerEntry {
  return {
    v: LEDGER_ENTRY_VERSION,
    id,
    kind,
    recordedAt: ctx.now,
    // The canonical id, whatever form the caller passed: entries compare officials by it.
    actor: { official: officialId(ctx.actor.official), ...(ctx.actor.name !== undefined ? { name: ctx.actor.name } : {}), agency: ctx.actor.agency, role: ctx.actor.role },
    refs,
    body,
    ...(commitments ? { commitments } : {}),
  };
}

/** The result of a command: its entry, and the secondary indexes it is filed under (enterprise, programme). */
function filed(tx: Tx, entry: LedgerEntry, openings: Openings | null, enterprise: string | null, programme: string | null): Applied {
  const indexes: IndexRef[] = [];
  if (enterprise !== null) indexes.push({ name: "enterprise", value: enterprise });
  if (programme !== null) indexes.push({ name: "programme", value: programme });
  return { entry, openings, writes: tx.writes, indexes };
}

/** The tallies an application in `region` counts in: its region type's and, where the programme keeps them, its county's. */
function talliesOf(prg: ProgrammeState, region: string): RegionTally[] {
  const out = [prg.byRegion[regionType(region)]];
  if (prg.byCounty !== undefined) out.push((prg.byCounty[region] ??= { applications: 0, approvedFen: "0", paidFen: "0" }));
  return out;
}

function live<T extends { revoked: boolean; id: string; kind: string }>(doc: T, field: string): T {
  if (doc.revoked) violation("entry-revoked", "conflict", `${field}: ${doc.kind} ${doc.id} has been revoked`);
  return doc;
}

/**
 * Whether the actor is the deployment-wide admin: an admin token whose agency
 * is not a registered agency. Before any agency is registered every admin is
 * one, which is how a single-agency deployment keeps working unchanged; an
 * admin of a registered agency is that agency's admin only.
 */
async function deploymentAdmin(tx: Tx, actor: Actor): Promise<boolean> {
  return actor.role === "admin" && (await tx.agency(actor.agency)) === undefined;
}

/**
 * The recording rule: an official records into a programme only if the
 * programme's agency is its own, or has delegated to its agency. The
 * deployment-wide admin may act in every agency. A programme whose agency is
 * free text from before agencies existed (no registered agency has that code)
 * is not separated, as before; only officials of unregistered agencies record
 * into it until a correction moves it into a registered agency.
 */
async function inScope(tx: Tx, actor: Actor, programmeAgency: string, what: string): Promise<void> {
  if (await deploymentAdmin(tx, actor)) return;
  const owner = await tx.agency(programmeAgency);
  const own = await tx.agency(actor.agency);
  if (owner === undefined) {
    if (own === undefined) return;
    violation("agency-scope", "forbidden", `${what} belongs to ${JSON.stringify(programmeAgency)}, not a registered agency; an official of ${actor.agency} records only into its own agency's programmes`);
  }
  if (owner.code === actor.agency || (await tx.delegated(owner.code, actor.agency))) return;
  violation("agency-scope", "forbidden", `${what} belongs to agency ${owner.code}, which has not delegated to ${actor.agency}`);
}

/**
 * Who may give a programme to `agency` (at creation or by correction): a code
 * must be a registered agency, and only its own officials or the deployment
 * admin may give it; free text is left to officials of unregistered agencies,
 * as before agencies existed.
 */
async function mayAssign(tx: Tx, actor: Actor, agency: string): Promise<void> {
  const target = await tx.agency(agency);
  if (target === undefined && AGENCY_CODE.test(agency)) violation("agency-exists", "invalid", `agency ${agency} is not registered`);
  if (await deploymentAdmin(tx, actor)) return;
  const own = await tx.agency(actor.agency);
  if (target === undefined ? own !== undefined : target.code !== actor.agency)
    violation("agency-scope", "forbidden", `an official of ${actor.agency} may not give a programme to ${JSON.stringify(agency)}`);
}

/**
 * The recording rule as a read check: throws RuleViolation agency-scope when
 * `actor` may not act in a programme of `programmeAgency` (see inScope). The
 * private-value read uses it, so an official reads only what it may record.
 */
export async function agencyScope(state: StateReader, actor: Actor, programmeAgency: string, what: string): Promise<void> {
  await inScope(new Tx(state), actor, programmeAgency, what);
}

/** A scope check on the programme an entry is filed under, if any. */
async function inProgrammeScope(ctx: RuleContext, tx: Tx, programmeId: string | null): Promise<void> {
  if (programmeId === null) return;
  const prg = await tx.entry(programmeId, "programme", "programme");
  await inScope(tx, ctx.actor, prg.agency, `programme ${prg.code}`);
}

/**
 * A government department. The deployment-wide admin records it. Its code's
 * division must be in the pinned GB/T 2260 table; a province-level agency has
 * no parent, any other has the agency of the next level up in the same
 * province: a prefecture's parent is a province agency, a county's parent is
 * its prefecture's agency (or its province's, for a county directly under a
 * province, as in the municipalities).
 */
async function agency(ctx: RuleContext, tx: Tx, b: AgencyRequest): Promise<Applied> {
  if (!(await deploymentAdmin(tx, ctx.actor))) violation("agency-deployment-admin", "forbidden", "only the deployment-wide admin records agencies");
  const division = AGENCY_CODE.exec(b.code)![1]!;
  let gov;
  try {
    gov = governmentDivision(division);
  } catch (e) {
    if (e instanceof IdentifierError) violation("agency-code-valid", "invalid", `agency ${b.code}: ${e.message}`);
    throw e;
  }
  if ((await tx.agency(b.code)) !== undefined) violation("agency-code-unique", "conflict", `agency ${b.code} is already registered`);
  const expected = gov.level === "province" ? null : gov.level === "prefecture" ? gov.province.code : (gov.prefecture?.code ?? gov.province.code);
  let parentId: string | null = null;
  if (expected === null) {
    if (b.parent !== undefined) violation("agency-parent", "invalid", `${b.code} is a province-level agency and has no parent`);
  } else {
    if (b.parent === undefined) violation("agency-parent", "invalid", `${b.code} (${gov.name}) needs a parent agency of division ${expected}`);
    const parent = await tx.agency(b.parent);
    if (parent === undefined) violation("agency-exists", "invalid", `parent agency ${b.parent} is not registered`);
    if (AGENCY_CODE.exec(parent.code)![1] !== expected)
      violation("agency-parent", "invalid", `the parent of ${b.code} (${gov.name}) must be an agency of division ${expected}, not ${parent.code}`);
    parentId = parent.id;
  }
  const id = ctx.newId("agency");
  tx.save({ kind: "agency", id, code: b.code, name: b.name, parent: b.parent ?? null, recordedAt: ctx.now });
  tx.put(`agency:${b.code}`, { kind: "code", id });
  const entry = entryOf(ctx, "agency", id, parentId === null ? [] : [parentId], { ...b });
  return filed(tx, entry, null, null, null);
}

/** Agency `from` grants or withdraws recording into its programmes to agency `to`; its own admin or the deployment admin records it. */
async function delegation(ctx: RuleContext, tx: Tx, b: DelegationRequest): Promise<Applied> {
  if (b.from === b.to) violation("delegation-changes", "invalid", "an agency always records into its own programmes");
  const from = await tx.agency(b.from);
  const to = await tx.agency(b.to);
  if (from === undefined) violation("agency-exists", "invalid", `agency ${b.from} is not registered`);
  if (to === undefined) violation("agency-exists", "invalid", `agency ${b.to} is not registered`);
  if (!(await deploymentAdmin(tx, ctx.actor)) && ctx.actor.agency !== from.code)
    violation("agency-scope", "forbidden", `only an admin of ${from.code} (or the deployment admin) delegates its programmes`);
  if ((await tx.delegated(from.code, to.code)) === b.granted)
    violation("delegation-changes", "conflict", `${from.code} has ${b.granted ? "already" : "not"} delegated to ${to.code}`);
  const id = ctx.newId("delegation");
  const state = { kind: "delegation", id, from: from.code, to: to.code, granted: b.granted } as const;
  tx.save(state);
  tx.put(`dlg:${from.code}:${to.code}`, state);
  const entry = entryOf(ctx, "delegation", id, [from.id, to.id], { ...b });
  return filed(tx, entry, null, null, null);
}

async function programme(ctx: RuleContext, tx: Tx, b: ProgrammeRequest): Promise<Applied> {
  await mayAssign(tx, ctx.actor, b.agency);
  if ((await tx.get(`code:${b.code}`)) !== undefined) violation("programme-code-unique", "conflict", `programme code ${b.code} is already in use`);
  if (b.opensOn > b.closesOn) violation("programme-dates-ordered", "invalid", `opensOn ${b.opensOn} is after closesOn ${b.closesOn}`);
  if (!gt(b.budgetFen, "0")) violation("programme-budget-positive", "invalid", "budgetFen must be greater than 0");
  if (b.maxPerEnterpriseFen !== undefined && !gt(b.maxPerEnterpriseFen, "0")) violation("amount-positive", "invalid", "maxPerEnterpriseFen must be greater than 0");
  const id = ctx.newId("programme");
  const zero = () => ({ applications: 0, approvedFen: "0", paidFen: "0" });
  tx.save({
    kind: "programme",
    id,
    code: b.code,
    recordedAt: ctx.now,
    name: b.name,
    agency: b.agency,
    budgetFen: b.budgetFen,
    fourEyesThresholdFen: b.fourEyesThresholdFen,
    ...(b.maxPerEnterpriseFen !== undefined ? { maxPerEnterpriseFen: b.maxPerEnterpriseFen } : {}),
    opensOn: b.opensOn,
    closesOn: b.closesOn,
    approvedFen: "0",
    paidFen: "0",
    applications: 0,
    byRegion: { "urban-district": zero(), "rural-county": zero(), "county-level-city": zero() },
    byCounty: {},
    revoked: false,
  });
  tx.put(`code:${b.code}`, { kind: "code", id });
  const entry = entryOf(ctx, "programme", id, [], { ...b, policyDocument: { ...b.policyDocument } });
  return filed(tx, entry, null, null, id);
}

async function application(ctx: RuleContext, tx: Tx, b: ApplicationRequest): Promise<Applied> {
  const prg = live(await tx.entry(b.programmeId, "programme", "programmeId"), "programmeId");
  await inScope(tx, ctx.actor, prg.agency, `programme ${prg.code}`);
  const today = cstDateOf(ctx.now);
  if (today < prg.opensOn || today > prg.closesOn)
    violation("programme-open", "invalid", `programme ${prg.code} is open ${prg.opensOn} to ${prg.closesOn}; today is ${today} (UTC+8)`);
  if (!gt(b.requestedFen, "0")) violation("amount-positive", "invalid", "requestedFen must be greater than 0");
  const id = ctx.newId("application");
  const { commitments, openings } = commitPrivate(b.private, ctx.randomBytes);
  prg.applications += 1;
  for (const t of talliesOf(prg, b.region)) t.applications += 1;
  tx.save(prg);
  tx.save({
    kind: "application",
    id,
    programmeId: prg.id,
    creditCode: b.creditCode,
    recordedBy: officialId(ctx.actor.official),
    recordedAt: ctx.now,
    requestedFen: b.requestedFen,
    enterpriseName: b.enterpriseName,
    region: b.region,
    decisionId: null,
    decisions: [],
    corrections: [],
    revoked: false,
  });
  const { private: _omitted, ...publicBody } = b;
  const entry = entryOf(ctx, "application", id, [prg.id], publicBody, commitments);
  return filed(tx, entry, openings, b.creditCode, prg.id);
}

async function decision(ctx: RuleContext, tx: Tx, b: DecisionRequest): Promise<Applied> {
  const app = live(await tx.entry(b.applicationId, "application", "applicationId"), "applicationId");
  await inProgrammeScope(ctx, tx, app.programmeId);
  if (app.decisionId !== null) violation("application-pending", "conflict", `application ${app.id} already has decision ${app.decisionId}`);
  if (sameOfficial(app.recordedBy, ctx.actor.official))
    violation("decider-not-recorder", "invalid", `official ${ctx.actor.official} recorded application ${app.id} and cannot decide it`);
  const prg = live(await tx.entry(app.programmeId, "programme", "programme"), "programme");
  if (b.outcome === "rejected") {
    if (b.approvedFen !== "0") violation("rejection-approves-nothing", "invalid", "a rejection must have approvedFen \"0\"");
  } else {
    if (!gt(b.approvedFen, "0")) violation("amount-positive", "invalid", "approvedFen must be greater than 0 for an approval");
    if (gt(b.approvedFen, app.requestedFen))
      violation("approved-within-requested", "invalid", `approvedFen ${b.approvedFen} exceeds requestedFen ${app.requestedFen}`);
    const after = add(prg.approvedFen, b.approvedFen);
    if (gt(after, prg.budgetFen))
      violation("budget-not-exceeded", "conflict", `approving ${b.approvedFen} would bring programme ${prg.code} to ${after} of its ${prg.budgetFen} budget`);
    const enterpriseBefore = await tx.enterpriseApproved(prg.id, app.creditCode);
    if (!withinEnterpriseCap(enterpriseBefore, b.approvedFen, prg.maxPerEnterpriseFen))
      violation(
        "enterprise-cap-not-exceeded",
        "conflict",
        `approving ${b.approvedFen} would bring enterprise ${app.creditCode} to ${add(enterpriseBefore, b.approvedFen)} in programme ${prg.code}, over its cap of ${prg.maxPerEnterpriseFen} per enterprise`,
      );
    tx.setEnterpriseApproved(prg.id, app.creditCode, add(enterpriseBefore, b.approvedFen));
    prg.approvedFen = after;
    for (const t of talliesOf(prg, app.region)) t.approvedFen = add(t.approvedFen, b.approvedFen);
    tx.save(prg);
  }
  const id = ctx.newId("decision");
  app.decisionId = id;
  app.decisions.push(id);
  tx.save(app);
  tx.save({
    kind: "decision",
    id,
    applicationId: app.id,
    programmeId: prg.id,
    outcome: b.outcome,
    approvedFen: b.approvedFen,
    decidedBy: officialId(ctx.actor.official),
    recordedAt: ctx.now,
    committedFen: "0",
    paidFen: "0",
    payouts: [],
    revoked: false,
  });
  const entry = entryOf(ctx, "decision", id, [app.id], { ...b });
  return filed(tx, entry, null, app.creditCode, prg.id);
}

/**
 * Adds `fen` to (or with `op` = sub, takes it from) the paid totals of a
 * decision, its programme and the programme's region tally.
 */
async function addPaid(tx: Tx, dec: DecisionState, fen: string, op: typeof add = add): Promise<void> {
  const prg = await tx.entry(dec.programmeId, "programme", "programme");
  const app = await tx.entry(dec.applicationId, "application", "application");
  dec.paidFen = op(dec.paidFen, fen);
  prg.paidFen = op(prg.paidFen, fen);
  for (const t of talliesOf(prg, app.region)) t.paidFen = op(t.paidFen, fen);
  tx.save(dec);
  tx.save(prg);
}

async function payout(ctx: RuleContext, tx: Tx, b: PayoutRequest): Promise<Applied> {
  const dec = live(await tx.entry(b.decisionId, "decision", "decisionId"), "decisionId");
  await inProgrammeScope(ctx, tx, dec.programmeId);
  if (dec.outcome !== "approved") violation("decision-approved", "conflict", `decision ${dec.id} rejected the application`);
  if (!gt(b.amountFen, "0")) violation("amount-positive", "invalid", "amountFen must be greater than 0");
  const committed = add(dec.committedFen, b.amountFen);
  if (gt(committed, dec.approvedFen))
    violation("payout-within-approved", "conflict", `payouts on decision ${dec.id} would total ${committed} of ${dec.approvedFen} approved`);
  if (b.paidOn > cstDateOf(ctx.now)) violation("payout-date-not-future", "invalid", `paidOn ${b.paidOn} is in the future`);
  const prg = await tx.entry(dec.programmeId, "programme", "programme");
  const app = await tx.entry(dec.applicationId, "application", "application");
  // Four eyes by decision, not by payout, so splitting a large approval into small payouts cannot avoid it.
  const needsConfirmation = payoutNeedsConfirmation(dec.approvedFen, prg.fourEyesThresholdFen);
  const id = ctx.newId("payout");
  dec.committedFen = committed;
  dec.payouts.push(id);
  tx.save(dec);
  if (!needsConfirmation) await addPaid(tx, dec, b.amountFen);
  tx.save({
    kind: "payout",
    id,
    decisionId: dec.id,
    applicationId: dec.applicationId,
    programmeId: dec.programmeId,
    amountFen: b.amountFen,
    recordedBy: officialId(ctx.actor.official),
    recordedAt: ctx.now,
    paidOn: b.paidOn,
    needsConfirmation,
    confirmationId: null,
    clawedBackFen: "0",
    revoked: false,
  });
  const { commitments, openings } = commitPrivate(b.private, ctx.randomBytes);
  const { private: _omitted, ...publicBody } = b;
  const entry = entryOf(ctx, "payout", id, [dec.id], { ...publicBody, needsConfirmation }, commitments);
  return filed(tx, entry, openings, app.creditCode, prg.id);
}

async function confirmation(ctx: RuleContext, tx: Tx, b: ConfirmationRequest): Promise<Applied> {
  const pay = live(await tx.entry(b.payoutId, "payout", "payoutId"), "payoutId");
  await inProgrammeScope(ctx, tx, pay.programmeId);
  if (!pay.needsConfirmation || pay.confirmationId !== null)
    violation("payout-needs-confirmation", "conflict", pay.needsConfirmation ? `payout ${pay.id} is already confirmed by ${pay.confirmationId}` : `payout ${pay.id} is below the four-eyes threshold`);
  if (sameOfficial(pay.recordedBy, ctx.actor.official))
    violation("confirmer-not-recorder", "invalid", `official ${ctx.actor.official} recorded payout ${pay.id}; a second official must confirm it`);
  const dec = await tx.entry(pay.decisionId, "decision", "decision");
  const app = await tx.entry(pay.applicationId, "application", "application");
  const id = ctx.newId("confirmation");
  pay.confirmationId = id;
  tx.save(pay);
  await addPaid(tx, dec, sub(pay.amountFen, pay.clawedBackFen));
  tx.save({ kind: "confirmation", id, payoutId: pay.id });
  const entry = entryOf(ctx, "confirmation", id, [pay.id], { ...b });
  return filed(tx, entry, null, app.creditCode, pay.programmeId);
}

function replacementFields(r: NonNullable<CorrectionRequest["replacement"]>): string[] {
  const fields = Object.keys(r).filter((k) => k !== "private");
  for (const k of Object.keys(r.private ?? {})) fields.push(`private.${k}`);
  return fields;
}

async function correction(ctx: RuleContext, tx: Tx, b: CorrectionRequest): Promise<Applied> {
  const doc = await tx.get(`e:${b.targetId}`);
  if (doc === undefined || doc.kind === "code" || doc.kind === "enterprise-total") violation("reference-exists", "invalid", `targetId: no entry ${b.targetId}`);
  const target = structuredClone(doc);
  const id = ctx.newId("correction");
  let openings: Openings | null = null;
  let commitments: Record<string, string> | undefined;
  const wantsReplacement = b.reasonCode === "data-entry-error" || b.reasonCode === "superseded";
  if (wantsReplacement !== (b.replacement !== undefined))
    violation("correction-fields", "invalid", wantsReplacement ? `${b.reasonCode} needs replacement values` : `${b.reasonCode} takes no replacement values`);
  if ((b.reasonCode === "clawback") !== (b.clawbackFen !== undefined))
    violation("correction-fields", "invalid", b.reasonCode === "clawback" ? "clawback needs clawbackFen" : "only a clawback takes clawbackFen");

  const creditCode = await enterpriseOf(tx, target);
  const programmeId = await programmeOf(tx, target);
  // Migration: an official of a registered agency may move a programme from before agencies
  // (free-text agency) into its own agency; mayAssign below checks the new agency.
  const claims = target.kind === "programme" && b.replacement?.agency === ctx.actor.agency && (await tx.agency(target.agency)) === undefined;
  if (!claims) await inProgrammeScope(ctx, tx, programmeId);

  switch (b.reasonCode) {
    case "data-entry-error":
    case "superseded": {
      const r = b.replacement!;
      const allowed = CORRECTABLE[target.kind] ?? [];
      const fields = replacementFields(r);
      // The schema counts `private` itself as a field, so `{ private: {} }` gets past it while changing nothing.
      if (fields.length === 0) violation("correction-fields", "invalid", "replacement must change at least one field");
      const bad = fields.filter((f) => !allowed.includes(f));
      if (bad.length > 0) violation("correction-fields", "invalid", `a ${target.kind} cannot have ${bad.join(", ")} corrected`);
      if ("revoked" in target) live(target, "targetId");
      if (target.kind === "application") {
        if (r.enterpriseName !== undefined) target.enterpriseName = r.enterpriseName;
        if (r.region !== undefined && r.region !== target.region) await moveRegion(tx, target, r.region);
      } else if (target.kind === "programme") {
        if (r.name !== undefined) target.name = r.name;
        if (r.agency !== undefined) {
          await mayAssign(tx, ctx.actor, r.agency);
          target.agency = r.agency;
        }
      } else if (target.kind === "payout") {
        if (r.paidOn !== undefined) {
          if (r.paidOn > cstDateOf(ctx.now)) violation("payout-date-not-future", "invalid", `paidOn ${r.paidOn} is in the future`);
          target.paidOn = r.paidOn;
        }
      }
      if (r.private !== undefined) ({ commitments, openings } = commitPrivate(r.private as Record<string, string>, ctx.randomBytes));
      break;
    }
    case "clawback": {
      if (target.kind !== "payout") violation("reference-kind", "invalid", `targetId: a clawback targets a payout, not a ${target.kind}`);
      live(target, "targetId");
      const effective = !target.needsConfirmation || target.confirmationId !== null;
      const paid = effective ? sub(target.amountFen, target.clawedBackFen) : "0";
      if (!gt(b.clawbackFen!, "0")) violation("amount-positive", "invalid", "clawbackFen must be greater than 0");
      if (gt(b.clawbackFen!, paid)) violation("clawback-within-paid", "conflict", `clawback ${b.clawbackFen} exceeds the ${paid} paid on payout ${target.id}`);
      target.clawedBackFen = add(target.clawedBackFen, b.clawbackFen!);
      const dec = await tx.entry(target.decisionId, "decision", "decision");
      dec.committedFen = sub(dec.committedFen, b.clawbackFen!);
      tx.save(dec);
      await addPaid(tx, dec, b.clawbackFen!, sub);
      break;
    }
    case "revoked":
      await revoke(tx, target);
      break;
  }
  if (target.kind === "application") target.corrections.push(id);
  tx.save(target);
  tx.save({ kind: "correction", id, targetId: target.id, reasonCode: b.reasonCode });
  const { replacement, ...rest } = b;
  const body: Record<string, JsonValue> = { ...rest };
  if (replacement !== undefined) {
    const { private: _omitted, ...publicReplacement } = replacement;
    body["replacement"] = publicReplacement;
  }
  const entry = entryOf(ctx, "correction", id, [target.id], body, commitments);
  return filed(tx, entry, openings, creditCode, programmeId);
}

async function moveRegion(tx: Tx, app: ApplicationState, region: string): Promise<void> {
  const prg = await tx.entry(app.programmeId, "programme", "programme");
  const dec = app.decisionId !== null ? await tx.entry(app.decisionId, "decision", "decision") : null;
  for (const from of talliesOf(prg, app.region)) {
    from.applications -= 1;
    if (dec !== null) {
      from.approvedFen = sub(from.approvedFen, dec.approvedFen);
      from.paidFen = sub(from.paidFen, dec.paidFen);
    }
  }
  for (const to of talliesOf(prg, region)) {
    to.applications += 1;
    if (dec !== null) {
      to.approvedFen = add(to.approvedFen, dec.approvedFen);
      to.paidFen = add(to.paidFen, dec.paidFen);
    }
  }
  app.region = region;
  tx.save(prg);
}

/**
 * Revocation undoes an entry's effect on the totals. It is refused while
 * money still depends on the entry: a payout must be clawed back first, a
 * decision's payouts revoked or clawed back first, and so on up.
 */
async function revoke(tx: Tx, target: EntryState): Promise<void> {
  switch (target.kind) {
    case "payout": {
      live(target, "targetId");
      const effective = !target.needsConfirmation || target.confirmationId !== null;
      const outstanding = sub(target.amountFen, target.clawedBackFen);
      if (effective && gt(outstanding, "0"))
        violation("revocation-allowed", "conflict", `payout ${target.id} has ${outstanding} paid; claw it back before revoking`);
      const dec = await tx.entry(target.decisionId, "decision", "decision");
      dec.committedFen = sub(dec.committedFen, outstanding);
      tx.save(dec);
      break;
    }
    case "decision": {
      live(target, "targetId");
      if (gt(target.committedFen, "0"))
        violation("revocation-allowed", "conflict", `decision ${target.id} has ${target.committedFen} in payouts; revoke or claw them back first`);
      const app = await tx.entry(target.applicationId, "application", "application");
      app.decisionId = null;
      tx.save(app);
      if (target.outcome === "approved") {
        const prg = await tx.entry(target.programmeId, "programme", "programme");
        prg.approvedFen = sub(prg.approvedFen, target.approvedFen);
        tx.setEnterpriseApproved(prg.id, app.creditCode, sub(await tx.enterpriseApproved(prg.id, app.creditCode), target.approvedFen));
        for (const t of talliesOf(prg, app.region)) t.approvedFen = sub(t.approvedFen, target.approvedFen);
        tx.save(prg);
      }
      break;
    }
    case "application": {
      live(target, "targetId");
      if (target.decisionId !== null)
        violation("revocation-allowed", "conflict", `application ${target.id} has decision ${target.decisionId}; revoke it first`);
      const prg = await tx.entry(target.programmeId, "programme", "programme");
      prg.applications -= 1;
      for (const t of talliesOf(prg, target.region)) t.applications -= 1;
      tx.save(prg);
      break;
    }
    case "programme": {
      live(target, "targetId");
      if (target.applications > 0)
        violation("revocation-allowed", "conflict", `programme ${target.code} has ${target.applications} live applications; revoke them first`);
      break;
    }
    default:
      violation("revocation-allowed", "invalid", `a ${target.kind} cannot be revoked`);
  }
  (target as { revoked: boolean }).revoked = true;
}

async function enterpriseOf(tx: Tx, target: EntryState): Promise<string | null> {
  switch (target.kind) {
    case "application":
      return target.creditCode;
    case "decision":
    case "payout":
      return (await tx.entry(target.applicationId, "application", "application")).creditCode;
    case "confirmation":
    case "correction":
    case "erasure": {
      const next = await tx.get(`e:${target.kind === "confirmation" ? target.payoutId : target.targetId}`);
      return next && next.kind !== "code" && next.kind !== "enterprise-total" ? enterpriseOf(tx, next) : null;
    }
    default:
      return null;
  }
}

async function programmeOf(tx: Tx, target: EntryState): Promise<string | null> {
  switch (target.kind) {
    case "programme":
      return target.id;
    case "application":
    case "decision":
    case "payout":
      return target.programmeId;
    case "confirmation":
    case "correction":
    case "erasure": {
      const next = await tx.get(`e:${target.kind === "confirmation" ? target.payoutId : target.targetId}`);
      return next && next.kind !== "code" && next.kind !== "enterprise-total" ? programmeOf(tx, next) : null;
    }
    case "agency":
    case "delegation":
      return null;
  }
}

/**
 * Erasure (crypto-shredding): the target's private values and salts are
 * deleted off-log in the same store batch that appends this entry, so no
 * reader ever sees one without the other. The entry names the target, the
 * reason and the erased field names, and carries no personal data; the
 * target's commitments stay in the log, so it still verifies. An entry is
 * erased once: its `erased:` marker is what the views show as "erased,
 * commitments kept", distinct from an entry that never had private values.
 * `b.fields` are the target's committed field names as its public entry in
 * the log lists them (the state does not hold commitments).
 */
async function erasure(ctx: RuleContext, tx: Tx, b: ErasureCommand): Promise<Applied> {
  const doc = await tx.get(`e:${b.targetId}`);
  if (doc === undefined || doc.kind === "code" || doc.kind === "enterprise-total") violation("reference-exists", "invalid", `no entry ${b.targetId}`);
  const earlier = await tx.get(`erased:${b.targetId}`);
  if (earlier !== undefined)
    violation("erasure-once", "conflict", `the private values of ${b.targetId} were already erased${earlier.kind === "erasure" ? ` by ${earlier.id}` : ""}`);
  await inProgrammeScope(ctx, tx, await programmeOf(tx, doc));
  if (doc.kind === "erasure" || b.fields.length === 0) violation("erasure-target-private", "invalid", `${doc.kind} ${b.targetId} has no private values to erase`);
  const fields = [...b.fields].sort();
  const id = ctx.newId("erasure");
  const state = { kind: "erasure", id, targetId: b.targetId, reasonCode: b.reasonCode, fields, recordedAt: ctx.now } as const;
  tx.save(state);
  tx.put(`erased:${b.targetId}`, state);
  const entry = entryOf(ctx, "erasure", id, [b.targetId], { targetId: b.targetId, reasonCode: b.reasonCode, fields });
  const applied = filed(tx, entry, null, await enterpriseOf(tx, doc), await programmeOf(tx, doc));
  return { ...applied, erases: [b.targetId] };
}

/**
 * Checks `cmd` against the ledger's state and builds its entry. Throws
 * RuleViolation when a rule refuses it; reads only, writes nothing.
 */
export async function applyCommand(ctx: RuleContext, cmd: Command): Promise<Applied> {
  const tx = new Tx(ctx.state);
  let applied: Applied;
  switch (cmd.kind) {
    case "programme":
      applied = await programme(ctx, tx, cmd.body);
      break;
    case "application":
      applied = await application(ctx, tx, cmd.body);
      break;
    case "decision":
      applied = await decision(ctx, tx, cmd.body);
      break;
    case "payout":
      applied = await payout(ctx, tx, cmd.body);
      break;
    case "confirmation":
      applied = await confirmation(ctx, tx, cmd.body);
      break;
    case "correction":
      applied = await correction(ctx, tx, cmd.body);
      break;
    case "erasure":
      applied = await erasure(ctx, tx, cmd.body);
      break;
    case "agency":
      applied = await agency(ctx, tx, cmd.body);
      break;
    case "delegation":
      applied = await delegation(ctx, tx, cmd.body);
      break;
  }
  return { ...applied, indexes: [...applied.indexes, { name: "kind", value: cmd.kind }] };
}
