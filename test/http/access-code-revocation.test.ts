/**
 * Revoking an application's access code through the API: the admin gets a
 * new code, the old one is refused from then on, and wrong codes are limited
 * per application whatever address they come from. The world runs without a
 * chain, so a code the gate lets through reaches the receipt and gets 503
 * anchoring-off, while a refused one gets 403 or 429 from the gate itself.
 */
import { expect } from "chai";
import request from "supertest";
import { applicationBody, createWorld, expectProblem, FakeClock, get, post, programmeBody, record, type World } from "./helpers";

describe("Access-code revocation through the API", () => {
  let w: World;
  let clock: FakeClock;
  let applicationId: string;
  let firstCode: string;
  beforeEach(async () => {
    clock = new FakeClock();
    // One proxy hop trusted, so X-Forwarded-For sets the address each request comes from.
    w = await createWorld({ accessCodes: { maxFailures: 3, windowMs: 60_000, clock }, config: { trustProxy: 1 } });
    const prg = await record(w, "/v1/programmes", "admin", programmeBody());
    const res = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(prg));
    applicationId = res.body.id as string;
    firstCode = res.body.accessCode as string;
  });

  const gate = (code: string, from = "198.51.100.1") =>
    request(w.app).get(`/v1/entries/${applicationId}/receipt/private`).set("X-Access-Code", code).set("X-Forwarded-For", from);
  const revoke = (token: string) => post(w, `/v1/applications/${applicationId}/access-code/revocation`, token, undefined, null);

  describe("an admin revoking the code", () => {
    it("gets a new code (201), which GET …/access-code now returns, and the old code is refused with 403", async () => {
      expect((await gate(firstCode)).status).to.equal(503);
      const res = await revoke(w.tokens.admin);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ applicationId, generation: 1 });
      expect(res.body.accessCode).to.match(/^ac_[A-Za-z0-9_-]{22}$/).and.not.equal(firstCode);
      expect((await get(w, `/v1/applications/${applicationId}/access-code`, w.tokens.admin)).body.accessCode).to.equal(res.body.accessCode);
      expect(expectProblem(await gate(firstCode), 403)["type"]).to.match(/access-code-invalid$/);
      expect((await gate(res.body.accessCode as string)).status).to.equal(503);
    });

    it("twice, refuses both earlier codes", async () => {
      const second = (await revoke(w.tokens.admin)).body.accessCode as string;
      const third = await revoke(w.tokens.admin);
      expect(third.body.generation).to.equal(2);
      expectProblem(await gate(firstCode), 403);
      expectProblem(await gate(second), 403);
      expect((await gate(third.body.accessCode as string)).status).to.equal(503);
    });
  });

  describe("anyone but an admin", () => {
    it("is refused (401 without a token, 403 for a clerk), and the code still works", async () => {
      expectProblem(await post(w, `/v1/applications/${applicationId}/access-code/revocation`, null, undefined, null), 401);
      expectProblem(await revoke(w.tokens.clerk), 403);
      expect((await gate(firstCode)).status).to.equal(503);
    });
  });

  describe("an application that does not exist", () => {
    it("is 404", async () => {
      expectProblem(await post(w, `/v1/applications/app_${"0".repeat(24)}/access-code/revocation`, w.tokens.admin, undefined, null), 404);
    });
  });

  describe("wrong codes from many addresses", () => {
    const wrong = "ac_AAAAAAAAAAAAAAAAAAAAAA";
    it("lock the application's codes (429) after the limit, even the right one, until the window ends", async () => {
      for (const from of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) expectProblem(await gate(wrong, from), 403);
      const limited = expectProblem(await gate(firstCode, "198.51.100.4"), 429);
      expect(limited["type"]).to.match(/access-code-rate-limited$/);
      clock.advanceDays(1);
      expect((await gate(firstCode, "198.51.100.4")).status).to.equal(503);
    });
  });
});
