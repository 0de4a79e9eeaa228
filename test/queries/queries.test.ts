/**
 * The read model (service/queries): what it derives from the store's log and
 * state, and that it shows nothing past the ledger's durable size.
 */
import { expect } from "chai";
import { Queries } from "../../service/queries/queries";
import { applicationStatus } from "../../service/queries/status";
import { ACTORS, creditCode, Harness } from "../helpers/ledger-fixtures";

async function world(): Promise<{ h: Harness; q: Queries }> {
  const h = await Harness.open();
  return { h, q: new Queries({ store: h.store, size: () => h.ledger.size }) };
}

describe("the read model", function () {
  describe("an entry", function () {
    it("is undefined for an id the log does not hold", async function () {
      const { q } = await world();
      expect(await q.entry("app_000000000000000000000000")).to.equal(undefined);
    });

    it("belongs to its application, with the application's derived status", async function () {
      const { h, q } = await world();
      const { applicationId, decisionId } = await h.approved();
      const found = await q.entry(decisionId);
      expect(found?.leaf.id).to.equal(decisionId);
      expect(found?.revoked).to.equal(false);
      expect(found?.belongsTo).to.deep.equal({ kind: "application", id: applicationId, status: "approved" });
    });

    it("is revoked once a correction revokes it, and the correction belongs to the same application", async function () {
      const { h, q } = await world();
      const { applicationId, decisionId } = await h.approved();
      const correctionId = await h.correction(decisionId, "revoked");
      expect((await q.entry(decisionId))?.revoked).to.equal(true);
      expect((await q.entry(correctionId))?.belongsTo).to.deep.equal({ kind: "application", id: applicationId, status: "corrected" });
      expect(await q.applicationOf(correctionId)).to.equal(applicationId);
    });

    it("of a programme belongs to the programme itself", async function () {
      const { h, q } = await world();
      const programmeId = await h.programme();
      expect((await q.entry(programmeId))?.belongsTo).to.deep.equal({ kind: "programme", id: programmeId, status: "active" });
      expect(await q.applicationOf(programmeId)).to.equal(null);
    });
  });

  describe("an enterprise", function () {
    it("sums its live applications, lists every one with its corrections, and pages its entries", async function () {
      const { h, q } = await world();
      const programmeId = await h.programme();
      const a1 = await h.application(programmeId, { requestedFen: "1000" });
      const d1 = await h.decision(a1, { approvedFen: "800" });
      const a2 = await h.application(programmeId, { requestedFen: "500" });
      const c2 = await h.correction(a2, "revoked");
      const e = await q.enterprise(creditCode(1), { limit: 2 });
      expect(e.totals).to.deep.equal({ applications: 1, requestedFen: "1000", approvedFen: "800", paidFen: "0" });
      expect(e.applications.map((a) => [a.application.id, a.status, a.approvedFen])).to.deep.equal([
        [a1, "approved", "800"],
        [a2, "corrected", "0"],
      ]);
      expect(e.applications[1]!.corrections.map((c) => [c.leaf.id, c.targetId, c.targetKind])).to.deep.equal([[c2, a2, "application"]]);
      expect(e.entries.items.map((l) => l.id)).to.deep.equal([a1, d1]);
      expect(e.entries.next).to.equal(e.entries.items[1]!.index);
      expect(e.complete).to.equal(true);
    });
  });

  describe("a programme", function () {
    it("has as remaining budget what its approvals have not taken", async function () {
      const { h, q } = await world();
      const { programmeId } = await h.approved({ programme: { budgetFen: "10000" }, application: { requestedFen: "3000" }, decision: { approvedFen: "2500" } });
      const found = await q.programme(programmeId);
      expect(found?.programme.approvedFen).to.equal("2500");
      expect(found?.remainingFen).to.equal("7500");
    });
  });

  describe("when the store holds a leaf the ledger has not acknowledged yet", function () {
    // The store's index can list a leaf whose commit is on disk before the sequencer's size moves past it.
    async function ahead() {
      const { h } = await world();
      const programmeId = await h.programme();
      const appId = await h.application(programmeId);
      const laterProgramme = await h.programme({ code: "LATER-2026" });
      const laterApp = await h.application(programmeId);
      const size = h.ledger.size;
      return { q: new Queries({ store: h.store, size: () => size - 2 }), programmeId, appId, laterProgramme, laterApp };
    }

    it("leaves it out of an enterprise's entries and summary, instead of failing", async function () {
      const { q, appId } = await ahead();
      const e = await q.enterprise(creditCode(1), { limit: 10 });
      expect(e.entries.items.map((l) => l.id)).to.deep.equal([appId]);
      expect(e.applications.map((a) => a.application.id)).to.deep.equal([appId]);
    });

    it("leaves it out of the programme list, and does not find it by id", async function () {
      const { q, programmeId, laterProgramme, laterApp } = await ahead();
      const page = await q.programmes({ limit: 10 });
      expect(page.items.map((p) => p.programme.id)).to.deep.equal([programmeId]);
      expect(page.next).to.equal(null);
      expect(await q.programme(laterProgramme)).to.equal(undefined);
      expect(await q.entry(laterApp)).to.equal(undefined);
    });
  });

  describe("an admin's token scope", function () {
    it("is deployment-wide (null) until the admin's agency is registered, then that agency", async function () {
      const { h, q } = await world();
      const agencyAdmin = { official: "admin.hb", agency: "130000-FGW", role: "admin" } as const;
      expect(await q.adminScope(agencyAdmin)).to.equal(null);
      await h.record(ACTORS.admin, "agency", { code: "130000-FGW", name: "河北省发展和改革委员会" });
      expect(await q.adminScope(agencyAdmin)).to.equal("130000-FGW");
      expect(await q.adminScope(ACTORS.admin), "an admin of free text stays deployment-wide").to.equal(null);
    });
  });

  describe("an application's status", function () {
    it("is pending without a decision and corrected once revoked", async function () {
      const { h } = await world();
      const programmeId = await h.programme();
      const appId = await h.application(programmeId, {}, ACTORS.clerkA);
      const app = await h.state(appId, "application");
      expect(applicationStatus(app, undefined)).to.equal("pending");
      expect(applicationStatus({ ...app, revoked: true }, undefined)).to.equal("corrected");
    });
  });
});
