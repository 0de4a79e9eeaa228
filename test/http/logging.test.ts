/**
 * What the service writes to its log: one line per request, and never a
 * token, an Authorization header, a request body or a private value. The
 * pino output is captured line by line from a stream.
 */
import { expect } from "chai";
import request from "supertest";
import { hashToken } from "../../service/auth/tokens";
import { applicationBody, createWorld, expectProblem, get, post, programmeBody, record, type World } from "./helpers";

const PRIVATE_ACCOUNT = "6222000011119999888";
const PRIVATE_CONTACT = "LogSecretContact";

describe("HTTP API, logging", () => {
  let w: World;
  let created: string;

  before(async () => {
    w = await createWorld({
      signedCheckpoint: async () => {
        throw new Error("checkpoint signer exploded");
      },
    });
    const res = await post(w, "/v1/admin/tokens", w.tokens.admin, { official: "logged.clerk", agency: "区工信局", role: "clerk" }, null);
    expect(res.status).to.equal(201);
    created = res.body.token;
    const prg = await record(w, "/v1/programmes", "admin", programmeBody());
    const app = await post(w, "/v1/applications", created, applicationBody(prg, { private: { contactPerson: PRIVATE_CONTACT, phone: "13800000000", bankAccount: PRIVATE_ACCOUNT } }));
    expect(app.status).to.equal(201);
    await post(w, "/v1/applications", `${created.slice(0, -2)}xx`, applicationBody(prg));
    await request(w.app).get("/v1/admin/tokens").set("Authorization", `Basic ${Buffer.from(`u:${created}`).toString("base64")}`);
    await request(w.app).get(`/v1/health?token=${created}`);
    await post(w, "/v1/applications", created, { ...applicationBody(prg), bogus: created });
    await get(w, "/v1/log/checkpoint");
    await get(w, `/v1/entries/${app.body.id}/private`, w.tokens.admin);
  });

  describe("each request", () => {
    it("is logged once with method, URL, status, duration and the token's public id", () => {
      const lines = w.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l["msg"] === "request");
      expect(lines.length).to.be.at.least(8);
      const createdLine = lines.find((l) => l["url"] === "/v1/admin/tokens" && l["method"] === "POST");
      expect(createdLine).to.deep.include({ status: 201, tokenId: w.tokenIds.admin, role: "admin" });
      expect(createdLine!["ms"]).to.be.a("number");
      const refused = lines.filter((l) => l["status"] === 401);
      expect(refused.length).to.be.at.least(2);
      for (const l of refused) expect(l["problem"]).to.equal("urn:subsidy-ledger:problem:unauthenticated");
    });
  });

  describe("no log line", () => {
    it("contains a token, a token hash or an Authorization header", () => {
      const all = w.logLines.join("\n");
      for (const token of [...Object.values(w.tokens), created]) {
        expect(all).to.not.contain(token);
        expect(all).to.not.contain(token.slice(3));
        expect(all).to.not.contain(hashToken(token));
      }
      expect(all.toLowerCase()).to.not.contain("authorization");
      expect(all).to.not.contain("Bearer");
      expect(all).to.not.contain("Basic ");
    });

    it("contains a request body or a private value", () => {
      const all = w.logLines.join("\n");
      expect(all).to.not.contain(PRIVATE_ACCOUNT);
      expect(all).to.not.contain(PRIVATE_CONTACT);
      expect(all).to.not.contain("bogus");
      expect(all).to.not.contain("logged.clerk");
    });

    it("shows a token put in a query string: it is redacted", () => {
      const line = w.logLines.find((l) => l.includes("/v1/health"));
      expect(line).to.contain("sl_[redacted]");
    });
  });

  describe("an unexpected error", () => {
    it("is logged with its stack, while the client gets a bare 500 problem", async () => {
      const res = await get(w, "/v1/log/checkpoint");
      const problem = expectProblem(res, 500);
      expect(problem["detail"]).to.not.contain("exploded");
      const errorLine = w.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l["msg"] === "request failed");
      expect(errorLine).to.not.equal(undefined);
      const err = errorLine!["err"] as { message: string; stack: string };
      expect(err.message).to.equal("checkpoint signer exploded");
      expect(err.stack).to.match(/\n\s+at /);
    });
  });
});
