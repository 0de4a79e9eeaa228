/**
 * Logs for the mirror's tests: an in-memory tiled log of arbitrary entries
 * (so a test can fork it), signed with the fixture's key or another, and an
 * HTTP server for a read model behind the service's own /tlog/ router.
 */
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express, { type ErrorRequestHandler } from "express";
import { encodeEntryBundle } from "../../service/format/tiles";
import { LogReadError, type LogReader } from "../../service/format/log-reader";
import { hashLeaf, MemoryTree, parseSignerKey, signCheckpoint } from "../../service/log";
import { sendProblem, toProblem } from "../../service/http/problem";
import { tlogRouter } from "../../service/http/tlog";
import type { TileQueries } from "../../service/queries/tiles";
import { TLOG_KEYS, TLOG_ORIGIN } from "../tlog/fixture";

export function entry(i: number, branch = "main"): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      id: `e${i}`,
      kind: "application",
      recordedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      branch,
      pad: "x".repeat(i % 50),
    })
  );
}

/** A tiled log of `entries`, publishing a checkpoint of `size` of them, signed with `signerKey` (default: the fixture's log key). */
export function memoryLog(entries: readonly Uint8Array[], size: number, signerKey = TLOG_KEYS.signerKey): LogReader & { note: string } {
  const tree = new MemoryTree(entries.map(hashLeaf));
  const note = signCheckpoint({ origin: TLOG_ORIGIN, size, rootHash: tree.root(size), extensions: [] }, parseSignerKey(signerKey));
  const check = (level: number, index: number, width: number) => {
    if ((index * 256 + width) * 256 ** level > size) throw new LogReadError("NOT_FOUND", `tile ${level}/${index}/${width} is beyond size ${size}`);
  };
  return {
    note,
    readCheckpoint: async () => new TextEncoder().encode(note),
    async readTile(level, index, width) {
      check(level, index, width);
      const out = new Uint8Array(width * 32);
      for (let i = 0; i < width; i++) out.set(tree.node({ level: 8 * level, index: index * 256 + i }), i * 32);
      return out;
    },
    async readEntryBundle(index, width) {
      check(0, index, width);
      return encodeEntryBundle(entries.slice(index * 256, index * 256 + width));
    },
  };
}

export interface Served {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serves `app` on a free port of 127.0.0.1. */
export async function serve(app: express.Express): Promise<Served> {
  const server = createServer(app);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, close: () => new Promise<void>((done) => server.close(() => done())) };
}

/** The service's /tlog/ router over `tiles`, as createApp mounts it; `delayMs` slows every answer. */
export function tlogApp(tiles: Pick<TileQueries, "checkpoint" | "resource">, delayMs = 0): express.Express {
  const app = express();
  if (delayMs > 0) app.use((_req, _res, next) => void setTimeout(next, delayMs));
  app.use(tlogRouter({ tiles, limiter: (_req, _res, next) => next() }));
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const { problem, headers } = toProblem(err);
    sendProblem(res, problem, headers);
  };
  app.use(onError);
  return app;
}

/** A read model over a LogReader (such as {@link memoryLog}), for {@link tlogApp}. */
export function readerTiles(reader: LogReader & { note: string }): Pick<TileQueries, "checkpoint" | "resource"> {
  const size = Number(reader.note.split("\n")[1]);
  return {
    checkpoint: async () => ({ size, note: reader.note }),
    async resource(r) {
      try {
        return r.level === "entries" ? await reader.readEntryBundle(r.index, r.width) : await reader.readTile(r.level, r.index, r.width);
      } catch {
        return undefined;
      }
    },
  };
}

/** The checkout's root, and the node arguments that run `npm run mirror` from it. */
export const MIRROR_ROOT = path.resolve(__dirname, "../..");
export const MIRROR_ARGS = ["-r", "ts-node/register/transpile-only", "scripts/mirror.ts"];

/** Runs `npm run mirror -- <args>` as its own process (exit code, output), as a user would. */
export function mirror(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [...MIRROR_ARGS, ...args], { cwd: MIRROR_ROOT }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}
