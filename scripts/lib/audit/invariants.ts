/**
 * The ledger's business invariants, recomputed from public entries alone.
 *
 * This is a second, independent reading of the rules the service enforces
 * before it appends anything (service/records/rules.ts): a left fold over
 * the log in order, keeping per entry only what later entries are checked
 * against. Written from the rules' text, not by importing service/records,
 * so a bug or a change there does not silently change what the auditor
 * checks. The exceptions are the pure predicates and tables of the public
 * format (service/format: payoutNeedsConfirmation and withinEnterpriseCap in
 * accountability.ts, KIND_ROLES and CORRECTABLE in entry.ts), shared so the
 * service and the auditor cannot drift apart on them.
 * The rule names are the service's (`rule` in its problem+json), plus
 * `refs-match-body` and `role-may-record` for what its schemas enforce.
 *
 * Semantics mirrored (amounts are integer fen):
 * - budget: the sum of approvedFen over live approved decisions of a programme
 *   never exceeds its budgetFen (`budget-not-exceeded`);
 * - per decision: live payouts net of clawbacks, awaiting confirmation
 *   included, never exceed approvedFen (`payout-within-approved`), so what is
 *   paid never does either;
 * - four eyes: a payout is `needsConfirmation` exactly when its decision
 *   approves at least the programme's fourEyesThresholdFen (so no split
 *   payout escapes it; service/format/accountability.ts); it counts as paid only
 *   once confirmed, by an approver who did not record it, and only once
 *   (`four-eyes-threshold`, `payout-needs-confirmation`, `confirmer-not-recorder`);
 * - per-enterprise cap: live approvals for one enterprise (credit code) in a
 *   programme with maxPerEnterpriseFen stay within it
 *   (`enterprise-cap-not-exceeded`);
 * - the decider is not the official who recorded the application
 *   (`decider-not-recorder`);
 * - every reference, corrections' targets included, names an earlier entry
 *   of the right kind (`reference-exists`, `reference-kind`); revoked
 *   entries take no new dependants (`entry-revoked`);
 * - corrections: replacement fields per kind, clawbacks within what was
 *   paid, revocation only once nothing depends on the entry;
 * - agency scope: an entry filed under a programme (an application, and
 *   what depends on it: decisions, payouts, confirmations, corrections,
 *   erasures) is recorded by an official of the programme's agency, or of
 *   an agency it has delegated to at that point in the log (`agency-scope`,
 *   as the service's `inScope`). Agencies not (yet) registered are not
 *   separated, and the deployment-wide admin (an admin whose agency is not
 *   registered) acts in every agency.
 * Calendar dates are China Standard Time (UTC+8), as the service's.
 *
 * After a violation the entry's effect is still applied, as the log records
 * it, so later checks see the totals the log implies.
 */
import { EntryColumns, Flag, Kind, KIND_NAMES, type KindCode } from "./columns";
import { CORRECTABLE, cstDate, KIND_ROLES, payoutNeedsConfirmation, withinEnterpriseCap } from "../../../service/format";
import type { LedgerEntry as AuditEntry } from "../../../service/format/entry-reader";

/** A programme: few per log, so an object each, with exact totals; `agency` changes when a correction moves it. */
function newProgramme(e: Extract<AuditEntry, { kind: "programme" }>, budget: bigint) {
  const cap = e.maxPerEnterpriseFen === null ? null : BigInt(e.maxPerEnterpriseFen);
  return { id: e.id, agency: e.programmeAgency, budget, threshold: BigInt(e.fourEyesThresholdFen), cap, opensOn: e.opensOn, closesOn: e.closesOn, approved: 0n, paid: 0n, applications: 0 };
}
type Programme = ReturnType<typeof newProgramme>;

export type Violation = (rule: string, message: string) => void;

const { REVOKED, APPROVED, NEEDS_CONFIRMATION, ERASED } = Flag;

/**
 * The replay. What it keeps of each entry lives in {@link EntryColumns}
 * (fixed-width columns), programmes as objects.
 */
