/**
 * The full audit of a data directory against LedgerAnchor on Hardhat's
 * network, the way an auditor does it: through a service started on the
 * directory (the auditor never reads LevelDB), or through an export of it.
 * The clean ledger passes; each kind of tampering with the stored log is
 * detected and located (the service's proofs come from the stored tree,
 * which the tampering left as it was).
 */
import { cp } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { CompactRange, encodeEntry, hashLeaf, type JsonValue } from "../../service/log";
import { LevelStore } from "../../service/store/level";
import { ExportSource, runAudit, type AuditOptions, type AuditReport, type ChainReader } from "../../scripts/lib/audit";
import { ACTORS, submit, payoutRequest, programmeRequest } from "../helpers/ledger-fixtures";
import { auditService, buildDb, editDb, exportDir, indexOfId, leafKey, serveDir, tempDir, verifyCli, type DbWorld } from "./helpers";

/** Audits the data directory through a service started on it. */
async function auditDb(dir: string, chain: ChainReader, more: Partial<AuditOptions> = {}): Promise<AuditReport> {
  const served = await serveDir(dir);
  try {
    return await auditService(served.url, { chain, verifiers: [served.verifier], ...more });
  } finally {
    await served.close();
  }
}

/** The CLI on a service started on the data directory. */
async function cliDb(dir: string, w: DbWorld): Promise<{ code: number; out: string; err: string }> {
  const served = await serveDir(dir);
  try {
    return await verifyCli(["--service", served.url, "--rpc", "http://x.invalid", "--contract", w.chain.address, "--log-key", served.logKey], w.chain.reader);
  } finally {
    await served.close();
  }
}

function kinds(r: AuditReport): Record<string, number> {
  return { ...r.discrepancies.byKind };
}

