/**
 * The role × agency × route matrix, generated from the OpenAPI document: every
 * operation that needs a bearer token is called by every role of the agency
 * that owns the target (110000-JXJ), of another agency (130123-FGW, no
 * delegation), and by the deployment-wide admin. A new authenticated route
 * fails this file until it has a case in CASES, so none escapes the matrix.
 */
import { expect } from "chai";
import request from "supertest";
import { createToken } from "../../service/auth/tokens";
import { openApiDocument } from "../../service/http/openapi";
import { ROLES, type Role } from "../../service/format";
import { applicationBody, createWorld, decisionBody, newKey, payoutBody, programmeBody, type World } from "./helpers";
import { registerAgencies, type AgencyTokens } from "./agencies-fixture";

const OWN = "110000-JXJ";
const OTHER = "130123-FGW";

type Who = { readonly role: Role; readonly agency: "own" | "other" } | { readonly role: "admin"; readonly agency: "deployment" };

interface Call {
  readonly method: "get" | "post" | "delete";
  readonly path: string;
  readonly body?: unknown;
}

interface Case {
  /** Prepares the target in agency OWN and returns the call. */
  readonly setup: (w: World, a: AgencyTokens) => Promise<Call>;
  /** The status `who` must get. */
  readonly expect: (who: Who) => number;
}

/** The usual rule: other roles 403; the role of another agency 403 (agency-scope); the role of the agency, or the deployment admin where it is one of the roles, `ok`. */
const scoped =
  (roles: readonly Role[], ok: number) =>
  (who: Who): number =>
    !roles.includes(who.role) || who.agency === "other" ? 403 : ok;

/** Roles only: the agency is not checked on this route. */
const rolesOnly =
  (roles: readonly Role[], ok: number) =>
  (who: Who): number =>
    roles.includes(who.role) ? ok : 403;

async function ok(res: request.Response): Promise<string> {
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body.id as string;
}

function send(w: World, token: string, call: Call): request.Test {
  const r = request(w.server)[call.method](call.path).set("Authorization", `Bearer ${token}`);
  if (call.method === "get" || call.method === "delete") return r;
  return r.set("Idempotency-Key", newKey()).set("Content-Type", "application/json").send(JSON.stringify(call.body ?? {}));
}

async function chain(w: World, a: AgencyTokens, programme: Record<string, unknown> = {}): Promise<{ prg: string; app: string; dec: string }> {
  const t = a.tokens[OWN];
  const prg = await ok(await send(w, t.admin, { method: "post", path: "/v1/programmes", body: programmeBody({ agency: OWN, ...programme }) }));
  const app = await ok(await send(w, t.clerk, { method: "post", path: "/v1/applications", body: applicationBody(prg) }));
  const dec = await ok(await send(w, t.approver, { method: "post", path: "/v1/decisions", body: decisionBody(app) }));
  return { prg, app, dec };
}