export class InvariantReplay {
  protected readonly _c = new EntryColumns();
  private readonly _programmes = new Map<number, Programme>();
  private readonly _codes = new Set<string>();
  /** Registered agencies: code → the agency entry's id. Delegations in force, as "from>to". */
  private readonly _agencies = new Map<string, string>();
  private readonly _delegations = new Set<string>();
  /** Capped programmes only: application slot → "programme slot, credit code", and each such key's live approved fen. */
  private readonly _enterpriseOf = new Map<number, string>();
  private readonly _enterpriseApproved = new Map<string, bigint>();
  /** Where this entry's broken rules are reported. */
  private _fail: Violation = () => {};

  /** Whether an entry with the id of `e` was seen (its id was checked when it was read). */
  hasEntry(e: AuditEntry): boolean {
    return this._c.slotOf(e.id) >= 0;
  }

  /**
   * Checks one entry against everything before it and applies its effect.
   * Calls `report` once per broken rule. Entries must come in log order, and
   * each id once (ask {@link hasEntry} first).
   */
  apply(e: AuditEntry, report: Violation): void {
    this._fail = report;
    if (!KIND_ROLES[e.kind].includes(e.role)) this._fail("role-may-record", `a ${e.role} recorded a ${e.kind}; only ${KIND_ROLES[e.kind].join(", ")} may`);
    (this._check[e.kind] as (e: AuditEntry) => void)(e);
    if (e.committed.length > 0) {
      const s = this._c.slotOf(e.id);
      if (s >= 0) this._c.setFields(s, e.committed);
    }
  }

  /** Each kind's checks and effect. */
  private readonly _check: { [K in AuditEntry["kind"]]: (e: Extract<AuditEntry, { kind: K }>) => void } = {
    programme: (e) => this._programme(e),
    application: (e) => this._application(e),
    decision: (e) => this._decision(e),
    payout: (e) => this._payout(e),
    confirmation: (e) => this._confirmation(e),
    correction: (e) => this._correction(e),
    erasure: (e) => this._erasure(e),
    agency: (e) => this._agency(e),
    delegation: (e) => this._delegation(e),
  };

  /** An agency: its code registered once, under a registered parent (named in refs) when it has one. */
  private _agency(e: Extract<AuditEntry, { kind: "agency" }>): void {
    const parent = e.parent === null ? undefined : this._agencies.get(e.parent);
    this._refs(e, parent === undefined ? [] : [parent]);
    this._c.add(e.id);
    if (this._agencies.has(e.code)) this._fail("agency-code-unique", `agency ${e.code} is already registered`);
    else this._agencies.set(e.code, e.id);
    if (e.parent !== null && parent === undefined) this._fail("agency-exists", `parent agency ${e.parent} is not registered`);
  }

  /** A delegation: between two registered agencies (named in refs), and a change of what was granted. */
  private _delegation(e: Extract<AuditEntry, { kind: "delegation" }>): void {
    const from = this._agencies.get(e.from);
    const to = this._agencies.get(e.to);
    this._refs(e, from === undefined || to === undefined ? e.refs : [from, to]);
    this._c.add(e.id);
    if (from === undefined || to === undefined) this._fail("agency-exists", `agency ${from === undefined ? e.from : e.to} is not registered`);
    if (e.from === e.to) this._fail("delegation-changes", "an agency always records into its own programmes");
    const key = `${e.from}>${e.to}`;
    if (this._delegations.has(key) === e.granted) this._fail("delegation-changes", `${e.from} has ${e.granted ? "already" : "not"} delegated to ${e.to}`);
    if (e.granted) this._delegations.add(key);
    else this._delegations.delete(key);
  }

  /**
   * An erasure (crypto-shredding: the target's private values deleted
   * off-log, its commitments kept) names an earlier entry with commitments,
   * lists exactly their field names, carries none of its own, and is the
   * target's only one (as service/format/erasure.ts checks it).
   */
  private _erasure(e: Extract<AuditEntry, { kind: "erasure" }>): void {
    const target = this._target(e, e.targetId, 0, "targetId");
    const c = this._c;
    const s = c.add(e.id);
    if (e.committed.length > 0) this._fail("erasure-fields", "an erasure carries no commitments of its own");
    if (target < 0) return;
    c.link[s] = target;
    this._scope(e, this._programmeSlot(target));
    const set = c.fieldSet[target]!;
    if (set === 0) return this._fail("erasure-target-private", `${c.kindName(target)} ${e.targetId} has no private values to erase`);
    if (c.flags[target]! & ERASED) return this._fail("erasure-once", `${c.kindName(target)} ${e.targetId} was already erased`);
    c.flags[target] = c.flags[target]! | ERASED;
    const fields = [...e.fields].sort().join(",");
    if (set !== 0xffff && fields !== c.fieldSets[set]) this._fail("erasure-fields", `fields [${e.fields.join(", ")}] are not the committed fields of ${e.targetId}, [${c.fieldSets[set]!.split(",").join(", ")}]`);
  }

