/**
 * Receipts over HTTP: the public receipt, the enterprise receipt with its
 * access code, and what a verifier needs besides (the log key, the chain).
 * Anchoring is faked here (a checkpoint "anchored" on demand, signed with the
 * world's log key); receipts anchored on a real chain are tested in
 * test/service/receipts.test.ts.
 */
import { expect } from "chai";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import type { AnchoringInfo } from "../../service/http/receipts";
import { parseVerifierKey, signCheckpoint, toHex, verifyReceipt, VerificationError, type Receipt } from "../../service/log";
import {
  applicationBody,
  approvedApplication,
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
  newKey,
  type World,
} from "./helpers";
import request from "supertest";

const CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A world whose anchoring the test drives: `anchor()` anchors the current tree. */
async function anchoredWorld(): Promise<{ w: World; anchor: () => AnchoredPoint }> {
  let anchored: AnchoredPoint | null = null;
  let index = -1;
  const anchoring: AnchoringInfo = { chainId: 31337, contract: CONTRACT, fromBlock: 1, retryAfterSeconds: 2, anchored: () => anchored, cited: () => anchored };
  const w = await createWorld({ anchoring });
  return {
    w,
    anchor: () => {
      const size = w.ledger.size;
      const rootHash = w.ledger.root();
      index += 1;
      anchored = {
        chainId: 31337,
        contract: CONTRACT,
        size,
        rootHex: `0x${toHex(rootHash)}`,
        checkpointIndex: index,
        txHash: `0x${"ab".repeat(32)}`,
        blockNumber: 10 + index,
        anchoredAt: "2026-03-10T02:00:01Z",
        signedCheckpoint: signCheckpoint({ origin: ORIGIN, size, rootHash, extensions: [] }, w.noteSigner),
      };
      return anchored;
    },
  };
}

function receiptOf(res: request.Response): Receipt {
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as Receipt;
}

