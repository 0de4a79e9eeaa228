/**
 * `npm run bench:verify -- --sources export,tlog,service`: the full audit of
 * one log from each entry source, side by side in one run.
 *
 * One log (./bench-audit-log.ts: a LevelStore, an export file of the same
 * leaves, and a local anvil with the checkpoints anchored) is served by one
 * process running the service's app (./bench-audit-server.ts): `--service`
 * reads its API (/v1/log/entries in pages of 1,000, and proofs), `--tlog` its
 * own /tlog/ tiles over HTTP on localhost, `--export` the file. The tiles are
 * the service's own rather than a static directory behind another server, so
 * the two HTTP audits read the same store through the same server, and the
 * ratio measures what the auditor asks for, not whose server answers.
 *
 * Each audit is the auditor's own command, `npm run -s verify -- … --json`,
 * a child process timed whole (npm, ts-node and all, as an auditor runs it)
 * under GNU time for its peak RSS; the sources take turns, rotated each
 * round. Every run must exit 0 with a clean report of every entry, matching
 * every anchored checkpoint, or the benchmark stops.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { EnvSchema } from "../../service/config";
import { prepareAuditLog, type PreparedLog } from "./bench-audit-log";
import { checkCleanAudit, formatSummary, parseGnuTime, roundOrder, summarize, type AuditRun, type AuditSourceName } from "./bench-compare";

const ROOT = path.join(__dirname, "..", "..");
const GNU_TIME = "/usr/bin/time";

export interface CompareOptions {
  readonly sources: readonly AuditSourceName[];
  readonly entries: number;
  readonly rounds: number;
  readonly anchorEvery: number;
  /** Kept (and reused by the next run) when given; a temporary directory otherwise. */
  readonly dir?: string;
  /** Passed to verify as --workers when given; else verify's default. */
  readonly workers?: number;
  /** LEDGER_RATE_PUBLIC_PER_MINUTE and LEDGER_RATE_TLOG_PER_MINUTE of the bench's service. */
  readonly publicPerMinute: number;
  readonly tlogPerMinute: number;
  readonly json: boolean;
}

interface Outcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  readonly maxRssBytes: number;
}

