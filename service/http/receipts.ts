/**
 * Receipts and what a verifier needs besides them.
 *
 * Public (public rate limit, no token):
 * - `GET /v1/entries/:id/receipt`: the public receipt (service/log/receipt.ts);
 *   409 `not-yet-anchored` with Retry-After until an anchored checkpoint covers
 *   the entry; 503 `anchoring-off` when the service runs without a chain.
 * - `GET /v1/log/key`: the log's C2SP verifier key, text/plain.
 * - `GET /v1/chain`: chain id, contract, first block, latest anchored checkpoint.
 *
 * Enterprise (admin rate limit):
 * - `GET /v1/entries/:id/receipt/private`: the receipt with the entry's private
 *   values and salts, for the holder of the application's access code
 *   (`X-Access-Code`) or a token whose role may read private values.
 * - `GET /v1/applications/:id/access-code`: an admin re-issues a lost code.
 *
 * Access codes travel in a header, never in the URL, so they stay out of
 * access logs and proxies' logs.
 */
import express, { type Request, type RequestHandler, type Response } from "express";
import type { AccessCodes } from "../auth/access-codes";
import { NotYetAnchored, type AnchoredPoint } from "../ledger/receipts";
import type { Tokens } from "./tokens";
import type { Receipt } from "../log";
import type { Queries } from "../queries/queries";
import { actorOf } from "../auth/tokens";
import { allowRoles, authenticated, noStore, tokenOf } from "./middleware";
import { EntryIdParam, parseParams } from "./params";
import { HttpProblem } from "./problem";
import { PRIVATE_READER_ROLES } from "./admin";
import { publicLeaf } from "./views";

/** Where the log is anchored, when anchoring is on. */
export interface AnchoringInfo {
  readonly chainId: number;
  readonly contract: string;
  /** Block to read the contract's events from. */
  readonly fromBlock: number;
  /** The latest checkpoint anchored with enough confirmations, or null. */
  anchored(): AnchoredPoint | null;
  /**
   * The checkpoint receipts cite, or null: the published one (/tlog/checkpoint). With a witness policy
   * that is the newest one its quorum cosigned, its note carrying their cosignatures; without one, the anchored one.
   */
  cited(): AnchoredPoint | null;
  /** Seconds a client should wait before asking again for an entry not yet anchored. */
  readonly retryAfterSeconds: number;
}

export interface ReceiptRouteDeps {
  readonly queries: Pick<Queries, "leafOf" | "applicationOf" | "application" | "receipt" | "erasureOf" | "checkAgencyScope">;
  readonly tokens: Pick<Tokens, "authenticate">;
  readonly publicLimiter: RequestHandler;
  readonly adminLimiter: RequestHandler;
  /** The log's C2SP verifier key. */
  readonly logKey: string;
  readonly accessCodes: AccessCodes;
  /** Absent when the service runs without a chain. */
  readonly anchoring?: AnchoringInfo;
}

export const ACCESS_CODE_HEADER = "x-access-code";

/** On an enterprise receipt: `present`, `none`, or `erased; erasure=<id>` (the values were erased, the commitments kept). */
export const PRIVATE_VALUES_HEADER = "Private-Values";
/** Revokes an application's access code and issues the next one. */
export const ACCESS_CODE_REVOCATION_PATH = "/v1/applications/:id/access-code/revocation";

