/**
 * Validated values of the record model: free text, money in integer fen, UTC
 * timestamps, calendar dates, SHA-256 digests and http(s) URLs.
 *
 * Pure: no I/O, no clock, no globals. Every parse function treats its input
 * as attacker-controlled: anything malformed, including a non-string, throws
 * a {@link ValueError} with a `code`, never a stray TypeError or RangeError.
 * No floating point is used for money anywhere in this module.
 */
import { CodedError } from "../log/errors";

export type ValueErrorCode =
  | "NOT_A_STRING"
  | "NOT_A_BIGINT"
  | "FEN_FORMAT"
  | "FEN_TOO_LARGE"
  | "FEN_NEGATIVE"
  | "TIMESTAMP_FORMAT"
  | "TIMESTAMP_OUT_OF_RANGE"
  | "DATE_FORMAT"
  | "DATE_INVALID"
  | "TIME_INVALID"
  | "SHA256_FORMAT"
  | "URL_FORMAT"
  | "URL_SCHEME"
  | "URL_CREDENTIALS"
  | "URL_TOO_LONG"
  | "TEXT_CHARACTER"
  | "TEXT_NOT_NFC"
  | "TEXT_SPACES";

/** The caller passed a value that breaks the rule named by `code`. Safe to show to a client. */
export class ValueError extends CodedError<ValueErrorCode> {
  override readonly name = "ValueError";
}

/** Quotes a value for an error message, bounded so a huge input cannot make a huge message. */
function show(value: unknown): string {
  if (typeof value !== "string") return value === null ? "null" : typeof value;
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ValueError("NOT_A_STRING", `${what} must be a string, got ${show(value)}`);
  return value;
}

// ---------------------------------------------------------------------------
// Free text: names, reasons, references

/**
 * Code points no text field of a record may hold. Recorded text is public and
 * permanent, and auditors re-encode it, so it must read the way it is stored:
 *
 * - control characters: C0 (tab and newlines too: no field is multi-line), DEL
 *   and C1 (U+0080-U+009F, e.g. U+0085 NEXT LINE);
 * - format and default-ignorable characters, which are invisible or reorder
 *   what is shown: bidi controls (U+061C, U+200E-U+200F, U+202A-U+202E,
 *   U+2066-U+2069), zero-width characters (U+200B-U+200D, U+2060-U+2064,
 *   U+FEFF), U+180E, the soft hyphen U+00AD, tag characters, Hangul fillers and
 *   variation selectors (a variant glyph's selector would make two names that
 *   read alike differ in their bytes). This also refuses the Mongolian free
 *   variation selectors; names are recorded in their registered Chinese form;
 * - line and paragraph separators (U+2028, U+2029), and spaces other than
 *   U+0020 and the ideographic space U+3000 (a no-break space reads as a space
 *   but is stored as another character);
 * - lone surrogates and noncharacters (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), which
 *   are not text at all;
 * - private-use characters (U+E000-U+F8FF and planes 15-16): their meaning is a
 *   private agreement, so a public reader cannot know what was recorded. Rare
 *   characters in Chinese names have standard code points (CJK extensions,
 *   GB 18030-2022), which are accepted.
 *
 * Unassigned code points are accepted: which are assigned depends on the
 * runtime's Unicode version, and a rule that changes with it would accept a
 * record on one server and refuse it on the next.
 */
const FORBIDDEN_TEXT_CHARACTER =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]|[^\P{Zs}\u0020\u3000]/u;

/** What kind of forbidden character `c` is, for an error message. */
function forbiddenKind(c: string): string {
  if (/\p{Cc}/u.test(c)) return "a control character";
  if (/\p{Bidi_Control}/u.test(c)) return "a bidirectional control character";
  if (/\p{Cs}/u.test(c)) return "a lone surrogate";
  if (/\p{Co}/u.test(c)) return "a private-use character";
  if (/\p{Noncharacter_Code_Point}/u.test(c)) return "a noncharacter";
  if (/[\p{Zl}\p{Zp}]/u.test(c)) return "a line or paragraph separator";
  if (/\p{Zs}/u.test(c)) return "a space other than U+0020 or U+3000";
  return "an invisible formatting character";
}

const codePointName = (c: string): string => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Throws TEXT_CHARACTER if `s` holds a character of {@link FORBIDDEN_TEXT_CHARACTER}.
 * The message names the code point and its position, never the text itself
 * (which would carry the offending character into a response or a log).
 */
