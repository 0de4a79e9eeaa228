/**
 * The per-leaf work of an audit. Its byte-level part (check UTF-8, scan for
 * canonical form writing the token tape, hash the leaf, grow the tree, and
 * prove a share of the entries well-formed from their bytes, ./entry-facts.ts)
 * runs a batch at a time in the calling thread or in a worker thread
 * ({@link LeafPool}); only bytes and typed arrays cross between threads,
 * which costs next to nothing. Building the entry stays in the main thread,
 * which keeps what the invariant replay needs: from the facts of a proven
 * entry (the main thread proves those the worker left), else read from the
 * tape (./tape.ts), else by parsing (handing parsed objects across threads
 * would cost about as much as parsing them again).
 */
import { isUtf8 } from "node:buffer";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { canonicalBytes, CompactRange, equalBytes, extendScratchSize, HASH_SIZE } from "../../../service/log";
import { finishLeaf, LeafCheck, precheckLeaf, textOfBytes } from "./canonical";
import { MalformedEntry, readEntry, readEntryFields, type AuditEntry } from "./entries";
import { entryFactsOf, entryOfFacts, proveEntry, type EntryFacts } from "./entry-facts";
import { Tape, TapeWriter } from "./tape";
import type { LeafBatch } from "./sources";
import { DESCRIPTOR_SIZE, HEAP_BASE, Sha256Lanes } from "./sha256-lanes";

/** What the bytes alone tell, leaf i of the batch at position i, and the tree they build. */
export interface LeafPrecheck {
  /** Leaf hashes, 32 bytes each, in order (zeros for a record with no index). */
  readonly hashes: Uint8Array;
  /** A {@link LeafCheck} per leaf. */
  readonly checks: Uint8Array;
  /** The tokens of every proven leaf, into the batch's data (./tape.ts). */
  readonly tape: Int32Array;
  /** Per leaf, its first (root) token on the tape; -1 for a leaf that was not proven canonical. */
  readonly tapeRoots: Int32Array;
  /** The entries proven well-formed from their bytes (./entry-facts.ts), for the main thread to build unchecked. */
  readonly facts: EntryFacts;
  /** How long this took, in ms (to balance the threads: ./balance.ts). */
  readonly workMs: number;
  /** The tree's root at each wanted size this batch reached: sizes, and 32 bytes each. */
  readonly rootSizes: Float64Array;
  readonly roots: Uint8Array;
  /**
   * The tree's compact range at each of those sizes, one after another (a
   * size s has as many hashes as s has bits set): where the audit resumes
   * to rebuild prefix roots when it locates damage (./audit.ts).
   */
  readonly compacts: Uint8Array;
}

/**
 * The stateless, byte-level part of the per-leaf work (the leaf hash, UTF-8
 * validity, the canonical-form scan, the entries of the first `facts` leaves
 * proven from their bytes), and the tree: every leaf with an index
 * is appended to `tree` in order, and its root taken at each size in `wanted`
 * (ascending; `next` is where this batch starts looking). Bytes in, bytes out:
 * cheap to hand to a worker thread. `tape` is where the tokens are written
 * (emptied first; pass the same one each batch so its buffer is reused).
 *
 * The hashing is batched (./sha256-lanes.ts): the batch's bytes are copied
 * into the lanes' memory once, every leaf hash is computed in one call, and
 * the tree grows by {@link CompactRange.extendMany}, one call per level, up
 * to each wanted size in turn so that its root comes out.
 */
