/**
 * While recording is halted (anchoring fatally stopped: the ledger's halt),
 * every recording route answers 503 problem+json with the halt's `rule` and a
 * Retry-After, and nothing is appended; reads still answer, and recording
 * works again once the ledger resumes.
 */
import { expect } from "chai";
import { toProblem } from "../../service/http/problem";
import { BatchRecordRejected, LedgerHaltedError } from "../../service/ledger/ledger";
import type { MemoryStore } from "../../service/store/memory";
import { applicationBody, approvedApplication, createWorld, decisionBody, expectProblem, get, payoutBody, post, programmeBody, type Holder, type World } from "./helpers";

const RULE = "chain-ahead-of-log";
const MESSAGE = "the chain holds a checkpoint of size 71 the log cannot reach";

describe("HTTP API, while recording is halted", () => {
  let w: World;
  let ids: { programmeId: string; applicationId: string; decisionId: string };
  before(async () => {
    w = await createWorld();
    ids = await approvedApplication(w);
  });
  afterEach(() => w.ledger.resume());

  const ROUTES: readonly { path: string; as: Holder; body: () => unknown }[] = [
    { path: "/v1/programmes", as: "admin", body: () => programmeBody() },
    { path: "/v1/applications", as: "clerk", body: () => applicationBody(ids.programmeId) },
    { path: "/v1/decisions", as: "approver", body: () => decisionBody(ids.applicationId) },
    { path: "/v1/payouts", as: "payer", body: () => payoutBody(ids.decisionId) },
    { path: "/v1/corrections", as: "approver", body: () => ({ targetId: ids.applicationId, reasonCode: "data-entry-error", reasonText: "录入错误", replacement: { enterpriseName: "新名称有限公司" } }) },
    { path: "/v1/batch", as: "admin", body: () => ({ records: [{ kind: "programme", body: programmeBody() }, { kind: "programme", body: programmeBody() }] }) },
  ];

  for (const route of ROUTES) {
    describe(`a POST ${route.path}`, () => {
      it("answers 503 recording-halted with the halt's rule and Retry-After, and appends nothing", async () => {
        const store = w.store as MemoryStore;
        const size = w.ledger.size;
        const commits = store.commits;
        w.ledger.halt(RULE, MESSAGE);
        const res = await post(w, route.path, w.tokens[route.as], route.body());
        const problem = expectProblem(res, 503);
        expect(problem["type"]).to.equal("urn:subsidy-ledger:problem:recording-halted");
        expect(problem["rule"]).to.equal(RULE);
        expect(problem["detail"]).to.include(MESSAGE);
        expect(problem, "a halt names no record of a batch").to.not.have.property("record");
        expect(res.headers["retry-after"]).to.equal("30");
        expect(w.ledger.size, "tree size").to.equal(size);
        expect(store.commits, "commits").to.equal(commits);
      });
    });
  }

  describe("a bad request", () => {
    it("is still refused for what it is (400), not hidden behind the halt", async () => {
      w.ledger.halt(RULE, MESSAGE);
      expectProblem(await post(w, "/v1/programmes", w.tokens.admin, programmeBody({ name: "" })), 400);
    });
  });

  describe("the read routes", () => {
    it("still answer", async () => {
      w.ledger.halt(RULE, MESSAGE);
      expect((await get(w, "/v1/log/entries")).status).to.equal(200);
      expect((await get(w, `/v1/entries/${ids.applicationId}`)).status).to.equal(200);
    });
  });

  describe("after the ledger resumes", () => {
    it("records again, and the same Idempotency-Key that was refused now records once", async () => {
      const key = "halted-then-resumed";
      const body = programmeBody();
      w.ledger.halt(RULE, MESSAGE);
      expectProblem(await post(w, "/v1/programmes", w.tokens.admin, body, key), 503);
      w.ledger.resume();
      const size = w.ledger.size;
      const res = await post(w, "/v1/programmes", w.tokens.admin, body, key);
      expect(res.status, res.text).to.equal(201);
      expect(res.headers["idempotent-replayed"]).to.equal(undefined);
      expect(w.ledger.size).to.equal(size + 1);
    });
  });

  describe("the mapping", () => {
    it("maps a LedgerHaltedError wrapped in a BatchRecordRejected as the halt itself, naming no record", () => {
      const { problem, headers, unexpected } = toProblem(new BatchRecordRejected(3, new LedgerHaltedError(RULE, MESSAGE)));
      expect(problem.status).to.equal(503);
      expect(problem.rule).to.equal(RULE);
      expect(problem).to.not.have.property("record");
      expect(headers["Retry-After"]).to.equal("30");
      expect(unexpected).to.equal(false);
    });
  });
});
