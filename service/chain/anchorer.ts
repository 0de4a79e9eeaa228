/**
 * The anchorer: keeps the LedgerAnchor contract caught up with the log.
 *
 * It is three parts. This file holds the loop: cadence, status, waiters, and
 * what happens on an error. It composes
 * - the sender (./anchor-sender.ts): builds, signs, durably records and
 *   broadcasts anchor transactions, up to `maxInFlight` at a time with
 *   consecutive nonces, and drives each to a confirmed receipt, oldest first,
 *   replacing it when it is not mined in time;
 * - the reconciler (./anchor-reconciler.ts): at start and after every error,
 *   settles the record against the chain and the log (resend, drop, adopt),
 *   and finds the fatal SPLIT and CHAIN_AHEAD conditions.
 *
 * Cadence (./cadence.ts). A new checkpoint is sent when `everyEntries`
 * entries are not covered by any checkpoint sent (anchored or in flight), or
 * when the oldest such entry has waited `everyMs`, and only while fewer than
 * `maxInFlight` are in flight. So under heavy load checkpoints hold
 * `everyEntries` entries and are sent without waiting for the previous one
 * to be mined; under light load they grow for `everyMs`, which amortises an
 * anchor's fixed gas and bounds an entry's wait before it is sent. With a
 * block period P an entry is anchored within about everyMs + P (light load)
 * or everyEntries / rate + P (heavy load), plus the receipt poll interval.
 * Each checkpoint is the log's current (size, root): the consistency proof
 * comes from the store via ledger/proofs.ts (none for the first checkpoint),
 * and a C2SP checkpoint signed with the log's note key goes with it into the
 * state.
 *
 * Fatal. A split view or a chain ahead of the log stops anchoring for good:
 * `status().fatal` is set, `healthy()` is false, waiters are rejected, and
 * `onFatal` is told, so the service can stop recording rather than grow a log
 * the chain has not seen.
 *
 * What is cited. `anchored` (for receipts and /v1/chain) is only ever a
 * checkpoint read from the chain in this run: null until the first recovery
 * has compared the record with the chain, and re-checked against the chain's
 * latest checkpoint while idle, so a chain that lost blocks is noticed even
 * when the log does not grow.
 *
 * Failures are visible as they happen: every failed RPC attempt, including
 * the retries inside one call, sets `status().lastError` and is logged at most
 * once per `failureLogEveryMs` (with a count of the attempts not logged).
 *
 * The ledger is never blocked: the anchorer only reads it (size, root, store
 * nodes), from its own loop, and keeps retrying with backoff while the chain
 * is away.
 */
import type { Logger } from "pino";
import type { NoteSigner } from "../log";
import type { LedgerStore } from "../store/store";
import { systemClock, type Clock } from "../clock";
import { AnchorerError, AnchorRecord, iso, type AnchorContext, type AnchorerErrorCode } from "./anchor-context";
import { AnchorReconciler } from "./anchor-reconciler";
import { AnchorSender, type AnchorerFailpoint } from "./anchor-sender";
import { AnchorCadence, DEFAULT_EVERY_ENTRIES, DEFAULT_EVERY_MS } from "./cadence";
import { backoffDelay, ChainError, type ChainClient, type TxSigner } from "./client";
import { ANCHOR_DEFAULTS } from "./config";
import { inFlight, type AnchoredCheckpoint, type AnchorStateStore, type PendingAnchor } from "./state";

export { AnchorerError, type AnchorerErrorCode } from "./anchor-context";
export { ANCHORER_FAILPOINTS, type AnchorerFailpoint } from "./anchor-sender";

// ---------------------------------------------------------------------------
// Options and results

