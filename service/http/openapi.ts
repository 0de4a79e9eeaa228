/**
 * The OpenAPI 3.1 document served at GET /v1/openapi.json.
 *
 * Schemas come from the same zod schemas the service parses requests with
 * (records/schemas.ts, auth/tokens.ts) and builds responses with (views.ts),
 * through zod's own `z.toJSONSchema` (JSON Schema 2020-12, the dialect of
 * OpenAPI 3.1). Paths, parameters and prose are written by hand below.
 */
import { z } from "zod";
import { ENTRY_ID, entryIdPattern } from "../format/entry";
import { TokenRequest } from "../auth/tokens";
import { BatchRequest, ErasureRequest, KIND_ROLES, MAX_BATCH_RECORDS, REQUEST_SCHEMAS, type RecordKind } from "../records/schemas";
import { BATCH_PATH, ENTRY_PATHS, PRIVATE_READER_ROLES } from "./admin";
import { MAX_PAGE } from "./params";
import { PROBLEM_CONTENT_TYPE } from "./problem";
import {
  AcceptedView,
  AccessCodeView,
  AccessCodeRevokedView,
  BatchAcceptedView,
  ChainView,
  ReceiptView,
  ApplicationStatus,
  ApplicationSummaryView,
  ConsistencyProofView,
  EnterpriseView,
  EntryView,
  HealthView,
  InclusionProofView,
  LogEntriesView,
  LogEntryView,
  PrivateView,
  ProblemView,
  ProgrammeListView,
  AgencyListView,
  TotalsView,
  ProgrammeView,
  PublicEntryView,
  TokenCreatedView,
  TokenInfoView,
  TokenListView,
} from "./views";

const COMPONENT_URI = (id: string) => `#/components/schemas/${id}`;

/**
 * JSON Schemas for OpenAPI `components.schemas`, one per named zod schema.
 * A named schema used inside another becomes a `$ref` to its component.
 */
export function componentSchemas(named: Readonly<Record<string, z.ZodType>>, io: "input" | "output"): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { target: "draft-2020-12", io, unrepresentable: "any", uri: COMPONENT_URI });
  const out: Record<string, Record<string, unknown>> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _dialect, $id: _uri, id: _id, ...rest } = schema as Record<string, unknown>;
    out[id] = rest;
  }
  return out;
}

const REQUEST_SCHEMA_NAMES: Readonly<Record<RecordKind, string>> = {
  programme: "ProgrammeRequest",
  application: "ApplicationRequest",
  decision: "DecisionRequest",
  payout: "PayoutRequest",
  confirmation: "ConfirmationRequest",
  correction: "CorrectionRequest",
  agency: "AgencyRequest",
  delegation: "DelegationRequest",
};

const ENTRY_DESCRIPTIONS: Readonly<Record<RecordKind, string>> = {
  programme: "Records a subsidy programme (惠企政策): its budget, open and close dates (China Standard Time) and the four-eyes threshold for payouts.",
  application:
    "Records an enterprise's application to a programme. `private` values (contact, phone, bank account) are committed in the log as salted SHA-256 and stored off-log.",
  decision: "Records the approval or rejection of an application. The deciding official must not be the one who recorded the application.",
  payout:
    "Records a payout on an approved decision. Every payout under a decision approving at or above the programme's four-eyes threshold (needsConfirmation) counts as paid only once a second official confirms it, however small the payout.",
  confirmation: "The second official's sign-off on a payout under a decision approving at or above the programme's four-eyes threshold (four-eyes rule).",
  correction:
    "Corrects an earlier entry without changing it: replacement values (data-entry-error, superseded), a revocation, or a clawback of a payout. The log stays append-only.",
  agency:
    "Registers a government department: its code (GB/T 2260 division code of its government, '-', department code), its name, and its parent agency one level up (none for a province-level agency). Only the deployment-wide admin (an admin token whose agency is not a registered agency) may record it.",
  delegation:
    "Agency `from` lets agency `to` record into its programmes (`granted: true`) or withdraws that (`granted: false`). Recorded by an admin of `from` or the deployment-wide admin.",
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ "application/json": { schema: ref(name) } });
const problem = (description: string) => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref("Problem") } } });

