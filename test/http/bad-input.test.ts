/**
 * Bad input, as a table: each request is refused with a 4xx problem+json
 * that carries no stack, and nothing is appended, committed or remembered
 * for idempotency.
 */
import { expect } from "chai";
import request from "supertest";
import { MemoryStore } from "../../service/store/memory";
import {
  applicationBody,
  approvedApplication,
  createWorld,
  creditCode,
  decisionBody,
  expectProblem,
  newKey,
  payoutBody,
  programmeBody,
  type Holder,
  type World,
} from "./helpers";

interface Case {
  readonly desc: string;
  readonly path: string;
  readonly as: Holder;
  /** A JSON value to send, or `raw` bytes as they are. */
  readonly body?: (ids: Ids) => unknown;
  readonly raw?: string;
  readonly contentType?: string | null;
  readonly status: number;
  /** Expected `errors[].path` (for validation failures). */
  readonly field?: string;
  /** Expected `errors[].code`. */
  readonly code?: string;
}

interface Ids {
  readonly programmeId: string;
  readonly applicationId: string;
  readonly decisionId: string;
}

const withProgramme = (o: Record<string, unknown>) => () => programmeBody(o);
const withApplication = (o: Record<string, unknown>) => (ids: Ids) => applicationBody(ids.programmeId, o);
const withPayout = (o: Record<string, unknown>) => (ids: Ids) => payoutBody(ids.decisionId, o);
const without = (body: Record<string, unknown>, field: string) => {
  const copy = { ...body };
  delete copy[field];
  return copy;
};

const badCheckDigit = (() => {
  const good = creditCode(1);
  return good.slice(0, 17) + (good[17] === "0" ? "1" : "0");
})();

