/**
 * Reading a published log (C2SP tlog-tiles), after Tessera's `LogReader`:
 * the same three reads over HTTP or a directory, for the auditor, a mirror,
 * the static writer (service/publish) and tests.
 *
 * No I/O of its own: the HTTP reader is given a `fetch`, the directory reader
 * a `readFile`, so this module stays importable by the auditor and the
 * browser, which may import only service/log and service/format.
 *
 * A reader returns bytes as published and checks only their length. Whether
 * they are the log's is for the caller to establish: {@link rootFromTiles}
 * recomputes a tree's root from its tiles, to compare with a checkpoint's
 * root that was opened with the log's key.
 */
import { assembleProof, CodedError, equalBytes, foldRight, hashChildren, hashLeaf, HASH_SIZE, nodeKey, planConsistency, planNodeIds, planRoot, type NodeId } from "../log";
import { entriesPath, parseEntryBundle, parseHashTile, resourcesForSize, tilePath, TILE_HEIGHT, TILE_WIDTH, widthAt } from "./tiles";

export type LogReadErrorCode = "NOT_FOUND" | "UNAVAILABLE" | "MALFORMED";

/** A read failed: NOT_FOUND (the log does not have it), UNAVAILABLE (transport, server error), MALFORMED (wrong length). */
export class LogReadError extends CodedError<LogReadErrorCode> {
  override readonly name = "LogReadError";
}

/** The three reads of a tiled log. `width` is 1 to 256; 256 reads the full tile. */
export interface LogReader {
  /** The signed checkpoint note's bytes. */
  readCheckpoint(): Promise<Uint8Array>;
  /** Hash tile (level, index): exactly width × 32 bytes. */
  readTile(level: number, index: number, width: number): Promise<Uint8Array>;
  /** Entry bundle `index`, as published (uint16-length-prefixed entries; see parseEntryBundle). */
  readEntryBundle(index: number, width: number): Promise<Uint8Array>;
}

/** Reads `path` below the log's root, or throws LogReadError. */
type Get = (path: string) => Promise<Uint8Array>;

function reader(get: Get): LogReader {
  return {
    readCheckpoint: () => get("checkpoint"),
    async readTile(level, index, width) {
      const b = await get(tilePath(level, index, width));
      if (b.length !== width * HASH_SIZE) throw new LogReadError("MALFORMED", `${tilePath(level, index, width)} is ${b.length} bytes, not ${width * HASH_SIZE}`);
      return b;
    },
    readEntryBundle: (index, width) => get(entriesPath(index, width)),
  };
}

