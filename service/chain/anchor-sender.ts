/**
 * The anchorer's transaction sender: builds an anchor transaction for the
 * log's current (size, root), and drives the anchors in flight to their
 * confirmed receipts.
 *
 * Several in flight. The recorder key may have several anchor transactions
 * outstanding, with consecutive nonces; each one's consistency proof starts
 * at the checkpoint of the one before it, which is valid because the chain
 * executes them in nonce order. The next nonce is kept here, initialised from
 * the chain's pending nonce. Every step is written down before it is taken:
 *
 *   1. the new anchor (checkpoint AND the signed transaction's hash: the hash
 *      of a signed transaction is known before it is sent) is appended to the
 *      durable in-flight list;
 *   2. the transaction is broadcast;
 *   3. once the oldest is mined with enough confirmations, it (and any
 *      behind it mined and confirmed as well) leaves the list and the newest
 *      of them becomes `anchored`, in one write.
 *
 * A transaction sent behind others cannot be estimated (its base checkpoint is
 * not on the chain yet, so eth_estimateGas would revert); it gets a gas limit
 * of twice the last estimate, and at least {@link PIPELINED_GAS_FLOOR} plus
 * {@link PIPELINED_GAS_PER_PROOF_HASH} per proof hash (only gas used is
 * paid), and the gas price of the one before it.
 *
 * The oldest transaction, not mined within `replaceAfterMs`, is replaced:
 * same nonce, same checkpoint, gas price raised by at least 12.5 % and at
 * least 1 wei (and to at least the node's current price), each replacement's
 * hash saved before it is sent. The ones behind it wait for it; each is
 * replaced in turn once it is the oldest. On a zero-gas-price chain there is
 * no price to raise: a bump to 1 wei would need the recorder to hold ether,
 * which free-gas networks usually do not give it, so by default the identical
 * transaction is rebroadcast instead (which recovers a transaction the node
 * dropped; Besu also accepts equal-price replacements on free-gas networks
 * since hyperledger/besu#6079). Set `zeroGasPriceBump` to bump from zero anyway.
 *
 * The sender decides nothing about a record the chain contradicts: anything
 * it cannot explain from its own receipts is thrown as an {@link AnchorerError}
 * (CHAIN_MOVED, INVARIANT) for the reconciler to settle. The contract itself
 * refuses a checkpoint that does not extend its latest one, so no size is ever
 * anchored twice, whatever a crash leaves in the pool.
 */
import { EMPTY_ROOT, equalBytes, fromHex, signCheckpoint } from "../log";
import { consistencyProof } from "../ledger/proofs";
import { AnchorerError, hex0x, iso, type AnchorContext } from "./anchor-context";
import { ChainError, type ChainReceipt, type SignedTx } from "./client";
import { inFlight, withInFlight, type AnchoredCheckpoint, type PendingAnchor } from "./state";

/**
 * Named points in the sending sequence, for crash tests: the anchorer calls
 * its `failpoint` hook with the name as it passes each one.
 * - `anchor.before-send`: the pending checkpoint and its transaction hash are durable; nothing is broadcast yet.
 * - `anchor.after-send`: the node accepted the transaction; its receipt has not been looked at.
 * - `anchor.after-receipt`: the receipt is confirmed; `anchored` is not written yet.
 */
export const ANCHORER_FAILPOINTS = ["anchor.before-send", "anchor.after-send", "anchor.after-receipt"] as const;
export type AnchorerFailpoint = (typeof ANCHORER_FAILPOINTS)[number];

/** Least gas limit of an anchor sent behind others (see the module comment). */
export const PIPELINED_GAS_FLOOR = 200_000n;
/** Extra gas limit per consistency-proof hash of an anchor sent behind others. */
export const PIPELINED_GAS_PER_PROOF_HASH = 3_000n;

/** The sender's settings, validated by the Anchorer (see AnchorerOptions for each). */
export interface SenderSettings {
  readonly confirmations: number;
  readonly pollMs: number;
  readonly replaceAfterMs: number;
  readonly bumpBasisPoints: bigint;
  /** 100 + gasHeadroomPercent. */
  readonly headroom: bigint;
  readonly maxGasPrice: bigint | undefined;
  readonly zeroGasPriceBump: bigint | null | undefined;
  readonly failpoint: ((name: AnchorerFailpoint) => void) | undefined;
}

export class AnchorSender {
  private _nextNonce: number | undefined;
  private _lastEstimate: bigint | undefined;
  private _saidFreeGas = false;

