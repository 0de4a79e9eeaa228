/**
 * Who may do what: every role against every admin POST (201 or 403), every
 * way of not having a valid token (401), and the token admin API.
 */
import { expect } from "chai";
import { hashToken, TOKEN_PATTERN } from "../../service/auth/tokens";
import { ENTRY_PATHS, ERASURE_PATH, erasurePathOf } from "../../service/http/admin";
import { KIND_ROLES, type RecordKind, type Role } from "../../service/records/schemas";
import {
  applicationBody,
  approvedApplication,
  createWorld,
  decisionBody,
  expectProblem,
  get,
  payoutBody,
  post,
  programmeBody,
  record,
  type Holder,
  type World,
} from "./helpers";
import request from "supertest";

/** Prepares what recording a `kind` needs and returns a body the right role can record. */
const SETUP: Readonly<Record<RecordKind, (w: World) => Promise<Record<string, unknown>>>> = {
  programme: async () => programmeBody(),
  application: async (w) => applicationBody(await record(w, "/v1/programmes", "admin", programmeBody())),
  decision: async (w) => {
    const prg = await record(w, "/v1/programmes", "admin", programmeBody());
    return decisionBody(await record(w, "/v1/applications", "clerk", applicationBody(prg)));
  },
  payout: async (w) => payoutBody((await approvedApplication(w)).decisionId),
  confirmation: async (w) => {
    const { decisionId } = await approvedApplication(w, { programme: { fourEyesThresholdFen: "1000000" } });
    return { payoutId: await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "1000000" })) };
  },
  correction: async (w) => {
    const prg = await record(w, "/v1/programmes", "admin", programmeBody());
    const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
    return { targetId: app, reasonCode: "revoked", reasonText: "申报材料重复提交" };
  },
  agency: async () => ({ code: "110000-FGW", name: "北京市发展和改革委员会" }),
  delegation: async (w) => {
    await record(w, "/v1/agencies", "admin", { code: "110000-FGW", name: "北京市发展和改革委员会" });
    await record(w, "/v1/agencies", "admin", { code: "110000-JXJ", name: "北京市经济和信息化局" });
    return { from: "110000-FGW", to: "110000-JXJ", granted: true };
  },
};

const HOLDER_OF_ROLE: Readonly<Record<Role, Holder>> = { clerk: "clerk", approver: "approver", payer: "payer", admin: "admin" };
const ROLES: readonly Role[] = ["clerk", "approver", "payer", "admin"];
const KINDS = Object.keys(ENTRY_PATHS) as RecordKind[];

