/**
 * The ledger's business invariants, recomputed from public entries alone.
 *
 * This is a second, independent reading of the rules the service enforces
 * before it appends anything (service/records/rules.ts): a left fold over
 * the log in order, keeping per entry only what later entries are checked
 * against. Written from the rules' text, not by importing them, so a bug or
 * a change in the service does not silently change what the auditor checks.
 * The rule names are the service's (`rule` in its problem+json), plus
 * `refs-match-body` and `role-may-record` for what its schemas enforce.
 *
 * Semantics mirrored (amounts are integer fen):
 * - budget: the sum of approvedFen over live approved decisions of a programme
 *   never exceeds its budgetFen (`budget-not-exceeded`);
 * - per decision: live payouts net of clawbacks, awaiting confirmation
 *   included, never exceed approvedFen (`payout-within-approved`), so what is
 *   paid never does either;
 * - four eyes: a payout is `needsConfirmation` exactly when its amount is at
 *   or above the programme's fourEyesThresholdFen; it counts as paid only
 *   once confirmed, by an approver who did not record it, and only once
 *   (`four-eyes-threshold`, `payout-needs-confirmation`, `confirmer-not-recorder`);
 * - the decider is not the official who recorded the application
 *   (`decider-not-recorder`);
 * - every reference, corrections' targets included, names an earlier entry
 *   of the right kind (`reference-exists`, `reference-kind`); revoked
 *   entries take no new dependants (`entry-revoked`);
 * - corrections: replacement fields per kind, clawbacks within what was
 *   paid, revocation only once nothing depends on the entry.
 * Calendar dates are China Standard Time (UTC+8), as the service's.
 *
 * After a violation the entry's effect is still applied, as the log records
 * it, so later checks see the totals the log implies.
 */
import { KIND_ROLES, type AuditEntry } from "./entries";

const CST_OFFSET_MS = 8 * 3600 * 1000;

const DAY_MS = 86_400_000;
let cachedDay = NaN;
let cachedDate = "";

/** The civil date in China Standard Time of an instant (ms since the epoch). */
export function cstDate(ms: number): string {
  // Entries come in time order, so consecutive calls mostly fall on the same day.
  const day = Math.floor((ms + CST_OFFSET_MS) / DAY_MS);
  if (day !== cachedDay) {
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
    cachedDay = day;
  }
  return cachedDate;
}

/** Which replacement fields a correction may change on each kind (the service's CORRECTABLE). */
const CORRECTABLE: Readonly<Record<string, readonly string[]>> = {
  programme: ["name", "agency", "policyDocument"],
  application: ["enterpriseName", "region", "private.contactPerson", "private.phone", "private.bankAccount"],
  decision: ["reason"],
  payout: ["paidOn", "private.bankTransactionRef"],
};

class Programme {
  readonly kind = "programme";
  approved = 0n;
  paid = 0n;
  applications = 0;
  revoked = false;
  constructor(
    readonly id: string,
    readonly budget: bigint,
    readonly threshold: bigint,
    readonly opensOn: string,
    readonly closesOn: string,
  ) {}
}

class Application {
  readonly kind = "application";
  decisionId: string | null = null;
  revoked = false;
  constructor(
    readonly id: string,
    readonly programme: Programme | undefined,
    readonly recordedBy: string,
    readonly requested: bigint,
  ) {}
}

class Decision {
  readonly kind = "decision";
  committed = 0n;
  paid = 0n;
  revoked = false;
  constructor(
    readonly id: string,
    readonly application: Application,
    readonly approvedFen: bigint,
    readonly approved: boolean,
  ) {}
}

class Payout {
  readonly kind = "payout";
  confirmationId: string | null = null;
  clawedBack = 0n;
  revoked = false;
  constructor(
    readonly id: string,
    readonly decision: Decision,
    readonly amount: bigint,
    readonly recordedBy: string,
    /** As the rule computes it from the threshold (the entry's own flag is checked against it). */
    readonly needsConfirmation: boolean,
  ) {}
}

/** Confirmations and corrections are only ever looked up to say what kind they are. */
const CONFIRMATION = { kind: "confirmation" } as const;
const CORRECTION = { kind: "correction" } as const;

type Doc = Programme | Application | Decision | Payout | typeof CONFIRMATION | typeof CORRECTION;
type Kinded<K extends Doc["kind"]> = Extract<Doc, { kind: K }>;