export interface AnchorerOptions {
  /** The log's durable head. Only `size` and `root()` are read. */
  readonly ledger: { readonly size: number; root(): Uint8Array };
  /** The ledger's store, for consistency proofs and past roots. */
  readonly store: LedgerStore;
  readonly chain: ChainClient;
  /** The recorder account's key; must hold RECORDER_ROLE. */
  readonly recorder: TxSigner;
  readonly stateStore: AnchorStateStore;
  /** The log's checkpoint signing key and origin line. */
  readonly noteSigner: NoteSigner;
  readonly origin: string;
  readonly logger: Logger;
  /** RFC 3339 time leaf `index` was recorded, for the lag report; undefined if unknown. */
  readonly recordedAtOf: (index: number) => Promise<string | undefined>;
  /** Send a checkpoint once this many entries are not covered by one sent. Default 1000 (cadence.ts). */
  readonly everyEntries?: number;
  /** Send a checkpoint once the oldest entry not covered by one sent has waited this long. Default 5000 ms (cadence.ts). */
  readonly everyMs?: number;
  /** Most anchor transactions in flight at once (consecutive nonces). Default 8 (ANCHOR_DEFAULTS, config.ts). */
  readonly maxInFlight?: number;
  /** Blocks (the including one counted) before a checkpoint counts as anchored. Default 1 (ANCHOR_DEFAULTS, config.ts): QBFT and IBFT are final at once. */
  readonly confirmations?: number;
  /** How often to poll for a receipt. Default 250 ms (ANCHOR_DEFAULTS, config.ts). */
  readonly pollMs?: number;
  /** Replace (or rebroadcast) a transaction not mined within this long. Default 60 000 ms (ANCHOR_DEFAULTS, config.ts). */
  readonly replaceAfterMs?: number;
  /** Gas price bump for a replacement, in basis points; at least 1250 (12.5 %, above geth's and Besu's 10 %). Default 1250. */
  readonly bumpBasisPoints?: number;
  /** Never pay more than this (wei); at the cap a stuck transaction is rebroadcast, not replaced. */
  readonly maxGasPrice?: bigint;
  /** Price to bump a zero-price transaction to; null (default) rebroadcasts it instead. See anchor-sender.ts. */
  readonly zeroGasPriceBump?: bigint | null;
  /** Gas limit = estimate × (100 + this) / 100. Default 25. */
  readonly gasHeadroomPercent?: number;
  /** Backoff after a failed round: starts here, doubles, capped at `retryMaxMs`, with jitter. Defaults 500 and 30 000 ms. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** First block to search for CheckpointAnchored logs (the deployment block). Default 0. */
  readonly fromBlock?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Called at each {@link ANCHORER_FAILPOINTS} point; for crash tests only (see service/chain/failpoints.ts). Absent: nothing happens. */
  readonly failpoint?: (name: AnchorerFailpoint) => void;
  /** Called once when anchoring stops for good (SPLIT or CHAIN_AHEAD). */
  readonly onFatal?: (error: AnchorerError) => void;
  /** While idle, re-read the chain's latest checkpoint this often to notice lost blocks or a split view. Default 10 000 ms. */
  readonly verifyEveryMs?: number;
  /** Log failed RPC attempts at most this often (each one still sets lastError). Default 10 000 ms. */
  readonly failureLogEveryMs?: number;
}

export interface AnchorStatus {
  readonly anchoredSize: number;
  /** Size of the newest checkpoint in flight, or null. */
  readonly pendingSize: number | null;
  /** How many anchor transactions are in flight. */
  readonly inFlight: number;
  /** Entries in the log that no anchored checkpoint covers yet. */
  readonly lagEntries: number;
  /** RFC 3339 time the oldest unanchored entry was recorded; null when nothing is unanchored. */
  readonly oldestUnanchoredAt: string | null;
  /** The last error since the last successful anchor, or null. */
  readonly lastError: { readonly message: string; readonly at: string } | null;
  /** Why anchoring stopped for good (a split view), or null. */
  readonly fatal: string | null;
  readonly anchored: AnchoredCheckpoint | null;
  /** The oldest anchor in flight, or null. */
  readonly pending: PendingAnchor | null;
}

const FATAL: ReadonlySet<AnchorerErrorCode> = new Set(["SPLIT", "CHAIN_AHEAD"]);
const MIN_BUMP_BASIS_POINTS = 1250;

interface Waiter {
  readonly size: number;
  readonly resolve: (a: AnchoredCheckpoint) => void;
  readonly reject: (e: Error) => void;
}

// ---------------------------------------------------------------------------

export class Anchorer {
  private readonly _o: AnchorerOptions;
  private readonly _log: Logger;
  private readonly _clock: Clock;
  private readonly _random: () => number;
  private readonly _cadence: AnchorCadence;
  private readonly _maxInFlight: number;
  private readonly _verifyEveryMs: number;
  private readonly _failureLogEveryMs: number;
  /** What this run has checked against the chain (or made from it); empty until the first recovery. */
  private readonly _record: AnchorRecord;
  private readonly _sender: AnchorSender;
  private readonly _reconciler: AnchorReconciler;

  private _needsRecovery = true;
  /** Whether the cadence has been told how long the entries found at start have waited. */
  private _resumed = false;
  private _lastFailureLogAt = -Infinity;
  private _unloggedFailures = 0;
  private _unsubscribeRetries: (() => void) | undefined;
  private _firstRecovery: { promise: Promise<void>; resolve: () => void };
  private _failures = 0;
  private _lastError: { message: string; at: string } | null = null;
  private _fatal: AnchorerError | null = null;
  private _loop: Promise<void> | undefined;
  private _stop = new AbortController();
  private _wake: AbortController | undefined;
  private _notified = false;
  private _pollWake: AbortController | undefined;
  private readonly _waiters: Waiter[] = [];

