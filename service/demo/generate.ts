/**
 * The demo history as a plan: a deterministic function of a seed and a start
 * month, with no I/O and no clock. The plan is a list of sessions, each one
 * official recording a few records at one instant; {@link ./load} appends
 * each session as one batch through the real ledger and business rules.
 *
 * Records cannot know the ids of the entries they refer to (the ledger
 * assigns ids), so a planned record refers to an earlier one by its position
 * in the plan, and every reference points into an earlier session. The
 * generator checks that, and that the sessions' instants strictly increase,
 * before returning: a bug here fails loudly, not as a refused batch.
 *
 * The history covers {@link DEMO_MONTHS} whole calendar months (China
 * Standard Time) from the start month: six programmes of 浙江省 agencies, a
 * few hundred enterprises in its urban districts, counties and county-level
 * cities, and their applications, decisions, payouts (some in two tranches,
 * some at or above the four-eyes threshold and confirmed by a second
 * official), and corrections: two clawbacks, keying errors in an enterprise
 * name, a region, a bank account and a payment date, and one withdrawn
 * application. Applications near the end are still pending, and some
 * two-tranche projects are only partly paid, as in a real ledger.
 */
import { prng } from "../prng";
import { sha256, toHex } from "../log";
import { payoutNeedsConfirmation } from "../format/accountability";
import { CST_OFFSET_MS, cstDate } from "../format/calendar";
import { yuan } from "../format/money";
import type { Actor } from "../records/entry";
import {
  allCountyDivisions,
  CREDIT_CODE_ALPHABET,
  creditCodeCheckChar,
  organisationCodeCheckChar,
  type DivisionInfo,
  type RegionType,
} from "../records/identifiers";
import {
  MAX_BATCH_RECORDS,
  type AgencyRequest,
  type DelegationRequest,
  type ApplicationRequest,
  type ConfirmationRequest,
  type CorrectionRequest,
  type DecisionRequest,
  type PayoutRequest,
  type ProgrammeRequest,
} from "../records/schemas";
import {
  AGENCIES,
  DEMO_PROVINCE,
  GIVEN_NAMES,
  INDUSTRIES,
  MOUNTAIN_COUNTIES,
  officials,
  PROGRAMMES,
  PROVINCE_FGW,
  QUZHOU_FGW,
  QUZHOU_PREFIX,
  SURNAMES,
  TRADE_FIRST,
  TRADE_SECOND,
  TYPO_OF,
  type AgencyKey,
  type ProgrammeModel,
} from "./catalogue";

/** The seed `npm run demo` uses. */
export const DEMO_SEED = 20260501;

/** How many calendar months the history covers. */
export const DEMO_MONTHS = 6;

/** How many enterprises the default demo has. */
export const DEMO_ENTERPRISES = 300;

/** The fewest applications any programme gets. */
const MIN_APPLICATIONS = 8;

// ---------------------------------------------------------------------------
// The plan

/** A request body whose reference to another entry is that entry's position in the plan. */
type Ref<T, K extends keyof T> = Omit<T, K> & { readonly [P in K]: number };

export type PlannedCommand =
  | { readonly kind: "agency"; readonly body: AgencyRequest }
  | { readonly kind: "delegation"; readonly body: DelegationRequest }
  | { readonly kind: "programme"; readonly body: ProgrammeRequest }
  | { readonly kind: "application"; readonly body: Ref<ApplicationRequest, "programmeId"> }
  | { readonly kind: "decision"; readonly body: Ref<DecisionRequest, "applicationId"> }
  | { readonly kind: "payout"; readonly body: Ref<PayoutRequest, "decisionId"> }
  | { readonly kind: "confirmation"; readonly body: Ref<ConfirmationRequest, "payoutId"> }
  | { readonly kind: "correction"; readonly body: Ref<CorrectionRequest, "targetId"> };

/** One official recording records at one instant: appended as one batch. */
export interface DemoSession {
  /** RFC 3339 UTC, strictly later than the session before. */
  readonly at: string;
  readonly actor: Actor;
  /** Position in the plan of this session's first record. */
  readonly first: number;
  /** At most MAX_BATCH_RECORDS. */
  readonly records: readonly PlannedCommand[];
}

/** A record worth looking at in the demo, for the start-up banner and the tests. */
export interface DemoHighlight {
  readonly label: string;
  /** Position of the record in the plan. */
  readonly record: number;
  readonly creditCode: string;
  readonly enterpriseName: string;
}

export interface DemoPlan {
  readonly seed: number;
  /** First day of the first month, YYYY-MM-DD (China Standard Time). */
  readonly start: string;
  /** The instant of the last session. */
  readonly end: string;
  readonly sessions: readonly DemoSession[];
  readonly recordCount: number;
  readonly enterpriseCount: number;
  readonly highlights: readonly DemoHighlight[];
}

export interface DemoOptions {
  readonly seed?: number;
  /** First day of a month, YYYY-MM-DD; see {@link demoStart}. */
  readonly start: string;
  /** Default {@link DEMO_ENTERPRISES}; at least 50. */
  readonly enterprises?: number;
}

