/** The side-by-side audit benchmark's arithmetic (scripts/lib/bench-compare.ts) and its anchoring plan (scripts/lib/bench-audit-log.ts). */
import { expect } from "chai";
import { anchorSizes } from "../../scripts/lib/bench-audit-log";
import { checkCleanAudit, formatSummary, median, parseGnuTime, parseSources, roundOrder, summarize, type AuditRun } from "../../scripts/lib/bench-compare";

const cleanReport = (count: number, matched = 4, onChain = 4) => JSON.stringify({ ok: true, durationMs: 2500, entries: { count }, checkpoints: { matched, onChain } });

describe("the side-by-side audit benchmark", () => {
  describe("parseSources", () => {
    it("keeps the order given", () => {
      expect(parseSources("tlog,service,export")).to.deep.equal(["tlog", "service", "export"]);
    });
    describe("when a name is unknown", () => {
      it("throws naming it and the known ones", () => {
        expect(() => parseSources("tlog,db")).to.throw(/unknown source "db".*export, tlog, service/);
      });
    });
    describe("when a name is given twice", () => {
      it("throws", () => {
        expect(() => parseSources("tlog,tlog")).to.throw(/given twice/);
      });
    });
    describe("when the list is empty", () => {
      it("throws", () => {
        expect(() => parseSources("")).to.throw(/unknown source ""/);
      });
    });
  });

  describe("roundOrder", () => {
    it("rotates by one each round, so over as many rounds as sources each runs once in every position", () => {
      const s = ["export", "tlog", "service"];
      const rounds = [0, 1, 2].map((r) => roundOrder(s, r));
      expect(rounds).to.deep.equal([
        ["export", "tlog", "service"],
        ["tlog", "service", "export"],
        ["service", "export", "tlog"],
      ]);
      for (let pos = 0; pos < 3; pos++) expect(new Set(rounds.map((o) => o[pos]))).to.have.length(3);
      expect(roundOrder(s, 3)).to.deep.equal(s);
    });
    describe("when the round is negative or fractional", () => {
      it("throws", () => {
        expect(() => roundOrder(["a"], -1)).to.throw(RangeError);
        expect(() => roundOrder(["a"], 0.5)).to.throw(RangeError);
      });
    });
  });

  describe("parseGnuTime", () => {
    it("reads elapsed seconds and the peak RSS in KiB as bytes", () => {
      expect(parseGnuTime("12.34 204800\n")).to.deep.equal({ seconds: 12.34, maxRssBytes: 204800 * 1024 });
    });
    it("reads the last line when the command failed and GNU time said so first", () => {
      expect(parseGnuTime("Command exited with non-zero status 1\n3.00 1000\n")).to.deep.equal({ seconds: 3, maxRssBytes: 1024000 });
    });
    describe("when the output is not GNU time's", () => {
      it("throws", () => {
        expect(() => parseGnuTime("")).to.throw(/cannot read GNU time/);
        expect(() => parseGnuTime("0:03.00 elapsed")).to.throw(/cannot read GNU time/);
      });
    });
  });

  describe("checkCleanAudit", () => {
    it("accepts exit 0 with an ok report of every entry matching every checkpoint, and returns the audit's own time", () => {
      expect(checkCleanAudit("x", { exitCode: 0, stdout: cleanReport(1000), stderr: "" }, 1000)).to.deep.equal({
        entries: 1000,
        checkpointsMatched: 4,
        checkpointsOnChain: 4,
        auditSeconds: 2.5,
      });
    });
    describe("when the auditor exits 1 (it found discrepancies)", () => {
      it("throws, quoting the end of its stderr", () => {
        expect(() => checkCleanAudit("--tlog", { exitCode: 1, stdout: "{}", stderr: "a\nleaf 7 changed\n" }, 1000)).to.throw(/--tlog: the audit exited 1[\s\S]*leaf 7 changed/);
      });
    });
    describe("when the auditor exits 2 (incomplete)", () => {
      it("throws", () => {
        expect(() => checkCleanAudit("x", { exitCode: 2, stdout: "", stderr: "verify: INCOMPLETE" }, 1000)).to.throw(/exited 2/);
      });
    });
    describe("when the report says not ok despite exit 0", () => {
      it("throws", () => {
        expect(() => checkCleanAudit("x", { exitCode: 0, stdout: JSON.stringify({ ok: false }), stderr: "" }, 1000)).to.throw(/not ok/);
      });
    });
    describe("when fewer entries were replayed than the log holds", () => {
      it("throws", () => {
        expect(() => checkCleanAudit("x", { exitCode: 0, stdout: cleanReport(999), stderr: "" }, 1000)).to.throw(/replayed 999 entries, the log holds 1000/);
      });
    });
    describe("when a checkpoint on the chain was not matched, or there were none", () => {
      it("throws", () => {
        expect(() => checkCleanAudit("x", { exitCode: 0, stdout: cleanReport(1000, 3, 4), stderr: "" }, 1000)).to.throw(/matched 3 of 4/);
        expect(() => checkCleanAudit("x", { exitCode: 0, stdout: cleanReport(1000, 0, 0), stderr: "" }, 1000)).to.throw(/matched 0 of 0/);
      });
    });
    describe("when stdout is not JSON", () => {
      it("throws", () => {
        expect(() => checkCleanAudit("x", { exitCode: 0, stdout: "Audit clean", stderr: "" }, 1000)).to.throw(/does not parse/);
      });
    });
  });

  describe("median", () => {
    it("takes the middle value, or the mean of the two middle ones", () => {
      expect(median([3, 1, 2])).to.equal(2);
      expect(median([4, 1, 3, 2])).to.equal(2.5);
    });
    it("throws on no values", () => {
      expect(() => median([])).to.throw(RangeError);
    });
  });

  describe("summarize", () => {
    const runs: AuditRun[] = [
      { source: "tlog", round: 0, seconds: 10, auditSeconds: 8, maxRssBytes: 100 * 2 ** 20, requests: 7000 },
      { source: "service", round: 0, seconds: 40, auditSeconds: 38, maxRssBytes: 200 * 2 ** 20, requests: 1000 },
      { source: "tlog", round: 1, seconds: 30, auditSeconds: 28, maxRssBytes: 150 * 2 ** 20, requests: 7002 },
      { source: "service", round: 1, seconds: 20, auditSeconds: 18, maxRssBytes: 100 * 2 ** 20, requests: 1001 },
    ];
    it("gives each source's median time, entries/s, largest peak RSS, and ratios against --service", () => {
      const [tlog, service] = summarize(runs, ["tlog", "service"], 1_000_000);
      expect(tlog).to.include({ source: "tlog", runs: 2, medianSeconds: 20, entriesPerSecond: 50_000, medianAuditSeconds: 18, maxRssBytes: 150 * 2 ** 20, requests: 7002 });
      expect(service).to.include({ medianSeconds: 30, maxRssBytes: 200 * 2 ** 20, speedup: 1, rssRatio: 1 });
      expect(tlog!.speedup).to.be.closeTo(1.5, 1e-9);
      expect(tlog!.rssRatio).to.equal(0.75);
    });
    it("gives no ratios when --service was not run", () => {
      const [tlog] = summarize(runs, ["tlog"], 1_000_000);
      expect(tlog!.speedup).to.equal(null);
    });
    it("throws for a source that has no runs", () => {
      expect(() => summarize(runs, ["export"], 1)).to.throw(/no runs of export/);
    });
    it("prints a Markdown table with one row per source", () => {
      const table = formatSummary(summarize(runs, ["tlog", "service"], 1_000_000));
      const lines = table.trim().split("\n");
      expect(lines).to.have.length(4);
      expect(lines[2]).to.equal("| --tlog | 2 | 20.0 | 50,000 | 55,556 | 150 MiB | 7,002 | 1.50× | 0.75× |");
    });
  });

  describe("anchorSizes", () => {
    it("anchors every multiple of the interval below the size, then the size itself", () => {
      expect(anchorSizes(25_000, 10_000)).to.deep.equal([10_000, 20_000, 25_000]);
      expect(anchorSizes(20_000, 10_000)).to.deep.equal([10_000, 20_000]);
      expect(anchorSizes(5, 10_000)).to.deep.equal([5]);
    });
    describe("when the size or the interval is not a positive integer", () => {
      it("throws", () => {
        expect(() => anchorSizes(0, 10)).to.throw(RangeError);
        expect(() => anchorSizes(10, 0)).to.throw(RangeError);
      });
    });
  });
});
