/**
 * The OpenAPI document: generated from the same zod schemas the service
 * parses and answers with, and in step with the routes actually served.
 */
import { expect } from "chai";
import type express from "express";
import request from "supertest";
import type { z } from "zod";
import { TokenRequest } from "../../service/auth/tokens";
import { ENTRY_PATHS } from "../../service/http/admin";
import {
  AcceptedView,
  ConsistencyProofView,
  EnterpriseView,
  EntryView,
  InclusionProofView,
  LogEntriesView,
  PrivateView,
  ProblemView,
  ProgrammeListView,
  ProgrammeView,
  TokenListView,
} from "../../service/http/views";
import { REQUEST_SCHEMAS, type RecordKind } from "../../service/records/schemas";
import { applicationBody, approvedApplication, createWorld, creditCode, get, payoutBody, post, record, type World } from "./helpers";

type Operation = { security?: unknown; parameters?: { name: string; in: string }[]; responses: Record<string, unknown>; requestBody?: unknown };
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown }> };
};

/** Every (METHOD, path template) the Express app routes, with `:param` written `{param}`. */
function servedRoutes(app: express.Express): string[] {
  const out: string[] = [];
  const walk = (stack: unknown[]) => {
    for (const layer of stack as { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } }[]) {
      if (layer.route) {
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== "_all") out.push(`${m.toUpperCase()} ${layer.route.path.replace(/[:*]([A-Za-z]+)/g, "{$1}")}`);
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: unknown[] } }).router.stack);
  return out.sort();
}

describe("HTTP API, the OpenAPI document", () => {
  let w: World;
  let doc: Doc;
  before(async () => {
    // With the published log's routes (/tlog/), which are served only when given their read model.
    w = await createWorld({ tiles: { checkpoint: async () => null, resource: async () => undefined } });
    const res = await get(w, "/v1/openapi.json");
    expect(res.status).to.equal(200);
    doc = res.body as Doc;
  });

  describe("the document", () => {
    it("is OpenAPI 3.1 with the JSON Schema 2020-12 dialect", () => {
      expect(doc.openapi).to.equal("3.1.0");
      expect(JSON.stringify(doc)).to.not.contain('"$schema"');
    });

    it("documents exactly the routes the app serves", () => {
      const documented = Object.entries(doc.paths)
        .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
        .sort();
      const served = servedRoutes(w.app);
      expect(served.length).to.be.greaterThan(15);
      expect(documented).to.deep.equal(served);
    });

    it("resolves every $ref to a component", () => {
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).to.be.greaterThan(20);
      for (const ref of refs) {
        expect(ref).to.match(/^#\/components\/schemas\//);
        expect(doc.components.schemas, ref).to.have.property(ref.slice("#/components/schemas/".length));
      }
    });
  });

  describe("the request schemas", () => {
    const NAMES: Record<RecordKind, string> = {
      programme: "ProgrammeRequest",
      application: "ApplicationRequest",
      decision: "DecisionRequest",
      payout: "PayoutRequest",
      confirmation: "ConfirmationRequest",
      correction: "CorrectionRequest",
      agency: "AgencyRequest",
      delegation: "DelegationRequest",
    };
    for (const [kind, name] of Object.entries(NAMES) as [RecordKind, string][]) {
      it(`${name} has the fields of the zod schema, required ones required, and no others`, () => {
        const js = doc.components.schemas[name]!;
        const shape = REQUEST_SCHEMAS[kind].shape as Record<string, z.ZodType>;
        expect(Object.keys(js.properties!).sort()).to.deep.equal(Object.keys(shape).sort());
        const required = Object.entries(shape)
          .filter(([, s]) => !s.safeParse(undefined).success)
          .map(([k]) => k)
          .sort();
        expect([...js.required!].sort()).to.deep.equal(required);
        expect(js.additionalProperties).to.equal(false);
      });
    }

    it("TokenRequest comes from the token module's schema", () => {
      expect(Object.keys(doc.components.schemas["TokenRequest"]!.properties!).sort()).to.deep.equal(Object.keys(TokenRequest.shape).sort());
    });

    it("describes identifiers and money with the records' own wording", () => {
      const app = doc.components.schemas["ApplicationRequest"]!.properties as Record<string, { description?: string }>;
      expect(app["creditCode"]!.description).to.contain("GB 32100-2015");
      expect(app["requestedFen"]!.description).to.contain("fen");
    });
  });

  describe("the erasure route", () => {
    it("takes ErasureRequest, the entry id in the path, and lists 404 and 409 beside the recording statuses", () => {
      const op = doc.paths["/v1/entries/{id}/erasure"]!["post"]!;
      expect(op.security).to.deep.equal([{ bearer: [] }]);
      expect(op.parameters!.some((p) => p.name === "Idempotency-Key" && p.in === "header")).to.equal(true);
      expect(op.parameters!.some((p) => p.name === "id" && p.in === "path")).to.equal(true);
      expect(Object.keys(op.responses)).to.include.members(["201", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"]);
      const js = doc.components.schemas["ErasureRequest"]!;
      expect(Object.keys(js.properties!)).to.deep.equal(["reasonCode"]);
      expect(js.additionalProperties).to.equal(false);
    });
  });

  describe("each admin POST", () => {
    for (const path of Object.values(ENTRY_PATHS)) {
      it(`${path} needs a bearer token and an Idempotency-Key, and lists its error statuses`, () => {
        const op = doc.paths[path]!["post"]!;
        expect(op.security).to.deep.equal([{ bearer: [] }]);
        expect(op.parameters!.some((p) => p.name === "Idempotency-Key" && p.in === "header")).to.equal(true);
        expect(Object.keys(op.responses)).to.include.members(["201", "400", "401", "403", "409", "413", "415", "422", "429", "503"]);
      });
    }
  });

  describe("the responses the service sends", () => {
    /** Parsing strips unknown keys, so equality means the body has no field the schema does not document. */
    const conforms = (schema: z.ZodType, body: unknown) => expect(schema.parse(body)).to.deep.equal(body);

    it("match their documented schemas", async () => {
      const { programmeId, applicationId, decisionId } = await approvedApplication(w);
      const payout = await post(w, "/v1/payouts", w.tokens.payer, payoutBody(decisionId));
      conforms(AcceptedView, payout.body);
      await record(w, "/v1/applications", "clerk", applicationBody(programmeId, { creditCode: creditCode(5) }));
      conforms(EntryView, (await get(w, `/v1/entries/${applicationId}`)).body);
      conforms(EnterpriseView, (await get(w, `/v1/enterprises/${creditCode(1)}`)).body);
      conforms(ProgrammeView, (await get(w, `/v1/programmes/${programmeId}`)).body);
      conforms(ProgrammeListView, (await get(w, "/v1/programmes")).body);
      conforms(LogEntriesView, (await get(w, "/v1/log/entries")).body);
      conforms(InclusionProofView, (await get(w, "/v1/log/proof/inclusion?index=1")).body);
      conforms(ConsistencyProofView, (await get(w, "/v1/log/proof/consistency?from=1")).body);
      conforms(PrivateView, (await get(w, `/v1/entries/${applicationId}/private`, w.tokens.admin)).body);
      conforms(TokenListView, (await get(w, "/v1/admin/tokens", w.tokens.admin)).body);
      conforms(ProblemView, JSON.parse((await request(w.app).get("/v1/entries/x")).text));
    });
  });
});