  totals() {
    let programmes = 0;
    let [budget, approved, paid] = [0n, 0n, 0n];
    for (const [slot, p] of this._programmes)
      if (!(this._c.flags[slot]! & REVOKED)) {
        programmes++;
        budget += p.budget;
        approved += p.approved;
        paid += p.paid;
      }
    return { programmes, budgetFen: budget.toString(), approvedFen: approved.toString(), paidFen: paid.toString() };
  }

  private _refs(e: AuditEntry, expected: readonly string[]): void {
    if (e.refs.length !== expected.length || e.refs.some((r, i) => r !== expected[i]))
      this._fail("refs-match-body", `refs ${JSON.stringify(e.refs)} should be ${JSON.stringify(expected)}`);
  }

  /**
   * For an entry whose refs name exactly one entry, `id` (its body's field `field`): checks the refs, and answers
   * the slot of that entry if it is an earlier one of `kind` (0: any); reports and answers -1 otherwise.
   */
  private _target(e: AuditEntry, id: string, kind: KindCode | 0, field: string): number {
    this._refs(e, [id]);
    const s = this._c.slotOf(id);
    if (s < 0) {
      this._fail("reference-exists", `${field}: no earlier entry ${id}`);
      return -1;
    }
    if (kind !== 0 && this._c.kind[s] !== kind) {
      this._fail("reference-kind", `${field}: entry ${id} is a ${this._c.kindName(s)}, not a ${KIND_NAMES[kind]}`);
      return -1;
    }
    return s;
  }

  /** Only applications, decisions, payouts and programmes are ever revoked. */
  private _live(slot: number, field: string): void {
    if (this._c.flags[slot]! & REVOKED) this._fail("entry-revoked", `${field}: ${this._c.kindName(slot)} ${this._c.id(slot)} had been revoked`);
  }

  /** The slot of the programme an entry is filed under (following links back: a payout to its decision, …), or -1. */
  private _programmeSlot(slot: number): number {
    const c = this._c;
    // Links name earlier slots only, so this walk ends.
    for (let s = slot; s >= 0; s = c.link[s]!) if (c.kind[s] === Kind.programme) return s;
    return -1;
  }

  /**
   * The recording rule (service/records/rules.ts, inScope): the official's
   * agency is the programme's, or one the programme's agency has delegated
   * to and not withdrawn. A programme of an agency not registered at this
   * point is not separated from officials of unregistered agencies, and the
   * deployment-wide admin acts in every agency.
   */
  private _scope(e: AuditEntry, programmeSlot: number): void {
    const prg = programmeSlot < 0 ? undefined : this._programmes.get(programmeSlot);
    if (prg === undefined) return;
    const ownRegistered = this._agencies.has(e.agency);
    if (e.role === "admin" && !ownRegistered) return;
    if (!this._agencies.has(prg.agency)) {
      if (ownRegistered) this._fail("agency-scope", `${e.official} of ${e.agency} recorded into programme ${prg.id}, which belongs to ${JSON.stringify(prg.agency)}, not a registered agency`);
      return;
    }
    if (prg.agency !== e.agency && !this._delegations.has(`${prg.agency}>${e.agency}`))
      this._fail("agency-scope", `${e.official} of ${e.agency} recorded into programme ${prg.id} of agency ${prg.agency}, which had not delegated to ${e.agency}`);
  }

  /** The programme of an application's slot, if it named one that exists. */
  private _programmeOf(app: number): Programme | undefined {
    const p = this._c.link[app]!;
    return p < 0 ? undefined : this._programmes.get(p);
  }

