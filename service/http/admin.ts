/**
 * Admin routes: recording entries, token management, and reading an entry's
 * private values. Every route here needs a bearer token with the right role
 * and passes the admin rate limit first.
 *
 * Recording an entry, in order: rate limit → token (401) → role from
 * KIND_ROLES (403) → Idempotency-Key (400) → Content-Type (415) → JSON body
 * (400 malformed, 413 too large) → strict schema (400 listing every issue) →
 * request hash → the sequencer (201, replay, 409/422 rule, 422 key reuse,
 * 503 store). Nothing is appended unless every step before the sequencer
 * passed and the sequencer's batch is durable.
 */
import express, { type Request, type RequestHandler, type Response } from "express";
import type { z } from "zod";
import type { AccessCodes } from "../auth/access-codes";
import { actorOf, TokenRequest } from "../auth/tokens";
import { scopedIdempotencyKey, type AcceptedBody, type Ledger } from "../ledger/ledger";
import type { Tokens } from "./tokens";
import { canonicalBytes, sha256, toHex } from "../log";
import type { Command } from "../records/rules";
import {
  AgencyRequest,
  ApplicationRequest,
  BatchRequest,
  ConfirmationRequest,
  CorrectionRequest,
  DecisionRequest,
  DelegationRequest,
  ErasureRequest,
  KIND_ROLES,
  PayoutRequest,
  ProgrammeRequest,
  type RecordKind,
  type Role,
} from "../records/schemas";
import { allowRoles, authenticated, idempotencyKeyOf, noStore, requireIdempotencyKey, requireJson, tokenOf } from "./middleware";
import { EntryIdParam, parseParams, TokenIdParam } from "./params";
import { HttpProblem, validationProblem } from "./problem";
import type { Queries } from "../queries/queries";
import { privateView, publicEntry, publicLeaf, tokenView, type AcceptedView } from "./views";

export interface AdminRouteDeps {
  readonly ledger: Ledger;
  readonly queries: Pick<Queries, "leafOf" | "privateValues" | "committedFields" | "adminScope" | "checkAgencyScope">;
  readonly tokens: Tokens;
  readonly limiter: RequestHandler;
  readonly jsonBody: RequestHandler;
  readonly accessCodes: AccessCodes;
}

/** The admin POST route of each kind recorded by its body alone. */
export const ENTRY_PATHS: Readonly<Record<RecordKind, string>> = {
  programme: "/v1/programmes",
  application: "/v1/applications",
  decision: "/v1/decisions",
  payout: "/v1/payouts",
  confirmation: "/v1/confirmations",
  correction: "/v1/corrections",
  agency: "/v1/agencies",
  delegation: "/v1/delegations",
};

/** The erasure route, in Express's form: the entry whose private values are erased is the path's `:id`. */
export const ERASURE_PATH = "/v1/entries/:id/erasure";

/** The erasure route of one entry, as requests name it (and as its request hash covers it). */
export const erasurePathOf = (id: string): string => `/v1/entries/${id}/erasure`;

/** The batch route: several records, appended atomically. */
export const BATCH_PATH = "/v1/batch";

/** Roles that may read private values. */
export const PRIVATE_READER_ROLES: readonly Role[] = ["admin", "approver", "payer"];

/**
 * The request hash an Idempotency-Key is bound to: hex SHA-256 of
 * `METHOD SP path LF` followed by the RFC 8785 canonical bytes of the parsed
 * body. Throws EncodingError (a 400) for a body JCS cannot encode, such as a
 * string with a lone surrogate.
 */
export function requestHash(method: string, path: string, body: unknown): string {
  return toHex(sha256(new TextEncoder().encode(`${method} ${path}\n`), canonicalBytes(body)));
}

/**
 * What a recording POST answers. An application's answer also carries the
 * enterprise's access code for its receipts: derived, not stored, so an
 * idempotent replay answers the same code (see auth/access-codes.ts).
 */
function acceptedView(body: AcceptedBody, codes: AccessCodes): AcceptedView {
  return {
    id: body.id,
    kind: body.kind,
    leafIndex: body.leafIndex,
    entry: publicEntry(body.entry),
    ...(body.kind === "application" ? { accessCode: codes.codeFor(body.id) } : {}),
  };
}