const retryAfter = { "Retry-After": { schema: { type: "string", pattern: "^[0-9]+$" }, description: "Seconds to wait before retrying" } };
const RATE_LIMITED = { ...problem("Rate limit exceeded; retry after `Retry-After` seconds"), headers: retryAfter };
const COMMON_ERRORS = {
  "400": problem("Invalid path or query parameter"),
  "429": RATE_LIMITED,
};
const AUTH_ERRORS = {
  "401": problem("No token, a malformed, unknown or revoked token"),
  "403": problem("The token's role may not do this"),
};
const BODY_ERRORS = {
  "400": problem("Malformed JSON, or the body fails the schema (`errors` lists every issue); or a missing or invalid Idempotency-Key"),
  "413": problem("Body larger than the configured limit"),
  "415": {
    ...problem(
      "Content-Type is not application/json with a UTF-8 charset, or the body has a Content-Encoding other than identity: compressed request bodies are not accepted (the answer carries `Accept-Encoding: identity`)",
    ),
    headers: { "Accept-Encoding": { schema: { type: "string", enum: ["identity"] }, description: "Sent when the body was refused for its Content-Encoding" } },
  },
};

const pageParams = [
  { name: "after", in: "query", required: false, schema: { type: "string", pattern: "^(0|[1-9][0-9]*)$" }, description: "Leaf index to continue after (the `next` of the previous page)" },
  { name: "limit", in: "query", required: false, schema: { type: "string", pattern: "^[1-9][0-9]*$" }, description: `Page size, 1 to ${MAX_PAGE}, default 100` },
];
const filterParams = [
  { name: "agency", in: "query", required: false, schema: { type: "string", maxLength: 200 }, description: "Only programmes of this agency (its code, or the free text of a programme from before agencies)" },
  {
    name: "region",
    in: "query",
    required: false,
    schema: { type: "string", pattern: "^[0-9]{6}$" },
    description: "A GB/T 2260 province, prefecture or county-level code: programmes whose agency lies in it; totals of the applications in it",
  },
];
const intQuery = (name: string, required: boolean, description: string) => ({
  name,
  in: "query",
  required,
  schema: { type: "string", pattern: "^(0|[1-9][0-9]*)$" },
  description,
});
const pathParam = (name: string, description: string, pattern: string) => ({ name, in: "path", required: true, schema: { type: "string", pattern }, description });
const ENTRY_ID_PATTERN = ENTRY_ID.source;

