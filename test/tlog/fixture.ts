/**
 * A store holding a tree of synthetic leaves (test/store/contract.ts's
 * batches) with a MemoryTree over the same leaves as the reference, and a
 * published checkpoint the test moves by hand.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactRange, MemoryTree, noteKeyFromSeed, parseSignerKey, signCheckpoint } from "../../service/log";
import { TileQueries, type PublishedCheckpoint } from "../../service/queries/tiles";
import { LevelStore } from "../../service/store/level";
import type { LedgerStore } from "../../service/store/store";
import { buildBatches } from "../store/contract";

export const TLOG_ORIGIN = "ledger.test.example/log";
export const TLOG_KEYS = noteKeyFromSeed(TLOG_ORIGIN, new Uint8Array(32).fill(7));

export interface TlogFixture {
  readonly store: LedgerStore;
  readonly tree: MemoryTree;
  readonly tiles: TileQueries;
  /** Publishes a checkpoint of the first `size` leaves (null: nothing published). */
  publish(size: number | null): void;
  published(): PublishedCheckpoint | null;
  cleanup(): Promise<void>;
}

/** The signed checkpoint of the first `size` leaves of `tree`. */
export function checkpointNote(tree: MemoryTree, size: number): string {
  return signCheckpoint({ origin: TLOG_ORIGIN, size, rootHash: tree.root(size), extensions: [] }, parseSignerKey(TLOG_KEYS.signerKey));
}

/** A LevelDB store of `size` leaves, committed in batches of `batch`. */
export async function tlogFixture(size: number, batch = 1000, parent = tmpdir()): Promise<TlogFixture> {
  const dir = await mkdtemp(join(parent, "ledger-tlog-"));
  const store = await LevelStore.open(dir);
  const tree = new MemoryTree();
  const range = new CompactRange();
  const sizes: number[] = [];
  for (let left = size; left > 0; left -= batch) sizes.push(Math.min(batch, left));
  for (const b of sizes) for (const x of buildBatches(range, tree, [b])) await store.commit(x);
  let current: PublishedCheckpoint | null = null;
  const tiles = new TileQueries({ store, published: async () => current });
  return {
    store,
    tree,
    tiles,
    publish(n) {
      current = n === null ? null : { size: n, note: checkpointNote(tree, n) };
    },
    published: () => current,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