  constructor(
    private readonly _c: AnchorContext,
    private readonly _s: SenderSettings,
  ) {}

  /** Sets the nonce of the next new transaction (the reconciler read it from the chain). */
  useNonce(nonce: number): void {
    this._nextNonce = nonce;
  }

  /**
   * Anchors the log's current (size, root) on top of the last anchor in flight,
   * or of the recorded `anchored` when none is: builds and checks the
   * consistency proof, signs the checkpoint and the transaction, appends it to
   * the in-flight list durably, then broadcasts. With nothing in flight it
   * first checks the chain still ends at `anchored`, and a contract that
   * refuses the checkpoint (estimateGas reverts) sends nothing.
   */
  async send(): Promise<void> {
    const { ledger, chain, store, record } = this._c;
    // Read size and root together (both synchronous), so they describe one tree.
    const size = ledger.size;
    const root = ledger.root();
    const flight = inFlight(record.state);
    const behind = flight[flight.length - 1];
    const base = record.state.anchored;
    const baseSize = behind?.size ?? base?.size ?? 0;
    const baseRoot = behind !== undefined ? fromHex(behind.rootHex) : base === null ? EMPTY_ROOT : fromHex(base.rootHex);
    if (size <= baseSize) throw new AnchorerError("INVARIANT", `asked to anchor ${size} entries on top of ${baseSize}`);

    if (behind === undefined) {
      // The chain must still be where the record says, or the proof would be from the wrong tree.
      const latest = await chain.latestCheckpoint();
      if (latest.treeSize !== baseSize || (baseSize > 0 && latest.rootHex !== base?.rootHex))
        throw new AnchorerError("CHAIN_MOVED", `the chain's latest checkpoint has size ${latest.treeSize}, the record says ${baseSize}`);
    }

    let proof: Uint8Array[] = [];
    if (baseSize > 0) {
      const r = await consistencyProof(store, baseSize, size, size);
      if (!equalBytes(r.root1, baseRoot) || !equalBytes(r.root2, root))
        throw new AnchorerError("INVARIANT", `the store's roots at ${baseSize} and ${size} differ from the anchored and the ledger's`);
      proof = r.proof;
    }
    const rootHex = hex0x(root);
    const proofHex = proof.map(hex0x);
    const signedCheckpoint = signCheckpoint({ origin: this._c.origin, size, rootHash: root, extensions: [] }, this._c.noteSigner);
    const data = chain.anchorCalldata(size, rootHex, proofHex);

    let gasLimit: bigint;
    if (behind === undefined) {
      let estimate: bigint;
      try {
        estimate = await chain.estimateGas({ from: this._c.recorder.address, to: chain.address, data });
      } catch (e) {
        if (e instanceof ChainError && e.code === "REVERTED") {
          const why = e.revert ? `${e.revert.name}(${e.revert.args.join(", ")})` : e.message;
          // Not extending / inconsistent means the chain moved under us; paused or a missing role needs an operator.
          const moved = e.revert !== undefined && e.revert.name.startsWith("LedgerAnchor");
          throw new AnchorerError(moved ? "CHAIN_MOVED" : "CONTRACT_REFUSED", `the contract refuses checkpoint ${size}: ${why}`, { cause: e });
        }
        throw e;
      }
      this._lastEstimate = estimate;
      gasLimit = (estimate * this._s.headroom) / 100n;
    } else {
      const floor = PIPELINED_GAS_FLOOR + PIPELINED_GAS_PER_PROOF_HASH * BigInt(proof.length);
      const twice = 2n * (this._lastEstimate ?? 0n);
      gasLimit = twice > floor ? twice : floor;
    }
    // Behind others it takes their price: it cannot be mined before them anyway, and it saves two calls to the node.
    const gasPrice = behind === undefined ? await this._price(gasLimit) : BigInt(behind.gasPrice);
    const nonce = behind === undefined ? await this._nonce() : behind.nonce + 1;
    const signed = await chain.sign(this._c.recorder, { to: chain.address, data, nonce, gasLimit, gasPrice });
    const now = iso(this._c.clock.now());
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
    await record.save(withInFlight(record.state, [...flight, pending]));
    this._nextNonce = nonce + 1;
    this._c.log.info(
      { size, baseSize, nonce, inFlight: flight.length + 1, txHash: signed.hash, gasPrice: pending.gasPrice, gasLimit: pending.gasLimit },
      "sending anchor transaction",
    );
    this._s.failpoint?.("anchor.before-send");
    await this.broadcast(signed);
    this._s.failpoint?.("anchor.after-send");
  }

