/**
 * Benchmark of the full audit from an export file.
 *
 *   npm run bench:verify                       # 1,000,000 entries
 *   npm run bench:verify -- --entries 200000 --profile
 *
 * 1. Generates a realistic, valid ledger (programmes, applications,
 *    decisions, payouts under approvals below and above the four-eyes threshold with their
 *    confirmations, corrections; ~480 bytes a leaf) from a seeded PRNG, as an
 *    export file with a signed checkpoint in its header, and anchors a
 *    checkpoint every 1,000 entries on an in-memory chain (a JSON file).
 * 2. Audits it in a fresh child process (the same runAudit as
 *    `npm run verify -- --export`): every leaf hashed and proved canonical,
 *    the tree rebuilt and compared with all 1,000 checkpoints, the
 *    invariants recomputed. It reports entries/s over the audit alone and
 *    the child's peak RSS; the audit must come out clean.
 * `--profile` writes a V8 CPU profile of the child (node --cpu-prof) to the
 * work directory.
 *
 * Side by side, one log audited from each entry source by the auditor's own
 * CLI (scripts/lib/bench-audit-compare.ts says how):
 *
 *   npm run bench:verify -- --sources export,tlog,service [--entries 1000000] [--rounds 2] [--dir D] [--json]
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import path from "node:path";
import { CompactRange, hashLeaf, noteKeyFromSeed, parseSignerKey, signCheckpoint, toHex } from "../service/log";
import { ExportSource, MemoryChainReader, runAudit, EXPORT_FORMAT, EXPORT_VERSION, formatAuditReport, type ExportHeader } from "./lib/audit";
import { checkCanonical, ledger, LedgerRandom, writeExportFile } from "./lib/bench-ledger";
import { parseSources, type AuditSourceName } from "./lib/bench-compare";

const ORIGIN = "bench.subsidy-ledger.local/log";
const KEYS = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(42));
const CADENCE = 1000;

interface Options {
  entries: number;
  workers: number;
  dir?: string;
  keep: boolean;
  profile: boolean;
  /** Audit the export already in --dir instead of generating one. */
  reuse: boolean;
  /** Compare these sources with the auditor's CLI instead (scripts/lib/bench-audit-compare.ts). */
  sources?: AuditSourceName[];
  rounds: number;
  anchorEvery: number;
  workersGiven: boolean;
  publicPerMinute: number;
  tlogPerMinute: number;
  json: boolean;
}

const USAGE = `usage:
  npm run bench:verify -- [--entries N] [--workers N] [--dir D [--reuse]] [--keep] [--profile]
      the audit alone (runAudit in a child), from an export file
  npm run bench:verify -- --sources export,tlog,service [--entries N] [--rounds N] [--anchor-every N]
      [--workers N] [--dir D] [--rate-public N] [--rate-tlog N] [--json]
      one log audited from each source by \`npm run verify\`, timed whole, side by side;
      --dir keeps the log (store, export, chain) and the next run with the same
      --entries and --anchor-every reuses it`;

