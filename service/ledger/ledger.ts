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
 * Pipelining: while one batch is being written, the next is already checked
 * against the rules, reading an overlay of the state the batch in flight will
 * write. Commits still happen strictly in order, and a batch is committed
 * only after the one before it is durable.
 *
 * A request is acknowledged only after its batch is durable. If a commit
 * fails, every request in that batch and in every batch built on top of it
 * fails, and the head is reloaded from the store, so nothing acknowledged is
 * ever lost and nothing unacknowledged is ever assumed stored.
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { rfc3339, systemClock, type Clock } from "../clock";
import { ID_PREFIX } from "../format/entry";
import { CompactRange, encodeEntry, hashLeaf, toHex } from "../log";
import type { Actor, LedgerEntry } from "../records/entry";
import { applyCommand, type Command } from "../records/rules";
import type { EntryKind } from "../records/schemas";
import type { StateDoc, StateKey, StateReader } from "../records/state";
import { ERASED_REQUEST_HASH, StoreUnavailableError, type CommitBatch, type IdempotencyRecord, type IdempotencyStore, type LeafWrite, type LogStore, type StateStore } from "../store/store";

/**
 * The store could not read or write; nothing was stored. The sequencer and
 * the read model pass it on as the store threw it, so callers above them
 * (the HTTP layer) know it from here without importing the store.
 */
export { StoreUnavailableError };

/** The parts of the store the sequencer reads and writes: it commits the log, and reads state and idempotency records to check requests. */
export type SequencerStore = LogStore & StateStore & IdempotencyStore;


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

export interface BatchSubmission extends Omit<Submission, "command"> {
  /** Applied in order, atomically: all are appended, or none. */
  readonly commands: readonly Command[];
}

export interface AcceptedBatch {
  readonly status: number;
  readonly body: { readonly results: readonly AcceptedBody[] };
  readonly replayed: boolean;
}

