/**
 * The anchorer: keeps the LedgerAnchor contract caught up with the log.
 *
 * Cadence. Whenever the log has grown past the last anchored size by
 * `everyEntries` entries, or has grown at all and `everyMs` have passed since
 * the last anchor (or since start), it anchors the log's current (size, root):
 * the consistency proof comes from the store via ledger/proofs.ts (none for
 * the first checkpoint), and a C2SP checkpoint signed with the log's note key
 * goes with it into the state.
 *
 * One transaction in flight. The recorder key has at most one anchor
 * transaction outstanding; its nonce is kept locally, initialised from the
 * chain's pending nonce. Every step is written down before it is taken:
 *
 *   1. the pending checkpoint AND the signed transaction's hash are saved
 *      durably (the hash of a signed transaction is known before it is sent);
 *   2. the transaction is broadcast;
 *   3. once mined with enough confirmations, `anchored` is saved and
 *      `pending` cleared, in one write.
 *
 * A transaction not mined within `replaceAfterMs` is replaced: same nonce,
 * same checkpoint, gas price raised by at least 12.5 % and at least 1 wei
 * (and to at least the node's current price), each replacement's hash saved
 * before it is sent. On a zero-gas-price chain there is no price to raise: a
 * bump to 1 wei would need the recorder to hold ether, which free-gas
 * networks usually do not give it, so by default the identical transaction is
 * rebroadcast instead (which recovers a transaction the node dropped; Besu
 * also accepts equal-price replacements on free-gas networks since
 * hyperledger/besu#6079). Set `zeroGasPriceBump` to bump from zero anyway.
 *
 * Recovery runs at start and after every error. It trusts the chain over the
 * local record: if the pending checkpoint is on the chain it is recorded as
 * anchored without resending; if the nonce is still unused the identical
 * transaction is resent; if the nonce went to something else the anchorer
 * starts over from the chain's latest checkpoint. A pending transaction that
 * can never be mined is dropped and re-planned from the chain's latest
 * checkpoint: one whose nonce lies beyond the account's nonce with nothing
 * in the node's pool to fill the gap, or whose base checkpoint the chain no
 * longer holds. Both happen when a chain loses its newest blocks (a local
 * anvil killed between two state dumps); the recorder sends only through
 * this anchorer, one transaction at a time, so the missing nonces can never
 * arrive. Two situations are fatal and stop anchoring: the chain holds a root
 * for some size that differs from the log's root at that size (a split view),
 * or a checkpoint larger than the log; `onFatal` is told, so the service can
 * stop recording rather than grow a log the chain has not seen.
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
import { EMPTY_ROOT, equalBytes, fromHex, signCheckpoint, toHex, type NoteSigner } from "../log";
import { consistencyProof, rootAt } from "../ledger/proofs";
import type { LedgerStore } from "../store/store";
import { backoffDelay, ChainError, type ChainCheckpoint, type ChainClient, type ChainReceipt, type SignedTx, type TxSigner } from "./client";
import type { AnchoredCheckpoint, AnchorState, AnchorStateStore, PendingAnchor } from "./state";

// ---------------------------------------------------------------------------
// Options and results

/** Time for the anchorer: injected so tests can run the cadence and timeouts on a fake clock. */
export interface AnchorerClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemAnchorerClock: AnchorerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal.addEventListener("abort", done, { once: true });
    }),
};

/**
 * Named points in the sending sequence, for crash tests: the anchorer calls
 * its `failpoint` hook with the name as it passes each one.
 * - `anchor.before-send`: the pending checkpoint and its transaction hash are durable; nothing is broadcast yet.
 * - `anchor.after-send`: the node accepted the transaction; its receipt has not been looked at.
 * - `anchor.after-receipt`: the receipt is confirmed; `anchored` is not written yet.
 */
