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
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import path from "node:path";
import { canonicalBytes, CompactRange, hashLeaf, noteKeyFromSeed, parseSignerKey, signCheckpoint, toHex } from "../service/log";
import { ExportSource, MemoryChainReader, runAudit, EXPORT_FORMAT, EXPORT_VERSION, formatAuditReport, type ExportHeader } from "./lib/audit";
import { prng } from "../service/prng";

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
}

function parseArgs(argv: string[]): Options & { child?: { exportFile: string; chainFile: string; workers: number } } {
  const o: Options & { child?: { exportFile: string; chainFile: string; workers: number } } = { entries: 1_000_000, workers: 2, keep: false, profile: false, reuse: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--entries") o.entries = Number(argv[++i]);
    else if (a === "--dir") o.dir = argv[++i];
    else if (a === "--workers") o.workers = Number(argv[++i]);
    else if (a === "--keep") o.keep = true;
    else if (a === "--reuse") o.reuse = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--child") o.child = { exportFile: argv[++i]!, chainFile: argv[++i]!, workers: Number(argv[++i]) };
    else throw new Error(`unknown argument ${a}; use --entries N [--workers N] [--dir D [--reuse]] [--keep] [--profile]`);
  }
  if (!Number.isSafeInteger(o.entries) || o.entries < 1) throw new Error("--entries must be a positive integer");
  if (!Number.isSafeInteger(o.workers) || o.workers < 0) throw new Error("--workers must be 0 or more");
  if (o.reuse && o.dir === undefined) throw new Error("--reuse needs --dir");
  return o;
}

// ---------------------------------------------------------------------------
// The generator. Every object is written with its keys in sorted order, so
// JSON.stringify gives the RFC 8785 form (checked on a sample below).

class LedgerRandom {
  readonly rnd = prng(20260310);
  private n = 0;
  private t: number;
  constructor(start: number) {
    this.t = start;
  }

  hex(len: number): string {
    let s = "";
    while (s.length < len) s += Math.floor(this.rnd() * 0x100000000).toString(16).padStart(8, "0");
    return s.slice(0, len);
  }
  id(prefix: string): string {
    this.n++;
    return `${prefix}_${this.n.toString(16).padStart(8, "0")}${this.hex(16)}`;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }
  /** The next recordedAt: about 60 ms apart. */
  at(): string {
    this.t += 1 + Math.floor(this.rnd() * 120);
    return new Date(this.t).toISOString();
  }
  get now(): number {
    return this.t;
  }
}

const CLERKS = Array.from({ length: 40 }, (_, i) => ({ agency: "北京市经济和信息化局", official: `clerk.${i}`, role: "clerk" }));
const APPROVERS = Array.from({ length: 12 }, (_, i) => ({ agency: "北京市经济和信息化局", official: `approver.${i}`, role: "approver" }));
const PAYERS = Array.from({ length: 8 }, (_, i) => ({ agency: "北京市财政局", official: `payer.${i}`, role: "payer" }));
const ADMIN = { agency: "北京市财政局", official: "admin.wang", role: "admin" };
const NAMES = ["北京示例科技有限公司", "上海智造精密机械股份有限公司", "深圳市前海数字服务有限公司", "杭州绿色能源技术有限公司", "成都高新生物医药有限公司"];
const REGIONS = ["110101", "130123", "130181", "310104", "440305"];
const THRESHOLD = 5_000_000;

function entry(actor: object, body: object, commitments: object | undefined, id: string, kind: string, recordedAt: string, refs: string[]): string {
  return JSON.stringify(
    commitments === undefined ? { actor, body, id, kind, recordedAt, refs, v: 1 } : { actor, body, commitments, id, kind, recordedAt, refs, v: 1 },
  );
}

/** Yields leaf texts of a valid ledger, forever. */
function* ledger(g: LedgerRandom): Generator<string> {
  const programmes: string[] = [];
  for (let p = 0; p < 20; p++) {
    const id = g.id("prg");
    programmes.push(id);
    yield entry(
      ADMIN,
      {
        agency: "北京市经济和信息化局",
        budgetFen: "900000000000000",
        closesOn: "2099-12-31",
        code: `BJ-2026-${p}`,
        currency: "CNY",
        fourEyesThresholdFen: String(THRESHOLD),
        name: "专精特新中小企业数字化转型补贴",
        opensOn: "2000-01-01",
        policyDocument: { sha256: g.hex(64), url: `https://fgw.beijing.gov.cn/zcfg/2026/${p}.pdf` },
      },
      undefined,
      id,
      "programme",
      g.at(),
      [],
    );
  }
  for (;;) {
    const prg = g.pick(programmes);
    const clerk = g.pick(CLERKS);
    const app = g.id("app");
    const requested = 100_000 + Math.floor(g.rnd() * 10_000_000);
    yield entry(
      clerk,
      { creditCode: `91110101${g.hex(9).toUpperCase()}X`, enterpriseName: g.pick(NAMES), programmeId: prg, region: g.pick(REGIONS), requestedFen: String(requested) },
      { bankAccount: g.hex(64), contactPerson: g.hex(64), phone: g.hex(64) },
      app,
      "application",
      g.at(),
      [prg],
    );
    if (g.rnd() < 0.05) {
      yield entry(
        g.pick(APPROVERS),
        { reasonCode: "data-entry-error", reasonText: "经复核更正企业名称", replacement: { enterpriseName: g.pick(NAMES) }, targetId: app },
        undefined,
        g.id("cor"),
        "correction",
        g.at(),
        [app],
      );
    }
    const approve = g.rnd() < 0.8;
    const dec = g.id("dec");
    yield entry(
      g.pick(APPROVERS),
      { applicationId: app, approvedFen: approve ? String(requested) : "0", outcome: approve ? "approved" : "rejected", reason: approve ? "符合申报条件，予以支持" : "不符合申报条件" },
      undefined,
      dec,
      "decision",
      g.at(),
      [app],
    );
    if (!approve) continue;
    const parts = g.rnd() < 0.6 ? [requested] : [Math.floor(requested / 2), requested - Math.floor(requested / 2)];
    for (const amount of parts) {
      const pay = g.id("pay");
      const needs = requested >= THRESHOLD; // four-eyes by decision: the approved amount decides
      yield entry(
        g.pick(PAYERS),
        { amountFen: String(amount), decisionId: dec, needsConfirmation: needs, paidOn: "2020-01-01" },
        { bankTransactionRef: g.hex(64) },
        pay,
        "payout",
        g.at(),
        [dec],
      );
      if (needs) yield entry(g.pick(APPROVERS), { payoutId: pay }, undefined, g.id("cnf"), "confirmation", g.at(), [pay]);
    }
  }
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
    if (i < 1000 && Buffer.compare(Buffer.from(text, "utf8"), Buffer.from(canonicalBytes(JSON.parse(text)))) !== 0)
      throw new Error(`generated leaf ${i} is not canonical`);
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
  // Header first, then the body (concatenated by streaming, never held whole).
  const final = createWriteStream(exportFile);
  final.write(`${JSON.stringify(header)}\n`);
  const { createReadStream } = await import("node:fs");
  for await (const c of createReadStream(path.join(dir, "body.tmp"))) if (!final.write(c)) await once(final, "drain");
  final.end();
  await once(final, "finish");
  await rm(path.join(dir, "body.tmp"));
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
