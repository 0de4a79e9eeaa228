import { expect } from "chai";
import fc from "fast-check";
import { cstDate } from "../../service/format";
import { fcAssert } from "../helpers/fc";

describe("the ledger's calendar (China Standard Time)", () => {
  it("puts an instant on its UTC+8 civil date, the day changing at 16:00Z", () => {
    expect(cstDate(Date.parse("2026-11-30T15:59:59.999Z"))).to.equal("2026-11-30");
    expect(cstDate(Date.parse("2026-11-30T16:00:00Z"))).to.equal("2026-12-01");
    expect(cstDate(Date.parse("2026-12-31T16:00:00Z"))).to.equal("2027-01-01");
    expect(cstDate(Date.parse("2028-02-28T16:00:00Z"))).to.equal("2028-02-29");
  });

  it("agrees with formatting the shifted instant, in any order of calls (its memo never leaks a stale day)", () => {
    fcAssert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4_102_444_800_000 }), { minLength: 1, maxLength: 50 }), (instants) =>
        instants.every((ms) => cstDate(ms) === new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10)),
      ),
    );
  });
});