export function checkTextCharacters(s: string, what = "text"): void {
  const m = FORBIDDEN_TEXT_CHARACTER.exec(s);
  if (m === null) return;
  const position = [...s.slice(0, m.index)].length + 1;
  throw new ValueError("TEXT_CHARACTER", `${what} contains ${codePointName(m[0])}, ${forbiddenKind(m[0])}, at character ${position}; it is not accepted in recorded text`);
}

/**
 * A free-text value of a record (a name, a reason, a reference): returns it
 * unchanged if it
 * - holds no character of {@link FORBIDDEN_TEXT_CHARACTER} (TEXT_CHARACTER);
 * - is in Unicode Normalization Form C (TEXT_NOT_NFC);
 * - has no leading or trailing white space (TEXT_SPACES).
 *
 * NFC is required, not applied: the public leaf is the canonical JSON of what
 * was sent, and silently normalising would record bytes the client never sent
 * (and hash them into its idempotency check); refusing lets the client send the
 * form it means. Chinese text is unaffected: unified ideographs, CJK
 * punctuation, full-width forms and the middle dot are all NFC already (only the
 * compatibility ideographs U+F900-U+FAFF are not; NFC maps them to the unified
 * ideographs they duplicate).
 */
export function parsePlainText(s: unknown): string {
  const str = requireString(s, "text");
  checkTextCharacters(str);
  if (str.normalize("NFC") !== str)
    throw new ValueError("TEXT_NOT_NFC", "text must be in Unicode Normalization Form C (composed characters); send its NFC form");
  if (str.trim() !== str) throw new ValueError("TEXT_SPACES", "text must not start or end with white space");
  return str;
}

// ---------------------------------------------------------------------------
// Money: integer fen (1 yuan = 100 fen) as canonical decimal strings

/**
 * Most digits a fen amount may have. 18 digits allow up to 10^18 − 1 fen
 * (about 10^16 yuan, far beyond any budget), which is below 2^63 − 1, so
 * every amount, and the sum of any two, fits a signed or unsigned 64-bit
 * integer (Solidity uint64, SQL BIGINT) if it is ever stored outside JS.
 * Amounts are bigint in code, so nothing here is bounded by 2^53.
 */
export const MAX_FEN_DIGITS = 18;

/** The largest amount: 999 999 999 999 999 999 fen. */
export const MAX_FEN = 10n ** BigInt(MAX_FEN_DIGITS) - 1n;

const FEN = /^(?:0|[1-9][0-9]*)$/;

/**
 * Parses an amount in fen: a canonical non-negative decimal integer string
 * ("0" or digits without a leading zero), at most {@link MAX_FEN_DIGITS}
 * digits. Rejects signs, decimal points, exponents, spaces, leading zeros,
 * the empty string and non-strings.
 */
export function parseFen(s: unknown): bigint {
  const str = requireString(s, "an amount in fen");
  if (!FEN.test(str))
    throw new ValueError("FEN_FORMAT", `an amount in fen is a whole number of fen written as digits without sign, spaces or leading zeros, got ${show(str)}`);
  if (str.length > MAX_FEN_DIGITS) throw new ValueError("FEN_TOO_LARGE", `an amount in fen has at most ${MAX_FEN_DIGITS} digits, got ${str.length}`);
  return BigInt(str);
}

/** Whether {@link parseFen} accepts `s`. */
export function isValidFen(s: unknown): s is string {
  try {
    parseFen(s);
    return true;
  } catch (e) {
    if (e instanceof ValueError) return false;
    throw e;
  }
}

function checkFenRange(v: bigint): bigint {
  if (v < 0n) throw new ValueError("FEN_NEGATIVE", `an amount in fen cannot be negative, got ${v.toString()}`);
  if (v > MAX_FEN) throw new ValueError("FEN_TOO_LARGE", `an amount in fen has at most ${MAX_FEN_DIGITS} digits, got ${v.toString().length}`);
  return v;
}

/** The canonical string of an amount; the inverse of {@link parseFen}. Throws unless 0 ≤ v ≤ {@link MAX_FEN}. */
export function formatFen(v: bigint): string {
  if (typeof v !== "bigint") throw new ValueError("NOT_A_BIGINT", `an amount in fen must be a bigint, got ${typeof v}`);
  return checkFenRange(v).toString();
}