/** The subset of the WHATWG fetch this reader uses. */
export type FetchLike = (url: string) => Promise<{ readonly status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

/** A reader of the log at `prefix` (for example `https://ledger.example.gov.cn/tlog`), through `fetch`. */
export function httpLogReader(prefix: string, fetch: FetchLike): LogReader {
  const base = prefix.endsWith("/") ? prefix : `${prefix}/`;
  return reader(async (path) => {
    let res;
    try {
      res = await fetch(base + path);
    } catch (e) {
      throw new LogReadError("UNAVAILABLE", `GET ${base}${path} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (res.status === 404) throw new LogReadError("NOT_FOUND", `GET ${base}${path}: 404`);
    if (res.status !== 200) throw new LogReadError("UNAVAILABLE", `GET ${base}${path}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  });
}

/** Reads a file; rejects with an error whose `code` is "ENOENT" when there is none (as node:fs does). */
export type ReadFileLike = (path: string) => Promise<Uint8Array>;

/** A reader of a directory holding the log's files (as service/publish writes them), through `readFile`. */
export function dirLogReader(dir: string, readFile: ReadFileLike): LogReader {
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  return reader(async (path) => {
    try {
      return await readFile(base + path);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === "ENOENT") throw new LogReadError("NOT_FOUND", `${base}${path}: no such file`);
      throw new LogReadError("UNAVAILABLE", `${base}${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  });
}

/**
 * The hash of node `id` of a tree of `size` leaves, from its tiles: node
 * (ℓ, i) lies in the tile of level ⌊ℓ/8⌋ and is the Merkle hash of the
 * 2^(ℓ mod 8) hashes of that tile below it. Requires the node to be a
 * complete subtree of the tree. `tile` is called with each tile's width in
 * the tree; the caller caches them.
 */
export async function nodeFromTiles(id: NodeId, size: number, tile: (level: number, index: number, width: number) => Promise<Uint8Array[]>): Promise<Uint8Array> {
  const level = Math.floor(id.level / TILE_HEIGHT);
  const span = 2 ** (id.level - level * TILE_HEIGHT);
  const first = id.index * span;
  const n = Math.floor(first / TILE_WIDTH);
  const hashes = await tile(level, n, widthAt(level, n, size));
  let row = hashes.slice(first - n * TILE_WIDTH, first - n * TILE_WIDTH + span);
  if (row.length !== span) throw new LogReadError("MALFORMED", `tile ${level}/${n} is too narrow for node ${id.level}/${id.index}`);
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let j = 0; j < row.length; j += 2) next.push(hashChildren(row[j]!, row[j + 1]!));
    row = next;
  }
  return row[0]!;
}

/** Reads and parses each hash tile (level, index, width) of `reader` once, for one computation. */
function cachedTiles(reader: Pick<LogReader, "readTile">): (level: number, index: number, width: number) => Promise<Uint8Array[]> {
  const cache = new Map<string, Uint8Array[]>();
  return async (level, index, width) => {
    const k = `${level}/${index}/${width}`;
    let t = cache.get(k);
    if (t === undefined) {
      t = parseHashTile(await reader.readTile(level, index, width), width);
      cache.set(k, t);
    }
    return t;
  };
}

/**
 * The RFC 6962 root of the first `size` leaves, recomputed from the hash
 * tiles `reader` serves (the few at the tree's right edge). Equal to a
 * verified checkpoint's root, it authenticates those tiles. Requires size ≥ 1.
 */
export async function rootFromTiles(reader: Pick<LogReader, "readTile">, size: number): Promise<Uint8Array> {
  const tile = cachedTiles(reader);
  const nodes: Uint8Array[] = [];
  for (const id of planRoot(size)) nodes.push(await nodeFromTiles(id, size, tile));
  return foldRight(nodes);
}

/**
 * The RFC 6962 consistency proof from `size1` to `size2`, assembled from the
 * hash tiles of the tree of `size2` leaves that `reader` serves. The log's
 * word, not a fact: verify it with the log core's verifyConsistency against
 * roots you trust. Requires 1 ≤ size1 ≤ size2.
 */
export async function consistencyProofFromTiles(reader: Pick<LogReader, "readTile">, size1: number, size2: number): Promise<Uint8Array[]> {
  const tile = cachedTiles(reader);
  const plan = planConsistency(size1, size2);
  const hashes = new Map<string, Uint8Array>();
  for (const id of planNodeIds(plan)) hashes.set(nodeKey(id), await nodeFromTiles(id, size2, tile));
  return assembleProof(plan, (id) => hashes.get(nodeKey(id))!);
}

/** A tile or bundle that does not hash to what the tree above it says. */
export class TileMismatchError extends CodedError<"TILE_MISMATCH" | "ENTRY_MISMATCH"> {
  override readonly name = "TileMismatchError";
}

/** The Merkle tree hash of a full tile's 256 hashes. */
function tileHash(hashes: readonly Uint8Array[]): Uint8Array {
  let row = hashes;
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let j = 0; j < row.length; j += 2) next.push(hashChildren(row[j]!, row[j + 1]!));
    row = next;
  }
  return row[0]!;
}

/**
 * Checks the tiles and bundles a tree of `size` leaves has beyond the full
 * tiles of `fromSize` (0: all of them) against each other: every full hash
 * tile hashes to its hash in the tile above, and every entry of every bundle
 * hashes (RFC 6962 leaf hash) to its hash in the level-0 tile. Together with
 * {@link rootFromTiles} equal to a verified root, that authenticates them all.
 * Throws {@link TileMismatchError} naming the first tile that does not match,
 * or LogReadError for a read that fails.
 */
export async function checkTiles(reader: LogReader, size: number, fromSize = 0): Promise<void> {
  const above = new Map<string, Uint8Array[]>();
  const tileAt = async (level: number, index: number): Promise<Uint8Array[]> => {
    const width = widthAt(level, index, size);
    const k = `${level}/${index}`;
    let t = above.get(k);
    if (t === undefined) {
      t = parseHashTile(await reader.readTile(level, index, width), width);
      if (above.size > 64) above.clear();
      above.set(k, t);
    }
    return t;
  };
  for (const r of resourcesForSize(size, fromSize)) {
    if (r.level === "entries") {
      const entries = parseEntryBundle(await reader.readEntryBundle(r.index, r.width), r.width);
      const leaves = await tileAt(0, r.index);
      entries.forEach((e, i) => {
        if (!equalBytes(hashLeaf(e), leaves[i]!))
          throw new TileMismatchError("ENTRY_MISMATCH", `entry ${r.index * TILE_WIDTH + i} (${entriesPath(r.index, r.width)}) does not hash to its leaf hash in ${tilePath(0, r.index, r.width)}`);
      });
    } else if (r.width === TILE_WIDTH) {
      const parent = (await tileAt(r.level + 1, Math.floor(r.index / TILE_WIDTH)))[r.index % TILE_WIDTH]!;
      if (!equalBytes(tileHash(await tileAt(r.level, r.index)), parent))
        throw new TileMismatchError("TILE_MISMATCH", `${tilePath(r.level, r.index)} does not hash to its hash in the tile above`);
    }
  }
}
