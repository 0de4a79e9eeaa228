/**
 * Public routes: no token, the public rate limit, and only views built by
 * ./views.ts from allow-listed fields. Private values and salts are never
 * read here: the queries this router gets ({@link PublicQueries}) cannot
 * read openings.
 *
 * Routes that take query parameters parse them strictly (an unknown or
 * misspelt parameter is a 400, not a silently ignored filter); routes that
 * take none ignore the query string, as caches and monitors may add one.
 */
import express, { type RequestHandler } from "express";
import type { Queries } from "../queries/queries";
import {
  ConsistencyQuery,
  CreditCodeParam,
  DEFAULT_PAGE,
  EntryIdParam,
  InclusionQuery,
  LogEntriesQuery,
  MAX_PAGE,
  PageQuery,
  parseParams,
  parseQuery,
  ProgrammeIdParam,
  ProgrammeListQuery,
  TotalsQuery,
} from "./params";
import { HttpProblem } from "./problem";
import { agencyView, enterpriseView, erasureInfo, programmeView, publicLeaf, totalsView, type EntryView, type LogEntryView } from "./views";

/**
 * Lowercase hex, as toHex (service/log), for the proof routes: node:buffer builds each string in
 * one allocation, where toHex's concatenation makes 32 intermediate strings per hash.
 */
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** What the public routes may ask: no openings, no receipts. */
export type PublicQueries = Pick<
  Queries,
  "size" | "entry" | "enterprise" | "programmes" | "programme" | "leaves" | "inclusionProof" | "consistencyProof" | "totals" | "agencies"
>;

export interface PublicRouteDeps {
  readonly queries: PublicQueries;
  readonly limiter: RequestHandler;
  readonly signedCheckpoint: () => Promise<string>;
  readonly health?: () => Promise<Record<string, unknown> & { ok: boolean }>;
  readonly openApi: () => object;
}

const notFound = (what: string) => new HttpProblem(404, "not-found", "Not found", `no ${what}`);

export function publicRouter(deps: PublicRouteDeps): express.Router {
  const { queries, limiter } = deps;
  const router = express.Router({ caseSensitive: true, strict: true });

  router.get("/v1/health", limiter, async (_req, res) => {
    let health: Record<string, unknown> & { ok: boolean };
    try {
      health = deps.health ? await deps.health() : { ok: true, treeSize: queries.size };
    } catch {
      throw new HttpProblem(503, "unhealthy", "Service unhealthy", "the health check failed");
    }
    res.setHeader("Cache-Control", "no-store");
    res.status(health.ok ? 200 : 503).json(health);
  });

  router.get("/v1/openapi.json", limiter, (_req, res) => {
    res.json(deps.openApi());
  });

  router.get("/v1/entries/:id", limiter, async (req, res) => {
    const { id } = parseParams(req, EntryIdParam);
    const found = await queries.entry(id);
    if (found === undefined) throw notFound(`entry ${id}`);
    const { entry } = publicLeaf(found.leaf);
    const view: EntryView = {
      id: entry.id,
      kind: entry.kind,
      leafIndex: found.leaf.index,
      revoked: found.revoked,
      belongsTo: found.belongsTo,
      erasure: found.erasure === null ? null : erasureInfo(found.erasure),
      entry,
    };
    res.json(view);
  });

  router.get("/v1/enterprises/:creditCode", limiter, async (req, res) => {
    const { creditCode } = parseParams(req, CreditCodeParam);
    const { after, limit = DEFAULT_PAGE } = parseQuery(req, PageQuery);
    res.json(enterpriseView(creditCode, await queries.enterprise(creditCode, { ...(after !== undefined ? { after } : {}), limit })));
  });

  router.get("/v1/programmes", limiter, async (req, res) => {
    const { after, limit = DEFAULT_PAGE, agency, region } = parseQuery(req, ProgrammeListQuery);
    const filter = { ...(agency !== undefined ? { agency } : {}), ...(region !== undefined ? { region } : {}) };
    const { items, next } = await queries.programmes({ ...(after !== undefined ? { after } : {}), limit }, filter);
    res.json({ programmes: items.map(programmeView), next });
  });

  router.get("/v1/totals", limiter, async (req, res) => {
    const { agency, region } = parseQuery(req, TotalsQuery);
    res.json(totalsView(await queries.totals({ ...(agency !== undefined ? { agency } : {}), ...(region !== undefined ? { region } : {}) })));
  });

  router.get("/v1/agencies", limiter, async (_req, res) => {
    res.json({ agencies: (await queries.agencies()).map(agencyView) });
  });

  router.get("/v1/programmes/:id", limiter, async (req, res) => {
    const { id } = parseParams(req, ProgrammeIdParam);
    const found = await queries.programme(id);
    if (found === undefined) throw notFound(`programme ${id}`);
    res.json(programmeView(found));
  });

  router.get("/v1/log/checkpoint", limiter, async (_req, res) => {
    const note = await deps.signedCheckpoint();
    res.setHeader("Cache-Control", "no-cache");
    res.type("text/plain; charset=utf-8").send(note);
  });

  router.get("/v1/log/entries", limiter, async (req, res) => {
    const q = parseQuery(req, LogEntriesQuery);
    const treeSize = queries.size;
    const start = q.start ?? 0;
    if (start > treeSize) throw new HttpProblem(400, "bad-range", "Invalid range", `start ${start} is beyond the tree size ${treeSize}`);
    if (q.end !== undefined && q.end < start) throw new HttpProblem(400, "bad-range", "Invalid range", `end ${q.end} is before start ${start}`);
    const end = Math.min(q.end ?? treeSize, treeSize, start + MAX_PAGE);
    const leaves = await queries.leaves(start, end);
    const entries: LogEntryView[] = leaves.map((leaf) => {
      const { entry, text } = publicLeaf(leaf);
      return { leafIndex: leaf.index, leaf: text, entry };
    });
    res.json({ treeSize, start, end, entries });
  });

  router.get("/v1/log/proof/inclusion", limiter, async (req, res) => {
    const q = parseQuery(req, InclusionQuery);
    const treeSize = queries.size;
    const size = q.size ?? treeSize;
    if (size > treeSize) throw new HttpProblem(400, "bad-range", "Invalid range", `size ${size} exceeds the tree size ${treeSize}`);
    if (q.index >= size) throw new HttpProblem(400, "bad-range", "Invalid range", `index ${q.index} is not below size ${size}`);
    const r = await queries.inclusionProof(q.index, size);
    res.json({ index: q.index, size, leafHash: hex(r.leafHash), rootHash: hex(r.root), proof: r.proof.map(hex) });
  });

  router.get("/v1/log/proof/consistency", limiter, async (req, res) => {
    const q = parseQuery(req, ConsistencyQuery);
    const treeSize = queries.size;
    const to = q.to ?? treeSize;
    if (to > treeSize) throw new HttpProblem(400, "bad-range", "Invalid range", `to ${to} exceeds the tree size ${treeSize}`);
    if (q.from > to) throw new HttpProblem(400, "bad-range", "Invalid range", `from ${q.from} is after to ${to}`);
    const r = await queries.consistencyProof(q.from, to);
    res.json({ from: q.from, to, fromRootHash: hex(r.root1), toRootHash: hex(r.root2), proof: r.proof.map(hex) });
  });

  return router;
}
