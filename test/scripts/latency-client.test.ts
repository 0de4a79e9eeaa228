/** The benchmark's latency percentiles (scripts/lib/latency-client.ts): nearest rank. */
import { expect } from "chai";
import fc from "fast-check";
import { percentiles } from "../../scripts/lib/latency-client";

describe("latency-client percentiles", () => {
  it("takes the nearest rank: of 1..1000 ms, p50 is 500, p99 990, p99.9 999", () => {
    const ms = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentiles(ms)).to.deep.equal({ count: 1000, p50: 500, p90: 900, p99: 990, p999: 999, max: 1000 });
  });

  it("gives the one value of a single sample for every percentile", () => {
    expect(percentiles([3.25])).to.deep.equal({ count: 1, p50: 3.25, p90: 3.25, p99: 3.25, p999: 3.25, max: 3.25 });
  });

  it("returns sample values, ordered p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max, with at least the share asked for at or below each", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { minLength: 1, maxLength: 300 }), (xs) => {
        const r = percentiles([...xs]);
        const values = [r.p50, r.p90, r.p99, r.p999, r.max];
        for (const v of values) expect(xs).to.include(v);
        for (let i = 1; i < values.length; i++) expect(values[i]).to.be.at.least(values[i - 1]!);
        for (const [p, v] of [[0.5, r.p50], [0.9, r.p90], [0.99, r.p99]] as const) {
          expect(xs.filter((x) => x <= v).length).to.be.at.least(Math.ceil(p * xs.length));
        }
      }),
    );
  });
});
