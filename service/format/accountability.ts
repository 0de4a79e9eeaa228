/**
 * Accountability invariants over public entries alone: four-eyes that cannot
 * be split, and per-enterprise caps. Pure: the service's rules use the same
 * predicates to decide, and the auditor replays the same check on the
 * published log, so the two cannot drift apart.
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
import { FEN } from "./entry";
import { sameOfficial } from "./officials";

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

/** The names of the accountability checks, as reported in a violation. */
export type AccountabilityRule =
  /** A payout's `needsConfirmation` disagrees with {@link payoutNeedsConfirmation}. */
  | "four-eyes-rule"
  /** An unconfirmed payout took an application's net paid amount to or past the threshold. */
  | "four-eyes-unconfirmed"
  /** A payout was confirmed by the official who recorded it. */
  | "confirmer-not-recorder"
  /** A confirmation names no payout awaiting one. */
  | "confirmation-target"
  /** Approved decisions for one enterprise in one programme exceed the programme's maxPerEnterpriseFen. */
  | "enterprise-cap"
  /** A field this check needs is missing or malformed, or a reference dangles. */
  | "entry-unreadable";

export interface AccountabilityViolation {
  readonly rule: AccountabilityRule;
  /** The entry at which the violation became visible. */
  readonly entryId: string;
  readonly message: string;
}

/** The parts of a public entry (service/format/entry.ts) this check reads. */
export interface AccountableEntry {
  readonly id: string;
  readonly kind: string;
  readonly actor: { readonly official: string };
  readonly body: { readonly [field: string]: unknown };
}

interface Prg {
  readonly threshold: bigint;
  readonly cap: bigint | null;
}
interface App {
  readonly programmeId: string;
  readonly enterprise: string;
  paid: bigint;
}
interface Dec {
  readonly applicationId: string;
  readonly approved: bigint;
  revoked: boolean;
}
interface Pay {
  readonly applicationId: string;
  readonly amount: bigint;
  readonly recorder: string;
  readonly needsConfirmation: boolean;
  confirmed: boolean;
  clawedBack: bigint;
  revoked: boolean;
}

class Unreadable extends Error {}

function official(e: AccountableEntry): string {
  const o: unknown = (e.actor as { official?: unknown } | undefined)?.official;
  if (typeof o !== "string") throw new Unreadable("actor.official is not a string");
  return o;
}

function str(body: AccountableEntry["body"], field: string): string {
  const v = body[field];
  if (typeof v !== "string") throw new Unreadable(`body.${field} is not a string`);
  return v;
}

function fen(body: AccountableEntry["body"], field: string): bigint {
  const v = str(body, field);
  if (!FEN.test(v)) throw new Unreadable(`body.${field} is not an amount in fen`);
  return BigInt(v);
}

/**
 * Replays public entries in log order and reports every accountability
 * violation. Feed it every entry of the log, in order, through
 * {@link apply}; entries of kinds it does not know are ignored. It never
 * throws on malformed input: what it cannot read is an `entry-unreadable`
 * violation.
 */
export class AccountabilityReplay {
  private readonly _programmes = new Map<string, Prg>();
  private readonly _applications = new Map<string, App>();
  private readonly _decisions = new Map<string, Dec>();
  private readonly _payouts = new Map<string, Pay>();
  /** `${programmeId} ${creditCode}` → approved fen of live approved decisions. */
  private readonly _enterpriseApproved = new Map<string, bigint>();

  /** Applies one entry; returns the violations it reveals (usually none). */
  apply(e: AccountableEntry): AccountabilityViolation[] {
    const out: AccountabilityViolation[] = [];
    const fail = (rule: AccountabilityRule, message: string) => out.push({ rule, entryId: e.id, message });
    try {
      this._apply(e, fail);
    } catch (err) {
      if (!(err instanceof Unreadable)) throw err;
      fail("entry-unreadable", `${e.kind} ${e.id}: ${err.message}`);
    }
    return out;
  }

  /** An application's net paid amount so far (effective payouts less clawbacks), or undefined for an unknown id. */
  paidFen(applicationId: string): bigint | undefined {
    return this._applications.get(applicationId)?.paid;
  }

  private _get<T>(map: Map<string, T>, id: string, what: string): T {
    const v = map.get(id);
    if (v === undefined) throw new Unreadable(`no earlier ${what} ${id}`);
    return v;
  }

