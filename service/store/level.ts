/**
 * The LevelDB store: {@link LedgerStore} on `level` (classic-level), one
 * database per data directory, binary keys and values. The key layout is in
 * ./level-keys.ts, the tile maths in service/format/tiles.ts.
 *
 * Tiles. Once a tile of 256 leaves is complete, its nodes of levels 0 to 7
 * are written as one 0x0b record and their single 0x02 keys are deleted in
 * the same batch; nodes of level 8 and up stay in 0x02. So an inclusion proof
 * reads one tile record plus a few upper nodes, a small and hot key range,
 * instead of about 20 scattered keys. The nodes of the incomplete last tile
 * are kept in 0x02 and, in memory, in `_partial` (at most 510 hashes). A
 * complete tile without a record (a directory written before tiles) is read
 * from its single 0x02 keys.
 *
 * Tile file. LevelDB memory-maps its tables, so every tile record a proof
 * reads would stay in the process's RSS. Complete tiles are therefore also
 * written, once their batch is durable, to `tiles.cache` in the data
 * directory and read from there with pread, through the OS page cache; see
 * ./tile-file.ts. The 0x0b records stay the source of truth, written
 * atomically with their batch: the file is a verified cache, and a tile
 * missing or damaged there is read from its record and written to the file
 * again. `open` copies the records the file lacks at its end, then reopens
 * LevelDB so that the tables this read mapped do not stay in RSS.
 *
 * Idempotency expiry. An expiry key whose record was since overwritten is
 * stale: expiry checks the record's own createdAt before deleting it, so no
 * read is needed in `commit`.
 *
 * Memory: the head (O(log n) hashes), the incomplete tile's nodes and up to
 * {@link UPPER_NODE_CACHE} nodes of level 8 and up (one per 128 leaves, so
 * all of them up to about 8 million entries) are cached. Stored nodes never
 * change, so the cache never goes stale. Writes are serialised through one
 * queue, so the size check in `commit` and the read-then-delete in
 * `expireIdempotency` cannot interleave with another write.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Level } from "level";
import { completeTiles, partialTileNodes, tileHashOffset, tileNodes, tileOf, TILE_HASHES, TILE_HEIGHT } from "../format/tiles";
import { HASH_SIZE, messageOf, nodeKey, planRoot, type NodeId } from "../log";
import type { Openings } from "../records/entry";
import type { IndexRef } from "../records/rules";
import type { StateDoc, StateKey } from "../records/state";
import {
  checkHead,
  concat,
  decodeHead,
  decodeIndexKey,
  decodeLeaf,
  encodeHead,
  encodeLeaf,
  fromUtf8,
  HEAD_KEY,
  idempotencyExpiryBound,
  idempotencyTimeKey,
  indexPrefix,
  isIndex,
  json,
  leafIndexOfIndexKey,
  leafKey,
  nodeIndexOfKey,
  nodeKeyBytes,
  nodeLevelRange,
  parseJson,
  readU64,
  scopedKeyOfTimeKey,
  strKey,
  tableRange,
  tileKey,
  T_ACCESS_CODE,
  T_ID,
  T_INDEX,
  T_IDEM,
  T_IDEM_BY_TIME,
  T_OPENINGS,
  T_STATE,
  T_TOKEN,
  u64,
  u64OfKey,
  U64_MAX_BYTES,
  view,
} from "./level-keys";
import {
  scrubbedForErasure,
  StoreLockedError,
  StoreUnavailableError,
  type CommitBatch,
  type IdempotencyRecord,
  type LedgerDump,
  type LedgerStore,
  type StoredLeaf,
  type TokenRecord,
  type TreeHead,
} from "./store";
import { TileFile } from "./tile-file";

/** The tile file's name in the data directory. */
export const TILE_FILE = "tiles.cache";

type Bytes = Uint8Array;
type Db = Level<Bytes, Bytes>;
type Op = { type: "put"; key: Bytes; value: Bytes } | { type: "del"; key: Bytes };

/** Most nodes of level TILE_HEIGHT and up kept in memory: loaded at open, then added as read (the oldest go first). */
export const UPPER_NODE_CACHE = 1 << 16;

const EMPTY = new Uint8Array(0);
/** Expiry deletes in chunks of this many keys, so its memory does not grow with the backlog. */
const EXPIRY_CHUNK = 1024;

