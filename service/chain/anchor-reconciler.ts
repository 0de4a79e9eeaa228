/**
 * The anchorer's reconciler: compares the stored record with the chain (the
 * contract's latest checkpoint, the recorder's account nonce, the node's
 * pool) and the log, and settles what the record should say. It runs at
 * start and after every error, and trusts the chain over the record:
 *
 * Each anchor in flight is settled in nonce order, oldest first:
 *
 * - the pending checkpoint is on the chain: it is recorded as anchored, not resent;
 * - the chain is already past it, with the log's roots: the chain's latest is adopted;
 * - its nonce is still unused: the identical transaction is resent (it is pooled,
 *   was dropped, or never left), and so is each one behind it;
 * - its nonce went to something else, or it reverted: the chain's latest is adopted
 *   and a fresh nonce taken;
 * - it can never be mined: its nonce lies beyond the account's nonce with nothing
 *   pooled to fill the gap, or its base checkpoint is no longer on the chain. Both
 *   happen when a chain loses its newest blocks (a local anvil killed between two
 *   state dumps); the recorder sends only through this anchorer, one transaction at
 *   a time, so the missing nonces can never arrive. It is dropped and the chain's
 *   latest adopted.
 *
 * Whenever one is dropped, every one behind it is dropped too (their proofs
 * start from it). If such a transaction is still pooled somewhere and is mined
 * later, the contract refuses it (a checkpoint must extend the latest), so a
 * size is never anchored twice; the drive sees it revert and recovery runs again.
 *
 * Two findings are fatal and thrown as {@link AnchorerError}s for the Anchorer to
 * stop on: the chain holds a root for some size that differs from the log's root
 * at that size (SPLIT, a split view), or a checkpoint larger than the log
 * (CHAIN_AHEAD).
 *
 * After a reconcile the record holds only what the chain was seen to hold in
 * this run, so `anchored` is safe to cite.
 */
import { fromHex, signCheckpoint } from "../log";
import { rootAt } from "../ledger/proofs";
import { AnchorerError, hex0x, iso, type AnchorContext } from "./anchor-context";
import type { AnchorSender } from "./anchor-sender";
import type { AnchorCheckpoint } from "../format/anchor";
import { ChainError } from "./client";
import { inFlight, withInFlight, type AnchoredCheckpoint, type AnchorState, type PendingAnchor } from "./state";

export class AnchorReconciler {
  /** Clock time the chain's latest checkpoint was last compared with the record. */
  lastVerifiedAt = 0;

  constructor(
    private readonly _c: AnchorContext,
    private readonly _sender: AnchorSender,
    /** First block to search for CheckpointAnchored logs. */
    private readonly _fromBlock: number,
  ) {}

  /** Settles the stored record against the chain and the log (see the module comment). Throws SPLIT or CHAIN_AHEAD when fatal. */
  async reconcile(): Promise<void> {
    const { chain, record: held } = this._c;
    const loaded = await held.load();
    let record: AnchorState = held.empty();
    if (loaded !== undefined) {
      if (loaded.contract.chainId === held.contract.chainId && loaded.contract.address.toLowerCase() === held.contract.address.toLowerCase()) record = loaded;
      else this._c.log.warn({ recorded: loaded.contract, configured: held.contract }, "the anchor state is for another contract; starting afresh for this one");
    }
    // `held` keeps what this run has already seen on the chain (nothing, at start) until the chain has been read:
    // the loaded record may name checkpoints the chain lost.

    let latest = await chain.latestCheckpoint();
    await this._checkChainAgainstLog(latest);
    this.lastVerifiedAt = this._c.clock.now();
    // The anchors in flight that the chain already holds are recorded first, oldest first.
    let flight = inFlight(record);
    while (flight.length > 0 && (await chain.isAnchored(flight[0]!.size, flight[0]!.rootHex))) {
      await this._recordOnChain(flight[0]!, flight.slice(1));
      record = held.state;
      flight = inFlight(record);
      if (record.anchored !== null && record.anchored.size > latest.treeSize) latest = await chain.latestCheckpoint();
    }
    const a = record.anchored;
    const onChain = recordHeld(a, latest);
    if (!onChain && a !== null && a.size > latest.treeSize)
      this._c.reportFailure(
        `the chain holds fewer checkpoints than recorded (its latest has size ${latest.treeSize}, the record ${a.size}): it lost blocks or was reset; anchoring again from the chain's latest`,
        { recordedSize: a.size, chainSize: latest.treeSize },
        true,
      );
    if (flight.length > 0) {
      await this._settlePending(flight, record, latest, onChain);
      return;
    }
    if (onChain) held.hold(record);
    else {
      if (a === null || a.size <= latest.treeSize) this._c.log.info({ recordedSize: a?.size ?? 0, chainSize: latest.treeSize }, "adopting the chain's latest checkpoint");
      await this._adoptChain(latest);
    }
    await this._takePendingNonce();
  }