  constructor(options: AnchorerOptions) {
    this._o = options;
    this._log = options.logger.child({ component: "anchorer" });
    this._clock = options.clock ?? systemClock;
    this._random = options.random ?? Math.random;
    const everyEntries = positiveInt(options.everyEntries ?? DEFAULT_EVERY_ENTRIES, "everyEntries");
    this._cadence = new AnchorCadence(everyEntries, nonNegative(options.everyMs ?? DEFAULT_EVERY_MS, "everyMs"), () => this._clock.now());
    this._maxInFlight = positiveInt(options.maxInFlight ?? ANCHOR_DEFAULTS.maxInFlight, "maxInFlight");
    const confirmations = positiveInt(options.confirmations ?? ANCHOR_DEFAULTS.confirmations, "confirmations");
    const pollMs = nonNegative(options.pollMs ?? ANCHOR_DEFAULTS.pollMs, "pollMs");
    const replaceAfterMs = nonNegative(options.replaceAfterMs ?? ANCHOR_DEFAULTS.replaceAfterMs, "replaceAfterMs");
    const bump = options.bumpBasisPoints ?? MIN_BUMP_BASIS_POINTS;
    if (!Number.isSafeInteger(bump) || bump < MIN_BUMP_BASIS_POINTS) throw new RangeError(`bumpBasisPoints must be an integer ≥ ${MIN_BUMP_BASIS_POINTS}`);
    const headroom = 100n + BigInt(nonNegativeInt(options.gasHeadroomPercent ?? 25, "gasHeadroomPercent"));
    this._verifyEveryMs = nonNegative(options.verifyEveryMs ?? 10_000, "verifyEveryMs");
    this._failureLogEveryMs = nonNegative(options.failureLogEveryMs ?? 10_000, "failureLogEveryMs");
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this._firstRecovery = { promise, resolve };

    this._record = new AnchorRecord(options.stateStore, { chainId: options.chain.chainId, address: options.chain.address });
    const context: AnchorContext = {
      ledger: options.ledger,
      store: options.store,
      chain: options.chain,
      recorder: options.recorder,
      noteSigner: options.noteSigner,
      origin: options.origin,
      record: this._record,
      clock: this._clock,
      log: this._log,
      stopSignal: this._stop.signal,
      reportFailure: (message, fields, always) => this._reportFailure(message, fields, always),
      setLastError: (message) => {
        this._lastError = { message, at: iso(this._clock.now()) };
      },
      anchoredNow: (anchored, ours) => {
        if (ours) this._lastError = null;
        this._resolveWaiters(anchored);
      },
    };
    this._sender = new AnchorSender(context, {
      confirmations,
      pollMs,
      replaceAfterMs,
      bumpBasisPoints: BigInt(bump),
      headroom,
      maxGasPrice: options.maxGasPrice,
      zeroGasPriceBump: options.zeroGasPriceBump,
      failpoint: options.failpoint,
    });
    this._reconciler = new AnchorReconciler(context, this._sender, options.fromBlock ?? 0);
  }

  // -- lifecycle -------------------------------------------------------------

  /** Starts the background loop (once). Returns at once; the chain may be unreachable. */
  start(): void {
    if (this._loop !== undefined) return;
    this._unsubscribeRetries = this._o.chain.onRetry((method, e) => this._reportFailure(`${method}: ${e.message} (retrying)`, { code: e.code, method }));
    this._loop = this._run();
  }

  /**
   * Resolves once the first recovery has compared the record with the chain,
   * or failed to (the chain unreachable); never rejects. Until then `anchored`
   * is null and a fatal split view is not yet known.
   */
  firstRecovery(): Promise<void> {
    return this._firstRecovery.promise;
  }

  /** Makes the loop compare its record with the chain again before its next step (the chain was restarted, say). */
  recheck(): void {
    this._needsRecovery = true;
    this._wake?.abort();
  }

  /** Stops the loop and waits for it to finish its current step. Pending waiters are rejected. */
  async stop(): Promise<void> {
    this._stop.abort();
    await this._loop;
    this._unsubscribeRetries?.();
    this._firstRecovery.resolve();
    this._rejectWaiters(new AnchorerError("STOPPED", "the anchorer was stopped"));
  }

