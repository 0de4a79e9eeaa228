/**
 * The whole life of a subsidy over HTTP: programme → application → decision
 * → payout → four-eyes confirmation, then what the public sees of it, and
 * the proofs an auditor checks against the signed checkpoint.
 */
import { expect } from "chai";
import { canonicalBytes, fromHex, hashLeaf, toHex, verifyCheckpoint, verifyConsistency, verifyInclusion } from "../../service/log";
import { opens } from "../../service/records/entry";
import {
  applicationBody,
  createWorld,
  creditCode,
  decisionBody,
  expectProblem,
  get,
  ORIGIN,
  payoutBody,
  post,
  programmeBody,
  record,
  type World,
} from "./helpers";

interface Ids {
  programmeId: string;
  applicationId: string;
  decisionId: string;
  smallPayoutId: string;
  bigPayoutId: string;
  confirmationId: string;
  smallConfirmationId: string;
}

describe("HTTP API, the happy path", () => {
  let w: World;
  let ids: Ids;

  before(async () => {
    w = await createWorld();
    const programmeId = await record(w, "/v1/programmes", "admin", programmeBody({ fourEyesThresholdFen: "2000000" }));
    const applicationId = await record(w, "/v1/applications", "clerk", applicationBody(programmeId, { requestedFen: "3000000" }));
    const decisionId = await record(w, "/v1/decisions", "approver", decisionBody(applicationId, { approvedFen: "2500000" }));
    const smallPayoutId = await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "500000" }));
    const bigPayoutId = await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "2000000" }));
    const confirmationId = await record(w, "/v1/confirmations", "approver2", { payoutId: bigPayoutId });
    // The decision approves at or above the threshold, so the small payout needs a second official too.
    const smallConfirmationId = await record(w, "/v1/confirmations", "approver2", { payoutId: smallPayoutId });
    ids = { programmeId, applicationId, decisionId, smallPayoutId, bigPayoutId, confirmationId, smallConfirmationId };
  });

  describe("when an entry is recorded", () => {
    it("answers 201 with the id, kind, leaf index, the log form of the entry, a Location and (for an application) the access code", async () => {
      const programmeId = ids.programmeId;
      const res = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId, { creditCode: creditCode(99) }));
      expect(res.status).to.equal(201);
      expect(res.headers["location"]).to.equal(`/v1/entries/${res.body.id}`);
      expect(res.body).to.have.keys("id", "kind", "leafIndex", "entry", "accessCode");
      expect(res.body.accessCode).to.equal(w.accessCodes.codeFor(res.body.id));
      expect(res.body.kind).to.equal("application");
      expect(res.body.leafIndex).to.equal(7);
      expect(res.body.entry.actor).to.deep.equal({ official: "clerk.li", agency: "市工信局", role: "clerk" });
      expect(res.body.entry.body).to.not.have.key("private");
      expect(res.body.entry.commitments).to.have.keys("bankAccount", "contactPerson", "phone");
    });
  });

  describe("when the public reads an entry", () => {
    it("shows the entry, its leaf index and the derived status of its application", async () => {
      const res = await get(w, `/v1/entries/${ids.bigPayoutId}`);
      expect(res.status).to.equal(200);
      expect(res.body.leafIndex).to.equal(4);
      expect(res.body.revoked).to.equal(false);
      expect(res.body.belongsTo).to.deep.equal({ kind: "application", id: ids.applicationId, status: "paid" });
      expect(res.body.entry.body).to.deep.equal({ decisionId: ids.decisionId, amountFen: "2000000", paidOn: "2026-03-09", needsConfirmation: true });
    });

    it("shows a programme entry's programme status", async () => {
      const res = await get(w, `/v1/entries/${ids.programmeId}`);
      expect(res.body.belongsTo).to.deep.equal({ kind: "programme", id: ids.programmeId, status: "active" });
    });

    it("answers 404 problem for an unknown id and 400 for a malformed one", async () => {
      expectProblem(await get(w, `/v1/entries/app_${"0".repeat(24)}`), 404);
      expectProblem(await get(w, "/v1/entries/not-an-id"), 400);
    });
  });

  describe("when the public reads the enterprise", () => {
    it("lists every entry about it and summarises each application", async () => {
      const res = await get(w, `/v1/enterprises/${creditCode(1)}`);
      expect(res.status).to.equal(200);
      expect(res.body.entries.map((e: { entry: { id: string } }) => e.entry.id)).to.deep.equal([
        ids.applicationId,
        ids.decisionId,
        ids.smallPayoutId,
        ids.bigPayoutId,
        ids.confirmationId,
        ids.smallConfirmationId,
      ]);
      expect(res.body.next).to.equal(null);
      expect(res.body.applicationsComplete).to.equal(true);
      expect(res.body.applications).to.have.length(1);
      const app = res.body.applications[0];
      expect(app).to.deep.include({
        id: ids.applicationId,
        status: "paid",
        requestedFen: "3000000",
        approvedFen: "2500000",
        paidFen: "2500000",
        region: "110101",
        regionType: "urban-district",
        decisionId: ids.decisionId,
        corrections: [],
      });
      expect(app.programme).to.deep.include({ id: ids.programmeId, name: "中小企业数字化转型补贴" });
      expect(res.body.totals).to.deep.equal({ applications: 1, requestedFen: "3000000", approvedFen: "2500000", paidFen: "2500000" });
    });

    it("pages through the entries with after and limit", async () => {
      const first = await get(w, `/v1/enterprises/${creditCode(1)}?limit=2`);
      expect(first.body.entries).to.have.length(2);
      expect(first.body.next).to.equal(first.body.entries[1].leafIndex);
      const second = await get(w, `/v1/enterprises/${creditCode(1)}?limit=3&after=${first.body.next}`);
      expect(first.body.entries.map((e: { leafIndex: number }) => e.leafIndex)).to.deep.equal([1, 2]);
      expect(second.body.entries.map((e: { leafIndex: number }) => e.leafIndex)).to.deep.equal([3, 4, 5]);
      expect(second.body.next).to.equal(5);
      const last = await get(w, `/v1/enterprises/${creditCode(1)}?limit=2&after=5`);
      expect(last.body.entries.map((e: { leafIndex: number }) => e.leafIndex)).to.deep.equal([6]);
      expect(last.body.next).to.equal(null);
    });

    it("answers with empty lists for a valid code with no records", async () => {
      const res = await get(w, `/v1/enterprises/${creditCode(12345)}`);
      expect(res.status).to.equal(200);
      expect(res.body.entries).to.deep.equal([]);
      expect(res.body.applications).to.deep.equal([]);
    });

    it("answers 400 problem for a credit code with a wrong check character", async () => {
      const good = creditCode(1);
      const bad = good.slice(0, 17) + (good[17] === "0" ? "1" : "0");
      const body = expectProblem(await get(w, `/v1/enterprises/${bad}`), 400);
      expect((body["errors"] as { code: string }[])[0]!.code).to.equal("CREDIT_CODE_CHECK_DIGIT");
    });
  });

  describe("when the public reads programmes", () => {
    it("shows budget, approved and paid totals and the tallies by region type", async () => {
      const res = await get(w, `/v1/programmes/${ids.programmeId}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.include({
        id: ids.programmeId,
        leafIndex: 0,
        status: "active",
        budgetFen: "100000000",
        approvedFen: "2500000",
        paidFen: "2500000",
        remainingFen: "97500000",
        applications: 2,
      });
      expect(res.body.byRegion).to.deep.equal({
        "urban-district": { applications: 2, approvedFen: "2500000", paidFen: "2500000" },
        "rural-county": { applications: 0, approvedFen: "0", paidFen: "0" },
        "county-level-city": { applications: 0, approvedFen: "0", paidFen: "0" },
      });
    });

    it("lists programmes", async () => {
      const res = await get(w, "/v1/programmes");
      expect(res.status).to.equal(200);
      expect(res.body.programmes.map((p: { id: string }) => p.id)).to.deep.equal([ids.programmeId]);
      expect(res.body.next).to.equal(null);
    });

    it("answers 404 problem for an unknown programme", async () => {
      expectProblem(await get(w, `/v1/programmes/prg_${"0".repeat(24)}`), 404);
    });
  });

  describe("when an auditor reads the log", () => {
    it("serves a checkpoint signed by the log key for the current tree", async () => {
      const res = await get(w, "/v1/log/checkpoint");
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.match(/^text\/plain/);
      const cp = verifyCheckpoint(res.text, w.verifier, ORIGIN);
      expect(cp.size).to.equal(w.ledger.size);
      expect(toHex(cp.rootHash)).to.equal(toHex(w.ledger.root()));
    });

    it("serves entries whose leaf text is the exact canonical leaf data", async () => {
      const res = await get(w, "/v1/log/entries?start=0&end=100");
      expect(res.status).to.equal(200);
      expect(res.body.treeSize).to.equal(w.ledger.size);
      expect(res.body.end).to.equal(w.ledger.size);
      for (const e of res.body.entries as { leafIndex: number; leaf: string; entry: unknown }[]) {
        const stored = await w.store.leaf(e.leafIndex);
        expect(Buffer.from(e.leaf, "utf8").equals(Buffer.from(stored!.bytes))).to.equal(true);
        expect(Buffer.from(canonicalBytes(e.entry)).toString("utf8")).to.equal(e.leaf);
      }
    });

    it("clips end to the tree size and rejects bad ranges", async () => {
      const clipped = await get(w, "/v1/log/entries?start=2&end=999999");
      expect(clipped.body.end).to.equal(w.ledger.size);
      expect(clipped.body.entries[0].leafIndex).to.equal(2);
      expectProblem(await get(w, "/v1/log/entries?start=5&end=2"), 400);
      expectProblem(await get(w, `/v1/log/entries?start=${w.ledger.size + 1}`), 400);
      expectProblem(await get(w, "/v1/log/entries?start=-1"), 400);
      expectProblem(await get(w, "/v1/log/entries?start=01"), 400);
      expectProblem(await get(w, "/v1/log/entries?start=1.5"), 400);
      expectProblem(await get(w, "/v1/log/entries?start=1&start=2"), 400);
      expectProblem(await get(w, "/v1/log/entries?begin=1"), 400);
    });

    it("serves inclusion proofs that verify against the checkpoint root for every leaf", async () => {
      const size = w.ledger.size;
      const { body: log } = await get(w, `/v1/log/entries?start=0&end=${size}`);
      const cp = verifyCheckpoint((await get(w, "/v1/log/checkpoint")).text, w.verifier, ORIGIN);
      for (let index = 0; index < size; index++) {
        const res = await get(w, `/v1/log/proof/inclusion?index=${index}`);
        expect(res.status).to.equal(200);
        expect(res.body.size).to.equal(size);
        const leafHash = hashLeaf(new TextEncoder().encode(log.entries[index].leaf));
        expect(res.body.leafHash).to.equal(toHex(leafHash));
        expect(res.body.rootHash).to.equal(toHex(cp.rootHash));
        verifyInclusion(leafHash, index, size, cp.rootHash, res.body.proof.map(fromHex));
      }
    });

    it("serves inclusion proofs for earlier tree sizes", async () => {
      for (let size = 1; size <= w.ledger.size; size++) {
        for (let index = 0; index < size; index++) {
          const res = await get(w, `/v1/log/proof/inclusion?index=${index}&size=${size}`);
          verifyInclusion(fromHex(res.body.leafHash), index, size, fromHex(res.body.rootHash), res.body.proof.map(fromHex));
        }
      }
    });

    it("serves consistency proofs that verify between every pair of sizes", async () => {
      const size = w.ledger.size;
      for (let from = 0; from <= size; from++) {
        for (let to = from; to <= size; to++) {
          const res = await get(w, `/v1/log/proof/consistency?from=${from}&to=${to}`);
          expect(res.status).to.equal(200);
          verifyConsistency(from, to, fromHex(res.body.fromRootHash), fromHex(res.body.toRootHash), res.body.proof.map(fromHex));
        }
      }
    });

    it("answers 400 problem for proofs outside the tree", async () => {
      const size = w.ledger.size;
      expectProblem(await get(w, `/v1/log/proof/inclusion?index=${size}`), 400);
      expectProblem(await get(w, `/v1/log/proof/inclusion?index=0&size=${size + 1}`), 400);
      expectProblem(await get(w, "/v1/log/proof/inclusion?index=3&size=3"), 400);
      expectProblem(await get(w, "/v1/log/proof/inclusion"), 400);
      expectProblem(await get(w, "/v1/log/proof/consistency?from=3&to=2"), 400);
      expectProblem(await get(w, `/v1/log/proof/consistency?from=0&to=${size + 1}`), 400);
      expectProblem(await get(w, "/v1/log/proof/consistency?from=x"), 400);
    });
  });

  describe("when an approver or payer reads private values", () => {
    it("returns the openings, and they open the commitments in the log", async () => {
      const res = await get(w, `/v1/entries/${ids.applicationId}/private`, w.tokens.payer);
      expect(res.status).to.equal(200);
      expect(res.headers["cache-control"]).to.equal("no-store");
      expect(res.body.openings.bankAccount.value).to.equal("6222020200112233");
      for (const [field, opening] of Object.entries(res.body.openings as Record<string, { value: string; salt: string }>))
        expect(opens(res.body.commitments[field], opening), field).to.equal(true);
    });

    it("returns null openings for an entry without private values", async () => {
      const res = await get(w, `/v1/entries/${ids.decisionId}/private`, w.tokens.approver);
      expect(res.status).to.equal(200);
      expect(res.body.openings).to.equal(null);
    });

    it("refuses a clerk (403) and the public (401)", async () => {
      expectProblem(await get(w, `/v1/entries/${ids.applicationId}/private`, w.tokens.clerk), 403);
      expectProblem(await get(w, `/v1/entries/${ids.applicationId}/private`), 401);
    });
  });

  describe("when health is asked", () => {
    it("reports ok and the tree size", async () => {
      const res = await get(w, "/v1/health");
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ ok: true, treeSize: w.ledger.size });
    });
  });
});

describe("HTTP API, derived application status", () => {
  let w: World;
  beforeEach(async () => {
    w = await createWorld();
  });

  const statusOf = async (applicationId: string) => (await get(w, `/v1/entries/${applicationId}`)).body.belongsTo.status as string;

  describe("when an application has no decision", () => {
    it("is pending", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      expect(await statusOf(app)).to.equal("pending");
    });
  });

  describe("when it is rejected", () => {
    it("is rejected", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      await record(w, "/v1/decisions", "approver", decisionBody(app, { outcome: "rejected", approvedFen: "0" }));
      expect(await statusOf(app)).to.equal("rejected");
    });
  });

  describe("when it is approved and paid in part", () => {
    it("goes approved → partially-paid → paid, counting each payout under a large approval only once confirmed", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody({ fourEyesThresholdFen: "1000000" }));
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      const dec = await record(w, "/v1/decisions", "approver", decisionBody(app, { approvedFen: "1500000" }));
      expect(await statusOf(app)).to.equal("approved");
      const small = await record(w, "/v1/payouts", "payer", payoutBody(dec, { amountFen: "500000" }));
      expect(await statusOf(app)).to.equal("approved");
      await record(w, "/v1/confirmations", "approver", { payoutId: small });
      expect(await statusOf(app)).to.equal("partially-paid");
      const big = await record(w, "/v1/payouts", "payer", payoutBody(dec, { amountFen: "1000000" }));
      expect(await statusOf(app)).to.equal("partially-paid");
      await record(w, "/v1/confirmations", "approver", { payoutId: big });
      expect(await statusOf(app)).to.equal("paid");
    });
  });

  describe("when its decision is revoked", () => {
    it("is corrected, and the enterprise view lists the correction with its reason", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      const dec = await record(w, "/v1/decisions", "approver", decisionBody(app));
      const cor = await record(w, "/v1/corrections", "approver2", { targetId: dec, reasonCode: "revoked", reasonText: "审批依据有误" });
      expect(await statusOf(app)).to.equal("corrected");
      const decEntry = await get(w, `/v1/entries/${dec}`);
      expect(decEntry.body.revoked).to.equal(true);
      const ent = await get(w, `/v1/enterprises/${creditCode(1)}`);
      expect(ent.body.applications[0].status).to.equal("corrected");
      expect(ent.body.applications[0].approvedFen).to.equal("0");
      expect(ent.body.applications[0].corrections).to.have.length(1);
      expect(ent.body.applications[0].corrections[0]).to.deep.include({ id: cor, targetId: dec, targetKind: "decision", reasonCode: "revoked", reasonText: "审批依据有误" });
      const prgView = await get(w, `/v1/programmes/${prg}`);
      expect(prgView.body.approvedFen).to.equal("0");
    });
  });

  describe("when the application itself is revoked", () => {
    it("is corrected and leaves the enterprise totals", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      await record(w, "/v1/corrections", "approver", { targetId: app, reasonCode: "revoked", reasonText: "重复申报" });
      expect(await statusOf(app)).to.equal("corrected");
      const ent = await get(w, `/v1/enterprises/${creditCode(1)}`);
      expect(ent.body.totals.applications).to.equal(0);
    });
  });

  describe("when a payout is clawed back", () => {
    it("lists the clawback amount with the correction", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      const dec = await record(w, "/v1/decisions", "approver", decisionBody(app));
      const pay = await record(w, "/v1/payouts", "payer", payoutBody(dec, { amountFen: "1000000" }));
      await record(w, "/v1/corrections", "approver", { targetId: pay, reasonCode: "clawback", reasonText: "超额拨付", clawbackFen: "400000" });
      const ent = await get(w, `/v1/enterprises/${creditCode(1)}`);
      expect(ent.body.applications[0].paidFen).to.equal("600000");
      expect(ent.body.applications[0].status).to.equal("partially-paid");
      expect(ent.body.applications[0].corrections[0]).to.deep.include({ targetKind: "payout", reasonCode: "clawback", clawbackFen: "400000" });
    });
  });

  describe("when applications come from different region types", () => {
    it("tallies them by region type on the programme", async () => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const rural = await record(w, "/v1/applications", "clerk", applicationBody(prg, { region: "130123", creditCode: creditCode(2) }));
      await record(w, "/v1/applications", "clerk", applicationBody(prg, { region: "130181", creditCode: creditCode(3) }));
      await record(w, "/v1/decisions", "approver", decisionBody(rural, { approvedFen: "1000000" }));
      const res = await get(w, `/v1/programmes/${prg}`);
      expect(res.body.byRegion).to.deep.equal({
        "urban-district": { applications: 0, approvedFen: "0", paidFen: "0" },
        "rural-county": { applications: 1, approvedFen: "1000000", paidFen: "0" },
        "county-level-city": { applications: 1, approvedFen: "0", paidFen: "0" },
      });
    });
  });
});

describe("HTTP API, health", () => {
  describe("when the health check reports a problem", () => {
    it("answers 503 with the report", async () => {
      const w = await createWorld({ health: async () => ({ ok: false, store: "unreachable" }) });
      const res = await get(w, "/v1/health");
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.equal({ ok: false, store: "unreachable" });
    });
  });

  describe("when the health check itself fails", () => {
    it("answers 503 problem+json without its message", async () => {
      const w = await createWorld({
        health: async () => {
          throw new Error("disk /var/lib/ledger is on fire");
        },
      });
      const res = await get(w, "/v1/health");
      expectProblem(res, 503);
      expect(res.text).to.not.contain("fire");
    });
  });
});
