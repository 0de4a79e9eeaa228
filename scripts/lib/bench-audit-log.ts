/**
 * One log for the side-by-side audit benchmark (`npm run bench:verify --
 * --sources …`): the same leaves written three ways, as the three entry
 * sources an auditor can read.
 *
 * - `<dir>/store`: a LevelStore of the leaves, as the service keeps them;
 *   scripts/lib/bench-audit-server.ts serves it with the service's app, so
 *   `--service` reads its API and `--tlog` its `/tlog/` tiles.
 * - `<dir>/entries.jsonl`: an export file of the same leaves (service/format's
 *   export format), with a checkpoint of all of them in its header.
 * - A local chain (anvil, under `<dir>/chain-data`) with LedgerAnchor deployed
 *   and a checkpoint anchored every `anchorEvery` entries and at the end,
 *   each with its consistency proof from the one before, as the anchorer sends them.
 *
 * The leaves come from ./bench-ledger.ts, so a correct auditor finds the log
 * clean. The log key is derived from a fixed seed, so a kept directory is
 * reused by later runs (`log.json` records what it holds); the chain's state
 * survives between runs in anvil's state file, and whatever checkpoints are
 * missing from it are anchored again.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { once } from "node:events";
import path from "node:path";
import { Wallet } from "ethers";
import pino from "pino";
import { ChainClient, HttpJsonRpc } from "../../service/chain/client";
import { anvilDevAccount, deployOnce, startLocalChain, type LocalChain } from "../../service/chain/local-chain";
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportHeader } from "../../service/format";
import { consistencyProof } from "../../service/ledger/proofs";
import { CompactRange, hashLeaf, noteKeyFromSeed, parseSignerKey, signCheckpoint, toHex } from "../../service/log";
import { LevelStore } from "../../service/store/level";
import type { LeafWrite } from "../../service/store/store";
import { checkCanonical, ledger, LedgerRandom, writeExportFile } from "./bench-ledger";

export const BENCH_ORIGIN = "bench.subsidy-ledger.local/log";

/** The benchmark log's note key: fixed, so a kept directory can be reused. Never a real key. */
export function benchLogKey(): { signerKey: string; verifierKey: string } {
  return noteKeyFromSeed(BENCH_ORIGIN, new Uint8Array(32).fill(42));
}

/** Bumped whenever the layout or the generator changes, so an old directory is rebuilt rather than reused. */
const LAYOUT = 1;

interface Manifest {
  readonly layout: number;
  readonly entries: number;
  readonly anchorEvery: number;
  readonly exportBytes: number;
  /** The anchored checkpoints, oldest first: the last is of all the entries. */
  readonly checkpoints: readonly { readonly size: number; readonly rootHex: string }[];
}

export interface PreparedLog {
  readonly dir: string;
  readonly storeDir: string;
  readonly exportFile: string;
  readonly exportBytes: number;
  readonly entries: number;
  readonly logKey: string;
  readonly rpcUrl: string;
  readonly contract: string;
  readonly checkpoints: number;
  /** Seconds spent writing the leaves (0 when reused) and anchoring (0 when the chain already held them). */
  readonly generateSeconds: number;
  readonly anchorSeconds: number;
  readonly reused: boolean;
  /** Stops the chain (with a final state dump, so the directory can be reused). */
  readonly stop: () => Promise<void>;
}

/** The sizes anchored for a log of `entries`: every multiple of `every`, and `entries` itself. */
export function anchorSizes(entries: number, every: number): number[] {
  if (!Number.isSafeInteger(entries) || entries < 1) throw new RangeError("entries must be a positive integer");
  if (!Number.isSafeInteger(every) || every < 1) throw new RangeError("the anchoring interval must be a positive integer");
  const sizes: number[] = [];
  for (let s = every; s < entries; s += every) sizes.push(s);
  sizes.push(entries);
  return sizes;
}

async function readManifest(file: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

const hex0x = (b: Uint8Array) => `0x${toHex(b)}`;

/** Writes the leaves to a new store and export file; returns the checkpoints to anchor. */
async function generate(dir: string, entries: number, anchorEvery: number, say: (s: string) => void): Promise<Manifest> {
  const storeDir = path.join(dir, "store");
  const exportFile = path.join(dir, "entries.jsonl");
  const bodyFile = path.join(dir, "body.tmp");
  await rm(storeDir, { recursive: true, force: true });
  const store = await LevelStore.open(storeDir);
  const key = benchLogKey();
  const g = new LedgerRandom(Date.now() - 2 * 86_400_000);
  const leaves = ledger(g);
  const range = new CompactRange();
  const want = new Set(anchorSizes(entries, anchorEvery));
  const checkpoints: { size: number; rootHex: string }[] = [];
  const body = createWriteStream(bodyFile);
  let exportBytes = 0;
  let batch: LeafWrite[] = [];
  let lines: string[] = [];
  let reported = Date.now();
  try {
    for (let index = 0; index < entries; index++) {
      const text = leaves.next().value as string;
      if (index < 1000) checkCanonical(text, index);
      const bytes = Buffer.from(text, "utf8");
      const parsed = JSON.parse(text) as { id: string; recordedAt: string };
      batch.push({ index, id: parsed.id, bytes, recordedAt: parsed.recordedAt, nodes: range.append(hashLeaf(bytes)), indexes: [], openings: null });
      lines.push(`[${index},${text}]`);
      if (want.has(range.size)) checkpoints.push({ size: range.size, rootHex: hex0x(range.root()) });
      if (batch.length === 1024 || index === entries - 1) {
        await store.commit({ head: { size: range.size, compact: [...range.hashes] }, leaves: batch, state: new Map(), idempotency: new Map() });
        const chunk = `${lines.join("\n")}\n`;
        exportBytes += Buffer.byteLength(chunk);
        if (!body.write(chunk)) await once(body, "drain");
        batch = [];
        lines = [];
        if (Date.now() - reported > 10_000) {
          reported = Date.now();
          say(`  ${range.size.toLocaleString("en-US")} entries written\n`);
        }
      }
    }
  } finally {
    body.end();
    await once(body, "finish");
    await store.close();
  }
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date(g.now).toISOString(),
    service: null,
    treeSize: entries,
    checkpoint: signCheckpoint({ origin: BENCH_ORIGIN, size: entries, rootHash: range.root(), extensions: [] }, parseSignerKey(key.signerKey)),
    logKey: key.verifierKey,
  };
  await writeExportFile(exportFile, header, bodyFile);
  return { layout: LAYOUT, entries, anchorEvery, exportBytes, checkpoints };
}

