/**
 * Validated identifiers of the record model: the unified social credit code
 * (统一社会信用代码) of an enterprise, and the administrative division code
 * (行政区划代码) of the county-level unit it is registered in.
 *
 * Pure: no I/O at call time, no clock, no globals beyond the division
 * table's lazily built, read-only lookup (service/format/divisions.ts). Every parse function treats its input as
 * attacker-controlled: anything malformed, including a non-string, throws an
 * {@link IdentifierError} with a `code`, never a stray TypeError.
 */
import {
  countyDivision,
  countyDivisions,
  DIVISION_TABLE_VINTAGE,
  isPlaceholderPrefecture,
  prefectureRow,
  provinceDivision,
  type CountyDivision,
  type NamedDivision,
  type RegionType,
} from "../format/divisions";
import { CodedError } from "../log/errors";

// ---------------------------------------------------------------------------
// Errors

export type IdentifierErrorCode =
  | "NOT_A_STRING"
  | "CREDIT_CODE_LENGTH"
  | "CREDIT_CODE_CHARSET"
  | "CREDIT_CODE_CHECK_DIGIT"
  | "DIVISION_CODE_FORMAT"
  | "DIVISION_CODE_NOT_COUNTY"
  | "DIVISION_CODE_STATISTICAL_ONLY"
  | "DIVISION_CODE_UNKNOWN";

/** The caller passed an identifier that breaks the rule named by `code`. Safe to show to a client. */
export class IdentifierError extends CodedError<IdentifierErrorCode> {
  override readonly name = "IdentifierError";
}

/** Our own bug (a constant table that breaks its defining rule); never the caller's fault. */
export class IdentifierInvariantError extends Error {
  override readonly name = "IdentifierInvariantError";
}

function assertInvariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new IdentifierInvariantError(message);
}

/** Quotes a value for an error message, bounded so a huge input cannot make a huge message. */
function show(value: unknown): string {
  if (typeof value !== "string") return value === null ? "null" : typeof value;
  const json = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return json;
}

// ---------------------------------------------------------------------------
// Unified social credit code, GB 32100-2015

/** A string that passed {@link parseCreditCode}. */
export type CreditCode = string & { readonly __brand: "CreditCode" };

export const CREDIT_CODE_LENGTH = 18;

/**
 * The GB 32100-2015 code character set, in value order: character i has value
 * i (0–30). Digits, then upper-case Latin letters without I, O, S, V and Z.
 */
export const CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/**
 * Weights of positions 1–17: W_i = 3^(i−1) mod 31 (GB 32100-2015, 表 3/表 4).
 * Sources: the check-digit clause of GB 32100-2015 as reproduced at
 * https://www.yc00.com/web/1713075042a2177900.html (worked example
 * 91350100M000100Y4Z → check char 3), and the reference implementation at
 * https://blog.csdn.net/hookee/article/details/50610168.
 *
 * Note: the list 1,3,9,27,19,26,16,17,20,29,24,10,30,28,25 that circulates in
 * some write-ups (and in our task brief) drops 25,13,8 and is wrong; the
 * formula gives 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28, and every real
 * code in test/records/identifiers.test.ts checks out only with that list.
 * The module asserts the table against the formula when it loads.
 */
export const CREDIT_CODE_WEIGHTS: readonly number[] = Object.freeze([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]);

for (let i = 0, w = 1; i < 17; i++, w = (w * 3) % 31) {
  assertInvariant(CREDIT_CODE_WEIGHTS[i] === w, `credit code weight ${i + 1} is not 3^${i} mod 31`);
}

const CREDIT_VALUE = new Map<string, number>([...CREDIT_CODE_ALPHABET].map((c, i) => [c, i]));
const DIGIT = /^[0-9]$/;

/**
 * The check character (position 18) for the first 17 characters of a credit
 * code: C18 = 31 − (Σ C_i·W_i mod 31), written as 0 when that is 31.
 * Throws CREDIT_CODE_LENGTH or CREDIT_CODE_CHARSET if `first17` is not 17
 * characters of {@link CREDIT_CODE_ALPHABET}.
 */