describe("HTTP API, authorisation", () => {
  describe("the role × route matrix", () => {
    for (const kind of KINDS) {
      const path = ENTRY_PATHS[kind];
      describe(`POST ${path}`, () => {
        for (const role of ROLES) {
          const allowed = KIND_ROLES[kind].includes(role);
          it(`${allowed ? "records (201)" : "refuses (403) and appends nothing"} for a ${role} token`, async () => {
            const w = await createWorld();
            const body = await SETUP[kind](w);
            const before = w.ledger.size;
            const res = await post(w, path, w.tokens[HOLDER_OF_ROLE[role]], body);
            if (allowed) {
              expect(res.status, JSON.stringify(res.body)).to.equal(201);
              expect(res.body.kind).to.equal(kind);
              expect(res.body.entry.actor.role).to.equal(role);
              expect(w.ledger.size).to.equal(before + 1);
            } else {
              const problem = expectProblem(res, 403);
              expect(problem["detail"]).to.contain(KIND_ROLES[kind].join(", "));
              expect(w.ledger.size).to.equal(before);
            }
          });
        }
      });
    }
  });

  describe(`POST ${ERASURE_PATH}`, () => {
    for (const role of ROLES) {
      const allowed = KIND_ROLES.erasure.includes(role);
      it(`${allowed ? "records (201)" : "refuses (403) and appends nothing"} for a ${role} token`, async () => {
        const w = await createWorld();
        const app = await record(w, "/v1/applications", "clerk", applicationBody(await record(w, "/v1/programmes", "admin", programmeBody())));
        const before = w.ledger.size;
        const res = await post(w, erasurePathOf(app), w.tokens[HOLDER_OF_ROLE[role]], { reasonCode: "data-subject-request" });
        if (allowed) {
          expect(res.status, JSON.stringify(res.body)).to.equal(201);
          expect(res.body.kind).to.equal("erasure");
          expect(res.body.entry.actor.role).to.equal(role);
          expect(w.ledger.size).to.equal(before + 1);
        } else {
          const problem = expectProblem(res, 403);
          expect(problem["detail"]).to.contain(KIND_ROLES.erasure.join(", "));
          expect(w.ledger.size).to.equal(before);
        }
      });
    }
  });

  describe("when the token is missing or bad", () => {
    let w: World;
    let revoked: string;
    before(async () => {
      w = await createWorld();
      const created = await post(w, "/v1/admin/tokens", w.tokens.admin, { official: "temp.admin", agency: "市财政局", role: "admin" }, null);
      expect(created.status).to.equal(201);
      revoked = created.body.token;
      const del = await request(w.app).delete(`/v1/admin/tokens/${created.body.id}`).set("Authorization", `Bearer ${w.tokens.admin}`);
      expect(del.status).to.equal(200);
    });

    const BAD: readonly { desc: string; header: (w: World) => string | null }[] = [
      { desc: "no Authorization header", header: () => null },
      { desc: "an empty Authorization header", header: () => "" },
      { desc: "a Basic scheme", header: () => "Basic YWRtaW46YWRtaW4=" },
      { desc: "a bearer value that is not a token", header: () => "Bearer hunter2" },
      { desc: "a well-formed token that was never issued", header: () => `Bearer sl_${"A".repeat(43)}` },
      { desc: "a revoked token", header: () => `Bearer ${revoked}` },
      { desc: "a token with one character changed", header: (w) => `Bearer ${w.tokens.admin.slice(0, -1)}${w.tokens.admin.endsWith("A") ? "B" : "A"}` },
    ];

    for (const kind of KINDS) {
      for (const bad of BAD) {
        it(`POST ${ENTRY_PATHS[kind]} with ${bad.desc} answers 401 and appends nothing`, async () => {
          const before = w.ledger.size;
          let r = request(w.app).post(ENTRY_PATHS[kind]).set("Content-Type", "application/json").set("Idempotency-Key", "k-401");
          const h = bad.header(w);
          if (h !== null) r = r.set("Authorization", h);
          const res = await r.send(JSON.stringify(programmeBody()));
          expectProblem(res, 401);
          expect(res.headers["www-authenticate"]).to.match(/^Bearer realm="subsidy-ledger"/);
          expect(w.ledger.size).to.equal(before);
        });
      }
    }

    for (const bad of BAD) {
      it(`POST ${ERASURE_PATH} with ${bad.desc} answers 401 and appends nothing`, async () => {
        const before = w.ledger.size;
        let r = request(w.app).post(erasurePathOf(`app_${"0".repeat(24)}`)).set("Content-Type", "application/json").set("Idempotency-Key", "k-401");
        const h = bad.header(w);
        if (h !== null) r = r.set("Authorization", h);
        const res = await r.send(JSON.stringify({ reasonCode: "data-subject-request" }));
        expectProblem(res, 401);
        expect(w.ledger.size).to.equal(before);
      });
    }

    for (const route of ["GET /v1/admin/tokens", "GET /v1/entries/app_000000000000000000000000/private"]) {
      it(`${route} answers 401 without a token and with a revoked one`, async () => {
        const path = route.split(" ")[1]!;
        expectProblem(await get(w, path), 401);
        expectProblem(await get(w, path, revoked), 401);
      });
    }

    it("accepts the Bearer scheme in any case", async () => {
      const res = await request(w.app).get("/v1/admin/tokens").set("Authorization", `bEaReR ${w.tokens.admin}`);
      expect(res.status).to.equal(200);
    });
  });

  describe("the private values route", () => {
    let w: World;
    let appId: string;
    before(async () => {
      w = await createWorld();
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      appId = await record(w, "/v1/applications", "clerk", applicationBody(prg));
    });
    for (const role of ROLES) {
      const allowed = role !== "clerk";
      it(`${allowed ? "answers 200" : "refuses (403)"} for a ${role} token`, async () => {
        const res = await get(w, `/v1/entries/${appId}/private`, w.tokens[HOLDER_OF_ROLE[role]]);
        if (allowed) expect(res.status).to.equal(200);
        else expectProblem(res, 403);
      });
    }
    it("answers 404 problem for an unknown entry", async () => {
      expectProblem(await get(w, `/v1/entries/app_${"f".repeat(24)}/private`, w.tokens.admin), 404);
    });
  });

  describe("the token admin API", () => {
    let w: World;
    beforeEach(async () => {
      w = await createWorld();
    });

    describe("when an admin creates a token", () => {
      it("returns the token once, stores only its hash, and the token works for its role", async () => {
        const res = await post(w, "/v1/admin/tokens", w.tokens.admin, { official: "clerk.new", agency: "区工信局", role: "clerk" }, null);
        expect(res.status).to.equal(201);
        expect(res.headers["cache-control"]).to.equal("no-store");
        expect(res.body.token).to.match(TOKEN_PATTERN);
        expect(res.body).to.deep.include({ official: "clerk.new", agency: "区工信局", role: "clerk", revokedAt: null });
        const stored = JSON.stringify(await w.store.tokens());
        expect(stored).to.not.contain(res.body.token);
        expect(stored).to.contain(hashToken(res.body.token));
        const prg = await record(w, "/v1/programmes", "admin", programmeBody());
        const app = await post(w, "/v1/applications", res.body.token, applicationBody(prg));
        expect(app.status).to.equal(201);
        expect(app.body.entry.actor.official).to.equal("clerk.new");
      });

      it("refuses unknown fields, unknown roles and missing fields (400)", async () => {
        for (const body of [
          { official: "x", agency: "y", role: "clerk", extra: 1 },
          { official: "x", agency: "y", role: "superuser" },
          { official: "x", role: "clerk" },
          { official: " x", agency: "y", role: "clerk" },
        ]) {
          const before = (await w.store.tokens()).length;
          expectProblem(await post(w, "/v1/admin/tokens", w.tokens.admin, body, null), 400);
          expect((await w.store.tokens()).length).to.equal(before);
        }
      });

      it("refuses a non-admin (403)", async () => {
        for (const holder of ["clerk", "approver", "payer"] as const)
          expectProblem(await post(w, "/v1/admin/tokens", w.tokens[holder], { official: "x", agency: "y", role: "admin" }, null), 403);
      });
    });

    describe("when an admin lists tokens", () => {
      it("shows ids, officials, roles and dates, never a token or a hash", async () => {
        const res = await get(w, "/v1/admin/tokens", w.tokens.admin);
        expect(res.status).to.equal(200);
        expect(res.body.tokens).to.have.length(Object.keys(w.tokens).length);
        for (const t of res.body.tokens) expect(t).to.have.keys("id", "official", "agency", "role", "createdAt", "revokedAt");
        for (const token of Object.values(w.tokens)) {
          expect(res.text).to.not.contain(token);
          expect(res.text).to.not.contain(hashToken(token));
        }
      });

      it("refuses a non-admin (403)", async () => {
        expectProblem(await get(w, "/v1/admin/tokens", w.tokens.approver), 403);
      });
    });

    describe("when an admin revokes a token", () => {
      it("takes effect at once", async () => {
        expect((await get(w, "/v1/admin/tokens", w.tokens.admin)).status).to.equal(200);
        const del = await request(w.app).delete(`/v1/admin/tokens/${w.tokenIds.payer}`).set("Authorization", `Bearer ${w.tokens.admin}`);
        expect(del.status).to.equal(200);
        expect(del.body.revokedAt).to.be.a("string");
        const { decisionId } = await approvedApplication(w);
        expectProblem(await post(w, "/v1/payouts", w.tokens.payer, payoutBody(decisionId)), 401);
      });

      it("answers 404 for an unknown id and 400 for a malformed one", async () => {
        const unknown = expectProblem(await request(w.app).delete(`/v1/admin/tokens/tok_${"0".repeat(16)}`).set("Authorization", `Bearer ${w.tokens.admin}`), 404);
        expect(unknown).to.include({ type: "urn:subsidy-ledger:problem:not-found", title: "Not found", detail: `no token tok_${"0".repeat(16)}` });
        expectProblem(await request(w.app).delete("/v1/admin/tokens/nope").set("Authorization", `Bearer ${w.tokens.admin}`), 400);
      });

      it("refuses to revoke the last active admin token (409)", async () => {
        const res = await request(w.app).delete(`/v1/admin/tokens/${w.tokenIds.admin}`).set("Authorization", `Bearer ${w.tokens.admin}`);
        expect(expectProblem(res, 409)).to.include({ type: "urn:subsidy-ledger:problem:last-admin-token", title: "Last admin token" });
        expect((await get(w, "/v1/admin/tokens", w.tokens.admin)).status).to.equal(200);
      });

      it("refuses a non-admin (403)", async () => {
        expectProblem(await request(w.app).delete(`/v1/admin/tokens/${w.tokenIds.clerk}`).set("Authorization", `Bearer ${w.tokens.approver}`), 403);
      });
    });
  });
});