  /**
   * One step of the oldest anchor in flight, `p`: records it as anchored once
   * its receipt has its confirmations; otherwise waits a poll interval (at most
   * `maxPauseMs`, and cut short by `wake`), or replaces it after
   * `replaceAfterMs`. Throws CHAIN_MOVED when the chain contradicts it
   * (reverted, its nonce used by another transaction or lost with the chain's blocks).
   */
  async drive(p: PendingAnchor, wake?: { readonly signal: AbortSignal; readonly maxPauseMs: number }): Promise<void> {
    const pause = (ms: number): Promise<void> =>
      wake === undefined ? this._pause(ms) : this._c.clock.sleep(Math.min(ms, wake.maxPauseMs), AbortSignal.any([wake.signal, this._c.stopSignal]));
    const chain = this._c.chain;
    let receipt = await this.minedReceipt(p);
    if (receipt === null) {
      const mined = await chain.getTransactionCount(this._c.recorder.address, "latest");
      if (mined < p.nonce && (await this.nonceGapUnfillable(p))) {
        // Cite nothing until recovery has re-read the chain: it lost the blocks the record stands on.
        this._c.record.forgetAnchored();
        throw new AnchorerError("CHAIN_MOVED", `the recorder's account nonce on the chain is ${mined}, below the pending anchor's ${p.nonce}: the chain lost blocks`);
      }
      if (mined <= p.nonce) {
        const waited = this._c.clock.now() - Date.parse(p.lastSentAt);
        if (waited >= this._s.replaceAfterMs) {
          this._c.reportFailure(`the anchor transaction for size ${p.size} (nonce ${p.nonce}) was not mined within ${Math.round(waited / 1000)} s; sending it again`, {
            size: p.size,
            nonce: p.nonce,
          });
          await this._replace(p);
        } else await pause(Math.min(this._s.pollMs, this._s.replaceAfterMs - waited));
        return;
      }
      // The nonce is used. Our transaction may have been mined between the two reads (anvil's
      // automine does this under load), so look once more before handing it to recovery.
      receipt = await this.minedReceipt(p);
      if (receipt === null) throw new AnchorerError("CHAIN_MOVED", `nonce ${p.nonce} was used, but by none of the pending anchor's transactions`);
    }
    if (receipt.status !== 1)
      throw new AnchorerError("CHAIN_MOVED", `anchor transaction ${receipt.transactionHash} for size ${p.size} reverted in block ${receipt.blockNumber}`);
    // A mined receipt is its own first confirmation: with one required (QBFT), the node need not be asked.
    const confirmations = this._s.confirmations === 1 ? 1 : await chain.confirmations(receipt.blockNumber);
    if (confirmations < this._s.confirmations) {
      await pause(this._s.pollMs);
      return;
    }
    const event = chain.anchoredEvents(receipt).find((e) => e.treeSize === p.size && e.rootHash === p.rootHex);
    if (event === undefined) throw new AnchorerError("INVARIANT", `transaction ${receipt.transactionHash} succeeded without anchoring checkpoint ${p.size}`);
    // Those behind it that are mined too (often in the same block) are recorded in the same write.
    const flight = inFlight(this._c.record.state);
    let done = { p, index: event.index, txHash: receipt.transactionHash, blockNumber: receipt.blockNumber };
    let k = 1;
    this._s.failpoint?.("anchor.after-receipt");
    for (; k < flight.length; k++) {
      const next = await this._confirmedEvent(flight[k]!);
      if (next === null) break;
      this._s.failpoint?.("anchor.after-receipt");
      done = next;
    }
    await this.markAnchored(done.p, flight.slice(k), done.index, done.txHash, done.blockNumber);
  }

  /** The anchoring event of `p` when its transaction is mined, succeeded and confirmed; else null (it is left for its own turn). */
  private async _confirmedEvent(p: PendingAnchor): Promise<{ p: PendingAnchor; index: number; txHash: string; blockNumber: number } | null> {
    const chain = this._c.chain;
    const r = await this.minedReceipt(p);
    if (r === null || r.status !== 1) return null;
    if (this._s.confirmations > 1 && (await chain.confirmations(r.blockNumber)) < this._s.confirmations) return null;
    const e = chain.anchoredEvents(r).find((x) => x.treeSize === p.size && x.rootHash === p.rootHex);
    return e === undefined ? null : { p, index: e.index, txHash: r.transactionHash, blockNumber: r.blockNumber };
  }

