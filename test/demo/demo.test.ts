/**
 * Demo data: generated deterministically, loaded through the real ledger and
 * business rules, realistic enough for the portal's dashboard, and loaded
 * only once into a data directory, resuming after an interruption.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DemoError, demoStart, demoSummaryLines, generateDemo, loadDemo, loadDemoIntoDataDir, DEMO_MONTHS } from "../../service/demo";
import { applicationStatus } from "../../service/http/views";
import { checkEntries } from "../../scripts/lib/audit";
import { Ledger } from "../../service/ledger/ledger";
import { decodeEntry, type DecodedEntry } from "../../service/log";
import { hasValidOrganisationCodeCheck, isValidCreditCode, regionType } from "../../service/records/identifiers";
import { ApplicationRequest, ProgrammeRequest } from "../../service/records/schemas";
import type { ApplicationState, DecisionState, PayoutState, ProgrammeState, StateDoc } from "../../service/records/state";
import { MemoryStore } from "../../service/store/memory";
import { StoreUnavailableError, type CommitBatch, type LedgerStore } from "../../service/store/store";
import { ACTORS, FakeClock, programmeRequest, seededRandomBytes } from "../helpers/ledger-fixtures";

/** "Now" for every test: the demo history is May to October 2026. */
const NOW = "2026-11-23T08:00:00.000Z";

/** A smaller demo for the tests that load it more than once. */
const SMALL = 60;

type Body = Record<string, unknown>;

async function entriesOf(store: LedgerStore): Promise<DecodedEntry[]> {
  const { size } = await store.head();
  return (await store.leaves(0, size)).map((l) => decodeEntry(l.bytes));
}

const body = (e: DecodedEntry) => e["body"] as Body;
const actorOf = (e: DecodedEntry) => (e["actor"] as { official: string }).official;

async function stateOf<T extends StateDoc>(store: LedgerStore, id: string): Promise<T> {
  const doc = await store.state(`e:${id}`);
  expect(doc, `state of ${id}`).to.not.equal(undefined);
  return doc as T;
}

/**
 * The store, except that commits take 5 ms, as on a disk (so submissions
 * queue up in the sequencer meanwhile), and commit number `n` (1-based)
 * persists and then fails, as when the write reached the disk but the caller
 * never heard so.
 */