function entryPaths(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const kind of Object.keys(ENTRY_PATHS) as RecordKind[]) {
    paths[ENTRY_PATHS[kind]] = {
      post: {
        operationId: `record${kind[0]!.toUpperCase()}${kind.slice(1)}`,
        tags: ["record"],
        summary: `Record a ${kind}`,
        description: `${ENTRY_DESCRIPTIONS[kind]}\n\nRoles: ${KIND_ROLES[kind].join(", ")}.`,
        security: [{ bearer: [] }],
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            required: true,
            schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x20-\\x7e]+$" },
            description:
              "Scoped to the token. The same key with the same request (method, path and RFC 8785 canonical body) returns the first response with `Idempotent-Replayed: true`; with a different request it is a 422.",
          },
        ],
        requestBody: { required: true, content: json(REQUEST_SCHEMA_NAMES[kind]) },
        responses: {
          "201": {
            description: "Recorded; durable in the log. A replay has the header `Idempotent-Replayed: true`.",
            headers: {
              Location: { schema: { type: "string" }, description: "/v1/entries/{id}" },
              "Idempotent-Replayed": { schema: { type: "string", enum: ["true"] } },
            },
            content: json("Accepted"),
          },
          ...BODY_ERRORS,
          ...AUTH_ERRORS,
          "409": problem("A business rule refused the request given the ledger's current state (`rule` names it)"),
          "422": problem("A business rule refused the request as sent (`rule` names it), or the Idempotency-Key was used with a different request"),
          "429": RATE_LIMITED,
          "503": {
            ...problem(
              "Nothing was recorded; retry after `Retry-After` seconds with the same Idempotency-Key. Either the store could not record the entry (type `urn:subsidy-ledger:problem:store-unavailable`), " +
                "or other replicas kept moving the log's head while it was sequenced (type `urn:subsidy-ledger:problem:sequencing-contended`), " +
                "or recording is halted while anchoring is fatally stopped (type `urn:subsidy-ledger:problem:recording-halted`; `rule` names why)",
            ),
            headers: retryAfter,
          },
        },
      },
    };
  }
  const single = paths[ENTRY_PATHS.application] as { post: Record<string, unknown> };
  paths[BATCH_PATH] = {
    post: {
      ...single.post,
      operationId: "recordBatch",
      summary: `Record up to ${MAX_BATCH_RECORDS} entries atomically`,
      description:
        "Records are checked in order, each seeing the ones before it, and appended together in one durable commit, or not at all: " +
        "a refused record refuses the whole batch, and the problem's `record` gives its index. Each record's kind must be one the token's role may record. " +
        "For bulk loading, this amortises the per-request HTTP cost.",
      requestBody: { required: true, content: json("BatchRequest") },
      responses: {
        ...(single.post["responses"] as Record<string, unknown>),
        "201": { description: "Every record is durable in the log, in order.", content: json("BatchAccepted") },
      },
    },
  };
  return paths;
}

