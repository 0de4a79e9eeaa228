/**
 * Durable entries per second through `/v1/batch`, in one run, for:
 * LevelDB with one replica; PostgreSQL with one replica; PostgreSQL with two
 * replicas, the clients split between them, and a synchronous standby.
 *
 *   npm run bench:replicas -- [--entries 20000] [--clients 16] [--batch 50] [--setups leveldb,postgres,postgres-ha] [--cpu-prof DIR]
 *
 * Each service is the bundle `npm start` runs, as a child process with the
 * chain off. PostgreSQL is a private cluster (./lib/postgres-cluster.ts:
 * initdb and pg_ctl from Debian's packages, as the `postgres` user when run
 * as root, unix sockets only) with fsync on, as a deployment runs it: a
 * commit acknowledged by the service is flushed to disk, as a LevelDB write
 * is with `sync: true`, and in the last setup held by the standby too.
 * Beside each rate, the CPU seconds per 1,000 entries of the service
 * processes and of the database servers say where the time went.
 * Figures depend on the machine; compare rows of one run.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { Command } from "commander";
import { applicationBody, programmeBody } from "./lib/bench-requests";
import { startDurableCluster, type DurableCluster } from "./lib/postgres-cluster";

const SETUPS = ["leveldb", "postgres", "postgres-ha"] as const;
type Setup = (typeof SETUPS)[number];

const program = new Command()
  .option("--entries <n>", "entries to record in each setup", (v) => parseInt(v, 10), 20_000)
  .option("--clients <n>", "concurrent clients in all (split between replicas)", (v) => parseInt(v, 10), 16)
  .option("--batch <n>", "records per /v1/batch request", (v) => parseInt(v, 10), 50)
  .option("--cpu-prof <dir>", "write each service process's V8 CPU profile into <dir> (node --cpu-prof)")
  .option("--setups <list>", `comma-separated, of ${SETUPS.join(", ")}`, (v) => v.split(",") as Setup[], [...SETUPS]);
program.parse();
const opts = program.opts<{ entries: number; clients: number; batch: number; setups: Setup[]; cpuProf?: string }>();
for (const s of opts.setups) if (!SETUPS.includes(s)) program.error(`unknown setup ${s}: choose from ${SETUPS.join(", ")}`);

interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
  readonly adminToken: string | undefined;
}

/** Starts the service bundle with `env`; resolves once it prints its URL (and first admin token, if any). */
function startReplica(env: Record<string, string>): Promise<Replica> {
  const profile = opts.cpuProf === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${path.resolve(opts.cpuProf)}`];
  const child = spawn(process.execPath, ["--enable-source-maps", ...profile, ".cache/service/main.js"], {
    env: {
      ...process.env,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      LEDGER_CHAIN: "off",
      // The benchmark is the only client; the default per-minute limits would throttle it.
      LEDGER_RATE_PUBLIC_PER_MINUTE: "100000000",
      LEDGER_RATE_ADMIN_PER_MINUTE: "100000000",
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const url = /is running on (http:\/\/\S+)/.exec(out)?.[1];
      // The banner is written in one piece; the token, if any, is in it.
      if (url !== undefined && out.includes("\n\n")) resolve({ child, url, adminToken: /\n\s+(sl_[A-Za-z0-9_-]+)\n/.exec(out)?.[1] });
    });
    child.once("exit", (code) => reject(new Error(`service exited with ${code}: ${out}`)));
  });
}

async function stop(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(
    replicas.map(async (r) => {
      if (r.child.exitCode !== null) return;
      const exited = new Promise((done) => r.child.once("exit", done));
      r.child.kill("SIGTERM");
      await exited;
    }),
  );
}

async function post(url: string, token: string, body: unknown, key?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Records `opts.entries` applications through /v1/batch, the clients split over `replicas`; durable entries per second. */
async function measure(replicas: readonly Replica[]): Promise<{ perSecond: number; entries: number }> {
  const admin = replicas[0]!.adminToken!;
  const clerk = await post(`${replicas[0]!.url}/v1/admin/tokens`, admin, { official: "bench-clerk", agency: "bench", role: "clerk" });
  if (clerk.status !== 201) throw new Error(`token create: ${clerk.status} ${JSON.stringify(clerk.json)}`);
  const prg = await post(`${replicas[0]!.url}/v1/programmes`, admin, programmeBody("BENCH"), "prg");
  if (prg.status !== 201) throw new Error(`programme: ${prg.status} ${JSON.stringify(prg.json)}`);
  const programmeId = prg.json["id"] as string;
  let next = 0;
  const requests = Math.ceil(opts.entries / opts.batch);
  const started = performance.now();
  const results = await Promise.all(
    replicas.map((r, i) =>
      autocannon({
        url: r.url,
        connections: Math.max(1, Math.round(opts.clients / replicas.length)),
        amount: Math.floor(requests / replicas.length) + (i < requests % replicas.length ? 1 : 0),
        timeout: 60,
        requests: [
          {
            method: "POST",
            path: "/v1/batch",
            setupRequest: (req) => {
              const first = next;
              next += opts.batch;
              return {
                ...req,
                headers: { "content-type": "application/json", authorization: `Bearer ${clerk.json["token"] as string}`, "idempotency-key": `req-${first}` },
                body: JSON.stringify({ records: Array.from({ length: opts.batch }, (_, k) => ({ kind: "application", body: applicationBody(programmeId, first + k) })) }),
              };
            },
          },
        ],
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const r of results)
    if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${r.non2xx} non-2xx responses, ${r.errors} errors, ${r.timeouts} timeouts`);
  const recorded = results.reduce((n, r) => n + r.requests.total, 0) * opts.batch;
  return { perSecond: recorded / seconds, entries: recorded };
}