function failingAfterCommit(store: MemoryStore, n: number): LedgerStore {
  let commits = 0;
  return new Proxy(store, {
    get(target, key) {
      if (key === "commit")
        return async (batch: CommitBatch) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await target.commit(batch);
          if (++commits === n) throw new StoreUnavailableError("injected: the process died after this write");
        };
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("demo data", () => {
  describe("the default demo, loaded into an empty memory store", () => {
    let store: MemoryStore;
    let entries: DecodedEntry[];
    let byId: Map<string, DecodedEntry>;
    let result: Awaited<ReturnType<typeof loadDemo>>;
    const kind = (k: string) => entries.filter((e) => e.kind === k);

    before(async () => {
      store = new MemoryStore();
      result = await loadDemo({ store, now: NOW, randomBytes: seededRandomBytes(1) });
      entries = await entriesOf(store);
      byId = new Map(entries.map((e) => [e["id"] as string, e]));
    });

    it("appends every planned record through the real rules, none refused", () => {
      expect(result.status).to.equal("loaded");
      expect(result.appended).to.equal(result.plan.recordCount);
      expect(entries).to.have.length(result.plan.recordCount);
      expect(result.ids).to.deep.equal(entries.map((e) => e["id"]));
    });

    it("has 5 to 8 programmes whose budgets cover what was approved and paid", async () => {
      const programmes = kind("programme");
      expect(programmes.length).to.be.within(5, 8);
      expect(new Set(programmes.map((p) => body(p)["code"])).size).to.equal(programmes.length);
      for (const p of programmes) {
        const st = await stateOf<ProgrammeState>(store, p["id"] as string);
        expect(BigInt(st.approvedFen) > 0n, `${st.code} approved something`).to.equal(true);
        expect(BigInt(st.paidFen) > 0n, `${st.code} paid something`).to.equal(true);
        expect(BigInt(st.approvedFen) <= BigInt(st.budgetFen)).to.equal(true);
        expect(BigInt(st.paidFen) <= BigInt(st.approvedFen)).to.equal(true);
      }
    });

    it("has at least 200 enterprises, every credit code valid (GB 32100 check character and GB 11714 organisation code)", () => {
      const codes = new Set(kind("application").map((a) => body(a)["creditCode"] as string));
      expect(codes.size).to.be.at.least(200);
      for (const code of codes) {
        expect(isValidCreditCode(code), code).to.equal(true);
        expect(hasValidOrganisationCodeCheck(code), code).to.equal(true);
      }
    });

    it("has applicants in urban districts, rural counties and county-level cities, and both kinds paid", async () => {
      const types = new Set(kind("application").map((a) => regionType(body(a)["region"])));
      expect([...types].sort()).to.deep.equal(["county-level-city", "rural-county", "urban-district"]);
      const paid = { urban: 0n, rural: 0n };
      for (const p of kind("programme")) {
        const st = await stateOf<ProgrammeState>(store, p["id"] as string);
        paid.urban += BigInt(st.byRegion["urban-district"].paidFen);
        paid.rural += BigInt(st.byRegion["rural-county"].paidFen);
      }
      expect(paid.urban > 0n && paid.rural > 0n, JSON.stringify({ urban: String(paid.urban), rural: String(paid.rural) })).to.equal(true);
    });

    it("has decisions both ways, each by another official than the one who recorded the application", () => {
      const decisions = kind("decision");
      expect(decisions.filter((d) => body(d)["outcome"] === "approved").length).to.be.greaterThan(decisions.length / 2);
      expect(decisions.filter((d) => body(d)["outcome"] === "rejected").length).to.be.at.least(10);
      for (const d of decisions) expect(actorOf(d)).to.not.equal(actorOf(byId.get(body(d)["applicationId"] as string)!));
    });

    it("has payouts at or above the four-eyes threshold, confirmed by a second official", () => {
      const confirmations = kind("confirmation");
      expect(confirmations.length).to.be.at.least(10);
      for (const c of confirmations) {
        const payout = byId.get(body(c)["payoutId"] as string)!;
        expect(body(payout)["needsConfirmation"]).to.equal(true);
        expect(actorOf(c)).to.not.equal(actorOf(payout));
      }
      expect(kind("payout").filter((p) => body(p)["needsConfirmation"] === false).length).to.be.greaterThan(confirmations.length);
    });

    it("has a split payout below the threshold, under an approval at or above it, that a second official confirmed", () => {
      const thresholdOf = (payout: DecodedEntry) => {
        const decision = byId.get(body(payout)["decisionId"] as string)!;
        const application = byId.get(body(decision)["applicationId"] as string)!;
        const programme = byId.get(body(application)["programmeId"] as string)!;
        return { approved: BigInt(body(decision)["approvedFen"] as string), threshold: BigInt(body(programme)["fourEyesThresholdFen"] as string) };
      };
      const confirmed = new Set(kind("confirmation").map((c) => body(c)["payoutId"] as string));
      const split = kind("payout").filter((p) => {
        const { approved, threshold } = thresholdOf(p);
        return approved >= threshold && BigInt(body(p)["amountFen"] as string) < threshold && confirmed.has(p["id"] as string);
      });
      expect(split.length).to.be.at.least(1);
      for (const p of split) expect(body(p)["needsConfirmation"]).to.equal(true);
    });

    it("breaks no accountability invariant, as the auditor's checker sees the public entries", () => {
      expect(checkEntries(entries).violations).to.deep.equal([]);
    });

    it("has full and partial payouts, a clawback, a data-entry-error correction and a withdrawal, each with a reason", async () => {
      const corrections = kind("correction");
      const reasons = corrections.map((c) => body(c)["reasonCode"]);
      expect(reasons).to.include.members(["clawback", "data-entry-error", "revoked"]);
      for (const c of corrections) expect(String(body(c)["reasonText"]).length).to.be.greaterThan(10);
      for (const c of corrections.filter((c) => body(c)["reasonCode"] === "clawback")) {
        const payout = await stateOf<PayoutState>(store, body(c)["targetId"] as string);
        expect(payout.clawedBackFen).to.equal(body(c)["clawbackFen"]);
      }
      const statuses = new Set<string>();
      for (const a of kind("application")) {
        const app = await stateOf<ApplicationState>(store, a["id"] as string);
        const decision = app.decisionId === null ? undefined : await stateOf<DecisionState>(store, app.decisionId);
        statuses.add(applicationStatus(app, decision));
      }
      expect([...statuses].sort()).to.deep.equal(["approved", "corrected", "paid", "partially-paid", "pending", "rejected"]);
    });

    it("spreads payouts over at least four months of a six-month history that ends before now, in time order", () => {
      const payoutMonths = new Set(kind("payout").map((p) => String(body(p)["paidOn"]).slice(0, 7)));
      expect(payoutMonths.size).to.be.at.least(4);
      const times = entries.map((e) => e.recordedAt as string);
      for (let i = 1; i < times.length; i++) expect(times[i]! >= times[i - 1]!, `entry ${i}`).to.equal(true);
      expect(times.at(-1)! < NOW).to.equal(true);
      expect(times[0]! >= "2026-05-01").to.equal(true);
      expect(new Set(times.map((t) => t.slice(0, 7))).size).to.equal(DEMO_MONTHS);
    });

    it("keeps contact, phone, bank account and transaction reference off the log, with their openings stored", async () => {
      const text = entries.map((e) => JSON.stringify(e)).join("\n");
      expect(text).to.not.include("+86 138 0000");
      expect(text).to.not.include("99990000");
      expect(text).to.not.include("DEMO-GKZF");
      const app = kind("application")[0]!;
      const openings = await store.openings(app["id"] as string);
      expect(openings?.["phone"]?.value).to.match(/^\+86 138 0000 [0-9]{4}$/);
      expect(openings?.["bankAccount"]?.value).to.match(/^99990000[0-9]{11}$/);
    });

    it("points each highlight at an entry filed under the enterprise it names", async () => {
      expect(result.plan.highlights.length).to.be.at.least(8);
      for (const h of result.plan.highlights)
        expect(await store.indexed({ name: "enterprise", value: h.creditCode }), h.label).to.include(h.record);
      const clawback = result.plan.highlights.find((h) => /clawback of a whole/.test(h.label))!;
      expect(body(entries[clawback.record]!)["reasonCode"]).to.equal("clawback");
    });
  });

  describe("agencies", () => {
    let store: MemoryStore;
    let entries: DecodedEntry[];
    before(async () => {
      store = new MemoryStore();
      await loadDemo({ store, now: NOW, enterprises: SMALL, randomBytes: seededRandomBytes(5) });
      entries = await entriesOf(store);
    });
    const agencyOf = (e: DecodedEntry) => (e["actor"] as { agency: string }).agency;

    it("registers the province's 发改委 and 衢州's under it, then the province delegates to 衢州, before any of its programmes or applications", () => {
      const [a, b] = entries.slice(0, 2);
      expect([a!.kind, b!.kind]).to.deep.equal(["agency", "agency"]);
      expect(body(a!)).to.deep.equal({ code: "330000-FGW", name: "浙江省发展和改革委员会" });
      expect(body(b!)).to.deep.equal({ code: "330800-FGW", name: "衢州市发展和改革委员会", parent: "330000-FGW" });
      const delegations = entries.filter((e) => e.kind === "delegation");
      expect(delegations.map(body)).to.deep.equal([{ from: "330000-FGW", to: "330800-FGW", granted: true }]);
      expect(agencyOf(delegations[0]!)).to.equal("330000-FGW");
      const at = entries.indexOf(delegations[0]!);
      expect(entries.findIndex((e) => e.kind === "programme" && body(e)["agency"] === "330000-FGW")).to.be.greaterThan(at);
      expect(entries.findIndex((e) => e.kind === "application")).to.be.greaterThan(at);
      expect(entries.filter((e) => e.kind === "agency")).to.have.length(2);
    });

    it("has 衢州's clerks record the 衢州 applications of the province's programme, and the province's officials the rest of it", () => {
      const fgwProgrammes = new Set(entries.filter((e) => e.kind === "programme" && body(e)["agency"] === "330000-FGW").map((e) => String(e["id"])));
      expect(fgwProgrammes.size).to.equal(1);
      const apps = entries.filter((e) => e.kind === "application" && fgwProgrammes.has(String(body(e)["programmeId"])));
      const byQuzhou = apps.filter((e) => agencyOf(e) === "330800-FGW");
      expect(byQuzhou.length).to.be.greaterThan(0);
      for (const e of byQuzhou) expect(String(body(e)["region"])).to.match(/^3308/);
      for (const e of apps.filter((a) => agencyOf(a) !== "330800-FGW")) expect(agencyOf(e)).to.equal("330000-FGW");
      // The province's programme is paid by its own payers: an unregistered finance department may not.
      const decisions = new Set(entries.filter((e) => e.kind === "decision" && apps.some((a) => a["id"] === body(e)["applicationId"])).map((e) => String(e["id"])));
      const payouts = entries.filter((e) => e.kind === "payout" && decisions.has(String(body(e)["decisionId"])));
      expect(payouts.length).to.be.greaterThan(0);
      for (const e of payouts) expect(agencyOf(e)).to.equal("330000-FGW");
    });

    it("refuses a 衢州 clerk in the province's programme once the delegation is withdrawn, and in another agency's programme always", async () => {
      const ledger = await Ledger.open({ store, clock: new FakeClock(NOW) });
      try {
        const programme = entries.find((e) => e.kind === "programme" && body(e)["agency"] === "330000-FGW")!;
        const other = entries.find((e) => e.kind === "programme" && body(e)["agency"] !== "330000-FGW")!;
        const app = entries.find((e) => e.kind === "application" && agencyOf(e) === "330800-FGW")!;
        const clerk = app["actor"] as { official: string; agency: string; role: "clerk" };
        const application = (programmeId: string) => ({ ...(body(app) as object), programmeId, creditCode: body(app)["creditCode"], private: { contactPerson: "演示", phone: "+86 138 0000 0000", bankAccount: "9999000012345678" } });
        const submit = (programmeId: string, key: string) =>
          ledger.submit({ command: { kind: "application", body: ApplicationRequest.parse(application(programmeId)) }, actor: clerk, idempotencyKey: key, requestHash: key });
        const refused = async (p: Promise<unknown>) => {
          try {
            await p;
          } catch (e) {
            return e as { rule?: string };
          }
          throw new Error("expected a refusal");
        };
        expect((await refused(submit(String(other["id"]), "other"))).rule).to.equal("agency-scope");
        const admin = entries.find((e) => e.kind === "delegation")!["actor"] as { official: string; agency: string; role: "admin" };
        await ledger.submit({ command: { kind: "delegation", body: { from: "330000-FGW", to: "330800-FGW", granted: false } }, actor: admin, idempotencyKey: "withdraw", requestHash: "withdraw" });
        expect((await refused(submit(String(programme["id"]), "after"))).rule).to.equal("agency-scope");
      } finally {
        await ledger.close();
      }
    });
  });

  describe("determinism", () => {
    it("gives the same plan for the same seed and start, and another for another seed", () => {
      const a = generateDemo({ seed: 7, start: "2026-05-01", enterprises: SMALL });
      const b = generateDemo({ seed: 7, start: "2026-05-01", enterprises: SMALL });
      const c = generateDemo({ seed: 8, start: "2026-05-01", enterprises: SMALL });
      expect(b).to.deep.equal(a);
      expect(c.sessions).to.not.deep.equal(a.sessions);
    });

    it("gives byte-identical logs for the same seed and randomness", async () => {
      const one = new MemoryStore();
      const two = new MemoryStore();
      await loadDemo({ store: one, now: NOW, enterprises: SMALL, randomBytes: seededRandomBytes(3) });
      await loadDemo({ store: two, now: NOW, enterprises: SMALL, randomBytes: seededRandomBytes(3) });
      const [a, b] = [await one.head(), await two.head()];
      expect(a.size).to.be.greaterThan(100);
      expect(b.compact).to.deep.equal(a.compact);
    });

    it("starts the history six whole months before now, in China Standard Time", () => {
      expect(demoStart("2026-11-23T08:00:00.000Z")).to.equal("2026-05-01");
      // 16:30 UTC on 31 October is already 1 November in China.
      expect(demoStart("2026-10-31T16:30:00.000Z")).to.equal("2026-05-01");
      expect(demoStart("2026-10-31T15:30:00.000Z")).to.equal("2026-04-01");
      expect(demoStart("2027-02-10T00:00:00.000Z")).to.equal("2026-08-01");
    });

    it("refuses a start that is not the first day of a month", () => {
      expect(() => generateDemo({ start: "2026-05-02" })).to.throw(RangeError, /first day of a month/);
    });
  });

  describe("loading again", () => {
    it("appends nothing to a log that holds the demo, nor to one with entries recorded after it", async () => {
      const store = new MemoryStore();
      const first = await loadDemo({ store, now: NOW, enterprises: SMALL });
      const again = await loadDemo({ store, now: NOW, enterprises: SMALL });
      expect(again.status).to.equal("already-loaded");
      expect(again.appended).to.equal(0);
      expect(again.ids).to.deep.equal(first.ids);
      expect((await store.head()).size).to.equal(first.size);

      const ledger = await Ledger.open({ store, clock: new FakeClock(NOW) });
      await ledger.submit({ command: { kind: "programme", body: ProgrammeRequest.parse(programmeRequest()) }, actor: ACTORS.admin, idempotencyKey: "k", requestHash: "h" });
      await ledger.close();
      const later = await loadDemo({ store, now: "2027-01-15T00:00:00.000Z", enterprises: SMALL });
      expect(later.status).to.equal("already-loaded");
      expect((await store.head()).size).to.equal(first.size + 1);
    });

    // Failing at commit 7 or 8 leaves sessions queued in the sequencer (found by
    // counting commits after the failure); without the loader's guards they
    // would be appended out of plan order, and the resume would be refused.
    for (const n of [3, 7, 8])
      it(`finishes a load that died after commit ${n}, ending with exactly the demo`, async () => {
        const store = new MemoryStore();
        let error: unknown;
        await loadDemo({ store: failingAfterCommit(store, n), now: NOW, enterprises: SMALL }).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(StoreUnavailableError);
        const partial = (await store.head()).size;
        const resumed = await loadDemo({ store, now: NOW, enterprises: SMALL });
        expect(partial).to.be.within(1, resumed.plan.recordCount - 1);
        expect(resumed.status).to.equal("resumed");
        expect(resumed.appended).to.equal(resumed.plan.recordCount - partial);
        expect((await store.head()).size).to.equal(resumed.plan.recordCount);
        // Every entry is where the plan puts it, with the plan's actor, instant and references.
        expect((await loadDemo({ store, now: NOW, enterprises: SMALL })).status).to.equal("already-loaded");
        expect((await entriesOf(store)).map((e) => e["id"])).to.deep.equal(resumed.ids);
      });

    it("refuses, appending nothing, a log that holds other records", async () => {
      const store = new MemoryStore();
      const ledger = await Ledger.open({ store, clock: new FakeClock("2026-06-01T02:00:00.000Z") });
      await ledger.submit({ command: { kind: "programme", body: ProgrammeRequest.parse(programmeRequest()) }, actor: ACTORS.admin, idempotencyKey: "k", requestHash: "h" });
      await ledger.close();
      let error: unknown;
      await loadDemo({ store, now: NOW, enterprises: SMALL }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(DemoError);
      expect((error as DemoError).code).to.equal("LOG_NOT_DEMO");
      expect((error as DemoError).message).to.match(/empty data directory/);
      expect((await store.head()).size).to.equal(1);
    });

    it("refuses demo data of another seed, saying so", async () => {
      const store = new MemoryStore();
      await loadDemo({ store, now: NOW, enterprises: SMALL, seed: 1 });
      const size = (await store.head()).size;
      let error: unknown;
      await loadDemo({ store, now: NOW, enterprises: SMALL, seed: 2 }).catch((e: unknown) => (error = e));
      expect((error as DemoError).code).to.equal("LOG_NOT_DEMO");
      expect((error as DemoError).message).to.match(/another seed or version of the demo generator: remove the data directory/);
      expect((await store.head()).size).to.equal(size);
    });
  });

  describe("in a data directory", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "ledger-demo-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("loads into LevelDB once, and names entries that exist in the start-up lines", async () => {
      const first = await loadDemoIntoDataDir(dir, NOW);
      expect(first.status).to.equal("loaded");
      const again = await loadDemoIntoDataDir(dir, NOW);
      expect(again.status).to.equal("already-loaded");
      expect(again.size).to.equal(first.size);
      const lines = demoSummaryLines(again, "http://127.0.0.1:8080").join("\n");
      expect(lines).to.include("already loaded");
      for (const h of first.plan.highlights) {
        expect(lines).to.include(`/v1/enterprises/${h.creditCode}`);
        expect(lines).to.include(first.ids[h.record]!);
      }
    });
  });
});