export const ANCHORER_FAILPOINTS = ["anchor.before-send", "anchor.after-send", "anchor.after-receipt"] as const;
export type AnchorerFailpoint = (typeof ANCHORER_FAILPOINTS)[number];

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
  /** Anchor once this many entries are unanchored. Default 1000. */
  readonly everyEntries?: number;
  /** Anchor any growth once this long has passed since the last anchor. Default 1000 ms. */
  readonly everyMs?: number;
  /** Blocks (the including one counted) before a checkpoint counts as anchored. Default 1 (QBFT and IBFT are final at once). */
  readonly confirmations?: number;
  /** How often to poll for a receipt. Default 1000 ms. */
  readonly pollMs?: number;
  /** Replace (or rebroadcast) a transaction not mined within this long. Default 60 000 ms. */
  readonly replaceAfterMs?: number;
  /** Gas price bump for a replacement, in basis points; at least 1250 (12.5 %, above geth's and Besu's 10 %). Default 1250. */
  readonly bumpBasisPoints?: number;
  /** Never pay more than this (wei); at the cap a stuck transaction is rebroadcast, not replaced. */
  readonly maxGasPrice?: bigint;
  /** Price to bump a zero-price transaction to; null (default) rebroadcasts it instead. See the module comment. */
  readonly zeroGasPriceBump?: bigint | null;
  /** Gas limit = estimate × (100 + this) / 100. Default 25. */
  readonly gasHeadroomPercent?: number;
  /** Backoff after a failed round: starts here, doubles, capped at `retryMaxMs`, with jitter. Defaults 500 and 30 000 ms. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** First block to search for CheckpointAnchored logs (the deployment block). Default 0. */
  readonly fromBlock?: number;
  readonly clock?: AnchorerClock;
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
  /** Size of the checkpoint in flight, or null. */
  readonly pendingSize: number | null;
  /** Entries in the log that no anchored checkpoint covers yet. */
  readonly lagEntries: number;
  /** RFC 3339 time the oldest unanchored entry was recorded; null when nothing is unanchored. */
  readonly oldestUnanchoredAt: string | null;
  /** The last error since the last successful anchor, or null. */
  readonly lastError: { readonly message: string; readonly at: string } | null;
  /** Why anchoring stopped for good (a split view), or null. */
  readonly fatal: string | null;
  readonly anchored: AnchoredCheckpoint | null;
  readonly pending: PendingAnchor | null;
}

export type AnchorerErrorCode =
  /** The chain holds a root the log does not have at that size. Fatal. */
  | "SPLIT"
  /** The chain holds a checkpoint larger than the log. Fatal. */
  | "CHAIN_AHEAD"
  /** The chain is not where the local record says; recovery re-reads it. */
  | "CHAIN_MOVED"
  /** The contract refuses the checkpoint (paused, role missing); retried with backoff. */
  | "CONTRACT_REFUSED"
  /** Something that cannot happen did: a bug. */
  | "INVARIANT"
  /** The anchorer was stopped while waiting. */
  | "STOPPED";