  /** Throws CHAIN_MOVED (so recovery runs) unless the chain's latest checkpoint is still the recorded one. */
  async verifyHeld(): Promise<void> {
    const latest = await this._c.chain.latestCheckpoint();
    this.lastVerifiedAt = this._c.clock.now();
    const anchored = this._c.record.state.anchored;
    if (!recordHeld(anchored, latest)) {
      // Cite nothing until recovery has re-read the chain.
      this._c.record.forgetAnchored();
      throw new AnchorerError("CHAIN_MOVED", `the chain's latest checkpoint has size ${latest.treeSize}, the record says ${anchored?.size ?? 0}; checking the chain`);
    }
  }

  /** Records `p`, which the chain holds, as anchored (once confirmed), with `rest` still in flight. */
  private async _recordOnChain(p: PendingAnchor, rest: readonly PendingAnchor[]): Promise<void> {
    const chain = this._c.chain;
    const index = await chain.findCheckpointIndex(p.size);
    if (index === undefined) throw new AnchorerError("INVARIANT", `isAnchored(${p.size}) is true but no checkpoint has that size`);
    const where = await this._locate(index, p);
    if (where !== null) await this._sender.awaitConfirmations(where.blockNumber);
    this._c.log.info({ size: p.size, index, stillInFlight: rest.length }, "recovery: the pending checkpoint is on the chain");
    await this._sender.markAnchored(p, rest, index, where?.txHash ?? null, where?.blockNumber ?? null);
  }

  /**
   * Decides what becomes of the anchors in flight, the oldest of which the
   * chain does not hold: all resent, or all dropped for the chain's latest.
   */
  private async _settlePending(flight: readonly PendingAnchor[], record: AnchorState, latest: AnchorCheckpoint, onChain: boolean): Promise<void> {
    const { chain, recorder, log } = this._c;
    const p = flight[0]!;
    if (latest.treeSize >= p.size) {
      // The chain went past it with checkpoints that agree with the log (checked above): anchored by someone else.
      log.warn({ size: p.size, chainSize: latest.treeSize }, "recovery: the chain is past the pending checkpoint; adopting the chain's");
      await this._adoptChain(latest);
      await this._takePendingNonce();
      return;
    }
    if (!(await this._pendingMatchesLog(p))) {
      log.error({ size: p.size }, "recovery: the pending checkpoint does not match the log; dropping it");
      await this._adoptChain(latest);
      await this._takePendingNonce();
      return;
    }
    const mined = await chain.getTransactionCount(recorder.address, "latest");
    if (mined < p.nonce && (await this._sender.nonceGapUnfillable(p))) {
      this._c.reportFailure(
        `recovery: the pending anchor's nonce ${p.nonce} is beyond the chain's account nonce ${mined} with nothing pooled to fill the gap, so it can never be mined; dropping it and anchoring again from the chain's checkpoint of size ${latest.treeSize}`,
        { size: p.size, nonce: p.nonce, accountNonce: mined },
        true,
      );
      await this._adoptChain(latest);
      this._sender.useNonce(mined);
      return;
    }
    if (mined <= p.nonce && !onChain && p.baseSize !== latest.treeSize) {
      // Its consistency proof starts from a checkpoint the chain no longer holds: mined, it would only revert.
      this._c.reportFailure(
        `recovery: the pending anchor extends the checkpoint of size ${p.baseSize}, which the chain no longer holds (its latest has size ${latest.treeSize}); dropping it and anchoring again from the chain's`,
        { size: p.size, baseSize: p.baseSize, chainSize: latest.treeSize },
        true,
      );
      await this._adoptChain(latest);
      this._sender.useNonce(mined);
      return;
    }
    if (mined <= p.nonce) {
      // The nonce is unused: the transactions are pooled, were dropped, or never left. Resending the identical bytes is safe in each case.
      const signed = await Promise.all(flight.map((f) => this._sender.signAgain(f)));
      await this._c.record.assertWritable();
      this._c.record.hold(withInFlight(onChain ? record : { ...record, anchored: null }, flight));
      for (const [i, f] of flight.entries()) {
        log.info({ size: f.size, nonce: f.nonce, txHash: signed[i]!.hash }, "recovery: resending the pending anchor transaction");
        await this._sender.broadcast(signed[i]!);
      }
      return;
    }
    // The nonce went to something else, or our transaction reverted. Start over from the chain.
    const receipt = await this._sender.minedReceipt(p);
    if (receipt !== null && receipt.status !== 1)
      log.warn({ size: p.size, txHash: receipt.transactionHash }, "recovery: the anchor transaction reverted; rebuilding from the chain's checkpoint");
    else log.warn({ size: p.size, nonce: p.nonce }, "recovery: the nonce was used by another transaction; rebuilding from the chain's checkpoint");
    await this._adoptChain(latest);
    await this._takePendingNonce();
  }

