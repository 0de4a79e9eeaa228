/**
 * Public routes: no token, the public rate limit, and only views built by
 * ./views.ts from allow-listed fields. Private values and salts are never
 * read here: the store's openings are only touched by the admin router.
 *
 * Routes that take query parameters parse them strictly (an unknown or
 * misspelt parameter is a 400, not a silently ignored filter); routes that
 * take none ignore the query string, as caches and monitors may add one.
 */
import express, { type RequestHandler } from "express";
import type { Ledger } from "../ledger/ledger";
import { consistencyProof, inclusionProof } from "../ledger/proofs";
import type { IndexRef } from "../records/rules";
import type { EntryState } from "../records/state";
import type { LedgerStore, StoredLeaf } from "../store/store";
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
} from "./params";
import { HttpProblem } from "./problem";
import {
  applicationSummary,
  applicationStatus,
  programmeView,
  publicLeaf,
  type BelongsToView,
  type CorrectionSummaryView,
  type EnterpriseView,
  type EntryView,
  type LogEntryView,
} from "./views";

/**
 * Lowercase hex, as toHex (service/log), for the proof routes: node:buffer builds each string in
 * one allocation, where toHex's concatenation makes 32 intermediate strings per
 * hash, about 20 KB of garbage per inclusion proof (and so more frequent scavenges).
 */
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

export interface PublicRouteDeps {
  readonly ledger: Ledger;
  readonly store: LedgerStore;
  readonly limiter: RequestHandler;
  readonly signedCheckpoint: () => Promise<string>;
  readonly health?: () => Promise<Record<string, unknown> & { ok: boolean }>;
  readonly openApi: () => object;
}

/** Most enterprise entries one summary pass reads; beyond it `applicationsComplete` is false. */
export const MAX_ENTERPRISE_SUMMARY_SCAN = 10_000;

const notFound = (what: string) => new HttpProblem(404, "not-found", "Not found", `no ${what}`);

type Kinded<K extends EntryState["kind"]> = Extract<EntryState, { kind: K }>;

async function stateOf<K extends EntryState["kind"]>(store: LedgerStore, id: string, kind: K): Promise<Kinded<K> | undefined> {
  const doc = await store.state(`e:${id}`);
  return doc !== undefined && doc.kind === kind ? (doc as Kinded<K>) : undefined;
}

export async function anyStateOf(store: LedgerStore, id: string): Promise<EntryState | undefined> {
  const doc = await store.state(`e:${id}`);
  return doc === undefined || doc.kind === "code" ? undefined : doc;
}

/** The application an entry is about (following confirmations and corrections), or null for programme-level entries. */
export async function applicationIdOf(store: LedgerStore, doc: EntryState | undefined): Promise<string | null> {
  for (let hops = 0; doc !== undefined && hops < 3; hops++) {
    switch (doc.kind) {
      case "application":
        return doc.id;
      case "decision":
      case "payout":
        return doc.applicationId;
      case "confirmation":
        doc = await anyStateOf(store, doc.payoutId);
        break;
      case "correction":
        doc = await anyStateOf(store, doc.targetId);
        break;
      case "programme":
        return null;
    }
  }
  return null;
}

async function belongsTo(store: LedgerStore, doc: EntryState | undefined): Promise<BelongsToView | null> {
  let target = doc;
  if (target?.kind === "correction") target = await anyStateOf(store, target.targetId);
  if (target?.kind === "programme") return { kind: "programme", id: target.id, status: target.revoked ? "revoked" : "active" };
  const appId = await applicationIdOf(store, target);
  if (appId === null) return null;
  const app = await stateOf(store, appId, "application");
  if (app === undefined) return null;
  const dec = app.decisionId === null ? undefined : await stateOf(store, app.decisionId, "decision");
  return { kind: "application", id: app.id, status: applicationStatus(app, dec) };
}

/** Leaf indexes after `after`, one more than `limit` asked so the caller knows whether a next page exists. */
async function page(store: LedgerStore, ref: IndexRef, after: number | undefined, limit: number): Promise<{ indexes: number[]; next: number | null }> {
  const found = await store.indexed(ref, { ...(after !== undefined ? { after } : {}), limit: limit + 1 });
  const indexes = found.slice(0, limit);
  return { indexes, next: found.length > limit ? indexes[indexes.length - 1]! : null };
}

