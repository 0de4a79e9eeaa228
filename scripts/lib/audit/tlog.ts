/**
 * A published log (C2SP tlog-tiles) as the audit's source: a service's
 * `/tlog/`, a mirror, or a directory of the files, read through
 * service/format's LogReader. Nothing it serves is trusted:
 *
 * - the entries come from the entry bundles, and the audit hashes, reads and
 *   replays them like any other source's;
 * - each level-0 hash tile is read beside its bundle, and the audit compares
 *   every published leaf hash with the hash of the published entry;
 * - after the pass, every hash tile above level 0 is compared with the nodes
 *   of a tree built from the audit's own leaf hashes ({@link TlogSource.checkTree});
 * - proofs for locating damage are assembled from the published tiles: they
 *   are the log's word, checked against roots the auditor trusts.
 *
 * A bundle or tile that does not parse (truncated, cut short) is a finding
 * naming it, and its leaves are missing from the pass, which says so too.
 */
import { readFile, stat } from "node:fs/promises";
import {
  assembleProof,
  CompactRange,
  planConsistency,
  planInclusion,
  planNodeIds,
  nodeKey,
  equalBytes,
  HASH_SIZE,
} from "../../../service/log";
import {
  entriesPath,
  parseEntryBundle,
  parseHashTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  TileFormatError,
  tilePath,
  widthAt,
} from "../../../service/format";
import { dirLogReader, httpLogReader, LogReadError, nodeFromTiles, type LogReader } from "../../../service/format/log-reader";
import { AuditError, messageOf } from "./errors";
import type { EntrySource, LeafBatch, ProofOracle, PublishedCheckpoint, SourceProblem } from "./sources";

/** Bundles read ahead of the one being handed out: enough to hide an HTTP round trip. */
const READ_AHEAD = 16;

/** The tree size a checkpoint note states (its second line), without checking its signature: the audit does that. */
function checkpointSize(note: string, where: string): number {
  const line = note.split("\n")[1] ?? "";
  if (!/^(0|[1-9][0-9]{0,15})$/.test(line) || !Number.isSafeInteger(Number(line)))
    throw new AuditError("PROTOCOL", `${where}: the checkpoint's second line is not a tree size`);
  return Number(line);
}

type Settled<T> = { readonly ok: true; readonly v: T } | { readonly ok: false; readonly e: unknown };
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
}

function readError(e: unknown): AuditError {
  return new AuditError("UNREACHABLE", messageOf(e), { cause: e });
}

export class TlogSource implements EntrySource {
  readonly kind = "tlog";
  readonly description: string;
  readonly declaredSize: number;
  readonly published: readonly PublishedCheckpoint[];
  readonly oracle: ProofOracle;
  /** The tree of the leaf hashes the audit computed, in log order, and the nodes of it the upper tiles hold (levels 8, 16, …). */
  private readonly _tree = new CompactRange();
  private readonly _tileNodes = new Map<string, Uint8Array>();

  private constructor(
    private readonly _reader: LogReader,
    location: string,
    note: string,
  ) {
    this.declaredSize = checkpointSize(note, location);
    this.description = `the published log at ${location} (checkpoint of ${this.declaredSize} entries)`;
    this.published = [{ label: "the published checkpoint", note }];
    this.oracle = tileOracle(_reader, location);
  }

  /** `location`: an http(s) URL of the log's root (where `checkpoint` is), or a directory. */
  static async open(location: string, fetch: typeof globalThis.fetch = globalThis.fetch): Promise<TlogSource> {
    const http = /^https?:\/\//.test(location);
    // A mistyped directory is the user's mistake, not a log that publishes nothing.
    if (!http && !(await stat(location).catch(() => null))?.isDirectory()) throw new AuditError("USAGE", `--tlog ${location}: no such directory`);
    const reader = http ? httpLogReader(location, fetch) : dirLogReader(location, readFile);
    let note: string;
    try {
      note = new TextDecoder("utf-8", { fatal: true }).decode(await reader.readCheckpoint());
    } catch (e) {
      if (e instanceof LogReadError && e.code === "NOT_FOUND") throw new AuditError("PROTOCOL", `${location} publishes no checkpoint`, { cause: e });
      if (e instanceof TypeError) throw new AuditError("PROTOCOL", `${location}: the checkpoint is not UTF-8`, { cause: e });
      throw readError(e);
    }
    return new TlogSource(reader, location, note);
  }

