/**
 * The ledger's storage, behind interfaces so the sequencer and the read
 * model never see LevelDB, and tests can use the memory twin with fault
 * hooks. The store is five parts, each an interface below: the log, state,
 * openings, idempotency and tokens. The sequencer (service/ledger) writes the
 * first four through one atomic `commit`; the read model (service/queries)
 * reads the log, state and openings; the HTTP layer sees none of them.
 *
 * Contract, for every implementation:
 * - `commit` is atomic: after a crash either the whole batch is stored or
 *   none of it is. It is durable once its promise resolves (the LevelDB
 *   implementation writes with `sync: true`).
 * - Reads return `undefined` (or an empty list), never throw, for anything
 *   missing. They reflect every commit whose promise has resolved.
 * - Node hashes are stored for every completed perfect subtree, so any proof
 *   costs O(log n) reads; the tree is never held whole in memory.
 * - Only one process may open a LevelDB data directory: `open` fails with
 *   {@link StoreLockedError} when another holds it. A PostgreSQL database is
 *   shared by any number of processes, which is why it also offers
 *   {@link SharedSequencing}, and why a commit there can be refused because
 *   another process advanced the head first ({@link isHeadMoved}).
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
  /**
   * Entry ids whose private values are erased by this batch, atomically with
   * the rest of it: their openings are deleted, and every idempotency record
   * whose stored response names one of them (stored earlier or in this
   * batch) keeps its response but has its request hash replaced by
   * {@link ERASED_REQUEST_HASH}, since a hash over a request body with a few
   * guessable private values would let them be recovered.
   */
  readonly erasures?: readonly string[];
}

/**
 * The request hash of an idempotency record whose entry was since erased: no
 * request hashes to it, so a retry with the same key is refused, never
 * recorded twice.
 */
export const ERASED_REQUEST_HASH = "erased";

/** The entry ids an idempotency record's stored response names: `body.id`, or each `body.results[].id` of a batch. */
export function idsOfResponse(record: IdempotencyRecord): string[] {
  const body = record.body;
  if (typeof body !== "object" || body === null) return [];
  const ids: string[] = [];
  const id = (body as { id?: unknown }).id;
  if (typeof id === "string") ids.push(id);
  const results = (body as { results?: unknown }).results;
  if (Array.isArray(results))
    for (const r of results) {
      const rid = typeof r === "object" && r !== null ? (r as { id?: unknown }).id : undefined;
      if (typeof rid === "string") ids.push(rid);
    }
  return ids;
}

/** `record` with its request hash scrubbed when its response names an erased entry; the same object otherwise. */
export function scrubbedForErasure(record: IdempotencyRecord, erased: ReadonlySet<string>): IdempotencyRecord {
  if (record.requestHash === ERASED_REQUEST_HASH || !idsOfResponse(record).some((id) => erased.has(id))) return record;
  return { ...record, requestHash: ERASED_REQUEST_HASH };
}