  /**
   * Saves `p` as anchored at checkpoint `index` with `rest` (the anchors sent
   * after it) left in flight, in one write, after reading the checkpoint back
   * from the contract (INVARIANT if it differs).
   */
  async markAnchored(p: PendingAnchor, rest: readonly PendingAnchor[], index: number, txHash: string | null, blockNumber: number | null): Promise<void> {
    const cp = await this._c.chain.checkpointAt(index);
    if (cp.treeSize !== p.size || cp.rootHex !== p.rootHex)
      throw new AnchorerError("INVARIANT", `checkpoint ${index} on chain is (${cp.treeSize}, ${cp.rootHex}), expected (${p.size}, ${p.rootHex})`);
    const anchored: AnchoredCheckpoint = {
      size: p.size,
      rootHex: p.rootHex,
      checkpointIndex: index,
      txHash,
      blockNumber,
      signedCheckpoint: p.signedCheckpoint,
      anchoredAt: iso(cp.timestamp * 1000),
    };
    await this._c.record.save(withInFlight({ contract: this._c.record.contract, pending: null, anchored }, rest));
    this._nextNonce = Math.max(this._nextNonce ?? 0, p.nonce + 1, ...rest.map((r) => r.nonce + 1));
    this._c.anchoredNow(anchored, true);
    this._c.log.info({ size: p.size, index, txHash, blockNumber }, "checkpoint anchored");
  }

  /** Waits until the block has `confirmations`; STOPPED if the anchorer stops first. */
  async awaitConfirmations(blockNumber: number): Promise<void> {
    for (;;) {
      if ((await this._c.chain.confirmations(blockNumber)) >= this._s.confirmations) return;
      if (this._c.stopSignal.aborted) throw new AnchorerError("STOPPED", "stopped while waiting for confirmations");
      await this._pause(this._s.pollMs);
    }
  }

  /** The newest mined receipt among the pending's transactions, or null. */
  async minedReceipt(p: PendingAnchor): Promise<ChainReceipt | null> {
    for (let i = p.txHashes.length - 1; i >= 0; i--) {
      const r = await this._c.chain.getReceipt(p.txHashes[i]!);
      if (r !== null) return r;
    }
    return null;
  }

  /**
   * Whether the nonces below the pending transaction's can never be filled: the
   * node's pending count (mined plus pooled transactions ready to run) does not
   * reach it. The recorder sends only through this anchorer, so a missing nonce
   * below ours was lost with the chain's blocks and will never arrive.
   */
  async nonceGapUnfillable(p: PendingAnchor): Promise<boolean> {
    const ready = await this._c.chain.getTransactionCount(this._c.recorder.address, "pending");
    return ready < p.nonce;
  }

  /** The pending's last transaction, signed again: byte-identical, or INVARIANT (has the recorder key or chain id changed?). */
  async signAgain(p: PendingAnchor): Promise<SignedTx> {
    const signed = await this._signPending(p, BigInt(p.gasPrice));
    if (signed.hash !== p.txHashes[p.txHashes.length - 1])
      throw new AnchorerError("INVARIANT", "re-signing the pending transaction gave a different hash (has the recorder key or chain id changed?)");
    return signed;
  }

  /** Sends; a refusal that a later replacement can fix is logged and kept, anything else is thrown. */
  async broadcast(signed: SignedTx): Promise<void> {
    try {
      await this._c.chain.sendRaw(signed);
    } catch (e) {
      if (e instanceof ChainError && (e.code === "UNDERPRICED" || e.code === "INSUFFICIENT_FUNDS")) {
        this._c.setLastError(e.message);
        this._c.log.warn({ code: e.code, txHash: signed.hash }, `the node refused the anchor transaction; will retry: ${e.message}`);
        return;
      }
      if (e instanceof ChainError && e.code === "NONCE_TOO_LOW")
        // Mined already (a retried send) or taken by another transaction: recovery tells which.
        throw new AnchorerError("CHAIN_MOVED", `nonce of ${signed.hash} already used; checking the chain`, { cause: e });
      throw e;
    }
  }

  private async _nonce(): Promise<number> {
    if (this._nextNonce === undefined) this._nextNonce = await this._c.chain.getTransactionCount(this._c.recorder.address, "pending");
    return this._nextNonce;
  }