  /** One batch a bundle, in log order; each with the published level-0 hashes of its leaves. */
  async *leaves(until: number): AsyncGenerator<LeafBatch> {
    const size = Math.min(until, this.declaredSize);
    const bundles = Math.ceil(size / TILE_WIDTH);
    const reads: Promise<LeafBatch>[] = [];
    let next = 0;
    while (next < bundles && reads.length < READ_AHEAD) reads.push(this._bundle(next++, size));
    while (reads.length > 0) {
      const batch = await reads.shift()!;
      if (next < bundles) reads.push(this._bundle(next++, size));
      yield batch;
    }
  }

  private async _bundle(n: number, size: number): Promise<LeafBatch> {
    const width = widthAt(0, n, size);
    const first = n * TILE_WIDTH;
    const tileName = tilePath(0, n, width);
    const [bundle, tile] = await Promise.all([settle(this._reader.readEntryBundle(n, width)), settle(this._reader.readTile(0, n, width))]);
    const problems: SourceProblem[] = [];
    const problem = (name: string, e: unknown) => problems.push({ kind: "tile-mismatch", message: `${name}: ${messageOf(e)}`, leafIndex: first, damagedFrom: first });
    let entries: Uint8Array[] = [];
    if (!bundle.ok) {
      if (!(bundle.e instanceof LogReadError && bundle.e.code !== "UNAVAILABLE")) throw readError(bundle.e);
      problem(entriesPath(n, width), bundle.e);
    } else {
      try {
        entries = parseEntryBundle(bundle.v, width);
      } catch (e) {
        if (!(e instanceof TileFormatError)) throw e;
        problem(entriesPath(n, width), e);
      }
    }
    if (!tile.ok) {
      if (!(tile.e instanceof LogReadError && tile.e.code !== "UNAVAILABLE")) throw readError(tile.e);
      problem(tileName, tile.e);
    }
    const bytes = bundle.ok ? bundle.v : new Uint8Array(0);
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const starts = new Uint32Array(entries.length);
    const ends = new Uint32Array(entries.length);
    entries.forEach((e, i) => {
      starts[i] = e.byteOffset - data.byteOffset;
      ends[i] = starts[i]! + e.byteLength;
    });
    const indices = Float64Array.from(entries, (_, i) => first + i);
    const published = tile.ok && entries.length > 0 ? tile.v : undefined;
    const check = (hashes: Uint8Array): SourceProblem[] => {
      this._grow(hashes);
      return published === undefined ? problems : [...problems, ...leafHashProblems(tileName, published, hashes, indices)];
    };
    return { length: entries.length, indices, data, starts, ends, check };
  }

  /** Appends a batch's leaf hashes (the audit hands batches over in log order), keeping each upper-tile node as it completes. */
  private _grow(hashes: Uint8Array): void {
    for (let at = 0; at < hashes.length; at += HASH_SIZE) {
      const leaf = hashes.subarray(at, at + HASH_SIZE);
      // A leaf that completes a tile completes its level-8 node, and maybe 16, 24, …: list them then only.
      if ((this._tree.size + 1) % TILE_WIDTH !== 0) this._tree.extend(leaf);
      else for (const n of this._tree.append(leaf)) if (n.id.level > 0 && n.id.level % TILE_HEIGHT === 0) this._tileNodes.set(`${n.id.level}/${n.id.index}`, n.hash);
    }
  }