describe("the audit of a data directory through a service started on it", function () {
  let tmp: { dir: string; remove: () => Promise<void> };
  let w: DbWorld;

  beforeEach(async () => {
    tmp = await tempDir();
    w = await buildDb(tmp.dir);
    await w.close();
  });
  afterEach(async () => {
    await tmp.remove();
  });

  describe("when nothing was changed", () => {
    it("reports clean, having compared every anchored checkpoint and every entry", async () => {
      const r = await auditDb(w.dir, w.chain.reader);
      expect(r.discrepancies.listed, JSON.stringify(r.discrepancies.listed, null, 1)).to.deep.equal([]);
      expect(r.ok).to.equal(true);
      expect(r.entries.count).to.equal(w.size);
      expect(r.checkpoints).to.deep.include({ onChain: 4, checked: 4, matched: 4, beyondSource: 0 });
      expect(r.checkpoints.consecutive.byReplay).to.equal(3);
      expect(r.entries.byKind).to.deep.equal({ programme: 2, application: 7, decision: 7, payout: 8, confirmation: 4, correction: 9, erasure: 0, agency: 0, delegation: 0 });
      expect(r.anchoring.unanchored).to.equal(0);
      // p1: 3 000 000 + 8 000 000 + 1 000 000 approved; p2: 5 000 000 + 1 500 000.
      expect(r.totals.approvedFen).to.equal("18500000");
    });

    it("gives the same report with the tree built in a worker thread", async () => {
      const now = Date.now();
      const inline = await auditDb(w.dir, w.chain.reader, { now: () => now });
      const threaded = await auditDb(w.dir, w.chain.reader, { now: () => now, workers: 1 });
      const strip = (r: AuditReport) => ({ ...r, startedAt: "", durationMs: 0, source: { ...r.source, description: "" } });
      expect(strip(threaded)).to.deep.equal(strip(inline));
    });

    it("refuses --db, which is gone: a data directory is audited through a service or an export", async () => {
      const cli = await verifyCli(["--db", w.dir, "--rpc", "http://x.invalid", "--contract", w.chain.address], w.chain.reader);
      expect(cli.code).to.equal(2);
      expect(cli.err).to.match(/unknown option '--db'/);
    });

    it("audits clean through the CLI (exit 0)", async () => {
      const cli = await cliDb(w.dir, w);
      expect(cli.code, cli.out).to.equal(0);
      expect(cli.out).to.match(/^AUDIT CLEAN/);
    });
  });

  describe("when one LevelDB value was changed (tamper 1)", () => {
    it("fails and names the changed entry and its leaf index", async () => {
      let index = -1;
      await editDb(w.dir, async (db) => {
        index = await indexOfId(db, w.ids.pay1b!);
        const v = Buffer.from((await db.get(leafKey(index)))!);
        const s = v.toString("latin1");
        expect(s).to.include('"amountFen":"2000000"');
        await db.put(leafKey(index), Buffer.from(s.replace('"amountFen":"2000000"', '"amountFen":"2900000"'), "latin1"));
      });
      const r = await auditDb(w.dir, w.chain.reader);
      expect(r.ok).to.equal(false);
      expect(r.discrepancies.firstBadIndex).to.equal(index);
      const located = r.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is");
      expect(located.map((d) => [d.entryId, d.leafIndex])).to.deep.equal([[w.ids.pay1b, index]]);
      expect(kinds(r)["root-mismatch"]).to.equal(3); // every checkpoint from the one covering it
      // The service's signed head (its stored tree) is not the tree of the entries it serves.
      expect(kinds(r)["published-root-mismatch"]).to.equal(1);

      // The same through the CLI: exit 1, and the readable report names the entry.
      const cli = await cliDb(w.dir, w);
      expect(cli.code).to.equal(1);
      expect(cli.out).to.match(/^AUDIT FAILED/);
      expect(cli.out).to.include(`First bad leaf index: ${index}`);
      expect(cli.out).to.include(`[leaf-not-anchored-as-is] leaf ${index} (${w.ids.pay1b})`);
    });

  });

  describe("when an entry was deleted (tamper 2)", () => {
    // A service cannot serve a page with a leaf missing from its store, so the directory is audited through its export.
    it("fails and gives the deleted index as the first bad one", async () => {
      await editDb(w.dir, async (db) => db.del(leafKey(12)));
      const out = await tempDir("audit-export-");
      const file = path.join(out.dir, "entries.jsonl");
      await exportDir(w.dir, file, w.size);
      const source = await ExportSource.open(file);
      const r = await runAudit({ source, chain: w.chain.reader, verifiers: [] }).finally(async () => {
        await source.close();
        await out.remove();
      });
      expect(r.ok).to.equal(false);
      expect(r.discrepancies.firstBadIndex).to.equal(12);
      const order = r.discrepancies.listed.find((d) => d.kind === "leaf-order");
      expect(order?.leafIndex).to.equal(12);
      expect(order?.message).to.match(/leaf 12 is missing/);
      expect(kinds(r)["source-size-mismatch"]).to.equal(1);
      expect(kinds(r)["root-mismatch"]).to.be.greaterThan(0);
    });
  });

  describe("when two entries were swapped (tamper 3)", () => {
    it("fails and names both, the first as the first bad index", async () => {
      await editDb(w.dir, async (db) => {
        const a = (await db.get(leafKey(5)))!;
        const b = (await db.get(leafKey(8)))!;
        await db.put(leafKey(5), b);
        await db.put(leafKey(8), a);
      });
      const r = await auditDb(w.dir, w.chain.reader);
      expect(r.ok).to.equal(false);
      expect(r.discrepancies.firstBadIndex).to.equal(5);
      const located = r.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is").map((d) => d.leafIndex);
      expect(located).to.have.members([5, 8]);
    });
  });

  describe("when an entry was inserted (tamper 4)", () => {
    it("fails and gives the inserted position as the first bad index", async () => {
      const at = 20;
      await editDb(w.dir, async (db) => {
        // Shift leaves [at, size) up by one and put a forged copy of leaf 4 at `at`.
        for (let i = w.size - 1; i >= at; i--) await db.put(leafKey(i + 1), (await db.get(leafKey(i)))!);
        await db.put(leafKey(at), (await db.get(leafKey(4)))!);
      });
      const r = await auditDb(w.dir, w.chain.reader);
      expect(r.ok).to.equal(false);
      expect(r.discrepancies.firstBadIndex).to.equal(at);
      expect(kinds(r)["duplicate-id"]).to.equal(1);
      const located = r.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is").map((d) => d.leafIndex);
      expect(Math.min(...(located as number[]))).to.equal(at);
    });
  });

  describe("when the database was rolled back to an older copy (tamper 5)", () => {
    it("fails: the chain anchors entries the copy does not have", async () => {
      const old = await tempDir("audit-old-");
      try {
        await cp(w.dir, old.dir, { recursive: true });
        // The live ledger goes on and anchors more.
        const store = await LevelStore.open(w.dir);
        const { Ledger } = await import("../../service/ledger/ledger");
        const ledger = await Ledger.open({ store, clock: w.clock });
        await submit(ledger, ACTORS.payerE, "payout", payoutRequest(w.ids.dec5!, { amountFen: "100000", paidOn: "2020-06-01" }));
        await w.chain.anchor(store, ledger.size);
        await ledger.close();
        await store.close();

        const r = await auditDb(old.dir, w.chain.reader);
        expect(r.ok).to.equal(false);
        expect(kinds(r)["source-behind-chain"]).to.equal(1);
        expect(r.discrepancies.firstBadIndex).to.equal(w.size);
        expect(r.checkpoints.beyondSource).to.equal(1);
        // What it does hold still matches.
        expect(r.checkpoints.matched).to.equal(4);
      } finally {
        await old.remove();
      }
    });
  });

  describe("when a payout above its approval was written straight into the store (tamper 10)", () => {
    it("fails on the invariant and names the payout, even though the insider anchored it", async () => {
      const store = await LevelStore.open(w.dir);
      const head = await store.head();
      const range = new CompactRange(head.size, head.compact);
      const leaf = await store.leaf(await store.indexOf(w.ids.pay1a!).then((i) => i!));
      const forged = JSON.parse(Buffer.from(leaf!.bytes).toString("utf8")) as Record<string, JsonValue> & { v: number };
      const id = "pay_0123456789abcdef01234567";
      forged.id = id;
      (forged.body as Record<string, JsonValue>).amountFen = "2500000"; // 1 000 000 + 2 000 000 already paid on dec1, approved 3 000 000
      const bytes = encodeEntry(forged);
      const nodes = range.append(hashLeaf(bytes));
      await store.commit({
        head: { size: range.size, compact: range.hashes },
        leaves: [{ index: head.size, id, recordedAt: String(forged.recordedAt), bytes, nodes, indexes: [], openings: null }],
        state: new Map(),
        idempotency: new Map(),
      });
      await w.chain.anchor(store, range.size);
      await store.close();

      const r = await auditDb(w.dir, w.chain.reader);
      expect(r.ok).to.equal(false);
      expect(r.checkpoints.matched).to.equal(5); // the tree itself is consistent and anchored
      expect(kinds(r)).to.deep.equal({ invariant: 1 });
      const d = r.discrepancies.listed[0]!;
      expect(d).to.include({ rule: "payout-within-approved", entryId: id, leafIndex: head.size });
    });
  });

  describe("anchoring delay", () => {
    let late: { dir: string; remove: () => Promise<void> };
    let lw: DbWorld;
    before(async () => {
      late = await tempDir();
      lw = await buildDb(late.dir, () => [3, 10]); // entries recorded a minute ago, only 10 anchored
      await lw.close();
    });
    after(async () => late.remove());

    it("reports every unanchored entry older than the maximum delay, and fails", async () => {
      const r = await auditDb(lw.dir, lw.chain.reader, { maxDelayMs: 30_000, until: lw.size });
      expect(r.anchoring).to.include({ unanchored: lw.size - 10, overdue: lw.size - 10 });
      expect(r.discrepancies.byKind).to.deep.equal({ "anchoring-delay": lw.size - 10 });
      expect(r.discrepancies.listed[0]).to.include({ leafIndex: 10 });
    });

    it("does not fail for unanchored entries younger than the delay", async () => {
      const r = await auditDb(lw.dir, lw.chain.reader, { maxDelayMs: 300_000, until: lw.size });
      expect(r.ok).to.equal(true);
      expect(r.anchoring).to.include({ unanchored: lw.size - 10, overdue: 0 });
    });
  });
});

