/**
 * Tile serving: requests per second and latency percentiles of GET
 * /tlog/tile/… on the service's app over LevelDB, one server process driven
 * by autocannon from this one.
 *
 *   npm run bench:tiles -- [--leaves 65536] [--seconds 10] [--connections 32] [--json]
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
import { availableParallelism, loadavg } from "node:os";
import { Command, InvalidArgumentError } from "commander";
import { entriesPath, tilePath } from "../service/format/tiles";

const whole = (min: number) => (v: string) => {
  if (!/^[0-9]+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`a whole number of at least ${min}`);
  return Number(v);
};

const opts = new Command("bench:tiles")
  .description(
    "Requests/s and latency of GET /tlog/… (C2SP tlog-tiles) on the service's app over LevelDB, one server process driven by autocannon; every answer must be 2xx.",
  )
  .option("--leaves <n>", "leaves in the log (at least 256: one full tile)", whole(256), 65_536)
  .option("--seconds <n>", "seconds per round", whole(1), 10)
  .option("--connections <n>", "concurrent connections", whole(1), 32)
  .option("--json", "print the results as JSON instead of a Markdown table")
  .addHelpText(
    "after",
    `
Rounds (each over random full tiles of the whole log): full level-0 hash tiles
(256 hashes, 8 KiB) from a cold tile cache, the same warm (the steady state:
the README's figure), full entry bundles, the checkpoint, and GET /v1/health
as the same app's floor on this machine. p50/p99 are autocannon's latency
percentiles in ms. The load average is printed beside them: the figures
depend on what else the machine runs.`,
  )
  .parse()
  .opts<{ leaves: number; seconds: number; connections: number; json?: boolean }>();

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
    const say = (line: string) => (opts.json ? process.stderr.write(`${line}\n`) : console.log(line));
    say(`log of ${opts.leaves} leaves ready in ${((Date.now() - started) / 1000).toFixed(1)} s; ${opts.connections} connections, ${opts.seconds} s per round`);
    const tiles = Math.floor(opts.leaves / 256);
    const random = (make: (n: number) => string) => () => `/tlog/${make(Math.floor(Math.random() * tiles))}`;
    const rounds: [string, () => string][] = [
      ["full level-0 tiles (cold cache)", random((n) => tilePath(0, n))],
      ["full level-0 tiles", random((n) => tilePath(0, n))],
      ["full entry bundles", random((n) => entriesPath(n))],
      ["checkpoint", () => "/tlog/checkpoint"],
      ["GET /v1/health (the app's floor, for scale)", () => "/v1/health"],
    ];
    say(`bench:tiles (${process.version}, ${new Date().toISOString()}), load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} CPUs at the start`);
    say("| resource | requests/s | p50 ms | p99 ms | MB/s |\n|---|---:|---:|---:|---:|");
    const results: { resource: string; requestsPerSecond: number; p50Ms: number; p99Ms: number; megabytesPerSecond: number; requests: number; loadAverage1m: number }[] = [];
    for (const [name, next] of rounds) {
      const r = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: opts.connections,
        duration: opts.seconds,
        requests: [{ setupRequest: (req) => ({ ...req, path: next() }) }],
      });
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      results.push({
        resource: name,
        requestsPerSecond: Math.round(r.requests.average),
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        megabytesPerSecond: Number((r.throughput.average / 1e6).toFixed(1)),
        requests: r.requests.total,
        loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      });
      say(`| ${name} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${(r.throughput.average / 1e6).toFixed(1)} |`);
    }
    say(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} at the end`);
    if (opts.json)
      console.log(JSON.stringify({ bench: "tiles", node: process.version, at: new Date().toISOString(), leaves: opts.leaves, connections: opts.connections, seconds: opts.seconds, cpus: availableParallelism(), results }, null, 2));
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