/** a + b; throws FEN_TOO_LARGE past {@link MAX_FEN}. Both operands must be valid amounts. */
export function addFen(a: bigint, b: bigint): bigint {
  return checkFenRange(checkFenRange(bigintArg(a)) + checkFenRange(bigintArg(b)));
}

/**
 * a − b; throws FEN_NEGATIVE if b > a, as a ledger amount cannot go below
 * zero. For a signed difference (e.g. an overrun), subtract the bigints
 * directly.
 */
export function subFen(a: bigint, b: bigint): bigint {
  return checkFenRange(checkFenRange(bigintArg(a)) - checkFenRange(bigintArg(b)));
}

/** −1, 0 or 1 as a is less than, equal to or greater than b. */
export function compareFen(a: bigint, b: bigint): -1 | 0 | 1 {
  const x = bigintArg(a);
  const y = bigintArg(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function bigintArg(v: bigint): bigint {
  if (typeof v !== "bigint") throw new ValueError("NOT_A_BIGINT", `an amount in fen must be a bigint, got ${typeof v}`);
  return v;
}

// ---------------------------------------------------------------------------
// Time

const TIMESTAMP = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z$/;
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days in month m (1–12) of year y, proleptic Gregorian. */
function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

function checkCalendarDate(y: number, m: number, d: number, input: string): void {
  if (m < 1 || m > 12) throw new ValueError("DATE_INVALID", `${show(input)} has month ${m}; months run 01-12`);
  const days = daysInMonth(y, m);
  if (d < 1 || d > days) throw new ValueError("DATE_INVALID", `${show(input)} has day ${d}; month ${y}-${String(m).padStart(2, "0")} has ${days} days`);
}

/**
 * Parses an RFC 3339 timestamp in UTC, restricted to one spelling:
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with an upper-case T and Z, a fraction of
 * 1 to 9 digits, no offset other than Z, and a real proleptic-Gregorian date.
 * Hours run 00–23 (24:00:00 is rejected) and seconds 00–59: leap seconds
 * (:60) are rejected because neither JS Date nor our clock can represent
 * them; an event during one is recorded at :59.
 *
 * Returns the canonical form: the fraction padded or trimmed to 3, 6 or 9
 * digits (milliseconds at least, dropping only trailing all-zero groups of
 * three), so "…:05Z", "…:05.0Z" and "…:05.000000Z" all become "…:05.000Z",
 * and `formatUtc(date)` is already canonical. Two canonical strings are equal
 * exactly when they denote the same instant.
 */
export function parseUtcTimestamp(s: unknown): string {
  const str = requireString(s, "a timestamp");
  const m = TIMESTAMP.exec(str);
  if (m === null)
    throw new ValueError("TIMESTAMP_FORMAT", `a timestamp is RFC 3339 UTC as YYYY-MM-DDTHH:MM:SS[.fraction]Z, got ${show(str)}`);
  const [, y = "", mo = "", d = "", h = "", mi = "", se = "", fraction = ""] = m;
  checkCalendarDate(Number(y), Number(mo), Number(d), str);
  if (Number(h) > 23) throw new ValueError("TIME_INVALID", `${show(str)} has hour ${h}; hours run 00-23`);
  if (Number(mi) > 59) throw new ValueError("TIME_INVALID", `${show(str)} has minute ${mi}; minutes run 00-59`);
  if (Number(se) > 59) throw new ValueError("TIME_INVALID", `${show(str)} has second ${se}; seconds run 00-59 (leap seconds are not accepted)`);
  let frac = fraction.padEnd(Math.ceil(Math.max(fraction.length, 3) / 3) * 3, "0");
  while (frac.length > 3 && frac.endsWith("000")) frac = frac.slice(0, -3);
  return `${y}-${mo}-${d}T${h}:${mi}:${se}.${frac}Z`;
}

/** Whether {@link parseUtcTimestamp} accepts `s`. */
export function isValidUtcTimestamp(s: unknown): s is string {
  try {
    parseUtcTimestamp(s);
    return true;
  } catch (e) {
    if (e instanceof ValueError) return false;
    throw e;
  }
}

/**
 * The canonical timestamp of a Date, with millisecond precision:
 * `date.toISOString()`. Throws TIMESTAMP_OUT_OF_RANGE for an invalid Date or
 * a year outside 0000–9999, which RFC 3339 cannot write.
 */
export function formatUtc(date: Date): string {
  if (!(date instanceof Date)) throw new ValueError("TIMESTAMP_OUT_OF_RANGE", `formatUtc needs a Date, got ${typeof date}`);
  const t = date.getTime();
  if (Number.isNaN(t)) throw new ValueError("TIMESTAMP_OUT_OF_RANGE", "formatUtc got an invalid Date");
  const y = date.getUTCFullYear();
  if (y < 0 || y > 9999) throw new ValueError("TIMESTAMP_OUT_OF_RANGE", `year ${y} cannot be written in RFC 3339`);
  return date.toISOString();
}

/**
 * Parses a calendar date `YYYY-MM-DD` (programme open and close dates, payout
 * dates), checking that the day exists in the proleptic Gregorian calendar
 * (2024-02-29 yes, 2026-02-29 and 2026-04-31 no). Returns it unchanged: the
 * accepted spelling is already canonical.
 */
export function parseDate(s: unknown): string {
  const str = requireString(s, "a date");
  const m = DATE.exec(str);
  if (m === null) throw new ValueError("DATE_FORMAT", `a date is written YYYY-MM-DD, got ${show(str)}`);
  checkCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]), str);
  return str;
}

