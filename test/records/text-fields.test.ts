/**
 * Recorded text reads the way it is stored: every string field of every
 * request body refuses invisible, reordering and control characters, and
 * non-NFC text. The string fields are found by walking the request schemas'
 * JSON Schema, and the schemas by walking the OpenAPI document's request
 * bodies, so a new field or a new route cannot escape the rule.
 */
import { expect } from "chai";
import { z } from "zod";
import { TokenRequest } from "../../service/auth/tokens";
import { openApiDocument } from "../../service/http/openapi";
import { BatchRequest, ErasureRequest, REQUEST_SCHEMAS, type RecordKind } from "../../service/records/schemas";
import { checkTextCharacters, parseHttpUrl, parsePlainText, ValueError } from "../../service/records/values";
import { applicationRequest, decisionRequest, payoutRequest, programmeRequest } from "../helpers/ledger-fixtures";

/** Characters no text field may hold, one of each kind the rule names. */
export const FORBIDDEN: readonly (readonly [string, string])[] = [
  ["U+202E RIGHT-TO-LEFT OVERRIDE", "\u202e"],
  ["U+202A LEFT-TO-RIGHT EMBEDDING", "\u202a"],
  ["U+200E LEFT-TO-RIGHT MARK", "\u200e"],
  ["U+200F RIGHT-TO-LEFT MARK", "\u200f"],
  ["U+061C ARABIC LETTER MARK", "\u061c"],
  ["U+2066 LEFT-TO-RIGHT ISOLATE", "\u2066"],
  ["U+2069 POP DIRECTIONAL ISOLATE", "\u2069"],
  ["U+200B ZERO WIDTH SPACE", "\u200b"],
  ["U+200C ZERO WIDTH NON-JOINER", "\u200c"],
  ["U+200D ZERO WIDTH JOINER", "\u200d"],
  ["U+2060 WORD JOINER", "\u2060"],
  ["U+2064 INVISIBLE PLUS", "\u2064"],
  ["U+FEFF ZERO WIDTH NO-BREAK SPACE", "\ufeff"],
  ["U+180E MONGOLIAN VOWEL SEPARATOR", "\u180e"],
  ["U+00AD SOFT HYPHEN", "\u00ad"],
  ["U+0085 NEXT LINE (C1)", "\u0085"],
  ["U+0080 (C1)", "\u0080"],
  ["U+009F (C1)", "\u009f"],
  ["U+0000 NUL", "\u0000"],
  ["U+0009 TAB", "\t"],
  ["U+000A LINE FEED", "\n"],
  ["U+000D CARRIAGE RETURN", "\r"],
  ["U+001B ESCAPE", "\u001b"],
  ["U+007F DELETE", "\u007f"],
  ["U+2028 LINE SEPARATOR", "\u2028"],
  ["U+2029 PARAGRAPH SEPARATOR", "\u2029"],
  ["U+00A0 NO-BREAK SPACE", "\u00a0"],
  ["U+2009 THIN SPACE", "\u2009"],
  ["U+FE0F VARIATION SELECTOR-16", "\ufe0f"],
  ["U+E0100 VARIATION SELECTOR-17", "\u{e0100}"],
  ["U+E0041 TAG LATIN CAPITAL LETTER A", "\u{e0041}"],
  ["U+3164 HANGUL FILLER", "\u3164"],
  ["U+E000 (private use)", "\ue000"],
  ["U+F8FF (private use)", "\uf8ff"],
  ["U+100000 (private use, plane 16)", "\u{100000}"],
  ["U+FDD0 (noncharacter)", "\ufdd0"],
  ["U+FFFE (noncharacter)", "\ufffe"],
  ["U+1FFFF (noncharacter)", "\u{1ffff}"],
  ["a lone high surrogate", "\ud800"],
  ["a lone low surrogate", "\udc00"],
];

/** Legitimate Chinese text: ideographs, CJK punctuation, full-width forms, the middle dots, the ideographic space, a rare ideograph outside the BMP. */
const CHINESE = ["深圳市·南山区（科技）有限公司", "“专精特新”企业、小巨人：补贴！？《办法》【第一条】", "ＡＢＣ１２３　有限公司", "阿卜杜拉・买买提", "𠀀𪚥科技", "Zhang San & Co., Ltd. 1-2"];

const PROGRAMME_ID = `prg_${"a".repeat(24)}`;
const APPLICATION_ID = `app_${"b".repeat(24)}`;
const DECISION_ID = `dec_${"c".repeat(24)}`;
const PAYOUT_ID = `pay_${"d".repeat(24)}`;

