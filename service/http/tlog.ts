/**
 * The log published as C2SP tlog-tiles under `/tlog/`: the checkpoint, hash
 * tiles and entry bundles, as bytes from the read model (service/queries/tiles.ts),
 * which bounds them by the published checkpoint.
 *
 * Caching. Full tiles and bundles never change: a year, immutable. The
 * checkpoint changes, and partial tiles are superseded by wider ones and may
 * go once the full tile exists: {@link SHORT_CACHE_SECONDS}. Everything here
 * is public, so any origin may read it (a mirror or a portal elsewhere).
 *
 * Compression. Entry bundles (JSON text, several-fold smaller gzipped) are
 * sent gzipped to a client that accepts gzip, as the spec recommends; full
 * bundles are compressed once and kept ({@link GZIP_CACHE}). Hash tiles are
 * random bytes and go as they are.
 *
 * Errors. A path under /tlog/tile/ that is not a canonical tile path is a
 * 400 (the caller's mistake); a well-formed tile the published tree does not
 * reach, and the checkpoint before anything is published, are 404s.
 */
import { promisify } from "node:util";
import { gzip as gzipCb } from "node:zlib";
import express, { type RequestHandler } from "express";
import { parseResourcePath, TileCoordinateError, TILE_WIDTH } from "../format/tiles";
import type { TileQueries } from "../queries/tiles";
import { HttpProblem } from "./problem";

/** Seconds the checkpoint and partial tiles may be cached. */
export const SHORT_CACHE_SECONDS = 5;
export const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";
const SHORT_CACHE = `public, max-age=${SHORT_CACHE_SECONDS}`;

/** Full entry bundles kept gzipped. */
export const GZIP_CACHE = 256;
const gzip = promisify(gzipCb);

export interface TlogRouteDeps {
  readonly tiles: Pick<TileQueries, "checkpoint" | "resource">;
  /** The /tlog/ rate limit, set apart from the API's: mirrors and CDNs read tiles in bulk. */
  readonly limiter: RequestHandler;
}

export function tlogRouter(deps: TlogRouteDeps): express.Router {
  const { tiles, limiter } = deps;
  const router = express.Router({ caseSensitive: true, strict: true });
  const gzipped = new Map<string, Buffer>();
  const cors: RequestHandler = (_req, res, next) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
    next();
  };

  router.get("/tlog/checkpoint", limiter, cors, async (_req, res) => {
    const cp = await tiles.checkpoint();
    if (cp === null)
      throw new HttpProblem(404, "not-published", "Not published", "no checkpoint is published yet: the log publishes only checkpoints anchored on the chain and, with a witness policy, cosigned by its quorum; /v1/health says what it waits for");
    res.setHeader("Cache-Control", SHORT_CACHE);
    res.type("text/plain; charset=utf-8").send(cp.note);
  });

  router.get("/tlog/tile/*path", limiter, cors, async (req, res) => {
    let resource;
    try {
      resource = parseResourcePath(req.path.slice("/tlog/".length));
    } catch (e) {
      if (e instanceof TileCoordinateError) throw new HttpProblem(400, "bad-tile-path", "Invalid tile path", e.message);
      throw e;
    }
    const bytes = await tiles.resource(resource);
    if (bytes === undefined) throw new HttpProblem(404, "not-found", "Not found", `the published tree does not reach ${req.path}`);
    const full = resource.width === TILE_WIDTH;
    res.setHeader("Cache-Control", full ? IMMUTABLE_CACHE : SHORT_CACHE);
    res.type("application/octet-stream");
    let body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (resource.level === "entries") {
      res.setHeader("Vary", "Accept-Encoding");
      if (req.acceptsEncodings("gzip", "identity") === "gzip") {
        const key = String(resource.index);
        let zipped = full ? gzipped.get(key) : undefined;
        if (zipped === undefined) {
          zipped = await gzip(body);
          if (full) {
            if (gzipped.size >= GZIP_CACHE) gzipped.delete(gzipped.keys().next().value!);
            gzipped.set(key, zipped);
          }
        }
        res.setHeader("Content-Encoding", "gzip");
        body = zipped;
      }
    }
    res.send(body);
  });

  router.use("/tlog", limiter, (req, _res, next) => {
    next(new HttpProblem(404, "not-found", "Not found", `no resource ${req.method} /tlog${req.path.length > 200 ? `${req.path.slice(0, 200)}…` : req.path}`));
  });
  return router;
}
