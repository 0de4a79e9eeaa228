/**
 * Idempotency-Key: a retried POST records at most one entry, whatever
 * happens to the first attempt (answered, lost, or failed in the store).
 */
import { expect } from "chai";
import request from "supertest";
import { createToken } from "../../service/auth/tokens";
import { MemoryStore } from "../../service/store/memory";
import {
  applicationBody,
  createWorld,
  creditCode,
  decisionBody,
  expectProblem,
  get,
  newKey,
  post,
  programmeBody,
  record,
  type World,
} from "./helpers";

describe("HTTP API, idempotency", () => {
  let w: World;
  let programmeId: string;
  beforeEach(async () => {
    w = await createWorld();
    programmeId = await record(w, "/v1/programmes", "admin", programmeBody());
  });

  const enterpriseEntries = async () => (await get(w, `/v1/enterprises/${creditCode(1)}`)).body.entries.length as number;

  describe("when the same key is sent again with the same body", () => {
    it("answers the first response again, marked Idempotent-Replayed, and appends exactly one entry", async () => {
      const key = newKey();
      const body = applicationBody(programmeId);
      const first = await post(w, "/v1/applications", w.tokens.clerk, body, key);
      expect(first.status).to.equal(201);
      expect(first.headers["idempotent-replayed"]).to.equal(undefined);
      const size = w.ledger.size;
      const second = await post(w, "/v1/applications", w.tokens.clerk, body, key);
      expect(second.status).to.equal(201);
      expect(second.headers["idempotent-replayed"]).to.equal("true");
      expect(second.headers["location"]).to.equal(first.headers["location"]);
      expect(second.body).to.deep.equal(first.body);
      expect(w.ledger.size).to.equal(size);
      expect(await enterpriseEntries()).to.equal(1);
    });

    it("treats a body with reordered keys and other whitespace as the same request (RFC 8785)", async () => {
      const key = newKey();
      const body = applicationBody(programmeId);
      const first = await post(w, "/v1/applications", w.tokens.clerk, body, key);
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const res = await request(w.app)
        .post("/v1/applications")
        .set("Content-Type", "application/json")
        .set("Authorization", `Bearer ${w.tokens.clerk}`)
        .set("Idempotency-Key", key)
        .send(JSON.stringify(reordered, null, 4));
      expect(res.status).to.equal(201);
      expect(res.headers["idempotent-replayed"]).to.equal("true");
      expect(res.body.id).to.equal(first.body.id);
      expect(await enterpriseEntries()).to.equal(1);
    });

    it("records one entry when both requests arrive together", async () => {
      const key = newKey();
      const body = applicationBody(programmeId);
      const [a, b] = await Promise.all([post(w, "/v1/applications", w.tokens.clerk, body, key), post(w, "/v1/applications", w.tokens.clerk, body, key)]);
      expect([a.status, b.status]).to.deep.equal([201, 201]);
      expect(a.body.id).to.equal(b.body.id);
      expect([a.headers["idempotent-replayed"], b.headers["idempotent-replayed"]].filter((h) => h === "true")).to.have.length(1);
      expect(await enterpriseEntries()).to.equal(1);
    });
  });

  describe("when the same key is sent with a different request", () => {
    it("answers 422 problem for a different body and appends nothing", async () => {
      const key = newKey();
      expect((await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key)).status).to.equal(201);
      const size = w.ledger.size;
      const res = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId, { requestedFen: "3000001" }), key);
      const problem = expectProblem(res, 422);
      expect(problem["type"]).to.equal("urn:subsidy-ledger:problem:idempotency-key-reused");
      expect(w.ledger.size).to.equal(size);
    });

    it("answers 422 problem for the same key on another path", async () => {
      const app = await record(w, "/v1/applications", "clerk", applicationBody(programmeId));
      const key = newKey();
      expect((await post(w, "/v1/decisions", w.tokens.approver, decisionBody(app), key)).status).to.equal(201);
      const size = w.ledger.size;
      expectProblem(await post(w, "/v1/corrections", w.tokens.approver, { targetId: app, reasonCode: "revoked", reasonText: "x" }, key), 422);
      expect(w.ledger.size).to.equal(size);
    });
  });

  describe("when two tokens use the same key", () => {
    it("keeps them apart: each records its own entry", async () => {
      const other = await createToken(w.store, w.clock, { official: "clerk.wu", agency: "市工信局", role: "clerk" });
      const key = newKey();
      const a = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key);
      const b = await post(w, "/v1/applications", other.token, applicationBody(programmeId), key);
      expect([a.status, b.status]).to.deep.equal([201, 201]);
      expect(a.body.id).to.not.equal(b.body.id);
      expect(b.headers["idempotent-replayed"]).to.equal(undefined);
    });
  });

  describe("when the key is missing or invalid", () => {
    const cases: readonly [string, string | null][] = [
      ["missing", null],
      ["empty", ""],
      ["256 characters long", "k".repeat(256)],
      ["not ASCII", "clé"],
    ];
    for (const [desc, key] of cases) {
      it(`answers 400 problem when it is ${desc}, and appends nothing`, async () => {
        const size = w.ledger.size;
        expectProblem(await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key), 400);
        expect(w.ledger.size).to.equal(size);
      });
    }

    it("accepts a key of 255 printable characters, spaces included", async () => {
      const key = `a b~${"x".repeat(251)}`;
      expect((await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key)).status).to.equal(201);
    });
  });

  describe("when the store fails", () => {
    it("answers 503 problem and appends nothing when the write fails; a retry with the same key records it", async () => {
      (w.store as MemoryStore).injectFault("fail-before-persist");
      const key = newKey();
      const size = w.ledger.size;
      const res = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key);
      const problem = expectProblem(res, 503);
      expect(problem["detail"]).to.not.contain("injected");
      expect(res.headers["retry-after"]).to.equal("5");
      expect(w.ledger.size).to.equal(size);
      expect((await w.store.head()).size).to.equal(size);
      const retry = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key);
      expect(retry.status).to.equal(201);
      expect(retry.headers["idempotent-replayed"]).to.equal(undefined);
      expect(w.ledger.size).to.equal(size + 1);
    });

    it("answers 503 when the write landed but was not acknowledged; the retry replays the stored response", async () => {
      (w.store as MemoryStore).injectFault("fail-after-persist");
      const key = newKey();
      expectProblem(await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key), 503);
      const retry = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(programmeId), key);
      expect(retry.status).to.equal(201);
      expect(retry.headers["idempotent-replayed"]).to.equal("true");
      expect(await enterpriseEntries()).to.equal(1);
      expect((await get(w, `/v1/entries/${retry.body.id}`)).status).to.equal(200);
    });
  });
});