/** A valid body of each request schema with every optional field present, so every string field has a value to spoil. */
const SAMPLES: Readonly<Record<RecordKind | "token", Record<string, unknown>>> = {
  programme: programmeRequest({ maxPerEnterpriseFen: "2000000" }),
  application: applicationRequest(PROGRAMME_ID),
  decision: decisionRequest(APPLICATION_ID),
  payout: payoutRequest(DECISION_ID),
  confirmation: { payoutId: PAYOUT_ID },
  correction: {
    targetId: APPLICATION_ID,
    reasonCode: "data-entry-error",
    reasonText: "录入错误",
    clawbackFen: "100",
    replacement: {
      enterpriseName: "某某科技有限公司",
      region: "110101",
      reason: "理由",
      name: "名称",
      agency: "市工信局",
      paidOn: "2026-03-09",
      policyDocument: { sha256: "ab".repeat(32), url: "https://www.gov.cn/zhengce/content.htm" },
      private: { contactPerson: "张三", phone: "13800000000", bankAccount: "6222020200112233", bankTransactionRef: "TX-1" },
    },
  },
  agency: { code: "130123-FGW", name: "正定县发展和改革局", parent: "130100-FGW" },
  delegation: { from: "130000-FGW", to: "130123-FGW", granted: true },
  token: { official: "clerk.li", name: "李明", agency: "市工信局", role: "clerk" },
};

const SCHEMAS: Readonly<Record<RecordKind | "token", z.ZodType>> = { ...REQUEST_SCHEMAS, token: TokenRequest };

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
};

/** Every path (keys joined by "/") of a string-typed property that is not an enum or a constant. */
function stringPaths(schema: JsonSchema, prefix: readonly string[] = []): string[][] {
  if (schema.$ref !== undefined) throw new Error(`unexpected $ref ${schema.$ref} at /${prefix.join("/")}: inline the schema or teach this walker`);
  const out: string[][] = [];
  for (const alt of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) out.push(...stringPaths(alt, prefix));
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  if (types.includes("string") && schema.enum === undefined && schema.const === undefined) out.push([...prefix]);
  for (const [k, v] of Object.entries(schema.properties ?? {})) out.push(...stringPaths(v, [...prefix, k]));
  if (schema.items !== undefined) out.push(...stringPaths(schema.items, [...prefix, "0"]));
  return out;
}

function getAt(o: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), o);
}

function setAt(o: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(o);
  let cur: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
  return copy;
}

/** The issues a parse reports at exactly `path`. */
function issuesAt(schema: z.ZodType, body: unknown, path: readonly string[]): { code: string; message: string }[] {
  const r = schema.safeParse(body);
  if (r.success) return [];
  return r.error.issues
    .filter((i) => i.path.map(String).join("/") === path.join("/"))
    .map((i) => {
      const params = (i as { params?: { code?: unknown } }).params;
      return { code: typeof params?.code === "string" ? params.code : i.code, message: i.message };
    });
}

/** The middle of a string, by code points (so a surrogate pair is never split). */
function insertMiddle(s: string, c: string): string {
  const cps = [...s];
  const at = Math.max(1, Math.floor(cps.length / 2));
  return cps.slice(0, at).join("") + c + cps.slice(at).join("");
}