describe("HTTP API, receipts", function () {
  describe("the public receipt", function () {
    it("is 409 not-yet-anchored with Retry-After until a checkpoint covers the entry, then verifies", async function () {
      const { w, anchor } = await anchoredWorld();
      const { applicationId } = await approvedApplication(w);
      const early = expectProblem(await get(w, `/v1/entries/${applicationId}/receipt`), 409);
      expect(early["type"]).to.match(/not-yet-anchored$/);
      expect(early["detail"]).to.match(/not under a published checkpoint yet .* the published size is \d+/);
      expect((await get(w, `/v1/entries/${applicationId}/receipt`)).headers["retry-after"]).to.equal("2");

      const point = anchor();
      const res = await get(w, `/v1/entries/${applicationId}/receipt`);
      expect(res.headers["content-disposition"]).to.contain(`receipt-${applicationId}.json`);
      const receipt = receiptOf(res);
      const check = verifyReceipt(receipt, { verifiers: w.verifier });
      expect(check.chainClaim).to.deep.equal({ chainId: 31337, contract: CONTRACT, checkpointIndex: 0, size: point.size, rootHex: point.rootHex });
      expect(receipt).to.not.have.property("openings");
      expect(receipt.entry["id"]).to.equal(applicationId);
    });

    it("proves inclusion in the anchored tree, not the newer unanchored one", async function () {
      const { w, anchor } = await anchoredWorld();
      const { applicationId } = await approvedApplication(w);
      const point = anchor();
      await record(w, "/v1/payouts", "payer", payoutBody((await approvedApplication(w)).decisionId));
      expect(w.ledger.size).to.be.greaterThan(point.size);
      const check = verifyReceipt(receiptOf(await get(w, `/v1/entries/${applicationId}/receipt`)), { verifiers: w.verifier });
      expect(check.checkpoint.size).to.equal(point.size);
    });

    it("fails verification when anything in it is changed", async function () {
      const { w, anchor } = await anchoredWorld();
      const { decisionId } = await approvedApplication(w);
      await approvedApplication(w);
      anchor();
      const good = receiptOf(await get(w, `/v1/entries/${decisionId}/receipt`));
      const bad = JSON.parse(JSON.stringify(good)) as { entry: { body: Record<string, unknown> } };
      bad.entry.body["approvedFen"] = "1";
      expect(() => verifyReceipt(bad, { verifiers: w.verifier })).to.throw(VerificationError);
    });

    it("is 404 for an unknown entry and 400 for a malformed id", async function () {
      const { w, anchor } = await anchoredWorld();
      await approvedApplication(w);
      anchor();
      expectProblem(await get(w, `/v1/entries/app_${"0".repeat(24)}/receipt`), 404);
      expectProblem(await get(w, "/v1/entries/nope/receipt"), 400);
    });

    it("is 503 anchoring-off when the service runs without a chain, and /v1/chain is 404", async function () {
      const w = await createWorld();
      const { applicationId } = await approvedApplication(w);
      const body = expectProblem(await get(w, `/v1/entries/${applicationId}/receipt`), 503);
      expect(body["type"]).to.match(/anchoring-off$/);
      expectProblem(await get(w, "/v1/chain"), 404);
    });
  });

  describe("the enterprise receipt", function () {
    let w: World;
    let ids: { programmeId: string; applicationId: string; decisionId: string; payoutId: string; otherApplicationId: string };
    let code: string;
    let otherCode: string;

    before(async function () {
      const world = await anchoredWorld();
      w = world.w;
      const programmeId = await record(w, "/v1/programmes", "admin", programmeBody());
      const appRes = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId));
      expect(appRes.status).to.equal(201);
      const applicationId = appRes.body.id as string;
      code = appRes.body.accessCode as string;
      const otherRes = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId, { creditCode: creditCode(2) }));
      otherCode = otherRes.body.accessCode as string;
      const decisionId = await record(w, "/v1/decisions", "approver", decisionBody(applicationId));
      const payoutId = await record(w, "/v1/payouts", "payer", payoutBody(decisionId));
      ids = { programmeId, applicationId, decisionId, payoutId, otherApplicationId: otherRes.body.id as string };
      world.anchor();
    });

    const withCode = (id: string, c: string) => request(w.app).get(`/v1/entries/${id}/receipt/private`).set("X-Access-Code", c);

    it("is given out as accessCode when the application is recorded, and only then", async function () {
      expect(code).to.match(/^ac_[A-Za-z0-9_-]{22}$/);
      expect(otherCode).to.match(/^ac_/).and.not.equal(code);
      const dec = await post(w, "/v1/decisions", w.tokens.approver, decisionBody(ids.otherApplicationId, { outcome: "rejected", approvedFen: "0" }));
      expect(dec.body).to.not.have.property("accessCode");
    });

    it("carries the private values, which verify against the entry's commitments", async function () {
      const receipt = receiptOf(await withCode(ids.applicationId, code));
      expect(Object.keys(receipt.openings ?? {})).to.have.length.greaterThan(0);
      const check = verifyReceipt(receipt, { verifiers: w.verifier });
      expect(check.opened).to.deep.equal(Object.keys(receipt.openings!).sort());
      expect(check.opened).to.deep.equal(Object.keys(receipt.entry["commitments"] as object).sort());
    });

    it("opens every entry of the application with the same code: decision and payout", async function () {
      for (const id of [ids.decisionId, ids.payoutId]) {
        const receipt = receiptOf(await withCode(id, code));
        verifyReceipt(receipt, { verifiers: w.verifier });
      }
      const payout = receiptOf(await withCode(ids.payoutId, code));
      expect(Object.keys(payout.openings ?? {})).to.deep.equal(["bankTransactionRef"]);
    });

    it("refuses another application's code, a malformed code, and the programme (403)", async function () {
      expectProblem(await withCode(ids.applicationId, otherCode), 403);
      expectProblem(await withCode(ids.payoutId, otherCode), 403);
      expectProblem(await withCode(ids.applicationId, `${code.slice(0, -1)}${code.endsWith("A") ? "B" : "A"}`), 403);
      expectProblem(await withCode(ids.applicationId, "letmein"), 403);
      expectProblem(await withCode(ids.programmeId, code), 403);
    });

    it("needs a code or a token (401), and a token of a role that may read private values (403)", async function () {
      expectProblem(await get(w, `/v1/entries/${ids.applicationId}/receipt/private`), 401);
      expectProblem(await get(w, `/v1/entries/${ids.applicationId}/receipt/private`, w.tokens.clerk), 403);
      const receipt = receiptOf(await get(w, `/v1/entries/${ids.applicationId}/receipt/private`, w.tokens.approver));
      expect(receipt.openings).to.not.equal(undefined);
    });

    it("is not cached", async function () {
      const res = await withCode(ids.applicationId, code);
      expect(res.headers["cache-control"]).to.match(/no-store/);
    });

    it("gives the same code on an idempotent replay of the application", async function () {
      const programmeId = ids.programmeId;
      const key = newKey();
      const body = applicationBody(programmeId, { creditCode: creditCode(3) });
      const first = await post(w, "/v1/applications", w.tokens.clerk, body, key);
      const again = await post(w, "/v1/applications", w.tokens.clerk, body, key);
      expect(again.headers["idempotent-replayed"]).to.equal("true");
      expect(again.body.accessCode).to.equal(first.body.accessCode).and.match(/^ac_/);
    });

    it("can be re-issued by an admin, and only an admin", async function () {
      const res = await get(w, `/v1/applications/${ids.applicationId}/access-code`, w.tokens.admin);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ applicationId: ids.applicationId, accessCode: code });
      expectProblem(await get(w, `/v1/applications/${ids.applicationId}/access-code`, w.tokens.approver), 403);
      expectProblem(await get(w, `/v1/applications/${ids.decisionId}/access-code`, w.tokens.admin), 404);
    });

    it("never writes a code into the access log", async function () {
      const all = w.logLines.join("\n");
      expect(all).to.not.contain(code);
      expect(all).to.not.contain(otherCode);
    });
  });

  describe("what a verifier needs besides", function () {
    it("GET /v1/log/key serves the key that verifies the receipts", async function () {
      const { w, anchor } = await anchoredWorld();
      const { applicationId } = await approvedApplication(w);
      anchor();
      const keyText = (await get(w, "/v1/log/key")).text.trim();
      expect(keyText).to.equal(w.logKey);
      verifyReceipt(receiptOf(await get(w, `/v1/entries/${applicationId}/receipt`)), { verifiers: parseVerifierKey(keyText) });
    });

    it("GET /v1/chain names the contract and the latest anchored checkpoint", async function () {
      const { w, anchor } = await anchoredWorld();
      expect((await get(w, "/v1/chain")).body).to.deep.equal({ chainId: 31337, contract: CONTRACT, fromBlock: 1, anchored: null });
      await approvedApplication(w);
      const p = anchor();
      expect((await get(w, "/v1/chain")).body.anchored).to.deep.equal({
        size: p.size,
        rootHex: p.rootHex,
        checkpointIndex: 0,
        txHash: p.txHash,
        blockNumber: p.blockNumber,
        anchoredAt: p.anchoredAt,
      });
    });
  });
});