export function precheckLeaves(
  batch: LeafBatch,
  tree: CompactRange,
  wanted: readonly number[],
  next: { i: number },
  tape = new TapeWriter(),
  lanes = threadLanes(),
  facts = batch.length,
): LeafPrecheck {
  const began = performance.now();
  const n = batch.length;
  const hashes = new Uint8Array(n * HASH_SIZE);
  const checks = new Uint8Array(n);
  tape.truncate(0);
  const tapeRoots = new Int32Array(n).fill(-1);
  const data = batch.data;
  // One UTF-8 check for the whole batch. Within valid UTF-8, a leaf is valid
  // itself when it starts and ends on character boundaries (no continuation
  // byte at either end); otherwise, or if the batch is not valid, leaf by leaf.
  let first = data.length;
  let last = 0;
  let indexed = 0;
  for (let i = 0; i < n; i++) {
    if (batch.starts[i]! < first) first = batch.starts[i]!;
    if (batch.ends[i]! > last) last = batch.ends[i]!;
    if (!Number.isNaN(batch.indices[i]!)) indexed++;
  }
  const allUtf8 = first < last && isUtf8(data.subarray(first, last));
  const boundary = (p: number) => p >= last || (data[p]! & 0xc0) !== 0x80;
  const leafHashes = hashIndexedLeaves(batch, indexed, first <= last ? first : 0, first <= last ? last : 0, lanes);
  const mem = lanes.bytes;
  // The hashes lie in leaf order without gaps; with every leaf indexed (the usual case), one copy.
  if (indexed === n) hashes.set(mem.subarray(leafHashes.at, leafHashes.at + HASH_SIZE * n));
  for (let i = 0, j = 0; i < n; i++) {
    if (Number.isNaN(batch.indices[i]!)) continue;
    if (indexed !== n) hashes.set(mem.subarray(leafHashes.at + HASH_SIZE * j, leafHashes.at + HASH_SIZE * (j + 1)), i * HASH_SIZE);
    j++;
    const s = batch.starts[i]!;
    const e = batch.ends[i]!;
    const root = tape.length;
    checks[i] = precheckLeaf(data, s, e, tape, allUtf8 && boundary(s) && boundary(e));
    if (checks[i] === LeafCheck.PROVEN) tapeRoots[i] = root;
  }
  const grown = growTree(tree, mem.subarray(leafHashes.at, leafHashes.at + HASH_SIZE * indexed), mem.subarray(leafHashes.scratch, leafHashes.scratch + extendScratchSize(indexed)), lanes, wanted, next);
  const tokens = tape.finish();
  const proven = entryFactsOf(data, tokens, tapeRoots, facts);
  return { hashes, checks, tape: tokens, tapeRoots, facts: proven, ...grown, workMs: performance.now() - began };
}

let lanesOfThisThread: Sha256Lanes | undefined;

/** One {@link Sha256Lanes} per thread, made at first use. */
export function threadLanes(): Sha256Lanes {
  return (lanesOfThisThread ??= Sha256Lanes.create());
}

/**
 * Computes the leaf hash of every leaf with an index, in one call: copies
 * data[first, last) into the lanes' memory (one byte in: a message must
 * start at address 1 or later), writes a descriptor per leaf, and lays out
 * after the hashes the scratch the tree needs. Returns where the hashes
 * (32 bytes each, in leaf order) and that scratch lie.
 *
 * The descriptors go in order of block count (a counting sort; each still
 * names its own digest slot): a group of four lanes takes as many blocks as
 * its longest message, and the ledger's leaves range from 5 to 11 blocks,
 * so in log order most groups would carry an 11-block lane.
 */
function hashIndexedLeaves(batch: LeafBatch, indexed: number, first: number, last: number, lanes: Sha256Lanes): { at: number; scratch: number } {
  const dataAt = HEAP_BASE + 16;
  const descAt = align16(dataAt + (last - first));
  const hashesAt = align16(descAt + DESCRIPTOR_SIZE * indexed);
  const scratchAt = hashesAt + HASH_SIZE * indexed;
  lanes.reserve(scratchAt + extendScratchSize(indexed) - HEAP_BASE);
  lanes.bytes.set(batch.data.subarray(first, last), dataAt);
  let most = 0;
  for (let i = 0; i < batch.length; i++) if (!Number.isNaN(batch.indices[i]!)) most = Math.max(most, blocksOf(batch.ends[i]! - batch.starts[i]!));
  // slot[b]: where the first leaf of b blocks goes.
  const slot = new Int32Array(most + 2);
  for (let i = 0; i < batch.length; i++) if (!Number.isNaN(batch.indices[i]!)) slot[blocksOf(batch.ends[i]! - batch.starts[i]!) + 1]!++;
  for (let b = 1; b < slot.length; b++) slot[b]! += slot[b - 1]!;
  const words = lanes.words;
  for (let i = 0, j = 0; j < indexed; i++) {
    if (Number.isNaN(batch.indices[i]!)) continue;
    const len = batch.ends[i]! - batch.starts[i]!;
    const d = (descAt + DESCRIPTOR_SIZE * slot[blocksOf(len)]!++) / 4;
    words[d] = dataAt + batch.starts[i]! - first;
    words[d + 1] = len;
    words[d + 2] = hashesAt + HASH_SIZE * j;
    j++;
  }
  lanes.hashLeaves(descAt, indexed);
  return { at: hashesAt, scratch: scratchAt };
}

/** SHA-256 blocks of a leaf of `len` bytes: the 0x00 tag, the bytes, 0x80 and the 8-byte length, in 64-byte blocks. */
const blocksOf = (len: number) => Math.floor((len + 1 + 8) / 64) + 1;

const align16 = (x: number) => Math.ceil(x / 16) * 16;

/**
 * Appends `leaves` to the tree, stopping at each wanted size on the way to
 * take its root (the same sizes as appending one by one: those after the
 * tree's size, each once).
 */
