/**
 * Entries recorded out of time order are not a discrepancy (clocks of
 * replicas differ by a little), but the audit says so: the first few by
 * leaf, then how many more.
 */
import { expect } from "chai";
import { Ledger } from "../../service/ledger/ledger";
import { decodeEntry } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import type { AuditReport } from "../../scripts/lib/audit";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { auditEntries, recordScenario, tempDir } from "./helpers";

type Entry = { id: string; recordedAt: string; [k: string]: unknown };

describe("the audit on entries recorded out of time order", function () {
  this.timeout(60_000);
  let tmp: { dir: string; remove: () => Promise<void> };
  let clean: Entry[];

  before(async () => {
    tmp = await tempDir("audit-clock-");
    const store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date(Date.now() - 3_600_000).toISOString()), randomBytes: seededRandomBytes(41) });
    await recordScenario(ledger);
    clean = (await store.leaves(0, ledger.size)).map((l) => decodeEntry(l.bytes) as unknown as Entry);
    await ledger.close();
  });
  after(() => tmp.remove());

  const audit = (entries: Entry[]) => auditEntries(tmp.dir, entries);

  const backwards = (r: AuditReport) => r.notices.filter((n) => n.startsWith("leaf ") && n.endsWith("before the leaf before it"));

  it("says nothing of a log in time order", async () => {
    const r = await audit(clean);
    expect(r.ok, JSON.stringify(r.discrepancies.listed)).to.equal(true);
    expect(backwards(r)).to.deep.equal([]);
  });

  it("lists the first five leaves recorded before the leaf before them, counts the rest, and finds no discrepancy in it", async () => {
    expect(clean.length).to.be.greaterThan(14);
    // Every odd leaf from 1 to 13 a minute before the leaf before it: seven leaves out of order.
    const entries = clean.map((e, i) => (i % 2 === 1 && i <= 13 ? { ...e, recordedAt: new Date(Date.parse(clean[i - 1]!.recordedAt) - 60_000).toISOString() } : e));
    const r = await audit(entries);
    expect(r.ok, JSON.stringify(r.discrepancies.listed)).to.equal(true);
    expect(backwards(r).map((n) => n.split(" ")[1])).to.deep.equal(["1", "3", "5", "7", "9"]);
    expect(r.notices).to.include("2 more leaves were recorded before the leaf before them (the first 5 are listed)");
  });
});