  /** Tells the anchorer the log grew (wire it to the Ledger's onCommit). Cheap and synchronous. */
  notify(): void {
    this._notified = true;
    this._cadence.grew();
    // While a receipt is awaited, wake only when a new checkpoint can be sent; else the poll goes on.
    if (this._pollWake === undefined || this._canSend()) (this._wake ?? this._pollWake)?.abort();
  }

  /** The last anchored checkpoint as recorded durably, or null. */
  get anchored(): AnchoredCheckpoint | null {
    return this._record.state.anchored;
  }

  /** Resolves once a checkpoint of at least `size` entries is anchored; rejects if anchoring stops first. */
  whenAnchored(size: number): Promise<AnchoredCheckpoint> {
    const a = this._record.state.anchored;
    if (a !== null && a.size >= size) return Promise.resolve(a);
    if (this._fatal !== null) return Promise.reject(this._fatal);
    if (this._stop.signal.aborted) return Promise.reject(new AnchorerError("STOPPED", "the anchorer was stopped"));
    return new Promise((resolve, reject) => this._waiters.push({ size, resolve, reject }));
  }

  async status(): Promise<AnchorStatus> {
    const { anchored, pending } = this._record.state;
    const flight = inFlight(this._record.state);
    const anchoredSize = anchored?.size ?? 0;
    const size = this._o.ledger.size;
    const lag = Math.max(0, size - anchoredSize);
    let oldest: string | null = null;
    if (lag > 0) {
      try {
        oldest = (await this._o.recordedAtOf(anchoredSize)) ?? null;
      } catch {
        oldest = null;
      }
    }
    return {
      anchoredSize,
      pendingSize: flight[flight.length - 1]?.size ?? null,
      inFlight: flight.length,
      lagEntries: lag,
      oldestUnanchoredAt: oldest,
      lastError: this._lastError,
      fatal: this._fatal?.message ?? null,
      anchored,
      pending,
    };
  }

  /**
   * Healthy unless anchoring stopped for good, or the oldest unanchored entry
   * was recorded more than `maxDelayMs` ago (by the anchorer's clock). When its
   * time is unknown, healthy only if no error is outstanding.
   */
  async healthy(maxDelayMs: number): Promise<boolean> {
    if (this._fatal !== null) return false;
    const s = await this.status();
    if (s.lagEntries === 0) return true;
    if (s.oldestUnanchoredAt === null) return s.lastError === null;
    return this._clock.now() - Date.parse(s.oldestUnanchoredAt) <= maxDelayMs;
  }

  // -- the loop --------------------------------------------------------------

  private get _stopped(): boolean {
    return this._stop.signal.aborted;
  }

  private async _run(): Promise<void> {
    while (!this._stopped) {
      try {
        if (this._needsRecovery) {
          this._needsRecovery = false;
          try {
            await this._reconciler.reconcile();
            // A record that was already up to date satisfies waiters too.
            this._resolveWaiters(this._record.state.anchored);
            if (!this._resumed) await this._resumeWaiting();
          } finally {
            this._firstRecovery.resolve();
          }
        }
        if (this._stopped) break;
        const idle = await this._step();
        this._failures = 0;
        if (idle) await this._idle();
      } catch (e) {
        if (this._stopped) break;
        if (e instanceof AnchorerError && FATAL.has(e.code)) {
          this._stopFatally(e);
          return;
        }
        this._failures += 1;
        this._needsRecovery = true;
        const message = e instanceof Error ? e.message : String(e);
        const delay = backoffDelay(this._failures, { baseDelayMs: this._o.retryBaseMs ?? 500, maxDelayMs: this._o.retryMaxMs ?? 30_000 }, this._random);
        const code = e instanceof AnchorerError || e instanceof ChainError ? e.code : undefined;
        const fields = { code, failures: this._failures, retryInMs: delay };
        if (e instanceof AnchorerError || e instanceof ChainError) this._reportFailure(`anchoring failed, will retry: ${message}`, fields, true);
        else {
          this._lastError = { message, at: iso(this._clock.now()) };
          this._log.error({ ...fields, err: e }, `anchoring failed unexpectedly, will retry: ${message}`);
        }
        await this._clock.sleep(delay, this._stop.signal);
      }
    }
  }

  private _stopFatally(e: AnchorerError): void {
    this._fatal = e;
    this._lastError = { message: e.message, at: iso(this._clock.now()) };
    this._log.fatal({ code: e.code }, `ANCHORING STOPPED: ${e.message}`);
    this._rejectWaiters(e);
    try {
      this._o.onFatal?.(e);
    } catch (hookError) {
      this._log.error({ err: hookError }, "the onFatal hook failed");
    }
  }