function growTree(
  tree: CompactRange,
  leaves: Uint8Array,
  scratch: Uint8Array,
  lanes: Sha256Lanes,
  wanted: readonly number[],
  next: { i: number },
): { rootSizes: Float64Array; roots: Uint8Array; compacts: Uint8Array } {
  const sizes: number[] = [];
  const roots: Uint8Array[] = [];
  const compacts: Uint8Array[] = [];
  const count = leaves.length / HASH_SIZE;
  let done = 0;
  while (done < count) {
    while (next.i < wanted.length && wanted[next.i]! <= tree.size) next.i++;
    const stop = next.i < wanted.length ? Math.min(count, done + (wanted[next.i]! - tree.size)) : count;
    tree.extendMany(leaves.subarray(HASH_SIZE * done, HASH_SIZE * stop), lanes.nodePairs, scratch);
    done = stop;
    if (next.i < wanted.length && wanted[next.i] === tree.size) {
      sizes.push(tree.size);
      roots.push(tree.root());
      compacts.push(...tree.hashes);
      next.i++;
    }
  }
  const flat = new Uint8Array(roots.length * HASH_SIZE);
  roots.forEach((r, k) => flat.set(r, k * HASH_SIZE));
  const flatCompacts = new Uint8Array(compacts.length * HASH_SIZE);
  compacts.forEach((h, k) => flatCompacts.set(h, k * HASH_SIZE));
  return { rootSizes: Float64Array.from(sizes), roots: flat, compacts: flatCompacts };
}

/** What a leaf is, once parsed. */
export interface LeafReading {
  /** The entry, or null when the leaf is not one (see `encoding` and `malformed`). */
  entry: AuditEntry | null;
  /** Why the leaf bytes are not canonical JSON, or null. */
  encoding: string | null;
  /** Why the canonical JSON is not a ledger entry, or null. */
  malformed: string | null;
  /** Service only: whether the entry shown beside the leaf differs from it. */
  shownMismatch: boolean;
}

/**
 * Parses leaf i of a prechecked batch and reads it as an entry (main thread:
 * it allocates what the replay keeps). A leaf proven canonical whose entry
 * the worker did not look at is proven here (./entry-facts.ts) unless
 * `prove` is false (tests: the reader alone).
 */
export function readLeaf(batch: LeafBatch, pre: LeafPrecheck, i: number, out: LeafReading, tape?: Tape, prove = true): LeafReading {
  out.entry = null;
  out.encoding = null;
  out.malformed = null;
  out.shownMismatch = false;
  const root = pre.tapeRoots[i]!;
  if (root >= 0 && batch.texts === undefined && batch.shown === undefined) {
    // Proven canonical, hence JSON: read in place from the tape, no parse.
    const t = tape ?? new Tape(batch.data, pre.tape);
    if (pre.facts.kinds[i] !== 0 || (prove && i >= pre.facts.done && proveEntry(batch.data, pre.tape, root, i, pre.facts))) {
      // Proven a well-formed entry too (in the worker): built, not checked again.
      t.load(batch.starts[i]!, batch.ends[i]!);
      out.entry = entryOfFacts(pre.facts, i, t);
      return out;
    }
    try {
      out.entry = readEntryFields(t.leaf(root, batch.starts[i]!, batch.ends[i]!), textOfBytes);
    } catch (e) {
      if (!(e instanceof MalformedEntry)) throw e;
      out.malformed = malformedReason(batch.data.subarray(batch.starts[i]!, batch.ends[i]!));
    }
    return out;
  }
  const bytes = batch.data.subarray(batch.starts[i]!, batch.ends[i]!);
  const parsed = finishLeaf(bytes, pre.checks[i]! as LeafCheck, batch.texts?.[i]);
  if (!parsed.ok) {
    out.encoding = parsed.reason;
    return out;
  }
  if (batch.shown !== undefined) out.shownMismatch = !showsLeaf(batch.shown[i], bytes);
  try {
    out.entry = readEntry(parsed.value);
  } catch (e) {
    if (!(e instanceof MalformedEntry)) throw e;
    out.malformed = e.message;
  }
  return out;
}

