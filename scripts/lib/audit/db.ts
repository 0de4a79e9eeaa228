/**
 * A read-only reader of a *copy* of the service's data directory (LevelDB),
 * written from the key layout documented at the top of
 * service/store/level.ts, deliberately without importing the store:
 *
 *   0x01 "head"          u64 size ‖ compact range hashes (32 bytes each)
 *   0x02 u8 level ‖ u64  32-byte node hash (level 0 = leaf hashes)
 *   0x03 u64 leaf index  u16 len ‖ id ‖ u16 len ‖ recordedAt ‖ leaf bytes
 *   0x0b u64 tile index  the 510 hashes of levels 0–7 of a complete 256-leaf tile:
 *                        256 leaf hashes, then 128, …, 2, each level left to right
 *
 * (u64 is 8-byte big-endian.) A node of level < 8 in a complete tile is read
 * from the tile record, or from its 0x02 key in a directory written before
 * tiles. Only these four tables are read. Nothing is
 * written, but LevelDB locks the directory while it is open, so audit a copy
 * (`cp -a data /tmp/audit-copy`), never the directory of a running service.
 *
 * The stored tree (head and node hashes) is untrusted like everything else
 * here: it only serves as a {@link ProofOracle} to locate damage, against
 * roots read from the chain, and its head is compared with the replay.
 */
import { Level } from "level";
import { assembleProof, planConsistency, planInclusion, type NodeId } from "../../../service/log";
import { AuditError, messageOf } from "./errors";
import type { EntrySource, LeafBatch, ProofOracle, PublishedCheckpoint } from "./sources";

type Bytes = Uint8Array;

const T_META = 0x01;
const T_NODE = 0x02;
const T_LEAF = 0x03;
const T_TILE = 0x0b;
const TILE_HEIGHT = 8;
const TILE_WIDTH = 1 << TILE_HEIGHT;
const HEAD_KEY = Buffer.concat([Buffer.of(T_META), Buffer.from("head", "utf8")]);
const BATCH = 2048;

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
  b.writeUInt32BE(n % 2 ** 32, 4);
  return b;
}

function readU64(b: Bytes, offset: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(offset) * 2 ** 32 + v.getUint32(offset + 4);
}

/** The stored tree head: untrusted, compared with the replay. */
export interface StoredHead {
  readonly size: number;
  readonly compact: readonly Uint8Array[];
}

export class DbSource implements EntrySource {
  readonly kind = "db";
  readonly description: string;
  readonly published: readonly PublishedCheckpoint[] = [];
  readonly oracle: ProofOracle;

  private constructor(
    private readonly _db: Level<Bytes, Bytes>,
    readonly dir: string,
    /** The stored head, or null when the record is missing or malformed (the reason is in headProblem). */
    readonly head: StoredHead | null,
    readonly headProblem: string | null,
  ) {
    this.description = `data directory ${dir}`;
    this.oracle = {
      description: `the tree stored in ${dir}`,
      inclusionProof: async (index, size) => assembleProof(planInclusion(index, size), (id) => this._node(id)),
      consistencyProof: async (size1, size2) => assembleProof(planConsistency(size1, size2), (id) => this._node(id)),
    };
  }

  get declaredSize(): number | undefined {
    return this.head?.size;
  }

