/**
 * Benchmarks the ledger service over HTTP, as clients see it.
 *
 *   npm run bench:api -- [--entries 30000] [--clients 64] [--proof-warmup 5000] [--proofs 2000] [--proof-clients 1]
 *                        [--grow-to N] [--seed N] [--data-dir DIR] [--database-url postgres://…]
 *
 * Starts the service as a child process on a fresh data directory (so its RSS
 * is its own), creates tokens through the admin API, records one programme,
 * then has `--clients` concurrent connections (autocannon) record
 * applications until `--entries` durable entries are acknowledged. Every acknowledged entry was
 * written with a synced LevelDB batch. Then it measures inclusion-proof
 * latency with one client in a process of its own (./lib/latency-client.ts),
 * and the service's RSS. With --grow-to it keeps
 * appending (same clients) until the log holds N entries before measuring
 * proofs and RSS, e.g. --grow-to 1000000 for the 1M-entry targets.
 *
 * With --data-dir the directory is kept: seeding 1,000,000 entries takes
 * minutes, so seed once, then rerun without --seed on copies of it.
 *
 * With --database-url the ledger is in that PostgreSQL database (seeded there
 * too; --seed needs it empty), and the data directory holds only the keys.
 *
 * Figures depend on the machine; compare runs on the same machine.
 */
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Command } from "commander";
import { createToken } from "../service/auth/tokens";
import { systemClock } from "../service/clock";
import { Ledger, scopedIdempotencyKey } from "../service/ledger/ledger";
import { REQUEST_SCHEMAS } from "../service/records/schemas";
import { applicationBody, programmeBody } from "./lib/bench-requests";
import type { LatencyReport, ProofLatencies } from "./lib/latency-client";
import { LevelStore } from "../service/store/level";
import { PostgresStore } from "../service/store/postgres";
import type { LedgerStore } from "../service/store/store";

const program = new Command()
  .option("--entries <n>", "entries to record in the throughput phase", (v) => parseInt(v, 10), 30_000)
  .option("--clients <n>", "concurrent clients", (v) => parseInt(v, 10), 64)
  .option("--batch <n>", "records per request: 1 posts to /v1/applications, more to /v1/batch", (v) => parseInt(v, 10), 1)
  .option("--proofs <n>", "inclusion proofs to time", (v) => parseInt(v, 10), 2_000)
  .option("--proof-clients <n>", "concurrent connections asking for proofs (each waits for its answer before the next)", (v) => parseInt(v, 10), 1)
  .option("--database-url <url>", "keep the ledger in this PostgreSQL database instead of LevelDB")
  .option("--proof-warmup <n>", "inclusion proofs timed apart before them (a cold service; most likely tiles not yet in the page cache)", (v) => parseInt(v, 10), 5_000)
  .option("--grow-to <n>", "grow the log to this many entries before timing proofs and RSS", (v) => parseInt(v, 10), 0)
  .option("--seed <n>", "before starting the service, append this many applications in-process (same sequencer and store, no HTTP)", (v) => parseInt(v, 10), 0)
  .option("--port <n>", "port for the service", (v) => parseInt(v, 10), 18_080)
  .option("--keep", "keep the data directory")
  .option(
    "--data-dir <dir>",
    "use this data directory instead of a fresh temporary one, and keep it; with --seed it must be empty, without it may hold a log from an earlier run (copy a kept one first: the run appends to it)",
  )
  .option("--profile <dir>", "write a V8 CPU profile of the service into <dir>");
program.parse();
const opts = program.opts<{
  entries: number;
  clients: number;
  batch: number;
  proofs: number;
  proofWarmup: number;
  proofClients: number;
  databaseUrl?: string;
  growTo: number;
  seed: number;
  port: number;
  keep?: boolean;
  dataDir?: string;
  profile?: string;
}>();

const base = `http://127.0.0.1:${opts.port}`;

/**
 * Starts the service and resolves with the admin token: the first-start banner's, or `adminToken`
 * (created beforehand for a directory that already holds tokens, whose banner prints none).
 */
