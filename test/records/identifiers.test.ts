import { expect } from "chai";
import fc from "fast-check";
import {
  allCountyDivisions,
  CREDIT_CODE_ALPHABET,
  CREDIT_CODE_WEIGHTS,
  creditCodeCheckChar,
  creditCodeParts,
  divisionInfo,
  hasValidOrganisationCodeCheck,
  IdentifierError,
  type IdentifierErrorCode,
  isValidCreditCode,
  isValidDivisionCode,
  organisationCodeCheckChar,
  parseCreditCode,
  parseDivisionCode,
  prefectureOf,
  provinceOf,
  REGION_TYPES,
  regionType,
} from "../../service/records/identifiers";
import { CreditCode, DivisionCode } from "../../service/records/zod-types";
import { fcAssert } from "../helpers/fc";

/** Runs `fn` and returns the IdentifierError it throws; fails the test if it throws nothing or something else. */
function identifierError(fn: () => unknown): IdentifierError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(IdentifierError);
    return e as IdentifierError;
  }
  expect.fail("expected an IdentifierError, nothing was thrown");
}

/**
 * Real unified social credit codes. Each was found with the same company name
 * in several independent public sources (company data in public GitHub
 * repositories, located by exact-string search), and the codes are printed on
 * the companies' business licences; none was made up for the test. The first
 * is the worked example of GB 32100-2015 itself (as reproduced at
 * https://www.yc00.com/web/1713075042a2177900.html and
 * https://blog.csdn.net/hookee/article/details/50610168).
 */
const REAL_CODES: readonly (readonly [code: string, holder: string])[] = [
  ["91350100M000100Y43", "GB 32100-2015 worked example"],
  ["914403001922038216", "华为技术有限公司"],
  ["91440300192317458F", "比亚迪股份有限公司 (SZSE 002594)"],
  ["9144030071526726XG", "腾讯科技（深圳）有限公司"],
  ["91440300708461136T", "深圳市腾讯计算机系统有限公司"],
  ["91110108551385082Q", "小米科技有限责任公司"],
  ["91330100799655058B", "阿里巴巴（中国）有限公司"],
  ["91520000214434146R", "中航重机股份有限公司 (SSE 600765)"],
  ["91512081MA62K0260E", "worked example in a public Q&A, letters in the subject identifier"],
];

/** A valid credit code: 2 alphabet chars, 6 digits, 9 alphabet chars, then the computed check char. */
const validCreditCode = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...CREDIT_CODE_ALPHABET), minLength: 2, maxLength: 2 }),
    fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 6, maxLength: 6 }),
    fc.string({ unit: fc.constantFrom(...CREDIT_CODE_ALPHABET), minLength: 9, maxLength: 9 }),
  )
  .map(([a, b, c]) => a + b + c + creditCodeCheckChar(a + b + c));

