/**
 * POST /v1/batch: several records in one request, appended atomically.
 */
import { expect } from "chai";
import { verifyInclusion, fromHex, encodeEntry, hashLeaf } from "../../service/log";
import { MAX_BATCH_RECORDS } from "../../service/records/schemas";
import { applicationBody, createWorld, creditCode, expectProblem, get, newKey, post, programmeBody, record, type World } from "./helpers";

describe("HTTP API, batch recording", () => {
  let w: World;
  let programmeId: string;
  beforeEach(async () => {
    w = await createWorld();
    programmeId = await record(w, "/v1/programmes", "admin", programmeBody());
  });

  const applications = (n: number, from = 10) =>
    Array.from({ length: n }, (_, i) => ({ kind: "application", body: applicationBody(programmeId, { creditCode: creditCode(from + i) }) }));

  describe("when every record is accepted", () => {
    it("records them in order, contiguously, in one durable commit, each verifiable in the log", async () => {
      const size = w.ledger.size;
      const res = await post(w, "/v1/batch", w.tokens.clerk, { records: applications(5) });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const results = res.body.results as { id: string; leafIndex: number; entry: { v: number } }[];
      expect(results.map((r) => r.leafIndex)).to.deep.equal([size, size + 1, size + 2, size + 3, size + 4]);
      expect(w.ledger.size).to.equal(size + 5);
      for (const r of results) {
        const proof = (await get(w, `/v1/log/proof/inclusion?index=${r.leafIndex}&size=${w.ledger.size}`)).body;
        verifyInclusion(hashLeaf(encodeEntry(r.entry)), r.leafIndex, w.ledger.size, fromHex(proof.rootHash), proof.proof.map(fromHex));
        expect((await get(w, `/v1/entries/${r.id}`)).status).to.equal(200);
      }
    });

    it("lets a later record build on an earlier one of the same batch", async () => {
      const first = await post(w, "/v1/batch", w.tokens.clerk, { records: applications(1) });
      const applicationId = first.body.results[0].id as string;
      const res = await post(w, "/v1/batch", w.tokens.approver, {
        records: [
          { kind: "decision", body: { applicationId, outcome: "approved", approvedFen: "1000000", reason: "符合条件" } },
          { kind: "correction", body: { targetId: applicationId, reasonCode: "data-entry-error", reasonText: "名称笔误", replacement: { enterpriseName: "更正后的名称有限公司" } } },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.results.map((r: { kind: string }) => r.kind)).to.deep.equal(["decision", "correction"]);
    });

    it("replays the same response for the same key and body, appending nothing more", async () => {
      const key = newKey();
      const body = { records: applications(3) };
      const first = await post(w, "/v1/batch", w.tokens.clerk, body, key);
      const size = w.ledger.size;
      const again = await post(w, "/v1/batch", w.tokens.clerk, body, key);
      expect(again.status).to.equal(201);
      expect(again.headers["idempotent-replayed"]).to.equal("true");
      expect(again.body).to.deep.equal(first.body);
      expect(w.ledger.size).to.equal(size);
    });
  });

  describe("when one record is refused", () => {
    it("appends none of them and names the refused record and its rule", async () => {
      const size = w.ledger.size;
      const records = [...applications(2), { kind: "application", body: applicationBody(programmeId, { requestedFen: "0" }) }, ...applications(1, 50)];
      const res = await post(w, "/v1/batch", w.tokens.clerk, { records });
      const problem = expectProblem(res, 422);
      expect(problem["record"]).to.equal(2);
      expect(problem["rule"]).to.equal("amount-positive");
      expect(String(problem["detail"])).to.match(/^record 2: /);
      expect(w.ledger.size).to.equal(size);
      expect((await get(w, `/v1/enterprises/${creditCode(10)}`)).body.entries).to.have.length(0);
    });

    it("refuses with 403, appending nothing, a record the token's role may not make", async () => {
      const size = w.ledger.size;
      const res = await post(w, "/v1/batch", w.tokens.clerk, { records: [...applications(1), { kind: "programme", body: programmeBody() }] });
      expect(String(expectProblem(res, 403)["detail"])).to.include("record 1");
      expect(w.ledger.size).to.equal(size);
    });
  });

  describe("when the body is malformed", () => {
    for (const [what, body] of [
      ["no records", { records: [] }],
      ["too many records", { records: applications(MAX_BATCH_RECORDS + 1) }],
      ["an unknown kind", { records: [{ kind: "grant", body: {} }] }],
      ["an unknown field", { records: applications(1), note: "x" }],
      ["a record with an invalid body", { records: [{ kind: "application", body: { programmeId } }] }],
    ] as const)
      it(`answers 400 for ${what}, appending nothing`, async () => {
        const size = w.ledger.size;
        expectProblem(await post(w, "/v1/batch", w.tokens.clerk, body), 400);
        expect(w.ledger.size).to.equal(size);
      });

    it("answers 400 without an Idempotency-Key", async () => {
      expectProblem(await post(w, "/v1/batch", w.tokens.clerk, { records: applications(1) }, null), 400);
    });
  });
});