  private _programme(e: Extract<AuditEntry, { kind: "programme" }>): void {
    this._refs(e, []);
    if (this._codes.has(e.code)) this._fail("programme-code-unique", `programme code ${e.code} was already used`);
    this._codes.add(e.code);
    if (e.opensOn > e.closesOn) this._fail("programme-dates-ordered", `opensOn ${e.opensOn} is after closesOn ${e.closesOn}`);
    const budget = BigInt(e.budgetFen);
    if (budget <= 0n) this._fail("programme-budget-positive", "budgetFen must be greater than 0");
    this._programmes.set(this._c.add(e.id), newProgramme(e, budget));
  }

  private _application(e: Extract<AuditEntry, { kind: "application" }>): void {
    const ps = this._target(e, e.programmeId, Kind.programme, "programmeId");
    const prg = ps < 0 ? undefined : this._programmes.get(ps)!;
    if (prg !== undefined) {
      this._live(ps, "programmeId");
      this._scope(e, ps);
      const today = cstDate(e.recordedMs);
      if (today < prg.opensOn || today > prg.closesOn)
        this._fail("programme-open", `recorded on ${today} (UTC+8), but programme ${prg.id} is open ${prg.opensOn} to ${prg.closesOn}`);
      prg.applications += 1;
    }
    const requested = BigInt(e.requestedFen);
    if (requested <= 0n) this._fail("amount-positive", "requestedFen must be greater than 0");
    const c = this._c;
    const s = c.add(e.id);
    c.link[s] = ps;
    c.who[s] = c.official(e.official);
    c.amount.set(s, requested);
    if (prg?.cap != null) this._enterpriseOf.set(s, `${ps} ${e.creditCode}`);
  }

  private _decision(e: Extract<AuditEntry, { kind: "decision" }>): void {
    const c = this._c;
    const app = this._target(e, e.applicationId, Kind.application, "applicationId");
    if (app < 0) return;
    this._live(app, "applicationId");
    this._scope(e, c.link[app]!);
    if (c.other[app]! >= 0) this._fail("application-pending", `application ${e.applicationId} already had decision ${c.id(c.other[app]!)}`);
    if (c.who[app] === c.official(e.official)) this._fail("decider-not-recorder", `${e.official} recorded application ${e.applicationId} and decided it too`);
    const prg = this._programmeOf(app);
    if (prg !== undefined) this._live(c.link[app]!, "programme");
    const approved = e.outcome === "approved";
    const approvedFen = BigInt(e.approvedFen);
    if (!approved) {
      if (approvedFen !== 0n) this._fail("rejection-approves-nothing", `a rejection approves ${e.approvedFen}, not 0`);
    } else {
      if (approvedFen <= 0n) this._fail("amount-positive", "approvedFen must be greater than 0 for an approval");
      const requested = c.amount.get(app);
      if (approvedFen > requested) this._fail("approved-within-requested", `approvedFen ${e.approvedFen} exceeds requestedFen ${requested}`);
      if (prg !== undefined) {
        const after = prg.approved + approvedFen;
        if (after > prg.budget) this._fail("budget-not-exceeded", `approvals on programme ${prg.id} reach ${after} of its ${prg.budget} budget`);
        prg.approved = after;
        this._addEnterpriseApproved(app, approvedFen, prg);
      }
    }
    const s = c.add(e.id);
    c.other[app] = s;
    c.link[s] = app;
    c.amount.set(s, approvedFen);
    if (approved) c.flags[s] = APPROVED;
  }

  /** Adds to an enterprise's live approvals in a capped programme; with `prg`, an approval checked against its cap. */
  private _addEnterpriseApproved(app: number, fen: bigint, prg?: Programme): void {
    const key = this._enterpriseOf.get(app);
    if (key === undefined) return;
    const before = this._enterpriseApproved.get(key) ?? 0n;
    if (prg !== undefined && !withinEnterpriseCap(before, fen, prg.cap))
      this._fail("enterprise-cap-not-exceeded", `approving ${fen} brings enterprise ${key.slice(key.indexOf(" ") + 1)} to ${before + fen} in programme ${prg.id}, over its cap of ${prg.cap}`);
    this._enterpriseApproved.set(key, before + fen);
  }

