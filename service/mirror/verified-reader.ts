/**
 * A {@link LogReader} over an upstream log that hands out only bytes it has
 * authenticated against one checkpoint (size and root hash already opened
 * with the log's key), so a mirror never writes a tile it has not checked:
 *
 * - the partial tiles at the tree's right edge hash to the root
 *   ({@link VerifiedReader.open} refuses the checkpoint otherwise);
 * - a full hash tile hashes to its hash in the tile above, itself
 *   authenticated the same way, up to the right edge;
 * - every entry of a bundle hashes (RFC 6962 leaf hash) to its hash in the
 *   authenticated level-0 tile.
 *
 * Reads run ahead of the caller in the order {@link resourcesForSize} lists
 * them, since StaticLogDir asks for them one at a time in that order.
 */
import { LogReadError, rootFromTiles, type LogReader } from "../format/log-reader";
import { parseEntryBundle, parseHashTile, resourcePath, resourcesForSize, TileFormatError, TILE_WIDTH, widthAt, type TlogResource } from "../format/tiles";
import { CodedError, equalBytes, hashChildren, hashLeaf, toHex } from "../log";

/** Upstream served a tile or bundle that does not match the checkpoint. Nothing of it was handed out. */
export class TileAuthenticationError extends CodedError<"TILES_INVALID"> {
  override readonly name = "TileAuthenticationError";
}

/** Resources fetched ahead of the one asked for. */
export const READ_AHEAD = 16;
/** Authenticated full hash tiles kept as parents for the tiles below them. */
const PARENT_CACHE = 64;

function merkle(hashes: readonly Uint8Array[]): Uint8Array {
  let row = hashes;
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let j = 0; j < row.length; j += 2) next.push(hashChildren(row[j]!, row[j + 1]!));
    row = next;
  }
  return row[0]!;
}

export class VerifiedReader implements LogReader {
  /** Authenticated hash tiles by `level/index` (the right edge's partial ones are never evicted). */
  private readonly _edge = new Map<string, Uint8Array[]>();
  private readonly _parents = new Map<string, Uint8Array[]>();
  private readonly _ahead = new Map<string, Promise<Uint8Array>>();
  private readonly _order: TlogResource[];
  private readonly _position = new Map<string, number>();
  private _cursor = -1;

  private constructor(private readonly _upstream: LogReader, private readonly _note: Uint8Array, readonly size: number, fromSize: number) {
    this._order = resourcesForSize(size, fromSize);
    this._order.forEach((r, i) => this._position.set(resourcePath(r), i));
  }

  /**
   * Authenticates the right edge of the tree of `size` leaves against
   * `rootHash` and returns a reader of that tree whose checkpoint is `note`.
   * Throws {@link TileAuthenticationError} when upstream's tiles do not hash
   * to the root, LogReadError when a read fails. Requires size ≥ 1.
   */
  static async open(upstream: LogReader, note: Uint8Array, size: number, rootHash: Uint8Array, fromSize = 0): Promise<VerifiedReader> {
    const v = new VerifiedReader(upstream, note, size, fromSize);
    const seen = new Map<string, Uint8Array>();
    let root: Uint8Array;
    try {
      root = await rootFromTiles(
        {
          readTile: async (level, index, width) => {
            const b = await upstream.readTile(level, index, width);
            seen.set(`${level}/${index}/${width}`, b);
            return b;
          },
        },
        size
      );
    } catch (e) {
      if (e instanceof LogReadError && e.code === "MALFORMED") throw new TileAuthenticationError("TILES_INVALID", e.message, { cause: e });
      throw e;
    }
    if (!equalBytes(root, rootHash))
      throw new TileAuthenticationError("TILES_INVALID", `upstream's tiles hash to ${toHex(root)}, its checkpoint of size ${size} says ${toHex(rootHash)}`);
    for (const [k, b] of seen) {
      const [level, index, width] = k.split("/").map(Number) as [number, number, number];
      v._edge.set(`${level}/${index}`, parseHashTile(b, width));
    }
    return v;
  }

  readCheckpoint(): Promise<Uint8Array> {
    return Promise.resolve(this._note);
  }