function headNodes(head: TreeHead): Map<string, Bytes> {
  return new Map(planRoot(head.size).map((id, i) => [nodeKey(id), head.compact[i]!]));
}

/** classic-level (what `level` is in Node) compacts a key range; `level`'s own types leave the method out. */
function compactor(db: Db): ((start: Bytes, end: Bytes) => Promise<void>) | undefined {
  const f: unknown = (db as unknown as { compactRange?: unknown }).compactRange;
  return typeof f === "function" ? (start, end) => Promise.resolve(f.call(db, start, end) as unknown).then(() => {}) : undefined;
}

/** Opens LevelDB in `abs`: StoreLockedError when another process holds it, StoreUnavailableError when it cannot be opened. */
async function openDb(abs: string): Promise<Db> {
  const db: Db = new Level<Bytes, Bytes>(abs, { keyEncoding: "view", valueEncoding: "view" });
  try {
    await db.open();
  } catch (cause) {
    if (isLocked(cause))
      throw new StoreLockedError(`the data directory ${abs} is in use by another ledger process (LevelDB lock held); only one may open it`, {
        cause,
      });
    throw new StoreUnavailableError(`cannot open the data directory ${abs}: ${messageOf(cause)}`, { cause });
  }
  return db;
}

async function readHead(db: Db): Promise<TreeHead> {
  const raw = (await db.get(HEAD_KEY)) as Bytes | undefined;
  return raw === undefined ? { size: 0, compact: [] } : decodeHead(raw);
}

/**
 * Copies to the tile file the tile records past its last whole record (all of
 * them in a directory written before the file). Returns whether it copied any.
 * Records damaged in the middle of the file are left to be rewritten on read.
 */
async function copyMissingTiles(db: Db, file: TileFile, complete: number): Promise<boolean> {
  if (!file.usable || file.records >= complete) return false;
  let copied = false;
  for await (const [k, v] of db.iterator({ gte: tileKey(file.records), lt: tileKey(complete) })) {
    file.write(u64OfKey(k), v);
    copied = true;
  }
  return copied;
}


function isLocked(e: unknown): boolean {
  // classic-level: LEVEL_DATABASE_NOT_OPEN whose cause is LEVEL_LOCKED
  // ("IO error: lock <dir>/LOCK: already held by process").
  const code = (x: unknown): unknown => (typeof x === "object" && x !== null ? (x as { code?: unknown }).code : undefined);
  return code(e) === "LEVEL_LOCKED" || (e instanceof Error && code(e.cause) === "LEVEL_LOCKED");
}

/**
 * Reads the stored nodes of level TILE_HEIGHT and up, highest levels first,
 * up to UPPER_NODE_CACHE of them: one range scan per level. Loaded at open
 * rather than as read, so the first proofs after a start cost no more than
 * later ones.
 */
async function loadUpperNodes(db: Db, size: number): Promise<Map<string, Bytes>> {
  const upper = new Map<string, Bytes>();
  for (let level = Math.max(TILE_HEIGHT, Math.ceil(Math.log2(Math.max(size, 1)))); level >= TILE_HEIGHT; level--) {
    for await (const [k, v] of db.iterator(nodeLevelRange(level))) {
      if (upper.size >= UPPER_NODE_CACHE) return upper;
      upper.set(nodeKey({ level, index: nodeIndexOfKey(k) }), new Uint8Array(v));
    }
  }
  return upper;
}

export class LevelStore implements LedgerStore, LedgerDump {
  private _head: TreeHead;
  /** The head's compact range by node key: the nodes of every root at the current size. */
  private _headNodes: Map<string, Bytes>;
  /** Nodes of levels 0..7 of the incomplete last tile, by node key. */
  private _partial: Map<string, Bytes>;
  /** The tail of the write queue: every write runs after the one before it settles. */
  private _writes: Promise<unknown> = Promise.resolve();
  private _tokens: Promise<Map<string, TokenRecord>> | undefined;

  private constructor(
    private readonly _db: Db,
    /** The absolute data directory, for messages. */
    readonly dir: string,
    head: TreeHead,
    partial: Map<string, Bytes>,
    private readonly _tileFile: TileFile,
    /** Nodes of level TILE_HEIGHT and up, loaded at open or read since, by node key; at most UPPER_NODE_CACHE. */
    private readonly _upper: Map<string, Bytes>,
  ) {
    this._head = head;
    this._headNodes = headNodes(head);
    this._partial = partial;
  }