/** The generator broke one of its own invariants: a bug, never the caller's fault. */
export class DemoPlanError extends Error {
  override readonly name = "DemoPlanError";
}

function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new DemoPlanError(message);
}

// ---------------------------------------------------------------------------
// Calendar (China Standard Time)

const DAY_MS = 86_400_000;
const MONTH_START = /^([0-9]{4})-(0[1-9]|1[0-2])-01$/;

/** The civil date in China Standard Time (service/format/calendar.ts) of an RFC 3339 UTC instant. */
function cstDateOf(instant: string): string {
  const t = Date.parse(instant);
  if (Number.isNaN(t)) throw new RangeError(`not an RFC 3339 instant: ${JSON.stringify(instant)}`);
  return cstDate(t);
}

/**
 * The start month of a history that ends before `now`: the first day of the
 * month {@link DEMO_MONTHS} months before the current month (CST), so the
 * history is the last six whole months.
 */
export function demoStart(now: string): string {
  const [y, m] = cstDateOf(now).split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 - DEMO_MONTHS, 1)).toISOString().slice(0, 10);
}

/** The first day of the CST month of an instant: where a history whose first entry was recorded then starts. */
export function monthStartOf(instant: string): string {
  return `${cstDateOf(instant).slice(0, 8)}01`;
}

/**
 * Monday to Friday, except the Labour Day (1–5 May) and National Day
 * (1–7 October) holidays. The official calendar also moves a few working
 * days to weekends each year (调休) and has shorter holidays; the demo does
 * not need that precision, only no records on the main public holidays.
 */
function isWorkingDay(d: Date): boolean {
  const weekday = d.getUTCDay();
  const month = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  return weekday !== 0 && weekday !== 6 && !(month === 5 && day <= 5) && !(month === 10 && day <= 7);
}

interface Calendar {
  readonly year: number;
  /** Working days of the history, YYYY-MM-DD: see {@link isWorkingDay}. */
  readonly days: readonly string[];
  /** Month index (0-based from the start) of each working day. */
  readonly month: readonly number[];
  /** The last day of month `k` from the start, YYYY-MM-DD. */
  lastDayOfMonth(k: number): string;
}

function calendar(start: string): Calendar {
  const match = MONTH_START.exec(start);
  if (match === null) throw new RangeError(`the demo starts on the first day of a month (YYYY-MM-01), got ${JSON.stringify(start)}`);
  const year = Number(match[1]);
  const month0 = Number(match[2]) - 1;
  const days: string[] = [];
  const month: number[] = [];
  for (let t = Date.UTC(year, month0, 1); t < Date.UTC(year, month0 + DEMO_MONTHS, 1); t += DAY_MS) {
    const d = new Date(t);
    if (!isWorkingDay(d)) continue;
    days.push(d.toISOString().slice(0, 10));
    month.push((d.getUTCFullYear() - year) * 12 + d.getUTCMonth() - month0);
  }
  return {
    year,
    days,
    month,
    lastDayOfMonth: (k) => new Date(Date.UTC(year, month0 + k + 1, 0)).toISOString().slice(0, 10),
  };
}

/** The UTC instant of a CST date at a minute of the day plus `ms`. */
function instant(date: string, minuteOfDay: number, ms: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - CST_OFFSET_MS + minuteOfDay * 60_000 + ms).toISOString();
}

/** The same day one month earlier (the 28th where that day does not exist): a plausible keying error. */
function monthEarlier(date: string): string {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(y, m - 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m - 2, Math.min(d, lastDay))).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------
// Money

const YUAN = 100;

/** Fen (a whole number) as a grouped yuan amount for reason texts, through the one money formatter: 123456789 → "1,234,567.89元". */
function yuanText(fen: number): string {
  invariant(Number.isSafeInteger(fen), `not a whole number of fen: ${fen}`);
  return yuan(String(fen), { unit: "元" });
}

/** Rounds fen to whole hundreds of yuan. */
const hundredYuan = (fen: number) => Math.round(fen / (100 * YUAN)) * 100 * YUAN;

// ---------------------------------------------------------------------------
// Randomness

interface Rng {
  /** Uniform in [0, 1). */
  (): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  /** lo·(hi/lo)^u: amounts spread evenly on a log scale, as firm sizes are. */
  logUniform(lo: number, hi: number): number;
}

function rngOf(seed: number): Rng {
  const next = prng(seed);
  const r = (() => next()) as Rng;
  r.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  r.pick = (xs) => {
    invariant(xs.length > 0, "pick from an empty list");
    return xs[Math.floor(next() * xs.length)]!;
  };
  r.chance = (p) => next() < p;
  r.logUniform = (lo, hi) => lo * Math.exp(next() * Math.log(hi / lo));
  return r;
}

// ---------------------------------------------------------------------------
// Enterprises

