/**
 * The sequencer: the single writer of the log.
 *
 * Requests queue up; the sequencer takes everything queued, checks each
 * against the business rules in order (each sees the effects of those before
 * it in the same batch), appends the accepted ones to the tree, and commits
 * the whole group in one durable store batch. While a batch is being written
 * new requests queue for the next one, so concurrent clients share fsyncs
 * (group commit) and the order of the log is the order of sequencing.
 *
 * A request is acknowledged only after its batch is durable. If the commit
 * fails, every request in the batch fails and the in-memory head is left as
 * it was, so nothing acknowledged is ever lost and nothing unacknowledged is
 * ever assumed stored.
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { CompactRange, encodeEntry, hashLeaf, toHex } from "../log";
import type { Actor, LedgerEntry } from "../records/entry";
import { applyCommand, type Command } from "../records/rules";
import type { EntryKind } from "../records/schemas";
import type { StateDoc, StateKey, StateReader } from "../records/state";
import type { CommitBatch, IdempotencyRecord, LeafWrite, LedgerStore } from "../store/store";

export interface Clock {
  /** The current time, RFC 3339 UTC with milliseconds. */
  now(): string;
}

export const systemClock: Clock = { now: () => new Date().toISOString() };

const ID_PREFIX: Readonly<Record<EntryKind, string>> = {
  programme: "prg",
  application: "app",
  decision: "dec",
  payout: "pay",
  confirmation: "cnf",
  correction: "cor",
};

export interface Submission {
  readonly command: Command;
  readonly actor: Actor;
  /** Scope (the token id) and Idempotency-Key, joined; see {@link scopedIdempotencyKey}. */
  readonly idempotencyKey: string;
  /** Hex SHA-256 of method, path and canonical body. */
  readonly requestHash: string;
}

export interface Accepted {
  readonly status: number;
  readonly body: AcceptedBody;
  /** True when this is the stored response of an earlier request with the same key and body. */
  readonly replayed: boolean;
}

export interface AcceptedBody {
  readonly id: string;
  readonly kind: EntryKind;
  readonly leafIndex: number;
  readonly entry: LedgerEntry;
}

/** The same Idempotency-Key was used before with a different request. */
export class IdempotencyConflict extends Error {
  override readonly name = "IdempotencyConflict";
}

export function scopedIdempotencyKey(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}

interface Pending {
  readonly submission: Submission;
  readonly resolve: (a: Accepted) => void;
  readonly reject: (e: unknown) => void;
}

export interface LedgerOptions {
  readonly store: LedgerStore;
  readonly clock?: Clock;
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Most requests in one commit. */
  readonly maxBatch?: number;
  /** Called after each durable commit with the new tree size. */
  readonly onCommit?: (size: number) => void;
}

export class Ledger {
  private readonly _store: LedgerStore;
  private readonly _clock: Clock;
  private readonly _random: (n: number) => Uint8Array;
  private readonly _maxBatch: number;
  private readonly _onCommit: (size: number) => void;
  private _range: CompactRange;
  private _queue: Pending[] = [];
  private _running = false;
  private _closed = false;

  private constructor(opts: LedgerOptions, range: CompactRange) {
    this._store = opts.store;
    this._clock = opts.clock ?? systemClock;
    this._random = opts.randomBytes ?? ((n) => new Uint8Array(nodeRandomBytes(n)));
    this._maxBatch = opts.maxBatch ?? 256;
    this._onCommit = opts.onCommit ?? (() => {});
    this._range = range;
  }

  static async open(opts: LedgerOptions): Promise<Ledger> {
    const head = await opts.store.head();
    return new Ledger(opts, new CompactRange(head.size, head.compact));
  }

  /** The size of the durable tree. */
  get size(): number {
    return this._range.size;
  }

  /** The root of the durable tree. */
  root(): Uint8Array {
    return this._range.root();
  }

  get clock(): Clock {
    return this._clock;
  }