/** Whether {@link parseDate} accepts `s`. */
export function isValidDate(s: unknown): s is string {
  try {
    parseDate(s);
    return true;
  } catch (e) {
    if (e instanceof ValueError) return false;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Digests and URLs

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Parses a SHA-256 digest as 64 lower-case hex digits (the canonical spelling; upper case is rejected, not folded). */
export function parseSha256Hex(s: unknown): string {
  const str = requireString(s, "a SHA-256 digest");
  if (!SHA256_HEX.test(str)) {
    const hint = /^[0-9a-fA-F]{64}$/.test(str) ? " (use lower case)" : "";
    throw new ValueError("SHA256_FORMAT", `a SHA-256 digest is 64 lower-case hex digits, got ${str.length} characters${hint}`);
  }
  return str;
}

/** Longest URL accepted, in UTF-16 code units; policy-document links are far shorter. */
export const MAX_URL_LENGTH = 2048;

/**
 * Parses an absolute http or https URL with a host and without credentials
 * (no `user:password@`), up to {@link MAX_URL_LENGTH} characters. Whitespace,
 * control characters and backslashes anywhere are rejected (the WHATWG parser
 * would silently strip or reinterpret them), and so are the other characters
 * free text may not hold ({@link checkTextCharacters}) and non-NFC text.
 * Returns the input unchanged, as entered, not the parser's normalised form.
 */
export function parseHttpUrl(s: unknown): string {
  const str = requireString(s, "a URL");
  if (str.length > MAX_URL_LENGTH) throw new ValueError("URL_TOO_LONG", `a URL has at most ${MAX_URL_LENGTH} characters, got ${str.length}`);
  if (/[\s\u0000-\u001f\u007f]/.test(str)) throw new ValueError("URL_FORMAT", `a URL cannot contain spaces or control characters, got ${show(str)}`);
  // The same characters as in free text (before anything else quotes the URL back), and NFC likewise: the URL is recorded as sent.
  checkTextCharacters(str, "a URL");
  if (str.normalize("NFC") !== str) throw new ValueError("TEXT_NOT_NFC", "a URL must be in Unicode Normalization Form C; send its NFC form");
  // WHATWG reads a backslash as "/" in http(s) URLs and other parsers do not, so "http://a.com\@b.com" has
  // host a.com for one and b.com (with user "a.com\") for another. Refuse the ambiguity.
  if (str.includes("\\")) throw new ValueError("URL_FORMAT", `a URL cannot contain a backslash, got ${show(str)}`);
  let url: URL;
  try {
    url = new URL(str);
  } catch (e) {
    throw new ValueError("URL_FORMAT", `not an absolute URL: ${show(str)}`, { cause: e });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ValueError("URL_SCHEME", `a URL must use http or https, got ${show(url.protocol.slice(0, -1))}`);
  if (!/^https?:\/\//i.test(str)) throw new ValueError("URL_FORMAT", `a URL must start with http:// or https://, got ${show(str)}`);
  // Also catches an empty user info ("https://@host"), which leaves username and password empty.
  const authority = str.slice(str.indexOf("//") + 2).split(/[/?#]/, 1)[0] ?? "";
  if (url.username !== "" || url.password !== "" || authority.includes("@"))
    throw new ValueError("URL_CREDENTIALS", "a URL cannot carry a user name or password");
  if (url.hostname === "") throw new ValueError("URL_FORMAT", `a URL needs a host, got ${show(str)}`);
  return str;
}