interface Enterprise {
  readonly creditCode: string;
  readonly name: string;
  readonly region: DivisionInfo;
  readonly mountain: boolean;
  readonly contactPerson: string;
  readonly phone: string;
  readonly bankAccount: string;
}

/** The short place name a company name starts with: the prefecture for a district, else the county or city itself. */
function placeName(d: DivisionInfo): string {
  if (d.regionType === "urban-district") return (d.prefecture?.name ?? d.name).replace(/市$/, "");
  return d.name.replace(/(畲族自治县|县|市)$/, "");
}

const ORG_BODY_CHARS = CREDIT_CODE_ALPHABET.split("");

/**
 * A unified social credit code for an enterprise registered in `region`:
 * 9 (market regulation) 1 (enterprise), the region's division code, a
 * GB 11714 organisation code (an old 8-digit one, or a post-2015 "MA…" one)
 * with its own check character, and the GB 32100 check character.
 */
function creditCodeFor(rng: Rng, region: string): string {
  const body =
    rng.chance(0.45) ? String(rng.int(10_000_000, 79_999_999)) : `MA${Array.from({ length: 6 }, () => rng.pick(ORG_BODY_CHARS)).join("")}`;
  const first17 = `91${region}${body}${organisationCodeCheckChar(body)!}`;
  return first17 + creditCodeCheckChar(first17);
}

const REGION_TYPE_SHARE: readonly [RegionType, number][] = [
  ["urban-district", 0.45],
  ["county-level-city", 0.3],
  ["rural-county", 0.25],
];

