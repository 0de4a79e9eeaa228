/**
 * What the anchorer's parts share: the clock, the error type, the record of
 * what has been sent and anchored, and the context the Anchorer hands its
 * sender (./anchor-sender.ts) and its reconciler (./anchor-reconciler.ts).
 *
 * {@link AnchorRecord} is the only writer of the anchor state store: a step is
 * in `state` only once `save` has resolved, i.e. once it is durable.
 */
import type { Logger } from "pino";
import { CodedError, toHex, type NoteSigner } from "../log";
import type { LedgerStore } from "../store/store";
import type { Clock } from "../clock";
import type { ChainClient, TxSigner } from "./client";
import type { AnchoredCheckpoint, AnchorState, AnchorStateStore } from "./state";

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

export class AnchorerError extends CodedError<AnchorerErrorCode> {
  override readonly name = "AnchorerError";
}

export const hex0x = (b: Uint8Array): string => `0x${toHex(b)}`;
export { rfc3339 as iso } from "../clock";

/**
 * The anchor state as this run knows it. `save` writes it durably before
 * holding it; `hold` and `forgetAnchored` change only what this run cites
 * (after the chain has been read, or until it is read again).
 */
export class AnchorRecord {
  private _state: AnchorState;

  constructor(
    private readonly _store: AnchorStateStore,
    readonly contract: AnchorState["contract"],
  ) {
    this._state = this.empty();
  }

  get state(): AnchorState {
    return this._state;
  }

  /** No pending transaction, nothing anchored, for the configured contract. */
  empty(): AnchorState {
    return { contract: this.contract, pending: null, anchored: null };
  }

  /** The stored record, or undefined when there is none. */
  load(): Promise<AnchorState | undefined> {
    return this._store.load();
  }

  /** Durable on resolve; only then is `next` held. */
  async save(next: AnchorState): Promise<void> {
    await this._store.save(next);
    this._state = next;
  }

  /** Rejects when the store may no longer be written (see AnchorStateStore.assertWritable). */
  async assertWritable(): Promise<void> {
    await this._store.assertWritable?.();
  }

  /** Holds a record already durable (read back from the store and checked against the chain). */
  hold(state: AnchorState): void {
    this._state = state;
  }

  /** Cite nothing until recovery has re-read the chain. */
  forgetAnchored(): void {
    this._state = { ...this._state, anchored: null };
  }
}

/** What the Anchorer gives its sender and reconciler. */
export interface AnchorContext {
  /** The log's durable head. Only `size` and `root()` are read. */
  readonly ledger: { readonly size: number; root(): Uint8Array };
  /** The ledger's store, for consistency proofs and past roots. */
  readonly store: LedgerStore;
  readonly chain: ChainClient;
  readonly recorder: TxSigner;
  readonly noteSigner: NoteSigner;
  readonly origin: string;
  readonly record: AnchorRecord;
  readonly clock: Clock;
  readonly log: Logger;
  /** Aborts when the anchorer stops; every wait ends early on it. */
  readonly stopSignal: AbortSignal;
  /** Sets `status().lastError` and logs it, at most once per interval unless `always`. */
  reportFailure(message: string, fields: Record<string, unknown>, always?: boolean): void;
  /** Sets `status().lastError` only (the caller logs). */
  setLastError(message: string): void;
  /**
   * A checkpoint is now recorded as anchored: restarts the cadence and resolves
   * waiters; `ours` (this anchorer's own transaction) also clears `lastError`.
   */
  anchoredNow(anchored: AnchoredCheckpoint | null, ours: boolean): void;
}