function startService(dataDir: string, adminToken?: string): Promise<{ child: ChildProcess; adminToken: string }> {
  const profile = opts.profile ? ["--cpu-prof", `--cpu-prof-dir=${opts.profile}`] : [];
  // The same bundle npm start runs (built by npm run build:service).
  execFileSync("npm", ["run", "-s", "build:service"], { stdio: "inherit" });
  const child = spawn(process.execPath, [...profile, "--enable-source-maps", ".cache/service/main.js"], {
    env: {
      ...process.env,
      PORT: String(opts.port),
      LEDGER_DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      // The API alone: anchoring has its own benchmark and would share the two cores.
      LEDGER_CHAIN: "off",
      ...(opts.databaseUrl !== undefined ? { LEDGER_DATABASE_URL: opts.databaseUrl } : {}),
      // The benchmark is the only client; the default per-minute limits would throttle it.
      LEDGER_RATE_PUBLIC_PER_MINUTE: "100000000",
      LEDGER_RATE_ADMIN_PER_MINUTE: "100000000",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /\n\s+(sl_[A-Za-z0-9_-]+)\n/.exec(out);
      if (m) resolve({ child, adminToken: m[1]! });
      else if (adminToken !== undefined && out.includes("is running on")) resolve({ child, adminToken });
    });
    child.once("exit", (code) => reject(new Error(`service exited with ${code}: ${out}`)));
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses of our own API, read by field
async function call(method: string, url: string, token: string | null, body?: unknown, key?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (key) headers["idempotency-key"] = key;
  const res = await fetch(base + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : text };
}


/** Resident memory in MiB: total, anonymous (heap, stacks) and file-backed (LevelDB mmaps its table files). */
function rss(pid: number): { total: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { total: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

function rssMiB(pid: number): string {
  const r = rss(pid);
  return `${r.total.toFixed(0)} (anonymous ${r.anon.toFixed(0)}, file-backed ${r.file.toFixed(0)})`;
}

/** Times `warm` then `count` random inclusion proofs at `size` from a client process of its own (./lib/latency-client.ts). */
function timeProofs(size: number, warm: number, count: number): Promise<ProofLatencies> {
  const client = fork(path.join(__dirname, "lib", "latency-client.ts"), [base, String(size), String(warm), String(count), String(opts.proofClients)], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let report: ProofLatencies | undefined;
    client.once("message", (m) => (report = m as ProofLatencies));
    client.once("error", reject);
    // "close", not "exit": it comes after the IPC channel has delivered every message.
    client.once("close", (code) => (report !== undefined && code === 0 ? resolve(report) : reject(new Error(`latency client exited with ${code}`))));
  });
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat; 100 ticks a second on Linux. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}


/**
 * Appends `n` applications through the real sequencer and LevelDB store,
 * without HTTP, to reach large log sizes quickly. The service then opens the
 * same directory, so proofs and RSS are measured on a log it did not build.
 */
/** The store the service will open: PostgreSQL with --database-url, else LevelDB in `dataDir`. */
function openStore(dataDir: string): Promise<LedgerStore> {
  return opts.databaseUrl !== undefined ? PostgresStore.open(opts.databaseUrl) : LevelStore.open(dataDir);
}

async function seed(dataDir: string, n: number): Promise<void> {
  const store = await openStore(dataDir);
  if ((await store.head()).size !== 0) throw new Error("--seed needs an empty store; the database already holds entries");
  const ledger = await Ledger.open({ store });
  const admin = { official: "seed-admin", agency: "bench", role: "admin" } as const;
  const clerk = { official: "seed-clerk", agency: "bench", role: "clerk" } as const;
  const programme = await ledger.submit({
    command: { kind: "programme", body: REQUEST_SCHEMAS.programme.parse(programmeBody("SEED")) },
    actor: admin,
    idempotencyKey: scopedIdempotencyKey("seed", "programme"),
    requestHash: "seed",
  });
  let next = 0;
  let reported = Date.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        const body = REQUEST_SCHEMAS.application.parse(applicationBody(programme.body.id, 500_000_000 + i));
        await ledger.submit({ command: { kind: "application", body }, actor: clerk, idempotencyKey: scopedIdempotencyKey("seed", String(i)), requestHash: "seed" });
        if (Date.now() - reported > 30_000) {
          reported = Date.now();
          process.stderr.write(`  seeded ${next} entries\n`);
        }
      }
    }),
  );
  await ledger.close();
  await store.close();
}