/** CPU seconds (user + system) used so far by `pids` and, with `children`, by every process whose parent is one of them. */
function cpuSeconds(pids: readonly number[], children = false): number {
  const ticks = 100; // USER_HZ on Linux
  const stat = (pid: number): string[] | undefined => {
    try {
      // Fields after the command name, which is in parentheses and may hold spaces.
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      return text.slice(text.lastIndexOf(")") + 2).split(" ");
    } catch {
      return undefined;
    }
  };
  const want = new Set(pids);
  let total = 0;
  for (const entry of children ? readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d)) : pids.map(String)) {
    const f = stat(Number(entry));
    // f[1] is the parent pid, f[11] utime, f[12] stime (proc(5), counting from the state field).
    if (f === undefined || !(want.has(Number(entry)) || (children && want.has(Number(f[1]))))) continue;
    total += (Number(f[11]) + Number(f[12])) / ticks;
  }
  return total;
}

interface Row {
  readonly setup: string;
  readonly perSecond: number;
  /** CPU seconds per 1,000 entries: the service processes, and the PostgreSQL servers (every process). */
  readonly serviceCpu: number;
  readonly databaseCpu: number | undefined;
}

/** Runs {@link measure} on `replicas`, with the CPU time the services and the database servers spent on it. */
async function measured(setup: string, replicas: readonly Replica[], postmasters: readonly number[]): Promise<Row> {
  const pids = replicas.map((r) => r.child.pid!);
  const before = [cpuSeconds(pids), cpuSeconds(postmasters, true)] as const;
  const { perSecond, entries } = await measure(replicas);
  const per1000 = (s: number) => (s * 1000) / entries;
  return {
    setup,
    perSecond,
    serviceCpu: per1000(cpuSeconds(pids) - before[0]),
    databaseCpu: postmasters.length === 0 ? undefined : per1000(cpuSeconds(postmasters, true) - before[1]),
  };
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "-s", "build:service"], { stdio: "inherit" });
  const rows: Row[] = [];
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), "ledger-bench-replica-"));
    dirs.push(d);
    return d;
  };
  const clusters: DurableCluster[] = [];
  try {
    if (opts.setups.includes("leveldb")) {
      const replica = await startReplica({ LEDGER_DATA_DIR: dataDir() });
      try {
        rows.push(await measured("LevelDB, one replica", [replica], []));
      } finally {
        await stop([replica]);
      }
    }
    if (opts.setups.includes("postgres")) {
      const pg = await startDurableCluster();
      clusters.push(pg);
      const url = await pg.createDatabase("one_replica");
      const replica = await startReplica({ LEDGER_DATA_DIR: dataDir(), LEDGER_DATABASE_URL: url });
      try {
        rows.push(await measured("PostgreSQL, one replica", [replica], await pg.postmasters()));
      } finally {
        await stop([replica]);
      }
    }
    if (opts.setups.includes("postgres-ha")) {
      const pg = await startDurableCluster({ standby: true });
      clusters.push(pg);
      const url = await pg.createDatabase("two_replicas");
      const first = dataDir();
      const keys = { LEDGER_LOG_KEY_FILE: path.join(first, "keys", "log-signer.key"), LEDGER_ACCESS_CODE_KEY_FILE: path.join(first, "keys", "access-code.key") };
      const a = await startReplica({ LEDGER_DATA_DIR: first, LEDGER_DATABASE_URL: url, ...keys });
      const replicas = [a];
      try {
        replicas.push(await startReplica({ LEDGER_DATA_DIR: dataDir(), LEDGER_DATABASE_URL: url, ...keys }));
        rows.push(await measured("PostgreSQL, two replicas, synchronous standby (clients split between replicas)", replicas, await pg.postmasters()));
      } finally {
        await stop(replicas);
      }
    }
  } finally {
    for (const c of clusters) await c.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  console.log(`\n/v1/batch, ${opts.entries} entries per setup, ${opts.batch} records per request, ${opts.clients} clients (node ${process.version})\n`);
  console.log("| setup | durable entries/s | CPU s per 1,000 entries: service | PostgreSQL |\n|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.setup} | ${r.perSecond.toFixed(0)} | ${r.serviceCpu.toFixed(2)} | ${r.databaseCpu === undefined ? "–" : r.databaseCpu.toFixed(2)} |`);
  const level = rows.find((r) => r.setup.startsWith("LevelDB"));
  const ha = rows.find((r) => r.setup.includes("two replicas"));
  if (level !== undefined && ha !== undefined) console.log(`\nTwo PostgreSQL replicas with a synchronous standby: ${((100 * ha.perSecond) / level.perSecond).toFixed(0)} % of LevelDB's rate.`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
