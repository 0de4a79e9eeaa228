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
 *
 * Several replicas (a store with {@link SharedSequencing}, PostgreSQL): each
 * replica sequences optimistically, as above, and the store's commit checks,
 * under its sequence lock, that the head is still the one the batch was
 * built on. Head and state only ever change together, in one commit, so an
 * unmoved head proves every state and idempotency read the batch's rules
 * made was the state at that head: the outcome is what running the rules
 * under the lock would give, without holding the lock while checking and
 * with pipelining kept. When another replica moved the head the commit is
 * refused, storing nothing, and the batch and every batch built on it are
 * sequenced again (their clients see no error). Retried optimistically, a
 * busy replica's pipeline would keep winning and starve the other, so a
 * retry runs under the lock instead ({@link SharedSequencing.sequence}: rules
 * read inside the locked transaction), and so does every batch after it
 * while the head keeps moving under other replicas. With a shared store
 * every answer of a batch, refusals and replays included, waits for that
 * check, since any of them may rest on a head that was already stale.
 *
 * Turns (a store with {@link SequencingTurns}, PostgreSQL): a replica
 * sequences only while it holds the turn, pipelined as above, and hands it
 * over when another replica waits, once it has held it {@link LedgerOptions.turnMs}
 * and its batches in flight are in; idle, it hands it back. So replicas
 * take the log in turns of several batches instead of refusing each other's
 * batches, and a waiting replica's queue becomes one large batch. The head
 * check at commit still decides whether a batch is stored, turn or not.
 */
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { rfc3339, systemClock, type Clock } from "../clock";
import { ID_PREFIX } from "../format/entry";
import { CompactRange, encodeEntry, hashLeaf, toHex } from "../log";
import type { Actor, LedgerEntry } from "../records/entry";
import { applyCommand, type Command } from "../records/rules";
import type { EntryKind } from "../records/schemas";
import type { StateDoc, StateKey, StateReader } from "../records/state";
import {
  ERASED_REQUEST_HASH,
  isHeadMoved,
  StoreUnavailableError,
  type CommitBatch,
  type IdempotencyRecord,
  type IdempotencyStore,
  type LeafWrite,
  type LockedReads,
  type LogStore,
  type SharedSequencing,
  type StateStore,
  type TreeHead,
} from "../store/store";

/**
 * The store could not read or write; nothing was stored. The sequencer and
 * the read model pass it on as the store threw it, so callers above them
 * (the HTTP layer) know it from here without importing the store.
 */
export { StoreUnavailableError };

/**
 * The parts of the store the sequencer reads and writes: it commits the log, and reads state and idempotency records to check requests.
 * A store other processes commit to as well offers `sequence` (see the module comment).
 */
export type SequencerStore = LogStore & StateStore & IdempotencyStore & Partial<SharedSequencing> & Partial<SequencingTurns>;

/**
 * Turns between the replicas sharing a store (PostgreSQL: an advisory lock).
 * A replica sequences, pipelined, while it holds the turn, and hands it over
 * when others wait; so the replicas take the log in turns of many batches
 * instead of refusing each other's batch after batch. Turns only save work:
 * every commit is still checked against the head under the store's lock.
 */
export interface SequencingTurns {
  /** Waits for this process's turn; undefined when it could not be had (sequence without one). */
  turn(): Promise<SequencingTurn | undefined>;
}

export interface SequencingTurn {
  /** Whether another process waits for the turn. */
  othersWaiting(): Promise<boolean>;
  /** Gives the turn up; idempotent, never rejects. */
  release(): Promise<void>;
}

/**
 * A request was sequenced {@link MAX_ATTEMPTS} times and each time another
 * replica moved the head first; nothing of it was stored. A StoreUnavailableError: retry later.
 */
export class SequencingContendedError extends StoreUnavailableError {
  constructor(attempts: number) {
    super(`other replicas kept moving the log's head: the request was sequenced ${attempts} times without being stored; nothing was recorded, retry`);
  }
}

