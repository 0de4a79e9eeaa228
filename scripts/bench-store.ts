/**
 * Benchmarks the LevelDB store, or with `--postgres <url>` the PostgreSQL
 * store, on its own, without HTTP or the business rules.
 *
 *   npx ts-node --transpile-only scripts/bench-store.ts [--leaves 1000000] [--batch 256] [--proofs 10000] [--keep] [--postgres <url>]
 *
 * `--postgres` needs an empty database (it refuses one that holds entries)
 * and leaves what it wrote there; the size reported is the database's.
 *
 * Appends `--leaves` synthetic entries to a LevelStore in a fresh temp
 * directory, in commits of `--batch` leaves built the way the sequencer
 * builds them (a CompactRange hands back the nodes each append completes).
 * Each leaf carries what a real application entry writes: ~450 bytes of
 * canonical JSON, 3 secondary indexes, one state doc, one idempotency record
 * (with the entry as its stored response) and, for every other entry, its
 * openings. Every commit is one synced LevelDB batch, as in production.
 *
 * Then it times `--proofs` inclusion proofs and as many consistency proofs at
 * random points of the full tree, read through service/ledger/proofs.ts
 * (which verifies every proof before returning it), and reports write
 * throughput, size on disk and RSS. Figures depend on the machine and disk;
 * compare runs on the same machine.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { consistencyProof, inclusionProof, rootAt } from "../service/ledger/proofs";
import { CompactRange, equalBytes, hashLeaf } from "../service/log";
import type { StateDoc, StateKey } from "../service/records/state";
import { LevelStore } from "../service/store/level";
import { describeDatabaseUrl, PostgresStore } from "../service/store/postgres";
import type { CommitBatch, IdempotencyRecord, LeafWrite, LedgerStore } from "../service/store/store";
import pg from "pg";
import { prng } from "../service/prng";

const program = new Command()
  .option("--leaves <n>", "leaves to append", (v) => parseInt(v, 10), 1_000_000)
  .option("--batch <n>", "leaves per commit", (v) => parseInt(v, 10), 256)
  .option("--proofs <n>", "proofs of each kind to time", (v) => parseInt(v, 10), 10_000)
  .option("--keep", "keep the data directory")
  .option("--postgres <url>", "benchmark the PostgreSQL store on this (empty) database instead of LevelDB");
program.parse();
const opts = program.opts<{ leaves: number; batch: number; proofs: number; keep?: boolean; postgres?: string }>();

/** The database's size on disk, tables and indexes and all. */
async function databaseSize(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT pg_database_size(current_database()) AS n");
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

const utf8 = new TextEncoder();

function hex(i: number, width: number): string {
  return i.toString(16).padStart(width, "0");
}

/** One synthetic application entry and everything the sequencer would write with it. */
function syntheticLeaf(index: number, range: CompactRange): { leaf: LeafWrite; stateKey: StateKey; state: StateDoc; idemKey: string; idem: IdempotencyRecord } {
  const id = `app_${hex(index, 24)}`;
  const recordedAt = new Date(Date.UTC(2025, 0, 1) + index * 37).toISOString();
  const programmeId = `prg_${hex(index % 50, 24)}`;
  const creditCode = `91110000${hex(index % 100_000, 9).toUpperCase()}X`;
  const entry = {
    v: 1,
    id,
    kind: "application",
    recordedAt,
    actor: { official: `clerk-${index % 40}`, agency: "bureau-of-industry", role: "clerk" },
    refs: [programmeId],
    body: { creditCode, enterpriseName: `Enterprise ${index % 100_000} Co., Ltd.`, region: "110105", requestedFen: String(100_000 + (index % 9_000_000)) },
    commitments: { contactPhone: hex(index * 2654435761, 64).slice(-64) },
  };
  const bytes = utf8.encode(JSON.stringify(entry));
  const nodes = range.append(hashLeaf(bytes));
  const leaf: LeafWrite = {
    index,
    id,
    bytes,
    recordedAt,
    nodes,
    indexes: [
      { name: "enterprise", value: creditCode },
      { name: "programme", value: programmeId },
      { name: "kind", value: "application" },
    ],
    openings: index % 2 === 0 ? { contactPhone: { value: `138${hex(index, 8)}`, salt: hex(index, 64) } } : null,
  };
  const state: StateDoc = {
    kind: "application",
    id,
    programmeId,
    creditCode,
    recordedBy: entry.actor.official,
    recordedAt,
    requestedFen: entry.body.requestedFen,
    enterpriseName: entry.body.enterpriseName,
    region: entry.body.region,
    decisionId: null,
    decisions: [],
    corrections: [],
    revoked: false,
  };
  const idem: IdempotencyRecord = {
    requestHash: hex(index, 64),
    status: 201,
    body: { id, kind: "application", leafIndex: index, entry },
    createdAt: recordedAt,
  };
  return { leaf, stateKey: `e:${id}`, state, idemKey: `tok_${index % 40}\u0000${hex(index, 32)}`, idem };
}

function dirSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : statSync(p).size;
  }
  return total;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (x: number): string => `${x.toFixed(3)} ms`;

interface ProofTimes {
  p50: number;
  p99: number;
  mean: number;
  /** CPU time of this process per proof (µs): unlike wall time, not inflated by other work on the machine. */
  cpuUs: number;
  /** Page faults per proof: pages of the memory-mapped tables touched for the first time, roughly. */
  faults: number;
}