describe("recorded text", () => {
  describe("parsePlainText", () => {
    for (const text of CHINESE) {
      it(`accepts ${JSON.stringify(text)}`, () => {
        expect(parsePlainText(text)).to.equal(text);
      });
    }

    for (const [name, c] of FORBIDDEN) {
      it(`refuses ${name} with TEXT_CHARACTER, naming the code point but not echoing it`, () => {
        let caught: unknown;
        try {
          parsePlainText(`补贴${c}名称`);
        } catch (e) {
          caught = e;
        }
        expect(caught).to.be.instanceOf(ValueError);
        const e = caught as ValueError;
        expect(e.code).to.equal("TEXT_CHARACTER");
        expect(e.message).to.include(`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`);
        expect(e.message).to.include("at character 3");
        expect(e.message).to.not.include(c);
      });
    }

    it("refuses text not in NFC (a decomposed é, a CJK compatibility ideograph) with TEXT_NOT_NFC", () => {
      for (const s of ["Cafe\u0301", "\uf900科技"]) expect(() => parsePlainText(s)).to.throw(ValueError).with.property("code", "TEXT_NOT_NFC");
      expect(parsePlainText("Caf\u00e9")).to.equal("Caf\u00e9");
    });

    it("refuses leading or trailing spaces, ideographic ones too, with TEXT_SPACES", () => {
      for (const s of [" 补贴", "补贴 ", "\u3000补贴"]) expect(() => parsePlainText(s)).to.throw(ValueError).with.property("code", "TEXT_SPACES");
    });

    it("refuses a non-string with NOT_A_STRING", () => {
      expect(() => parsePlainText(7)).to.throw(ValueError).with.property("code", "NOT_A_STRING");
    });
  });

  describe("parseHttpUrl", () => {
    it("refuses a URL holding a bidi override, a zero-width space or a private-use character", () => {
      for (const c of ["\u202e", "\u200b", "\ue000", "\u00ad"])
        expect(() => parseHttpUrl(`https://www.gov.cn/a${c}b.htm`)).to.throw(ValueError).with.property("code", "TEXT_CHARACTER");
    });

    it("accepts a URL with Chinese in its path, as sent", () => {
      expect(parseHttpUrl("https://www.gov.cn/政策/文件.htm")).to.equal("https://www.gov.cn/政策/文件.htm");
    });
  });

  describe("checkTextCharacters", () => {
    it("counts positions in code points, so a character outside the BMP counts once", () => {
      expect(() => checkTextCharacters("𠀀\u202e")).to.throw(/at character 2/);
    });
  });

  describe("the request schemas", () => {
    it("are every request body the OpenAPI document names", () => {
      const doc = openApiDocument() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>> };
      const named = new Set<string>();
      for (const ops of Object.values(doc.paths))
        for (const op of Object.values(ops)) for (const media of Object.values(op.requestBody?.content ?? {})) named.add(media.schema.$ref.replace("#/components/schemas/", ""));
      // The batch's records are the single-record schemas themselves (checked below), so it needs no sample of its own.
      expect([...named].sort()).to.deep.equal(
        [
          "AgencyRequest",
          "ApplicationRequest",
          "BatchRequest",
          "ConfirmationRequest",
          "CorrectionRequest",
          "DecisionRequest",
          "DelegationRequest",
          "ErasureRequest",
          "PayoutRequest",
          "ProgrammeRequest",
          "TokenRequest",
        ].sort(),
      );
    });

    it("take no free text in an erasure: its one field is a closed set of reason codes", () => {
      const paths = stringPaths(z.toJSONSchema(ErasureRequest, { io: "input", unrepresentable: "any" }) as JsonSchema);
      expect(paths).to.deep.equal([]);
      expect(ErasureRequest.safeParse({ reasonCode: "data-subject-request" }).success).to.equal(true);
      expect(ErasureRequest.safeParse({ reasonCode: "张三要求删除" }).success).to.equal(false);
    });

    it("put the single-record schemas themselves in a batch, so a batch's records obey the same rule", () => {
      const variants = BatchRequest.shape.records.element.options;
      expect(variants.map((v) => v.shape.kind.value).sort()).to.deep.equal(Object.keys(REQUEST_SCHEMAS).sort());
      for (const v of variants) expect(v.shape.body, v.shape.kind.value).to.equal(REQUEST_SCHEMAS[v.shape.kind.value]);
    });

    for (const [kind, schema] of Object.entries(SCHEMAS) as [RecordKind | "token", z.ZodType][]) {
      describe(`the ${kind} request`, () => {
        const sample = SAMPLES[kind];
        const paths = stringPaths(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema);

        it("has a valid sample with a value in every string field", () => {
          expect(schema.safeParse(sample).success, JSON.stringify(schema.safeParse(sample).error?.issues)).to.equal(true);
          expect(paths, "string fields found").to.not.be.empty;
          for (const p of paths) expect(getAt(sample, p), `the sample lacks /${p.join("/")}: add it`).to.be.a("string");
        });

        for (const p of paths) {
          const where = `/${p.join("/")}`;
          it(`refuses every forbidden character in ${where}, at that path`, () => {
            const valid = getAt(sample, p) as string;
            for (const [name, c] of FORBIDDEN) {
              const issues = issuesAt(schema, setAt(sample, p, insertMiddle(valid, c)), p);
              expect(issues, `${name} in ${where}`).to.not.be.empty;
            }
          });

          it(`refuses non-NFC text in ${where}`, () => {
            const valid = getAt(sample, p) as string;
            expect(issuesAt(schema, setAt(sample, p, `${valid}e\u0301`), p), where).to.not.be.empty;
          });

          // A free-text field (one that takes any Chinese text) must refuse for the character itself, not by luck of its format.
          if (CHINESE.slice(0, 2).every((t) => issuesAt(schema, setAt(sample, p, t), p).length === 0)) {
            it(`refuses them in ${where} as TEXT_CHARACTER, while taking Chinese text`, () => {
              for (const t of CHINESE) expect(issuesAt(schema, setAt(sample, p, t.slice(0, 100)), p), t).to.deep.equal([]);
              for (const [name, c] of FORBIDDEN)
                expect(issuesAt(schema, setAt(sample, p, insertMiddle("补贴名称", c)), p).map((i) => i.code), name).to.include("TEXT_CHARACTER");
            });
          }
        }
      });
    }
  });
});
