/**
 * The verify CLI against a service reached through a proxy (./proxy.ts)
 * that injects transport faults or serves a tampered log: a rate-limited or
 * flaky service is still audited to the end, in about one request per page;
 * a service that stays down stops the audit as incomplete (exit 2), never
 * with a finding; a deleted leaf is named at its index wherever it lies; a
 * signed checkpoint the source cannot reach is a finding.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { MAX_PAGE } from "../../service/http/params";
import { rootAt } from "../../service/ledger/proofs";
import { sha256, signCheckpoint } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import { SERVICE_PAGE, type AuditReport } from "../../scripts/lib/audit";
import { createWorld, ORIGIN as HTTP_ORIGIN, type World } from "../http/helpers";
import { anchoredMemoryScenario, deployAnchor, tempDir, verifyCli } from "./helpers";
import { faultyProxy, type LogEntryView, type Proxy, type ProxyOptions } from "./proxy";

describe("the verify CLI against a faulty or tampered service", function () {
  this.timeout(60_000);
  let store: MemoryStore;
  let chain: Awaited<ReturnType<typeof deployAnchor>>;
  let size: number;
  let w: World;
  let upstream: string;
  let server: Server;
  let tmp: { dir: string; remove: () => Promise<void> };
  const proxies: Proxy[] = [];

  before(async () => {
    ({ store, size, chain } = await anchoredMemoryScenario());
    w = await createWorld({ store });
    server = await new Promise<Server>((resolve) => {
      const s = w.app.listen(0, "127.0.0.1", () => resolve(s));
    });
    upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tmp = await tempDir();
  });
  after(async () => {
    for (const p of proxies) await p.close();
    server.close();
    await tmp.remove();
  });

  async function proxy(options: ProxyOptions): Promise<Proxy> {
    const p = await faultyProxy(upstream, options);
    proxies.push(p);
    return p;
  }

  const args = (url: string, ...more: string[]) => ["--service", url, "--rpc", "http://hardhat.invalid", "--contract", chain.address, "--log-key", w.logKey, "--workers", "0", "--json", ...more];
  const count = (p: Proxy, route: string) => p.requests.filter((r) => r.startsWith(route)).length;

  describe("when the service rate-limits the auditor (429 with Retry-After)", () => {
    it("waits as asked, says so on stderr, and completes clean with one request per page", async () => {
      const p = await proxy({ fault: (r, n) => (r.startsWith("/v1/log/entries") && n <= 3 ? { status: 429, retryAfter: 1 } : "pass") });
      const started = Date.now();
      const r = await verifyCli(args(p.url), chain.reader);
      expect(r.code, r.err).to.equal(0);
      expect((JSON.parse(r.out) as AuditReport).ok).to.equal(true);
      expect(Date.now() - started).to.be.at.least(3000);
      expect(r.err.match(/HTTP 429 \(rate limited\); retrying in 1\.0 s \(as Retry-After asks\)/g)).to.have.length(3);
      // One page of up to 1000 entries holds the whole log: three refusals, then one page.
      expect(count(p, "/v1/log/entries")).to.equal(4);
      expect(p.requests.filter((q) => q.startsWith("/v1/log/entries"))[3]).to.equal(`/v1/log/entries?start=0&end=${size}`);
      expect(p.requests.length).to.be.at.most(8);
    });
  });

  describe("when the connection drops, the service answers 5xx or its JSON is cut short", () => {
    it("retries each and completes clean", async () => {
      const faults = ["reset", { status: 500 }, "truncate", { status: 503 }] as const;
      const p = await proxy({ fault: (r, n) => (r.startsWith("/v1/log/entries") && n <= faults.length ? faults[n - 1]! : "pass") });
      const r = await verifyCli(args(p.url), chain.reader);
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.match(/no answer/).and.match(/HTTP 500/).and.match(/cut short or is not JSON/).and.match(/HTTP 503/);
      expect(count(p, "/v1/log/entries")).to.equal(5);
    });
  });

  describe("when the service stays down", () => {
    it("stops with exit 2, says the audit is incomplete, and reports no finding", async () => {
      const p = await proxy({ fault: (r) => (r.startsWith("/v1/log/entries") ? { status: 503 } : "pass") });
      const r = await verifyCli(args(p.url, "--retry-for", "2"), chain.reader);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/kept failing for \d+ s over \d+ attempts \(last: HTTP 503\)/);
      expect(r.err).to.include("INCOMPLETE: the audit stopped before a verdict");
      expect(JSON.parse(r.out)).to.deep.include({ verdict: "incomplete", error: "UNREACHABLE" });
      expect(r.out + r.err).not.to.match(/discrepanc|deleted, inserted or reordered/);
    });

    it("stops the same way when its proofs fail while damage is being located", async () => {
      const p = await proxy({ entries: (l) => swap(l, 25, 30), fault: (r) => (r.startsWith("/v1/log/proof") ? "reset" : "pass") });
      const r = await verifyCli(args(p.url, "--retry-for", "2"), chain.reader);
      expect(r.code, r.out).to.equal(2);
      expect(r.err).to.include("INCOMPLETE");
    });
  });

  describe("when a damaged service rate-limits its proofs", () => {
    it("still names the damaged leaves, with a few dozen proofs rather than one per leaf", async () => {
      // The first request for an inclusion proof at either damaged index is refused.
      const refused = new Set<string>();
      const fault = (r: string) => {
        if (!/^\/v1\/log\/proof\/inclusion\?index=(25|30)&/.test(r) || refused.has(r)) return "pass" as const;
        refused.add(r);
        return { status: 429, retryAfter: 1 };
      };
      const p = await proxy({ entries: (l) => swap(l, 25, 30), fault });
      const r = await verifyCli(args(p.url), chain.reader);
      expect(r.code, r.err).to.equal(1);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.discrepancies.firstBadIndex).to.equal(25);
      expect(report.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is").map((d) => d.leafIndex)).to.deep.equal([25, 30]);
      expect(report.notices.join("\n")).not.to.include("probably deleted");
      // About log2(leaves since the last match) consistency proofs, two to tell a shift, one per later leaf.
      expect(count(p, "/v1/log/proof")).to.be.at.most(2 + 8 + 2 + (size - 26) + 4);
    });
  });

  describe("when the service pages fewer entries than asked", () => {
    it("asks for the service's largest page, and follows a smaller cap page by page", async () => {
      expect(SERVICE_PAGE).to.equal(MAX_PAGE);
      const p = await proxy({ pageCap: 10 });
      const r = await verifyCli(args(p.url), chain.reader);
      expect(r.code, r.err).to.equal(0);
      expect(count(p, "/v1/log/entries")).to.equal(Math.ceil(size / 10));
    });
  });

  describe("when a leaf was deleted and the rest renumbered", () => {
    // Anchored at 7, 20 and the whole size: a deletion before 7, between 7 and 20, after the last
    // checkpoint inside the source (none between it and the end), and the last leaf.
    for (const k of [0, 12, 27, 33]) {
      it(`names leaf ${k} as the first bad one`, async () => {
        const p = await proxy({ entries: (l) => l.filter((_, i) => i !== k) });
        const r = await verifyCli(args(p.url), chain.reader);
        expect(r.code, r.err).to.equal(1);
        const report = JSON.parse(r.out) as AuditReport;
        expect(report.discrepancies.firstBadIndex).to.equal(k);
        const located = report.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is");
        expect(located.map((d) => d.leafIndex)).to.deep.equal([k]);
        expect(located[0]!.message).to.include(`leaf ${k} of the anchored log is missing from the source`).and.include("(a deletion)");
      });
    }

    it("names the last leaf when it is the one deleted", async () => {
      const p = await proxy({ entries: (l) => l.slice(0, -1) });
      const r = await verifyCli(args(p.url), chain.reader);
      expect(r.code, r.err).to.equal(1);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.discrepancies.firstBadIndex).to.equal(size - 1);
      expect(report.discrepancies.byKind).to.include({ "source-behind-chain": 1 });
    });

    it("names an inserted leaf too, with no checkpoint between it and the end", async () => {
      const p = await proxy({ entries: (l) => [...l.slice(0, 30), l[4]!, ...l.slice(30, -1)] });
      const r = await verifyCli(args(p.url), chain.reader);
      expect(r.code, r.err).to.equal(1);
      const report = JSON.parse(r.out) as AuditReport;
      expect(report.discrepancies.firstBadIndex).to.equal(30);
      expect(report.discrepancies.listed.find((d) => d.kind === "leaf-not-anchored-as-is")?.message).to.include("(an insertion)");
    });
  });

  describe("when the log was rolled back but a newer signed checkpoint is given", () => {
    const rolledTo = 31;

    it("exits 1 with a finding that names the signed size and the source's", async () => {
      const note = signCheckpoint({ origin: HTTP_ORIGIN, size, rootHash: await rootAt(store, size), extensions: [] }, w.noteSigner);
      const file = path.join(tmp.dir, "newer.checkpoint");
      await writeFile(file, note);
      // A chain that was rolled back too: it holds only the checkpoints within the copy (a fresh contract).
      const old = await deployAnchor();
      for (const s of [7, 20]) await old.anchor(store, s);
      // The rolled-back service signs its own, smaller tree.
      const own = await createWorld({ store, signedCheckpoint: async () => signCheckpoint({ origin: HTTP_ORIGIN, size: rolledTo, rootHash: await rootAt(store, rolledTo), extensions: [] }, w.noteSigner) });
      const ownServer = await new Promise<Server>((resolve) => {
        const s = own.app.listen(0, "127.0.0.1", () => resolve(s));
      });
      try {
        const p = await faultyProxy(`http://127.0.0.1:${(ownServer.address() as AddressInfo).port}`, { entries: (l) => l.slice(0, rolledTo) });
        proxies.push(p);
        const base = ["--service", p.url, "--rpc", "http://hardhat.invalid", "--contract", old.address, "--log-key", w.logKey, "--workers", "0", "--json"];
        // Without the newer checkpoint, the copy is self-consistent.
        expect((await verifyCli(base, old.reader)).code).to.equal(0);
        const r = await verifyCli([...base, "--checkpoint", file], old.reader);
        expect(r.code, r.out).to.equal(1);
        const report = JSON.parse(r.out) as AuditReport;
        const found = report.discrepancies.listed.filter((d) => d.kind === "source-behind-checkpoint");
        expect(found).to.have.length(1);
        expect(found[0]!.message).to.include(`(size ${size}) is signed with the trusted log key, but the source holds only ${rolledTo} entries`);
        expect(report.discrepancies.firstBadIndex).to.equal(rolledTo);
      } finally {
        ownServer.close();
      }
    });

    it("exits 1 when a signed checkpoint's root disagrees with the source at its size", async () => {
      const p = await proxy({});
      const note = signCheckpoint({ origin: HTTP_ORIGIN, size: 10, rootHash: sha256(Buffer.from("another tree")), extensions: [] }, w.noteSigner);
      const file = path.join(tmp.dir, "other-root.checkpoint");
      await writeFile(file, note);
      const r = await verifyCli(args(p.url, "--checkpoint", file), chain.reader);
      expect(r.code).to.equal(1);
      expect((JSON.parse(r.out) as AuditReport).discrepancies.byKind).to.have.property("split-view", 1);
    });

    it("stops incomplete (exit 2), naming the file, when a --checkpoint file cannot be read", async () => {
      const p = await proxy({});
      const file = path.join(tmp.dir, "no-such.checkpoint");
      const r = await verifyCli(args(p.url, "--checkpoint", file), chain.reader);
      expect(r.code).to.equal(2);
      expect(r.err).to.include(`cannot read the checkpoint file ${file}`).and.include("INCOMPLETE");
    });
  });
});

/** The log with leaves i and j swapped. */
function swap(l: LogEntryView[], i: number, j: number): LogEntryView[] {
  const m = [...l];
  [m[i], m[j]] = [m[j]!, m[i]!];
  return m;
}