async function main(): Promise<void> {
  const dataDir = opts.dataDir !== undefined ? path.resolve(opts.dataDir) : mkdtempSync(path.join(tmpdir(), "ledger-bench-"));
  if (opts.dataDir !== undefined && opts.seed > 0 && existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new Error(`--seed needs an empty --data-dir; ${dataDir} is not empty`);
  if (opts.seed > 0) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    await seed(dataDir, opts.seed);
    const used = process.cpuUsage(cpu);
    process.stderr.write(
      `  seeded ${opts.seed} entries in-process in ${((performance.now() - t) / 1000).toFixed(0)} s, ` +
        `${((used.user + used.system) / opts.seed).toFixed(0)} us CPU per entry (schema, sequencer, rules, encoding, store; no HTTP)\n`,
    );
  }
  // A directory from an earlier run already has tokens, so the service prints no first admin token: make one.
  let preset: string | undefined;
  if (opts.seed === 0 && (opts.databaseUrl !== undefined || existsSync(path.join(dataDir, "CURRENT")))) {
    const store = await openStore(dataDir);
    if ((await store.tokens()).length > 0)
      preset = (await createToken(store, systemClock, { official: `bench-admin-${Date.now()}`, agency: "bench", role: "admin" })).token;
    await store.close();
  }
  const { child, adminToken } = await startService(dataDir, preset);
  try {
    const mk = async (role: string, official: string) => {
      const r = await call("POST", "/v1/admin/tokens", adminToken, { official, agency: "bench", role });
      if (r.status !== 201) throw new Error(`token create: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json.token as string;
    };
    const clerk = await mk("clerk", "clerk-1");
    // Programme codes are unique: a reused directory already has "BENCH".
    const prg = await call("POST", "/v1/programmes", adminToken, programmeBody(preset === undefined ? "BENCH" : `BENCH-${Date.now()}`), "prg-1");
    if (prg.status !== 201) throw new Error(`programme: ${prg.status} ${JSON.stringify(prg.json)}`);
    const programmeId = prg.json.id as string;

    let next = 0;
    const applicationJson = (i: number) => JSON.stringify(applicationBody(programmeId, i));
    /** Records `entries` applications over autocannon's `clients` connections, `opts.batch` per request; fails on any non-201. */
    const record = async (entries: number): Promise<autocannon.Result> => {
      const perRequest = opts.batch;
      const result = await autocannon({
        url: base,
        connections: opts.clients,
        amount: Math.ceil(entries / perRequest),
        timeout: 30,
        requests: [
          {
            method: "POST",
            path: perRequest === 1 ? "/v1/applications" : "/v1/batch",
            setupRequest: (req) => {
              const first = next;
              next += perRequest;
              const body =
                perRequest === 1
                  ? applicationJson(first)
                  : JSON.stringify({
                      records: Array.from({ length: perRequest }, (_, k) => ({ kind: "application", body: applicationBody(programmeId, first + k) })),
                    });
              return {
                ...req,
                headers: { "content-type": "application/json", authorization: `Bearer ${clerk}`, "idempotency-key": `req-${first}` },
                body,
              };
            },
          },
        ],
      });
      if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
        throw new Error(`${result.non2xx} non-2xx responses, ${result.errors} errors, ${result.timeouts} timeouts`);
      return result;
    };

    const cpuBefore = cpuSeconds(child.pid!);
    const throughput = await record(opts.entries);
    const recorded = throughput.requests.total * opts.batch;
    const cpuPerEntryUs = ((cpuSeconds(child.pid!) - cpuBefore) / recorded) * 1e6;
    const throughputRss = rssMiB(child.pid!);

    if (opts.growTo > opts.entries + 1) {
      const chunk = 100_000;
      while (next < opts.growTo - 1) {
        await record(Math.min(chunk, opts.growTo - 1 - next));
        process.stderr.write(`  grown to ${next + 1} entries, service RSS ${rssMiB(child.pid!)} MiB\n`);
      }
    }

    const size = (await call("GET", "/v1/health", null)).json.treeSize ?? opts.growTo;
    // Let LevelDB finish the compactions the write phase started: proofs are
    // timed on a service that is serving reads, not one still digesting writes.
    for (let settled = 0, t = 0; settled < 3 && t < 120; t++) {
      const c = cpuSeconds(child.pid!);
      await new Promise((r) => setTimeout(r, 1000));
      settled = cpuSeconds(child.pid!) - c < 0.05 ? settled + 1 : 0;
    }
    const { warmUp, measured: proofs } = await timeProofs(size, opts.proofWarmup, opts.proofs);
    const ms = (r: LatencyReport) => [r.p50, r.p90, r.p99, r.max].map((x) => x.toFixed(2)).join(" / ");
    const finalRss = rssMiB(child.pid!);

    const rows = [
      ["clients", String(opts.clients)],
      ["durable entries recorded (throughput phase)", String(recorded)],
      ["records per request", String(opts.batch)],
      ["durable entries/s", (recorded / (throughput.duration || 1)).toFixed(0)],
      ["service CPU per durable entry (us, user+system)", cpuPerEntryUs.toFixed(0)],
      ["entries/s one fully available core could sustain at that CPU cost", (1e6 / cpuPerEntryUs).toFixed(0)],
      ["request latency p50 / p99 (ms)", `${throughput.latency.p50} / ${throughput.latency.p99}`],
      ["service RSS after throughput phase (MiB)", throughputRss],
      ["log size when timing proofs and RSS", String(size)],
      ...(warmUp !== null ? [[`inclusion proof latency p50 / p90 / p99 / max, the first ${warmUp.count} (cold service) (ms)`, ms(warmUp)]] : []),
      [
        `inclusion proof latency p50 / p90 / p99 / max, ${warmUp !== null ? `the next ${proofs.count}` : `${proofs.count}`}, ${opts.proofClients === 1 ? "one connection" : `${opts.proofClients} concurrent connections`}, incl. HTTP, client in its own process (ms)`,
        ms(proofs),
      ],
      ["service RSS after the proofs (MiB)", finalRss],
    ];
    console.log("| measure | value |\n|---|---|");
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    if (!opts.keep && opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`data kept in ${dataDir}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