function parseArgs(argv: string[]): Options & { child?: { exportFile: string; chainFile: string; workers: number } } {
  const o: Options & { child?: { exportFile: string; chainFile: string; workers: number } } = {
    entries: 1_000_000,
    workers: 2,
    keep: false,
    profile: false,
    reuse: false,
    rounds: 2,
    anchorEvery: 10_000,
    workersGiven: false,
    publicPerMinute: 1_000_000,
    tlogPerMinute: 1_000_000,
    json: false,
  };
  const count = (flag: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min) throw new Error(`${flag} must be a whole number of at least ${min}\n${USAGE}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--entries") o.entries = Number(argv[++i]);
    else if (a === "--dir") o.dir = argv[++i];
    else if (a === "--workers") {
      o.workers = Number(argv[++i]);
      o.workersGiven = true;
    } else if (a === "--sources") o.sources = parseSources(argv[++i] ?? "");
    else if (a === "--rounds") o.rounds = count(a, argv[++i], 1);
    else if (a === "--anchor-every") o.anchorEvery = count(a, argv[++i], 1);
    else if (a === "--rate-public") o.publicPerMinute = count(a, argv[++i], 1);
    else if (a === "--rate-tlog") o.tlogPerMinute = count(a, argv[++i], 1);
    else if (a === "--json") o.json = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    else if (a === "--keep") o.keep = true;
    else if (a === "--reuse") o.reuse = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--child") o.child = { exportFile: argv[++i]!, chainFile: argv[++i]!, workers: Number(argv[++i]) };
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!Number.isSafeInteger(o.entries) || o.entries < 1) throw new Error("--entries must be a positive integer");
  if (!Number.isSafeInteger(o.workers) || o.workers < 0) throw new Error("--workers must be 0 or more");
  if (o.reuse && o.dir === undefined) throw new Error("--reuse needs --dir");
  if (o.sources === undefined && (o.json || argv.some((a) => ["--rounds", "--anchor-every", "--rate-public", "--rate-tlog"].includes(a))))
    throw new Error(`--rounds, --anchor-every, --rate-public, --rate-tlog and --json go with --sources\n${USAGE}`);
  if (o.sources !== undefined && (o.reuse || o.profile || o.keep)) throw new Error(`--reuse, --keep and --profile are for the export-only bench; with --sources, --dir keeps and reuses the log\n${USAGE}`);
  return o;
}

async function generate(dir: string, n: number): Promise<{ exportFile: string; chainFile: string; bytes: number; seconds: number }> {
  const started = process.hrtime.bigint();
  const exportFile = path.join(dir, "entries.jsonl");
  const chainFile = path.join(dir, "chain.json");
  const g = new LedgerRandom(Date.now() - 2 * 86_400_000);
  const tree = new CompactRange();
  const checkpoints: { size: number; root: string; timestamp: number }[] = [];
  const leaves = ledger(g);
  // First pass: the tree (for the checkpoints and the header) without keeping leaves.
  const out = createWriteStream(path.join(dir, "body.tmp"));
  let bytes = 0;
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    const text = leaves.next().value as string;
    if (i < 1000) checkCanonical(text, i);
    tree.append(hashLeaf(Buffer.from(text, "utf8")));
    buf.push(`[${i},${text}]`);
    if (tree.size % CADENCE === 0 || tree.size === n) checkpoints.push({ size: tree.size, root: toHex(tree.root()), timestamp: Math.floor(g.now / 1000) + 2 });
    if (buf.length === 10_000 || i === n - 1) {
      const chunk = `${buf.join("\n")}\n`;
      bytes += Buffer.byteLength(chunk);
      buf = [];
      if (!out.write(chunk)) await once(out, "drain");
    }
  }
  out.end();
  await once(out, "finish");
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date(g.now).toISOString(),
    service: null,
    treeSize: n,
    checkpoint: signCheckpoint({ origin: ORIGIN, size: n, rootHash: tree.root(), extensions: [] }, parseSignerKey(KEYS.signerKey)),
    logKey: KEYS.verifierKey,
  };
  await writeExportFile(exportFile, header, path.join(dir, "body.tmp"));
  await writeFile(chainFile, JSON.stringify({ checkpoints }));
  return { exportFile, chainFile, bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

// ---------------------------------------------------------------------------
// The child: one audit, measured.

async function child(exportFile: string, chainFile: string, workers: number): Promise<void> {
  const { checkpoints } = JSON.parse(await readFile(chainFile, "utf8")) as { checkpoints: { size: number; root: string; timestamp: number }[] };
  const chain = new MemoryChainReader(checkpoints.map((c) => ({ size: c.size, root: Buffer.from(c.root, "hex"), timestamp: c.timestamp })));
  const { parseVerifierKey } = await import("../service/log");
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const source = await ExportSource.open(exportFile);
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const report = await runAudit({ source, chain, verifiers: [parseVerifierKey(KEYS.verifierKey)], maxDelayMs: 300_000, workers });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    `${JSON.stringify({ ok: report.ok, entries: report.entries.count, checkpoints: report.checkpoints.matched, seconds, cpuSeconds, entriesPerSecond: report.entries.count / seconds, peakRss: Math.max(peak, maxRss), heapUsed: process.memoryUsage().heapUsed })}\n`,
  );
  if (!report.ok) process.stderr.write(formatAuditReport(report));
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) return child(o.child.exportFile, o.child.chainFile, o.child.workers);
  if (o.sources !== undefined) {
    const { runCompare } = await import("./lib/bench-audit-compare");
    await runCompare({
      sources: o.sources,
      entries: o.entries,
      rounds: o.rounds,
      anchorEvery: o.anchorEvery,
      ...(o.dir !== undefined ? { dir: o.dir } : {}),
      ...(o.workersGiven ? { workers: o.workers } : {}),
      publicPerMinute: o.publicPerMinute,
      tlogPerMinute: o.tlogPerMinute,
      json: o.json,
    });
    return;
  }

  const dir = o.dir ?? (await mkdtemp(path.join(tmpdir(), "bench-verify-")));
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  try {
    const existing = path.join(dir, "entries.jsonl");
    let gen: { exportFile: string; chainFile: string; bytes: number; seconds: number };
    if (o.reuse) {
      gen = { exportFile: existing, chainFile: path.join(dir, "chain.json"), bytes: (await stat(existing)).size, seconds: 0 };
    } else {
      process.stderr.write(`generating ${o.entries.toLocaleString("en-US")} entries in ${dir} …\n`);
      gen = await generate(dir, o.entries);
    }
    process.stderr.write(`${o.reuse ? "reusing" : `generated in ${gen.seconds.toFixed(1)} s:`} ${mib(gen.bytes)}; auditing in a child process …\n`);
    // The audit runs as plain JavaScript (an esbuild bundle, as `npm start` runs the service), so
    // neither its time nor its memory includes ts-node and the TypeScript compiler.
    const outdir = path.join(__dirname, "..", ".cache", "bench-verify");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuild = require("esbuild") as typeof import("esbuild");
    esbuild.buildSync({
      entryPoints: { "bench-verify": __filename, "leaf-worker": path.join(__dirname, "lib", "audit", "leaf-worker.ts") },
      bundle: true,
      platform: "node",
      target: "node20",
      packages: "external",
      outdir,
      logLevel: "warning",
    });
    const nodeArgs = [...(o.profile ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), path.join(outdir, "bench-verify.js"), "--child", gen.exportFile, gen.chainFile, String(o.workers)];
    const proc = spawn(process.execPath, nodeArgs, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const [code] = (await once(proc, "exit")) as [number];
    if (code !== 0) throw new Error(`the audit child exited ${code}`);
    const r = JSON.parse(out.trim().split("\n").pop()!) as { ok: boolean; entries: number; checkpoints: number; seconds: number; cpuSeconds: number; entriesPerSecond: number; peakRss: number; heapUsed: number };
    const { loadavg, availableParallelism } = await import("node:os");
    const lines = [
      `bench:verify — full audit from an export file (${process.version}, ${new Date().toISOString()})`,
      `  entries                ${r.entries.toLocaleString("en-US")} (${mib(gen.bytes)}, ${(gen.bytes / r.entries).toFixed(0)} bytes a line)`,
      `  checkpoints matched    ${r.checkpoints.toLocaleString("en-US")} (one per ${CADENCE} entries)`,
      `  audit clean            ${r.ok}`,
      `  leaf worker threads    ${o.workers}`,
      `  audit time             ${r.seconds.toFixed(2)} s`,
      `  entries/s              ${Math.round(r.entriesPerSecond).toLocaleString("en-US")} (target ≥ 50,000)`,
      `  CPU time (all threads) ${r.cpuSeconds.toFixed(2)} s = ${((r.cpuSeconds / r.entries) * 1e6).toFixed(1)} µs an entry, ${Math.round(r.entries / r.cpuSeconds).toLocaleString("en-US")} entries per CPU-second`,
      `  load average           ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${availableParallelism()} CPUs (the machine is shared: wall time depends on it)`,
      `  peak RSS of the audit  ${mib(r.peakRss)} (heap used at the end ${mib(r.heapUsed)})`,
    ];
    if (o.profile) lines.push(`  CPU profile            ${dir}/*.cpuprofile`);
    process.stdout.write(`${lines.join("\n")}\n`);
    if (!r.ok) process.exitCode = 1;
  } finally {
    if (!o.keep && !o.profile && o.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:verify: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