export type Violation = (rule: string, message: string) => void;

export interface InvariantTotals {
  readonly programmes: number;
  readonly budgetFen: string;
  readonly approvedFen: string;
  readonly paidFen: string;
}

export class InvariantReplay {
  private readonly _docs = new Map<string, Doc>();
  private readonly _codes = new Set<string>();
  private readonly _names = new Map<string, string>();
  private _report: Violation = () => {};

  /** Whether an entry with this id was seen. */
  has(id: string): boolean {
    return this._docs.has(id);
  }

  /**
   * Checks one entry against everything before it and applies its effect.
   * Calls `report` once per broken rule. Entries must come in log order.
   */
  apply(e: AuditEntry, report: Violation): void {
    this._report = report;
    if (!KIND_ROLES[e.kind].includes(e.role)) this._fail("role-may-record", `a ${e.role} recorded a ${e.kind}; only ${KIND_ROLES[e.kind].join(", ")} may`);
    switch (e.kind) {
      case "programme":
        return this._programme(e);
      case "application":
        return this._application(e);
      case "decision":
        return this._decision(e);
      case "payout":
        return this._payout(e);
      case "confirmation":
        return this._confirmation(e);
      case "correction":
        return this._correction(e);
    }
  }

  totals(): InvariantTotals {
    let programmes = 0;
    let budget = 0n;
    let approved = 0n;
    let paid = 0n;
    for (const d of this._docs.values())
      if (d instanceof Programme && !d.revoked) {
        programmes++;
        budget += d.budget;
        approved += d.approved;
        paid += d.paid;
      }
    return { programmes, budgetFen: budget.toString(), approvedFen: approved.toString(), paidFen: paid.toString() };
  }

  /** One copy of each official's name, however many entries they recorded. */
  private _intern(name: string): string {
    const known = this._names.get(name);
    if (known !== undefined) return known;
    this._names.set(name, name);
    return name;
  }

  private _fail(rule: string, message: string): void {
    this._report(rule, message);
  }

  private _refs(e: AuditEntry, expected: readonly string[]): void {
    if (e.refs.length !== expected.length || e.refs.some((r, i) => r !== expected[i]))
      this._fail("refs-match-body", `refs ${JSON.stringify(e.refs)} should be ${JSON.stringify(expected)}`);
  }

  /** The referenced entry, if it exists and is of `kind`; reports and answers undefined otherwise. */
  private _ref<K extends Doc["kind"]>(id: string, kind: K, field: string): Kinded<K> | undefined {
    const doc = this._docs.get(id);
    if (doc === undefined) {
      this._fail("reference-exists", `${field}: no earlier entry ${id}`);
      return undefined;
    }
    if (doc.kind !== kind) {
      this._fail("reference-kind", `${field}: entry ${id} is a ${doc.kind}, not a ${kind}`);
      return undefined;
    }
    return doc as Kinded<K>;
  }

  private _live(doc: { revoked: boolean; kind: string; id: string }, field: string): void {
    if (doc.revoked) this._fail("entry-revoked", `${field}: ${doc.kind} ${doc.id} had been revoked`);
  }

  private _programme(e: Extract<AuditEntry, { kind: "programme" }>): void {
    this._refs(e, []);
    if (this._codes.has(e.code)) this._fail("programme-code-unique", `programme code ${e.code} was already used`);
    this._codes.add(e.code);
    if (e.opensOn > e.closesOn) this._fail("programme-dates-ordered", `opensOn ${e.opensOn} is after closesOn ${e.closesOn}`);
    if (e.budgetFen <= 0n) this._fail("programme-budget-positive", "budgetFen must be greater than 0");
    this._docs.set(e.id, new Programme(e.id, e.budgetFen, e.fourEyesThresholdFen, e.opensOn, e.closesOn));
  }

  private _application(e: Extract<AuditEntry, { kind: "application" }>): void {
    this._refs(e, [e.programmeId]);
    const prg = this._ref(e.programmeId, "programme", "programmeId");
    if (prg !== undefined) {
      this._live(prg, "programmeId");
      const today = cstDate(e.recordedMs);
      if (today < prg.opensOn || today > prg.closesOn)
        this._fail("programme-open", `recorded on ${today} (UTC+8), but programme ${prg.id} is open ${prg.opensOn} to ${prg.closesOn}`);
      prg.applications += 1;
    }
    if (e.requestedFen <= 0n) this._fail("amount-positive", "requestedFen must be greater than 0");
    this._docs.set(e.id, new Application(e.id, prg, this._intern(e.official), e.requestedFen));
  }