export function receiptRouter(deps: ReceiptRouteDeps): express.Router {
  const { queries, tokens, anchoring, accessCodes } = deps;
  const router = express.Router({ caseSensitive: true, strict: true });

  async function entryAt(id: string) {
    const leaf = await queries.leafOf(id);
    if (leaf === undefined) throw new HttpProblem(404, "not-found", "Not found", `no entry ${id}`);
    return { leafIndex: leaf.index, entry: publicLeaf(leaf).entry };
  }

  async function receiptFor(id: string, withOpenings: boolean): Promise<Receipt> {
    if (anchoring === undefined)
      throw new HttpProblem(503, "anchoring-off", "Anchoring is off", "this service runs without a chain, so it has no anchored checkpoints to issue receipts against");
    const { leafIndex, entry } = await entryAt(id);
    try {
      return await queries.receipt({
        leafIndex,
        entry: entry as unknown as Receipt["entry"],
        anchored: anchoring.cited(),
        logKey: deps.logKey,
        ...(withOpenings ? { openingsOf: id } : {}),
      });
    } catch (e) {
      if (e instanceof NotYetAnchored)
        throw new HttpProblem(
          409,
          "not-yet-anchored",
          "Not anchored yet",
          `entry ${id} (leaf ${leafIndex}) is not under a published checkpoint yet (one anchored on the chain and, with a witness policy, cosigned by its quorum); the published size is ${e.anchoredSize}. Try again shortly.`,
          { headers: { "Retry-After": String(anchoring.retryAfterSeconds) } },
        );
      throw e;
    }
  }

  function sendReceipt(res: Response, id: string, receipt: Receipt): void {
    res.setHeader("Content-Disposition", `attachment; filename="receipt-${id}.json"`);
    res.json(receipt);
  }

  router.get("/v1/log/key", deps.publicLimiter, (_req, res) => {
    res.type("text/plain; charset=utf-8").send(`${deps.logKey}\n`);
  });

  router.get("/v1/chain", deps.publicLimiter, (_req, res) => {
    if (anchoring === undefined) throw new HttpProblem(404, "anchoring-off", "Anchoring is off", "this service runs without a chain");
    const a = anchoring.anchored();
    res.setHeader("Cache-Control", "no-cache");
    res.json({
      chainId: anchoring.chainId,
      contract: anchoring.contract,
      fromBlock: anchoring.fromBlock,
      anchored:
        a === null
          ? null
          : { size: a.size, rootHex: a.rootHex, checkpointIndex: a.checkpointIndex, txHash: a.txHash, blockNumber: a.blockNumber, anchoredAt: a.anchoredAt },
    });
  });

  router.get("/v1/entries/:id/receipt", deps.publicLimiter, async (req, res) => {
    const { id } = parseParams(req, EntryIdParam);
    sendReceipt(res, id, await receiptFor(id, false));
  });

  /** An access code for the entry's application, or else a bearer token that may read private values. */
  const enterpriseOrOfficial: RequestHandler = async (req: Request, res: Response, next) => {
    const code = req.get(ACCESS_CODE_HEADER);
    if (code === undefined) {
      res.locals["token"] = await tokens.authenticate(req.get("authorization"));
      return allowRoles(PRIVATE_READER_ROLES)(req, res, next);
    }
    const { id } = parseParams(req, EntryIdParam);
    const appId = await queries.applicationOf(id);
    const verdict = appId === null ? "invalid" : await accessCodes.verify(code, appId);
    if (verdict === "rate-limited")
      throw new HttpProblem(429, "access-code-rate-limited", "Too many wrong access codes", `too many wrong access codes for the application of entry ${id}; try again later`, {
        headers: { "Retry-After": "900" },
      });
    if (verdict !== "valid") throw new HttpProblem(403, "access-code-invalid", "Access code not valid", `the access code does not open entry ${id}`);
    next();
  };

  // After an erasure the receipt carries no `openings` (not even an empty one) and says so in
  // PRIVATE_VALUES_HEADER, so "erased, commitments kept" never reads as "no private values".
  // An official reads private values only within its agency's scope, as GET /v1/entries/:id/private does.
  router.get("/v1/entries/:id/receipt/private", deps.adminLimiter, noStore, enterpriseOrOfficial, async (req, res) => {
    const { id } = parseParams(req, EntryIdParam);
    if (res.locals["token"] !== undefined) await queries.checkAgencyScope(actorOf(tokenOf(res)), id);
    const erasure = await queries.erasureOf(id);
    const receipt = await receiptFor(id, erasure === undefined);
    res.setHeader(PRIVATE_VALUES_HEADER, erasure === undefined ? (receipt.openings !== undefined && Object.keys(receipt.openings).length > 0 ? "present" : "none") : `erased; erasure=${erasure.id}`);
    sendReceipt(res, id, receipt);
  });

  router.get("/v1/applications/:id/access-code", deps.adminLimiter, noStore, authenticated(tokens), allowRoles(["admin"]), async (req, res) => {
    const { id } = parseParams(req, EntryIdParam);
    if ((await queries.application(id)) === undefined) throw new HttpProblem(404, "not-found", "Not found", `no application ${id}`);
    await queries.checkAgencyScope(actorOf(tokenOf(res)), id);
    res.json({ applicationId: id, accessCode: await accessCodes.current(id) });
  });

  // No Idempotency-Key: a retried revocation only revokes again, and the current code is always one GET away.
  router.post(ACCESS_CODE_REVOCATION_PATH, deps.adminLimiter, noStore, authenticated(tokens), allowRoles(["admin"]), async (req, res) => {
    const { id } = parseParams(req, EntryIdParam);
    if ((await queries.application(id)) === undefined) throw new HttpProblem(404, "not-found", "Not found", `no application ${id}`);
    await queries.checkAgencyScope(actorOf(tokenOf(res)), id);
    res.status(201).json({ applicationId: id, ...(await accessCodes.revoke(id)) });
  });

  return router;
}
