/**
 * zod schemas for the validated identifier and value types, for use in the
 * request schemas (./schemas.ts). Each is a string schema refined by the
 * parse function of ./identifiers or ./values, so there is one implementation
 * of each rule and the zod issue's message is the typed error's message; the
 * error's `code` (e.g. "CREDIT_CODE_CHECK_DIGIT") is in the issue's
 * `params.code`.
 *
 * Output types are plain strings, not the branded types, so request objects
 * can be written as literals in tests. Only `UtcTimestamp` changes its input
 * (to the canonical fraction width, with `.overwrite`, which keeps the schema
 * representable in JSON Schema / OpenAPI); all others pass a valid string
 * through unchanged.
 */
import { z } from "zod";
import { IdentifierError, parseCreditCode, parseDivisionCode } from "./identifiers";
import { parseDate, parseFen, parseHttpUrl, parsePlainText, parseSha256Hex, parseUtcTimestamp, ValueError } from "./values";

/** Turns a parse function into a superRefine callback that reports its typed error as a custom issue. */
function refineWith(parse: (s: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx<string>): void => {
    try {
      parse(value);
    } catch (e) {
      if (e instanceof IdentifierError || e instanceof ValueError) {
        ctx.addIssue({ code: "custom", message: e.message, input: value, params: { code: e.code } });
        return;
      }
      throw e;
    }
  };
}

/** Unified social credit code (GB 32100-2015), check character verified. */
export const CreditCode = z
  .string()
  .superRefine(refineWith(parseCreditCode))
  .meta({ description: "Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, mod-31 check character", examples: ["914403001922038216"] });

/** County-level administrative division code (GB/T 2260) in the bundled table. */
export const DivisionCode = z
  .string()
  .superRefine(refineWith(parseDivisionCode))
  .meta({ description: "County-level administrative division code (行政区划代码, GB/T 2260): 6 digits, a 区, 县, 旗 or 县级市", examples: ["110101"] });

/** Amount in fen as a canonical decimal string; stays a string. */
export const Fen = z
  .string()
  .superRefine(refineWith(parseFen))
  .meta({ description: "Amount in fen (1 yuan = 100 fen) as a decimal string without sign or leading zeros, at most 18 digits", examples: ["123456"] });

/** RFC 3339 UTC timestamp; output in canonical form (see parseUtcTimestamp). */
export const UtcTimestamp = z
  .string()
  .superRefine(refineWith(parseUtcTimestamp))
  // Runs even after a failed refinement (the parse then fails anyway), so leave invalid input alone.
  .overwrite((s) => {
    try {
      return parseUtcTimestamp(s);
    } catch {
      return s;
    }
  })
  .meta({ description: "RFC 3339 timestamp in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z", examples: ["2026-03-01T08:30:00.000Z"] });

/** Calendar date YYYY-MM-DD that exists. */
export const IsoDate = z
  .string()
  .superRefine(refineWith(parseDate))
  .meta({ description: "Calendar date YYYY-MM-DD", examples: ["2026-03-01"] });

/** SHA-256 digest, 64 lower-case hex digits. */
export const Sha256Hex = z
  .string()
  .superRefine(refineWith(parseSha256Hex))
  .meta({ description: "SHA-256 digest as 64 lower-case hex digits", examples: ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"] });

/** Absolute http(s) URL without credentials. */
export const HttpUrl = z
  .string()
  .superRefine(refineWith(parseHttpUrl))
  .meta({ description: "Absolute http or https URL without user name or password", examples: ["https://www.gov.cn/zhengce/content/2026-01/01/content_0000000.htm"] });

/**
 * Free text of a record (a name, a reason, a reference), 1 to `max` UTF-16
 * code units: the one string type for every free-text field of every request
 * schema, so every one refuses the same invisible, reordering and control
 * characters and non-NFC text (see parsePlainText). A new free-text field uses
 * this; test/records/text-fields.test.ts fails for any string field of a
 * request schema that accepts such characters.
 */
export const PlainText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine(refineWith(parsePlainText))
    .meta({
      description:
        "Text in Unicode NFC without leading or trailing white space, control characters (C0, DEL, C1), bidirectional controls, zero-width or other invisible format characters, line separators, spaces other than U+0020 and U+3000, private-use characters, noncharacters or lone surrogates",
    });
