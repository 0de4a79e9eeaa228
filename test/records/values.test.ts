import { expect } from "chai";
import fc from "fast-check";
import {
  addFen,
  compareFen,
  formatFen,
  formatUtc,
  isValidDate,
  isValidFen,
  isValidUtcTimestamp,
  MAX_FEN,
  MAX_FEN_DIGITS,
  MAX_URL_LENGTH,
  parseDate,
  parseFen,
  parseHttpUrl,
  parseSha256Hex,
  parseUtcTimestamp,
  subFen,
  ValueError,
  type ValueErrorCode,
} from "../../service/records/values";
import { Fen, HttpUrl, IsoDate, Sha256Hex, UtcTimestamp } from "../../service/records/zod-types";
import { fcAssert } from "../helpers/fc";

/** Runs `fn` and returns the ValueError it throws; fails the test if it throws nothing or something else. */
function valueError(fn: () => unknown): ValueError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(ValueError);
    return e as ValueError;
  }
  expect.fail("expected a ValueError, nothing was thrown");
}

const TWO_53 = 2n ** 53n;

/** A canonical fen string of any allowed length. */
const fenString = fc.stringMatching(new RegExp(`^(?:0|[1-9][0-9]{0,${MAX_FEN_DIGITS - 1}})$`));

/** Schoolbook decimal addition on strings: a reference for addFen that shares no code with bigint. */
function addDecimalStrings(a: string, b: string): string {
  let out = "";
  let carry = 0;
  for (let i = a.length - 1, j = b.length - 1; i >= 0 || j >= 0 || carry > 0; i--, j--) {
    const sum = (i >= 0 ? a.charCodeAt(i) - 48 : 0) + (j >= 0 ? b.charCodeAt(j) - 48 : 0) + carry;
    out = String(sum % 10) + out;
    carry = sum >= 10 ? 1 : 0;
  }
  return out.replace(/^0+(?=[0-9])/, "");
}

