/**
 * Rebuilding the public log in a store from a mirror's copy (or any tiled
 * copy of the log), for an agency that lost its data directory.
 *
 * What it restores: the leaves, the tree's node hashes and its head, and the
 * `kind` index, appended through the store's one write (`commit`), so it works
 * for LevelDB and PostgreSQL alike. The store then has the log's root, and
 * serves its tiles, proofs and entries as before.
 *
 * What it cannot restore: a mirror holds only public entries. The private
 * values and salts (openings), the derived state the business rules read, the
 * idempotency records and the officials' tokens are the agency's own backup.
 * So the order is: restore that backup (a consistent snapshot) into the data
 * directory first, then rebuild the entries the backup lacks from the mirror.
 * An imported entry has no openings and leaves the state as the backup left
 * it; see the README before recording on such a store.
 *
 * Guarantees: the copy is authenticated whole before anything is written (its
 * checkpoint opens with the log key, every tile and bundle hashes up to its
 * root); a store that already holds entries must be a prefix of the copy
 * (consistency proof from the copy's tiles, verified by the log core), else
 * nothing is written. Each bundle is one atomic commit, so a rebuild killed
 * midway leaves a consistent prefix and can be run again.
 */
import { checkTiles, consistencyProofFromTiles, rootFromTiles, type LogReader } from "../format/log-reader";
import { parseEntryBundle, TILE_WIDTH, widthAt } from "../format/tiles";
import { CodedError, CompactRange, equalBytes, hashLeaf, toHex, verifyCheckpoint, verifyConsistency, type NoteVerifier } from "../log";
import type { IndexRef } from "../records/rules";
import type { LeafWrite, LogStore } from "../store/store";

export type RebuildErrorCode = "CHECKPOINT_INVALID" | "COPY_INVALID" | "NOT_A_PREFIX" | "ENTRY_INVALID";

/** The rebuild was refused; the store is as it was (or, for ENTRY_INVALID, holds the bundles before that entry). */
export class RebuildError extends CodedError<RebuildErrorCode> {
  override readonly name = "RebuildError";
}

export interface RebuildResult {
  readonly previousSize: number;
  readonly size: number;
  readonly rootHex: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The id, recordedAt and kind of a public entry (service/format/entry.ts), which the store files it under. */
function fieldsOf(bytes: Uint8Array, index: number): { id: string; recordedAt: string; kind?: string } {
  let e: unknown;
  try {
    e = JSON.parse(utf8.decode(bytes));
  } catch (cause) {
    throw new RebuildError("ENTRY_INVALID", `entry ${index} is not JSON`, { cause });
  }
  const o = (typeof e === "object" && e !== null ? e : {}) as { id?: unknown; recordedAt?: unknown; kind?: unknown };
  if (typeof o.id !== "string" || typeof o.recordedAt !== "string") throw new RebuildError("ENTRY_INVALID", `entry ${index} has no string id and recordedAt`);
  return { id: o.id, recordedAt: o.recordedAt, ...(typeof o.kind === "string" ? { kind: o.kind } : {}) };
}

/**
 * Appends to `store` the entries of the copy `copy` serves beyond the store's
 * head; see the module comment. Rejects with {@link RebuildError}.
 */
export async function rebuildFromCopy(
  store: Pick<LogStore, "head" | "commit">,
  copy: LogReader,
  options: { verifier: NoteVerifier; origin?: string }
): Promise<RebuildResult> {
  let cp;
  try {
    cp = verifyCheckpoint(await copy.readCheckpoint(), options.verifier, options.origin ?? options.verifier.name);
  } catch (e) {
    throw new RebuildError("CHECKPOINT_INVALID", `the copy's checkpoint does not open with the log key: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  const size = cp.size;
  try {
    if (size > 0) {
      await checkTiles(copy, size);
      const root = await rootFromTiles(copy, size);
      if (!equalBytes(root, cp.rootHash)) throw new Error(`its tiles hash to ${toHex(root)}, its checkpoint says ${toHex(cp.rootHash)}`);
    }
  } catch (e) {
    throw new RebuildError("COPY_INVALID", `the copy is damaged: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const head = await store.head();
  const range = new CompactRange(head.size, head.compact);
  if (head.size > size)
    throw new RebuildError("NOT_A_PREFIX", `the store holds ${head.size} entries, more than the copy's ${size}: nothing to rebuild from it`);
  if (head.size > 0) {
    try {
      verifyConsistency(head.size, size, range.root(), cp.rootHash, await consistencyProofFromTiles(copy, head.size, size));
    } catch (e) {
      throw new RebuildError(
        "NOT_A_PREFIX",
        `the store's ${head.size} entries are not a prefix of the copy's log: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e }
      );
    }
  }
  for (let n = Math.floor(head.size / TILE_WIDTH); n * TILE_WIDTH < size; n++) {
    const width = widthAt("entries", n, size);
    const entries = parseEntryBundle(await copy.readEntryBundle(n, width), width);
    const leaves: LeafWrite[] = [];
    for (let i = Math.max(0, range.size - n * TILE_WIDTH); i < width; i++) {
      const index = n * TILE_WIDTH + i;
      const bytes = entries[i]!.slice();
      const f = fieldsOf(bytes, index);
      const indexes: IndexRef[] = f.kind === undefined ? [] : [{ name: "kind", value: f.kind }];
      leaves.push({ index, id: f.id, bytes, recordedAt: f.recordedAt, nodes: range.append(hashLeaf(bytes)), indexes, openings: null });
    }
    await store.commit({ head: { size: range.size, compact: [...range.hashes] }, leaves, state: new Map(), idempotency: new Map() });
  }
  const rootHex = toHex(range.root());
  if (rootHex !== toHex(cp.rootHash))
    throw new RebuildError("COPY_INVALID", `the rebuilt tree's root ${rootHex} is not the checkpoint's ${toHex(cp.rootHash)}`);
  return { previousSize: head.size, size, rootHex };
}
