/**
 * The portal's money, date and duration formats (service/web/format.ts), and
 * the chart ticks (service/web/charts.ts), as plain functions.
 */
import { expect } from "chai";
import { niceTicks } from "../../service/web/charts";
import { axisYuan, date, duration, month, shortYuan, shortYuanNumber, time, timeTick, yuan } from "../../service/web/format";

describe("the portal's formats", function () {
  describe("an exact amount", function () {
    it("is grouped yuan with two decimals, computed without floating point", function () {
      expect(yuan("26500000000")).to.equal("¥265,000,000.00");
      expect(yuan("900719925474099399")).to.equal("¥9,007,199,254,740,993.99");
      expect(yuan("-5")).to.equal("-¥0.05");
    });
  });

  describe("a short amount for a headline", function () {
    it("is 万元 or 亿元 in Chinese", function () {
      expect(shortYuan("26500000000", "zh-CN")).to.equal("2.65亿元");
      expect(shortYuan("6500000", "zh-CN")).to.equal("6.5万元");
      expect(shortYuan("123456", "zh-CN")).to.equal("1,234.56元");
    });

    it("is million or billion in English, or plain grouped yuan, and never 万", function () {
      expect(shortYuan("265000000000", "en")).to.equal("¥2.65 billion");
      expect(shortYuan("37430000000", "en")).to.equal("¥374.3 million");
      expect(shortYuan("6500000", "en")).to.equal("¥65,000");
      for (const v of [1, 1e4, 1e5, 1e8, 1e12]) expect(shortYuanNumber(v, "en")).to.not.match(/[万亿]/);
    });

    it("labels an axis without the unit: 1.5万 in Chinese, 15k in English", function () {
      expect(axisYuan(15000, "zh-CN")).to.equal("1.5万");
      expect(axisYuan(15000, "en")).to.equal("15k");
      expect(axisYuan(0, "en")).to.equal("0");
    });
  });

  describe("a date", function () {
    it("is 2026年12月6日 in Chinese and ISO in English", function () {
      expect(date("2026-12-06", "zh-CN")).to.equal("2026年12月6日");
      expect(date("2026-12-06", "en")).to.equal("2026-12-06");
      expect(month("2026-01", "zh-CN")).to.equal("2026年1月");
      expect(month("2026-01", "en")).to.equal("2026-01");
    });

    it("shows an instant in China Standard Time", function () {
      expect(time("2026-12-06T16:30:05Z", "zh-CN")).to.equal("2026年12月7日 00:30:05（北京时间）");
      expect(time("2026-12-06T16:30:05Z", "en")).to.equal("2026-12-07 00:30:05 (UTC+8)");
    });

    it("ticks a time axis as precisely as its span needs, with localised months", function () {
      const t = Date.parse("2026-12-06T16:30:05Z") / 1000;
      expect(timeTick(t, 600, "zh-CN")).to.equal("00:30:05");
      expect(timeTick(t, 30 * 86400, "zh-CN")).to.equal("12月7日");
      expect(timeTick(t, 30 * 86400, "en")).to.equal("12-07");
      expect(timeTick(t, 800 * 86400, "zh-CN")).to.equal("2026年12月");
    });
  });

  describe("a duration", function () {
    it("is its two largest units", function () {
      expect(duration(0, "zh-CN")).to.equal("0秒");
      expect(duration(550000, "zh-CN")).to.equal("6天8小时");
      expect(duration(550000, "en")).to.equal("6 d 8 h");
      expect(duration(61, "en")).to.equal("1 min 1 s");
    });
  });

  describe("chart ticks", function () {
    it("start at 0, reach the maximum and step 1-2-2.5-5", function () {
      expect(niceTicks(265, 3)).to.deep.equal([0, 100, 200, 300]);
      expect(niceTicks(0, 4)).to.deep.equal([0, 1]);
    });

    it("never step below the given minimum (whole seconds, whole entries)", function () {
      expect(niceTicks(0.7, 4, 1)).to.deep.equal([0, 1]);
    });
  });
});