  /** After the pass: compares every published hash tile above level 0 with the tree of the audit's leaf hashes (a node it did not reach is not compared). */
  async checkTree(): Promise<SourceProblem[]> {
    const size = this.declaredSize;
    const problems: SourceProblem[] = [];
    for (let level = 1; widthAt(level, 0, size) > 0; level++) {
      for (let n = 0; widthAt(level, n, size) > 0; n++) {
        const width = widthAt(level, n, size);
        const name = tilePath(level, n, width);
        let hashes: Uint8Array[];
        try {
          hashes = parseHashTile(await this._reader.readTile(level, n, width), width);
        } catch (e) {
          if (e instanceof TileFormatError || (e instanceof LogReadError && e.code !== "UNAVAILABLE")) {
            problems.push({ kind: "tile-mismatch", message: `${name}: ${messageOf(e)}` });
            continue;
          }
          throw readError(e);
        }
        const j = hashes.findIndex((h, k) => {
          const mine = this._tileNodes.get(`${level * TILE_HEIGHT}/${n * TILE_WIDTH + k}`);
          return mine !== undefined && !equalBytes(h, mine);
        });
        if (j >= 0) {
          const span = TILE_WIDTH ** level;
          const from = (n * TILE_WIDTH + j) * span;
          problems.push({ kind: "tile-mismatch", message: `${name}: hash ${j} is not the root of leaves ${from}–${from + span - 1} as the entries give it`, leafIndex: from });
        }
      }
    }
    return problems;
  }

  async close(): Promise<void> {}
}

/** A published level-0 tile against the hashes of the entries published beside it. */
function leafHashProblems(tileName: string, published: Uint8Array, hashes: Uint8Array, indices: ArrayLike<number>): SourceProblem[] {
  if (published.length !== hashes.length) return [{ kind: "tile-mismatch", message: `${tileName}: ${published.length / HASH_SIZE} hashes for ${indices.length} entries`, leafIndex: indices[0]! }];
  const problems: SourceProblem[] = [];
  for (let i = 0; i < indices.length; i++) {
    const at = i * HASH_SIZE;
    if (!equalBytes(published.subarray(at, at + HASH_SIZE), hashes.subarray(at, at + HASH_SIZE)))
      problems.push({ kind: "tile-mismatch", message: `${tileName}: the hash published for leaf ${indices[i]} is not the hash of the entry published for it`, leafIndex: indices[i]!, damagedFrom: indices[i]! });
  }
  return problems;
}

/** Proofs assembled from the published hash tiles: the nodes the log core plans, each read from its tile. */
function tileOracle(reader: LogReader, location: string): ProofOracle {
  const tiles = new Map<string, Promise<Uint8Array[]>>();
  const tile = (level: number, index: number, width: number): Promise<Uint8Array[]> => {
    const k = `${level}/${index}/${width}`;
    let t = tiles.get(k);
    if (t === undefined) {
      t = reader.readTile(level, index, width).then((b) => parseHashTile(b, width));
      if (tiles.size > 256) tiles.clear();
      tiles.set(k, t);
    }
    return t;
  };
  const prove = async (plan: ReturnType<typeof planInclusion>, size: number): Promise<Uint8Array[]> => {
    const hashes = new Map<string, Uint8Array>();
    try {
      for (const id of planNodeIds(plan)) hashes.set(nodeKey(id), await nodeFromTiles(id, size, tile));
    } catch (e) {
      if (e instanceof AuditError) throw e;
      if (e instanceof TileFormatError || (e instanceof LogReadError && e.code !== "UNAVAILABLE")) throw new AuditError("PROTOCOL", messageOf(e), { cause: e });
      throw readError(e);
    }
    return assembleProof(plan, (id) => hashes.get(nodeKey(id))!);
  };
  return {
    description: `the hash tiles of ${location}`,
    inclusionProof: (index, size) => prove(planInclusion(index, size), size),
    consistencyProof: (size1, size2) => prove(planConsistency(size1, size2), size2),
  };
}