/** A record of a batch was refused; `cause` says why (a RuleViolation, say). Nothing of the batch was appended. */
export class BatchRecordRejected extends Error {
  override readonly name = "BatchRecordRejected";
  constructor(
    readonly index: number,
    override readonly cause: unknown,
  ) {
    super(`record ${index} of the batch was refused: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Recording is stopped: the ledger refuses every submission, appending nothing, until it is resumed.
 * The anchorer halts it when anchoring has stopped for a reason that more entries would only make worse
 * (a split view between the log and the chain), so the log never grows a branch the chain has not seen.
 * `rule` names why, for the API's problem `rule`.
 */
export class LedgerHaltedError extends Error {
  override readonly name = "LedgerHaltedError";
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

/** The same Idempotency-Key was used before with a different request. */
export class IdempotencyConflict extends Error {
  override readonly name = "IdempotencyConflict";
}

export function scopedIdempotencyKey(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}

interface Pending {
  readonly submission: Omit<Submission, "command">;
  readonly commands: readonly Command[];
  /** A batch answers with every result; a single request with its one. */
  readonly batch: boolean;
  readonly resolve: (a: { status: number; body: unknown; replayed: boolean }) => void;
  readonly reject: (e: unknown) => void;
}

export interface LedgerOptions {
  readonly store: SequencerStore;
  readonly clock?: Pick<Clock, "now">;
  readonly randomBytes?: (n: number) => Uint8Array;
  /** Most requests in one commit (default 256). */
  readonly maxBatch?: number;
  /**
   * Most records checked in one go (default 256; a single larger request is
   * still taken whole). Checking is synchronous CPU work, so this bounds how
   * long other work on the event loop (proof reads, the anchorer's steps)
   * waits behind the sequencer: about 0.1 s at 256 records here.
   */
  readonly maxBatchRecords?: number;
  /** Most batches checked ahead of the store: 1 disables pipelining (default 2). */
  readonly maxInFlight?: number;
  /** Called after each durable commit with the new tree size. */
  readonly onCommit?: (size: number) => void;
  /** Hears of every commit's size and duration, for the operators' metrics; its faults never reach the sequencer. */
  readonly observer?: LedgerObserver;
}

/** What the sequencer reports of its commits (service/metrics implements it; the ledger knows no metrics library). */
export interface LedgerObserver {
  /** A batch of `entries` entries became durable; the store's commit took `seconds`. */
  committed(entries: number, seconds: number): void;
  /** The store failed to commit a batch; its requests failed. */
  commitFailed(): void;
}

/** Records checked between two yields to the event loop inside one batch. */
const YIELD_EVERY_RECORDS = 64;

export class Ledger {
  private readonly _store: SequencerStore;
  private readonly _clock: Pick<Clock, "now">;
  private readonly _random: (n: number) => Uint8Array;
  private readonly _maxBatch: number;
  private readonly _maxBatchRecords: number;
  private readonly _maxInFlight: number;
  private readonly _onCommit: (size: number) => void;
  private readonly _observer: LedgerObserver | undefined;
  /** The durable tree: what the store holds. */
  private _durable: CompactRange;
  /** The durable tree plus every batch in flight. */
  private _tip: CompactRange;
  private readonly _inFlight: InFlight[] = [];
  /** Resolves true once the newest batch in flight is durable, false if it (or one before it) failed. */
  private _lastCommit: Promise<boolean> = Promise.resolve(true);
  /** Set when a commit failed: the tip is wrong until the in-flight batches drain and the head is reloaded. */
  private _broken = false;
  private _queue: Pending[] = [];
  private _running = false;
  private _closed = false;
  private _halted: LedgerHaltedError | null = null;

  private constructor(opts: LedgerOptions, range: CompactRange) {
    this._store = opts.store;
    this._clock = opts.clock ?? systemClock;
    this._random = opts.randomBytes ?? pooledRandomBytes();
    this._maxBatch = opts.maxBatch ?? 256;
    this._maxBatchRecords = opts.maxBatchRecords ?? 256;
    if (!Number.isSafeInteger(this._maxBatchRecords) || this._maxBatchRecords < 1) throw new RangeError("maxBatchRecords must be a positive integer");
    this._maxInFlight = opts.maxInFlight ?? 2;
    if (!Number.isSafeInteger(this._maxBatch) || this._maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
    if (!Number.isSafeInteger(this._maxInFlight) || this._maxInFlight < 1) throw new RangeError("maxInFlight must be a positive integer");
    this._onCommit = opts.onCommit ?? (() => {});
    this._observer = opts.observer;
    this._durable = range;
    this._tip = range;
  }

  static async open(opts: LedgerOptions): Promise<Ledger> {
    const head = await opts.store.head();
    return new Ledger(opts, new CompactRange(head.size, head.compact));
  }

  /** The size of the durable tree. */
  get size(): number {
    return this._durable.size;
  }

  /** The root of the durable tree. */
  root(): Uint8Array {
    return this._durable.root();
  }

  get clock(): Pick<Clock, "now"> {
    return this._clock;
  }

  /**
   * Sequences one request. Resolves once its entry is durable (or with the
   * stored response of an earlier identical request); rejects with
   * RuleViolation, IdempotencyConflict or a store error, with nothing stored.
   */
  submit(submission: Submission): Promise<Accepted> {
    return this._enqueue(submission, [submission.command], false) as Promise<Accepted>;
  }

  /**
   * Sequences several records as one request: they are checked in order,
   * each seeing the ones before it, and appended together or not at all.
   * Rejects with BatchRecordRejected naming the first refused record.
   */
  submitBatch(submission: BatchSubmission): Promise<AcceptedBatch> {
    if (submission.commands.length === 0) return Promise.reject(new RangeError("a batch needs at least one record"));
    return this._enqueue(submission, submission.commands, true) as Promise<AcceptedBatch>;
  }

  /**
   * Stops recording: every submission from now on, and every one still
   * queued, is refused with a {@link LedgerHaltedError} carrying `rule`;
   * batches already being committed finish. Appends nothing until {@link resume}.
   */
  halt(rule: string, message: string): void {
    this._halted = new LedgerHaltedError(rule, message);
    const queued = this._queue.splice(0);
    for (const p of queued) p.reject(this._halted);
  }

  /** Accepts submissions again after {@link halt}. */
  resume(): void {
    this._halted = null;
  }

  /** Why recording is halted, or null. */
  get halted(): LedgerHaltedError | null {
    return this._halted;
  }

  private _enqueue(submission: Omit<Submission, "command">, commands: readonly Command[], batch: boolean): Promise<unknown> {
    if (this._closed) return Promise.reject(new Error("ledger is closed"));
    if (this._halted !== null) return Promise.reject(this._halted);
    return new Promise((resolve, reject) => {
      this._queue.push({ submission, commands, batch, resolve, reject });
      void this._drain();
    });
  }

  /** Waits for queued and in-flight work, then refuses new submissions. */
  async close(): Promise<void> {
    this._closed = true;
    while (this._running || this._queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this._lastCommit;
  }

  /** Tells the observer, if any; an observer's fault must not fail a commit. */
  private _observe(tell: (o: LedgerObserver) => void): void {
    if (this._observer === undefined) return;
    try {
      tell(this._observer);
    } catch {
      // Metrics are not worth a lost acknowledgement.
    }
  }

  private async _drain(): Promise<void> {
    if (this._running) return;
    this._running = true;
    try {
      while (this._queue.length > 0) {
        while (this._inFlight.length >= this._maxInFlight) await this._inFlight[0]!.done;
        if (this._broken) {
          // Every batch built on the failed one fails with it; wait for them,
          // then start again from what the store really holds.
          await this._lastCommit;
          await this._reloadHead();
          this._lastCommit = Promise.resolve(true);
          this._broken = false;
        }
        let take = 0;
        let records = 0;
        while (take < this._queue.length && take < this._maxBatch) {
          const n = this._queue[take]!.commands.length;
          if (take > 0 && records + n > this._maxBatchRecords) break;
          take += 1;
          records += n;
        }
        await this._process(this._queue.splice(0, take));
        // Let I/O callbacks run (HTTP reads, the anchorer's RPC answers) before checking the next batch:
        // awaiting the store's promises alone only runs microtasks.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this._running = false;
    }
  }

  /** Takes the durable head from the store, which is the truth after a failed commit. */
  private async _reloadDurable(): Promise<void> {
    try {
      const head = await this._store.head();
      this._durable = new CompactRange(head.size, head.compact);
    } catch {
      // Keep the last known durable head; the next commit will fail the same
      // way until the store recovers, and nothing is acknowledged meanwhile.
    }
  }

  private async _reloadHead(): Promise<void> {
    await this._reloadDurable();
    this._tip = this._durable;
  }

  /** Reads `key` as it will be once every batch in flight is durable. */
  private async _read<K extends string, T>(
    key: K,
    own: ReadonlyMap<K, T>,
    pick: (f: InFlight) => ReadonlyMap<K, T>,
    fromStore: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const mine = own.get(key);
    if (mine !== undefined) return mine;
    for (let i = this._inFlight.length - 1; i >= 0; i--) {
      const v = pick(this._inFlight[i]!).get(key);
      if (v !== undefined) return v;
    }
    return fromStore();
  }

  private async _process(batch: Pending[]): Promise<void> {
    let range = this._tip.clone();
    const state = new Map<StateKey, StateDoc>();
    const idempotency = new Map<string, IdempotencyRecord>();
    const leaves: LeafWrite[] = [];
    const erasures: string[] = [];
    const accepted: { p: Pending; result: { status: number; body: unknown; replayed: boolean } }[] = [];
    const store = this._store;
    const reader: StateReader = {
      get: (key) => this._read(key, state, (f) => f.state, () => store.state(key)),
    };

    let sinceYield = 0;
    for (const p of batch) {
      // Let I/O callbacks in every ~64 records (~50 ms of checking here), so the anchorer's steps and
      // proof reads never wait long behind a big batch; requests arriving meanwhile just queue.
      if (sinceYield >= YIELD_EVERY_RECORDS) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      sinceYield += p.commands.length;
      const s = p.submission;
      try {
        const earlier = await this._read(s.idempotencyKey, idempotency, (f) => f.idempotency, () => store.idempotency(s.idempotencyKey));
        if (earlier !== undefined) {
          if (earlier.requestHash === ERASED_REQUEST_HASH)
            throw new IdempotencyConflict("this Idempotency-Key recorded an entry whose private values were since erased; it cannot be replayed");
          if (earlier.requestHash !== s.requestHash)
            throw new IdempotencyConflict("this Idempotency-Key was already used with a different request");
          // Answered once this batch is durable: the earlier request may still be in flight.
          accepted.push({ p, result: { status: earlier.status, body: earlier.body, replayed: true } });
          continue;
        }
        // The request's own overlay, range and leaves: merged only if every record is accepted.
        const own = new Map<StateKey, StateDoc>();
        const ownReader: StateReader = { get: async (key) => own.get(key) ?? (await reader.get(key)) };
        const ownRange = p.commands.length === 1 ? range : range.clone();
        const ownLeaves: LeafWrite[] = [];
        const ownErasures: string[] = [];
        const bodies: AcceptedBody[] = [];
        const now = rfc3339(this._clock.now());
        for (let i = 0; i < p.commands.length; i++) {
          let applied;
          try {
            applied = await applyCommand(
              {
                state: ownReader,
                actor: s.actor,
                now,
                newId: (kind) => `${ID_PREFIX[kind]}_${toHex(this._random(12))}`,
                randomBytes: this._random,
              },
              p.commands[i]!,
            );
          } catch (e) {
            throw p.batch ? new BatchRecordRejected(i, e) : e;
          }
          const bytes = encodeEntry(applied.entry);
          const index = ownRange.size;
          const nodes = ownRange.append(hashLeaf(bytes));
          for (const [k, v] of applied.writes) own.set(k, v);
          if (applied.erases !== undefined) ownErasures.push(...applied.erases);
          bodies.push({ id: applied.entry.id, kind: applied.entry.kind, leafIndex: index, entry: applied.entry });
          ownLeaves.push({ index, id: applied.entry.id, bytes, recordedAt: now, nodes, indexes: applied.indexes, openings: applied.openings });
        }
        for (const [k, v] of own) state.set(k, v);
        range = ownRange;
        leaves.push(...ownLeaves);
        erasures.push(...ownErasures);
        const body = p.batch ? { results: bodies } : bodies[0]!;
        idempotency.set(s.idempotencyKey, { requestHash: s.requestHash, status: 201, body, createdAt: now });
        accepted.push({ p, result: { status: 201, body, replayed: false } });
      } catch (e) {
        p.reject(e);
      }
    }
    if (accepted.length === 0) return;

    const previous = this._lastCommit;
    const commit: CommitBatch = {
      head: { size: range.size, compact: range.hashes },
      leaves,
      state,
      idempotency,
      ...(erasures.length > 0 ? { erasures } : {}),
    };
    const done = (async (): Promise<boolean> => {
      const fail = (e: unknown) => {
        for (const { p } of accepted) p.reject(e);
        this._broken = true;
        return false;
      };
      if (!(await previous)) return fail(new StoreUnavailableError("an earlier batch this one depends on was not stored"));
      if (leaves.length > 0) {
        const started = performance.now();
        try {
          await store.commit(commit);
        } catch (e) {
          this._observe((o) => o.commitFailed());
          // The store may or may not hold the batch (a write can fail after it
          // reached the disk). Its head is the truth, reloaded before the next
          // batch: a client that retries with the same Idempotency-Key gets the
          // stored response if it was kept.
          fail(e);
          await this._reloadDurable();
          return false;
        }
        this._durable = range;
        const seconds = (performance.now() - started) / 1000;
        this._observe((o) => o.committed(leaves.length, seconds));
        try {
          this._onCommit(range.size);
        } catch {
          // A listener's failure must not strand the batch's clients.
        }
      }
      for (const { p, result } of accepted) p.resolve(result);
      return true;
    })();
    const entry: InFlight = { state, idempotency, done };
    this._inFlight.push(entry);
    this._tip = range;
    this._lastCommit = done;
    void done.then(() => this._inFlight.splice(this._inFlight.indexOf(entry), 1));
  }
}

/**
 * CSPRNG bytes served from a 4 KiB pool: each request needs an id and a
 * 32-byte salt per private field, and one getrandom call per pool refill is
 * much cheaper than one per value. Bytes are handed out once and never reused.
 */
function pooledRandomBytes(poolSize = 4096): (n: number) => Uint8Array {
  let pool = new Uint8Array(0);
  let offset = 0;
  return (n) => {
    if (n > poolSize) return new Uint8Array(nodeRandomBytes(n));
    if (offset + n > pool.length) {
      pool = new Uint8Array(nodeRandomBytes(poolSize));
      offset = 0;
    }
    const out = pool.slice(offset, offset + n);
    pool.fill(0, offset, offset + n);
    offset += n;
    return out;
  };
}

interface InFlight {
  readonly state: ReadonlyMap<StateKey, StateDoc>;
  readonly idempotency: ReadonlyMap<string, IdempotencyRecord>;
  readonly done: Promise<boolean>;
}
