/**
 * `GET /v1/enterprises/:creditCode/feed.atom`: the enterprise's Atom feed
 * (service/format/atom.ts) of its newest public entries, for feed readers.
 *
 * A valid credit code nothing was recorded about answers an empty feed, not
 * 404: an enterprise subscribes before its first application, and feed
 * readers treat a 404 as a broken subscription (many stop polling), while an
 * empty feed starts showing entries as soon as there are some. An invalid
 * credit code is a 400 problem, as on the other enterprise routes.
 */
import express, { type RequestHandler } from "express";
import { ATOM_CONTENT_TYPE, enterpriseFeedXml } from "../format/atom";
import type { Queries } from "../queries/queries";
import { CreditCodeParam, parseParams } from "./params";
import { publicLeaf } from "./views";

/** Entries one feed document carries: the newest ones; readers keep what they saw before. */
export const FEED_ENTRIES = 100;

export interface FeedRouteDeps {
  readonly queries: Pick<Queries, "enterpriseLatest">;
  readonly limiter: RequestHandler;
  /** The log's origin line: the feed's and its entries' ids are built from it. */
  readonly origin: () => string;
}

export function feedRouter(deps: FeedRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get("/v1/enterprises/:creditCode/feed.atom", deps.limiter, async (req, res) => {
    const { creditCode } = parseParams(req, CreditCodeParam);
    // Only the allow-listed public view of each entry reaches the feed: never private values or salts.
    const entries = (await deps.queries.enterpriseLatest(creditCode, FEED_ENTRIES)).map((leaf) => publicLeaf(leaf).entry);
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("Content-Type", ATOM_CONTENT_TYPE);
    res.send(enterpriseFeedXml({ origin: deps.origin(), creditCode, entries }));
  });
  return router;
}
