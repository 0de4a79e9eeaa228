/**
 * Serving a mirror's copy under `/tlog/`, through the service's own
 * tlogRouter (service/http/tlog.ts), so the paths, caching headers, gzip of
 * bundles and error answers are the service's exactly.
 *
 * What is served is bounded by the mirror checkpoint (`checkpoint` in the
 * directory), never by the files present: tiles of a sync under way are not
 * served until their checkpoint is. A partial tile or bundle narrower than
 * the one on disk is cut from it, as the service serves any width up to the
 * published one.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import { encodeEntryBundle, parseEntryBundle, resourcePath, TILE_WIDTH, widthAt, type TlogResource } from "../format/tiles";
import { parseCheckpoint } from "../log";
import type { PublishedCheckpoint, TileQueries } from "../queries/tiles";
import { HttpProblem, sendProblem, toProblem } from "../http/problem";
import { tlogRouter } from "../http/tlog";

async function readOrUndefined(file: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return undefined;
    throw e;
  }
}

/** The mirror checkpoint's body: the note up to its blank line. */
function body(note: string): string {
  const i = note.indexOf("\n\n");
  return i < 0 ? note : note.slice(0, i + 1);
}

/** The read model of a directory written by StaticLogDir, bounded by its checkpoint. */
export function dirTileQueries(dir: string): Pick<TileQueries, "checkpoint" | "resource"> {
  const checkpoint = async (): Promise<PublishedCheckpoint | null> => {
    const b = await readOrUndefined(path.join(dir, "checkpoint"));
    if (b === undefined) return null;
    const note = new TextDecoder().decode(b);
    return { size: parseCheckpoint(body(note)).size, note };
  };
  return {
    checkpoint,
    async resource(r: TlogResource): Promise<Uint8Array | undefined> {
      const cp = await checkpoint();
      if (cp === null) return undefined;
      const widest = widthAt(r.level, r.index, cp.size);
      if (widest < r.width) return undefined;
      const exact = await readOrUndefined(path.join(dir, resourcePath(r)));
      if (exact !== undefined || r.width === TILE_WIDTH) return exact;
      const wider = await readOrUndefined(path.join(dir, resourcePath({ ...r, width: widest })));
      if (wider === undefined) return undefined;
      return r.level === "entries" ? encodeEntryBundle(parseEntryBundle(wider, widest).slice(0, r.width)) : wider.subarray(0, r.width * 32);
    },
  };
}

export interface MirrorAppOptions {
  readonly dir: string;
  /** Served as JSON at /mirror/status: the sync's state (upstream, last sync, alarm). */
  readonly status?: () => unknown;
}

/** The mirror's HTTP app: /tlog/ as the service serves it, /mirror/status, and problem+json 404s. Never listens. */
export function mirrorApp(o: MirrorAppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // A mirror exists to be read in bulk: no rate limit of its own (put one in front if needed).
  const unlimited: RequestHandler = (_req, _res, next) => next();
  app.use(tlogRouter({ tiles: dirTileQueries(o.dir), limiter: unlimited }));
  app.get("/mirror/status", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json(o.status?.() ?? {});
  });
  app.use((req, _res, next) => next(new HttpProblem(404, "not-found", "Not found", `no route ${req.method} ${req.path.slice(0, 200)}`)));
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const { problem, headers } = toProblem(err);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendProblem(res, problem, headers);
  };
  app.use(onError);
  return app;
}