  /**
   * Records a failure in lastError and logs it, at most once per
   * `failureLogEveryMs` unless `always`; the next line counts the failures not logged.
   */
  private _reportFailure(message: string, fields: Record<string, unknown>, always = false): void {
    const now = this._clock.now();
    this._lastError = { message, at: iso(now) };
    if (!always && now - this._lastFailureLogAt < this._failureLogEveryMs) {
      this._unloggedFailures += 1;
      return;
    }
    const unlogged = this._unloggedFailures;
    this._unloggedFailures = 0;
    this._lastFailureLogAt = now;
    this._log.warn(unlogged > 0 ? { ...fields, notLoggedSinceLastLine: unlogged } : fields, message);
  }

  /**
   * One unit of work. Returns true when there was nothing to do. With anchors
   * in flight, the oldest is checked first (a mined one is recorded at once,
   * so a busy log does not hold back its confirmation), then a due checkpoint
   * is sent; the check waits a poll interval only when nothing can be sent.
   */
  private async _step(): Promise<boolean> {
    const oldest = this._record.state.pending;
    if (oldest !== null) {
      this._pollWake = new AbortController();
      try {
        // A full pipeline waits for the receipt; otherwise the poll ends when the next checkpoint falls due.
        const full = inFlight(this._record.state).length >= this._maxInFlight;
        await this._sender.drive(oldest, { signal: this._pollWake.signal, maxPauseMs: full ? Infinity : this._untilDueMs() });
      } finally {
        this._pollWake = undefined;
      }
    }
    if (this._canSend()) {
      const sentFrom = this._clock.now();
      await this._sender.send();
      this._cadence.sent(sentFrom, this._o.ledger.size, this._sentSize());
      return false;
    }
    if (oldest !== null) return false;
    if (this._clock.now() - this._reconciler.lastVerifiedAt >= this._verifyEveryMs) await this._reconciler.verifyHeld();
    return true;
  }

  /**
   * Once, after the first successful recovery: entries this run found unsent
   * (a predecessor's, after a takeover or a restart) have waited since the
   * oldest of them was recorded; see AnchorCadence.waitingSince.
   */
  private async _resumeWaiting(): Promise<void> {
    this._resumed = true;
    const sent = this._sentSize();
    if (this._o.ledger.size <= sent) return;
    const at = await this._o.recordedAtOf(sent).catch(() => undefined);
    const since = at === undefined ? NaN : Date.parse(at);
    if (Number.isFinite(since)) this._cadence.waitingSince(since);
  }

  /** Size covered by the checkpoints sent: the newest in flight, else the anchored one. */
  private _sentSize(): number {
    const flight = inFlight(this._record.state);
    return flight[flight.length - 1]?.size ?? this._record.state.anchored?.size ?? 0;
  }

  /** Whether a new checkpoint is due by the cadence rule (see the module comment) and may be sent now. */
  private _canSend(): boolean {
    return inFlight(this._record.state).length < this._maxInFlight && this._untilDueMs() === 0;
  }

  /** Milliseconds until the cadence makes a checkpoint due: 0 when due, Infinity when nothing is uncovered. */
  private _untilDueMs(): number {
    return this._cadence.untilDueMs(this._o.ledger.size, this._sentSize());
  }

  /** Waits until the cadence may make an anchor due, or the log grows, or stop. */
  private async _idle(): Promise<void> {
    if (this._notified) {
      this._notified = false;
      if (this._canSend()) return;
    }
    const until = this._untilDueMs();
    const wait = until === Infinity ? Math.max(this._cadence.everyMs, 1) : until;
    this._wake = new AbortController();
    try {
      await this._clock.sleep(wait, AbortSignal.any([this._wake.signal, this._stop.signal]));
    } finally {
      this._wake = undefined;
      this._notified = false;
    }
  }

  private _resolveWaiters(anchored: AnchoredCheckpoint | null): void {
    if (anchored === null) return;
    for (let i = this._waiters.length - 1; i >= 0; i--) {
      const w = this._waiters[i]!;
      if (anchored.size >= w.size) {
        this._waiters.splice(i, 1);
        w.resolve(anchored);
      }
    }
  }

  private _rejectWaiters(e: Error): void {
    for (const w of this._waiters.splice(0)) w.reject(e);
  }
}

function positiveInt(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${what} must be a positive integer`);
  return n;
}

function nonNegativeInt(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer`);
  return n;
}

function nonNegative(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`${what} must be a non-negative number`);
  return n;
}