export class AnchorerError extends Error {
  override readonly name = "AnchorerError";
  constructor(
    readonly code: AnchorerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const FATAL: ReadonlySet<AnchorerErrorCode> = new Set(["SPLIT", "CHAIN_AHEAD"]);
const MIN_BUMP_BASIS_POINTS = 1250;

const hex0x = (b: Uint8Array): string => `0x${toHex(b)}`;
const iso = (ms: number): string => new Date(ms).toISOString();

interface Waiter {
  readonly size: number;
  readonly resolve: (a: AnchoredCheckpoint) => void;
  readonly reject: (e: Error) => void;
}

// ---------------------------------------------------------------------------

export class Anchorer {
  private readonly _o: AnchorerOptions;
  private readonly _log: Logger;
  private readonly _clock: AnchorerClock;
  private readonly _random: () => number;
  private readonly _everyEntries: number;
  private readonly _everyMs: number;
  private readonly _confirmations: number;
  private readonly _pollMs: number;
  private readonly _replaceAfterMs: number;
  private readonly _bumpBasisPoints: bigint;
  private readonly _headroom: bigint;
  private readonly _contract: AnchorState["contract"];

  private readonly _verifyEveryMs: number;
  private readonly _failureLogEveryMs: number;

  /** The record as last checked against the chain (or made from it) in this run; empty until the first recovery. */
  private _state: AnchorState;
  private _needsRecovery = true;
  private _lastVerifiedAt = 0;
  private _lastFailureLogAt = -Infinity;
  private _unloggedFailures = 0;
  private _unsubscribeRetries: (() => void) | undefined;
  private _firstRecovery: { promise: Promise<void>; resolve: () => void };
  private _nextNonce: number | undefined;
  private _lastAnchorAt = 0;
  private _failures = 0;
  private _lastError: { message: string; at: string } | null = null;
  private _fatal: AnchorerError | null = null;
  private _loop: Promise<void> | undefined;
  private _stop = new AbortController();
  private _wake: AbortController | undefined;
  private _notified = false;
  private readonly _waiters: Waiter[] = [];

  constructor(options: AnchorerOptions) {
    this._o = options;
    this._log = options.logger.child({ component: "anchorer" });
    this._clock = options.clock ?? systemAnchorerClock;
    this._random = options.random ?? Math.random;
    this._everyEntries = positiveInt(options.everyEntries ?? 1000, "everyEntries");
    this._everyMs = nonNegative(options.everyMs ?? 1000, "everyMs");
    this._confirmations = positiveInt(options.confirmations ?? 1, "confirmations");
    this._pollMs = nonNegative(options.pollMs ?? 1000, "pollMs");
    this._replaceAfterMs = nonNegative(options.replaceAfterMs ?? 60_000, "replaceAfterMs");
    const bump = options.bumpBasisPoints ?? MIN_BUMP_BASIS_POINTS;
    if (!Number.isSafeInteger(bump) || bump < MIN_BUMP_BASIS_POINTS) throw new RangeError(`bumpBasisPoints must be an integer ≥ ${MIN_BUMP_BASIS_POINTS}`);
    this._bumpBasisPoints = BigInt(bump);
    this._headroom = 100n + BigInt(nonNegativeInt(options.gasHeadroomPercent ?? 25, "gasHeadroomPercent"));
    this._contract = { chainId: options.chain.chainId, address: options.chain.address };
    this._state = { contract: this._contract, pending: null, anchored: null };
    this._verifyEveryMs = nonNegative(options.verifyEveryMs ?? 10_000, "verifyEveryMs");
    this._failureLogEveryMs = nonNegative(options.failureLogEveryMs ?? 10_000, "failureLogEveryMs");
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this._firstRecovery = { promise, resolve };
  }

  // -- lifecycle -------------------------------------------------------------

  /** Starts the background loop (once). Returns at once; the chain may be unreachable. */
  start(): void {
    if (this._loop !== undefined) return;
    this._lastAnchorAt = this._clock.now();
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
    this._wake?.abort();
  }

  /** The last anchored checkpoint as recorded durably, or null. */
  get anchored(): AnchoredCheckpoint | null {
    return this._state.anchored;
  }

  /** Resolves once a checkpoint of at least `size` entries is anchored; rejects if anchoring stops first. */
  whenAnchored(size: number): Promise<AnchoredCheckpoint> {
    const a = this._state.anchored;
    if (a !== null && a.size >= size) return Promise.resolve(a);
    if (this._fatal !== null) return Promise.reject(this._fatal);
    if (this._stop.signal.aborted) return Promise.reject(new AnchorerError("STOPPED", "the anchorer was stopped"));
    return new Promise((resolve, reject) => this._waiters.push({ size, resolve, reject }));
  }

  async status(): Promise<AnchorStatus> {
    const anchoredSize = this._state.anchored?.size ?? 0;
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
      pendingSize: this._state.pending?.size ?? null,
      lagEntries: lag,
      oldestUnanchoredAt: oldest,
      lastError: this._lastError,
      fatal: this._fatal?.message ?? null,
      anchored: this._state.anchored,
      pending: this._state.pending,
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
            await this._recover();
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
          this._fatal = e;
          this._lastError = { message: e.message, at: iso(this._clock.now()) };
          this._log.fatal({ code: e.code }, `ANCHORING STOPPED: ${e.message}`);
          this._rejectWaiters(e);
          try {
            this._o.onFatal?.(e);
          } catch (hookError) {
            this._log.error({ err: hookError }, "the onFatal hook failed");
          }
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

  /** One unit of work. Returns true when there was nothing to do. */
  private async _step(): Promise<boolean> {
    if (this._state.pending !== null) {
      await this._drivePending(this._state.pending);
      return false;
    }
    if (!this._due()) {
      if (this._clock.now() - this._lastVerifiedAt >= this._verifyEveryMs) await this._verifyHeld();
      return true;
    }
    await this._startAnchor();
    return false;
  }

  /** Throws (so recovery runs) unless the chain's latest checkpoint is still the recorded one. */
  private async _verifyHeld(): Promise<void> {
    const latest = await this._o.chain.latestCheckpoint();
    this._lastVerifiedAt = this._clock.now();
    if (!this._recordHeld(this._state.anchored, latest)) {
      const recorded = this._state.anchored?.size ?? 0;
      // Cite nothing until recovery has re-read the chain.
      this._state = { ...this._state, anchored: null };
      throw new AnchorerError("CHAIN_MOVED", `the chain's latest checkpoint has size ${latest.treeSize}, the record says ${recorded}; checking the chain`);
    }
  }

  /** Whether `anchored` is exactly the chain's latest checkpoint (or both are empty). */
  private _recordHeld(anchored: AnchoredCheckpoint | null, latest: ChainCheckpoint): boolean {
    return anchored === null ? latest.treeSize === 0 : anchored.size === latest.treeSize && anchored.rootHex === latest.rootHash;
  }

  private _due(): boolean {
    const size = this._o.ledger.size;
    const anchored = this._state.anchored?.size ?? 0;
    if (size <= anchored) return false;
    return size - anchored >= this._everyEntries || this._clock.now() - this._lastAnchorAt >= this._everyMs;
  }

  /** Waits until the cadence may make an anchor due, or the log grows, or stop. */
  private async _idle(): Promise<void> {
    if (this._notified) {
      this._notified = false;
      if (this._due()) return;
    }
    const grown = this._o.ledger.size > (this._state.anchored?.size ?? 0);
    const wait = grown ? Math.max(0, this._lastAnchorAt + this._everyMs - this._clock.now()) : Math.max(this._everyMs, 1);
    this._wake = new AbortController();
    try {
      await this._clock.sleep(wait, AbortSignal.any([this._wake.signal, this._stop.signal]));
    } finally {
      this._wake = undefined;
      this._notified = false;
    }
  }

  /**
   * Whether the nonces below the pending transaction's can never be filled: the
   * node's pending count (mined plus pooled transactions ready to run) does not
   * reach it. The recorder sends only through this anchorer, so a missing nonce
   * below ours was lost with the chain's blocks and will never arrive.
   */
  private async _nonceGapUnfillable(p: PendingAnchor): Promise<boolean> {
    const ready = await this._o.chain.getTransactionCount(this._o.recorder.address, "pending");
    return ready < p.nonce;
  }

  /** Sleeps for polling; only stop cuts it short. */
  private _pause(ms: number): Promise<void> {
    return this._clock.sleep(ms, this._stop.signal);
  }

  private async _save(next: AnchorState): Promise<void> {
    await this._o.stateStore.save(next);
    this._state = next;
  }

  private async _nonce(): Promise<number> {
    if (this._nextNonce === undefined) this._nextNonce = await this._o.chain.getTransactionCount(this._o.recorder.address, "pending");
    return this._nextNonce;
  }

  // -- anchoring -------------------------------------------------------------

  private async _startAnchor(): Promise<void> {
    const { ledger, chain, store } = this._o;
    // Read size and root together (both synchronous), so they describe one tree.
    const size = ledger.size;
    const root = ledger.root();
    const base = this._state.anchored;
    const baseSize = base?.size ?? 0;
    const baseRoot = base === null ? EMPTY_ROOT : fromHex(base.rootHex);

    // The chain must still be where the record says, or the proof would be from the wrong tree.
    const latest = await chain.latestCheckpoint();
    if (latest.treeSize !== baseSize || (baseSize > 0 && latest.rootHash !== base?.rootHex))
      throw new AnchorerError("CHAIN_MOVED", `the chain's latest checkpoint has size ${latest.treeSize}, the record says ${baseSize}`);

    let proof: Uint8Array[] = [];
    if (baseSize > 0) {
      const r = await consistencyProof(store, baseSize, size, size);
      if (!equalBytes(r.root1, baseRoot) || !equalBytes(r.root2, root))
        throw new AnchorerError("INVARIANT", `the store's roots at ${baseSize} and ${size} differ from the anchored and the ledger's`);
      proof = r.proof;
    }
    const rootHex = hex0x(root);
    const proofHex = proof.map(hex0x);
    const signedCheckpoint = signCheckpoint({ origin: this._o.origin, size, rootHash: root, extensions: [] }, this._o.noteSigner);
    const data = chain.anchorCalldata(size, rootHex, proofHex);

    let estimate: bigint;
    try {
      estimate = await chain.estimateGas({ from: this._o.recorder.address, to: chain.address, data });
    } catch (e) {
      if (e instanceof ChainError && e.code === "REVERTED") {
        const why = e.revert ? `${e.revert.name}(${e.revert.args.join(", ")})` : e.message;
        // Not extending / inconsistent means the chain moved under us; paused or a missing role needs an operator.
        const moved = e.revert !== undefined && e.revert.name.startsWith("LedgerAnchor");
        throw new AnchorerError(moved ? "CHAIN_MOVED" : "CONTRACT_REFUSED", `the contract refuses checkpoint ${size}: ${why}`, { cause: e });
      }
      throw e;
    }
    const gasLimit = (estimate * this._headroom) / 100n;
    const gasPrice = this._capPrice(await chain.gasPrice());
    const nonce = await this._nonce();
    const signed = await chain.sign(this._o.recorder, { to: chain.address, data, nonce, gasLimit, gasPrice });
    const now = iso(this._clock.now());
    const pending: PendingAnchor = {
      baseSize,
      size,
      rootHex,
      proofHex,
      signedCheckpoint,
      nonce,
      gasLimit: gasLimit.toString(),
      gasPrice: gasPrice.toString(),
      txHashes: [signed.hash],
      firstSentAt: now,
      lastSentAt: now,
    };
    // Durable before the transaction exists anywhere but here.
    await this._save({ contract: this._contract, anchored: base, pending });
    this._log.info({ size, baseSize, nonce, txHash: signed.hash, gasPrice: pending.gasPrice, gasLimit: pending.gasLimit }, "sending anchor transaction");
    this._o.failpoint?.("anchor.before-send");
    await this._broadcast(signed);
    this._o.failpoint?.("anchor.after-send");
  }

  private _capPrice(price: bigint): bigint {
    const max = this._o.maxGasPrice;
    if (max !== undefined && price > max) {
      this._log.warn({ gasPrice: price.toString(), maxGasPrice: max.toString() }, "the node's gas price exceeds the configured maximum; using the maximum");
      return max;
    }
    return price;
  }

  /** Sends; a refusal that a later replacement can fix is logged and kept, anything else is thrown. */
  private async _broadcast(signed: SignedTx): Promise<void> {
    try {
      await this._o.chain.sendRaw(signed);
    } catch (e) {
      if (e instanceof ChainError && (e.code === "UNDERPRICED" || e.code === "INSUFFICIENT_FUNDS")) {
        this._lastError = { message: e.message, at: iso(this._clock.now()) };
        this._log.warn({ code: e.code, txHash: signed.hash }, `the node refused the anchor transaction; will retry: ${e.message}`);
        return;
      }
      if (e instanceof ChainError && e.code === "NONCE_TOO_LOW")
        // Mined already (a retried send) or taken by another transaction: recovery tells which.
        throw new AnchorerError("CHAIN_MOVED", `nonce of ${signed.hash} already used; checking the chain`, { cause: e });
      throw e;
    }
  }

  /** The transaction for the pending checkpoint at `gasPrice`; with the pending's own price it is byte-identical to the last one sent. */
  private _signPending(p: PendingAnchor, gasPrice: bigint): Promise<SignedTx> {
    const chain = this._o.chain;
    return chain.sign(this._o.recorder, {
      to: chain.address,
      data: chain.anchorCalldata(p.size, p.rootHex, p.proofHex),
      nonce: p.nonce,
      gasLimit: BigInt(p.gasLimit),
      gasPrice,
    });
  }

  /** The newest mined receipt among the pending's transactions, or null. */
  private async _minedReceipt(p: PendingAnchor): Promise<ChainReceipt | null> {
    for (let i = p.txHashes.length - 1; i >= 0; i--) {
      const r = await this._o.chain.getReceipt(p.txHashes[i]!);
      if (r !== null) return r;
    }
    return null;
  }

  private async _drivePending(p: PendingAnchor): Promise<void> {
    const chain = this._o.chain;
    let receipt = await this._minedReceipt(p);
    if (receipt === null) {
      const mined = await chain.getTransactionCount(this._o.recorder.address, "latest");
      if (mined < p.nonce && (await this._nonceGapUnfillable(p))) {
        // Cite nothing until recovery has re-read the chain: it lost the blocks the record stands on.
        this._state = { ...this._state, anchored: null };
        throw new AnchorerError("CHAIN_MOVED", `the recorder's account nonce on the chain is ${mined}, below the pending anchor's ${p.nonce}: the chain lost blocks`);
      }
      if (mined <= p.nonce) {
        const waited = this._clock.now() - Date.parse(p.lastSentAt);
        if (waited >= this._replaceAfterMs) {
          this._reportFailure(`the anchor transaction for size ${p.size} (nonce ${p.nonce}) was not mined within ${Math.round(waited / 1000)} s; sending it again`, { size: p.size, nonce: p.nonce });
          await this._replace(p);
        } else await this._pause(Math.min(this._pollMs, this._replaceAfterMs - waited));
        return;
      }
      // The nonce is used. Our transaction may have been mined between the two reads (anvil's
      // automine does this under load), so look once more before handing it to recovery.
      receipt = await this._minedReceipt(p);
      if (receipt === null) throw new AnchorerError("CHAIN_MOVED", `nonce ${p.nonce} was used, but by none of the pending anchor's transactions`);
    }
    if (receipt.status !== 1)
      throw new AnchorerError("CHAIN_MOVED", `anchor transaction ${receipt.transactionHash} for size ${p.size} reverted in block ${receipt.blockNumber}`);
    const confirmations = await chain.confirmations(receipt.blockNumber);
    if (confirmations < this._confirmations) {
      await this._pause(this._pollMs);
      return;
    }
    const event = chain.anchoredEvents(receipt).find((e) => e.treeSize === p.size && e.rootHash === p.rootHex);
    if (event === undefined) throw new AnchorerError("INVARIANT", `transaction ${receipt.transactionHash} succeeded without anchoring checkpoint ${p.size}`);
    this._o.failpoint?.("anchor.after-receipt");
    await this._markAnchored(p, event.index, receipt.transactionHash, receipt.blockNumber);
  }

  /** The next price for a stuck transaction, or null to rebroadcast it unchanged. */
  private _bumpedPrice(old: bigint, current: bigint): bigint | null {
    let next: bigint | null;
    if (old === 0n) {
      next = this._o.zeroGasPriceBump ?? (current > 0n ? current : null);
    } else {
      const raised = (old * (10_000n + this._bumpBasisPoints) + 9_999n) / 10_000n; // rounded up
      next = raised > old ? raised : old + 1n;
      if (current > next) next = current;
    }
    const max = this._o.maxGasPrice;
    if (next !== null && max !== undefined && next > max) {
      this._log.warn({ gasPrice: old.toString(), maxGasPrice: max.toString() }, "a replacement would exceed the maximum gas price; rebroadcasting instead");
      return null;
    }
    return next;
  }

  private async _replace(p: PendingAnchor): Promise<void> {
    const old = BigInt(p.gasPrice);
    const next = this._bumpedPrice(old, await this._o.chain.gasPrice());
    const now = iso(this._clock.now());
    if (next === null) {
      const signed = await this._signPending(p, old);
      if (signed.hash !== p.txHashes[p.txHashes.length - 1])
        throw new AnchorerError("INVARIANT", "re-signing the pending transaction gave a different hash");
      await this._save({ ...this._state, pending: { ...p, lastSentAt: now } });
      this._log.warn({ size: p.size, nonce: p.nonce, txHash: signed.hash }, "anchor transaction not mined in time; rebroadcasting it");
      await this._broadcast(signed);
      return;
    }
    const signed = await this._signPending(p, next);
    await this._save({ ...this._state, pending: { ...p, gasPrice: next.toString(), txHashes: [...p.txHashes, signed.hash], lastSentAt: now } });
    this._log.warn(
      { size: p.size, nonce: p.nonce, txHash: signed.hash, replaces: p.txHashes[p.txHashes.length - 1], gasPrice: next.toString() },
      "anchor transaction not mined in time; replacing it with a higher gas price",
    );
    await this._broadcast(signed);
  }

  private async _markAnchored(p: PendingAnchor, index: number, txHash: string | null, blockNumber: number | null): Promise<void> {
    const cp = await this._o.chain.checkpointAt(index);
    if (cp.treeSize !== p.size || cp.rootHash !== p.rootHex)
      throw new AnchorerError("INVARIANT", `checkpoint ${index} on chain is (${cp.treeSize}, ${cp.rootHash}), expected (${p.size}, ${p.rootHex})`);
    const anchored: AnchoredCheckpoint = {
      size: p.size,
      rootHex: p.rootHex,
      checkpointIndex: index,
      txHash,
      blockNumber,
      signedCheckpoint: p.signedCheckpoint,
      anchoredAt: iso(cp.timestamp * 1000),
    };
    await this._save({ contract: this._contract, pending: null, anchored });
    this._nextNonce = Math.max(this._nextNonce ?? 0, p.nonce + 1);
    this._afterAnchor(anchored);
    this._log.info({ size: p.size, index, txHash, blockNumber }, "checkpoint anchored");
  }

  private _afterAnchor(anchored: AnchoredCheckpoint | null): void {
    this._lastAnchorAt = this._clock.now();
    this._lastError = null;
    this._resolveWaiters(anchored);
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

  // -- recovery --------------------------------------------------------------

  private async _recover(): Promise<void> {
    await this._reconcile();
    // A record that was already up to date satisfies waiters too.
    this._resolveWaiters(this._state.anchored);
  }

  private async _reconcile(): Promise<void> {
    const { chain, recorder } = this._o;
    const loaded = await this._o.stateStore.load();
    let record: AnchorState = { contract: this._contract, pending: null, anchored: null };
    if (loaded !== undefined) {
      if (loaded.contract.chainId === this._contract.chainId && loaded.contract.address.toLowerCase() === this._contract.address.toLowerCase()) record = loaded;
      else this._log.warn({ recorded: loaded.contract, configured: this._contract }, "the anchor state is for another contract; starting afresh for this one");
    }
    // `_state` keeps what this run has already seen on the chain (nothing, at start) until the chain has been read:
    // the loaded record may name checkpoints the chain lost.

    const latest = await chain.latestCheckpoint();
    await this._checkChainAgainstLog(latest);
    this._lastVerifiedAt = this._clock.now();
    const a = record.anchored;
    const held = this._recordHeld(a, latest);
    if (!held && a !== null && a.size > latest.treeSize)
      this._reportFailure(
        `the chain holds fewer checkpoints than recorded (its latest has size ${latest.treeSize}, the record ${a.size}): it lost blocks or was reset; anchoring again from the chain's latest`,
        { recordedSize: a.size, chainSize: latest.treeSize },
        true,
      );
    const p = record.pending;

    if (p !== null) {
      if (await chain.isAnchored(p.size, p.rootHex)) {
        const index = await chain.findCheckpointIndex(p.size);
        if (index === undefined) throw new AnchorerError("INVARIANT", `isAnchored(${p.size}) is true but no checkpoint has that size`);
        const where = await this._locate(index, p);
        if (where !== null) await this._awaitConfirmations(where.blockNumber);
        this._log.info({ size: p.size, index }, "recovery: the pending checkpoint is on the chain");
        await this._markAnchored(p, index, where?.txHash ?? null, where?.blockNumber ?? null);
        return;
      }
      if (latest.treeSize >= p.size) {
        // The chain went past it with checkpoints that agree with the log (checked above): anchored by someone else.
        this._log.warn({ size: p.size, chainSize: latest.treeSize }, "recovery: the chain is past the pending checkpoint; adopting the chain's");
        await this._adoptChain(latest);
        this._nextNonce = await chain.getTransactionCount(recorder.address, "pending");
        return;
      }
      if (!(await this._pendingMatchesLog(p))) {
        this._log.error({ size: p.size }, "recovery: the pending checkpoint does not match the log; dropping it");
        await this._adoptChain(latest);
        this._nextNonce = await chain.getTransactionCount(recorder.address, "pending");
        return;
      }
      const mined = await chain.getTransactionCount(recorder.address, "latest");
      if (mined < p.nonce && (await this._nonceGapUnfillable(p))) {
        this._reportFailure(
          `recovery: the pending anchor's nonce ${p.nonce} is beyond the chain's account nonce ${mined} with nothing pooled to fill the gap, so it can never be mined; dropping it and anchoring again from the chain's checkpoint of size ${latest.treeSize}`,
          { size: p.size, nonce: p.nonce, accountNonce: mined },
          true,
        );
        await this._adoptChain(latest);
        this._nextNonce = mined;
        return;
      }
      if (mined <= p.nonce && !held && p.baseSize !== latest.treeSize) {
        // Its consistency proof starts from a checkpoint the chain no longer holds: mined, it would only revert.
        this._reportFailure(
          `recovery: the pending anchor extends the checkpoint of size ${p.baseSize}, which the chain no longer holds (its latest has size ${latest.treeSize}); dropping it and anchoring again from the chain's`,
          { size: p.size, baseSize: p.baseSize, chainSize: latest.treeSize },
          true,
        );
        await this._adoptChain(latest);
        this._nextNonce = mined;
        return;
      }
      if (mined <= p.nonce) {
        // The nonce is unused: the transaction is pooled, was dropped, or never left. Resending the identical bytes is safe in each case.
        const signed = await this._signPending(p, BigInt(p.gasPrice));
        if (signed.hash !== p.txHashes[p.txHashes.length - 1])
          throw new AnchorerError("INVARIANT", "re-signing the pending transaction gave a different hash (has the recorder key or chain id changed?)");
        this._state = held ? record : { ...record, anchored: null };
        this._log.info({ size: p.size, nonce: p.nonce, txHash: signed.hash }, "recovery: resending the pending anchor transaction");
        await this._broadcast(signed);
        return;
      }
      // The nonce went to something else, or our transaction reverted. Start over from the chain.
      const receipt = await this._minedReceipt(p);
      if (receipt !== null && receipt.status !== 1)
        this._log.warn({ size: p.size, txHash: receipt.transactionHash }, "recovery: the anchor transaction reverted; rebuilding from the chain's checkpoint");
      else this._log.warn({ size: p.size, nonce: p.nonce }, "recovery: the nonce was used by another transaction; rebuilding from the chain's checkpoint");
      await this._adoptChain(latest);
      this._nextNonce = await chain.getTransactionCount(recorder.address, "pending");
      return;
    }

    if (held) this._state = record;
    else {
      if (a === null || a.size <= latest.treeSize) this._log.info({ recordedSize: a?.size ?? 0, chainSize: latest.treeSize }, "adopting the chain's latest checkpoint");
      await this._adoptChain(latest);
    }
    this._nextNonce = await chain.getTransactionCount(recorder.address, "pending");
  }

  /** Fatal unless the chain's latest checkpoint is a (size, root) of this log. */
  private async _checkChainAgainstLog(latest: ChainCheckpoint): Promise<void> {
    if (latest.treeSize === 0) return;
    const size = this._o.ledger.size;
    if (latest.treeSize > size)
      throw new AnchorerError(
        "CHAIN_AHEAD",
        `the contract holds a checkpoint of ${latest.treeSize} entries but the log has only ${size}: ` +
          "the log lost entries (restored from an old backup?) or the contract belongs to another log",
      );
    const ours = hex0x(await rootAt(this._o.store, latest.treeSize));
    if (ours !== latest.rootHash)
      throw new AnchorerError(
        "SPLIT",
        `SPLIT VIEW: the contract's checkpoint of ${latest.treeSize} entries has root ${latest.rootHash} but the log's root at that size is ${ours}`,
      );
  }

  private async _pendingMatchesLog(p: PendingAnchor): Promise<boolean> {
    if (p.size > this._o.ledger.size) return false;
    return hex0x(await rootAt(this._o.store, p.size)) === p.rootHex;
  }

  /** Where checkpoint `index` was anchored: from our receipts first, else from the contract's event log. */
  private async _locate(index: number, p: PendingAnchor): Promise<{ txHash: string; blockNumber: number } | null> {
    const chain = this._o.chain;
    for (let i = p.txHashes.length - 1; i >= 0; i--) {
      const r = await chain.getReceipt(p.txHashes[i]!);
      if (r !== null && r.status === 1 && chain.anchoredEvents(r).some((e) => e.index === index))
        return { txHash: r.transactionHash, blockNumber: r.blockNumber };
    }
    const event = await this._findEvent(index);
    return event === undefined ? null : { txHash: event.transactionHash, blockNumber: event.blockNumber };
  }

  private async _findEvent(index: number): Promise<{ transactionHash: string; blockNumber: number } | undefined> {
    try {
      return await this._o.chain.findAnchoredEvent(index, this._o.fromBlock ?? 0);
    } catch (e) {
      // Some nodes cap eth_getLogs ranges; the event is a convenience, the contract's state is the truth.
      if (e instanceof ChainError && e.code === "RPC") {
        this._log.warn({ index }, `cannot search the CheckpointAnchored log: ${e.message}`);
        return undefined;
      }
      throw e;
    }
  }

  private async _awaitConfirmations(blockNumber: number): Promise<void> {
    for (;;) {
      if ((await this._o.chain.confirmations(blockNumber)) >= this._confirmations) return;
      if (this._stopped) throw new AnchorerError("STOPPED", "stopped while waiting for confirmations");
      await this._pause(this._pollMs);
    }
  }

  /** Records the chain's latest checkpoint (already checked against the log) as anchored and clears pending. */
  private async _adoptChain(latest: ChainCheckpoint): Promise<void> {
    let anchored: AnchoredCheckpoint | null = null;
    if (latest.treeSize > 0) {
      const index = (await this._o.chain.checkpointCount()) - 1;
      const event = await this._findEvent(index);
      anchored = {
        size: latest.treeSize,
        rootHex: latest.rootHash,
        checkpointIndex: index,
        txHash: event?.transactionHash ?? null,
        blockNumber: event?.blockNumber ?? null,
        signedCheckpoint: signCheckpoint({ origin: this._o.origin, size: latest.treeSize, rootHash: fromHex(latest.rootHash), extensions: [] }, this._o.noteSigner),
        anchoredAt: iso(latest.timestamp * 1000),
      };
    }
    await this._save({ contract: this._contract, pending: null, anchored });
    // Not an anchor of ours: lastError keeps saying why the chain had to be adopted until one succeeds.
    this._lastAnchorAt = this._clock.now();
    this._resolveWaiters(anchored);
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