  private _apply(e: AccountableEntry, fail: (rule: AccountabilityRule, message: string) => void): void {
    const b = e.body;
    switch (e.kind) {
      case "programme": {
        const capField = b["maxPerEnterpriseFen"];
        this._programmes.set(e.id, { threshold: fen(b, "fourEyesThresholdFen"), cap: capField === undefined ? null : fen(b, "maxPerEnterpriseFen") });
        break;
      }
      case "application":
        this._get(this._programmes, str(b, "programmeId"), "programme");
        this._applications.set(e.id, { programmeId: str(b, "programmeId"), enterprise: str(b, "creditCode"), paid: 0n });
        break;
      case "decision": {
        const applicationId = str(b, "applicationId");
        const app = this._get(this._applications, applicationId, "application");
        const approved = str(b, "outcome") === "approved" ? fen(b, "approvedFen") : 0n;
        this._decisions.set(e.id, { applicationId, approved, revoked: false });
        if (approved > 0n) {
          const key = `${app.programmeId} ${app.enterprise}`;
          const before = this._enterpriseApproved.get(key) ?? 0n;
          const cap = this._get(this._programmes, app.programmeId, "programme").cap;
          if (!withinEnterpriseCap(before, approved, cap))
            fail("enterprise-cap", `approving ${approved} brings enterprise ${app.enterprise} to ${before + approved} in programme ${app.programmeId}, over its cap of ${cap}`);
          this._enterpriseApproved.set(key, before + approved);
        }
        break;
      }
      case "payout": {
        const dec = this._get(this._decisions, str(b, "decisionId"), "decision");
        const app = this._get(this._applications, dec.applicationId, "application");
        const prg = this._get(this._programmes, app.programmeId, "programme");
        const amount = fen(b, "amountFen");
        const flagged = b["needsConfirmation"];
        if (typeof flagged !== "boolean") throw new Unreadable("body.needsConfirmation is not true or false");
        const expected = payoutNeedsConfirmation(dec.approved, prg.threshold);
        if (flagged !== expected)
          fail("four-eyes-rule", `payout under a decision approving ${dec.approved} with threshold ${prg.threshold} must ${expected ? "" : "not "}need confirmation`);
        this._payouts.set(e.id, { applicationId: dec.applicationId, amount, recorder: official(e), needsConfirmation: flagged, confirmed: false, clawedBack: 0n, revoked: false });
        if (!flagged) {
          app.paid += amount;
          if (app.paid >= prg.threshold)
            fail("four-eyes-unconfirmed", `unconfirmed payout of ${amount} takes application ${dec.applicationId} to ${app.paid} paid, at or past the threshold ${prg.threshold}`);
        }
        break;
      }
      case "confirmation": {
        const payoutId = str(b, "payoutId");
        const pay = this._get(this._payouts, payoutId, "payout");
        if (!pay.needsConfirmation || pay.confirmed || pay.revoked) {
          fail("confirmation-target", `payout ${payoutId} is not awaiting a confirmation`);
          break;
        }
        if (sameOfficial(official(e), pay.recorder)) fail("confirmer-not-recorder", `official ${pay.recorder} confirmed their own payout ${payoutId}`);
        pay.confirmed = true;
        this._get(this._applications, pay.applicationId, "application").paid += pay.amount - pay.clawedBack;
        break;
      }
      case "correction": {
        const targetId = str(b, "targetId");
        const reason = str(b, "reasonCode");
        if (reason === "clawback") {
          const pay = this._get(this._payouts, targetId, "payout");
          const clawback = fen(b, "clawbackFen");
          pay.clawedBack += clawback;
          if (!pay.needsConfirmation || pay.confirmed) this._get(this._applications, pay.applicationId, "application").paid -= clawback;
        } else if (reason === "revoked") {
          const pay = this._payouts.get(targetId);
          if (pay !== undefined) pay.revoked = true;
          const dec = this._decisions.get(targetId);
          if (dec !== undefined && !dec.revoked) {
            dec.revoked = true;
            const app = this._get(this._applications, dec.applicationId, "application");
            const key = `${app.programmeId} ${app.enterprise}`;
            this._enterpriseApproved.set(key, (this._enterpriseApproved.get(key) ?? 0n) - dec.approved);
          }
        }
        break;
      }
    }
  }
}

/** Every accountability violation in a whole log of public entries, in log order. */
export function checkAccountability(entries: Iterable<AccountableEntry>): AccountabilityViolation[] {
  const replay = new AccountabilityReplay();
  const out: AccountabilityViolation[] = [];
  for (const e of entries) out.push(...replay.apply(e));
  return out;
}
