/**
 * Durable entries per second through `/v1/batch`, in one run, for:
 * LevelDB with one replica; PostgreSQL with one replica; PostgreSQL with two
 * replicas, the clients split between them.
 *
 *   npm run bench:replicas -- [--entries 20000] [--clients 16] [--batch 50]
 *
 * Each service is the bundle `npm start` runs, as a child process with the
 * chain off. PostgreSQL is a private cluster (initdb and pg_ctl from
 * Debian's packages, as the `postgres` user when run as root, unix socket
 * only) with fsync on, as a deployment runs it: a commit acknowledged by the
 * service is flushed to disk, as a LevelDB write is with `sync: true`.
 * Figures depend on the machine; compare rows of one run.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";
import { Command } from "commander";
import { postgresBin } from "../test/helpers/postgres";
import { applicationBody, programmeBody } from "./lib/bench-requests";

const run = promisify(execFile);

const program = new Command()
  .option("--entries <n>", "entries to record in each setup", (v) => parseInt(v, 10), 20_000)
  .option("--clients <n>", "concurrent clients in all (split between replicas)", (v) => parseInt(v, 10), 16)
  .option("--batch <n>", "records per /v1/batch request", (v) => parseInt(v, 10), 50);
program.parse();
const opts = program.opts<{ entries: number; clients: number; batch: number }>();

interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
  readonly adminToken: string | undefined;
}

/** Starts the service bundle with `env`; resolves once it prints its URL (and first admin token, if any). */
function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ["--enable-source-maps", ".cache/service/main.js"], {
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
async function measure(replicas: readonly Replica[]): Promise<number> {
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
  return recorded / seconds;
}

/** A private cluster with fsync on, unix socket only; returns its URL maker and a stop function. */
async function startPostgres(): Promise<{ createDatabase(name: string): Promise<string>; destroy(): Promise<void> }> {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(tmpdir(), "ledger-bench-pg-"));
  if (root) chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), Number(execFileSync("id", ["-g", "postgres"]).toString()));
  const as = (cmd: string, args: string[]) => (root ? run("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args));
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  const port = 40_000 + (process.pid % 20_000);
  await as("initdb", ["-D", data, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C.UTF-8"]);
  await (root ? run("runuser", ["-u", "postgres", "--", "mkdir", "-m", "0700", sock]) : run("mkdir", ["-m", "0700", sock]));
  await as("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-w", "-o", `-p ${port} -k ${sock} -c listen_addresses='' -c max_connections=100`, "start"]);
  const url = (db: string) => `postgres://postgres@localhost:${port}/${db}?host=${encodeURIComponent(sock)}`;
  return {
    async createDatabase(name) {
      await run(path.join(bin, "psql"), ["-d", url("postgres"), "-c", `CREATE DATABASE ${name}`]);
      return url(name);
    },
    async destroy() {
      await as("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  execFileSync("npm", ["run", "-s", "build:service"], { stdio: "inherit" });
  const rows: [string, number][] = [];
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), "ledger-bench-replica-"));
    dirs.push(d);
    return d;
  };
  const pg = await startPostgres();
  try {
    {
      const replica = await startReplica({ LEDGER_DATA_DIR: dataDir() });
      try {
        rows.push(["LevelDB, one replica", await measure([replica])]);
      } finally {
        await stop([replica]);
      }
    }
    {
      const url = await pg.createDatabase("one_replica");
      const replica = await startReplica({ LEDGER_DATA_DIR: dataDir(), LEDGER_DATABASE_URL: url });
      try {
        rows.push(["PostgreSQL, one replica", await measure([replica])]);
      } finally {
        await stop([replica]);
      }
    }
    {
      const url = await pg.createDatabase("two_replicas");
      const first = dataDir();
      const keys = { LEDGER_LOG_KEY_FILE: path.join(first, "keys", "log-signer.key"), LEDGER_ACCESS_CODE_KEY_FILE: path.join(first, "keys", "access-code.key") };
      const a = await startReplica({ LEDGER_DATA_DIR: first, LEDGER_DATABASE_URL: url, ...keys });
      const replicas = [a];
      try {
        replicas.push(await startReplica({ LEDGER_DATA_DIR: dataDir(), LEDGER_DATABASE_URL: url, ...keys }));
        rows.push(["PostgreSQL, two replicas (clients split between them)", await measure(replicas)]);
      } finally {
        await stop(replicas);
      }
    }
  } finally {
    await pg.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  console.log(`\n/v1/batch, ${opts.entries} entries per setup, ${opts.batch} records per request, ${opts.clients} clients (node ${process.version})\n`);
  console.log("| setup | durable entries/s |\n|---|---|");
  for (const [k, v] of rows) console.log(`| ${k} | ${v.toFixed(0)} |`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