  private async _takePendingNonce(): Promise<void> {
    this._sender.useNonce(await this._c.chain.getTransactionCount(this._c.recorder.address, "pending"));
  }

  /** Fatal unless the chain's latest checkpoint is a (size, root) of this log. */
  private async _checkChainAgainstLog(latest: AnchorCheckpoint): Promise<void> {
    if (latest.treeSize === 0) return;
    const size = this._c.ledger.size;
    if (latest.treeSize > size)
      throw new AnchorerError(
        "CHAIN_AHEAD",
        `the contract holds a checkpoint of ${latest.treeSize} entries but the log has only ${size}: ` +
          "the log lost entries (restored from an old backup?) or the contract belongs to another log",
      );
    const ours = hex0x(await rootAt(this._c.store, latest.treeSize));
    if (ours !== latest.rootHex)
      throw new AnchorerError(
        "SPLIT",
        `SPLIT VIEW: the contract's checkpoint of ${latest.treeSize} entries has root ${latest.rootHex} but the log's root at that size is ${ours}`,
      );
  }

  private async _pendingMatchesLog(p: PendingAnchor): Promise<boolean> {
    if (p.size > this._c.ledger.size) return false;
    return hex0x(await rootAt(this._c.store, p.size)) === p.rootHex;
  }

  /** Where checkpoint `index` was anchored: from our receipts first, else from the contract's event log. */
  private async _locate(index: number, p: PendingAnchor): Promise<{ txHash: string; blockNumber: number } | null> {
    const chain = this._c.chain;
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
      return await this._c.chain.findAnchoredEvent(index, this._fromBlock);
    } catch (e) {
      // Some nodes cap eth_getLogs ranges; the event is a convenience, the contract's state is the truth.
      if (e instanceof ChainError && e.code === "RPC") {
        this._c.log.warn({ index }, `cannot search the CheckpointAnchored log: ${e.message}`);
        return undefined;
      }
      throw e;
    }
  }

  /** Records the chain's latest checkpoint (already checked against the log) as anchored and clears pending. */
  private async _adoptChain(latest: AnchorCheckpoint): Promise<void> {
    let anchored: AnchoredCheckpoint | null = null;
    if (latest.treeSize > 0) {
      const index = (await this._c.chain.checkpointCount()) - 1;
      const event = await this._findEvent(index);
      anchored = {
        size: latest.treeSize,
        rootHex: latest.rootHex,
        checkpointIndex: index,
        txHash: event?.transactionHash ?? null,
        blockNumber: event?.blockNumber ?? null,
        signedCheckpoint: signCheckpoint({ origin: this._c.origin, size: latest.treeSize, rootHash: fromHex(latest.rootHex), extensions: [] }, this._c.noteSigner),
        anchoredAt: iso(latest.timestamp * 1000),
      };
    }
    const record = this._c.record;
    await record.save({ contract: record.contract, pending: null, anchored });
    // Not an anchor of ours: lastError keeps saying why the chain had to be adopted until one succeeds.
    this._c.anchoredNow(anchored, false);
  }
}

/** Whether `anchored` is exactly the chain's latest checkpoint (or both are empty). */
function recordHeld(anchored: AnchoredCheckpoint | null, latest: AnchorCheckpoint): boolean {
  return anchored === null ? latest.treeSize === 0 : anchored.size === latest.treeSize && anchored.rootHex === latest.rootHex;
}