  /**
   * Sequences one request. Resolves once its entry is durable (or with the
   * stored response of an earlier identical request); rejects with
   * RuleViolation, IdempotencyConflict or a store error, with nothing stored.
   */
  submit(submission: Submission): Promise<Accepted> {
    if (this._closed) return Promise.reject(new Error("ledger is closed"));
    return new Promise<Accepted>((resolve, reject) => {
      this._queue.push({ submission, resolve, reject });
      void this._drain();
    });
  }

  /** Waits for queued work, then refuses new submissions. */
  async close(): Promise<void> {
    this._closed = true;
    while (this._running || this._queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private async _drain(): Promise<void> {
    if (this._running) return;
    this._running = true;
    try {
      while (this._queue.length > 0) {
        const batch = this._queue.splice(0, this._maxBatch);
        await this._process(batch);
      }
    } finally {
      this._running = false;
    }
  }

  private async _reloadHead(): Promise<void> {
    try {
      const head = await this._store.head();
      this._range = new CompactRange(head.size, head.compact);
    } catch {
      // Keep the last known head; the next commit will fail the same way
      // until the store recovers, and nothing is acknowledged meanwhile.
    }
  }

  private async _process(batch: Pending[]): Promise<void> {
    const range = this._range.clone();
    const state = new Map<StateKey, StateDoc>();
    const idempotency = new Map<string, IdempotencyRecord>();
    const leaves: LeafWrite[] = [];
    const accepted: { p: Pending; result: Accepted }[] = [];
    const store = this._store;
    const reader: StateReader = { get: async (key) => state.get(key) ?? (await store.state(key)) };

    for (const p of batch) {
      const s = p.submission;
      try {
        const earlier = idempotency.get(s.idempotencyKey) ?? (await store.idempotency(s.idempotencyKey));
        if (earlier !== undefined) {
          if (earlier.requestHash !== s.requestHash)
            throw new IdempotencyConflict("this Idempotency-Key was already used with a different request");
          const replay = { status: earlier.status, body: earlier.body as AcceptedBody, replayed: true };
          // A replay of a request in this very batch must wait for the batch to be durable.
          if (idempotency.has(s.idempotencyKey)) accepted.push({ p, result: replay });
          else p.resolve(replay);
          continue;
        }
        const now = this._clock.now();
        const applied = await applyCommand(
          {
            state: reader,
            actor: s.actor,
            now,
            newId: (kind) => `${ID_PREFIX[kind]}_${toHex(this._random(12))}`,
            randomBytes: this._random,
          },
          s.command,
        );
        const bytes = encodeEntry(applied.entry);
        const index = range.size;
        const nodes = range.append(hashLeaf(bytes));
        for (const [k, v] of applied.writes) state.set(k, v);
        const body: AcceptedBody = { id: applied.entry.id, kind: applied.entry.kind, leafIndex: index, entry: applied.entry };
        idempotency.set(s.idempotencyKey, { requestHash: s.requestHash, status: 201, body, createdAt: now });
        leaves.push({ index, id: applied.entry.id, bytes, recordedAt: now, nodes, indexes: applied.indexes, openings: applied.openings });
        accepted.push({ p, result: { status: 201, body, replayed: false } });
      } catch (e) {
        p.reject(e);
      }
    }

    if (leaves.length > 0) {
      const commit: CommitBatch = { head: { size: range.size, compact: range.hashes }, leaves, state, idempotency };
      try {
        await store.commit(commit);
      } catch (e) {
        for (const { p } of accepted) p.reject(e);
        // The store may or may not hold the batch (a write can fail after it
        // reached the disk). Its head is the truth: a client that retries with
        // the same Idempotency-Key gets the stored response if it was kept.
        await this._reloadHead();
        return;
      }
      this._range = range;
      this._onCommit(range.size);
    }
    for (const { p, result } of accepted) p.resolve(result);
  }
}