const CASES: readonly Case[] = [
  // Transport
  { desc: "malformed JSON", path: "/v1/programmes", as: "admin", raw: '{"code": "X",', status: 400 },
  { desc: "a JSON string instead of an object", path: "/v1/programmes", as: "admin", raw: '"programme"', status: 400 },
  { desc: "JSON null", path: "/v1/programmes", as: "admin", raw: "null", status: 400 },
  { desc: "a JSON array", path: "/v1/programmes", as: "admin", raw: "[]", status: 400 },
  { desc: "an empty body", path: "/v1/programmes", as: "admin", raw: "", status: 400 },
  { desc: "a body over the size limit", path: "/v1/programmes", as: "admin", body: withProgramme({ name: "x".repeat(70_000) }), status: 413 },
  { desc: "text/plain", path: "/v1/programmes", as: "admin", body: withProgramme({}), contentType: "text/plain", status: 415 },
  { desc: "form encoding", path: "/v1/programmes", as: "admin", raw: "code=X&name=Y", contentType: "application/x-www-form-urlencoded", status: 415 },
  { desc: "no Content-Type", path: "/v1/programmes", as: "admin", body: withProgramme({}), contentType: null, status: 415 },
  { desc: "a non-UTF-8 charset", path: "/v1/programmes", as: "admin", body: withProgramme({}), contentType: "application/json; charset=latin1", status: 415 },
  { desc: "JSON nested 5,000 deep", path: "/v1/programmes", as: "admin", raw: `{"code":${"[".repeat(5000)}${"]".repeat(5000)}}`, status: 400 },
  // Schema: unknown, missing and mistyped fields
  { desc: "an unknown top-level field", path: "/v1/programmes", as: "admin", body: withProgramme({ approvedBy: "me" }), status: 400, field: "", code: "unrecognized_keys" },
  { desc: "an unknown nested field", path: "/v1/applications", as: "clerk", body: (ids) => applicationBody(ids.programmeId, { private: { contactPerson: "张三", phone: "13800000000", bankAccount: "6222020200112233", idCard: "x" } }), status: 400, field: "/private", code: "unrecognized_keys" },
  { desc: "a field the server sets (recordedAt)", path: "/v1/decisions", as: "approver", body: (ids) => decisionBody(ids.applicationId, { recordedAt: "2026-01-01T00:00:00Z" }), status: 400, code: "unrecognized_keys" },
  { desc: "a missing field", path: "/v1/programmes", as: "admin", body: () => without(programmeBody(), "budgetFen"), status: 400, field: "/budgetFen", code: "invalid_type" },
  { desc: "a missing private block", path: "/v1/applications", as: "clerk", body: (ids) => without(applicationBody(ids.programmeId), "private"), status: 400, field: "/private" },
  { desc: "an empty object", path: "/v1/confirmations", as: "approver", body: () => ({}), status: 400, field: "/payoutId" },
  { desc: "money as a JSON number", path: "/v1/programmes", as: "admin", body: withProgramme({ budgetFen: 100000 }), status: 400, field: "/budgetFen", code: "invalid_type" },
  { desc: "a boolean for a string", path: "/v1/programmes", as: "admin", body: withProgramme({ name: true }), status: 400, field: "/name" },
  { desc: "a wrong currency", path: "/v1/programmes", as: "admin", body: withProgramme({ currency: "USD" }), status: 400, field: "/currency" },
  { desc: "an unknown outcome", path: "/v1/decisions", as: "approver", body: (ids) => decisionBody(ids.applicationId, { outcome: "maybe" }), status: 400, field: "/outcome" },
  { desc: "a malformed entry id", path: "/v1/decisions", as: "approver", body: () => decisionBody("app_123"), status: 400, field: "/applicationId" },
  { desc: "an empty name", path: "/v1/programmes", as: "admin", body: withProgramme({ name: "" }), status: 400, field: "/name" },
  { desc: "a name with a control character", path: "/v1/programmes", as: "admin", body: withProgramme({ name: "补贴\u0007" }), status: 400, field: "/name" },
  { desc: "a name with surrounding spaces", path: "/v1/programmes", as: "admin", body: withProgramme({ name: " 补贴 " }), status: 400, field: "/name" },
  { desc: "a string with a lone surrogate (no canonical form)", path: "/v1/programmes", as: "admin", raw: JSON.stringify(programmeBody({ name: "PLACEHOLDER" })).replace("PLACEHOLDER", "\\ud800"), status: 400 },
  // Identifiers
  { desc: "a credit code with a wrong check character", path: "/v1/applications", as: "clerk", body: withApplication({ creditCode: badCheckDigit }), status: 400, field: "/creditCode", code: "CREDIT_CODE_CHECK_DIGIT" },
  { desc: "a lower-case credit code", path: "/v1/applications", as: "clerk", body: withApplication({ creditCode: creditCode(7).toLowerCase() }), status: 400, field: "/creditCode" },
  { desc: "a 17-character credit code", path: "/v1/applications", as: "clerk", body: withApplication({ creditCode: creditCode(7).slice(0, 17) }), status: 400, field: "/creditCode", code: "CREDIT_CODE_LENGTH" },
  { desc: "an unknown division code", path: "/v1/applications", as: "clerk", body: withApplication({ region: "110229" }), status: 400, field: "/region", code: "DIVISION_CODE_UNKNOWN" },
  { desc: "a prefecture instead of a county", path: "/v1/applications", as: "clerk", body: withApplication({ region: "110100" }), status: 400, field: "/region", code: "DIVISION_CODE_NOT_COUNTY" },
  { desc: "a development-zone statistical code", path: "/v1/applications", as: "clerk", body: withApplication({ region: "320576" }), status: 400, field: "/region", code: "DIVISION_CODE_STATISTICAL_ONLY" },
  { desc: "a five-digit division code", path: "/v1/applications", as: "clerk", body: withApplication({ region: "11010" }), status: 400, field: "/region", code: "DIVISION_CODE_FORMAT" },
  { desc: "a malformed bank account", path: "/v1/applications", as: "clerk", body: (ids) => applicationBody(ids.programmeId, { private: { contactPerson: "张三", phone: "13800000000", bankAccount: "62-22" } }), status: 400, field: "/private/bankAccount" },
  // Money
  { desc: "a negative amount", path: "/v1/applications", as: "clerk", body: withApplication({ requestedFen: "-100" }), status: 400, field: "/requestedFen", code: "FEN_FORMAT" },
  { desc: "a fractional amount", path: "/v1/applications", as: "clerk", body: withApplication({ requestedFen: "100.50" }), status: 400, field: "/requestedFen", code: "FEN_FORMAT" },
  { desc: "an amount with a leading zero", path: "/v1/applications", as: "clerk", body: withApplication({ requestedFen: "0100" }), status: 400, field: "/requestedFen", code: "FEN_FORMAT" },
  { desc: "an amount in exponent form", path: "/v1/applications", as: "clerk", body: withApplication({ requestedFen: "1e6" }), status: 400, field: "/requestedFen", code: "FEN_FORMAT" },
  { desc: "an amount with a plus sign", path: "/v1/payouts", as: "payer", body: withPayout({ amountFen: "+100" }), status: 400, field: "/amountFen", code: "FEN_FORMAT" },
  { desc: "an amount of 19 digits", path: "/v1/programmes", as: "admin", body: withProgramme({ budgetFen: "1".repeat(19) }), status: 400, field: "/budgetFen", code: "FEN_TOO_LARGE" },
  { desc: "an empty amount", path: "/v1/payouts", as: "payer", body: withPayout({ amountFen: "" }), status: 400, field: "/amountFen" },
  // Dates
  { desc: "a date that does not exist", path: "/v1/programmes", as: "admin", body: withProgramme({ closesOn: "2026-02-30" }), status: 400, field: "/closesOn", code: "DATE_INVALID" },
  { desc: "a date with slashes", path: "/v1/programmes", as: "admin", body: withProgramme({ opensOn: "2026/01/01" }), status: 400, field: "/opensOn", code: "DATE_FORMAT" },
  { desc: "a date-time for a date", path: "/v1/payouts", as: "payer", body: withPayout({ paidOn: "2026-03-09T00:00:00Z" }), status: 400, field: "/paidOn", code: "DATE_FORMAT" },
  { desc: "an empty date", path: "/v1/payouts", as: "payer", body: withPayout({ paidOn: "" }), status: 400, field: "/paidOn" },
  // Other values
  { desc: "an upper-case SHA-256", path: "/v1/programmes", as: "admin", body: withProgramme({ policyDocument: { sha256: "AB".repeat(32), url: "https://www.gov.cn/a" } }), status: 400, field: "/policyDocument/sha256" },
  { desc: "a javascript: URL", path: "/v1/programmes", as: "admin", body: withProgramme({ policyDocument: { sha256: "ab".repeat(32), url: "javascript:alert(1)" } }), status: 400, field: "/policyDocument/url" },
  { desc: "an unknown correction reason", path: "/v1/corrections", as: "approver", body: (ids) => ({ targetId: ids.applicationId, reasonCode: "oops", reasonText: "x" }), status: 400, field: "/reasonCode" },
  { desc: "an empty replacement", path: "/v1/corrections", as: "approver", body: (ids) => ({ targetId: ids.applicationId, reasonCode: "data-entry-error", reasonText: "x", replacement: {} }), status: 400, field: "/replacement" },
];