  /** Adds to what a decision's programme has paid (a subclass may keep it per decision too). */
  protected _addPaid(dec: number, fen: bigint): void {
    const prg = this._programmeOf(this._c.link[dec]!);
    if (prg !== undefined) prg.paid += fen;
  }

  private _payout(e: Extract<AuditEntry, { kind: "payout" }>): void {
    const c = this._c;
    const dec = this._target(e, e.decisionId, Kind.decision, "decisionId");
    if (dec < 0) return;
    this._live(dec, "decisionId");
    this._scope(e, this._programmeSlot(dec));
    if (!(c.flags[dec]! & APPROVED)) this._fail("decision-approved", `decision ${e.decisionId} rejected the application`);
    const amount = BigInt(e.amountFen);
    if (amount <= 0n) this._fail("amount-positive", "amountFen must be greater than 0");
    const approvedFen = c.amount.get(dec);
    const committed = c.running.get(dec) + amount;
    if (committed > approvedFen) this._fail("payout-within-approved", `payouts on decision ${e.decisionId} total ${committed} of ${approvedFen} approved`);
    const today = cstDate(e.recordedMs);
    if (e.paidOn > today) this._fail("payout-date-not-future", `paidOn ${e.paidOn} is after the day it was recorded, ${today} (UTC+8)`);
    const prg = this._programmeOf(c.link[dec]!);
    // Without its programme the threshold is unknown; the entry's own flag stands (the missing reference is reported).
    // Four-eyes by decision (service/format/accountability.ts): splitting a large approval into small payouts escapes nothing.
    const needsConfirmation = prg === undefined ? e.needsConfirmation : payoutNeedsConfirmation(approvedFen, prg.threshold);
    if (prg !== undefined && e.needsConfirmation !== needsConfirmation) {
      const [where, not] = needsConfirmation ? ["at or above", "not "] : ["below", ""];
      this._fail("four-eyes-threshold", `a payout under decision ${e.decisionId}, which approves ${approvedFen}, ${where} the four-eyes threshold ${prg.threshold}, is ${not}marked for confirmation`);
    }
    c.running.set(dec, committed);
    if (!needsConfirmation) this._addPaid(dec, amount);
    const s = c.add(e.id);
    c.link[s] = dec;
    c.who[s] = c.official(e.official);
    c.amount.set(s, amount);
    if (needsConfirmation) c.flags[s] = NEEDS_CONFIRMATION;
  }

  private _confirmation(e: Extract<AuditEntry, { kind: "confirmation" }>): void {
    const pay = this._target(e, e.payoutId, Kind.payout, "payoutId");
    const c = this._c;
    const s = c.add(e.id);
    if (pay < 0) return;
    c.link[s] = pay;
    this._live(pay, "payoutId");
    this._scope(e, this._programmeSlot(pay));
    if (!(c.flags[pay]! & NEEDS_CONFIRMATION)) return this._fail("payout-needs-confirmation", `payout ${e.payoutId} is under a decision below the four-eyes threshold and takes no confirmation`);
    if (c.other[pay]! >= 0) return this._fail("payout-needs-confirmation", `payout ${e.payoutId} was already confirmed by ${c.id(c.other[pay]!)}`);
    if (c.who[pay] === c.official(e.official)) this._fail("confirmer-not-recorder", `${e.official} recorded payout ${e.payoutId} and confirmed it too`);
    c.other[pay] = s;
    this._addPaid(c.link[pay]!, c.amount.get(pay) - c.running.get(pay));
  }

  /** Whether a payout counts as paid: below the threshold, or confirmed. */
  private _effective(pay: number): boolean {
    return !(this._c.flags[pay]! & NEEDS_CONFIRMATION) || this._c.other[pay]! >= 0;
  }