  /** Sleeps for polling; only stop cuts it short. */
  private _pause(ms: number): Promise<void> {
    return this._c.clock.sleep(ms, this._c.stopSignal);
  }

  /**
   * The price of a new anchor transaction: the node's suggestion, capped at
   * `maxGasPrice`; but 0 when the recorder cannot pay the suggestion and the
   * chain's base fee is 0. That is a free-gas network whose node still suggests
   * a tip (anvil with --gas-price 0, Besu after someone paid a priority fee): a
   * recorder without ether can only send at 0, and the chain accepts that.
   */
  private async _price(gasLimit: bigint): Promise<bigint> {
    const suggested = this._capPrice(await this._c.chain.gasPrice());
    if (suggested === 0n || (await this._canPay(gasLimit, suggested))) return suggested;
    if ((await this._c.chain.latestBaseFee()) !== 0n) return suggested;
    if (!this._saidFreeGas) {
      this._saidFreeGas = true;
      this._c.log.warn(
        { suggested: suggested.toString(), recorder: this._c.recorder.address },
        "the recorder cannot pay the node's suggested gas price and the base fee is 0: sending at gas price 0 (set LEDGER_ANCHOR_MAX_GAS_PRICE_WEI=0 to say so)",
      );
    }
    return 0n;
  }

  private async _canPay(gasLimit: bigint, price: bigint): Promise<boolean> {
    return (await this._c.chain.getBalance(this._c.recorder.address)) >= gasLimit * price;
  }

  private _capPrice(price: bigint): bigint {
    const max = this._s.maxGasPrice;
    if (max !== undefined && price > max) {
      this._c.log.warn({ gasPrice: price.toString(), maxGasPrice: max.toString() }, "the node's gas price exceeds the configured maximum; using the maximum");
      return max;
    }
    return price;
  }

  /** The transaction for the pending checkpoint at `gasPrice`; with the pending's own price it is byte-identical to the last one sent. */
  private _signPending(p: PendingAnchor, gasPrice: bigint): Promise<SignedTx> {
    const chain = this._c.chain;
    return chain.sign(this._c.recorder, {
      to: chain.address,
      data: chain.anchorCalldata(p.size, p.rootHex, p.proofHex),
      nonce: p.nonce,
      gasLimit: BigInt(p.gasLimit),
      gasPrice,
    });
  }

  /** The next price for a stuck transaction, or null to rebroadcast it unchanged. */
  private _bumpedPrice(old: bigint, current: bigint): bigint | null {
    let next: bigint | null;
    if (old === 0n) {
      next = this._s.zeroGasPriceBump ?? (current > 0n ? current : null);
    } else {
      const raised = (old * (10_000n + this._s.bumpBasisPoints) + 9_999n) / 10_000n; // rounded up
      next = raised > old ? raised : old + 1n;
      if (current > next) next = current;
    }
    const max = this._s.maxGasPrice;
    if (next !== null && max !== undefined && next > max) {
      this._c.log.warn({ gasPrice: old.toString(), maxGasPrice: max.toString() }, "a replacement would exceed the maximum gas price; rebroadcasting instead");
      return null;
    }
    return next;
  }

  private async _replace(p: PendingAnchor): Promise<void> {
    const { record, log } = this._c;
    let next = this._bumpedPrice(BigInt(p.gasPrice), await this._c.chain.gasPrice());
    // From zero, a bump the recorder cannot pay would only be refused: rebroadcast instead (unless zeroGasPriceBump asks for it).
    if (next !== null && BigInt(p.gasPrice) === 0n && this._s.zeroGasPriceBump == null && !(await this._canPay(BigInt(p.gasLimit), next))) next = null;
    const now = iso(this._c.clock.now());
    if (next === null) {
      const signed = await this.signAgain(p);
      await record.save({ ...record.state, pending: { ...p, lastSentAt: now } });
      log.warn({ size: p.size, nonce: p.nonce, txHash: signed.hash }, "anchor transaction not mined in time; rebroadcasting it");
      await this.broadcast(signed);
      return;
    }
    const signed = await this._signPending(p, next);
    await record.save({ ...record.state, pending: { ...p, gasPrice: next.toString(), txHashes: [...p.txHashes, signed.hash], lastSentAt: now } });
    log.warn(
      { size: p.size, nonce: p.nonce, txHash: signed.hash, replaces: p.txHashes[p.txHashes.length - 1], gasPrice: next.toString() },
      "anchor transaction not mined in time; replacing it with a higher gas price",
    );
    await this.broadcast(signed);
  }
}