describe("values", () => {
  describe("money in fen", () => {
    describe("parseFen", () => {
      describe("when the amount is a canonical decimal string", () => {
        const cases: readonly [string, bigint][] = [
          ["0", 0n],
          ["1", 1n],
          ["10", 10n],
          ["9007199254740993", TWO_53 + 1n],
          ["999999999999999999", MAX_FEN],
        ];
        for (const [input, value] of cases) {
          it(`parses ${input} to ${value}n`, () => {
            expect(parseFen(input)).to.equal(value);
            expect(isValidFen(input)).to.equal(true);
          });
        }
      });

      describe("when the amount is anything else", () => {
        const cases: readonly [string, unknown, ValueErrorCode][] = [
          ["a plus sign", "+1", "FEN_FORMAT"],
          ["a minus sign", "-1", "FEN_FORMAT"],
          ["a decimal point", "1.0", "FEN_FORMAT"],
          ["a leading zero", "01", "FEN_FORMAT"],
          ["two zeros", "00", "FEN_FORMAT"],
          ["a leading space", " 1", "FEN_FORMAT"],
          ["a trailing newline", "1\n", "FEN_FORMAT"],
          ["the empty string", "", "FEN_FORMAT"],
          ["an exponent", "1e3", "FEN_FORMAT"],
          ["hex", "0x10", "FEN_FORMAT"],
          ["a digit separator", "1_000", "FEN_FORMAT"],
          ["a thousands separator", "1,000", "FEN_FORMAT"],
          ["full-width digits", "１２", "FEN_FORMAT"],
          ["Infinity", "Infinity", "FEN_FORMAT"],
          ["19 digits", "1000000000000000000", "FEN_TOO_LARGE"],
          ["a number", 100, "NOT_A_STRING"],
          ["a bigint", 100n, "NOT_A_STRING"],
          ["null", null, "NOT_A_STRING"],
          ["undefined", undefined, "NOT_A_STRING"],
        ];
        for (const [what, input, code] of cases) {
          it(`throws ${code} for ${what}`, () => {
            expect(valueError(() => parseFen(input)).code).to.equal(code);
            expect(isValidFen(input)).to.equal(false);
          });
        }
      });

      it("round-trips through formatFen for every canonical string", () => {
        fcAssert(fc.property(fenString, (s) => formatFen(parseFen(s)) === s));
      });

      it("round-trips through parseFen for every amount from 0 to MAX_FEN", () => {
        fcAssert(fc.property(fc.bigInt(0n, MAX_FEN), (v) => parseFen(formatFen(v)) === v));
      });
    });

    describe("formatFen", () => {
      it("writes 0 as 0", () => {
        expect(formatFen(0n)).to.equal("0");
      });

      const cases: readonly [string, unknown, ValueErrorCode][] = [
        ["a negative amount", -1n, "FEN_NEGATIVE"],
        ["MAX_FEN + 1", MAX_FEN + 1n, "FEN_TOO_LARGE"],
        ["a number", 1, "NOT_A_BIGINT"],
        ["a string", "1", "NOT_A_BIGINT"],
      ];
      for (const [what, input, code] of cases) {
        it(`throws ${code} for ${what}`, () => {
          expect(valueError(() => formatFen(input as bigint)).code).to.equal(code);
        });
      }
    });

    describe("arithmetic", () => {
      it("adds exactly beyond 2^53, agreeing with decimal string addition", () => {
        const half = MAX_FEN / 2n;
        fcAssert(
          fc.property(fc.bigInt(0n, half), fc.bigInt(0n, half), (a, b) => formatFen(addFen(a, b)) === addDecimalStrings(a.toString(), b.toString())),
        );
      });

      it("adds 2^53 and 1 to 2^53 + 1, which a double cannot hold", () => {
        expect(Number(TWO_53) + 1).to.equal(Number(TWO_53)); // the precision a float would lose
        expect(formatFen(addFen(TWO_53, 1n))).to.equal("9007199254740993");
      });

      it("undoes addition with subtraction", () => {
        const half = MAX_FEN / 2n;
        fcAssert(fc.property(fc.bigInt(0n, half), fc.bigInt(0n, half), (a, b) => subFen(addFen(a, b), b) === a));
      });

      it("throws FEN_TOO_LARGE when a sum passes MAX_FEN", () => {
        expect(valueError(() => addFen(MAX_FEN, 1n)).code).to.equal("FEN_TOO_LARGE");
      });

      it("throws FEN_NEGATIVE when a difference goes below zero", () => {
        expect(valueError(() => subFen(1n, 2n)).code).to.equal("FEN_NEGATIVE");
      });

      it("throws FEN_NEGATIVE for a negative operand", () => {
        expect(valueError(() => addFen(-1n, 2n)).code).to.equal("FEN_NEGATIVE");
      });

      it("throws NOT_A_BIGINT for a number operand", () => {
        expect(valueError(() => addFen(1 as unknown as bigint, 2n)).code).to.equal("NOT_A_BIGINT");
        expect(valueError(() => compareFen(1n, 2 as unknown as bigint)).code).to.equal("NOT_A_BIGINT");
      });

      it("compares like the integers do", () => {
        expect(compareFen(1n, 2n)).to.equal(-1);
        expect(compareFen(2n, 2n)).to.equal(0);
        expect(compareFen(TWO_53 + 1n, TWO_53)).to.equal(1);
        fcAssert(fc.property(fc.bigInt(0n, MAX_FEN), fc.bigInt(0n, MAX_FEN), (a, b) => compareFen(a, b) === (a < b ? -1 : a > b ? 1 : 0)));
      });
    });

    describe("the Fen zod schema", () => {
      it("keeps the amount a string", () => {
        expect(Fen.parse("123456")).to.equal("123456");
      });

      it("reports the ValueError's message and code", () => {
        const result = Fen.safeParse("01");
        expect(result.success).to.equal(false);
        const issue = result.error!.issues[0]!;
        expect(issue.message).to.equal(valueError(() => parseFen("01")).message);
        expect((issue as { params?: { code?: string } }).params?.code).to.equal("FEN_FORMAT");
      });
    });
  });

  describe("time", () => {
    describe("parseUtcTimestamp", () => {
      describe("when the timestamp is RFC 3339 UTC with a real date", () => {
        const cases: readonly [string, string][] = [
          ["2026-03-01T08:30:00Z", "2026-03-01T08:30:00.000Z"],
          ["2026-03-01T08:30:00.000Z", "2026-03-01T08:30:00.000Z"],
          ["2026-03-01T08:30:00.5Z", "2026-03-01T08:30:00.500Z"],
          ["2026-03-01T08:30:00.1234Z", "2026-03-01T08:30:00.123400Z"],
          ["2026-03-01T08:30:00.123456789Z", "2026-03-01T08:30:00.123456789Z"],
          ["2026-03-01T08:30:00.123000000Z", "2026-03-01T08:30:00.123Z"],
          ["2024-02-29T23:59:59Z", "2024-02-29T23:59:59.000Z"],
          ["2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z"],
          ["2026-12-31T23:59:59.999Z", "2026-12-31T23:59:59.999Z"],
        ];
        for (const [input, canonical] of cases) {
          it(`accepts ${input} as ${canonical}`, () => {
            expect(parseUtcTimestamp(input)).to.equal(canonical);
            expect(isValidUtcTimestamp(input)).to.equal(true);
          });
        }
      });

      describe("when the timestamp is anything else", () => {
        const cases: readonly [string, unknown, ValueErrorCode][] = [
          ["30 February", "2026-02-30T00:00:00Z", "DATE_INVALID"],
          ["29 February of a common year", "2026-02-29T00:00:00Z", "DATE_INVALID"],
          ["29 February 1900 (not a leap year)", "1900-02-29T00:00:00Z", "DATE_INVALID"],
          ["31 April", "2026-04-31T00:00:00Z", "DATE_INVALID"],
          ["month 13", "2026-13-01T00:00:00Z", "DATE_INVALID"],
          ["month 00", "2026-00-10T00:00:00Z", "DATE_INVALID"],
          ["day 00", "2026-01-00T00:00:00Z", "DATE_INVALID"],
          ["hour 24", "2026-03-01T24:00:00Z", "TIME_INVALID"],
          ["minute 60", "2026-03-01T23:60:00Z", "TIME_INVALID"],
          ["a leap second", "2016-12-31T23:59:60Z", "TIME_INVALID"],
          ["a lower-case t", "2026-03-01t08:30:00Z", "TIMESTAMP_FORMAT"],
          ["a lower-case z", "2026-03-01T08:30:00z", "TIMESTAMP_FORMAT"],
          ["an offset", "2026-03-01T16:30:00+08:00", "TIMESTAMP_FORMAT"],
          ["a +00:00 offset", "2026-03-01T08:30:00+00:00", "TIMESTAMP_FORMAT"],
          ["no zone", "2026-03-01T08:30:00", "TIMESTAMP_FORMAT"],
          ["a space for T", "2026-03-01 08:30:00Z", "TIMESTAMP_FORMAT"],
          ["no seconds", "2026-03-01T08:30Z", "TIMESTAMP_FORMAT"],
          ["ten fraction digits", "2026-03-01T08:30:00.1234567890Z", "TIMESTAMP_FORMAT"],
          ["an empty fraction", "2026-03-01T08:30:00.Z", "TIMESTAMP_FORMAT"],
          ["one-digit month", "2026-3-01T08:30:00Z", "TIMESTAMP_FORMAT"],
          ["a trailing newline", "2026-03-01T08:30:00Z\n", "TIMESTAMP_FORMAT"],
          ["a date only", "2026-03-01", "TIMESTAMP_FORMAT"],
          ["a Date", new Date(0), "NOT_A_STRING"],
          ["a number", 0, "NOT_A_STRING"],
        ];
        for (const [what, input, code] of cases) {
          it(`throws ${code} for ${what}`, () => {
            expect(valueError(() => parseUtcTimestamp(input)).code).to.equal(code);
            expect(isValidUtcTimestamp(input)).to.equal(false);
          });
        }
      });

      it("denotes the same instant as Date does, and formatUtc output is already canonical", () => {
        const range = fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true });
        fcAssert(
          fc.property(range, (d) => {
            const s = formatUtc(d);
            return parseUtcTimestamp(s) === s && new Date(parseUtcTimestamp(s)).getTime() === d.getTime();
          }),
        );
      });

      it("maps two spellings to the same canonical string exactly when they denote the same instant", () => {
        fcAssert(
          fc.property(fc.nat(999_999_999), fc.nat(999_999_999), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (x, y, wx, wy) => {
            const spell = (n: number, w: number) => `2026-03-01T08:30:00.${String(n).padStart(9, "0").slice(0, w)}Z`;
            const a = spell(x, wx);
            const b = spell(y, wy);
            const sameInstant = a.slice(20, -1).padEnd(9, "0") === b.slice(20, -1).padEnd(9, "0");
            return (parseUtcTimestamp(a) === parseUtcTimestamp(b)) === sameInstant;
          }),
        );
      });
    });

    describe("formatUtc", () => {
      it("writes a Date with millisecond precision", () => {
        expect(formatUtc(new Date(Date.UTC(2026, 2, 1, 8, 30, 0, 5)))).to.equal("2026-03-01T08:30:00.005Z");
      });

      const cases: readonly [string, unknown][] = [
        ["an invalid Date", new Date(Number.NaN)],
        ["a year past 9999", new Date("+010000-01-01T00:00:00Z")],
        ["a negative year", new Date("-000001-01-01T00:00:00Z")],
        ["a string", "2026-03-01T08:30:00Z"],
      ];
      for (const [what, input] of cases) {
        it(`throws TIMESTAMP_OUT_OF_RANGE for ${what}`, () => {
          expect(valueError(() => formatUtc(input as Date)).code).to.equal("TIMESTAMP_OUT_OF_RANGE");
        });
      }
    });

    describe("parseDate", () => {
      for (const input of ["2026-03-01", "2024-02-29", "2000-02-29", "2026-12-31", "0001-01-01"]) {
        it(`accepts ${input}`, () => {
          expect(parseDate(input)).to.equal(input);
          expect(isValidDate(input)).to.equal(true);
        });
      }

      const cases: readonly [string, unknown, ValueErrorCode][] = [
        ["30 February", "2026-02-30", "DATE_INVALID"],
        ["29 February 2100", "2100-02-29", "DATE_INVALID"],
        ["31 June", "2026-06-31", "DATE_INVALID"],
        ["month 13", "2026-13-01", "DATE_INVALID"],
        ["day 00", "2026-01-00", "DATE_INVALID"],
        ["a timestamp", "2026-03-01T00:00:00Z", "DATE_FORMAT"],
        ["slashes", "2026/03/01", "DATE_FORMAT"],
        ["one-digit day", "2026-03-1", "DATE_FORMAT"],
        ["a compact date", "20260301", "DATE_FORMAT"],
        ["a trailing space", "2026-03-01 ", "DATE_FORMAT"],
        ["a Date", new Date(0), "NOT_A_STRING"],
      ];
      for (const [what, input, code] of cases) {
        it(`throws ${code} for ${what}`, () => {
          expect(valueError(() => parseDate(input)).code).to.equal(code);
          expect(isValidDate(input)).to.equal(false);
        });
      }

      it("agrees with the proleptic Gregorian calendar of Date.UTC for every year, month and day", () => {
        fcAssert(
          fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (y, m, d) => {
            const s = `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
            const date = new Date(0);
            date.setUTCFullYear(y, m - 1, d);
            const real = m >= 1 && m <= 12 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
            return isValidDate(s) === real;
          }),
        );
      });
    });

    describe("the UtcTimestamp and IsoDate zod schemas", () => {
      it("outputs the canonical timestamp", () => {
        expect(UtcTimestamp.parse("2026-03-01T08:30:00Z")).to.equal("2026-03-01T08:30:00.000Z");
      });

      it("reports the ValueError's message and code for a timestamp", () => {
        const result = UtcTimestamp.safeParse("2026-02-30T00:00:00Z");
        expect(result.success).to.equal(false);
        const issue = result.error!.issues[0]!;
        expect(issue.message).to.equal(valueError(() => parseUtcTimestamp("2026-02-30T00:00:00Z")).message);
        expect((issue as { params?: { code?: string } }).params?.code).to.equal("DATE_INVALID");
      });

      it("accepts a real date and rejects 30 February", () => {
        expect(IsoDate.parse("2024-02-29")).to.equal("2024-02-29");
        expect(IsoDate.safeParse("2026-02-30").success).to.equal(false);
      });
    });
  });

  describe("digests and URLs", () => {
    describe("parseSha256Hex", () => {
      const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

      it("accepts 64 lower-case hex digits", () => {
        expect(parseSha256Hex(EMPTY)).to.equal(EMPTY);
        expect(Sha256Hex.parse(EMPTY)).to.equal(EMPTY);
      });

      const cases: readonly [string, unknown, ValueErrorCode][] = [
        ["upper case", EMPTY.toUpperCase(), "SHA256_FORMAT"],
        ["63 digits", EMPTY.slice(1), "SHA256_FORMAT"],
        ["65 digits", `${EMPTY}0`, "SHA256_FORMAT"],
        ["a non-hex letter", `${EMPTY.slice(1)}g`, "SHA256_FORMAT"],
        ["a 0x prefix", `0x${EMPTY.slice(2)}`, "SHA256_FORMAT"],
        ["a trailing newline", `${EMPTY}\n`, "SHA256_FORMAT"],
        ["bytes", new Uint8Array(32), "NOT_A_STRING"],
      ];
      for (const [what, input, code] of cases) {
        it(`throws ${code} for ${what}`, () => {
          expect(valueError(() => parseSha256Hex(input)).code).to.equal(code);
          expect(Sha256Hex.safeParse(input).success).to.equal(false);
        });
      }

      it("suggests lower case for an upper-case digest", () => {
        expect(valueError(() => parseSha256Hex(EMPTY.toUpperCase())).message).to.contain("lower case");
      });
    });

    describe("parseHttpUrl", () => {
      for (const input of [
        "https://www.gov.cn/zhengce/content/2026-01/01/content_0000000.htm",
        "http://example.org",
        "https://example.org:8443/a/b?c=d#e",
        "https://example.org/path/@not-credentials",
        "https://example.org/?q=a@b",
        "https://[2001:db8::1]/doc.pdf",
        "https://政府.cn/文件.pdf",
      ]) {
        it(`accepts ${input} and returns it unchanged`, () => {
          expect(parseHttpUrl(input)).to.equal(input);
          expect(HttpUrl.parse(input)).to.equal(input);
        });
      }

      const cases: readonly [string, unknown, ValueErrorCode][] = [
        ["a user and password", "https://user:secret@example.org/", "URL_CREDENTIALS"],
        ["a user name", "https://user@example.org/", "URL_CREDENTIALS"],
        ["an empty user info", "https://@example.org/", "URL_CREDENTIALS"],
        ["ftp", "ftp://example.org/file", "URL_SCHEME"],
        ["javascript", "javascript:alert(1)", "URL_SCHEME"],
        ["a data URL", "data:text/plain,hi", "URL_SCHEME"],
        ["file", "file:///etc/passwd", "URL_SCHEME"],
        ["a relative URL", "/zhengce/content.htm", "URL_FORMAT"],
        ["no slashes after the scheme", "https:example.org", "URL_FORMAT"],
        ["a space", "https://example.org/a b", "URL_FORMAT"],
        ["a leading space", " https://example.org/", "URL_FORMAT"],
        ["a tab", "https://exa\tmple.org/", "URL_FORMAT"],
        ["a backslash", "http://a.example\\@b.example/", "URL_FORMAT"],
        ["the empty string", "", "URL_FORMAT"],
        ["no host", "https://", "URL_FORMAT"],
        ["too long", `https://example.org/${"a".repeat(MAX_URL_LENGTH)}`, "URL_TOO_LONG"],
        ["a URL object", new URL("https://example.org/"), "NOT_A_STRING"],
      ];
      for (const [what, input, code] of cases) {
        it(`throws ${code} for ${what}`, () => {
          expect(valueError(() => parseHttpUrl(input)).code).to.equal(code);
        });
      }

      it("reports the ValueError's message through the HttpUrl zod schema", () => {
        const result = HttpUrl.safeParse("https://user:secret@example.org/");
        expect(result.success).to.equal(false);
        expect(result.error!.issues[0]!.message).to.equal("a URL cannot carry a user name or password");
      });

      it("never puts the credentials it rejects into the message", () => {
        expect(valueError(() => parseHttpUrl("https://user:secret@example.org/")).message).to.not.contain("secret");
      });
    });
  });
});