describe("HTTP API, bad input", () => {
  let w: World;
  let ids: Ids;
  before(async () => {
    w = await createWorld();
    ids = await approvedApplication(w);
  });

  describe("each bad request", () => {
    for (const c of CASES) {
      describe(`with ${c.desc} on POST ${c.path}`, () => {
        it(`answers ${c.status} problem+json without a stack, and records nothing`, async () => {
          const store = w.store as MemoryStore;
          const size = w.ledger.size;
          const commits = store.commits;
          const key = newKey();
          let r = request(w.app).post(c.path).set("Authorization", `Bearer ${w.tokens[c.as]}`).set("Idempotency-Key", key);
          const contentType = c.contentType === undefined ? "application/json" : c.contentType;
          const payload = c.raw ?? JSON.stringify(c.body!(ids));
          if (contentType !== null) r = r.set("Content-Type", contentType);
          const res = await (contentType === null ? r.send(Buffer.from(payload)) : r.send(payload));
          const problem = expectProblem(res, c.status);
          if (c.field !== undefined || c.code !== undefined) {
            const errors = problem["errors"] as { path: string; code: string; message: string }[];
            expect(errors, "errors list").to.be.an("array").that.is.not.empty;
            const match = errors.find((e) => (c.field === undefined || e.path === c.field) && (c.code === undefined || e.code === c.code));
            expect(match, JSON.stringify(errors)).to.not.equal(undefined);
          }
          expect(w.ledger.size).to.equal(size);
          expect((await w.store.head()).size).to.equal(size);
          expect(store.commits).to.equal(commits);
          expect(await w.store.idempotency(`${w.tokenIds[c.as]}\u0000${key}`)).to.equal(undefined);
        });
      });
    }
  });

  describe("a validation failure", () => {
    it("lists every issue, not only the first", async () => {
      const res = await request(w.app)
        .post("/v1/programmes")
        .set("Authorization", `Bearer ${w.tokens.admin}`)
        .set("Idempotency-Key", newKey())
        .set("Content-Type", "application/json")
        .send(JSON.stringify(programmeBody({ budgetFen: "-1", opensOn: "soon", extra: true })));
      const problem = expectProblem(res, 400);
      const paths = (problem["errors"] as { path: string }[]).map((e) => e.path).sort();
      expect(paths).to.deep.equal(["", "/budgetFen", "/opensOn"]);
    });

    it("names unknown fields without echoing other input", async () => {
      const res = await request(w.app)
        .post("/v1/applications")
        .set("Authorization", `Bearer ${w.tokens.clerk}`)
        .set("Idempotency-Key", newKey())
        .set("Content-Type", "application/json")
        .send(JSON.stringify(applicationBody(ids.programmeId, { secretNote: "s3cr3t-value", private: { contactPerson: "x", phone: "no", bankAccount: "ACCT-SECRET" } })));
      const problem = expectProblem(res, 400);
      expect(res.text).to.contain("secretNote");
      expect(res.text).to.not.contain("s3cr3t-value");
      expect(res.text).to.not.contain("ACCT-SECRET");
      expect(problem["errors"]).to.be.an("array");
    });
  });

  describe("a request to an unknown route", () => {
    for (const [method, path] of [
      ["get", "/nope"],
      ["get", "/v1/entries"],
      ["post", "/v1/entries/app_000000000000000000000000"],
      ["delete", "/v1/programmes"],
      ["get", "/V1/programmes"],
    ] as const) {
      it(`${method.toUpperCase()} ${path} answers 404 problem+json`, async () => {
        expectProblem(await request(w.app)[method](path), 404);
      });
    }
  });
});