/** Most times one request is sequenced before it fails with {@link SequencingContendedError}. */
export const MAX_ATTEMPTS = 5;


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
  /** How many of its batches were refused because another replica moved the head first. */
  attempts: number;
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
   * Most records in one commit (a single larger request is still taken
   * whole). Default 256; with a shared store {@link SHARED_BATCH_RECORDS},
   * since there each commit costs round trips, a row lock held through the
   * flush and, with a synchronous standby, its confirmation, whatever its size.
   * Checking yields to the event loop every {@link YIELD_EVERY_RECORDS} records either way.
   */
  readonly maxBatchRecords?: number;
  /** Most batches checked ahead of the store: 1 disables pipelining (default 2). */
  readonly maxInFlight?: number;
  /**
   * Called after each durable commit with the new tree size; with a shared
   * store, also when the head is seen to have grown by another replica's commits.
   */
  readonly onCommit?: (size: number) => void;
  /** Hears of every commit's size and duration, for the operators' metrics; its faults never reach the sequencer. */
  readonly observer?: LedgerObserver;
  /** With a shared store: how often the head is read to follow other replicas' commits (default 250 ms). */
  readonly followMs?: number;
  /** With turns ({@link SequencingTurns}): how long a turn lasts at least before it is handed to a waiting replica (default 100 ms). */
  readonly turnMs?: number;
}

/** What the sequencer reports of its commits (service/metrics implements it; the ledger knows no metrics library). */
export interface LedgerObserver {
  /** A batch of `entries` entries became durable; the store's commit took `seconds`. */
  committed(entries: number, seconds: number): void;
  /** The store failed to commit a batch; its requests failed. */
  commitFailed(): void;
}

type Result = { status: number; body: unknown; replayed: boolean };
/** A request's answer, given once its batch is durable (or, for a refusal with a shared store, once its head is confirmed). */
type Outcome = { readonly p: Pending; readonly result: Result } | { readonly p: Pending; readonly error: unknown };
/** How a batch in flight ended: stored; failed (its requests were rejected); or refused for a moved head (its requests were queued again). */
type CommitOutcome = "stored" | "failed" | "moved";

interface Built {
  readonly range: CompactRange;
  readonly leaves: LeafWrite[];
  readonly state: Map<StateKey, StateDoc>;
  readonly idempotency: Map<string, IdempotencyRecord>;
  readonly erasures: string[];
  readonly outcomes: Outcome[];
}