  /**
   * Opens (creating if missing) the store in `dir`. Rejects with
   * {@link StoreLockedError} when another process or instance holds it, and
   * with {@link StoreUnavailableError} when it cannot be read.
   */
  static async open(dir: string): Promise<LevelStore> {
    const abs = resolve(dir);
    try {
      // 0700: the store holds private openings; only the service's user may read it (see service/data-dir.ts).
      await mkdir(abs, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new StoreUnavailableError(`cannot create the data directory ${abs}: ${messageOf(cause)}`, { cause });
    }
    let db = await openDb(abs);
    let head: TreeHead;
    let partial: Map<string, Bytes>;
    let tileFile: TileFile | undefined;
    try {
      head = await readHead(db);
      const complete = completeTiles(head.size);
      tileFile = TileFile.open(join(abs, TILE_FILE), complete);
      if (await copyMissingTiles(db, tileFile, complete)) {
        // Reading the records mapped their tables into this process for good:
        // reopen, which unmaps them, so they do not stay in its RSS.
        await db.close();
        db = await openDb(abs);
        head = await readHead(db);
      }
      partial = new Map();
      for (const id of partialTileNodes(head.size)) {
        const h = db.getSync(nodeKeyBytes(id)) as Bytes | undefined;
        if (h === undefined) throw new Error(`node ${nodeKey(id)} of the incomplete tile is missing`);
        partial.set(nodeKey(id), new Uint8Array(h));
      }
    } catch (cause) {
      tileFile?.close();
      await db.close().catch(() => {});
      if (cause instanceof StoreLockedError || cause instanceof StoreUnavailableError) throw cause;
      throw new StoreUnavailableError(`cannot read the tree head in ${abs}: ${messageOf(cause)}`, { cause });
    }
    return new LevelStore(db, abs, head, partial, tileFile, await loadUpperNodes(db, head.size));
  }

  async head(): Promise<TreeHead> {
    this._assertOpen();
    return this._head;
  }

  /**
   * Writes the whole batch in one LevelDB write batch with `sync: true`:
   * atomic, and durable once this resolves. Rejects with
   * {@link StoreUnavailableError}, storing nothing, when the batch does not
   * start at the stored size, is not contiguous, its head does not match its
   * leaves, a value cannot be encoded, or LevelDB fails.
   */
  commit(batch: CommitBatch): Promise<void> {
    return this._serialised(async () => {
      const erased = new Set(batch.erasures ?? []);
      const scrubbed = erased.size === 0 ? batch : { ...batch, idempotency: new Map([...batch.idempotency].map(([k, r]) => [k, scrubbedForErasure(r, erased)])) };
      const { ops, partial, tiles } = this._encodeBatch(scrubbed);
      if (erased.size > 0) ops.push(...(await this._erasureOps(erased, batch.idempotency)));
      await this._write(ops, "commit");
      if (erased.size > 0) await this._compactErased();
      this._head = { size: batch.head.size, compact: [...batch.head.compact] };
      this._headNodes = headNodes(this._head);
      this._partial = partial;
      // Only now that their records are durable: the file never holds a tile LevelDB lacks.
      for (const [t, record] of tiles) this._tileFile.write(t, record);
    });
  }

  /**
   * The writes that erase `erased` in the same WriteBatch as the commit: the
   * openings go, and stored idempotency records naming an erased entry (and
   * not rewritten by the batch itself) get their request hash scrubbed. Reads
   * every stored idempotency record: erasures are rare, and expiry bounds how
   * many there are.
   */
  private async _erasureOps(erased: ReadonlySet<string>, inBatch: ReadonlyMap<string, IdempotencyRecord>): Promise<Op[]> {
    const ops: Op[] = [];
    const records = await this._read(() => this._db.iterator(tableRange(T_IDEM)).all());
    for (const [key, raw] of records) {
      const record = parseJson<IdempotencyRecord>(raw);
      const clean = scrubbedForErasure(record, erased);
      if (clean !== record && !inBatch.has(Buffer.from(key.subarray(1)).toString("utf8"))) ops.push({ type: "put", key, value: json(clean) });
    }
    // Last, so no put of the same batch can bring an opening back.
    for (const id of erased) ops.push({ type: "del", key: strKey(T_OPENINGS, id) });
    return ops;
  }

  /**
   * A LevelDB delete is a tombstone: the erased bytes stay in the write-ahead
   * log and older tables until compaction rewrites them. Compacting the
   * openings and idempotency tables now (which first flushes the memtable and
   * retires its log) removes them from the data directory's files. Best
   * effort: the commit is durable already, and the next compaction would do
   * the same.
   */
  private async _compactErased(): Promise<void> {
    const compact = compactor(this._db);
    for (const t of [T_OPENINGS, T_IDEM]) {
      const r = tableRange(t);
      await compact?.(r.gte, r.lt).catch(() => {});
    }
  }

  private _encodeBatch(batch: CommitBatch): { ops: Op[]; partial: Map<string, Bytes>; tiles: Map<number, Bytes> } {
    const size = this._head.size;
    const refuse = (why: string): never => {
      throw new StoreUnavailableError(`batch refused, nothing stored: ${why}`);
    };
    batch.leaves.forEach((leaf, i) => {
      if (leaf.index !== size + i) refuse(`leaf ${i} of the batch has index ${leaf.index}, expected ${size + i} (stored size ${size})`);
    });
    if (batch.head.size !== size + batch.leaves.length)
      refuse(`head size ${batch.head.size} is not the stored size ${size} plus ${batch.leaves.length} leaves`);
    try {
      checkHead(batch.head);
    } catch (e) {
      refuse(messageOf(e));
    }

    const ops: Op[] = [];
    const put = (key: Bytes, value: Bytes): void => void ops.push({ type: "put", key, value });
    // Lower-level nodes gather here: the incomplete tile's, then this batch's.
    const lower = new Map(this._partial);
    const created = new Map<string, NodeId>();
    const tiles = new Map<number, Bytes>();
    try {
      for (const leaf of batch.leaves) {
        put(leafKey(leaf.index), encodeLeaf(leaf));
        put(strKey(T_ID, leaf.id), u64(leaf.index));
        for (const n of leaf.nodes) {
          if (n.hash.length !== HASH_SIZE || !isIndex(n.id.index) || !(n.id.level >= 0 && n.id.level <= 63))
            throw new RangeError(`node ${n.id.level}/${n.id.index} is malformed`);
          if (n.id.level >= TILE_HEIGHT) put(nodeKeyBytes(n.id), n.hash);
          else {
            lower.set(nodeKey(n.id), n.hash);
            created.set(nodeKey(n.id), n.id);
          }
        }
        for (const ref of leaf.indexes) put(concat(indexPrefix(ref), u64(leaf.index)), EMPTY);
        if (leaf.openings) put(strKey(T_OPENINGS, leaf.id), json(leaf.openings));
      }
      for (const [k, doc] of batch.state) put(strKey(T_STATE, k), json(doc));
      for (const [k, rec] of batch.idempotency) {
        put(strKey(T_IDEM, k), json(rec));
        put(idempotencyTimeKey(rec.createdAt, k), EMPTY);
      }
      // Tiles this batch completes: one record each, and their single keys go.
      for (let t = completeTiles(size); t < completeTiles(batch.head.size); t++) {
        const record = new Uint8Array(TILE_HASHES * HASH_SIZE);
        tileNodes(t).forEach((id, i) => {
          const k = nodeKey(id);
          const h = lower.get(k);
          if (h === undefined) throw new RangeError(`node ${k} of completed tile ${t} is neither stored nor in the batch`);
          record.set(h, i * HASH_SIZE);
          if (!created.delete(k)) ops.push({ type: "del", key: nodeKeyBytes(id) });
          lower.delete(k);
        });
        put(tileKey(t), record);
        tiles.set(t, record);
      }
      // The rest belongs to the new incomplete tile: stored singly until it completes.
      for (const [k, id] of created) put(nodeKeyBytes(id), lower.get(k)!);
      put(HEAD_KEY, encodeHead(batch.head));
    } catch (cause) {
      throw new StoreUnavailableError(`batch refused, nothing stored: cannot encode it: ${messageOf(cause)}`, { cause });
    }
    return { ops, partial: lower, tiles };
  }

  async leaf(index: number): Promise<StoredLeaf | undefined> {
    if (!isIndex(index) || index >= this._head.size) return undefined;
    const raw = this._readSync(() => this._db.getSync(leafKey(index)) as Bytes | undefined);
    return raw === undefined ? undefined : decodeLeaf(index, raw);
  }

  async leaves(start: number, end: number): Promise<StoredLeaf[]> {
    // Same clipping as Array.prototype.slice on [0, size).
    const lo = Math.max(0, Math.trunc(start) || 0);
    const hi = Math.min(this._head.size, Math.max(0, Math.trunc(end) || 0));
    if (lo >= hi) return [];
    return this._read(async () => {
      const out: StoredLeaf[] = [];
      for await (const [k, v] of this._db.iterator({ gte: leafKey(lo), lt: leafKey(hi) })) out.push(decodeLeaf(u64OfKey(k), v));
      return out;
    });
  }

  async indexOf(entryId: string): Promise<number | undefined> {
    const raw = this._readSync(() => this._db.getSync(strKey(T_ID, entryId)) as Bytes | undefined);
    return raw === undefined ? undefined : readU64(raw);
  }

  /**
   * Head nodes and the incomplete tile come from memory; a node of a complete
   * tile from the tile file or else its tile record (read once per call), or
   * from its single key in a directory written before tiles; upper nodes from
   * their keys.
   */
  async nodes(ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]> {
    const complete = completeTiles(this._head.size);
    const tiles = new Map<number, Bytes | undefined>();
    return this._readSync(() =>
      ids.map((id) => {
        if (!(isIndex(id.index) && Number.isInteger(id.level) && id.level >= 0 && id.level <= 63)) return undefined;
        const k = nodeKey(id);
        const cached = this._headNodes.get(k);
        if (cached !== undefined) return cached;
        if (id.level < TILE_HEIGHT) {
          const t = tileOf(id);
          if (t >= complete) return this._partial.get(k);
          let tile = tiles.get(t);
          if (!tiles.has(t)) {
            tile = this._completeTile(t);
            tiles.set(t, tile);
          }
          if (tile !== undefined) {
            const at = tileHashOffset(id) * HASH_SIZE;
            return view(tile.subarray(at, at + HASH_SIZE));
          }
        }
        return id.level >= TILE_HEIGHT ? this._upperNode(id, k) : this._getNode(id);
      }),
    );
  }

  private _getNode(id: NodeId): Bytes | undefined {
    const h = this._db.getSync(nodeKeyBytes(id)) as Bytes | undefined;
    return h === undefined ? undefined : view(h);
  }

  /** A node of level TILE_HEIGHT or up (key `k`), through the cache. Runs inside _readSync. */
  private _upperNode(id: NodeId, k: string): Bytes | undefined {
    const cached = this._upper.get(k);
    if (cached !== undefined) return cached;
    const h = this._getNode(id);
    if (h === undefined) return undefined;
    if (this._upper.size >= UPPER_NODE_CACHE) this._upper.delete(this._upper.keys().next().value!);
    // A copy: the read's bytes may be a slice of a larger buffer, which the cache would keep alive.
    const own = new Uint8Array(h);
    this._upper.set(k, own);
    return own;
  }

  /**
   * The 510 hashes of complete tile `t`: from the tile file when its record
   * there checks out, else from the 0x0b record, which then goes to the file
   * (a directory written before the file fills it as it is read). Undefined
   * for a tile stored the old way, one key per node. Runs inside _readSync.
   */
  private _completeTile(t: number): Bytes | undefined {
    const levelEight: NodeId = { level: TILE_HEIGHT, index: t };
    const k = nodeKey(levelEight);
    const root = this._headNodes.get(k) ?? this._upperNode(levelEight, k);
    const cached = this._tileFile.read(t, root);
    if (cached !== undefined) return cached;
    const record = this._db.getSync(tileKey(t)) as Bytes | undefined;
    if (record !== undefined) this._tileFile.write(t, record);
    return record;
  }

  async state(key: StateKey): Promise<StateDoc | undefined> {
    return this._getJson<StateDoc>(strKey(T_STATE, key));
  }

  async indexed(ref: IndexRef, options: { after?: number; limit?: number } = {}): Promise<number[]> {
    const after = options.after ?? -1;
    const limit = options.limit ?? Infinity;
    if (Number.isNaN(after) || !(limit >= 1)) return [];
    let prefix: Bytes;
    try {
      prefix = indexPrefix(ref);
    } catch {
      return []; // a name or value too long to be stored is not stored
    }
    // Leaf indexes are integers, so i > after ⟺ i > ⌊after⌋.
    const from = after < 0 ? { gte: concat(prefix, u64(0)) } : { gt: concat(prefix, u64(Math.min(Math.floor(after), Number.MAX_SAFE_INTEGER))) };
    return this._read(async () => {
      const out: number[] = [];
      const it = this._db.keys({ ...from, lte: concat(prefix, U64_MAX_BYTES), ...(limit === Infinity ? {} : { limit: Math.floor(limit) }) });
      for await (const k of it) out.push(leafIndexOfIndexKey(k));
      return out;
    });
  }

  async openings(entryId: string): Promise<Openings | undefined> {
    return this._getJson<Openings>(strKey(T_OPENINGS, entryId));
  }

  eraseOpenings(entryId: string): Promise<void> {
    return this._serialised(() => this._write([{ type: "del", key: strKey(T_OPENINGS, entryId) }], "erase openings"));
  }

  async idempotency(scopedKey: string): Promise<IdempotencyRecord | undefined> {
    return this._getJson<IdempotencyRecord>(strKey(T_IDEM, scopedKey));
  }

  /** Walks the createdAt-ordered keys below `cutoff`, in chunks; never scans records at or after it. */
  expireIdempotency(cutoff: string): Promise<number> {
    return this._serialised(async () => {
      const bound = idempotencyExpiryBound(cutoff);
      const start = Uint8Array.of(T_IDEM_BY_TIME);
      let expired = 0;
      for (;;) {
        const timeKeys = await this._read(() => this._db.keys({ gte: start, lt: bound, limit: EXPIRY_CHUNK }).all());
        if (timeKeys.length === 0) return expired;
        const scoped = timeKeys.map(scopedKeyOfTimeKey);
        const records = await this._read(() => this._db.getMany(scoped.map((s) => strKey(T_IDEM, s))) as Promise<(Bytes | undefined)[]>);
        const ops: Op[] = timeKeys.map((key) => ({ type: "del", key }));
        const seen = new Set<string>();
        scoped.forEach((s, i) => {
          const raw = records[i];
          if (raw === undefined || seen.has(s)) return;
          // A stale expiry key (the record was overwritten later) must not delete the newer record.
          if (parseJson<IdempotencyRecord>(raw).createdAt < cutoff) {
            seen.add(s);
            ops.push({ type: "del", key: strKey(T_IDEM, s) });
            expired++;
          }
        });
        await this._write(ops, "expire idempotency records");
        if (timeKeys.length < EXPIRY_CHUNK) return expired;
      }
    });
  }

  async accessCodeGeneration(applicationId: string): Promise<number> {
    return (await this._getJson<number>(strKey(T_ACCESS_CODE, applicationId))) ?? 0;
  }

  /** Serialised with every other write, so two revocations in this process never read the same generation. */
  nextAccessCodeGeneration(applicationId: string): Promise<number> {
    return this._serialised(async () => {
      const next = (await this.accessCodeGeneration(applicationId)) + 1;
      await this._write([{ type: "put", key: strKey(T_ACCESS_CODE, applicationId), value: json(next) }], "store access-code generation");
      return next;
    });
  }

  putToken(token: TokenRecord): Promise<void> {
    return this._serialised(async () => {
      await this._write([{ type: "put", key: strKey(T_TOKEN, token.hash), value: json(token) }], "store token");
      (await this._tokenCache()).set(token.hash, { ...token });
    });
  }

  /** This process is the only writer (it holds the directory lock), so the check and the put under the write queue are atomic. */
  putFirstToken(token: TokenRecord): Promise<boolean> {
    return this._serialised(async () => {
      const cache = await this._tokenCache();
      if (cache.size > 0) return false;
      await this._write([{ type: "put", key: strKey(T_TOKEN, token.hash), value: json(token) }], "store the first token");
      cache.set(token.hash, { ...token });
      return true;
    });
  }

  /**
   * Every request authenticates, so tokens are served from memory: loaded
   * once, updated by putToken. This process is the only writer (it holds
   * the directory lock), so the cache cannot go stale.
   */
  private _tokenCache(): Promise<Map<string, TokenRecord>> {
    this._tokens ??= this._read(async () => {
      const map = new Map<string, TokenRecord>();
      for await (const v of this._db.values(tableRange(T_TOKEN))) {
        const t = parseJson<TokenRecord>(v);
        map.set(t.hash, t);
      }
      return map;
    });
    // A failed load is not cached: the next call tries again.
    this._tokens.catch(() => (this._tokens = undefined));
    return this._tokens;
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const t = (await this._tokenCache()).get(hash);
    return t === undefined ? undefined : { ...t };
  }

  /** Every token, ordered by hash. */
  async tokens(): Promise<TokenRecord[]> {
    const map = await this._tokenCache();
    return [...map.values()].sort((a, b) => (a.hash < b.hash ? -1 : 1)).map((t) => ({ ...t }));
  }

  // -- LedgerDump: each table whole, in key order, for `npm run admin -- migrate` --------------------

  async *indexEntries(): AsyncGenerator<{ readonly ref: IndexRef; readonly leaf: number }> {
    for await (const k of this._scan(T_INDEX, "keys")) yield decodeIndexKey(k);
  }

  async *stateDocs(): AsyncGenerator<readonly [StateKey, StateDoc]> {
    for await (const [k, v] of this._scan(T_STATE, "entries")) yield [fromUtf8.decode(k.subarray(1)) as StateKey, parseJson<StateDoc>(v)];
  }

  async *allOpenings(): AsyncGenerator<readonly [string, Openings]> {
    for await (const [k, v] of this._scan(T_OPENINGS, "entries")) yield [fromUtf8.decode(k.subarray(1)), parseJson<Openings>(v)];
  }

  async *idempotencyRecords(): AsyncGenerator<readonly [string, IdempotencyRecord]> {
    for await (const [k, v] of this._scan(T_IDEM, "entries")) yield [fromUtf8.decode(k.subarray(1)), parseJson<IdempotencyRecord>(v)];
  }

  async *accessCodeGenerations(): AsyncGenerator<readonly [string, number]> {
    for await (const [k, v] of this._scan(T_ACCESS_CODE, "entries")) yield [fromUtf8.decode(k.subarray(1)), parseJson<number>(v)];
  }

  /** One table's keys or entries, with read failures as StoreUnavailableError. */
  private _scan(tag: number, what: "keys"): AsyncGenerator<Bytes>;
  private _scan(tag: number, what: "entries"): AsyncGenerator<[Bytes, Bytes]>;
  private async *_scan(tag: number, what: "keys" | "entries"): AsyncGenerator<Bytes | [Bytes, Bytes]> {
    this._assertOpen();
    const it = what === "keys" ? this._db.keys(tableRange(tag)) : this._db.iterator(tableRange(tag));
    try {
      for await (const item of it) yield item;
    } catch (cause) {
      throw new StoreUnavailableError(`read failed in ${this.dir}: ${messageOf(cause)}`, { cause });
    }
  }

  /** Waits for queued writes, then closes the database and releases the directory lock. */
  async close(): Promise<void> {
    await this._writes.catch(() => {});
    this._tileFile.close();
    await this._db.close();
  }

  private _assertOpen(): void {
    if (this._db.status !== "open") throw new StoreUnavailableError(`the store in ${this.dir} is ${this._db.status}`);
  }

  private _serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this._writes.then(fn);
    this._writes = run.catch(() => {});
    return run;
  }