export function creditCodeCheckChar(first17: string): string {
  if (typeof first17 !== "string") throw new IdentifierError("NOT_A_STRING", `a credit code prefix must be a string, got ${show(first17)}`);
  if (first17.length !== 17)
    throw new IdentifierError("CREDIT_CODE_LENGTH", `the check character is computed from 17 characters, got ${first17.length}`);
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = CREDIT_VALUE.get(first17[i]!);
    if (value === undefined) throw charsetError(first17, i);
    sum += value * CREDIT_CODE_WEIGHTS[i]!;
  }
  return CREDIT_CODE_ALPHABET[(31 - (sum % 31)) % 31]!;
}

function charsetError(s: string, i: number): IdentifierError {
  const c = s[i]!;
  const hint =
    /[a-z]/.test(c) ? " (letters must be upper case)"
    : /[IOSVZ]/.test(c) ? " (I, O, S, V and Z are not used)"
    : "";
  return new IdentifierError(
    "CREDIT_CODE_CHARSET",
    `credit code character ${i + 1} is ${JSON.stringify(c)}; allowed: 0-9 and A-H J-N P-R T-U W-Y${hint}`,
  );
}

/**
 * Parses a unified social credit code (GB 32100-2015): exactly 18 characters;
 * positions 1–2 and 9–18 from {@link CREDIT_CODE_ALPHABET}; positions 3–8 (the
 * registering authority's division code) six digits; position 18 the mod-31
 * check character. No trimming or case folding: the canonical form is the
 * only accepted form.
 *
 * Deliberately not checked:
 * - The code tables for position 1 (registering department) and 2 (entity
 *   type): departments add values over time (e.g. A, N), so a closed list
 *   would reject real codes.
 * - Positions 3–8 against the division table: they name the registering
 *   authority, and authorities of development zones use codes outside
 *   GB/T 2260 (e.g. 320594 for the Suzhou Industrial Park), and codes stay
 *   valid for life while divisions are abolished.
 * - The GB 11714 check digit of positions 9–17: see
 *   {@link hasValidOrganisationCodeCheck}.
 */
export function parseCreditCode(s: unknown): CreditCode {
  if (typeof s !== "string") throw new IdentifierError("NOT_A_STRING", `a credit code must be a string, got ${show(s)}`);
  if (s.length !== CREDIT_CODE_LENGTH)
    throw new IdentifierError("CREDIT_CODE_LENGTH", `a credit code has 18 characters, got ${s.length} in ${show(s)}`);
  for (let i = 0; i < CREDIT_CODE_LENGTH; i++) {
    const c = s[i]!;
    if (i >= 2 && i <= 7) {
      if (!DIGIT.test(c))
        throw new IdentifierError(
          "CREDIT_CODE_CHARSET",
          `credit code character ${i + 1} is ${JSON.stringify(c)}; positions 3-8 (division code) must be digits`,
        );
    } else if (!CREDIT_VALUE.has(c)) {
      throw charsetError(s, i);
    }
  }
  const expected = creditCodeCheckChar(s.slice(0, 17));
  if (s[17] !== expected)
    throw new IdentifierError("CREDIT_CODE_CHECK_DIGIT", `credit code ${s} has check character ${s[17]}, expected ${expected}`);
  return s as CreditCode;
}

/** Whether {@link parseCreditCode} accepts `s`. */
export function isValidCreditCode(s: unknown): s is CreditCode {
  try {
    parseCreditCode(s);
    return true;
  } catch (e) {
    if (e instanceof IdentifierError) return false;
    throw e;
  }
}

/** The five parts of a credit code (GB 32100-2015 §4). */
export interface CreditCodeParts {
  /** Position 1, 登记管理部门代码, e.g. "9" for market regulation (formerly 工商). */
  readonly registrationDepartment: string;
  /** Position 2, 机构类别代码, e.g. "1" for an enterprise under department 9. */
  readonly entityType: string;
  /** Positions 3–8, the registering authority's division code (not necessarily in GB/T 2260, see {@link parseCreditCode}). */
  readonly authorityDivision: string;
  /** Positions 9–17, 主体标识码 (the GB 11714 organisation code, with its own check character last). */
  readonly organisationCode: string;
  /** Position 18. */
  readonly checkChar: string;
}

/** Splits a valid credit code into its parts; throws like {@link parseCreditCode}. */
export function creditCodeParts(s: unknown): CreditCodeParts {
  const code = parseCreditCode(s);
  return {
    registrationDepartment: code.slice(0, 1),
    entityType: code.slice(1, 2),
    authorityDivision: code.slice(2, 8),
    organisationCode: code.slice(8, 17),
    checkChar: code.slice(17),
  };
}

