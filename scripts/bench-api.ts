/**
 * Benchmarks the ledger service over HTTP, as clients see it.
 *
 *   npm run bench:api -- [--entries 30000] [--clients 64] [--proofs 2000] [--grow-to N]
 *
 * Starts the service as a child process on a fresh data directory (so its RSS
 * is its own), creates tokens through the admin API, records one programme,
 * then has `--clients` concurrent clients record applications until
 * `--entries` durable entries are acknowledged. Every acknowledged entry was
 * written with a synced LevelDB batch. Then it measures inclusion-proof
 * latency with one client, and the service's RSS. With --grow-to it keeps
 * appending (same clients) until the log holds N entries before measuring
 * proofs and RSS, e.g. --grow-to 1000000 for the 1M-entry targets.
 *
 * Figures depend on the machine; compare runs on the same machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { creditCodeCheckChar } from "../service/records/identifiers";

const program = new Command()
  .option("--entries <n>", "entries to record in the throughput phase", (v) => parseInt(v, 10), 30_000)
  .option("--clients <n>", "concurrent clients", (v) => parseInt(v, 10), 64)
  .option("--proofs <n>", "inclusion proofs to time", (v) => parseInt(v, 10), 2_000)
  .option("--grow-to <n>", "grow the log to this many entries before timing proofs and RSS", (v) => parseInt(v, 10), 0)
  .option("--port <n>", "port for the service", (v) => parseInt(v, 10), 18_080)
  .option("--keep", "keep the data directory")
  .option("--profile <dir>", "write a V8 CPU profile of the service into <dir>");
program.parse();
const opts = program.opts<{ entries: number; clients: number; proofs: number; growTo: number; port: number; keep?: boolean; profile?: string }>();

const base = `http://127.0.0.1:${opts.port}`;

function startService(dataDir: string): Promise<{ child: ChildProcess; adminToken: string }> {
  const profile = opts.profile ? ["--cpu-prof", `--cpu-prof-dir=${opts.profile}`] : [];
  const child = spawn(process.execPath, [...profile, "-r", "ts-node/register/transpile-only", "service/main.ts"], {
    env: {
      ...process.env,
      PORT: String(opts.port),
      LEDGER_DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
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
    });
    child.once("exit", (code) => reject(new Error(`service exited with ${code}: ${out}`)));
  });
}

async function call(method: string, url: string, token: string | null, body?: unknown, key?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (key) headers["idempotency-key"] = key;
  const res = await fetch(base + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : text };
}

function creditCode(i: number): string {
  const first17 = `91110101${String(i).padStart(9, "0")}`;
  return first17 + creditCodeCheckChar(first17);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "ledger-bench-"));
  const { child, adminToken } = await startService(dataDir);
  try {
    const mk = async (role: string, official: string) => {
      const r = await call("POST", "/v1/admin/tokens", adminToken, { official, agency: "bench", role });
      if (r.status !== 201) throw new Error(`token create: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json.token as string;
    };
    const clerk = await mk("clerk", "clerk-1");
    const today = new Date().toISOString().slice(0, 10);
    const prg = await call(
      "POST",
      "/v1/programmes",
      adminToken,
      {
        code: "BENCH",
        name: "Benchmark programme",
        agency: "Bench agency",
        budgetFen: "900000000000000000",
        currency: "CNY",
        policyDocument: { sha256: "0".repeat(64), url: "https://example.gov.cn/policy.pdf" },
        opensOn: "2000-01-01",
        closesOn: "2099-12-31",
        fourEyesThresholdFen: "100000000",
      },
      "prg-1",
    );
    if (prg.status !== 201) throw new Error(`programme: ${prg.status} ${JSON.stringify(prg.json)}`);
    void today;
    const programmeId = prg.json.id as string;

    let next = 0;
    const latencies: number[] = [];
    async function record(limit: number): Promise<void> {
      while (next < limit) {
        const i = next++;
        const t0 = performance.now();
        const r = await call(
          "POST",
          "/v1/applications",
          clerk,
          {
            programmeId,
            creditCode: creditCode(i),
            enterpriseName: `基准企业${i}有限公司`,
            region: "110101",
            requestedFen: "1000000",
            private: { contactPerson: "张三", phone: "13800000000", bankAccount: "6222020200112233" },
          },
          `app-${i}`,
        );
        latencies.push(performance.now() - t0);
        if (r.status !== 201) throw new Error(`application ${i}: ${r.status} ${JSON.stringify(r.json)}`);
      }
    }

    const t0 = performance.now();
    await Promise.all(Array.from({ length: opts.clients }, () => record(opts.entries)));
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const throughputRss = rssMiB(child.pid!);

    if (opts.growTo > opts.entries) {
      let last = Date.now();
      const progress = setInterval(() => {
        if (Date.now() - last > 30_000) {
          last = Date.now();
          process.stderr.write(`  grown to ${next} entries\n`);
        }
      }, 1000);
      await Promise.all(Array.from({ length: opts.clients }, () => record(opts.growTo - 1)));
      clearInterval(progress);
    }

    const size = (await call("GET", "/v1/health", null)).json.treeSize ?? opts.growTo;
    const proofTimes: number[] = [];
    for (let k = 0; k < opts.proofs; k++) {
      const index = Math.floor(Math.random() * (size - 1));
      const t = performance.now();
      const r = await call("GET", `/v1/log/proof/inclusion?index=${index}&size=${size}`, null);
      proofTimes.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`proof: ${r.status} ${JSON.stringify(r.json)}`);
    }
    proofTimes.sort((a, b) => a - b);
    const finalRss = rssMiB(child.pid!);

    const rows = [
      ["clients", String(opts.clients)],
      ["durable entries recorded (throughput phase)", String(opts.entries)],
      ["entries/s", (opts.entries / seconds).toFixed(0)],
      ["POST latency p50 / p99 (ms)", `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)}`],
      ["service RSS after throughput phase (MiB)", throughputRss.toFixed(0)],
      ["log size when timing proofs", String(size)],
      ["inclusion proof p50 / p99, one client, incl. HTTP (ms)", `${percentile(proofTimes, 50).toFixed(2)} / ${percentile(proofTimes, 99).toFixed(2)}`],
      ["service RSS at that size (MiB)", finalRss.toFixed(0)],
    ];
    console.log("| measure | value |\n|---|---|");
    for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`data kept in ${dataDir}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