describe("identifiers", () => {
  describe("unified social credit codes (GB 32100-2015)", () => {
    describe("the check-character weights", () => {
      it("are 3^(i-1) mod 31, not the mis-copied list that circulates", () => {
        expect(CREDIT_CODE_WEIGHTS).to.deep.equal([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]);
      });
    });

    describe("creditCodeCheckChar", () => {
      it("reproduces the standard's worked example (91350100M000100Y4 → 3)", () => {
        expect(creditCodeCheckChar("91350100M000100Y4")).to.equal("3");
      });

      for (const [code, holder] of REAL_CODES) {
        it(`gives ${code.slice(17)} for ${holder}`, () => {
          expect(creditCodeCheckChar(code.slice(0, 17))).to.equal(code.slice(17));
        });
      }

      it("writes a sum that is 0 mod 31 as check character 0, and 1 mod 31 as Y", () => {
        // Position 1 has weight 1, so its value sets the sum mod 31 when the rest are zeros.
        expect(creditCodeCheckChar("00000000000000000")).to.equal("0");
        expect(creditCodeCheckChar("10000000000000000")).to.equal("Y");
      });

      describe("when the prefix is not 17 characters of the alphabet", () => {
        const cases: readonly [string, unknown, IdentifierErrorCode][] = [
          ["16 characters", "9135010000000000", "CREDIT_CODE_LENGTH"],
          ["18 characters", "91350100M000100Y43", "CREDIT_CODE_LENGTH"],
          ["a letter I", "9I350100M000100Y4", "CREDIT_CODE_CHARSET"],
          ["a number", 91350100, "NOT_A_STRING"],
        ];
        for (const [what, input, code] of cases) {
          it(`throws ${code} for ${what}`, () => {
            expect(identifierError(() => creditCodeCheckChar(input as string)).code).to.equal(code);
          });
        }
      });
    });

    describe("parseCreditCode", () => {
      describe("when the code is a real, published one", () => {
        for (const [code, holder] of REAL_CODES) {
          it(`accepts ${code} (${holder}) and returns it unchanged`, () => {
            expect(parseCreditCode(code)).to.equal(code);
            expect(isValidCreditCode(code)).to.equal(true);
          });
        }
      });

      describe("when the code is generated with a computed check character", () => {
        it("accepts it", () => {
          fcAssert(fc.property(validCreditCode, (code) => parseCreditCode(code) === code));
        });

        it("rejects it after any single-character substitution", () => {
          fcAssert(
            fc.property(validCreditCode, fc.nat(17), fc.constantFrom(...CREDIT_CODE_ALPHABET), (code, i, c) => {
              fc.pre(code[i] !== c);
              const mutated = code.slice(0, i) + c + code.slice(i + 1);
              return !isValidCreditCode(mutated);
            }),
          );
        });

        it("rejects it after swapping two different adjacent characters", () => {
          fcAssert(
            fc.property(validCreditCode, fc.nat(16), (code, i) => {
              fc.pre(code[i] !== code[i + 1]);
              const swapped = code.slice(0, i) + code[i + 1]! + code[i]! + code.slice(i + 2);
              return !isValidCreditCode(swapped);
            }),
          );
        });
      });

      describe("when the input is malformed", () => {
        const cases: readonly [string, unknown, IdentifierErrorCode][] = [
          ["a number", 914403001922038216, "NOT_A_STRING"],
          ["null", null, "NOT_A_STRING"],
          ["undefined", undefined, "NOT_A_STRING"],
          ["an object", { code: "914403001922038216" }, "NOT_A_STRING"],
          ["the empty string", "", "CREDIT_CODE_LENGTH"],
          ["17 characters", "91440300192203821", "CREDIT_CODE_LENGTH"],
          ["19 characters", "9144030019220382160", "CREDIT_CODE_LENGTH"],
          ["a leading space", " 91440300192203821", "CREDIT_CODE_CHARSET"],
          ["a trailing space", "91440300192203821 ", "CREDIT_CODE_CHARSET"],
          ["lower-case letters", "9144030071526726xg", "CREDIT_CODE_CHARSET"],
          ["the excluded letter O", "91350100O000100Y43", "CREDIT_CODE_CHARSET"],
          ["the excluded letter Z as check character", "91350100M000100Y4Z", "CREDIT_CODE_CHARSET"],
          ["a letter in the division code (positions 3-8)", "91A50100M000100Y43", "CREDIT_CODE_CHARSET"],
          ["full-width digits", "９１４４０３００１９２２０３８２１６", "CREDIT_CODE_CHARSET"],
          ["a wrong check character", "914403001922038217", "CREDIT_CODE_CHECK_DIGIT"],
          ["a typo in the body", "914403001922038316", "CREDIT_CODE_CHECK_DIGIT"],
        ];
        for (const [what, input, code] of cases) {
          it(`throws ${code} for ${what}`, () => {
            const e = identifierError(() => parseCreditCode(input));
            expect(e.code).to.equal(code);
            expect(isValidCreditCode(input)).to.equal(false);
          });
        }

        it("names the expected check character in the message", () => {
          expect(identifierError(() => parseCreditCode("914403001922038217")).message).to.contain("expected 6");
        });

        it("says letters must be upper case", () => {
          expect(identifierError(() => parseCreditCode("9144030071526726xg")).message).to.contain("upper case");
        });
      });
    });

    describe("creditCodeParts", () => {
      it("splits a code into department, entity type, authority division, organisation code and check character", () => {
        expect(creditCodeParts("91440300192317458F")).to.deep.equal({
          registrationDepartment: "9",
          entityType: "1",
          authorityDivision: "440300",
          organisationCode: "192317458",
          checkChar: "F",
        });
      });

      it("throws for an invalid code", () => {
        expect(identifierError(() => creditCodeParts("91440300192317458G")).code).to.equal("CREDIT_CODE_CHECK_DIGIT");
      });
    });

    describe("the GB 11714 organisation-code check (informational, not enforced)", () => {
      it("passes for every real code", () => {
        for (const [code] of REAL_CODES) expect(hasValidOrganisationCodeCheck(code), code).to.equal(true);
      });

      it("computes X for a remainder of 1 and 0 for a remainder of 0", () => {
        // 9144030071526726XG: organisation code 71526726-X.
        expect(organisationCodeCheckChar("71526726")).to.equal("X");
        expect(organisationCodeCheckChar("00000000")).to.equal("0");
      });

      it("fails for a code whose mod-31 check is right but whose organisation check is wrong, which parseCreditCode still accepts", () => {
        // BYD's organisation code is 19231745-8; change the 8 to 7 and recompute the mod-31 character.
        const first17 = "9144030019231745" + "7";
        const code = first17 + creditCodeCheckChar(first17);
        expect(parseCreditCode(code)).to.equal(code);
        expect(hasValidOrganisationCodeCheck(code)).to.equal(false);
      });

      it("is false for anything parseCreditCode rejects, and undefined for a malformed body", () => {
        expect(hasValidOrganisationCodeCheck("914403001922038217")).to.equal(false);
        expect(hasValidOrganisationCodeCheck(42)).to.equal(false);
        expect(organisationCodeCheckChar("7152672")).to.equal(undefined);
      });
    });

    describe("the CreditCode zod schema", () => {
      it("passes a valid code through unchanged", () => {
        expect(CreditCode.parse("91440300192317458F")).to.equal("91440300192317458F");
      });

      it("reports the IdentifierError's message and code", () => {
        const result = CreditCode.safeParse("914403001922038217");
        expect(result.success).to.equal(false);
        const issue = result.error!.issues[0]!;
        expect(issue.message).to.equal(identifierError(() => parseCreditCode("914403001922038217")).message);
        expect((issue as { params?: { code?: string } }).params?.code).to.equal("CREDIT_CODE_CHECK_DIGIT");
      });
    });
  });

  describe("administrative division codes (GB/T 2260)", () => {
    describe("when the code is a county-level unit", () => {
      const cases: readonly [code: string, name: string, type: string, province: string, prefecture: string | null][] = [
        ["110101", "东城区", "urban-district", "北京市", null],
        ["310115", "浦东新区", "urban-district", "上海市", null],
        ["440305", "南山区", "urban-district", "广东省", "深圳市"],
        ["610103", "碑林区", "urban-district", "陕西省", "西安市"],
        ["130123", "正定县", "rural-county", "河北省", "石家庄市"],
        ["500229", "城口县", "rural-county", "重庆市", null],
        ["152527", "太仆寺旗", "rural-county", "内蒙古自治区", "锡林郭勒盟"],
        ["429021", "神农架林区", "rural-county", "湖北省", null],
        ["520203", "六枝特区", "rural-county", "贵州省", "六盘水市"],
        ["130181", "辛集市", "county-level-city", "河北省", "石家庄市"],
        ["320582", "张家港市", "county-level-city", "江苏省", "苏州市"],
        ["429004", "仙桃市", "county-level-city", "湖北省", null],
        ["441900", "东莞市", "county-level-city", "广东省", "东莞市"],
        ["620200", "嘉峪关市", "county-level-city", "甘肃省", "嘉峪关市"],
        ["540481", "米林市", "county-level-city", "西藏自治区", "林芝市"],
      ];
      for (const [code, name, type, province, prefecture] of cases) {
        it(`classifies ${code} ${name} as ${type} in ${province}${prefecture === null ? "" : ` ${prefecture}`}`, () => {
          expect(parseDivisionCode(code)).to.equal(code);
          expect(isValidDivisionCode(code)).to.equal(true);
          expect(regionType(code)).to.equal(type);
          const info = divisionInfo(code);
          expect(info.name).to.equal(name);
          expect(provinceOf(code).name).to.equal(province);
          expect(provinceOf(code).code).to.equal(`${code.slice(0, 2)}0000`);
          expect(prefectureOf(code)?.name ?? null).to.equal(prefecture);
          if (prefecture !== null) expect(prefectureOf(code)?.code).to.equal(`${code.slice(0, 4)}00`);
        });
      }
    });

    describe("when the code is well-formed but not a county-level unit in the table", () => {
      const cases: readonly [string, string, IdentifierErrorCode][] = [
        ["999999", "never assigned", "DIVISION_CODE_UNKNOWN"],
        ["110103", "崇文区, abolished in 2010", "DIVISION_CODE_UNKNOWN"],
        ["330103", "下城区, abolished in 2021", "DIVISION_CODE_UNKNOWN"],
        ["540422", "米林县, which became 米林市 in 2023", "DIVISION_CODE_UNKNOWN"],
        ["000000", "all zeros", "DIVISION_CODE_UNKNOWN"],
        ["110000", "北京市, a province-level unit", "DIVISION_CODE_NOT_COUNTY"],
        ["130100", "石家庄市, a prefecture", "DIVISION_CODE_NOT_COUNTY"],
        ["110100", "the 市辖区 grouping of 北京市", "DIVISION_CODE_NOT_COUNTY"],
        ["320576", "苏州工业园区, an NBS development-zone code", "DIVISION_CODE_STATISTICAL_ONLY"],
        ["130171", "石家庄高新区, an NBS development-zone code", "DIVISION_CODE_STATISTICAL_ONLY"],
      ];
      for (const [input, what, code] of cases) {
        it(`throws ${code} for ${input} (${what})`, () => {
          expect(identifierError(() => parseDivisionCode(input)).code).to.equal(code);
          expect(identifierError(() => regionType(input)).code).to.equal(code);
          expect(isValidDivisionCode(input)).to.equal(false);
        });
      }

      it("names the province or prefecture in the message", () => {
        expect(identifierError(() => parseDivisionCode("130100")).message).to.contain("石家庄市");
      });
    });

    describe("when the input is malformed", () => {
      const cases: readonly [string, unknown, IdentifierErrorCode][] = [
        ["five digits", "11010", "DIVISION_CODE_FORMAT"],
        ["seven digits", "1101011", "DIVISION_CODE_FORMAT"],
        ["a letter", "11010a", "DIVISION_CODE_FORMAT"],
        ["a leading space", " 110101", "DIVISION_CODE_FORMAT"],
        ["a trailing newline", "110101\n", "DIVISION_CODE_FORMAT"],
        ["full-width digits", "１１０１０１", "DIVISION_CODE_FORMAT"],
        ["a township code", "110101001", "DIVISION_CODE_FORMAT"],
        ["the empty string", "", "DIVISION_CODE_FORMAT"],
        ["a number", 110101, "NOT_A_STRING"],
        ["null", null, "NOT_A_STRING"],
      ];
      for (const [what, input, code] of cases) {
        it(`throws ${code} for ${what}`, () => {
          expect(identifierError(() => parseDivisionCode(input)).code).to.equal(code);
          expect(isValidDivisionCode(input)).to.equal(false);
        });
      }
    });

    describe("the bundled table", () => {
      const all = allCountyDivisions();

      it("has about 2,850 county-level units in each of the three region types", () => {
        const counts = Object.fromEntries(REGION_TYPES.map((t) => [t, all.filter((d) => d.regionType === t).length]));
        expect(all.length).to.be.within(2800, 2950);
        expect(counts["urban-district"]).to.be.within(950, 1000);
        expect(counts["rural-county"]).to.be.within(1400, 1550);
        expect(counts["county-level-city"]).to.be.within(380, 420);
      });

      // One assertion per test over the whole table: thousands of chai calls (with hardhat's matchers) take seconds.
      it("is sorted, and every entry parses to itself with a matching province and prefecture", () => {
        const problems: string[] = [];
        let previous = "";
        for (const d of all) {
          if (!(d.code > previous)) problems.push(`${d.code} out of order`);
          previous = d.code;
          if (divisionInfo(d.code) !== d) problems.push(`${d.code} does not look up to itself`);
          if (d.province.code !== `${d.code.slice(0, 2)}0000`) problems.push(`${d.code} in province ${d.province.code}`);
          if (d.prefecture !== null && d.prefecture.code.slice(0, 4) !== d.code.slice(0, 4)) problems.push(`${d.code} in prefecture ${d.prefecture.code}`);
          if (d.code[4] === "7") problems.push(`${d.code} is an NBS development-zone code`);
        }
        expect(problems).to.deep.equal([]);
      });

      it("counts every name ending in 县 or 旗 as rural, and every 县级市 as a county-level city", () => {
        const problems = all
          .filter((d) => (/(县|旗)$/.test(d.name) && d.regionType !== "rural-county") || (d.name.endsWith("市") && d.regionType !== "county-level-city"))
          .map((d) => `${d.code} ${d.name} ${d.regionType}`);
        expect(problems).to.deep.equal([]);
      });

      it("accepts no code outside the table: random six-digit strings are valid exactly when listed", () => {
        const listed = new Set<string>(all.map((d) => d.code));
        fcAssert(
          fc.property(fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 6, maxLength: 6 }), (code) => isValidDivisionCode(code) === listed.has(code)),
        );
      });
    });

    describe("the DivisionCode zod schema", () => {
      it("passes a county-level code through unchanged", () => {
        expect(DivisionCode.parse("110101")).to.equal("110101");
      });

      it("reports the IdentifierError's message and code", () => {
        const result = DivisionCode.safeParse("330103");
        expect(result.success).to.equal(false);
        const issue = result.error!.issues[0]!;
        expect(issue.message).to.equal(identifierError(() => parseDivisionCode("330103")).message);
        expect((issue as { params?: { code?: string } }).params?.code).to.equal("DIVISION_CODE_UNKNOWN");
      });
    });
  });
});