  /** Opens the LevelDB in `dir` (which must exist) for reading. */
  static async open(dir: string): Promise<DbSource> {
    const db = new Level<Bytes, Bytes>(dir, { keyEncoding: "view", valueEncoding: "view", createIfMissing: false });
    try {
      await db.open();
    } catch (cause) {
      const locked = JSON.stringify(cause, Object.getOwnPropertyNames(cause as object)).includes("LEVEL_LOCKED") || /lock/i.test(messageOf((cause as Error).cause));
      throw new AuditError(
        "UNREACHABLE",
        locked
          ? `the data directory ${dir} is locked by another process (a running service?): audit a copy of it (cp -a ${dir} /tmp/ledger-copy)`
          : `cannot open the data directory ${dir} as LevelDB: ${messageOf(cause)}${(cause as Error).cause ? ` (${messageOf((cause as Error).cause)})` : ""}`,
        { cause },
      );
    }
    let head: StoredHead | null = null;
    let problem: string | null = null;
    const raw = await db.get(HEAD_KEY);
    if (raw === undefined) problem = "the data directory has no tree head record";
    else if (raw.length < 8 || (raw.length - 8) % 32 !== 0) problem = `the tree head record has a bad length ${raw.length}`;
    else {
      const compact: Uint8Array[] = [];
      for (let o = 8; o < raw.length; o += 32) compact.push(new Uint8Array(raw.subarray(o, o + 32)));
      head = { size: readU64(raw, 0), compact };
    }
    return new DbSource(db, dir, head, problem);
  }

  private _node(id: NodeId): Uint8Array {
    if (id.level < TILE_HEIGHT) {
      const width = TILE_WIDTH >> id.level;
      const t = Math.floor(id.index / width);
      const tile = this._db.getSync(Buffer.concat([Buffer.of(T_TILE), u64(t)]));
      if (tile !== undefined) {
        // Index of the node in the record: the levels below it, then its place in its level.
        const at = (2 * TILE_WIDTH - ((2 * TILE_WIDTH) >> id.level) + (id.index - t * width)) * 32;
        if (tile.length !== (2 * TILE_WIDTH - 2) * 32) throw new AuditError("PROTOCOL", `the stored tile ${t} has ${tile.length} bytes`);
        return tile.subarray(at, at + 32);
      }
    }
    const key = Buffer.concat([Buffer.of(T_NODE, id.level), u64(id.index)]);
    const h = this._db.getSync(key);
    if (h === undefined || h.length !== 32) throw new AuditError("PROTOCOL", `the stored tree has no node ${id.level}/${id.index}`);
    return h;
  }

  /**
   * Every leaf record in key order. A record too short for its own length
   * prefixes is given with its whole value as data and index as stored; the
   * audit then finds it is not an entry.
   */
  async *leaves(): AsyncGenerator<LeafBatch> {
    const it = this._db.iterator({ gte: Buffer.of(T_LEAF), lt: Buffer.of(T_LEAF + 1) });
    try {
      for (;;) {
        const rows = await it.nextv(BATCH);
        if (rows.length === 0) return;
        const n = rows.length;
        const indices = new Array<number>(n);
        const starts = new Array<number>(n);
        const ends = new Array<number>(n);
        const storedIds = new Array<string>(n);
        const parts: Bytes[] = new Array<Bytes>(n);
        let at = 0;
        for (let i = 0; i < n; i++) {
          const [k, v] = rows[i]!;
          indices[i] = k.length === 9 ? readU64(k, 1) : NaN;
          let from = 0;
          let id = "";
          if (v.length >= 2) {
            const idLen = (v[0]! << 8) | v[1]!;
            const o = 2 + idLen;
            if (v.length >= o + 2) {
              id = Buffer.from(v.buffer, v.byteOffset + 2, idLen).toString("utf8");
              const atLen = (v[o]! << 8) | v[o + 1]!;
              if (v.length >= o + 2 + atLen) from = o + 2 + atLen;
            }
          }
          storedIds[i] = id;
          parts[i] = v.subarray(from);
          starts[i] = at;
          at += v.length - from;
          ends[i] = at;
        }
        yield { length: n, indices, data: Buffer.concat(parts, at), starts, ends, storedIds };
      }
    } catch (cause) {
      if (cause instanceof AuditError) throw cause;
      throw new AuditError("UNREACHABLE", `reading the data directory ${this.dir} failed: ${messageOf(cause)}`, { cause });
    } finally {
      await it.close();
    }
  }

  async close(): Promise<void> {
    await this._db.close();
  }
}