async function timeProofs(n: number, one: (k: number) => Promise<unknown>): Promise<ProofTimes> {
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const ru0 = process.resourceUsage();
  for (let k = 0; k < n; k++) {
    const t = performance.now();
    await one(k);
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const ru = process.resourceUsage();
  const faults = ru.minorPageFault + ru.majorPageFault - ru0.minorPageFault - ru0.majorPageFault;
  const sorted = [...times].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: times.reduce((a, b) => a + b, 0) / times.length,
    cpuUs: (cpu.user + cpu.system) / n,
    faults: faults / n,
  };
}

/** Resident anonymous and file-backed memory (Linux /proc/self/status), in bytes; undefined elsewhere. */
function rssSplit(): { anon: number; file: number } | undefined {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { anon: kb("RssAnon"), file: kb("RssFile") };
  } catch {
    return undefined;
  }
}
const split = (s: ReturnType<typeof rssSplit>): string => (s === undefined ? "" : ` (${mib(s.anon)} anonymous, ${mib(s.file)} file-backed)`);

async function main(): Promise<void> {
  const N = opts.leaves;
  const rssAtStart = process.memoryUsage().rss; // node + ts-node + the TypeScript compiler
  const pgUrl = opts.postgres;
  const dir = pgUrl === undefined ? mkdtempSync(path.join(tmpdir(), "bench-store-")) : undefined;
  const store: LedgerStore = dir !== undefined ? await LevelStore.open(dir) : await PostgresStore.open(pgUrl!);
  if (pgUrl !== undefined && (await store.head()).size !== 0) {
    await store.close();
    throw new Error(`${describeDatabaseUrl(pgUrl)} already holds entries: give an empty database`);
  }
  const range = new CompactRange();
  let commitMs = 0;
  let commits = 0;
  const t0 = performance.now();
  let nextReport = 100_000;
  try {
    while (range.size < N) {
      const leaves: LeafWrite[] = [];
      const state = new Map<StateKey, StateDoc>();
      const idempotency = new Map<string, IdempotencyRecord>();
      const n = Math.min(opts.batch, N - range.size);
      for (let j = 0; j < n; j++) {
        const s = syntheticLeaf(range.size, range);
        leaves.push(s.leaf);
        state.set(s.stateKey, s.state);
        idempotency.set(s.idemKey, s.idem);
      }
      const batch: CommitBatch = { head: { size: range.size, compact: [...range.hashes] }, leaves, state, idempotency };
      const tc = performance.now();
      await store.commit(batch);
      commitMs += performance.now() - tc;
      commits++;
      if (range.size >= nextReport) {
        process.stderr.write(`  ${range.size} leaves, ${((range.size / (performance.now() - t0)) * 1000).toFixed(0)} leaves/s\n`);
        nextReport += 100_000;
      }
    }
    const appendMs = performance.now() - t0;
    const { rss: rssAfterAppend, heapUsed: heapAfterAppend } = process.memoryUsage();
    const size = dir !== undefined ? dirSize(dir) : await databaseSize(pgUrl!);

    const head = await store.head();
    const root = await rootAt(store, N);
    if (head.size !== N || !equalBytes(root, range.root())) throw new Error("the stored tree does not match the appended leaves");

    const splitBefore = rssSplit();
    const rand = prng(0x5eed);
    const incl = await timeProofs(opts.proofs, () => inclusionProof(store, Math.floor(rand() * N), N, N));
    const cons = await timeProofs(opts.proofs, () => consistencyProof(store, 1 + Math.floor(rand() * (N - 1)), N, N));
    const rssEnd = process.memoryUsage().rss;
    const splitEnd = rssSplit();
    const maxRss = process.resourceUsage().maxRSS * 1024;

    const rows: [string, string][] = [
      ["leaves", `${N.toLocaleString("en")} in ${commits.toLocaleString("en")} synced commits of ${opts.batch}`],
      ["append wall time", `${(appendMs / 1000).toFixed(1)} s (of which in commit: ${(commitMs / 1000).toFixed(1)} s)`],
      ["write throughput", `${((N / appendMs) * 1000).toFixed(0)} leaves/s, ${((commits / appendMs) * 1000).toFixed(1)} commits/s`],
      ["commit latency (mean)", ms(commitMs / commits)],
      ["DB size on disk", `${mib(size)} (${(size / N).toFixed(0)} bytes/leaf, everything included)`],
      ["RSS at start (before opening)", mib(rssAtStart)],
      ["RSS / JS heap used after append", `${mib(rssAfterAppend)} / ${mib(heapAfterAppend)}`],
      ["RSS before proofs", `${mib(rssAfterAppend)}${split(splitBefore)}`],
      ["RSS at end / peak", `${mib(rssEnd)}${split(splitEnd)} / ${mib(maxRss)}`],
      [`inclusion proof (n=${opts.proofs}, size=${N})`, `p50 ${ms(incl.p50)}  p99 ${ms(incl.p99)}  mean ${ms(incl.mean)}`],
      [`consistency proof (n=${opts.proofs}, to ${N})`, `p50 ${ms(cons.p50)}  p99 ${ms(cons.p99)}  mean ${ms(cons.mean)}`],
      ["CPU per proof, inclusion / consistency", `${incl.cpuUs.toFixed(0)} µs / ${cons.cpuUs.toFixed(0)} µs`],
      ["page faults per proof, inclusion / consistency", `${incl.faults.toFixed(2)} / ${cons.faults.toFixed(2)}`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    console.log(`\n${dir !== undefined ? "LevelStore" : "PostgresStore"} benchmark (node ${process.version}, ${process.platform}/${process.arch})`);
    console.log(`${"-".repeat(w)}  ${"-".repeat(40)}`);
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    await store.close();
    if (dir === undefined) console.log(`data left in the ${describeDatabaseUrl(pgUrl!)}`);
    else if (opts.keep) console.log(`data kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