function enterprises(rng: Rng, count: number): Enterprise[] {
  const divisions = allCountyDivisions().filter((d) => d.province.code === DEMO_PROVINCE.code);
  const byType = new Map<RegionType, DivisionInfo[]>(REGION_TYPE_SHARE.map(([t]) => [t, divisions.filter((d) => d.regionType === t)]));
  const mountain = new Set(MOUNTAIN_COUNTIES);
  invariant(
    MOUNTAIN_COUNTIES.every((c) => divisions.some((d) => d.code === c)),
    "every mountain county is a county-level division of the demo province",
  );
  const names = new Set<string>();
  const codes = new Set<string>();
  const out: Enterprise[] = [];
  const mountainDivisions = divisions.filter((d) => mountain.has(d.code));
  while (out.length < count) {
    let u = rng();
    const type = REGION_TYPE_SHARE.find(([, share]) => (u -= share) < 0)?.[0] ?? "urban-district";
    // The first few are in the mountain counties, so their programme has applicants however few enterprises there are.
    const region = out.length < MIN_APPLICATIONS ? rng.pick(mountainDivisions) : rng.pick(byType.get(type)!);
    const ruralLine = region.regionType !== "urban-district" && rng.chance(0.4);
    const industry = rng.pick(INDUSTRIES.filter((i) => i.rural === ruralLine)).name;
    const first = rng.pick(TRADE_FIRST);
    const second = rng.pick(TRADE_SECOND.filter((c) => c !== first));
    const name = rng.chance(0.1) ? `浙江${first}${second}${industry}股份有限公司` : `${placeName(region)}${first}${second}${industry}有限公司`;
    const creditCode = creditCodeFor(rng, region.code);
    if (names.has(name) || codes.has(creditCode)) continue;
    names.add(name);
    codes.add(creditCode);
    out.push({
      creditCode,
      name,
      region,
      mountain: mountain.has(region.code),
      contactPerson: rng.pick(SURNAMES) + rng.pick(GIVEN_NAMES),
      phone: `+86 138 0000 ${String(rng.int(0, 9999)).padStart(4, "0")}`,
      bankAccount: `99990000${String(rng.int(0, 99_999_999_999)).padStart(11, "0")}`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Events: records before they are put in order and numbered

type Slot = "admin" | "clerk" | "approver" | "payer" | "confirmer";

/** Minute of the day (CST) at which each kind of official records: mornings for intake and decisions, afternoons for the treasury. */
const SLOT_MINUTE: Readonly<Record<Slot, number>> = { admin: 9 * 60, clerk: 9 * 60 + 30, approver: 10 * 60 + 30, payer: 14 * 60, confirmer: 16 * 60 };

interface Ev {
  /** Working-day index. */
  readonly day: number;
  readonly slot: Slot;
  readonly actor: Actor;
  /** The entry this one refers to, if any. */
  readonly target: Ev | null;
  /** Builds the record once the target's position in the plan is known (-1 without a target). */
  readonly build: (target: number) => PlannedCommand;
  readonly seq: number;
  /** Set when the plan is put in order. */
  position?: number;
  session?: number;
}

interface Payment {
  readonly day: number;
  readonly amountFen: number;
  /** The date written on the payout; see the payment-date correction. */
  paidOn: string;
  readonly needsConfirmation: boolean;
  /** When a second official confirms it; null if not needed or not within the history. */
  readonly confirmDay: number | null;
}

interface Decision {
  readonly day: number;
  readonly approved: boolean;
  readonly approvedFen: number;
  readonly reason: string;
}

/** One application and what happens to it. */
interface Life {
  readonly enterprise: Enterprise;
  readonly model: ProgrammeModel;
  readonly day: number;
  readonly requestedFen: number;
  /** As the clerk typed them; see the keying-error corrections. */
  enterpriseName: string;
  region: string;
  bankAccount: string;
  /** Null while pending or once withdrawn. */
  decision: Decision | null;
  payments: Payment[];
}

/** Requested and approved amounts in fen, and the basis the decision quotes, for one application. */
function amounts(rng: Rng, model: ProgrammeModel): { requested: number; approved: number; basis: string } {
  switch (model.key) {
    case "wgfh": {
      const premium = Math.round(rng.logUniform(8_000, 480_000) * YUAN);
      const requested = Math.round(premium * 0.6);
      return { requested, approved: requested, basis: `上年度实际缴纳失业保险费${yuanText(premium)}` };
    }
    case "zjtx": {
      const giant = rng.chance(0.25);
      const requested = (giant ? 500_000 : 200_000) * YUAN;
      return { requested, approved: requested, basis: giant ? "国家级专精特新“小巨人”企业" : "省级专精特新中小企业" };
    }
    case "jsgz": {
      const investment = hundredYuan(rng.logUniform(5_000_000, 60_000_000) * YUAN);
      const requested = Math.min(hundredYuan(investment * 0.1), 5_000_000 * YUAN);
      const approved = rng.chance(0.5) ? requested : hundredYuan(requested * (0.75 + rng() * 0.2));
      return { requested, approved, basis: `申报设备和软件投资额${yuanText(investment)}` };
    }
    case "yfbz": {
      const increase = Math.round(rng.logUniform(500_000, 10_000_000) * YUAN);
      const requested = Math.round(increase * 0.1);
      const approved = rng.chance(0.8) ? requested : Math.round(requested * (0.6 + rng() * 0.35));
      return { requested, approved, basis: `上年度研发费用增量${yuanText(increase)}` };
    }
    case "sq26": {
      const investment = hundredYuan(rng.logUniform(2_000_000, 15_000_000) * YUAN);
      const requested = hundredYuan(investment * 0.15);
      const approved = rng.chance(0.6) ? requested : hundredYuan(requested * (0.85 + rng() * 0.15));
      return { requested, approved, basis: `申报项目投资额${yuanText(investment)}` };
    }
    case "stt": {
      const premium = hundredYuan(rng.logUniform(700_000, 3_500_000) * YUAN);
      const requested = Math.round(premium * 0.8);
      return { requested, approved: requested, basis: `首台（套）综合险年度保费${yuanText(premium)}` };
    }
    default:
      throw new DemoPlanError(`no amount model for programme ${model.key}`);
  }
}

/** The same digits with the last two swapped (or, if they are equal, the last one changed): a plausible keying error. */
function mistyped(digits: string): string {
  const a = digits.at(-2)!;
  const b = digits.at(-1)!;
  return a !== b ? digits.slice(0, -2) + b + a : digits.slice(0, -1) + String((Number(b) + 1) % 10);
}

/** The registered agency that pays (and confirms payouts) in its own programmes: an unregistered finance department may not. */
const FINANCE_OF_REGISTERED: AgencyKey = "fgw";

/** Who pays a programme's grants and confirms the payouts: the finance department, or the registered agency itself. */
function financeOf(model: ProgrammeModel): AgencyKey {
  return AGENCIES[model.agency].code !== undefined ? model.agency : "czt";
}

/** Who records in each time slot, in a fixed order: each official gets their own five minutes of the slot. */
const ROSTER: Readonly<Record<Slot, readonly string[]>> = (() => {
  const keys = Object.keys(AGENCIES) as AgencyKey[];
  const all = (role: Actor["role"], ok: (k: AgencyKey) => boolean) =>
    keys.filter(ok).flatMap((k) => {
      try {
        return officials(k, role).map((a) => a.official);
      } catch {
        return []; // the agency has no official in this role
      }
    });
  return {
    admin: all("admin", () => true),
    clerk: all("clerk", () => true),
    approver: all("approver", (k) => k !== "czt"),
    payer: all("payer", () => true),
    confirmer: all("approver", (k) => k === "czt" || k === FINANCE_OF_REGISTERED),
  };
})();

/** Minute of the day (CST) at which `actor` records in `slot`. */
function minuteOf(slot: Slot, actor: Actor): number {
  const i = ROSTER[slot].indexOf(actor.official);
  invariant(i >= 0, `official ${actor.official} does not record in the ${slot} slot`);
  return SLOT_MINUTE[slot] + 5 * i;
}

/**
 * The demo history for a seed and a start month. Pure and deterministic: the
 * same options always give the same plan. Throws RangeError for bad options,
 * DemoPlanError if the generator breaks its own invariants.
 */
export function generateDemo(options: DemoOptions): DemoPlan {
  const seed = options.seed ?? DEMO_SEED;
  const enterpriseCount = options.enterprises ?? DEMO_ENTERPRISES;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`the demo seed must be an integer, got ${String(seed)}`);
  if (!Number.isSafeInteger(enterpriseCount) || enterpriseCount < 50 || enterpriseCount > 5_000)
    throw new RangeError(`the demo has 50 to 5000 enterprises, got ${String(enterpriseCount)}`);
  const cal = calendar(options.start);
  const lastDay = cal.days.length - 1;
  const rng = rngOf(seed);

  // ---- What happens, day by day (working-day indexes).
  const firms = enterprises(rng, enterpriseCount);
  const lives: Life[] = [];
  for (const enterprise of firms) {
    const eligible = PROGRAMMES.filter((p) => !p.mountainOnly || enterprise.mountain);
    const wanted = rng.chance(0.6) ? 1 : rng.chance(0.75) ? 2 : 3;
    const chosen: ProgrammeModel[] = [];
    while (chosen.length < wanted && chosen.length < eligible.length) {
      const left = eligible.filter((p) => !chosen.includes(p));
      let u = rng() * left.reduce((s, p) => s + p.weight, 0);
      chosen.push(left.find((p) => (u -= p.weight) < 0) ?? left[left.length - 1]!);
    }
    for (const model of chosen) lives.push(lifeOf(enterprise, model));
  }
  // Every programme gets a few applications, however the draw fell.
  for (const model of PROGRAMMES) {
    const applied = new Set(lives.filter((l) => l.model === model).map((l) => l.enterprise));
    const more = firms.filter((f) => !applied.has(f) && (!model.mountainOnly || f.mountain));
    while (applied.size < MIN_APPLICATIONS && more.length > 0) {
      const enterprise = more.splice(rng.int(0, more.length - 1), 1)[0]!;
      applied.add(enterprise);
      lives.push(lifeOf(enterprise, model));
    }
  }

  function lifeOf(enterprise: Enterprise, model: ProgrammeModel): Life {
    const window = cal.days.map((_, i) => i).filter((i) => i >= 1 && cal.month[i]! >= model.window[0] && cal.month[i]! <= model.window[1]);
    const day = rng.pick(window);
    const { requested, approved, basis } = amounts(rng, model);
    const life: Life = {
      enterprise,
      model,
      day,
      requestedFen: requested,
      enterpriseName: enterprise.name,
      region: enterprise.region.code,
      bankAccount: enterprise.bankAccount,
      decision: null,
      payments: [],
    };
    const decisionDay = day + rng.int(...model.decisionLag);
    const isApproved = !rng.chance(model.rejectRate);
    const reason = isApproved ? `${model.approvalReason}。${basis}，核定${yuanText(approved)}。` : rng.pick(model.rejectionReasons);
    if (decisionDay > lastDay) return life; // still pending when the history ends
    life.decision = { day: decisionDay, approved: isApproved, approvedFen: isApproved ? approved : 0, reason };
    if (!isApproved) return life;
    let cursor = decisionDay;
    let remaining = approved;
    for (const [i, tranche] of model.tranches.entries()) {
      cursor += rng.int(...tranche.lag);
      if (cursor > lastDay) break; // not yet paid
      const amountFen = i === model.tranches.length - 1 ? remaining : Math.round(approved * tranche.share);
      remaining -= amountFen;
      // The service's four-eyes rule: by the decision's approved amount, so split tranches need confirmation too.
      const needsConfirmation = payoutNeedsConfirmation(BigInt(approved), BigInt(model.fourEyesYuan * YUAN));
      const confirmDay = cursor + rng.int(1, 3);
      life.payments.push({
        day: cursor,
        amountFen,
        paidOn: cal.days[cursor]!,
        needsConfirmation,
        confirmDay: needsConfirmation && confirmDay <= lastDay ? confirmDay : null,
      });
    }
    return life;
  }

  // ---- Corrections, each on an application chosen among those that allow it.
  interface PlannedCorrection {
    readonly life: Life;
    readonly day: number;
    readonly slot: Slot;
    readonly actor: Actor;
    readonly label: string;
    /** The payout it targets; the application if absent. */
    readonly payment?: Payment;
    readonly body: Omit<CorrectionRequest, "targetId">;
  }
  const corrections: PlannedCorrection[] = [];
  const special = new Set<Life>();
  const approverOf = (life: Life) => rng.pick(officials(life.model.agency, "approver"));
  /** One of the applications `ok` accepts, or failing that one `fallback` accepts. */
  const pickLife = (label: string, ok: (l: Life) => boolean, fallback: (l: Life) => boolean = () => false): Life => {
    let candidates = lives.filter((l) => !special.has(l) && ok(l));
    if (candidates.length === 0) candidates = lives.filter((l) => !special.has(l) && fallback(l));
    invariant(candidates.length > 0, `no application qualifies for the demo's ${label}`);
    const chosen = rng.pick(candidates);
    special.add(chosen);
    return chosen;
  };
  /** Effective (counted as paid) by `day`: below the threshold, or confirmed before then. */
  const effectiveBy = (p: Payment, day: number) => !p.needsConfirmation || (p.confirmDay !== null && p.confirmDay < day);

  {
    const life = pickLife("withdrawal", (l) => l.model.key === "yfbz" && l.day + 10 <= lastDay);
    life.decision = null;
    life.payments = [];
    corrections.push({
      life,
      day: life.day + rng.int(3, 8),
      slot: "approver",
      actor: approverOf(life),
      label: "withdrawn application (revoked)",
      body: { reasonCode: "revoked", reasonText: "企业提交书面申请，主动撤回本次申报，申报材料予以退回" },
    });
  }
  {
    const typo = (name: string) => [...name].findIndex((c) => TYPO_OF[c] !== undefined);
    const life = pickLife("name correction", (l) => l.decision?.approved === true && l.decision.day > l.day + 3 && typo(l.enterprise.name) >= 0);
    const chars = [...life.enterprise.name];
    const at = typo(life.enterprise.name);
    chars[at] = TYPO_OF[chars[at]!]!;
    life.enterpriseName = chars.join("");
    corrections.push({
      life,
      day: life.day + rng.int(1, 3),
      slot: "approver",
      actor: approverOf(life),
      label: "enterprise name corrected (data-entry-error)",
      body: {
        reasonCode: "data-entry-error",
        reasonText: `企业名称录入错误，“${life.enterpriseName}”应为“${life.enterprise.name}”，依营业执照更正`,
        replacement: { enterpriseName: life.enterprise.name },
      },
    });
  }
  {
    // Recorded under a district of its prefecture: the correction moves it between the dashboard's urban and rural buckets.
    const life = pickLife(
      "region correction",
      (l) => l.enterprise.region.regionType === "rural-county" && l.decision?.approved === true && l.decision.day > l.day + 3,
    );
    const right = life.enterprise.region;
    const wrong = rng.pick(allCountyDivisions().filter((d) => d.regionType === "urban-district" && d.prefecture?.code === right.prefecture?.code));
    life.region = wrong.code;
    corrections.push({
      life,
      day: life.day + rng.int(1, 3),
      slot: "approver",
      actor: approverOf(life),
      label: "region corrected from an urban district to a rural county (data-entry-error)",
      body: {
        reasonCode: "data-entry-error",
        reasonText: `企业注册地录入错误，应为${right.name}（${right.code}），误录为${wrong.name}（${wrong.code}）`,
        replacement: { region: right.code },
      },
    });
  }
  {
    // Corrected before the first payout; the account number itself stays off the log.
    const life = pickLife("bank account correction", (l) => (l.payments[0]?.day ?? -1) > l.day + 4);
    life.bankAccount = mistyped(life.enterprise.bankAccount);
    corrections.push({
      life,
      day: rng.int(life.day + 1, life.payments[0]!.day - 1),
      slot: "approver",
      actor: approverOf(life),
      label: "bank account corrected (data-entry-error, private value)",
      body: {
        reasonCode: "data-entry-error",
        reasonText: "企业收款银行账号录入有误（末两位数字颠倒），依企业开户许可证明更正，账号不予公开",
        replacement: { private: { bankAccount: life.enterprise.bankAccount } },
      },
    });
  }
  {
    const typed = (l: Life) => l.payments.find((p) => !p.needsConfirmation && p.day + 8 <= lastDay);
    const life = pickLife("payment date correction", (l) => typed(l) !== undefined);
    const payment = typed(life)!;
    const right = payment.paidOn;
    payment.paidOn = monthEarlier(right);
    corrections.push({
      life,
      day: payment.day + rng.int(2, 8),
      slot: "confirmer",
      actor: rng.pick(officials(financeOf(life.model), "approver")),
      label: "payment date corrected (data-entry-error)",
      payment,
      body: {
        reasonCode: "data-entry-error",
        reasonText: `支付日期录入错误，${payment.paidOn}应为${right}，以国库集中支付凭证为准`,
        replacement: { paidOn: right },
      },
    });
  }
  {
    const life = pickLife("full clawback", (l) => l.model.key === "wgfh" && l.payments.length === 1 && l.payments[0]!.day + 15 <= lastDay);
    const payment = life.payments[0]!;
    const day = rng.int(payment.day + 15, lastDay);
    invariant(effectiveBy(payment, day), "the full clawback's payout is effective");
    corrections.push({
      life,
      day,
      slot: "approver",
      actor: approverOf(life),
      label: "clawback of a whole payout",
      payment,
      body: {
        reasonCode: "clawback",
        reasonText: "经失业保险基金专项审计，企业申报期间存在裁员未如实申报情形，不符合稳岗返还条件，全额追回已返还资金",
        clawbackFen: String(payment.amountFen),
      },
    });
  }
  {
    // Final acceptance found a smaller investment: part of a confirmed first tranche is recovered.
    const confirmedFirst = (l: Life) => l.payments[0]?.needsConfirmation === true && l.payments[0].confirmDay !== null && l.payments[0].confirmDay + 5 <= lastDay;
    const life = pickLife("partial clawback", (l) => l.model.key === "jsgz" && confirmedFirst(l), confirmedFirst);
    const payment = life.payments[0]!;
    const day = rng.int(payment.confirmDay! + 5, lastDay);
    const clawback = hundredYuan(payment.amountFen * (0.1 + rng() * 0.2));
    const finding =
      life.model.key === "jsgz" || life.model.key === "sq26"
        ? "项目竣工验收核定投资额低于申报额，按核定投资额重新计算补助"
        : "经绩效评价复核，企业申报数据与核实数据不符，按核实数据重新计算";
    corrections.push({
      life,
      day,
      slot: "approver",
      actor: approverOf(life),
      label: "partial clawback of a four-eyes confirmed payout",
      payment,
      body: {
        reasonCode: "clawback",
        reasonText: `${finding}，追回多拨付资金${yuanText(clawback)}`,
        clawbackFen: String(clawback),
      },
    });
    // The second tranche waits for the grant to be recalculated.
    life.payments = life.payments.filter((p) => p.day < day);
  }

  // ---- Records.
  let seq = 0;
  const events: Ev[] = [];
  const ev = (day: number, slot: Slot, actor: Actor, target: Ev | null, build: (target: number) => PlannedCommand): Ev => {
    invariant(Number.isSafeInteger(day) && day >= 0 && day <= lastDay, `a record on working day ${day}, outside the history`);
    invariant(target === null || target.day <= day, `a record on day ${day} refers to one on day ${target?.day}`);
    const e: Ev = { day, slot, actor, target, build, seq: seq++ };
    events.push(e);
    return e;
  };

  // On the first working day the deployment-wide admin registers the two 发改委 agencies, and the province's
  // delegates to 衢州's, before any programme: 衢州's clerks then record into the province's programme.
  const platformAdmin = officials("dsj", "admin")[0]!;
  const registered = (Object.keys(AGENCIES) as AgencyKey[]).filter((k) => AGENCIES[k].code !== undefined);
  for (const k of registered) {
    const a = AGENCIES[k];
    const body: AgencyRequest = { code: a.code!, name: a.name, ...(a.parent !== undefined ? { parent: a.parent } : {}) };
    ev(0, "admin", platformAdmin, null, () => ({ kind: "agency", body }));
  }
  const delegation = ev(0, "admin", officials("fgw", "admin")[0]!, null, () => ({ kind: "delegation", body: { from: PROVINCE_FGW, to: QUZHOU_FGW, granted: true } }));

  // Programmes on the first working day; budgets about a fifth above what gets approved, in steps of 5 million yuan.
  const programmeEv = new Map<ProgrammeModel, Ev>();
  for (const model of PROGRAMMES) {
    const mine = lives.filter((l) => l.model === model);
    invariant(mine.length >= MIN_APPLICATIONS, `programme ${model.key} has ${mine.length} applications`);
    const approved = mine.reduce((s, l) => s + (l.decision?.approvedFen ?? 0), 0);
    const step = 5_000_000 * YUAN;
    const code = `ZJ-${model.agency.toUpperCase()}-${cal.year}-${model.suffix}`;
    const name = `${cal.year}年度${model.name}`;
    const agency = AGENCIES[model.agency];
    const body: ProgrammeRequest = {
      code,
      name,
      agency: agency.code ?? agency.name,
      budgetFen: String(Math.max(step, Math.ceil((approved * 1.2) / step) * step)),
      currency: "CNY",
      policyDocument: {
        // The hash of a text that stands in for the policy document; no such document exists.
        sha256: toHex(sha256(new TextEncoder().encode(`${name}实施细则（演示数据，非真实文件）\n${code}\n`))),
        url: `https://${agency.docHost}/zcwj/${cal.year}/${model.suffix.toLowerCase()}.pdf`,
      },
      opensOn: options.start,
      closesOn: cal.lastDayOfMonth(model.openMonths - 1),
      fourEyesThresholdFen: String(model.fourEyesYuan * YUAN),
    };
    programmeEv.set(model, ev(0, "admin", officials(model.agency, "admin")[0]!, null, () => ({ kind: "programme", body })));
  }

  const appEv = new Map<Life, Ev>();
  const decisionEv = new Map<Life, Ev>();
  const payoutEv = new Map<Payment, Ev>();
  for (const life of lives) {
    const { model, enterprise } = life;
    const application: Omit<ApplicationRequest, "programmeId"> = {
      creditCode: enterprise.creditCode,
      enterpriseName: life.enterpriseName,
      region: life.region,
      requestedFen: String(life.requestedFen),
      private: { contactPerson: enterprise.contactPerson, phone: enterprise.phone, bankAccount: life.bankAccount },
    };
    // The province's 发改委 has delegated to 衢州's: applicants from 衢州 apply through their prefecture.
    const clerkAgency: AgencyKey = model.agency === "fgw" && life.region.startsWith(QUZHOU_PREFIX) ? "qzfgw" : model.agency;
    const app = ev(life.day, "clerk", rng.pick(officials(clerkAgency, "clerk")), programmeEv.get(model)!, (programmeId) => ({
      kind: "application",
      body: { programmeId, ...application },
    }));
    appEv.set(life, app);
    const d = life.decision;
    if (d === null) continue;
    const decision: Omit<DecisionRequest, "applicationId"> = {
      outcome: d.approved ? "approved" : "rejected",
      approvedFen: String(d.approvedFen),
      reason: d.reason,
    };
    const dec = ev(d.day, "approver", approverOf(life), app, (applicationId) => ({ kind: "decision", body: { applicationId, ...decision } }));
    decisionEv.set(life, dec);
    for (const p of life.payments) {
      const payout: Omit<PayoutRequest, "decisionId"> = {
        amountFen: String(p.amountFen),
        paidOn: p.paidOn,
        private: { bankTransactionRef: `DEMO-GKZF-${p.paidOn.replaceAll("-", "")}-${String(rng.int(0, 999_999)).padStart(6, "0")}` },
      };
      const pay = ev(p.day, "payer", rng.pick(officials(financeOf(model), "payer")), dec, (decisionId) => ({ kind: "payout", body: { decisionId, ...payout } }));
      payoutEv.set(p, pay);
      if (p.confirmDay !== null)
        ev(p.confirmDay, "confirmer", rng.pick(officials(financeOf(model), "approver")), pay, (payoutId) => ({ kind: "confirmation", body: { payoutId } }));
    }
  }

  const highlights: { label: string; ev: Ev; life: Life }[] = [];
  for (const c of corrections) {
    const target = c.payment !== undefined ? payoutEv.get(c.payment) : appEv.get(c.life);
    invariant(target !== undefined, `the ${c.label} has no target`);
    const e = ev(c.day, c.slot, c.actor, target, (targetId) => ({ kind: "correction", body: { targetId, ...c.body } }));
    highlights.push({ label: c.label, ev: e, life: c.life });
  }
  const example = (label: string, ok: (l: Life) => boolean, which: (l: Life) => Ev | undefined = (l) => appEv.get(l)) => {
    const life = lives.find((l) => !special.has(l) && ok(l));
    const e = life && which(life);
    if (life && e) highlights.push({ label, ev: e, life });
  };
  example("paid in two tranches, each confirmed by a second official", (l) => l.payments.length === 2 && l.payments.every((p) => p.confirmDay !== null));
  example("partially paid: second tranche not yet due", (l) => l.model.tranches.length === 2 && l.payments.length === 1);
  example("rural county enterprise, paid", (l) => l.enterprise.region.regionType === "rural-county" && l.payments.length > 0);
  example("rejected", (l) => l.decision?.approved === false, (l) => decisionEv.get(l));
  example("pending: no decision yet", (l) => l.decision === null);
  example(`recorded by ${AGENCIES.qzfgw.name} (${QUZHOU_FGW}) under the province's delegation`, (l) => l.model.agency === "fgw" && l.region.startsWith(QUZHOU_PREFIX));
  invariant(delegation.day === 0, "the delegation precedes the programmes");

  // ---- Order: by day, then the officials' time slots; one session per official and day, split at the batch limit.
  const minute = (e: Ev) => minuteOf(e.slot, e.actor);
  events.sort((a, b) => a.day - b.day || minute(a) - minute(b) || a.seq - b.seq);
  const sessions: DemoSession[] = [];
  let position = 0;
  let previousAt = "";
  for (let i = 0; i < events.length; ) {
    const head = events[i]!;
    let j = i;
    while (j < events.length && events[j]!.day === head.day && events[j]!.actor.official === head.actor.official) j++;
    // Up to 4 minutes into the official's 5 minutes; chunks of a long session one second apart.
    const offsetMs = rng.int(0, 4 * 60_000 - 1);
    for (let from = i, chunk = 0; from < j; from += MAX_BATCH_RECORDS, chunk++) {
      const at = instant(cal.days[head.day]!, minute(head), offsetMs + chunk * 1000);
      invariant(at > previousAt, `session at ${at} is not after the one before, at ${previousAt}`);
      previousAt = at;
      const session = sessions.length;
      const first = position;
      const records = events.slice(from, Math.min(j, from + MAX_BATCH_RECORDS)).map((e) => {
        const t = e.target;
        invariant(t === null || (t.session !== undefined && t.session < session), `a ${e.slot}'s record refers to an entry of the same or a later session`);
        e.position = position++;
        e.session = session;
        return e.build(t === null ? -1 : t.position!);
      });
      sessions.push({ at, actor: head.actor, first, records });
    }
    i = j;
  }

  return {
    seed,
    start: options.start,
    end: previousAt,
    sessions,
    recordCount: position,
    enterpriseCount: firms.length,
    highlights: highlights.map((h) => ({
      label: h.label,
      record: h.ev.position!,
      creditCode: h.life.enterprise.creditCode,
      enterpriseName: h.life.enterprise.name,
    })),
  };
}