const CASES: Readonly<Record<string, Case>> = {
  recordProgramme: { setup: async () => ({ method: "post", path: "/v1/programmes", body: programmeBody({ agency: OWN }) }), expect: scoped(["admin"], 201) },
  recordApplication: {
    setup: async (w, a) => {
      const prg = await ok(await send(w, a.tokens[OWN].admin, { method: "post", path: "/v1/programmes", body: programmeBody({ agency: OWN }) }));
      return { method: "post", path: "/v1/applications", body: applicationBody(prg) };
    },
    expect: scoped(["clerk"], 201),
  },
  recordDecision: {
    setup: async (w, a) => {
      const t = a.tokens[OWN];
      const prg = await ok(await send(w, t.admin, { method: "post", path: "/v1/programmes", body: programmeBody({ agency: OWN }) }));
      const app = await ok(await send(w, t.clerk, { method: "post", path: "/v1/applications", body: applicationBody(prg) }));
      return { method: "post", path: "/v1/decisions", body: decisionBody(app) };
    },
    expect: scoped(["approver"], 201),
  },
  recordPayout: { setup: async (w, a) => ({ method: "post", path: "/v1/payouts", body: payoutBody((await chain(w, a)).dec) }), expect: scoped(["payer"], 201) },
  recordConfirmation: {
    setup: async (w, a) => {
      const { dec } = await chain(w, a, { fourEyesThresholdFen: "1" });
      const pay = await ok(await send(w, a.tokens[OWN].payer, { method: "post", path: "/v1/payouts", body: payoutBody(dec) }));
      return { method: "post", path: "/v1/confirmations", body: { payoutId: pay } };
    },
    expect: scoped(["approver"], 201),
  },
  recordCorrection: {
    setup: async (w, a) => ({
      method: "post",
      path: "/v1/corrections",
      body: { targetId: (await chain(w, a)).app, reasonCode: "data-entry-error", reasonText: "录入错误", replacement: { enterpriseName: "某某有限公司" } },
    }),
    expect: scoped(["approver"], 201),
  },
  // Only the deployment-wide admin registers agencies.
  recordAgency: {
    setup: async () => ({ method: "post", path: "/v1/agencies", body: { code: "110000-CZJ", name: "北京市财政局" } }),
    expect: (who) => (who.agency === "deployment" ? 201 : 403),
  },
  recordDelegation: { setup: async () => ({ method: "post", path: "/v1/delegations", body: { from: OWN, to: "130000-FGW", granted: true } }), expect: scoped(["admin"], 201) },
  recordBatch: {
    setup: async (w, a) => {
      const prg = await ok(await send(w, a.tokens[OWN].admin, { method: "post", path: "/v1/programmes", body: programmeBody({ agency: OWN }) }));
      return { method: "post", path: "/v1/batch", body: { records: [{ kind: "application", body: applicationBody(prg) }] } };
    },
    expect: scoped(["clerk"], 201),
  },
  eraseEntry: {
    setup: async (w, a) => ({ method: "post", path: `/v1/entries/${(await chain(w, a)).app}/erasure`, body: { reasonCode: "data-subject-request" } }),
    expect: scoped(["admin"], 201),
  },
  getPrivateValues: { setup: async (w, a) => ({ method: "get", path: `/v1/entries/${(await chain(w, a)).app}/private` }), expect: scoped(["admin", "approver", "payer"], 200) },
  // Authorised callers get past the token and agency checks to the 503 of a world without a chain.
  getEnterpriseReceipt: { setup: async (w, a) => ({ method: "get", path: `/v1/entries/${(await chain(w, a)).app}/receipt/private` }), expect: scoped(["admin", "approver", "payer"], 503) },
  getAccessCode: { setup: async (w, a) => ({ method: "get", path: `/v1/applications/${(await chain(w, a)).app}/access-code` }), expect: scoped(["admin"], 200) },
  revokeAccessCode: { setup: async (w, a) => ({ method: "post", path: `/v1/applications/${(await chain(w, a)).app}/access-code/revocation` }), expect: scoped(["admin"], 201) },
  createToken: { setup: async () => ({ method: "post", path: "/v1/admin/tokens", body: { official: "clerk.new", agency: OWN, role: "clerk" } }), expect: scoped(["admin"], 201) },
  // Another agency's admin may list, but sees only its own tokens (checked below).
  listTokens: { setup: async () => ({ method: "get", path: "/v1/admin/tokens" }), expect: rolesOnly(["admin"], 200) },
  revokeToken: {
    setup: async (w) => {
      const { info } = await createToken(w.store, w.clock, { official: "clerk.spare", agency: OWN, role: "clerk" });
      return { method: "delete", path: `/v1/admin/tokens/${info.id}` };
    },
    expect: scoped(["admin"], 200),
  },
};

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
}

function securedOperations(): Operation[] {
  const doc = openApiDocument() as { paths: Record<string, Record<string, { operationId: string; security?: unknown }>> };
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) if (op.security !== undefined) out.push({ method, path, operationId: op.operationId });
  return out;
}

const WHO: readonly Who[] = [...ROLES.flatMap((role) => (["own", "other"] as const).map((agency) => ({ role, agency }))), { role: "admin", agency: "deployment" }];

describe("HTTP API, the role × agency × route matrix", () => {
  const operations = securedOperations();

  it("has a case for every operation the OpenAPI document secures, and no other", () => {
    expect(operations.length).to.be.greaterThan(15);
    expect(operations.map((o) => o.operationId).sort()).to.deep.equal(Object.keys(CASES).sort());
  });

  for (const op of operations) {
    const c = CASES[op.operationId];
    if (c === undefined) continue;
    describe(`${op.method.toUpperCase()} ${op.path} (${op.operationId})`, () => {
      for (const who of WHO) {
        const want = c.expect(who);
        it(`answers ${want} to a${who.agency === "deployment" ? " deployment-wide admin" : ` ${who.role} of ${who.agency === "own" ? "the owning" : "another"} agency`}`, async () => {
          const w = await createWorld();
          const a = await registerAgencies(w);
          const call = await c.setup(w, a);
          expect(call.method).to.equal(op.method);
          const token = who.agency === "deployment" ? w.tokens.admin : a.tokens[who.agency === "own" ? OWN : OTHER][who.role];
          const size = w.ledger.size;
          const res = await send(w, token, call);
          expect(res.status, JSON.stringify(res.body)).to.equal(want);
          if (want === 403) {
            expect(res.headers["content-type"]).to.match(/^application\/problem\+json/);
            expect(w.ledger.size).to.equal(size);
            if (c.expect({ role: who.role, agency: "own" }) !== 403) expect(res.body.rule, "a refusal by agency names its rule").to.equal("agency-scope");
          }
          if (op.operationId === "listTokens" && want === 200) {
            const agencies = new Set((res.body.tokens as { agency: string }[]).map((t) => t.agency));
            if (who.agency !== "deployment") expect([...agencies]).to.deep.equal([who.agency === "own" ? OWN : OTHER]);
          }
        });
      }
    });
  }
});
