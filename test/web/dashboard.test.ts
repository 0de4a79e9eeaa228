/**
 * The dashboard's anchoring lag (service/web/dashboard.ts anchoringLags): one
 * series feeds both the chart and the headline, so the two cannot disagree.
 */
import { expect } from "chai";
import { anchoringLags } from "../../service/web/dashboard";

describe("the dashboard's anchoring lag", function () {
  const cp = (index: number, size: number, timestamp: number) => ({ index, size, timestamp, rootHex: `0x${"00".repeat(32)}` });
  const recordedAt = new Map([
    [0, 1000],
    [1, 1010],
    [2, 1100],
  ]);

  describe("for each checkpoint", function () {
    it("is its block time minus the recording time of the oldest entry it newly covered, in whole seconds", function () {
      const bars = anchoringLags([cp(0, 1, 1002.4), cp(1, 3, 1130)], recordedAt, { entries: 0, seconds: 0 }, "waiting");
      expect(bars).to.deep.equal([
        { label: "#0", seconds: 2 },
        { label: "#1", seconds: 120 },
      ]);
    });

    it("is never negative when the chain's clock is behind the service's", function () {
      expect(anchoringLags([cp(0, 1, 990)], recordedAt, null, "waiting")[0]!.seconds).to.equal(0);
    });
  });

  describe("when entries are waiting for a checkpoint", function () {
    it("ends with how long the oldest has waited, which is then the headline", function () {
      const bars = anchoringLags([cp(0, 1, 1002)], recordedAt, { entries: 2, seconds: 45 }, "waiting");
      expect(bars.at(-1)).to.deep.equal({ label: "waiting", seconds: 45 });
    });
  });
});