/** Why a leaf that parsed is not an entry, read from its UTF-8 text. */
function malformedReason(bytes: Uint8Array): string {
  try {
    readEntry(JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")));
  } catch (e) {
    if (e instanceof MalformedEntry) return e.message;
    throw e;
  }
  throw new Error("a leaf read from its tape was malformed, but not once parsed");
}

/** Whether `shown` (the service's `entry` beside a leaf) is the entry the leaf bytes encode. */
function showsLeaf(shown: unknown, bytes: Uint8Array): boolean {
  try {
    return equalBytes(canonicalBytes(shown), bytes);
  } catch {
    return false;
  }
}

/**
 * Runs {@link precheckLeaves} over a log's batches, in order, somewhere: in
 * this thread, or in a worker thread ({@link LeafPool}).
 */
export interface LeafProcessor {
  /** `facts`: of how many leaves (the first ones) to prove the entry (./entry-facts.ts); by default all. */
  process(batch: LeafBatch, facts?: number): Promise<LeafPrecheck>;
  /** The size and root of the tree of every leaf processed. */
  finish(): Promise<{ size: number; root: Uint8Array }>;
  close(): Promise<void>;
}

/** The processor that works in the calling thread. */
export function inlineProcessor(wanted: readonly number[]): LeafProcessor {
  const tree = new CompactRange();
  const next = { i: 0 };
  const tape = new TapeWriter();
  return {
    process: async (batch, facts) => precheckLeaves(batch, tree, wanted, next, tape, undefined, facts),
    finish: async () => ({ size: tree.size, root: tree.root() }),
    close: async () => {},
  };
}

/** The plain-data form of a batch that crosses to a worker. */
interface WireBatch {
  readonly length: number;
  readonly indices: ArrayLike<number>;
  readonly data: Uint8Array;
  readonly starts: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
  readonly facts: number;
}

/**
 * A worker thread running {@link precheckLeaves} (one: it keeps the tree,
 * which grows in log order). Under ts-node (the npm scripts) the worker
 * registers ts-node itself; compiled, it loads leaf-worker.js from beside
 * this file.
 */
export class LeafPool implements LeafProcessor {
  private readonly _pending = new Map<number, { resolve: (r: never) => void; reject: (e: unknown) => void }>();
  private _next = 0;
  private _failed: unknown = null;

  private constructor(private readonly _worker: Worker) {
    _worker.on("message", (m: { id: number; result?: unknown; error?: string }) => {
      const p = this._pending.get(m.id);
      if (p === undefined) return;
      this._pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`leaf worker: ${m.error}`));
      else p.resolve(m.result as never);
    });
    _worker.on("error", (e) => this._fail(e));
    _worker.on("exit", (code) => {
      if (code !== 0) this._fail(new Error(`the leaf worker exited with code ${code}`));
    });
  }

  private _fail(e: unknown): void {
    this._failed ??= e;
    for (const p of this._pending.values()) p.reject(e);
    this._pending.clear();
  }

  static create(wanted: readonly number[]): LeafPool {
    const ts = __filename.endsWith(".ts");
    const workerFile = path.join(__dirname, `leaf-worker${ts ? ".ts" : ".js"}`);
    const workerData = { auditLeafWorker: true, wanted: Float64Array.from(wanted) };
    const worker = ts
      ? new Worker(
          `require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(path.join(__dirname, "../../../tsconfig.json"))} }); require(${JSON.stringify(workerFile)}).runLeafWorker();`,
          { eval: true, workerData },
        )
      : new Worker(workerFile, { workerData });
    return new LeafPool(worker);
  }

  private _ask<T>(message: object): Promise<T> {
    if (this._failed !== null) return Promise.reject(this._failed);
    const id = this._next++;
    return new Promise<T>((resolve, reject) => {
      this._pending.set(id, { resolve: resolve as (r: never) => void, reject });
      this._worker.postMessage({ id, ...message });
    });
  }

  process(batch: LeafBatch, facts = batch.length): Promise<LeafPrecheck> {
    const wire: WireBatch = { length: batch.length, indices: batch.indices, data: batch.data, starts: batch.starts, ends: batch.ends, facts };
    return this._ask({ batch: wire });
  }

  finish(): Promise<{ size: number; root: Uint8Array }> {
    return this._ask({ finish: true });
  }

  async close(): Promise<void> {
    await this._worker.terminate();
  }
}

/** The worker side: answers each batch with its precheck, keeping the tree between batches. */
export function serveLeafBatches(
  port: { on(e: "message", f: (m: unknown) => void): void; postMessage(m: unknown, transfer?: ArrayBuffer[]): void },
  wanted: readonly number[],
): void {
  const tree = new CompactRange();
  const next = { i: 0 };
  const tape = new TapeWriter();
  port.on("message", (m) => {
    const { id, batch, finish } = m as { id: number; batch?: WireBatch; finish?: true };
    try {
      if (finish) {
        port.postMessage({ id, result: { size: tree.size, root: tree.root() } });
        return;
      }
      const b = batch!;
      const data = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
      const result = precheckLeaves({ ...b, data }, tree, wanted, next, tape, undefined, b.facts);
      const f = result.facts;
      const transfer = [result.hashes, result.checks, result.tape, result.tapeRoots, result.rootSizes, result.roots, result.compacts, f.kinds, f.bits, f.ms, f.fen, f.at].map((a) => a.buffer as ArrayBuffer);
      port.postMessage({ id, result }, transfer);
    } catch (e) {
      port.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