describe("the audit of a data directory whose log spans complete 256-leaf tiles", function () {
  it("locates a changed entry inside a complete tile, with proofs the service reads from the stored tree's tile records", async function () {
    this.timeout(60_000);
    const tmp = await tempDir();
    try {
      const w = await buildDb(tmp.dir, () => []);
      for (let i = 0; i < 300; i++) await submit(w.ledger, ACTORS.admin, "programme", programmeRequest({ code: `PAD-${i}` }));
      const size = w.ledger.size;
      expect(size).to.be.greaterThan(300);
      for (const s of [100, size]) await w.chain.anchor(w.store, s);
      await w.close();

      const index = 50; // inside tile 0, whose lower nodes live in one tile record
      let id = "";
      await editDb(tmp.dir, async (db) => {
        const v = Buffer.from((await db.get(leafKey(index)))!);
        const s = v.toString("latin1");
        const m = /"id":"([a-z]{3}_[0-9a-f]{24})"/.exec(s);
        id = m![1]!;
        await db.put(leafKey(index), Buffer.from(s.replace(/"recordedAt":"[^"]+"/, '"recordedAt":"2020-01-01T00:00:00.000Z"'), "latin1"));
      });
      const r = await auditDb(tmp.dir, w.chain.reader);
      expect(r.ok).to.equal(false);
      expect(r.discrepancies.firstBadIndex).to.equal(index);
      const located = r.discrepancies.listed.filter((d) => d.kind === "leaf-not-anchored-as-is");
      expect(located.map((d) => [d.entryId, d.leafIndex])).to.deep.equal([[id, index]]);
    } finally {
      await tmp.remove();
    }
  });
});
