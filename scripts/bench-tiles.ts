/**
 * Tile serving: requests per second and latency percentiles of GET
 * /tlog/tile/… on the service's app over LevelDB, one server process driven
 * by autocannon from this one.
 *
 *   npm run bench:tiles -- [--leaves 65536] [--seconds 10] [--connections 32]
 *
 * Rounds, each over random tiles of the whole log: full level-0 hash tiles
 * (8 KiB each), then full entry bundles, then the checkpoint, then
 * /v1/health as the floor of the same app on the same machine, to read the
 * others against. The first round
 * starts with a cold tile cache (service/queries/tiles.ts keeps the last
 * 1024 full tiles in memory), so it is run twice; the second figure is the
 * steady state. The store is built once per run in a temporary directory.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Command } from "commander";
import { entriesPath, tilePath } from "../service/format/tiles";

const opts = new Command()
  .option("--leaves <n>", "leaves in the log", (v) => parseInt(v, 10), 65_536)
  .option("--seconds <n>", "seconds per round", (v) => parseInt(v, 10), 10)
  .option("--connections <n>", "concurrent connections", (v) => parseInt(v, 10), 32)
  .parse()
  .opts<{ leaves: number; seconds: number; connections: number }>();

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-tiles-"));
  const started = Date.now();
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "lib/bench-tiles-server.ts"), dir, String(opts.leaves)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<number>((ok, fail) => {
      child.stdout.once("data", (d: Buffer) => ok(Number(d.toString().trim())));
      child.once("exit", (code) => fail(new Error(`server exited with ${code}`)));
    });
    console.log(`log of ${opts.leaves} leaves ready in ${((Date.now() - started) / 1000).toFixed(1)} s; ${opts.connections} connections, ${opts.seconds} s per round`);
    const tiles = Math.floor(opts.leaves / 256);
    const random = (make: (n: number) => string) => () => `/tlog/${make(Math.floor(Math.random() * tiles))}`;
    const rounds: [string, () => string][] = [
      ["full level-0 tiles (cold cache)", random((n) => tilePath(0, n))],
      ["full level-0 tiles", random((n) => tilePath(0, n))],
      ["full entry bundles", random((n) => entriesPath(n))],
      ["checkpoint", () => "/tlog/checkpoint"],
      ["GET /v1/health (the app's floor, for scale)", () => "/v1/health"],
    ];
    console.log("| resource | requests/s | p50 ms | p99 ms | MB/s |\n|---|---:|---:|---:|---:|");
    for (const [name, next] of rounds) {
      const r = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: opts.connections,
        duration: opts.seconds,
        requests: [{ setupRequest: (req) => ({ ...req, path: next() }) }],
      });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      console.log(`| ${name} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${(r.throughput.average / 1e6).toFixed(1)} |`);
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((ok) => child.once("exit", ok));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