export function adminRouter(deps: AdminRouteDeps): express.Router {
  const { ledger, queries, tokens, limiter, jsonBody, accessCodes } = deps;
  const router = express.Router({ caseSensitive: true, strict: true });
  const auth = authenticated(tokens);

  /** One typed route per kind, so the command is built without a cast. */
  function entryRoute<S extends z.ZodType>(kind: RecordKind, schema: S, command: (body: z.output<S>) => Command): void {
    const path = ENTRY_PATHS[kind];
    router.post(path, limiter, noStore, auth, allowRoles(KIND_ROLES[kind]), requireIdempotencyKey, requireJson, jsonBody, async (req: Request, res: Response) => {
      const token = tokenOf(res);
      const parsed = schema.safeParse(req.body);
      if (!parsed.success) throw validationProblem("body", parsed.error);
      const accepted = await ledger.submit({
        command: command(parsed.data),
        actor: actorOf(token),
        idempotencyKey: scopedIdempotencyKey(token.id, idempotencyKeyOf(res)),
        requestHash: requestHash("POST", path, parsed.data),
      });
      const view = acceptedView(accepted.body, accessCodes);
      if (accepted.replayed) res.setHeader("Idempotent-Replayed", "true");
      res.status(accepted.status).location(`/v1/entries/${view.id}`).json(view);
    });
  }

  entryRoute("programme", ProgrammeRequest, (body) => ({ kind: "programme", body }));
  entryRoute("application", ApplicationRequest, (body) => ({ kind: "application", body }));
  entryRoute("decision", DecisionRequest, (body) => ({ kind: "decision", body }));
  entryRoute("payout", PayoutRequest, (body) => ({ kind: "payout", body }));
  entryRoute("confirmation", ConfirmationRequest, (body) => ({ kind: "confirmation", body }));
  entryRoute("correction", CorrectionRequest, (body) => ({ kind: "correction", body }));
  entryRoute("agency", AgencyRequest, (body) => ({ kind: "agency", body }));
  entryRoute("delegation", DelegationRequest, (body) => ({ kind: "delegation", body }));

  /** Roles that may record at least one kind: anyone else can never use the batch route. */
  const recorders = [...new Set(Object.values(KIND_ROLES).flat())];
  router.post(BATCH_PATH, limiter, noStore, auth, allowRoles(recorders), requireIdempotencyKey, requireJson, jsonBody, async (req: Request, res: Response) => {
    const token = tokenOf(res);
    const parsed = BatchRequest.safeParse(req.body);
    if (!parsed.success) throw validationProblem("body", parsed.error);
    parsed.data.records.forEach((r, i) => {
      if (!KIND_ROLES[r.kind].includes(token.role))
        throw new HttpProblem(403, "forbidden", "Forbidden", `record ${i}: a ${token.role} token may not record a ${r.kind}`);
    });
    const accepted = await ledger.submitBatch({
      commands: parsed.data.records.map((r) => r as Command),
      actor: actorOf(token),
      idempotencyKey: scopedIdempotencyKey(token.id, idempotencyKeyOf(res)),
      requestHash: requestHash("POST", BATCH_PATH, parsed.data),
    });
    if (accepted.replayed) res.setHeader("Idempotent-Replayed", "true");
    res.status(accepted.status).json({
      results: accepted.body.results.map((b) => acceptedView(b, accessCodes)),
    });
  });

  // Erasure: rate limit → token (401) → admin (403) → Idempotency-Key (400) → Content-Type (415) → body
  // (400) → entry id (400) → the entry (404) → the sequencer (201, replay, 409 erased already, 422 no
  // private values, 422 key reuse). The target's committed field names come from its entry in the log.
  router.post(ERASURE_PATH, limiter, noStore, auth, allowRoles(KIND_ROLES.erasure), requireIdempotencyKey, requireJson, jsonBody, async (req: Request, res: Response) => {
    const token = tokenOf(res);
    const parsed = ErasureRequest.safeParse(req.body);
    if (!parsed.success) throw validationProblem("body", parsed.error);
    const { id } = parseParams(req, EntryIdParam);
    const fields = await queries.committedFields(id);
    if (fields === undefined) throw new HttpProblem(404, "not-found", "Not found", `no entry ${id}`);
    const accepted = await ledger.submit({
      command: { kind: "erasure", body: { targetId: id, reasonCode: parsed.data.reasonCode, fields } },
      actor: { official: token.official, agency: token.agency, role: token.role },
      idempotencyKey: scopedIdempotencyKey(token.id, idempotencyKeyOf(res)),
      requestHash: requestHash("POST", erasurePathOf(id), parsed.data),
    });
    const view = acceptedView(accepted.body, accessCodes);
    if (accepted.replayed) res.setHeader("Idempotent-Replayed", "true");
    res.status(accepted.status).location(`/v1/entries/${view.id}`).json(view);
  });

  router.get("/v1/entries/:id/private", limiter, noStore, auth, allowRoles(PRIVATE_READER_ROLES), async (req, res) => {
    const { id } = parseParams(req, EntryIdParam);
    const leaf = await queries.leafOf(id);
    if (leaf === undefined) throw new HttpProblem(404, "not-found", "Not found", `no entry ${id}`);
    await queries.checkAgencyScope(actorOf(tokenOf(res)), id);
    const { entry } = publicLeaf(leaf);
    res.json(privateView(entry, await queries.privateValues(id)));
  });

  // Token creation takes no Idempotency-Key: a stored response would have to
  // keep the secret token, which must exist only in this one response. A
  // client that loses the response revokes the token and creates another.
  router.post("/v1/admin/tokens", limiter, noStore, auth, allowRoles(["admin"]), requireJson, jsonBody, async (req, res) => {
    const parsed = TokenRequest.safeParse(req.body);
    if (!parsed.success) throw validationProblem("body", parsed.error);
    const { token, info } = await tokens.create(parsed.data, await queries.adminScope(tokenOf(res)));
    res.status(201).json({ ...tokenView(info), token });
  });

  router.get("/v1/admin/tokens", limiter, noStore, auth, allowRoles(["admin"]), async (_req, res) => {
    res.json({ tokens: (await tokens.list(await queries.adminScope(tokenOf(res)))).map(tokenView) });
  });

  router.delete("/v1/admin/tokens/:id", limiter, noStore, auth, allowRoles(["admin"]), async (req, res) => {
    const { id } = parseParams(req, TokenIdParam);
    res.json(tokenView(await tokens.revoke(id, await queries.adminScope(tokenOf(res)))));
  });

  return router;
}
