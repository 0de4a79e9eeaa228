/**
 * The verify CLI against a running service (createApp on a real port) and
 * LedgerAnchor on Hardhat's network: the clean ledger passes from the
 * service and from an export saved from it; a split view, a checkpoint
 * signed with another key and damaged exports are detected; bad usage and
 * an unreachable service exit 2.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { rootAt } from "../../service/ledger/proofs";
import { sha256, signCheckpoint } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import type { AuditReport } from "../../scripts/lib/audit";
import { runVerify } from "../../scripts/verify";
import { connectChain } from "../../scripts/lib/audit/chain-rpc";
import { createWorld, ORIGIN as HTTP_ORIGIN, type World } from "../http/helpers";
import { anchoredMemoryScenario, deployAnchor, OTHER_SIGNER, tempDir, verifyCli } from "./helpers";

async function listen(w: World): Promise<{ url: string; server: Server }> {
  const server = await new Promise<Server>((resolve) => {
    const s = w.app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("the verify CLI against a service", function () {
  let store: MemoryStore;
  let chain: Awaited<ReturnType<typeof deployAnchor>>;
  let size: number;
  let tmp: { dir: string; remove: () => Promise<void> };
  const servers: Server[] = [];

  /** The service over the recorded store, with an optional checkpoint override. */
  async function service(signed?: (w: World) => Promise<string>): Promise<{ url: string; w: World }> {
    let world: World | undefined;
    const w = await createWorld({ store, ...(signed ? { signedCheckpoint: () => signed(world!) } : {}) });
    world = w;
    const { url, server } = await listen(w);
    servers.push(server);
    return { url, w };
  }

  function args(url: string, w: World, ...more: string[]): string[] {
    return ["--service", url, "--rpc", "http://hardhat.invalid", "--contract", chain.address, "--log-key", w.logKey, "--json", ...more];
  }

  before(async () => {
    ({ store, size, chain } = await anchoredMemoryScenario());
    tmp = await tempDir();
  });
  after(async () => {
    for (const s of servers) s.close();
    await tmp.remove();
  });

  describe("when the service is honest", () => {
    it("exits 0 with a clean report, and the service's checkpoint consistent with the chain", async () => {
      const { url, w } = await service();
      const r = await verifyCli(args(url, w), chain.reader);
      expect(r.code, r.out + r.err).to.equal(0);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.ok).to.equal(true);
      expect(report.entries.count).to.equal(size);
      expect(report.checkpoints.matched).to.equal(3);
      expect(report.published).to.deep.equal([
        { label: "the service", size, rootHex: `0x${Buffer.from(await rootAt(store, size)).toString("hex")}`, signature: "valid", withChain: "consistent (replay)", witnesses: { seen: [], policy: null } },
      ]);
    });

    it("prints a readable report naming what was checked", async () => {
      const { url, w } = await service();
      const r = await verifyCli(args(url, w).filter((a) => a !== "--json"), chain.reader);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/^AUDIT CLEAN/);
      expect(r.out).to.include(`3 of 3 anchored checkpoints compared with the rebuilt tree: 3 matched`);
      expect(r.out).to.include("signature valid; with the chain: consistent (replay)");
      expect(r.out).to.match(/^Totals +[1-9][0-9]* live programmes: budget ¥[0-9,]+\.[0-9]{2}, approved ¥[0-9,]+\.[0-9]{2}, paid ¥[0-9,]+\.[0-9]{2}$/m);
    });

    it("without --log-key, uses the service's key and says it is not independently trusted", async () => {
      const { url, w } = await service();
      const r = await verifyCli(args(url, w).filter((a, i, all) => a !== "--log-key" && all[i - 1] !== "--log-key"), chain.reader);
      expect(r.code).to.equal(0);
      expect((JSON.parse(r.out) as AuditReport).keys.source).to.match(/NOT independently trusted/);
    });
  });

  describe("when the service shows a root the chain never saw (tamper 6, split view)", () => {
    it("exits 1 with a split-view discrepancy", async () => {
      const { url, w } = await service(async (world) => signCheckpoint({ origin: HTTP_ORIGIN, size, rootHash: sha256(Buffer.from("a fork")), extensions: [] }, world.noteSigner));
      const r = await verifyCli(args(url, w), chain.reader);
      expect(r.code).to.equal(1);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.discrepancies.byKind).to.deep.equal({ "split-view": 1 });
      expect(report.published[0]).to.include({ signature: "valid", withChain: "inconsistent" });
    });

    it("exits 1 when the service's checkpoint claims a larger tree than it serves, inconsistent with the chain", async () => {
      const { url, w } = await service(async (world) => signCheckpoint({ origin: HTTP_ORIGIN, size: size + 5, rootHash: sha256(Buffer.from("more")), extensions: [] }, world.noteSigner));
      const r = await verifyCli(args(url, w), chain.reader);
      expect(r.code).to.equal(1);
      expect((JSON.parse(r.out) as AuditReport).discrepancies.byKind).to.have.property("published-root-mismatch", 1);
    });
  });

  describe("when the service's checkpoint is signed with another key (tamper 7)", () => {
    it("exits 1 with a checkpoint-signature discrepancy", async () => {
      const { url, w } = await service(async () => signCheckpoint({ origin: HTTP_ORIGIN, size, rootHash: await rootAt(store, size), extensions: [] }, OTHER_SIGNER));
      const r = await verifyCli(args(url, w), chain.reader);
      expect(r.code).to.equal(1);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.discrepancies.byKind).to.deep.equal({ "checkpoint-signature": 1 });
      expect(report.published[0]!.signature).to.equal("invalid");
      expect(report.discrepancies.listed[0]!.message).to.include("SIGNATURE_MISSING");
    });
  });

  describe("exports", () => {
    let file: string;
    let w: World;
    before(async () => {
      const s = await service();
      w = s.w;
      file = path.join(tmp.dir, "entries.jsonl");
      const r = await verifyCli(args(s.url, w, "--save-export", file), chain.reader);
      expect(r.code, r.err).to.equal(0);
    });

    it("--save-export writes a header and one [index,leaf] line per entry", async () => {
      const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
      expect(lines).to.have.length(size + 1);
      const header = JSON.parse(lines[0]!) as { format: string; treeSize: number; checkpoint: string };
      expect(header).to.include({ format: "subsidy-ledger.export", treeSize: size });
      expect(header.checkpoint).to.match(/^ledger\.test\.example\/log\n/);
      const [index, entry] = JSON.parse(lines[3]!) as [number, { v: number }];
      expect(index).to.equal(2);
      expect(entry.v).to.equal(1);
    });

    it("an export audits clean, its header's checkpoint checked too", async () => {
      const r = await verifyCli(["--export", file, "--rpc", "http://x.invalid", "--contract", chain.address, "--log-key", w.logKey, "--json"], chain.reader);
      expect(r.code, r.out).to.equal(0);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.published.map((p) => [p.label, p.signature])).to.deep.equal([["the export header", "valid"]]);
    });

    async function tampered(edit: (lines: string[]) => string[]): Promise<AuditReport> {
      const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
      const out = path.join(tmp.dir, `tampered-${Math.random().toString(36).slice(2)}.jsonl`);
      await writeFile(out, `${edit(lines).join("\n")}\n`);
      const r = await verifyCli(["--export", out, "--rpc", "http://x.invalid", "--contract", chain.address, "--log-key", w.logKey, "--json"], chain.reader);
      expect(r.code, r.err).to.equal(1);
      return JSON.parse(r.out) as AuditReport;
    }

    it("a deleted line is found, with the first bad index", async () => {
      const r = await tampered((l) => [...l.slice(0, 10), ...l.slice(11)]); // line 10 holds leaf 9
      expect(r.discrepancies.firstBadIndex).to.equal(9);
      expect(r.discrepancies.byKind).to.include.keys("leaf-order", "root-mismatch", "source-size-mismatch");
    });

    it("two swapped lines are found, with the first bad index", async () => {
      const r = await tampered((l) => {
        const m = [...l];
        [m[5], m[12]] = [m[12]!, m[5]!];
        return m;
      });
      expect(r.discrepancies.firstBadIndex).to.equal(4);
      expect(r.discrepancies.byKind["leaf-order"]).to.be.greaterThan(0);
    });

    it("swapped and renumbered lines are found and located with the service's proofs", async () => {
      const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
      const leafOf = (line: string) => line.slice(line.indexOf(",") + 1, -1);
      const m = [...lines];
      m[5] = `[4,${leafOf(lines[12]!)}]`;
      m[12] = `[11,${leafOf(lines[5]!)}]`;
      const out = path.join(tmp.dir, "renumbered.jsonl");
      await writeFile(out, `${m.join("\n")}\n`);
      const base = ["--export", out, "--rpc", "http://x.invalid", "--contract", chain.address, "--log-key", w.logKey, "--json"];
      // Without proofs: located to the interval between two anchored checkpoints.
      const alone = JSON.parse((await verifyCli(base, chain.reader)).out) as AuditReport;
      expect(alone.discrepancies.firstBadIndex).to.equal(null);
      expect(alone.discrepancies.firstBadRange).to.deep.equal([0, 7]);
      // With the service's proofs: both leaves named.
      const url = (await service()).url;
      const withService = JSON.parse((await verifyCli([...base, "--service", url], chain.reader)).out) as AuditReport;
      expect(withService.discrepancies.firstBadIndex).to.equal(4);
      expect(withService.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is").map((d) => d.leafIndex)).to.deep.equal([4, 11]);
    });

    it("a deleted and renumbered line past the last checkpoint inside the export is located with the service's proofs, or given as a range", async () => {
      const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
      const leafOf = (line: string) => line.slice(line.indexOf(",") + 1, -1);
      const k = 25; // anchored at 7, 20 and the whole size: no checkpoint between k and the export's end
      const kept = lines.slice(1).filter((_, i) => i !== k);
      const out = path.join(tmp.dir, "deleted-renumbered.jsonl");
      await writeFile(out, `${[lines[0]!, ...kept.map((l, i) => `[${i},${leafOf(l)}]`)].join("\n")}\n`);
      const base = ["--export", out, "--rpc", "http://x.invalid", "--contract", chain.address, "--log-key", w.logKey, "--json"];
      const alone = JSON.parse((await verifyCli(base, chain.reader)).out) as AuditReport;
      expect(alone.discrepancies.firstBadIndex).to.equal(null);
      expect(alone.discrepancies.firstBadRange).to.deep.equal([20, size]);
      const url = (await service()).url;
      const withService = JSON.parse((await verifyCli([...base, "--service", url], chain.reader)).out) as AuditReport;
      expect(withService.discrepancies.firstBadIndex).to.equal(k);
      expect(withService.discrepancies.listed.find((d) => d.kind === "leaf-not-anchored-as-is")?.message).to.include(`leaf ${k} of the anchored log is missing`);
    });

    it("--save-export without --rpc only exports, and says nothing was checked against the chain", async () => {
      const s = await service();
      const out = path.join(tmp.dir, "no-chain.jsonl");
      const r = await verifyCli(["--service", s.url, "--log-key", s.w.logKey, "--save-export", out]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^NOT AN AUDIT: no chain was read/);
      expect((await readFile(out, "utf8")).trimEnd().split("\n")).to.have.length(size + 1);
    });

    it("a truncated export is found", async () => {
      const r = await tampered((l) => l.slice(0, 30));
      expect(r.discrepancies.byKind).to.include.keys("source-size-mismatch");
    });
  });

  describe("usage and connection errors", () => {
    it("--help exits 0 and explains the modes and exit codes", async () => {
      const r = await verifyCli(["--help"]);
      expect(r.code).to.equal(0);
      expect(r.out).to.include("--receipt <file>").and.include("--tlog <url|dir>").and.include("Exit codes: 0 clean (a receipt: verified");
      expect(r.out).to.include("1 at least one discrepancy").and.include("2 usage error, or the audit is");
    });

    it("exits 2 without an entry source", async () => {
      const r = await verifyCli(["--rpc", "http://x.invalid", "--contract", chain.address]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/entry source/);
    });

    it("exits 2 for an unknown option", async () => {
      expect((await verifyCli(["--servcie", "http://x"])).code).to.equal(2);
    });

    for (const [opt, value, range] of [
      ["--max-delay", "1.5", "0 to 9007199254740991"],
      ["--max-listed", "-1", "0 to 9007199254740991"],
      ["--workers", "9", "0 to 8"],
    ] as const)
      it(`exits 2 naming ${opt} when it is given ${value}`, async () => {
        const r = await verifyCli(["--export", "x.jsonl", opt, value]);
        expect(r.code).to.equal(2);
        expect(r.err).to.include(`option '${opt} <`).and.include(`'${value}' is invalid`).and.include(`not a whole number from ${range}`);
      });

    it("exits 2 when the service cannot be reached", async () => {
      const r = await verifyCli(["--service", "http://127.0.0.1:1", "--rpc", "http://x.invalid", "--contract", chain.address]);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/cannot reach the service/);
    });

    it("exits 2 when the RPC node cannot be reached", async () => {
      const { url, w } = await service();
      const r = await runVerify(args(url, w, "--rpc", "http://127.0.0.1:1"), {
        stdout: () => {},
        stderr: () => {},
        stderrIsTty: false,
        connectChain: (rpc, contract) => connectChain(rpc, contract, { timeoutMs: 2000 }),
      });
      expect(r).to.equal(2);
    });

    it("exits 2 for a --log-key that is neither a key nor a file", async () => {
      const { url } = await service();
      const r = await verifyCli(["--service", url, "--rpc", "http://x.invalid", "--contract", chain.address, "--log-key", "nope"], chain.reader);
      expect(r.code).to.equal(2);
      expect(r.err).to.include("--log-key");
    });
  });
});