  /**
   * One LevelDB WriteBatch, synced: atomic and durable once it resolves. The
   * chained form of `db.batch` is the same single WriteBatch as the array
   * form, and cheaper for thousands of small operations.
   */
  private async _write(ops: Op[], what: string): Promise<void> {
    let batch: ReturnType<Db["batch"]> | undefined;
    try {
      batch = this._db.batch();
      for (const op of ops) {
        if (op.type === "put") batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      await batch.write({ sync: true });
    } catch (cause) {
      // write() closes the batch itself; close one that failed while being filled.
      if (batch !== undefined) await batch.close().catch(() => {});
      throw new StoreUnavailableError(`${what} failed in ${this.dir}, nothing stored: ${messageOf(cause)}`, { cause });
    }
  }

  private async _read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new StoreUnavailableError(`read failed in ${this.dir}: ${messageOf(cause)}`, { cause });
    }
  }

  /**
   * Point reads are synchronous: LevelDB serves them from its memtable,
   * block cache or the OS page cache far faster than a round trip through
   * libuv's thread pool, and the sequencer makes several per request on its
   * critical path. Scans stay asynchronous.
   */
  private _readSync<T>(fn: () => T): T {
    this._assertOpen();
    try {
      return fn();
    } catch (cause) {
      throw new StoreUnavailableError(`read failed in ${this.dir}: ${messageOf(cause)}`, { cause });
    }
  }

  private async _getJson<T>(key: Bytes): Promise<T | undefined> {
    const raw = this._readSync(() => this._db.getSync(key) as Bytes | undefined);
    return raw === undefined ? undefined : parseJson<T>(raw);
  }
}
