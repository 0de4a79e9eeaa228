/**
 * The audit replays the agency-scope rule (issue 13) from public entries
 * alone: an entry filed under a programme is recorded by an official of the
 * programme's agency, or of one the programme's agency had delegated to at
 * that point in the log. A two-agency ledger is recorded through the real
 * Ledger, then audited from an export file as recorded and as crafted.
 */
import { expect } from "chai";
import { Ledger } from "../../service/ledger/ledger";
import { decodeEntry } from "../../service/log";
import type { Actor } from "../../service/records/entry";
import { RuleViolation } from "../../service/records/rules";
import type { RecordKind } from "../../service/records/schemas";
import { MemoryStore } from "../../service/store/memory";
import type { AuditReport } from "../../scripts/lib/audit";
import { ACTORS, applicationRequest, confirmationRequest, creditCode, decisionRequest, FakeClock, payoutRequest, programmeRequest, seededRandomBytes, submit } from "../helpers/ledger-fixtures";
import { auditEntries, tempDir } from "./helpers";

type Entry = { id: string; kind: string; actor: { official: string; agency: string; role: string }; refs: string[]; body: Record<string, unknown>; [k: string]: unknown };

const BJ = "110000-FGW";
const TJ = "120000-FGW";
const official = (agency: string, role: "clerk" | "approver" | "payer", who: string): Actor => ({ official: `${role}.${who}`, agency, role });
const OF = {
  bjClerk: official(BJ, "clerk", "bj"),
  bjApprover: official(BJ, "approver", "bj"),
  bjPayer: official(BJ, "payer", "bj"),
  bjApprover2: official(BJ, "approver", "bj2"),
  tjClerk: official(TJ, "clerk", "tj"),
  tjApprover: official(TJ, "approver", "tj"),
  tjPayer: official(TJ, "payer", "tj"),
};
const OPEN = { opensOn: "2000-01-01", closesOn: "2099-12-31" };

async function rec(ledger: Ledger, actor: Actor, kind: RecordKind, body: unknown): Promise<string> {
  const a = await submit(ledger, actor, kind, body);
  expect(a.status, JSON.stringify(a.body)).to.equal(201);
  return a.body.id;
}