  async readTile(level: number, index: number, width: number): Promise<Uint8Array> {
    const hashes = await this._tile(level, index, width);
    const out = new Uint8Array(hashes.length * 32);
    hashes.forEach((h, i) => out.set(h, i * 32));
    return out;
  }

  async readEntryBundle(index: number, width: number): Promise<Uint8Array> {
    this._need(width === widthAt("entries", index, this.size), `entry bundle ${index} of width ${width}`);
    const r: TlogResource = { level: "entries", index, width };
    const bytes = await this._fetch(r);
    let entries: Uint8Array[];
    try {
      entries = parseEntryBundle(bytes, width);
    } catch (e) {
      if (e instanceof TileFormatError) throw new TileAuthenticationError("TILES_INVALID", `${resourcePath(r)}: ${e.message}`, { cause: e });
      throw e;
    }
    const leaves = await this._tile(0, index, width);
    entries.forEach((e, i) => {
      if (!equalBytes(hashLeaf(e), leaves[i]!))
        throw new TileAuthenticationError("TILES_INVALID", `entry ${index * TILE_WIDTH + i} (${resourcePath(r)}) does not hash to its leaf hash`);
    });
    return bytes;
  }

  private _need(ok: boolean, what: string): asserts ok {
    if (!ok) throw new LogReadError("NOT_FOUND", `${what} is not part of the tree of ${this.size} leaves`);
  }

  /** The authenticated hashes of hash tile (level, index), which must have `width` in this tree. */
  private async _tile(level: number, index: number, width: number): Promise<Uint8Array[]> {
    this._need(width === widthAt(level, index, this.size), `hash tile ${level}/${index} of width ${width}`);
    const k = `${level}/${index}`;
    const known = this._edge.get(k) ?? this._parents.get(k);
    if (known !== undefined) return known;
    // A partial tile is on the right edge, authenticated by open(); so this is a full one.
    const r: TlogResource = { level, index, width };
    const bytes = await this._fetch(r);
    let hashes: Uint8Array[];
    try {
      hashes = parseHashTile(bytes, width);
    } catch (e) {
      if (e instanceof TileFormatError) throw new TileAuthenticationError("TILES_INVALID", `${resourcePath(r)}: ${e.message}`, { cause: e });
      throw e;
    }
    const up = Math.floor(index / TILE_WIDTH);
    const parent = (await this._tile(level + 1, up, widthAt(level + 1, up, this.size)))[index % TILE_WIDTH]!;
    if (!equalBytes(merkle(hashes), parent))
      throw new TileAuthenticationError("TILES_INVALID", `${resourcePath(r)} does not hash to its hash in the tile above`);
    if (this._parents.size >= PARENT_CACHE) this._parents.delete(this._parents.keys().next().value!);
    this._parents.set(k, hashes);
    return hashes;
  }

  /**
   * Upstream's bytes for `r`. The caller's reads advance a cursor through the
   * plan; each starts the reads of the {@link READ_AHEAD} resources after it,
   * and drops reads ahead of resources the caller skipped (it had them).
   */
  private _fetch(r: TlogResource): Promise<Uint8Array> {
    const path = resourcePath(r);
    const at = this._position.get(path);
    if (at !== undefined && at > this._cursor) {
      this._cursor = at;
      for (const p of this._ahead.keys()) if ((this._position.get(p) ?? at) < at) this._ahead.delete(p);
      for (const next of this._order.slice(at + 1, at + 1 + READ_AHEAD)) {
        const p = resourcePath(next);
        if (!this._ahead.has(p)) {
          const read = this._read(next);
          read.catch(() => {}); // Surfaced when asked for; an unasked failure is dropped.
          this._ahead.set(p, read);
        }
      }
    }
    const pending = this._ahead.get(path);
    if (pending !== undefined) {
      this._ahead.delete(path);
      return pending;
    }
    return this._read(r);
  }

  private _read(r: TlogResource): Promise<Uint8Array> {
    return r.level === "entries" ? this._upstream.readEntryBundle(r.index, r.width) : this._upstream.readTile(r.level, r.index, r.width);
  }
}