  private _decision(e: Extract<AuditEntry, { kind: "decision" }>): void {
    this._refs(e, [e.applicationId]);
    const app = this._ref(e.applicationId, "application", "applicationId");
    if (app === undefined) return;
    this._live(app, "applicationId");
    if (app.decisionId !== null) this._fail("application-pending", `application ${app.id} already had decision ${app.decisionId}`);
    if (app.recordedBy === e.official) this._fail("decider-not-recorder", `${e.official} recorded application ${app.id} and decided it too`);
    const prg = app.programme;
    if (prg !== undefined) this._live(prg, "programme");
    const approved = e.outcome === "approved";
    if (!approved) {
      if (e.approvedFen !== 0n) this._fail("rejection-approves-nothing", `a rejection approves ${e.approvedFen}, not 0`);
    } else {
      if (e.approvedFen <= 0n) this._fail("amount-positive", "approvedFen must be greater than 0 for an approval");
      if (e.approvedFen > app.requested) this._fail("approved-within-requested", `approvedFen ${e.approvedFen} exceeds requestedFen ${app.requested}`);
      if (prg !== undefined) {
        const after = prg.approved + e.approvedFen;
        if (after > prg.budget) this._fail("budget-not-exceeded", `approvals on programme ${prg.id} reach ${after} of its ${prg.budget} budget`);
        prg.approved = after;
      }
    }
    app.decisionId = e.id;
    this._docs.set(e.id, new Decision(e.id, app, e.approvedFen, approved));
  }

  private _addPaid(dec: Decision, fen: bigint): void {
    dec.paid += fen;
    const prg = dec.application.programme;
    if (prg !== undefined) prg.paid += fen;
  }

  private _payout(e: Extract<AuditEntry, { kind: "payout" }>): void {
    this._refs(e, [e.decisionId]);
    const dec = this._ref(e.decisionId, "decision", "decisionId");
    if (dec === undefined) return;
    this._live(dec, "decisionId");
    if (!dec.approved) this._fail("decision-approved", `decision ${dec.id} rejected the application`);
    if (e.amountFen <= 0n) this._fail("amount-positive", "amountFen must be greater than 0");
    const committed = dec.committed + e.amountFen;
    if (committed > dec.approvedFen) this._fail("payout-within-approved", `payouts on decision ${dec.id} total ${committed} of ${dec.approvedFen} approved`);
    const today = cstDate(e.recordedMs);
    if (e.paidOn > today) this._fail("payout-date-not-future", `paidOn ${e.paidOn} is after the day it was recorded, ${today} (UTC+8)`);
    const prg = dec.application.programme;
    // Without its programme the threshold is unknown; the entry's own flag stands (the missing reference is reported).
    const needsConfirmation = prg === undefined ? e.needsConfirmation : e.amountFen >= prg.threshold;
    if (prg !== undefined && e.needsConfirmation !== needsConfirmation)
      this._fail(
        "four-eyes-threshold",
        needsConfirmation
          ? `a payout of ${e.amountFen} is at or above the four-eyes threshold ${prg.threshold} but is not marked for confirmation`
          : `a payout of ${e.amountFen} is below the four-eyes threshold ${prg.threshold} but is marked for confirmation`,
      );
    dec.committed = committed;
    if (!needsConfirmation) this._addPaid(dec, e.amountFen);
    this._docs.set(e.id, new Payout(e.id, dec, e.amountFen, this._intern(e.official), needsConfirmation));
  }

  private _confirmation(e: Extract<AuditEntry, { kind: "confirmation" }>): void {
    this._refs(e, [e.payoutId]);
    this._docs.set(e.id, CONFIRMATION);
    const pay = this._ref(e.payoutId, "payout", "payoutId");
    if (pay === undefined) return;
    this._live(pay, "payoutId");
    if (!pay.needsConfirmation) {
      this._fail("payout-needs-confirmation", `payout ${pay.id} is below the four-eyes threshold and takes no confirmation`);
      return;
    }
    if (pay.confirmationId !== null) {
      this._fail("payout-needs-confirmation", `payout ${pay.id} was already confirmed by ${pay.confirmationId}`);
      return;
    }
    if (pay.recordedBy === e.official) this._fail("confirmer-not-recorder", `${e.official} recorded payout ${pay.id} and confirmed it too`);
    pay.confirmationId = e.id;
    this._addPaid(pay.decision, pay.amount - pay.clawedBack);
  }