export function publicRouter(deps: PublicRouteDeps): express.Router {
  const { ledger, store, limiter } = deps;
  const router = express.Router({ caseSensitive: true, strict: true });

  async function leafAt(index: number): Promise<StoredLeaf> {
    const leaf = index < ledger.size ? await store.leaf(index) : undefined;
    if (leaf === undefined) throw notFound(`leaf ${index}`);
    return leaf;
  }

  router.get("/v1/health", limiter, async (_req, res) => {
    let health: Record<string, unknown> & { ok: boolean };
    try {
      health = deps.health ? await deps.health() : { ok: true, treeSize: ledger.size };
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
    const index = await store.indexOf(id);
    if (index === undefined || index >= ledger.size) throw notFound(`entry ${id}`);
    const { entry } = publicLeaf(await leafAt(index));
    const doc = await anyStateOf(store, id);
    const view: EntryView = {
      id: entry.id,
      kind: entry.kind,
      leafIndex: index,
      revoked: doc !== undefined && "revoked" in doc ? doc.revoked : false,
      belongsTo: await belongsTo(store, doc),
      entry,
    };
    res.json(view);
  });

  router.get("/v1/enterprises/:creditCode", limiter, async (req, res) => {
    const { creditCode } = parseParams(req, CreditCodeParam);
    const { after, limit = DEFAULT_PAGE } = parseQuery(req, PageQuery);
    const ref: IndexRef = { name: "enterprise", value: creditCode };

    const { indexes, next } = await page(store, ref, after, limit);
    const entries: EnterpriseView["entries"] = [];
    for (const i of indexes) entries.push({ leafIndex: i, entry: publicLeaf(await leafAt(i)).entry });

    // One pass over every entry of the enterprise (bounded) finds its
    // applications and the corrections of anything belonging to them.
    const appIds: string[] = [];
    const corrections = new Map<string, CorrectionSummaryView[]>();
    let cursor = -1;
    let scanned = 0;
    let complete = true;
    for (;;) {
      const chunk = await store.indexed(ref, { after: cursor, limit: MAX_PAGE });
      if (chunk.length === 0) break;
      for (const i of chunk) {
        const leaf = await leafAt(i);
        if (leaf.id.startsWith("app_")) appIds.push(leaf.id);
        else if (leaf.id.startsWith("cor_")) {
          const { entry } = publicLeaf(leaf);
          const targetId = String(entry.body["targetId"]);
          const target = await anyStateOf(store, targetId);
          const appId = await applicationIdOf(store, target);
          if (appId === null || target === undefined) continue;
          const clawback = entry.body["clawbackFen"];
          const list = corrections.get(appId) ?? [];
          list.push({
            id: entry.id,
            leafIndex: i,
            recordedAt: entry.recordedAt,
            targetId,
            targetKind: target.kind,
            reasonCode: String(entry.body["reasonCode"]),
            reasonText: String(entry.body["reasonText"]),
            ...(typeof clawback === "string" ? { clawbackFen: clawback } : {}),
          });
          corrections.set(appId, list);
        }
      }
      cursor = chunk[chunk.length - 1]!;
      scanned += chunk.length;
      if (scanned >= MAX_ENTERPRISE_SUMMARY_SCAN) {
        complete = (await store.indexed(ref, { after: cursor, limit: 1 })).length === 0;
        break;
      }
    }

    const applications: EnterpriseView["applications"] = [];
    const totals = { applications: 0, requested: 0n, approved: 0n, paid: 0n };
    for (const appId of appIds) {
      const app = await stateOf(store, appId, "application");
      if (app === undefined) continue;
      const dec = app.decisionId === null ? undefined : await stateOf(store, app.decisionId, "decision");
      const prg = await stateOf(store, app.programmeId, "programme");
      const summary = applicationSummary(app, dec, prg, corrections.get(appId) ?? []);
      applications.push(summary);
      if (!app.revoked) {
        totals.applications += 1;
        totals.requested += BigInt(summary.requestedFen);
        totals.approved += BigInt(summary.approvedFen);
        totals.paid += BigInt(summary.paidFen);
      }
    }
    const view: EnterpriseView = {
      creditCode,
      totals: {
        applications: totals.applications,
        requestedFen: totals.requested.toString(),
        approvedFen: totals.approved.toString(),
        paidFen: totals.paid.toString(),
      },
      applications,
      applicationsComplete: complete,
      entries,
      next,
    };
    res.json(view);
  });

  router.get("/v1/programmes", limiter, async (req, res) => {
    const { after, limit = DEFAULT_PAGE } = parseQuery(req, PageQuery);
    const { indexes, next } = await page(store, { name: "kind", value: "programme" }, after, limit);
    const programmes = [];
    for (const i of indexes) {
      const leaf = await leafAt(i);
      const prg = await stateOf(store, leaf.id, "programme");
      if (prg !== undefined) programmes.push(programmeView(prg, i));
    }
    res.json({ programmes, next });
  });

  router.get("/v1/programmes/:id", limiter, async (req, res) => {
    const { id } = parseParams(req, ProgrammeIdParam);
    const prg = await stateOf(store, id, "programme");
    const index = await store.indexOf(id);
    if (prg === undefined || index === undefined || index >= ledger.size) throw notFound(`programme ${id}`);
    res.json(programmeView(prg, index));
  });

  router.get("/v1/log/checkpoint", limiter, async (_req, res) => {
    const note = await deps.signedCheckpoint();
    res.setHeader("Cache-Control", "no-cache");
    res.type("text/plain; charset=utf-8").send(note);
  });

  router.get("/v1/log/entries", limiter, async (req, res) => {
    const q = parseQuery(req, LogEntriesQuery);
    const treeSize = ledger.size;
    const start = q.start ?? 0;
    if (start > treeSize) throw new HttpProblem(400, "bad-range", "Invalid range", `start ${start} is beyond the tree size ${treeSize}`);
    if (q.end !== undefined && q.end < start) throw new HttpProblem(400, "bad-range", "Invalid range", `end ${q.end} is before start ${start}`);
    const end = Math.min(q.end ?? treeSize, treeSize, start + MAX_PAGE);
    const leaves = await store.leaves(start, end);
    if (leaves.length !== end - start) throw new Error(`store returned ${leaves.length} leaves for [${start}, ${end})`);
    const entries: LogEntryView[] = leaves.map((leaf) => {
      const { entry, text } = publicLeaf(leaf);
      return { leafIndex: leaf.index, leaf: text, entry };
    });
    res.json({ treeSize, start, end, entries });
  });

  router.get("/v1/log/proof/inclusion", limiter, async (req, res) => {
    const q = parseQuery(req, InclusionQuery);
    const treeSize = ledger.size;
    const size = q.size ?? treeSize;
    if (size > treeSize) throw new HttpProblem(400, "bad-range", "Invalid range", `size ${size} exceeds the tree size ${treeSize}`);
    if (q.index >= size) throw new HttpProblem(400, "bad-range", "Invalid range", `index ${q.index} is not below size ${size}`);
    const r = await inclusionProof(store, q.index, size, treeSize);
    res.json({ index: q.index, size, leafHash: hex(r.leafHash), rootHash: hex(r.root), proof: r.proof.map(hex) });
  });

  router.get("/v1/log/proof/consistency", limiter, async (req, res) => {
    const q = parseQuery(req, ConsistencyQuery);
    const treeSize = ledger.size;
    const to = q.to ?? treeSize;
    if (to > treeSize) throw new HttpProblem(400, "bad-range", "Invalid range", `to ${to} exceeds the tree size ${treeSize}`);
    if (q.from > to) throw new HttpProblem(400, "bad-range", "Invalid range", `from ${q.from} is after to ${to}`);
    const r = await consistencyProof(store, q.from, to, treeSize);
    res.json({ from: q.from, to, fromRootHash: hex(r.root1), toRootHash: hex(r.root2), proof: r.proof.map(hex) });
  });

  return router;
}