/** Most records in one commit by default with a shared store (see {@link LedgerOptions.maxBatchRecords}). */
export const SHARED_BATCH_RECORDS = 1024;

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
  /** How the newest batch in flight ended (or "failed"/"moved" when one before it did). */
  private _lastCommit: Promise<CommitOutcome> = Promise.resolve("stored");
  /** Set when a commit failed: the tip is wrong until the in-flight batches drain and the head is reloaded. */
  private _broken = false;
  private _queue: Pending[] = [];
  /** Requests of batches refused for a moved head, in their order, to be sequenced again before the queue. */
  private readonly _retry: Pending[] = [];
  /** Whether other processes commit to the store too (it offers `sequence`). */
  private readonly _shared: boolean;
  /** Sequence the next batch under the store's lock: a head moved under us lately. */
  private _locked = false;
  /** The tree size right after this process's last commit (-1 before any). */
  private _ownEnd = -1;
  private _follow: NodeJS.Timeout | undefined;
  private _syncRunning: Promise<void> | undefined;
  private _syncQueued: Promise<void> | undefined;
  private _running = false;
  /** The turn this process holds, if any, and since when (see {@link SequencingTurns}). */
  private _turn: SequencingTurn | undefined;
  private _turnSince = 0;
  private readonly _turnMs: number;
  private _closed = false;
  private _halted: LedgerHaltedError | null = null;

  private constructor(opts: LedgerOptions, range: CompactRange) {
    this._store = opts.store;
    this._clock = opts.clock ?? systemClock;
    this._random = opts.randomBytes ?? pooledRandomBytes();
    this._maxBatch = opts.maxBatch ?? 256;
    this._maxBatchRecords = opts.maxBatchRecords ?? (typeof opts.store.sequence === "function" ? SHARED_BATCH_RECORDS : 256);
    if (!Number.isSafeInteger(this._maxBatchRecords) || this._maxBatchRecords < 1) throw new RangeError("maxBatchRecords must be a positive integer");
    this._maxInFlight = opts.maxInFlight ?? 2;
    if (!Number.isSafeInteger(this._maxBatch) || this._maxBatch < 1) throw new RangeError("maxBatch must be a positive integer");
    if (!Number.isSafeInteger(this._maxInFlight) || this._maxInFlight < 1) throw new RangeError("maxInFlight must be a positive integer");
    this._onCommit = opts.onCommit ?? (() => {});
    this._observer = opts.observer;
    this._durable = range;
    this._tip = range;
    this._shared = typeof this._store.sequence === "function";
    this._turnMs = opts.turnMs ?? 100;
    if (!(Number.isSafeInteger(this._turnMs) && this._turnMs >= 0)) throw new RangeError("turnMs must be a non-negative integer");
    if (this._shared) {
      const every = opts.followMs ?? 250;
      if (!(Number.isSafeInteger(every) && every >= 1)) throw new RangeError("followMs must be a positive integer");
      this._follow = setInterval(() => void this.sync(), every);
      this._follow.unref();
    }
  }

  static async open(opts: LedgerOptions): Promise<Ledger> {
    const head = await opts.store.head();
    return new Ledger(opts, new CompactRange(head.size, head.compact));
  }

  /**
   * Brings {@link size} and {@link root} up to the store's head, which other
   * replicas may have advanced; a no-op for a store only this process writes.
   * Reads everything committed before the call (a read already under way
   * may have missed some, so a caller joins only one that starts after it).
   * Never rejects: a failed read keeps the head known.
   */
  sync(): Promise<void> {
    if (!this._shared) return Promise.resolve();
    if (this._syncQueued !== undefined) return this._syncQueued;
    const start = (): Promise<void> => {
      const run = this._adoptStoreHead("sync").finally(() => {
        if (this._syncRunning === run) this._syncRunning = undefined;
      });
      this._syncRunning = run;
      return run;
    };
    if (this._syncRunning === undefined) return start();
    const queued = this._syncRunning.then(() => {
      this._syncQueued = undefined;
      return start();
    });
    this._syncQueued = queued;
    return queued;
  }

  /** Reads the store's head and takes it as the durable head if it is ahead; from the drain loop, between two batches. */
  private async _adoptStoreHead(from: "drain" | "sync"): Promise<void> {
    let head: TreeHead;
    try {
      head = await this._store.head();
    } catch {
      return;
    }
    this._adopt(head, from === "drain" || !this._running);
  }

  /**
   * Takes `head` (read from the store) as the durable head if it is ahead of
   * the one known. Heads only grow, and any head read after a commit
   * includes it. The tip moves too when nothing is in flight and no batch is
   * being built (`betweenBatches`), so the next batch builds on it instead of
   * meeting a moved head.
   */
  private _adopt(head: TreeHead, betweenBatches: boolean): void {
    if (head.size > this._durable.size) {
      this._durable = new CompactRange(head.size, head.compact);
      this._notify(head.size);
    }
    if (betweenBatches && this._inFlight.length === 0 && !this._broken && this._tip.size < this._durable.size) this._tip = this._durable;
  }

  private _notify(size: number): void {
    try {
      this._onCommit(size);
    } catch {
      // A listener's failure must not strand the batch's clients.
    }
  }

  /** The size of the durable tree (with a shared store, as of the last {@link sync}). */
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
    const queued = [...this._retry.splice(0), ...this._queue.splice(0)];
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
      this._queue.push({ attempts: 0, submission, commands, batch, resolve, reject });
      void this._drain();
    });
  }

  /** Waits for queued and in-flight work, then refuses new submissions. */
  async close(): Promise<void> {
    this._closed = true;
    clearInterval(this._follow);
    for (;;) {
      while (this._running || this._queue.length > 0 || this._retry.length > 0) await new Promise((r) => setTimeout(r, 5));
      await this._lastCommit;
      // A batch refused for a moved head queues its requests again.
      if (!this._running && this._queue.length === 0 && this._retry.length === 0) break;
    }
    await this._syncRunning;
    await this._syncQueued;
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

  private get _waiting(): boolean {
    return this._queue.length > 0 || this._retry.length > 0;
  }

  private async _drain(): Promise<void> {
    if (this._running) return;
    this._running = true;
    try {
      for (;;) {
        await this._drainQueue();
        if (this._turn === undefined) break;
        // Idle: the turn is handed back once this process's commits are in, unless work arrived meanwhile.
        await this._settle();
        if (this._waiting) continue;
        await this._releaseTurn();
        if (!this._waiting) break;
      }
    } finally {
      this._running = false;
    }
  }

  /** Waits until no batch is in flight. */
  private async _settle(): Promise<void> {
    while (this._inFlight.length > 0) await this._inFlight[0]!.done;
    await this._lastCommit;
  }

  private async _releaseTurn(): Promise<void> {
    const turn = this._turn;
    this._turn = undefined;
    await turn?.release().catch(() => {});
  }

  /**
   * With turns: takes the turn before sequencing, and hands it over once it
   * has lasted {@link LedgerOptions.turnMs} and another replica waits, after
   * this process's batches in flight are in (so the next holder builds on a
   * head that will not move under it).
   */
  private async _takeTurn(): Promise<void> {
    const store = this._store;
    if (!this._shared || store.turn === undefined) return;
    if (this._turn !== undefined) {
      if (performance.now() - this._turnSince < this._turnMs) return;
      if (!(await this._turn.othersWaiting())) {
        this._turnSince = performance.now();
        return;
      }
      await this._settle();
      await this._releaseTurn();
    }
    this._turn = await store.turn().catch(() => undefined);
    this._turnSince = performance.now();
    if (this._turn === undefined) return;
    // Others wrote while we waited for the turn, and none will until we hand it back: build on their head
    // (read before the next batch, nothing being in flight), optimistically.
    this._locked = false;
  }

  private async _drainQueue(): Promise<void> {
    while (this._waiting) {
      while (this._inFlight.length >= this._maxInFlight) await this._inFlight[0]!.done;
      // Only with turns: an await here would let every request of this tick join the first batch.
      if (this._store.turn !== undefined && this._shared) await this._takeTurn();
      if (this._broken) {
        // Every batch built on the failed one fails with it; wait for them,
        // then start again from what the store really holds.
        await this._lastCommit;
        await this._reloadHead();
        this._lastCommit = Promise.resolve("stored");
        this._broken = false;
      }
      if (this._retry.length > 0) this._queue.unshift(...this._retry.splice(0));
      if (this._halted !== null) {
        for (const p of this._queue.splice(0)) p.reject(this._halted);
        continue;
      }
      let take = 0;
      let records = 0;
      while (take < this._queue.length && take < this._maxBatch) {
        const n = this._queue[take]!.commands.length;
        if (take > 0 && records + n > this._maxBatchRecords) break;
        take += 1;
        records += n;
      }
      const batch = this._queue.splice(0, take);
      if (this._locked && this._store.sequence !== undefined) {
        // Under the lock nothing may be in flight: the batch is built on the head the lock holds.
        const last = await this._lastCommit;
        if (last !== "stored" || this._broken) {
          // A batch before it was refused; its requests, queued again, come first.
          this._retry.push(...batch);
          continue;
        }
        await this._processLocked(batch, this._store.sequence.bind(this._store));
      } else {
        // Nothing in flight: build on the store's head, not on one another replica has already moved.
        if (this._shared && this._inFlight.length === 0 && !this._broken) await this._adoptStoreHead("drain");
        await this._process(batch);
      }
      // Let I/O callbacks run (HTTP reads, the anchorer's RPC answers) before checking the next batch:
      // awaiting the store's promises alone only runs microtasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Takes the durable head from the store, which is the truth after a failed commit. */
  private async _reloadDurable(): Promise<void> {
    try {
      const head = await this._store.head();
      if (head.size < this._durable.size) return; // read before a commit of ours that has since been seen
      if (head.size > this._durable.size) this._notify(head.size);
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

  /** State and idempotency records as they will be once every batch in flight is durable. */
  private _belowInFlight(): LockedReads {
    const store = this._store;
    const overlay = <K extends string, T>(key: K, pick: (f: InFlight) => ReadonlyMap<K, T>): T | undefined => {
      for (let i = this._inFlight.length - 1; i >= 0; i--) {
        const v = pick(this._inFlight[i]!).get(key);
        if (v !== undefined) return v;
      }
      return undefined;
    };
    return {
      state: async (key) => overlay(key, (f) => f.state) ?? store.state(key),
      idempotency: async (key) => overlay(key, (f) => f.idempotency) ?? store.idempotency(key),
    };
  }

  /**
   * Checks `batch` in order on `base`, each request seeing the ones before
   * it, with `below` for everything the batch itself has not written.
   * Without a shared store a refused request is answered at once (this
   * process is the only writer, so its reads are the truth); with one, its
   * answer is an outcome like the rest.
   */
  private async _build(batch: readonly Pending[], base: CompactRange, below: LockedReads): Promise<Built> {
    let range = base.clone();
    const state = new Map<StateKey, StateDoc>();
    const idempotency = new Map<string, IdempotencyRecord>();
    const leaves: LeafWrite[] = [];
    const erasures: string[] = [];
    const outcomes: Outcome[] = [];
    // Each key is read from `below` at most once a batch, absent keys included: the rules of every request
    // look up the same programme and agencies, and with PostgreSQL each read is a round trip. Reads of one
    // batch may all be taken together: optimistically they are all vouched for by the same head check at
    // commit, and under the lock they are all made in the one transaction.
    const fetched = new Map<StateKey, Promise<StateDoc | undefined>>();
    const fromBelow = (key: StateKey): Promise<StateDoc | undefined> => {
      let doc = fetched.get(key);
      if (doc === undefined) {
        doc = below.state(key);
        fetched.set(key, doc);
        // A failed read is not remembered: the next request of the batch asks again.
        doc.catch(() => fetched.delete(key));
      }
      return doc;
    };
    const reader: StateReader = { get: async (key) => state.get(key) ?? (await fromBelow(key)) };

    let sinceYield = 0;
    for (const p of batch) {
      // Let I/O callbacks in every YIELD_EVERY_RECORDS records, so the anchorer's steps and proof
      // reads never wait long behind a big batch; requests arriving meanwhile just queue.
      if (sinceYield >= YIELD_EVERY_RECORDS) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      sinceYield += p.commands.length;
      const s = p.submission;
      try {
        const earlier = idempotency.get(s.idempotencyKey) ?? (await below.idempotency(s.idempotencyKey));
        if (earlier !== undefined) {
          if (earlier.requestHash === ERASED_REQUEST_HASH)
            throw new IdempotencyConflict("this Idempotency-Key recorded an entry whose private values were since erased; it cannot be replayed");
          if (earlier.requestHash !== s.requestHash)
            throw new IdempotencyConflict("this Idempotency-Key was already used with a different request");
          // Answered once this batch is durable: the earlier request may still be in flight.
          outcomes.push({ p, result: { status: earlier.status, body: earlier.body, replayed: true } });
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
        outcomes.push({ p, result: { status: 201, body, replayed: false } });
      } catch (e) {
        if (this._shared) outcomes.push({ p, error: e });
        else p.reject(e);
      }
    }
    return { range, leaves, state, idempotency, erasures, outcomes };
  }

  private static _commitOf(b: Built): CommitBatch {
    return {
      head: { size: b.range.size, compact: b.range.hashes },
      leaves: b.leaves,
      state: b.state,
      idempotency: b.idempotency,
      ...(b.erasures.length > 0 ? { erasures: b.erasures } : {}),
    };
  }

  private static _answer(outcomes: readonly Outcome[]): void {
    for (const o of outcomes) {
      if ("result" in o) o.p.resolve(o.result);
      else o.p.reject(o.error);
    }
  }

  /** Takes a durable range this process committed as the durable head (unless a later head was already seen). */
  private _committed(range: CompactRange): void {
    this._ownEnd = range.size;
    if (range.size <= this._durable.size) return;
    this._durable = range;
    this._notify(range.size);
  }

  /**
   * Queues a batch refused for a moved head to be sequenced again, under the
   * lock, before anything newer; a request refused {@link MAX_ATTEMPTS} times fails.
   * No backoff is needed: under the lock a retry waits its turn behind other
   * replicas' commits instead of racing them.
   */
  private _requeue(batch: readonly Pending[]): "moved" {
    this._broken = true;
    this._locked = true;
    for (const p of batch) {
      p.attempts += 1;
      if (p.attempts >= MAX_ATTEMPTS) p.reject(new SequencingContendedError(p.attempts));
      else this._retry.push(p);
    }
    queueMicrotask(() => void this._drain());
    return "moved";
  }

  /** Sequences `batch` on the tip, optimistically, and commits it once the batch before it is durable. */
  private async _process(batch: Pending[]): Promise<void> {
    const built = await this._build(batch, this._tip, this._belowInFlight());
    if (built.outcomes.length === 0) return;
    const { range, leaves, state, idempotency, outcomes } = built;
    const store = this._store;
    const previous = this._lastCommit;
    const commit = Ledger._commitOf(built);
    const done = (async (): Promise<CommitOutcome> => {
      const fail = (e: unknown): "failed" => {
        for (const { p } of outcomes) p.reject(e);
        this._broken = true;
        return "failed";
      };
      const before = await previous;
      // Built on a batch that was never stored: sequence it again on the real head.
      if (before === "moved") return this._requeue(batch);
      if (before === "failed") return fail(new StoreUnavailableError("an earlier batch this one depends on was not stored"));
      if (leaves.length > 0) {
        const started = performance.now();
        try {
          await store.commit(commit);
        } catch (e) {
          if (isHeadMoved(e)) return this._requeue(batch);
          this._observe((o) => o.commitFailed());
          // The store may or may not hold the batch (a write can fail after it
          // reached the disk). Its head is the truth, reloaded before the next
          // batch: a client that retries with the same Idempotency-Key gets the
          // stored response if it was kept.
          fail(e);
          await this._reloadDurable();
          return "failed";
        }
        this._committed(range);
        const seconds = (performance.now() - started) / 1000;
        this._observe((o) => o.committed(leaves.length, seconds));
      } else if (this._shared) {
        // Refusals and replays only: they stand if no other replica wrote since the head they were checked on.
        let head: TreeHead;
        try {
          head = await store.head();
        } catch (e) {
          return fail(e);
        }
        if (head.size !== range.size) return this._requeue(batch);
      }
      Ledger._answer(outcomes);
      return "stored";
    })();
    const entry: InFlight = { state, idempotency, done };
    this._inFlight.push(entry);
    this._tip = range;
    this._lastCommit = done;
    void done.then(() => this._inFlight.splice(this._inFlight.indexOf(entry), 1));
  }

  /**
   * Sequences `batch` inside the store's locked transaction: its rules read
   * the state in that transaction, so no other replica can move the head
   * under it. Stays in this mode while the locked head shows other replicas
   * wrote since this process's last commit: while they keep writing, an
   * optimistic batch would only be refused and built again.
   */
  private async _processLocked(batch: Pending[], sequence: SharedSequencing["sequence"]): Promise<void> {
    const ownEnd = this._ownEnd;
    let built: Built | undefined;
    let locked: TreeHead | undefined;
    const started = performance.now();
    try {
      await sequence(async (head, reads) => {
        locked = head;
        built = undefined; // a build that failed half-way must not be answered
        const b = await this._build(batch, new CompactRange(head.size, head.compact), reads);
        built = b;
        return b.leaves.length > 0 ? Ledger._commitOf(b) : undefined;
      });
    } catch (e) {
      // Nothing (or, for a connection lost during COMMIT, possibly everything) was stored; the head says which.
      for (const p of batch) p.reject(e);
      this._observe((o) => o.commitFailed());
      await this._reloadHead();
      return;
    }
    if (locked !== undefined) this._adopt(locked, false);
    if (built === undefined) return;
    if (built.leaves.length > 0) {
      this._committed(built.range);
      const { length } = built.leaves;
      const seconds = (performance.now() - started) / 1000;
      this._observe((o) => o.committed(length, seconds));
    }
    this._tip = this._durable;
    this._locked = locked !== undefined && locked.size !== ownEnd;
    Ledger._answer(built.outcomes);
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
  readonly done: Promise<CommitOutcome>;
}