  private _correction(e: Extract<AuditEntry, { kind: "correction" }>): void {
    this._refs(e, [e.targetId]);
    this._docs.set(e.id, CORRECTION);
    const target = this._docs.get(e.targetId);
    if (target === undefined) {
      this._fail("reference-exists", `targetId: no earlier entry ${e.targetId}`);
      return;
    }
    const wantsReplacement = e.reasonCode === "data-entry-error" || e.reasonCode === "superseded";
    if (wantsReplacement !== e.hasReplacement)
      this._fail("correction-fields", wantsReplacement ? `${e.reasonCode} needs replacement values` : `${e.reasonCode} takes no replacement values`);
    if ((e.reasonCode === "clawback") !== (e.clawbackFen !== null))
      this._fail("correction-fields", e.reasonCode === "clawback" ? "a clawback needs clawbackFen" : "only a clawback takes clawbackFen");

    switch (e.reasonCode) {
      case "data-entry-error":
      case "superseded": {
        const fields = e.replacementFields ?? [];
        const allowed = CORRECTABLE[target.kind] ?? [];
        if (e.hasReplacement && fields.length === 0) this._fail("correction-fields", "the replacement changes no field");
        const refused = fields.filter((f) => !allowed.includes(f));
        if (refused.length > 0) this._fail("correction-fields", `a ${target.kind} cannot have ${refused.join(", ")} corrected`);
        if ("revoked" in target) this._live(target, "targetId");
        const today = cstDate(e.recordedMs);
        if (target.kind === "payout" && e.replacementPaidOn !== null && e.replacementPaidOn > today)
          this._fail("payout-date-not-future", `paidOn ${e.replacementPaidOn} is after the day it was recorded, ${today} (UTC+8)`);
        return;
      }
      case "clawback": {
        if (target.kind !== "payout") {
          this._fail("reference-kind", `targetId: a clawback targets a payout, not a ${target.kind}`);
          return;
        }
        this._live(target, "targetId");
        const c = e.clawbackFen ?? 0n;
        const effective = !target.needsConfirmation || target.confirmationId !== null;
        const paid = effective ? target.amount - target.clawedBack : 0n;
        if (c <= 0n) this._fail("amount-positive", "clawbackFen must be greater than 0");
        if (c > paid) this._fail("clawback-within-paid", `clawback ${c} exceeds the ${paid} paid on payout ${target.id}`);
        target.clawedBack += c;
        target.decision.committed -= c;
        this._addPaid(target.decision, -c);
        return;
      }
      case "revoked":
        this._revoke(target, e);
        return;
    }
  }

  private _revoke(target: Doc, e: Extract<AuditEntry, { kind: "correction" }>): void {
    const refuse = (why: string) => this._fail("revocation-allowed", why);
    switch (target.kind) {
      case "payout": {
        this._live(target, "targetId");
        const effective = !target.needsConfirmation || target.confirmationId !== null;
        const outstanding = target.amount - target.clawedBack;
        if (effective && outstanding > 0n) refuse(`payout ${target.id} still had ${outstanding} paid; it must be clawed back before it is revoked`);
        target.decision.committed -= outstanding;
        break;
      }
      case "decision": {
        this._live(target, "targetId");
        if (target.committed > 0n) refuse(`decision ${target.id} still had ${target.committed} in payouts`);
        target.application.decisionId = null;
        const prg = target.application.programme;
        if (target.approved && prg !== undefined) prg.approved -= target.approvedFen;
        break;
      }
      case "application": {
        this._live(target, "targetId");
        if (target.decisionId !== null) refuse(`application ${target.id} still had decision ${target.decisionId}`);
        if (target.programme !== undefined) target.programme.applications -= 1;
        break;
      }
      case "programme": {
        this._live(target, "targetId");
        if (target.applications > 0) refuse(`programme ${target.id} still had ${target.applications} live applications`);
        break;
      }
      default:
        refuse(`correction ${e.id}: a ${target.kind} cannot be revoked`);
        return;
    }
    target.revoked = true;
  }
}