  private _correction(e: Extract<AuditEntry, { kind: "correction" }>): void {
    const target = this._target(e, e.targetId, 0, "targetId");
    const c = this._c;
    const s = c.add(e.id);
    if (target < 0) return;
    c.link[s] = target;
    const targetKind = c.kindName(target);
    const movedPrg = targetKind === "programme" && e.replacementAgency !== null ? this._programmes.get(target)! : undefined;
    // An official moving a programme of an unregistered agency into its own is not scoped by the old agency (the service's migration rule).
    if (!(movedPrg !== undefined && e.replacementAgency === e.agency && !this._agencies.has(movedPrg.agency))) this._scope(e, this._programmeSlot(target));
    if (movedPrg !== undefined) movedPrg.agency = e.replacementAgency!;
    const wantsReplacement = e.reasonCode === "data-entry-error" || e.reasonCode === "superseded";
    if (wantsReplacement !== e.hasReplacement)
      this._fail("correction-fields", wantsReplacement ? `${e.reasonCode} needs replacement values` : `${e.reasonCode} takes no replacement values`);
    if ((e.reasonCode === "clawback") !== (e.clawbackFen !== null))
      this._fail("correction-fields", e.reasonCode === "clawback" ? "a clawback needs clawbackFen" : "only a clawback takes clawbackFen");

    switch (e.reasonCode) {
      case "data-entry-error":
      case "superseded": {
        const fields = e.replacementFields ?? [];
        const allowed = (targetKind === "" ? undefined : CORRECTABLE[targetKind]) ?? [];
        if (e.hasReplacement && fields.length === 0) this._fail("correction-fields", "the replacement changes no field");
        const refused = fields.filter((f) => !allowed.includes(f));
        if (refused.length > 0) this._fail("correction-fields", `a ${targetKind} cannot have ${refused.join(", ")} corrected`);
        this._live(target, "targetId");
        const today = cstDate(e.recordedMs);
        if (targetKind === "payout" && e.replacementPaidOn !== null && e.replacementPaidOn > today)
          this._fail("payout-date-not-future", `paidOn ${e.replacementPaidOn} is after the day it was recorded, ${today} (UTC+8)`);
        return;
      }
      case "clawback": {
        if (targetKind !== "payout") return this._fail("reference-kind", `targetId: a clawback targets a payout, not a ${targetKind}`);
        this._live(target, "targetId");
        const claw = e.clawbackFen === null ? 0n : BigInt(e.clawbackFen);
        const clawedBack = c.running.get(target);
        const paid = this._effective(target) ? c.amount.get(target) - clawedBack : 0n;
        if (claw <= 0n) this._fail("amount-positive", "clawbackFen must be greater than 0");
        if (claw > paid) this._fail("clawback-within-paid", `clawback ${claw} exceeds the ${paid} paid on payout ${e.targetId}`);
        c.running.set(target, clawedBack + claw);
        const dec = c.link[target]!;
        c.running.set(dec, c.running.get(dec) - claw);
        this._addPaid(dec, -claw);
        return;
      }
      case "revoked":
        return this._revoke(target, e);
    }
  }

  private _revoke(target: number, e: Extract<AuditEntry, { kind: "correction" }>): void {
    const c = this._c;
    const refuse = (why: string) => this._fail("revocation-allowed", why);
    this._live(target, "targetId");
    switch (c.kind[target]) {
      case Kind.payout: {
        const outstanding = c.amount.get(target) - c.running.get(target);
        if (this._effective(target) && outstanding > 0n) refuse(`payout ${e.targetId} still had ${outstanding} paid; it must be clawed back before it is revoked`);
        const dec = c.link[target]!;
        c.running.set(dec, c.running.get(dec) - outstanding);
        break;
      }
      case Kind.decision: {
        const committed = c.running.get(target);
        if (committed > 0n) refuse(`decision ${e.targetId} still had ${committed} in payouts`);
        const app = c.link[target]!;
        c.other[app] = -1;
        const prg = this._programmeOf(app);
        if (c.flags[target]! & APPROVED && prg !== undefined) {
          prg.approved -= c.amount.get(target);
          this._addEnterpriseApproved(app, -c.amount.get(target));
        }
        break;
      }
      case Kind.application: {
        if (c.other[target]! >= 0) refuse(`application ${e.targetId} still had decision ${c.id(c.other[target]!)}`);
        const prg = this._programmeOf(target);
        if (prg !== undefined) prg.applications -= 1;
        break;
      }
      case Kind.programme: {
        const prg = this._programmes.get(target)!;
        if (prg.applications > 0) refuse(`programme ${prg.id} still had ${prg.applications} live applications`);
        break;
      }
      default:
        return refuse(`correction ${e.id}: a ${c.kindName(target)} cannot be revoked`);
    }
    c.flags[target]! |= REVOKED;
  }
}
