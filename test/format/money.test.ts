import { expect } from "chai";
import fc from "fast-check";
import { groupDigits, SIGNED_FEN, yuan } from "../../service/format";
import { fcAssert } from "../helpers/fc";

describe("yuan, the formats' one money formatter", () => {
  it("writes integer fen as grouped yuan with two decimals, exactly, negatives included", () => {
    expect(yuan("0")).to.equal("¥0.00");
    expect(yuan("5")).to.equal("¥0.05");
    expect(yuan("123456")).to.equal("¥1,234.56");
    expect(yuan("999999999999999999")).to.equal("¥9,999,999,999,999,999.99");
    expect(yuan("-123456")).to.equal("-¥1,234.56");
  });

  it("shows anything that is not an integer fen string as it is", () => {
    for (const v of ["1.5", "01", "-0x1", "", " 1"]) expect(yuan(v)).to.equal(v);
    expect(yuan(12)).to.equal("12");
    expect(yuan(null)).to.equal("null");
  });

  it("writes the unit after the amount when asked for 元, as Chinese prose does, with the same digits", () => {
    expect(yuan("123456789", { unit: "元" })).to.equal("1,234,567.89元");
    expect(yuan("5", { unit: "元" })).to.equal("0.05元");
    expect(yuan("-123456", { unit: "元" })).to.equal("-1,234.56元");
    expect(yuan("123456", { unit: "¥" })).to.equal("¥1,234.56");
    expect(yuan("1.5", { unit: "元" })).to.equal("1.5");
  });

  it("shares its fen pattern and digit grouping with the portal", () => {
    expect(groupDigits("1234567")).to.equal("1,234,567");
    expect(groupDigits("123")).to.equal("123");
    expect(groupDigits("1234")).to.equal("1,234");
    for (const v of ["0", "-5", "123456"]) expect(SIGNED_FEN.test(v), v).to.equal(true);
    for (const v of ["-0x1", "01", "1.5", "", "-"]) expect(SIGNED_FEN.test(v), v).to.equal(false);
  });
});

describe("yuan over any amount", () => {
  it("keeps every digit: removing the sign, ¥ and separators gives the fen, padded to three digits", () => {
    fcAssert(
      fc.property(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), (v) => {
        const fen = v.toString();
        const shown = yuan(fen);
        const digits = fen.replace("-", "").padStart(3, "0");
        return /^-?¥[0-9]{1,3}(?:,[0-9]{3})*\.[0-9]{2}$/.test(shown) && shown.startsWith("-") === v < 0n && shown.replace(/[-¥,.]/g, "") === digits;
      }),
    );
  });
});
