/**
 * The service of `npm run bench:verify -- --sources …`: the service's app
 * (createApp, its request log written to /dev/null at info, as in
 * production) over the LevelStore that scripts/lib/bench-audit-log.ts wrote,
 * publishing a checkpoint of all of it (the last one anchored) at
 * /v1/log/checkpoint and /tlog/checkpoint. One process serves both the API
 * (`--service`) and the tiles (`--tlog`), so the two audits read the same
 * store through the same server and differ only in what they ask for.
 *
 *   node -r ts-node/register/transpile-only scripts/lib/bench-audit-server.ts <store dir> <public per minute> <tlog per minute>
 *
 * The two limits are LEDGER_RATE_PUBLIC_PER_MINUTE and
 * LEDGER_RATE_TLOG_PER_MINUTE, as an operator sets them. Listens on a free
 * port of 127.0.0.1 and prints it. GET /__bench/requests (outside the
 * service's app) answers how many requests the app has been asked, so the
 * benchmark can say how many each audit made.
 */
import express from "express";
import { LevelStore } from "../../service/store/level";
import { BENCH_ORIGIN, benchLogKey } from "./bench-audit-log";
import { benchApp, listenAndPrintPort } from "./bench-app";

async function main(): Promise<void> {
  const [dir, publicArg, tlogArg] = process.argv.slice(2);
  const publicPerMinute = Number(publicArg);
  const tlogPerMinute = Number(tlogArg);
  if (dir === undefined || !(publicPerMinute > 0) || !(tlogPerMinute > 0)) throw new Error("usage: bench-audit-server.ts <store dir> <public per minute> <tlog per minute>");
  const store = await LevelStore.open(dir);
  const { app, size } = await benchApp({ store, origin: BENCH_ORIGIN, key: benchLogKey(), rateLimit: { publicPerMinute, adminPerMinute: 6000, tlogPerMinute } });
  if (size === 0) throw new Error(`${dir} holds no entries`);
  const counts = { v1: 0, tlog: 0, other: 0 };
  const outer = express();
  outer.get("/__bench/requests", (_req, res) => void res.json(counts));
  outer.use((req, _res, next) => {
    counts[req.path.startsWith("/v1/") ? "v1" : req.path.startsWith("/tlog/") ? "tlog" : "other"]++;
    next();
  });
  outer.use(app);
  const server = listenAndPrintPort(outer);
  const stop = () => {
    server.close(() => void store.close().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