/** Anchors `todo` in order, each with its consistency proof from the one before (the first from `fromSize`, already on the chain). */
async function anchorWith(client: ChainClient, store: LevelStore, recorder: Wallet, fromSize: number, todo: Manifest["checkpoints"]): Promise<number> {
  let base = fromSize;
  for (const c of todo) {
    const proof = base === 0 ? [] : (await consistencyProof(store, base, c.size, c.size)).proof;
    if (base > 0 && proof.length === 0) throw new Error(`no consistency proof from ${base} to ${c.size}`);
    await client.sendAndWait(recorder, { to: client.address, data: client.anchorCalldata(c.size, c.rootHex, proof.map(hex0x)) }, { pollMs: 10 });
    base = c.size;
  }
  return todo.length;
}

/**
 * Builds (or reuses) the log in `dir` and starts its chain. The caller must
 * call `stop()`; the store is closed when this resolves.
 */
export async function prepareAuditLog(o: { dir: string; entries: number; anchorEvery: number; say: (s: string) => void }): Promise<PreparedLog> {
  anchorSizes(o.entries, o.anchorEvery); // validates both
  await mkdir(o.dir, { recursive: true });
  const manifestFile = path.join(o.dir, "log.json");
  const chainDir = path.join(o.dir, "chain-data");
  const old = await readManifest(manifestFile);
  const reused = old !== undefined && old.layout === LAYOUT && old.entries === o.entries && old.anchorEvery === o.anchorEvery;
  let manifest: Manifest;
  let generateSeconds = 0;
  if (reused) {
    manifest = old;
    o.say(`reusing the log of ${o.entries.toLocaleString("en-US")} entries in ${o.dir}\n`);
  } else {
    await rm(manifestFile, { force: true });
    await rm(chainDir, { recursive: true, force: true });
    o.say(`writing a log of ${o.entries.toLocaleString("en-US")} entries to ${o.dir} (store and export file) …\n`);
    const t = process.hrtime.bigint();
    manifest = await generate(o.dir, o.entries, o.anchorEvery, o.say);
    generateSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  }

  const logger = pino({ level: "warn" }, pino.destination(2));
  const chain: LocalChain = await startLocalChain({ dataDir: chainDir, logger });
  try {
    const transport = new HttpJsonRpc(chain.url, { timeoutMs: 30_000 });
    // deployOnce grants this recorder its roles and funds it; the contract checks every proof it sends.
    const recorder = new Wallet(Wallet.createRandom().privateKey);
    const d = await deployOnce({ dataDir: chainDir, transport, deployer: anvilDevAccount(), recorder: recorder.address, logger, redeploy: true });
    const client = new ChainClient({ transport, address: d.address, chainId: d.chainId });
    const t = process.hrtime.bigint();
    const latest = await client.latestCheckpoint();
    const todo = manifest.checkpoints.filter((c) => c.size > latest.treeSize);
    if (todo.length > 0) o.say(`anchoring ${todo.length.toLocaleString("en-US")} checkpoints (one every ${o.anchorEvery.toLocaleString("en-US")} entries) on anvil …\n`);
    if (todo.length > 0) {
      if (latest.treeSize > 0 && manifest.checkpoints.find((c) => c.size === latest.treeSize)?.rootHex !== latest.rootHex)
        throw new Error(`the chain holds a checkpoint of size ${latest.treeSize} that is not this log's; remove ${o.dir} and run again`);
      const store = await LevelStore.open(path.join(o.dir, "store"));
      try {
        await anchorWith(client, store, recorder, latest.treeSize, todo);
      } finally {
        await store.close();
      }
    }
    const anchorSeconds = todo.length > 0 ? Number(process.hrtime.bigint() - t) / 1e9 : 0;
    const count = await client.checkpointCount();
    if (count !== manifest.checkpoints.length) throw new Error(`the chain holds ${count} checkpoints, the log ${manifest.checkpoints.length}; remove ${o.dir} and run again`);
    if (!reused) await writeFile(manifestFile, JSON.stringify(manifest));
    return {
      dir: o.dir,
      storeDir: path.join(o.dir, "store"),
      exportFile: path.join(o.dir, "entries.jsonl"),
      exportBytes: manifest.exportBytes,
      entries: manifest.entries,
      logKey: benchLogKey().verifierKey,
      rpcUrl: chain.url,
      contract: d.address,
      checkpoints: count,
      generateSeconds,
      anchorSeconds,
      reused,
      stop: async () => void (await chain.stop()),
    };
  } catch (e) {
    await chain.kill();
    throw e;
  }
}
