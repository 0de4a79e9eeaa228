/**
 * The read model of the published log (C2SP tlog-tiles): the published
 * checkpoint, hash tiles and entry bundles, as bytes.
 *
 * Everything is bounded by the *published* size, the size of the checkpoint
 * {@link TileQueriesOptions.published} returns (anchored on the chain, and
 * cosigned once witnesses are configured; see service/publish/published.ts),
 * not by the ledger's durable size: a tile past it reads as undefined, so a
 * reader never sees a hash no published checkpoint commits to.
 *
 * Tiles are read from the store's node hashes (for level 0, its tile
 * records), never recomputed. Full tiles never change, so the last
 * {@link FULL_TILE_CACHE} served are kept in memory.
 */
import { encodeEntryBundle, TILE_WIDTH, widthAt, type TlogResource } from "../format/tiles";
import { assertInvariant, HASH_SIZE, type NodeId } from "../log";
import type { LogStore } from "../store/store";

/** A checkpoint readers may rely on, with the size its note commits to. */
export interface PublishedCheckpoint {
  readonly size: number;
  /** The signed note, as served at `<prefix>/checkpoint`. */
  readonly note: string;
}

export interface TileQueriesOptions {
  readonly store: Pick<LogStore, "nodes" | "leaves">;
  /** The checkpoint published now, or null before the first one. */
  readonly published: () => Promise<PublishedCheckpoint | null>;
}

/** Full tiles and bundles kept in memory (8 KiB a hash tile; bundles as large as their entries). */
export const FULL_TILE_CACHE = 1024;

export class TileQueries {
  private readonly _store: TileQueriesOptions["store"];
  private readonly _published: TileQueriesOptions["published"];
  private readonly _cache = new Map<string, Uint8Array>();

  constructor(options: TileQueriesOptions) {
    this._store = options.store;
    this._published = options.published;
  }

  /** The published checkpoint, or null when nothing is published yet. */
  checkpoint(): Promise<PublishedCheckpoint | null> {
    return this._published();
  }

  /**
   * The bytes of a hash tile or entry bundle, or undefined when the published
   * tree does not reach its last hash (`(index·256 + width)·256^level` leaves).
   * Any width up to the published one is served: a narrower partial tile is the
   * same tile as of an earlier, smaller checkpoint.
   */
  async resource(r: TlogResource): Promise<Uint8Array | undefined> {
    const published = await this._published();
    if (published === null || widthAt(r.level, r.index, published.size) < r.width) return undefined;
    const key = `${r.level}/${r.index}`;
    if (r.width === TILE_WIDTH) {
      const cached = this._cache.get(key);
      if (cached !== undefined) return cached;
    }
    const bytes = r.level === "entries" ? await this._bundle(r.index, r.width) : await this._hashTile(r.level, r.index, r.width);
    if (r.width === TILE_WIDTH) {
      if (this._cache.size >= FULL_TILE_CACHE) this._cache.delete(this._cache.keys().next().value!);
      this._cache.set(key, bytes);
    }
    return bytes;
  }

  /** The hashes of tree level 8·level, indexes index·256 to index·256 + width − 1: every one a complete subtree the store keeps. */
  private async _hashTile(level: number, index: number, width: number): Promise<Uint8Array> {
    const ids: NodeId[] = [];
    for (let i = 0; i < width; i++) ids.push({ level: 8 * level, index: index * TILE_WIDTH + i });
    const hashes = await this._store.nodes(ids);
    const out = new Uint8Array(width * HASH_SIZE);
    hashes.forEach((h, i) => {
      assertInvariant(h !== undefined && h.length === HASH_SIZE, `node ${8 * level}/${index * TILE_WIDTH + i} of a published tile is not stored`);
      out.set(h, i * HASH_SIZE);
    });
    return out;
  }

  private async _bundle(index: number, width: number): Promise<Uint8Array> {
    const start = index * TILE_WIDTH;
    const leaves = await this._store.leaves(start, start + width);
    assertInvariant(leaves.length === width, `leaves ${start} to ${start + width - 1} of a published bundle are not all stored`);
    return encodeEntryBundle(leaves.map((l) => l.bytes));
  }
}