export interface TokenRecord {
  /** Public token id, for listing and revoking. */
  readonly id: string;
  /** Hex SHA-256 of the secret token; the token itself is never stored. */
  readonly hash: string;
  /** The official's canonical id (service/format/officials.ts); tokens stored before ids were canonical may hold another form, which authentication canonicalises. */
  readonly official: string;
  /** The official's display name, recorded in their entries beside the id; absent on tokens created without one. */
  readonly name?: string;
  readonly agency: string;
  readonly role: "clerk" | "approver" | "payer" | "admin";
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/**
 * The log: leaves, tree nodes, the head and the secondary indexes.
 * `commit` is the one write of the whole store (see {@link LedgerStore}):
 * a batch's leaves, nodes, state, openings and idempotency records go in
 * together or not at all, durable once its promise resolves. Reads return
 * `undefined` (or an empty list), never throw, for anything missing, and
 * reflect every commit whose promise has resolved.
 */
export interface LogStore {
  /** The head as of the last resolved commit (size 0 for a new store). */
  head(): Promise<TreeHead>;
  /** Atomic, and durable once it resolves; rejects with {@link StoreUnavailableError}, storing nothing, for a batch that does not follow the stored head. */
  commit(batch: CommitBatch): Promise<void>;
  leaf(index: number): Promise<StoredLeaf | undefined>;
  /** Leaves [start, end) in log order, clipped to the tree size. */
  leaves(start: number, end: number): Promise<StoredLeaf[]>;
  indexOf(entryId: string): Promise<number | undefined>;
  /** Node hashes in the order asked; undefined for a node not (yet) stored. */
  nodes(ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]>;
  /** Leaf indexes filed under (name, value), ascending, after `after` (exclusive), at most `limit`. */
  indexed(ref: IndexRef, options?: { after?: number; limit?: number }): Promise<number[]>;
}

/** Derived state (records/state.ts), written only by `commit`. Returns undefined, never throws, for a missing key. */
export interface StateStore {
  state(key: StateKey): Promise<StateDoc | undefined>;
}

/**
 * The private values and salts of entries, kept off the log. Written by
 * `commit`; returns undefined, never throws, for an entry without openings
 * or whose openings were erased.
 */
export interface OpeningsStore {
  openings(entryId: string): Promise<Openings | undefined>;
  /**
   * Erases the private values of an entry; its commitments stay in the log. Durable once it resolves.
   * A low-level repair tool only: the ledger erases through a commit's `erasures`, which also appends
   * the erasure entry and scrubs idempotency records in the same atomic batch.
   */
  eraseOpenings(entryId: string): Promise<void>;
}

/** The stored responses of recording requests, by scoped Idempotency-Key. Written by `commit`. */
export interface IdempotencyStore {
  /** `scopedKey` is the caller's scope and the client's Idempotency-Key, joined by the sequencer. Undefined, never a throw, for an unknown key. */
  idempotency(scopedKey: string): Promise<IdempotencyRecord | undefined>;
  /** Deletes idempotency records created before `cutoff` (RFC 3339 UTC); returns how many. Durable once it resolves. */
  expireIdempotency(cutoff: string): Promise<number>;
}

/** The officials' bearer tokens, by the hash of the secret. */
export interface TokenStore {
  /** Adds or replaces the token with this hash; durable once it resolves. */
  putToken(token: TokenRecord): Promise<void>;
  /**
   * Stores `token` only if the store holds no token at all, atomically with
   * respect to every process writing to it, so replicas starting together on
   * an empty store create one first admin token between them. Resolves true
   * when it stored the token (durably), false when a token existed or
   * another writer's first token won.
   */
  putFirstToken(token: TokenRecord): Promise<boolean>;
  /** Undefined, never a throw, for an unknown hash. */
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;
  tokens(): Promise<TokenRecord[]>;
}

/**
 * Which access code of each application is current (service/auth/access-codes.ts):
 * a generation number, 0 until the first revocation. Only the number is
 * stored, never a code.
 */
export interface AccessCodeStore {
  /** The application's current generation; 0, never a throw, when it was never revoked. */
  accessCodeGeneration(applicationId: string): Promise<number>;
  /** Atomically adds one to the application's generation and returns the new one; durable once it resolves. */
  nextAccessCodeGeneration(applicationId: string): Promise<number>;
}

/**
 * Every record of a store's tables that are not the log itself, for moving a
 * ledger to another store (`npm run admin -- migrate`, service/store/migrate.ts);
 * the log is read through {@link LogStore.leaves} and the tokens through
 * {@link TokenStore.tokens}. Each iterates one table whole, in key order,
 * without holding it in memory; it reflects the commits resolved before the
 * iteration began (the migration holds the store closed to every writer).
 */
export interface LedgerDump {
  /** Every (name, value) → leaf index entry. */
  indexEntries(): AsyncIterable<{ readonly ref: IndexRef; readonly leaf: number }>;
  stateDocs(): AsyncIterable<readonly [StateKey, StateDoc]>;
  /** The openings still held: an erased entry's are gone, so they are not listed. */
  allOpenings(): AsyncIterable<readonly [string, Openings]>;
  /** By scoped key; records of erased entries carry {@link ERASED_REQUEST_HASH} already. */
  idempotencyRecords(): AsyncIterable<readonly [string, IdempotencyRecord]>;
  /** Applications whose access code was ever revoked, with their current generation (≥ 1). */
  accessCodeGenerations(): AsyncIterable<readonly [string, number]>;
}

/** What a batch built under the sequence lock reads: state and idempotency records exactly as of the locked head. */
export interface LockedReads {
  state(key: StateKey): Promise<StateDoc | undefined>;
  idempotency(scopedKey: string): Promise<IdempotencyRecord | undefined>;
}

/**
 * A store several processes commit to. `sequence` takes the sequence lock,
 * calls `build` with the head it holds and reads inside the locked
 * transaction, commits what `build` returns in that same transaction, and
 * resolves true once that is durable (false when `build` returned
 * undefined: nothing written). No other commit can come between the reads
 * and the write, so a batch built this way never meets a moved head.
 */
export interface SharedSequencing {
  sequence(build: (head: TreeHead, reads: LockedReads) => Promise<CommitBatch | undefined>): Promise<boolean>;
}

/** What a log is served with, as public values only: its verifier key and a fingerprint of its access-code key. */
export interface KeyIdentity {
  /** The C2SP verifier key of the log's checkpoint signer. */
  readonly logKey: string;
  /** Hex HMAC of a fixed label under the access-code key; reveals nothing of the key. */
  readonly accessCodeFingerprint: string;
}

/** A store several processes share records the keys its log is served with, so a replica with other keys is refused. */
export interface KeyRegistry {
  /** Records `mine` unless keys are already recorded, and returns what is recorded (`mine` on first use). */
  recordKeys(mine: KeyIdentity): Promise<KeyIdentity>;
}

/** The shared rate-limit counters are a type of their own, so the HTTP layer can name them without importing the store. */
export type { RateLimitCounters, RateWindow } from "../rate-limits";

/** The whole store, as `main.ts` opens it; each consumer takes only the parts it needs. */
export interface LedgerStore extends LogStore, StateStore, OpeningsStore, IdempotencyStore, TokenStore, AccessCodeStore {
  /** Waits for writes under way, then releases the data directory. */
  close(): Promise<void>;
}

export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";
}

/** The store could not complete a read or write (disk full, I/O error). The batch was not stored. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/**
 * Whether `e` is a commit refused, storing nothing, because another process
 * advanced the head after the batch was built (the PostgreSQL store's
 * HEAD_MOVED): the batch is sound, only its base is stale.
 */
export function isHeadMoved(e: unknown): boolean {
  return e instanceof StoreUnavailableError && (e as { readonly code?: unknown }).code === "HEAD_MOVED";
}