const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];

/**
 * GB 11714-1997 organisation code check character for an 8-character body:
 * C9 = 11 − (Σ C_i·W_i mod 11) with W = 3,7,9,10,5,8,4,2, digits valued 0–9
 * and letters A–Z valued 10–35; 10 is written X and 11 is written 0.
 * Returns undefined if the body is not 8 digits or upper-case letters.
 */
export function organisationCodeCheckChar(body8: string): string | undefined {
  if (typeof body8 !== "string" || !/^[0-9A-Z]{8}$/.test(body8)) return undefined;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += parseInt(body8[i]!, 36) * ORG_WEIGHTS[i]!;
  const c = 11 - (sum % 11);
  return c === 10 ? "X" : c === 11 ? "0" : String(c);
}

/**
 * Whether positions 9–17 of a valid credit code carry a correct GB 11714
 * check character. Informational, for data-quality reports; parsing does NOT
 * enforce it. GB 32100-2015 says positions 9–17 are "coded according to
 * GB 11714", and every real code we tested passes, but we found no statement
 * that the registering departments guarantee it for every code they issued
 * (codes of individual businesses, 个体工商户, and of organisations that never
 * had an organisation code were assigned in bulk after 2015), and rejecting a
 * real enterprise's legal identifier is worse than accepting a mistyped one
 * whose mod-31 check still passes (a single-character error never does).
 * Returns false for anything {@link parseCreditCode} rejects.
 */
export function hasValidOrganisationCodeCheck(s: unknown): boolean {
  if (!isValidCreditCode(s)) return false;
  return organisationCodeCheckChar(s.slice(8, 16)) === s[16];
}

// ---------------------------------------------------------------------------
// Administrative division codes, GB/T 2260

/** A county-level division code that passed {@link parseDivisionCode}. */
export type DivisionCode = string & { readonly __brand: "DivisionCode" };

export { DIVISION_TABLE_VINTAGE, REGION_TYPES, type NamedDivision, type RegionType } from "../format/divisions";

/**
 * A county-level unit of the division table (service/format/divisions.ts,
 * where its data source, vintage and region-type rules are described), with
 * its code as parsed.
 */
export interface DivisionInfo extends CountyDivision {
  readonly code: DivisionCode;
}

const SIX_DIGITS = /^[0-9]{6}$/;

/**
 * Parses a county-level administrative division code (GB/T 2260): six ASCII
 * digits naming a 区, 县, 自治县, 旗, 自治旗, 特区, 林区 or 县级市 (or a
 * prefecture-level city without districts) in the bundled table, see
 * {@link DIVISION_TABLE_VINTAGE}. Throws DIVISION_CODE_FORMAT for anything
 * that is not six digits, DIVISION_CODE_STATISTICAL_ONLY for an NBS
 * development-zone code, DIVISION_CODE_NOT_COUNTY for a province or
 * prefecture code, and DIVISION_CODE_UNKNOWN for a well-formed code the table
 * does not have (never assigned, or abolished).
 */
export function parseDivisionCode(s: unknown): DivisionCode {
  return divisionInfo(s).code;
}

/** Whether {@link parseDivisionCode} accepts `s`. */
export function isValidDivisionCode(s: unknown): s is DivisionCode {
  try {
    parseDivisionCode(s);
    return true;
  } catch (e) {
    if (e instanceof IdentifierError) return false;
    throw e;
  }
}