/** Runs `npm run -s verify -- args` from the repository root under GNU time. */
async function runVerify(args: readonly string[], timeFile: string): Promise<Outcome> {
  const started = process.hrtime.bigint();
  const proc = spawn(GNU_TIME, ["-f", "%e %M", "-o", timeFile, "npm", "run", "-s", "verify", "--", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(proc, "exit")) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // GNU time writes "Command exited with non-zero status N" before the figures when the command fails.
  const t = parseGnuTime(await readFile(timeFile, "utf8"));
  return { exitCode: code, stdout, stderr, seconds, maxRssBytes: t.maxRssBytes };
}

async function startServer(log: PreparedLog, o: CompareOptions): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "bench-audit-server.ts"), log.storeDir, String(o.publicPerMinute), String(o.tlogPerMinute)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((ok, fail) => {
    child.stdout.once("data", (d: Buffer) => ok(Number(d.toString().trim())));
    child.once("exit", (code) => fail(new Error(`the bench service exited with ${code}`)));
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/** Requests the bench's service has answered so far (its /__bench/requests). */
async function requestCount(base: string): Promise<number> {
  const c = (await (await fetch(`${base}/__bench/requests`)).json()) as { v1: number; tlog: number; other: number };
  return c.v1 + c.tlog + c.other;
}

function sourceArgs(source: AuditSourceName, log: PreparedLog, base: string): string[] {
  if (source === "export") return ["--export", log.exportFile];
  if (source === "tlog") return ["--tlog", `${base}/tlog`];
  return ["--service", base];
}

/**
 * What the service's default rate limits would add: the least time the
 * requests counted could take under them, from one client address.
 */
function defaultLimitFloor(rows: readonly { source: AuditSourceName; requests: number }[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.source === "export") continue;
    const setting = r.source === "service" ? "LEDGER_RATE_PUBLIC_PER_MINUTE" : "LEDGER_RATE_TLOG_PER_MINUTE";
    const perMinute = EnvSchema.shape[setting].parse(undefined);
    out.push(
      `  at the default limit   --${r.source}: ${r.requests.toLocaleString("en-US")} requests at ${setting}=${perMinute} (its default) take at least ${Math.ceil((r.requests / perMinute) * 60)} s`,
    );
  }
  return out;
}

export async function runCompare(o: CompareOptions): Promise<boolean> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time) is needed to read each audit's peak RSS; install the "time" package`);
  const say = (s: string) => void process.stderr.write(s);
  const dir = o.dir ?? (await mkdtemp(path.join(tmpdir(), "bench-verify-sources-")));
  let log: PreparedLog | undefined;
  let server: { port: number; stop: () => Promise<void> } | undefined;
  try {
    log = await prepareAuditLog({ dir, entries: o.entries, anchorEvery: o.anchorEvery, say });
    server = await startServer(log, o);
    const base = `http://127.0.0.1:${server.port}`;
    const common = ["--rpc", log.rpcUrl, "--contract", log.contract, "--log-key", log.logKey, "--json", "--no-progress", ...(o.workers !== undefined ? ["--workers", String(o.workers)] : [])];

    // npm and ts-node's start-up, which every run below includes.
    const help = await runVerify(["--help"], path.join(dir, "time.txt"));

    const runs: AuditRun[] = [];
    const loads: number[] = [];
    for (let round = 0; round < o.rounds; round++) {
      for (const source of roundOrder(o.sources, round)) {
        say(`round ${round + 1}/${o.rounds}: npm run verify -- ${sourceArgs(source, log, base).join(" ")} … `);
        const before = await requestCount(base);
        const out = await runVerify([...sourceArgs(source, log, base), ...common], path.join(dir, "time.txt"));
        const requests = (await requestCount(base)) - before;
        const clean = checkCleanAudit(`--${source}, round ${round + 1}`, out, log.entries);
        loads.push(loadavg()[0]!);
        say(`${out.seconds.toFixed(1)} s, ${Math.round(out.maxRssBytes / 2 ** 20)} MiB, ${requests} requests, clean (${clean.checkpointsMatched} checkpoints matched)\n`);
        runs.push({ source, round, seconds: out.seconds, auditSeconds: clean.auditSeconds, maxRssBytes: out.maxRssBytes, requests });
      }
    }
    const rows = summarize(runs, o.sources, log.entries);
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            bench: "verify-sources",
            node: process.version,
            at: new Date().toISOString(),
            entries: log.entries,
            checkpoints: log.checkpoints,
            exportBytes: log.exportBytes,
            cliStartupSeconds: help.seconds,
            rateLimits: { LEDGER_RATE_PUBLIC_PER_MINUTE: o.publicPerMinute, LEDGER_RATE_TLOG_PER_MINUTE: o.tlogPerMinute },
            cpus: availableParallelism(),
            loadAverage1mDuringRuns: loads,
            runs,
            summary: rows,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      const lines = [
        `bench:verify --sources — full audit of one log from each source, \`npm run verify\` timed whole (${process.version}, ${new Date().toISOString()})`,
        `  log                    ${log.entries.toLocaleString("en-US")} entries (export file ${Math.round(log.exportBytes / 2 ** 20)} MiB), ${log.checkpoints.toLocaleString("en-US")} checkpoints anchored on anvil (one every ${o.anchorEvery.toLocaleString("en-US")} entries)`,
        `  prepared               ${log.reused ? "reused from" : "in"} ${dir}${log.reused ? "" : ` (written in ${log.generateSeconds.toFixed(1)} s)`}${log.anchorSeconds > 0 ? `, anchored in ${log.anchorSeconds.toFixed(1)} s` : ""}`,
        `  --service and --tlog   one process serving the service's app over that store on 127.0.0.1: the API, and its own /tlog/ tiles`,
        `  rate limits            LEDGER_RATE_PUBLIC_PER_MINUTE=${o.publicPerMinute} LEDGER_RATE_TLOG_PER_MINUTE=${o.tlogPerMinute} (raised, as an operator would for an auditor, so no run waits on a 429)`,
        `  CLI start-up           ${help.seconds.toFixed(1)} s (npm run -s verify -- --help; included in every run's time)`,
        `  runs                   ${o.rounds} round(s), the sources' order rotated each round; every audit exited 0, clean, all entries, all checkpoints matched`,
        ...defaultLimitFloor(rows),
        `  load average (1 min)   ${loads.map((l) => l.toFixed(2)).join(" ")} after each run, on ${availableParallelism()} CPUs (the machine may be shared)`,
        "",
        formatSummary(rows),
      ];
      process.stdout.write(`${lines.join("\n")}`);
    }
    return true;
  } finally {
    await server?.stop();
    await log?.stop();
    if (o.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}
