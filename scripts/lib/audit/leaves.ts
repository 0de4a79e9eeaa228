/**
 * The per-leaf work of an audit, in three parts:
 *
 * - checking ({@link checkBatch}): each leaf hashed as given (the log core's
 *   hashLeaf, node:crypto), then UTF-8, JSON.parse, and the log core's
 *   canonical encoding of what it parses to compared with the leaf. It is a
 *   pure function of the leaf bytes, so batches may be checked in worker
 *   threads ({@link LeafReaders}), in any order. Only hashes, verdicts and
 *   the leaf texts come back: strings and bytes pass between threads
 *   cheaply, parsed objects do not.
 * - reading ({@link entryOfLeaf}): a canonical leaf parsed and read as a
 *   version-1 entry (service/format/entry-reader.ts), in the thread that
 *   replays the log.
 * - the tree ({@link TreeBuilder}): the leaf hashes appended in log order to
 *   the log core's CompactRange, its root taken at every size the audit
 *   wants. It stays in the thread that replays the log.
 */
import { isUtf8 } from "node:buffer";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { canonicalText, CompactRange, EncodingError, hashLeaf, HASH_SIZE, isCanonicalText } from "../../../service/log";
import { MalformedEntry, readEntry, type LedgerEntry } from "../../../service/format/entry-reader";
import type { LeafBatch } from "./sources";

/**
 * Why `bytes` are not the canonical JSON encoding of some value, or null
 * when they are: valid UTF-8, JSON, and exactly the RFC 8785 form of what
 * they parse to. `text` is `bytes` decoded as UTF-8 (used only when they are
 * valid UTF-8). Never throws for bad input.
 */
export function leafEncodingFault(bytes: Uint8Array, text: string): string | null {
  if (!isUtf8(bytes)) return "the leaf bytes are not valid UTF-8";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "the leaf is not JSON";
  }
  try {
    // Valid UTF-8 decodes one-to-one and the canonical text is well-formed, so comparing the strings compares the bytes.
    return isCanonicalText(value, text) || canonicalText(value) === text ? null : "the leaf is JSON but not in RFC 8785 canonical form";
  } catch (e) {
    if (!(e instanceof EncodingError)) throw e;
    return `the leaf has no canonical form: ${e.message}`;
  }
}

/** A canonical leaf's text read as a ledger entry: the entry, or why it is not one. */
export function entryOfLeaf(text: string): { readonly entry: LedgerEntry | null; readonly malformed: string | null } {
  try {
    return { entry: readEntry(JSON.parse(text)), malformed: null };
  } catch (e) {
    if (!(e instanceof MalformedEntry)) throw e;
    return { entry: null, malformed: e.message };
  }
}

/** A batch checked: per leaf, its hash, whether it is canonical, and its text. */
export interface BatchCheck {
  /** 32 bytes a leaf, in batch order (zeros for a record with no index, which is not in the tree). */
  readonly hashes: Uint8Array;
  /** Per leaf, {@link leafEncodingFault}. */
  readonly faults: readonly (string | null)[];
  /** Per leaf, its text when it is canonical, else "". */
  readonly texts: readonly string[];
}

/** Checks every leaf of a batch and hashes every leaf with an index. */
export function checkBatch(batch: LeafBatch): BatchCheck {
  const hashes = new Uint8Array(batch.length * HASH_SIZE);
  const faults: (string | null)[] = [];
  const texts: string[] = [];
  for (let i = 0; i < batch.length; i++) {
    const leaf = batch.data.subarray(batch.starts[i]!, batch.ends[i]!);
    if (!Number.isNaN(batch.indices[i]!)) hashes.set(hashLeaf(leaf), i * HASH_SIZE);
    const text = batch.data.toString("utf8", batch.starts[i], batch.ends[i]);
    const fault = leafEncodingFault(leaf, text);
    faults.push(fault);
    texts.push(fault === null ? text : "");
  }
  return { hashes, faults, texts };
}

/**
 * The log's tree, grown batch by batch in log order from the leaf hashes of
 * the records with an index; at each size in `wanted` (ascending) its root
 * and compact range are taken.
 */
export class TreeBuilder {
  private readonly _tree = new CompactRange();
  private _next = 0;

  constructor(private readonly _wanted: readonly number[]) {}

  /** Appends a batch's leaf hashes; returns the wanted sizes it reached, with the root and compact range at each. */
  add(indices: ArrayLike<number>, hashes: Uint8Array): { sizes: number[]; roots: Uint8Array[]; compacts: Uint8Array[][] } {
    const step = { sizes: [] as number[], roots: [] as Uint8Array[], compacts: [] as Uint8Array[][] };
    const tree = this._tree;
    for (let i = 0; i < indices.length; i++) {
      if (Number.isNaN(indices[i]!)) continue;
      tree.extend(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      while (this._next < this._wanted.length && this._wanted[this._next]! < tree.size) this._next++;
      if (this._wanted[this._next] === tree.size) {
        step.sizes.push(tree.size);
        step.roots.push(tree.root());
        step.compacts.push([...tree.hashes]);
        this._next++;
      }
    }
    return step;
  }

  get size(): number {
    return this._tree.size;
  }

  root(): Uint8Array {
    return this._tree.root();
  }
}

/**
 * {@link checkBatch} in `count` worker threads (./leaf-worker.ts), each
 * batch to the next worker in turn; with `count` 0, in this thread. Results
 * are promises, so the caller can keep a few batches in flight and take them
 * in order. Under ts-node (the npm scripts) a worker registers ts-node
 * itself; compiled, it loads leaf-worker.js from beside this file.
 */
export class LeafReaders {
  private readonly _workers: Worker[] = [];
  private readonly _pending = new Map<number, { resolve: (r: BatchCheck) => void; reject: (e: unknown) => void }>();
  private _next = 0;
  private _failed: unknown = null;

  constructor(count: number) {
    const ts = __filename.endsWith(".ts");
    const file = path.join(__dirname, `leaf-worker${ts ? ".ts" : ".js"}`);
    const register = ts ? `require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(path.join(__dirname, "../../../tsconfig.json"))} });` : "";
    for (let k = 0; k < count; k++) {
      const worker = new Worker(`${register} require(${JSON.stringify(file)}).runLeafWorker();`, { eval: true });
      worker.on("message", (m: { id: number; result?: BatchCheck; error?: string }) => {
        const p = this._pending.get(m.id);
        this._pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(`leaf worker: ${m.error}`));
        else p?.resolve(m.result!);
      });
      worker.on("error", (e) => this._fail(e));
      worker.on("exit", (code) => code !== 0 && this._fail(new Error(`a leaf worker exited with code ${code}`)));
      this._workers.push(worker);
    }
  }

  private _fail(e: unknown): void {
    this._failed ??= e;
    for (const p of this._pending.values()) p.reject(e);
    this._pending.clear();
  }

  read(batch: LeafBatch): Promise<BatchCheck> {
    if (this._workers.length === 0) return Promise.resolve(checkBatch(batch));
    if (this._failed !== null) return Promise.reject(this._failed);
    const id = this._next++;
    const { length, indices, data, starts, ends } = batch; // not `check`: a function does not cross threads
    return new Promise<BatchCheck>((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._workers[id % this._workers.length]!.postMessage({ id, batch: { length, indices, data, starts, ends } });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this._workers.map((w) => w.terminate()));
  }
}