describe("the audit's replay of agency scope", function () {
  this.timeout(60_000);
  let tmp: { dir: string; remove: () => Promise<void> };
  let clean: Entry[];
  const ids: Record<string, string> = {};

  before(async () => {
    tmp = await tempDir("audit-agency-");
    const store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date(Date.now() - 60_000).toISOString()), randomBytes: seededRandomBytes(31) });
    // The deployment-wide admin (an admin of no registered agency) registers two agencies and gives each a programme.
    ids.bj = await rec(ledger, ACTORS.admin, "agency", { code: BJ, name: "北京市发展和改革委员会" });
    ids.tj = await rec(ledger, ACTORS.admin, "agency", { code: TJ, name: "天津市发展和改革委员会" });
    ids.pBj = await rec(ledger, ACTORS.admin, "programme", programmeRequest({ ...OPEN, agency: BJ, fourEyesThresholdFen: "1000000" }));
    ids.pTj = await rec(ledger, ACTORS.admin, "programme", programmeRequest({ ...OPEN, agency: TJ }));
    // Each agency's officials work in their own programme.
    ids.appBj = await rec(ledger, OF.bjClerk, "application", applicationRequest(ids.pBj));
    ids.decBj = await rec(ledger, OF.bjApprover, "decision", decisionRequest(ids.appBj, { approvedFen: "2000000" }));
    ids.payBj = await rec(ledger, OF.bjPayer, "payout", payoutRequest(ids.decBj, { amountFen: "2000000", paidOn: "2020-06-01" }));
    ids.cnfBj = await rec(ledger, OF.bjApprover2, "confirmation", confirmationRequest(ids.payBj));
    ids.appTj = await rec(ledger, OF.tjClerk, "application", applicationRequest(ids.pTj, { creditCode: creditCode(2) }));
    ids.decTj = await rec(ledger, OF.tjApprover, "decision", decisionRequest(ids.appTj));
    // Beijing delegates to Tianjin: a Tianjin clerk records into Beijing's programme; then Beijing withdraws it.
    ids.grant = await rec(ledger, ACTORS.admin, "delegation", { from: BJ, to: TJ, granted: true });
    ids.appDelegated = await rec(ledger, OF.tjClerk, "application", applicationRequest(ids.pBj, { creditCode: creditCode(3) }));
    ids.withdraw = await rec(ledger, ACTORS.admin, "delegation", { from: BJ, to: TJ, granted: false });
    const refused = await submit(ledger, OF.tjClerk, "application", applicationRequest(ids.pBj, { creditCode: creditCode(4) })).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(RuleViolation).and.include({ rule: "agency-scope" });
    clean = (await store.leaves(0, ledger.size)).map((l) => decodeEntry(l.bytes) as unknown as Entry);
    await ledger.close();
  });
  after(() => tmp.remove());

  /** runAudit of `entries` as an export file (no chain: only what the entries themselves show). */
  const audit = (entries: Entry[]) => auditEntries(tmp.dir, entries);

  /** The agency-scope findings as [entry id, rule]. */
  const scoped = (r: AuditReport) => r.discrepancies.listed.filter((d) => d.kind === "agency-scope").map((d) => [d.entryId, d.rule]);

  /** A copy of the log with the actor of `id` given another agency's token. */
  function recordedBy(id: string, agency: string): Entry[] {
    const copy = structuredClone(clean);
    copy.find((e) => e.id === id)!.actor.agency = agency;
    return copy;
  }

  describe("a two-agency log as recorded", () => {
    it("audits clean, a delegated agency's application included", async () => {
      const delegated = clean.find((e) => e.id === ids.appDelegated)!;
      expect(delegated.actor.agency).to.equal(TJ);
      expect(delegated.body.programmeId).to.equal(ids.pBj);
      const r = await audit(clean);
      expect(r.discrepancies.listed).to.deep.equal([]);
      expect(r.ok).to.equal(true);
    });
  });

  describe("when an official records into another agency's programme without a delegation", () => {
    it("reports the application as agency-scope, a finding of its own kind", async () => {
      const r = await audit(recordedBy(ids.appBj!, TJ));
      expect(r.ok).to.equal(false);
      expect(r.discrepancies.byKind).to.deep.equal({ "agency-scope": 1 });
      expect(scoped(r)).to.deep.equal([[ids.appBj, "agency-scope"]]);
      expect(r.discrepancies.listed[0]!.message).to.include(`programme ${ids.pBj} of agency ${BJ}, which had not delegated to ${TJ}`);
    });

    it("reports a decision, a payout and a confirmation filed under the programme the same way", async () => {
      for (const id of [ids.decBj!, ids.payBj!, ids.cnfBj!]) expect(scoped(await audit(recordedBy(id, TJ))), id).to.deep.equal([[id, "agency-scope"]]);
    });

    it("reports an official of a registered agency recording into a programme of an unregistered one", async () => {
      const copy = structuredClone(clean);
      (copy.find((e) => e.id === ids.pTj)!.body as { agency: string }).agency = "市工业和信息化局";
      expect(scoped(await audit(copy))).to.deep.equal([
        [ids.appTj, "agency-scope"],
        [ids.decTj, "agency-scope"],
      ]);
    });
  });

  describe("when the programme's agency has delegated to the official's agency", () => {
    it("finds nothing in an entry of the delegated agency, while the delegation stands", async () => {
      // The Tianjin payer pays under Beijing's programme before the withdrawal: moved there, it is in scope.
      const copy = recordedBy(ids.payBj!, TJ);
      const pay = copy.findIndex((e) => e.id === ids.payBj);
      const cnf = copy.findIndex((e) => e.id === ids.cnfBj);
      const moved = copy.splice(pay, cnf - pay + 1);
      copy.splice(copy.findIndex((e) => e.id === ids.grant) + 1, 0, ...moved);
      const r = await audit(copy);
      expect(r.discrepancies.listed).to.deep.equal([]);
    });
  });

  describe("when the delegation was withdrawn", () => {
    it("reports an entry recorded after the withdrawal", async () => {
      // The withdrawal placed before the delegated application.
      const copy = structuredClone(clean);
      const [withdraw] = copy.splice(copy.findIndex((e) => e.id === ids.withdraw), 1);
      copy.splice(copy.findIndex((e) => e.id === ids.appDelegated), 0, withdraw!);
      expect(scoped(await audit(copy))).to.deep.equal([[ids.appDelegated, "agency-scope"]]);
    });
  });
});