function buildDocument(): Record<string, unknown> {
  const requests: Record<string, z.ZodType> = { TokenRequest, BatchRequest };
  requests["ErasureRequest"] = ErasureRequest;
  for (const kind of Object.keys(REQUEST_SCHEMAS) as RecordKind[]) requests[REQUEST_SCHEMA_NAMES[kind]] = REQUEST_SCHEMAS[kind];
  const responses: Record<string, z.ZodType> = {
    PublicEntry: PublicEntryView,
    Accepted: AcceptedView,
    BatchAccepted: BatchAcceptedView,
    ApplicationStatus,
    Entry: EntryView,
    LogEntry: LogEntryView,
    LogEntries: LogEntriesView,
    ApplicationSummary: ApplicationSummaryView,
    Enterprise: EnterpriseView,
    Programme: ProgrammeView,
    ProgrammeList: ProgrammeListView,
    AgencyList: AgencyListView,
    Totals: TotalsView,
    InclusionProof: InclusionProofView,
    ConsistencyProof: ConsistencyProofView,
    TokenInfo: TokenInfoView,
    TokenCreated: TokenCreatedView,
    TokenList: TokenListView,
    PrivateValues: PrivateView,
    Health: HealthView,
    Chain: ChainView,
    Receipt: ReceiptView,
    AccessCode: AccessCodeView,
    AccessCodeRevoked: AccessCodeRevokedView,
    Problem: ProblemView,
  };
  const schemas = { ...componentSchemas(requests, "input"), ...componentSchemas(responses, "output") };

  const single = (entryPaths()[ENTRY_PATHS.application] as { post: Record<string, unknown> }).post;
  const paths: Record<string, unknown> = {
    ...entryPaths(),
    "/v1/entries/{id}/erasure": {
      post: {
        ...single,
        operationId: "eraseEntry",
        tags: ["record"],
        summary: "Erase an entry's private values (crypto-shredding)",
        description:
          "Deletes the entry's private values and salts, and scrubs the request hash of the idempotency record that recorded it, in the same atomic commit that appends an `erasure` entry " +
          "naming the target, the reason code, the official and the erased field names (no personal data). The target's commitments stay in the log, so every entry still verifies; " +
          "views then show its private values as erased, never as absent. An enterprise's receipt fetched before keeps its own copy of the openings and still verifies offline. " +
          `Roles: ${KIND_ROLES.erasure.join(", ")}.`,
        parameters: [...(single["parameters"] as unknown[]), pathParam("id", "The entry whose private values are erased", ENTRY_ID_PATTERN)],
        requestBody: { required: true, content: json("ErasureRequest") },
        responses: {
          ...(single["responses"] as Record<string, unknown>),
          "404": problem("No such entry; nothing was recorded"),
          "409": problem("The entry's private values were already erased (`rule` erasure-once); nothing was recorded"),
          "422": problem("The entry has no private values (`rule` erasure-target-private), or the Idempotency-Key was used with a different request; nothing was recorded"),
        },
      },
    },
    "/v1/entries/{id}": {
      get: {
        operationId: "getEntry",
        tags: ["public"],
        summary: "A public entry",
        description: "The entry as it is in the log (private values appear only as commitments), its leaf index, whether it was revoked, and the derived status of the application or programme it is about.",
        parameters: [pathParam("id", "Entry id", ENTRY_ID_PATTERN)],
        responses: { "200": { description: "The entry", content: json("Entry") }, ...COMMON_ERRORS, "404": problem("No such entry") },
      },
    },
    "/v1/entries/{id}/private": {
      get: {
        operationId: "getPrivateValues",
        tags: ["admin"],
        summary: "An entry's private values and salts",
        description: `The off-log openings of an entry's commitments. Roles: ${PRIVATE_READER_ROLES.join(", ")}.`,
        security: [{ bearer: [] }],
        parameters: [pathParam("id", "Entry id", ENTRY_ID_PATTERN)],
        responses: { "200": { description: "The private values", content: json("PrivateValues") }, ...COMMON_ERRORS, ...AUTH_ERRORS, "404": problem("No such entry") },
      },
    },
    "/v1/entries/{id}/receipt": {
      get: {
        operationId: "getReceipt",
        tags: ["log"],
        summary: "A public receipt for an entry",
        description:
          "The entry, its inclusion proof to the latest anchored checkpoint, that checkpoint's signed note and where it was anchored. Verifies offline (`npm run verify -- --receipt FILE`) plus one contract read.",
        parameters: [pathParam("id", "Entry id", ENTRY_ID_PATTERN)],
        responses: {
          "200": { description: "The receipt", content: json("Receipt") },
          ...COMMON_ERRORS,
          "404": problem("No such entry"),
          "409": problem("The entry is not under an anchored checkpoint yet; retry after Retry-After seconds"),
          "503": problem("The service runs without a chain"),
        },
      },
    },
    "/v1/entries/{id}/receipt/private": {
      get: {
        operationId: "getEnterpriseReceipt",
        tags: ["admin"],
        summary: "The enterprise's receipt, with private values",
        description: `The public receipt plus \`openings\`: the entry's private values and salts, which verify against its commitments. Send the application's access code in \`X-Access-Code\` (it covers the application and every entry that refers to it), or a bearer token of role ${PRIVATE_READER_ROLES.join(", ")}. Wrong codes are limited per address and per application (429 once an application has had too many in 15 minutes, from any address).`,
        security: [{ bearer: [] }, { accessCode: [] }],
        parameters: [pathParam("id", "Entry id", ENTRY_ID_PATTERN)],
        responses: {
          "200": {
            description:
              "The receipt. After an erasure it carries no `openings`: the values are gone, the commitments kept, and a receipt fetched before still verifies with its own copy.",
            headers: {
              "Private-Values": {
                schema: { type: "string", pattern: "^(present|none|erased; erasure=era_[0-9a-f]{24})$" },
                description: "present; none (the entry has no private values); or erased, naming the erasure entry",
              },
            },
            content: json("Receipt"),
          },
          ...COMMON_ERRORS,
          ...AUTH_ERRORS,
          "404": problem("No such entry"),
          "409": problem("Not anchored yet"),
          "503": problem("The service runs without a chain"),
        },
      },
    },
    "/v1/applications/{id}/access-code": {
      get: {
        operationId: "getAccessCode",
        tags: ["admin"],
        summary: "Re-issue an application's access code",
        description: "The application's current code, for an enterprise that lost the one it was given. Role: admin.",
        security: [{ bearer: [] }],
        parameters: [pathParam("id", "Application id", entryIdPattern("application").source)],
        responses: { "200": { description: "The code", content: json("AccessCode") }, ...COMMON_ERRORS, ...AUTH_ERRORS, "404": problem("No such application") },
      },
    },
    "/v1/applications/{id}/access-code/revocation": {
      post: {
        operationId: "revokeAccessCode",
        tags: ["admin"],
        summary: "Revoke an application's access code and issue a new one",
        description:
          "For a leaked code: the current code is refused from now on and the new one is returned. Takes no body and no Idempotency-Key; a retry revokes again, and the current code is always available from GET …/access-code. Role: admin.",
        security: [{ bearer: [] }],
        parameters: [pathParam("id", "Application id", entryIdPattern("application").source)],
        responses: { "201": { description: "The new code", content: json("AccessCodeRevoked") }, ...COMMON_ERRORS, ...AUTH_ERRORS, "404": problem("No such application") },
      },
    },
    "/v1/log/key": {
      get: {
        operationId: "getLogKey",
        tags: ["log"],
        summary: "The log's public key",
        description: "The C2SP verifier key (`name+keyid+base64`) that signs checkpoints. Compare it with a copy published out of band before trusting it.",
        responses: { "200": { description: "Verifier key text", content: { "text/plain": { schema: { type: "string" } } } }, ...COMMON_ERRORS },
      },
    },
    "/v1/chain": {
      get: {
        operationId: "getChain",
        tags: ["log"],
        summary: "Where the log is anchored",
        responses: { "200": { description: "Chain id, contract, latest anchored checkpoint", content: json("Chain") }, ...COMMON_ERRORS, "404": problem("The service runs without a chain") },
      },
    },
    "/v1/enterprises/{creditCode}": {
      get: {
        operationId: "getEnterprise",
        tags: ["public"],
        summary: "Everything recorded about an enterprise",
        description:
          "Every entry filed under the enterprise's unified social credit code (paginated), and for each of its applications: the programme, the derived status, requested/approved/paid totals and the corrections with their reasons. An enterprise with no entries gets empty lists.",
        parameters: [pathParam("creditCode", "Unified social credit code (GB 32100-2015), check character verified", "^[0-9A-Z]{18}$"), ...pageParams],
        responses: { "200": { description: "The enterprise's records", content: json("Enterprise") }, ...COMMON_ERRORS },
      },
    },
    "/v1/enterprises/{creditCode}/feed.atom": {
      get: {
        operationId: "getEnterpriseFeed",
        tags: ["public"],
        summary: "An enterprise's Atom feed",
        description:
          "The newest 100 public entries filed under the enterprise (applications, decisions, payouts, confirmations, corrections, erasures), newest first, as an Atom 1.0 feed (RFC 4287) for feed readers. Ids are stable URNs; each entry links (relative to the feed's URL) to its portal page and its receipt. A valid credit code with no entries gets an empty feed.",
        parameters: [pathParam("creditCode", "Unified social credit code (GB 32100-2015), check character verified", "^[0-9A-Z]{18}$")],
        responses: { "200": { description: "The feed", content: { "application/atom+xml": { schema: { type: "string" } } } }, ...COMMON_ERRORS },
      },
    },
    "/v1/programmes": {
      ...(entryPaths()["/v1/programmes"] as object),
      get: {
        operationId: "listProgrammes",
        tags: ["public"],
        summary: "Programmes in log order",
        description: "Budgets, approved and paid totals, and counts and amounts by region type (urban-district, rural-county, county-level-city).",
        parameters: [...pageParams, ...filterParams],
        responses: { "200": { description: "A page of programmes", content: json("ProgrammeList") }, ...COMMON_ERRORS },
      },
    },
    "/v1/agencies": {
      ...(entryPaths()["/v1/agencies"] as object),
      get: {
        operationId: "listAgencies",
        tags: ["public"],
        summary: "Registered agencies",
        description: "Every registered agency in log order, with its parent and its government's division (province, prefecture, county) named from the pinned GB/T 2260 table.",
        responses: { "200": { description: "The agencies", content: json("AgencyList") }, ...COMMON_ERRORS },
      },
    },
    "/v1/totals": {
      get: {
        operationId: "getTotals",
        tags: ["public"],
        summary: "Totals by agency and region, with 城乡均衡 per prefecture",
        description:
          "Applications, approved and paid amounts over the live programmes of `agency` (all when absent), counting applications in `region` (all when absent), and the urban-district / rural-county / county-level-city split per prefecture. `complete` is false when a programme predates per-county tallies.",
        parameters: filterParams,
        responses: { "200": { description: "The totals", content: json("Totals") }, ...COMMON_ERRORS },
      },
    },
    "/v1/programmes/{id}": {
      get: {
        operationId: "getProgramme",
        tags: ["public"],
        summary: "A programme's budget and totals",
        parameters: [pathParam("id", "Programme id", entryIdPattern("programme").source)],
        responses: { "200": { description: "The programme", content: json("Programme") }, ...COMMON_ERRORS, "404": problem("No such programme") },
      },
    },
    "/v1/log/checkpoint": {
      get: {
        operationId: "getCheckpoint",
        tags: ["log"],
        summary: "The latest signed checkpoint",
        description: "A C2SP signed checkpoint (signed note) of the durable tree: origin, size and root hash, with an Ed25519 signature.",
        responses: { "200": { description: "Signed note text", content: { "text/plain": { schema: { type: "string" } } } }, ...COMMON_ERRORS },
      },
    },
    "/tlog/checkpoint": {
      get: {
        operationId: "getPublishedCheckpoint",
        tags: ["log"],
        summary: "The published checkpoint (C2SP tlog-tiles)",
        description: "The newest checkpoint anchored on the chain, as a C2SP signed note; 404 before the first anchoring or without a chain. Cached for 5 seconds.",
        responses: { "200": { description: "Signed note text", content: { "text/plain": { schema: { type: "string" } } } }, ...COMMON_ERRORS },
      },
    },
    "/tlog/tile/{path}": {
      get: {
        operationId: "getTile",
        tags: ["log"],
        summary: "A hash tile or entry bundle (C2SP tlog-tiles)",
        description:
          "`tile/<L>/<N>[.p/<W>]`: 256 hashes (or W for a partial tile) of tree level 8·L; `tile/entries/<N>[.p/<W>]`: the entries' leaf bytes, each after a big-endian uint16 length. N is written as x001/x234/067. Only what the published checkpoint covers is served (404 beyond it); a path not in canonical form is a 400. Full tiles are immutable (cached a year), partial ones for 5 seconds. Rate-limited apart from the API (LEDGER_RATE_TLOG_PER_MINUTE).",
        parameters: [{ name: "path", in: "path", required: true, schema: { type: "string" }, description: "The rest of the tile path, slashes included" }],
        responses: { "200": { description: "Tile bytes", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } }, ...COMMON_ERRORS },
      },
    },
    "/v1/log/entries": {
      get: {
        operationId: "getLogEntries",
        tags: ["log"],
        summary: "Log entries in order",
        description: `Entries [start, end): each with its leaf index, the exact leaf data as a string (hash it to check proofs) and the parsed entry. end defaults to the tree size and is clipped to it and to at most ${MAX_PAGE} entries.`,
        parameters: [intQuery("start", false, "First leaf index, default 0; at most the tree size"), intQuery("end", false, "One past the last leaf index")],
        responses: { "200": { description: "The entries", content: json("LogEntries") }, ...COMMON_ERRORS },
      },
    },
    "/v1/log/proof/inclusion": {
      get: {
        operationId: "getInclusionProof",
        tags: ["log"],
        summary: "Inclusion proof of a leaf",
        description: "Requires 0 ≤ index < size ≤ the tree size; size defaults to the tree size.",
        parameters: [intQuery("index", true, "Leaf index"), intQuery("size", false, "Tree size the proof is for")],
        responses: { "200": { description: "The proof", content: json("InclusionProof") }, ...COMMON_ERRORS },
      },
    },
    "/v1/log/proof/consistency": {
      get: {
        operationId: "getConsistencyProof",
        tags: ["log"],
        summary: "Consistency proof between two tree sizes",
        description: "Requires 0 ≤ from ≤ to ≤ the tree size; to defaults to the tree size.",
        parameters: [intQuery("from", true, "Earlier tree size"), intQuery("to", false, "Later tree size")],
        responses: { "200": { description: "The proof", content: json("ConsistencyProof") }, ...COMMON_ERRORS },
      },
    },
    "/v1/health": {
      get: {
        operationId: "getHealth",
        tags: ["public"],
        summary: "Service health",
        responses: { "200": { description: "Healthy", content: json("Health") }, "503": { description: "Unhealthy", content: json("Health") }, "429": RATE_LIMITED },
      },
    },
    "/v1/openapi.json": {
      get: {
        operationId: "getOpenApi",
        tags: ["public"],
        summary: "This document",
        responses: { "200": { description: "OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } }, "429": RATE_LIMITED },
      },
    },
    "/v1/admin/tokens": {
      post: {
        operationId: "createToken",
        tags: ["admin"],
        summary: "Create a token for an official",
        description:
          "Returns the bearer token once; only its SHA-256 is stored. Takes no Idempotency-Key: a stored response would have to keep the secret. Role: admin.",
        security: [{ bearer: [] }],
        requestBody: { required: true, content: json("TokenRequest") },
        responses: { "201": { description: "The new token", content: json("TokenCreated") }, ...BODY_ERRORS, ...AUTH_ERRORS, "429": RATE_LIMITED },
      },
      get: {
        operationId: "listTokens",
        tags: ["admin"],
        summary: "List tokens (never their secrets or hashes)",
        security: [{ bearer: [] }],
        responses: { "200": { description: "Every token, oldest first", content: json("TokenList") }, ...AUTH_ERRORS, "429": RATE_LIMITED },
      },
    },
    "/v1/admin/tokens/{id}": {
      delete: {
        operationId: "revokeToken",
        tags: ["admin"],
        summary: "Revoke a token",
        description: "Takes effect at once. Revoking a revoked token changes nothing. The last active admin token cannot be revoked (409). Role: admin.",
        security: [{ bearer: [] }],
        parameters: [pathParam("id", "Token id", "^tok_[0-9a-f]{16}$")],
        responses: {
          "200": { description: "The revoked token", content: json("TokenInfo") },
          ...COMMON_ERRORS,
          ...AUTH_ERRORS,
          "404": problem("No such token"),
          "409": problem("It is the last active admin token"),
        },
      },
    },
  };

  return {
    openapi: "3.1.0",
    info: {
      title: "subsidy-ledger",
      version: "1",
      description:
        "Transparent public-subsidy records (惠企政策兑现). Every record is an entry in an append-only RFC 6962 Merkle log; anyone can read records and fetch inclusion and consistency proofs against signed checkpoints. Errors are RFC 9457 problem details.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    tags: [
      { name: "record", description: "Recording entries (bearer token, role per kind)" },
      { name: "public", description: "Public reads, no token" },
      { name: "log", description: "The Merkle log: checkpoints, entries, proofs" },
      { name: "admin", description: "Tokens and private values" },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An `sl_…` token from POST /v1/admin/tokens" },
        accessCode: { type: "apiKey", in: "header", name: "X-Access-Code", description: "An enterprise's `ac_…` access code, returned when its application was recorded" },
      },
    },
  };
}

let cached: Record<string, unknown> | undefined;

/** The OpenAPI document; built once, on first use. */
export function openApiDocument(): Record<string, unknown> {
  cached ??= buildDocument();
  return cached;
}
