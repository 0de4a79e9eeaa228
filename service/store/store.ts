/**
 * The ledger's storage, behind an interface so the sequencer and the HTTP
 * layer never see LevelDB, and tests can use the memory twin with fault hooks.
 *
 * Contract, for every implementation:
 * - `commit` is atomic: after a crash either the whole batch is stored or
 *   none of it is. It is durable once its promise resolves (the LevelDB
 *   implementation writes with `sync: true`).
 * - Reads return `undefined` (or an empty list), never throw, for anything
 *   missing. They reflect every commit whose promise has resolved.
 * - Node hashes are stored for every completed perfect subtree, so any proof
 *   costs O(log n) reads; the tree is never held whole in memory.
 * - Only one process may open a data directory: `open` fails with
 *   {@link StoreLockedError} when another holds it.
 */
import type { CreatedNode, NodeId } from "../log";
import type { Openings } from "../records/entry";
import type { IndexRef } from "../records/rules";
import type { StateDoc, StateKey } from "../records/state";

/** The tree head the store holds: its size and the compact range of its right edge. */
export interface TreeHead {
  readonly size: number;
  /** The hashes of planRoot(size), left to right. */
  readonly compact: readonly Uint8Array[];
}

export interface StoredLeaf {
  readonly index: number;
  readonly id: string;
  /** RFC 8785 canonical bytes of the public entry: the leaf data. */
  readonly bytes: Uint8Array;
  /** RFC 3339 UTC time the entry was recorded (duplicated from the entry for lag accounting). */
  readonly recordedAt: string;
}

export interface IdempotencyRecord {
  /** Hex SHA-256 over method, path and canonical body. */
  readonly requestHash: string;
  readonly status: number;
  readonly body: unknown;
  /** RFC 3339 UTC. */
  readonly createdAt: string;
}

export interface LeafWrite extends StoredLeaf {
  /** The leaf node and every interior node its append completed. */
  readonly nodes: readonly CreatedNode[];
  readonly indexes: readonly IndexRef[];
  readonly openings: Openings | null;
}

export interface CommitBatch {
  /** The head after this batch; its size is the first leaf's index plus the number of leaves. */
  readonly head: TreeHead;
  readonly leaves: readonly LeafWrite[];
  readonly state: ReadonlyMap<StateKey, StateDoc>;
  readonly idempotency: ReadonlyMap<string, IdempotencyRecord>;
}

export interface TokenRecord {
  /** Public token id, for listing and revoking. */
  readonly id: string;
  /** Hex SHA-256 of the secret token; the token itself is never stored. */
  readonly hash: string;
  readonly official: string;
  readonly agency: string;
  readonly role: "clerk" | "approver" | "payer" | "admin";
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface LedgerStore {
  /** The head as of the last resolved commit (size 0 for a new store). */
  head(): Promise<TreeHead>;
  commit(batch: CommitBatch): Promise<void>;

  leaf(index: number): Promise<StoredLeaf | undefined>;
  /** Leaves [start, end) in log order, clipped to the tree size. */
  leaves(start: number, end: number): Promise<StoredLeaf[]>;
  indexOf(entryId: string): Promise<number | undefined>;
  /** Node hashes in the order asked; undefined for a node not (yet) stored. */
  nodes(ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]>;
  state(key: StateKey): Promise<StateDoc | undefined>;
  /** Leaf indexes filed under (name, value), ascending, after `after` (exclusive), at most `limit`. */
  indexed(ref: IndexRef, options?: { after?: number; limit?: number }): Promise<number[]>;
  openings(entryId: string): Promise<Openings | undefined>;
  /** Erases the private values of an entry; its commitments stay in the log. */
  eraseOpenings(entryId: string): Promise<void>;

  /** `scopedKey` is the caller's scope and the client's Idempotency-Key, joined by the sequencer. */
  idempotency(scopedKey: string): Promise<IdempotencyRecord | undefined>;
  /** Deletes idempotency records created before `cutoff` (RFC 3339 UTC); returns how many. */
  expireIdempotency(cutoff: string): Promise<number>;

  putToken(token: TokenRecord): Promise<void>;
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;
  tokens(): Promise<TokenRecord[]>;

  close(): Promise<void>;
}

export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";
}

/** The store could not complete a read or write (disk full, I/O error). The batch was not stored. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}