/** Name, region type, province and prefecture of a county-level code; throws like {@link parseDivisionCode}. */
export function divisionInfo(s: unknown): DivisionInfo {
  if (typeof s !== "string") throw new IdentifierError("NOT_A_STRING", `a division code must be a string, got ${show(s)}`);
  if (!SIX_DIGITS.test(s)) throw new IdentifierError("DIVISION_CODE_FORMAT", `a division code is six digits, got ${show(s)}`);
  const found = countyDivision(s);
  if (found !== undefined) return found as DivisionInfo;
  if (s[4] === "7")
    throw new IdentifierError(
      "DIVISION_CODE_STATISTICAL_ONLY",
      `division code ${s} has the form of an NBS development-zone code (5th digit 7), which is not a GB/T 2260 administrative division; use the code of the district or county it lies in`,
    );
  const province = provinceDivision(s.slice(0, 2));
  if (province !== undefined && s.endsWith("0000"))
    throw new IdentifierError("DIVISION_CODE_NOT_COUNTY", `division code ${s} is ${province.name}, a province-level unit; a county-level code is required`);
  const prefecture = prefectureRow(s.slice(0, 4));
  if (province !== undefined && prefecture !== undefined && s.endsWith("00")) {
    const what = isPlaceholderPrefecture(prefecture.name) ? `the ${prefecture.name} grouping of ${province.name}` : `${prefecture.name}, a prefecture-level unit`;
    throw new IdentifierError("DIVISION_CODE_NOT_COUNTY", `division code ${s} is ${what}; a county-level code is required`);
  }
  throw new IdentifierError(
    "DIVISION_CODE_UNKNOWN",
    `division code ${s} is not a county-level division in the ${DIVISION_TABLE_VINTAGE} table (never assigned, or abolished before mid-2023)`,
  );
}

/** Urban district, rural county or county-level city; throws like {@link parseDivisionCode}. See {@link RegionType}. */
export function regionType(code: unknown): RegionType {
  return divisionInfo(code).regionType;
}

/** The province of a county-level code; throws like {@link parseDivisionCode}. */
export function provinceOf(code: unknown): NamedDivision {
  return divisionInfo(code).province;
}

/** The prefecture of a county-level code, or null directly under a province; throws like {@link parseDivisionCode}. */
export function prefectureOf(code: unknown): NamedDivision | null {
  return divisionInfo(code).prefecture;
}

/** Every accepted county-level code with its info, in code order. For tests, exports and the portal's pickers. */
export function allCountyDivisions(): readonly DivisionInfo[] {
  return countyDivisions() as readonly DivisionInfo[];
}

/** The level of a government: a province-level, prefecture-level or county-level unit. */
export type GovernmentLevel = "province" | "prefecture" | "county";

export interface GovernmentDivision {
  readonly code: string;
  readonly name: string;
  readonly level: GovernmentLevel;
  /** The province's code for every level (its own code for a province). */
  readonly province: NamedDivision;
  /** The prefecture of a county-level unit, itself for a prefecture, null for a province or a county directly under one. */
  readonly prefecture: NamedDivision | null;
}

/**
 * The government a division code names, at any level: a province (xx0000),
 * a prefecture-level unit (xxxx00, not a placeholder grouping such as 市辖区)
 * or a county-level unit ({@link divisionInfo}). An agency belongs to one of
 * these. Throws IdentifierError like {@link parseDivisionCode} for anything else.
 */
export function governmentDivision(s: unknown): GovernmentDivision {
  if (typeof s !== "string") throw new IdentifierError("NOT_A_STRING", `a division code must be a string, got ${show(s)}`);
  if (!SIX_DIGITS.test(s)) throw new IdentifierError("DIVISION_CODE_FORMAT", `a division code is six digits, got ${show(s)}`);
  const province = provinceDivision(s.slice(0, 2));
  if (province !== undefined && s.endsWith("0000")) return { code: s, name: province.name, level: "province", province, prefecture: null };
  const prefecture = prefectureRow(s.slice(0, 4));
  if (province !== undefined && prefecture !== undefined && s.endsWith("00") && !isPlaceholderPrefecture(prefecture.name)) {
    const named = { code: s, name: prefecture.name };
    return { code: s, name: prefecture.name, level: "prefecture", province, prefecture: named };
  }
  const county = divisionInfo(s);
  return { code: county.code, name: county.name, level: "county", province: county.province, prefecture: county.prefecture };
}

/** Whether {@link governmentDivision} accepts `s`. */
export function isGovernmentDivision(s: unknown): boolean {
  try {
    governmentDivision(s);
    return true;
  } catch (e) {
    if (e instanceof IdentifierError) return false;
    throw e;
  }
}

/** Whether division `code` (any level) lies in the government division `region` (itself included). Both must be accepted by {@link governmentDivision}. */
export function withinDivision(code: string, region: string): boolean {
  const r = governmentDivision(region);
  const c = governmentDivision(code);
  if (r.level === "province") return c.province.code === r.code;
  if (r.level === "prefecture") return c.prefecture?.code === r.code;
  return c.code === r.code;
}
