/**
 * The anchorer against LedgerAnchor on Hardhat's in-process network, with a
 * real Ledger on a MemoryStore: cadence, consistency over many checkpoints,
 * crashes at every step (simulated with the state store's fault hooks and a
 * fresh Anchorer over what was made durable), RPC outages, stuck and dropped
 * transactions, a paused contract and a split view.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Transaction } from "ethers";
import type { Anchorer } from "../../service/chain/anchorer";
import { MemoryAnchorStateStore, type SaveFault } from "../../service/chain/state";
import { toHex } from "../../service/log";
import {
  RECORDER_KEY_HEX,
  FakeClock,
  chainCheckpoints,
  connectionRefused,
  createAnchorerWorld,
  createLogWorld,
  deployed,
  eventually,
  expectChainMatchesLog,
  expectSignedCheckpoint,
  settle,
  within,
  type AnchorerWorld,
  type LogWorld,
} from "./helpers";
import { prng } from "../../service/prng";


describe("Anchorer", function () {
  let fx: Awaited<ReturnType<typeof deployed>>;
  let log: LogWorld;
  let w: AnchorerWorld;

  beforeEach(async function () {
    fx = await loadFixture(deployed);
    log = await createLogWorld();
    w = createAnchorerWorld(log, network.provider, fx.address, fx.chainId);
  });

  afterEach(async function () {
    await w.stopAll();
    await network.provider.request({ method: "evm_setAutomine", params: [true] });
    // No log line may carry the recorder's private key.
    const secret = RECORDER_KEY_HEX.slice(2).toLowerCase();
    for (const line of w.lines) expect(line.toLowerCase()).to.not.include(secret);
  });

  /** Transactions the recorder sent since the fixture. */
  const recorderNonce = async () => (await w.client.getTransactionCount(w.recorder.address, "latest")) - fx.startNonce;

  describe("cadence", function () {
    it("anchors once everyEntries entries are unanchored, and not before", async function () {
      const clock = new FakeClock();
      const a = w.start(new MemoryAnchorStateStore(), { clock, everyEntries: 10, everyMs: 3_600_000 });
      await log.add(9);
      await settle();
      expect(await w.client.checkpointCount(), "9 < 10 entries").to.equal(0);

      await log.add(1);
      expect((await within(a.whenAnchored(10))).size).to.equal(10);

      await log.add(25);
      await eventually(() => (a.anchored?.size ?? 0) >= 20, 20_000, "a second anchor");
      await settle();
      expect(log.ledger.size - a.anchored!.size, "what is left is below the threshold").to.be.lessThan(10);
      const cps = await chainCheckpoints(w.client);
      for (let i = 1; i < cps.length; i++) expect(cps[i]!.treeSize - cps[i - 1]!.treeSize).to.be.at.least(10);

      // The time cadence takes the rest.
      clock.advance(3_600_000);
      await within(a.whenAnchored(35));
      await expectChainMatchesLog(w.client, log, 35);
    });

    it("anchors any growth once everyMs has passed since the last anchor, and not before", async function () {
      const clock = new FakeClock();
      const a = w.start(new MemoryAnchorStateStore(), { clock, everyEntries: 1_000, everyMs: 1_000 });
      await log.add(3);
      await settle();
      expect(await w.client.checkpointCount()).to.equal(0);
      clock.advance(999);
      await settle();
      expect(await w.client.checkpointCount(), "999 ms < 1000 ms").to.equal(0);
      clock.advance(1);
      expect((await within(a.whenAnchored(3))).size).to.equal(3);

      // The next period starts at the anchor.
      await log.add(2);
      clock.advance(500);
      await settle();
      expect(a.anchored?.size).to.equal(3);
      clock.advance(500);
      await within(a.whenAnchored(5));
      await expectChainMatchesLog(w.client, log, 5);
    });

    it("counts the wait of entries already in the log when it starts from when they were recorded, so a new leader does not wait everyMs again", async function () {
      await log.add(3);
      const recordedAt = Date.parse((await log.store.leaf(0))!.recordedAt);
      const clock = new FakeClock(recordedAt + 2_000);
      const a = w.start(new MemoryAnchorStateStore(), { clock, everyEntries: 1_000, everyMs: 5_000 });
      await within(a.firstRecovery());
      await settle();
      clock.advance(2_999);
      await settle();
      expect(await w.client.checkpointCount(), "2 s before the start + 2.999 s after it < 5 s").to.equal(0);
      clock.advance(1);
      expect((await within(a.whenAnchored(3))).size).to.equal(3);
    });

    it("sends nothing while the log does not grow", async function () {
      const clock = new FakeClock();
      const a = w.start(new MemoryAnchorStateStore(), { clock, everyEntries: 2, everyMs: 1_000 });
      await log.add(2);
      await within(a.whenAnchored(2));
      const sends = w.transport.count("eth_sendRawTransaction");
      for (let i = 0; i < 10; i++) {
        clock.advance(1_000);
        await settle(10);
      }
      expect(w.transport.count("eth_sendRawTransaction")).to.equal(sends);
      expect(await w.client.checkpointCount()).to.equal(1);
    });
  });

  describe("confirmations", function () {
    it("records a checkpoint as anchored only once its block has the configured confirmations", async function () {
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, { everyEntries: 1, confirmations: 3 });
      await log.add(2);
      await eventually(async () => (await w.client.checkpointCount()) === 1, 20_000, "the anchor transaction");
      const block = await w.client.blockNumber();
      await settle();
      expect(a.anchored, "1 confirmation of 3").to.equal(null);
      expect(store.peek()!.pending!.size).to.equal(2);
      await network.provider.request({ method: "evm_mine", params: [] });
      await settle();
      expect(a.anchored, "2 confirmations of 3").to.equal(null);
      await network.provider.request({ method: "evm_mine", params: [] });
      const anchored = await within(a.whenAnchored(2));
      expect(anchored.blockNumber).to.equal(block);
    });
  });

  describe("over many checkpoints", function () {
    it("anchors one checkpoint per size, each consistent with the last and signed by the log", async function () {
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, { everyEntries: 7, everyMs: 30 });
      const random = prng(7);
      let total = 0;
      for (let round = 0; round < 25; round++) {
        const n = 1 + Math.floor(random() * 12);
        total += n;
        await log.add(n);
        if (random() < 0.3) await settle(40);
      }
      await within(a.whenAnchored(total), 60_000, "everything anchored");
      const cps = await expectChainMatchesLog(w.client, log, total);
      expect(cps.length).to.be.greaterThan(5);

      // The record keeps the signed checkpoint of each anchored size, and the transaction that anchored it.
      const anchoredSizes = new Set<number>();
      for (const s of store.history) {
        if (s.anchored === null) continue;
        anchoredSizes.add(s.anchored.size);
        expectSignedCheckpoint(s.anchored.signedCheckpoint, log.verifier, s.anchored.size, s.anchored.rootHex);
      }
      expect([...anchoredSizes].sort((x, y) => x - y)).to.deep.equal(cps.map((c) => c.treeSize));
      const last = store.peek()!.anchored!;
      const receipt = await w.client.getReceipt(last.txHash!);
      expect(receipt?.blockNumber).to.equal(last.blockNumber);
      expect(w.client.anchoredEvents(receipt!)[0]?.index).to.equal(cps.length - 1);
      expect(last.checkpointIndex).to.equal(cps.length - 1);
      // One transaction per checkpoint: no resends, no reverts.
      expect(await recorderNonce()).to.equal(cps.length);
    });
  });

  describe("crash recovery", function () {
    /** Runs one anchorer until its store "crashes", stops it, and returns the store a restarted process would find. */
    async function crashOnce(fault: (next: import("../../service/chain/state").AnchorState) => SaveFault | undefined, store = new MemoryAnchorStateStore()) {
      store.faultWhen = fault;
      const a = w.start(store, { everyEntries: 1 });
      await eventually(() => store.crashed, 20_000, "the crash");
      await a.stop();
      return store.reopen();
    }

    it("(a) after the pending write, before the send: a restart sends that same transaction", async function () {
      await log.add(5);
      const reopened = await crashOnce((next) => (next.pending !== null ? "crash-after-persist" : undefined));
      expect(w.transport.count("eth_sendRawTransaction"), "nothing was sent").to.equal(0);
      const pending = reopened.peek()!.pending!;
      expect(pending.size).to.equal(5);

      const a = w.start(reopened, { everyEntries: 1 });
      await within(a.whenAnchored(5));
      const state = reopened.peek()!;
      expect(state.pending).to.equal(null);
      expect(state.anchored!.txHash).to.equal(pending.txHashes[0]);
      expect(await recorderNonce()).to.equal(1);
      await expectChainMatchesLog(w.client, log, 5);
    });

    it("(a') in the pending write, before it persisted: nothing was sent and a restart anchors afresh", async function () {
      await log.add(4);
      const reopened = await crashOnce((next) => (next.pending !== null ? "crash-before-persist" : undefined));
      expect(reopened.peek()).to.equal(undefined);
      expect(w.transport.count("eth_sendRawTransaction")).to.equal(0);
      const a = w.start(reopened, { everyEntries: 1 });
      await within(a.whenAnchored(4));
      expect(await recorderNonce()).to.equal(1);
      await expectChainMatchesLog(w.client, log, 4);
    });

    it("(b) after the send, before the receipt: a restart finds it on chain and sends nothing", async function () {
      await log.add(6);
      const store = new MemoryAnchorStateStore();
      w.transport.after = (method) => {
        if (method === "eth_sendRawTransaction" && !store.crashed) {
          store.crash();
          throw connectionRefused();
        }
      };
      const reopened = await crashOnce(() => undefined, store);
      w.transport.after = undefined;
      expect(reopened.peek()!.pending!.size).to.equal(6);
      expect(await w.client.checkpointCount(), "the transaction was mined").to.equal(1);

      const sends = w.transport.count("eth_sendRawTransaction");
      const a = w.start(reopened, { everyEntries: 1 });
      await within(a.whenAnchored(6));
      expect(w.transport.count("eth_sendRawTransaction"), "no resend").to.equal(sends);
      expect(reopened.peek()!.anchored!.txHash).to.equal(await chainTx(0));
      expect(await recorderNonce()).to.equal(1);
      await expectChainMatchesLog(w.client, log, 6);
    });

    it("(c) after the receipt, before the state write: a restart records it without resending", async function () {
      await log.add(3);
      const reopened = await crashOnce((next) => (next.pending === null && next.anchored !== null ? "crash-before-persist" : undefined));
      const pending = reopened.peek()!.pending!;
      expect(await w.client.isAnchored(pending.size, pending.rootHex)).to.equal(true);

      const sends = w.transport.count("eth_sendRawTransaction");
      const a = w.start(reopened, { everyEntries: 1 });
      const anchored = await within(a.whenAnchored(3));
      expect(w.transport.count("eth_sendRawTransaction"), "no resend").to.equal(sends);
      expect(anchored.checkpointIndex).to.equal(0);
      expect(anchored.txHash).to.equal(pending.txHashes[0]);
      expect(w.lines.some((l) => l.includes("the pending checkpoint is on the chain"))).to.equal(true);
      expectSignedCheckpoint(anchored.signedCheckpoint, log.verifier, 3, pending.rootHex);
      await expectChainMatchesLog(w.client, log, 3);
    });

    it("crashes at random steps over many rounds leave exactly one checkpoint per size and everything anchored", async function () {
      const random = prng(42);
      const kinds = ["before-send", "in-pending-write", "after-send", "after-receipt", "none"] as const;
      let store = new MemoryAnchorStateStore();
      const seen = new Set<string>();
      for (let round = 0; round < 16; round++) {
        await log.add(1 + Math.floor(random() * 9));
        const kind = kinds[Math.floor(random() * kinds.length)]!;
        seen.add(kind);
        const target = log.ledger.size;
        const current = store;
        current.faultWhen = (next) => {
          if (kind === "before-send" && next.pending !== null) return "crash-after-persist";
          if (kind === "in-pending-write" && next.pending !== null) return "crash-before-persist";
          if (kind === "after-receipt" && next.pending === null && next.anchored?.size === target) return "crash-before-persist";
          return undefined;
        };
        w.transport.after = (method) => {
          if (kind === "after-send" && method === "eth_sendRawTransaction" && !current.crashed) {
            current.crash();
            throw connectionRefused();
          }
        };
        const a = w.start(current, { everyEntries: 1 });
        await eventually(() => current.crashed || (a.anchored?.size ?? 0) >= target, 20_000, `round ${round} (${kind})`);
        await a.stop();
        w.transport.after = undefined;
        store = current.reopen();
      }
      expect(seen.size, "every kind of crash happened").to.equal(kinds.length);
      const a = w.start(store, { everyEntries: 1 });
      await within(a.whenAnchored(log.ledger.size));
      const cps = await expectChainMatchesLog(w.client, log, log.ledger.size);
      expect(await recorderNonce(), "every recorder transaction anchored exactly one checkpoint").to.equal(cps.length);
    });

    it("a restart while the transaction is still pooled resends the identical bytes and waits for it", async function () {
      await network.provider.request({ method: "evm_setAutomine", params: [false] });
      const raws: string[] = [];
      w.transport.before = (method, params) => void (method === "eth_sendRawTransaction" && raws.push(params[0] as string));
      const store = new MemoryAnchorStateStore();
      const first = w.start(store, { everyEntries: 1 });
      await log.add(3);
      await eventually(() => raws.length === 1, 20_000, "the send");
      await first.stop();
      const second = w.start(store.reopen(), { everyEntries: 1 });
      await eventually(() => raws.length === 2, 20_000, "the resend");
      expect(raws[1]).to.equal(raws[0]);
      await network.provider.request({ method: "evm_mine", params: [] });
      const anchored = await within(second.whenAnchored(3));
      expect(anchored.txHash).to.equal(store.peek()!.pending!.txHashes[0]);
      expect(await recorderNonce()).to.equal(1);
    });

    it("a chain that lost its newest checkpoints (anvil killed between dumps): anchors again from where the chain is", async function () {
      const store = new MemoryAnchorStateStore();
      let a = w.start(store, { everyEntries: 1 });
      await log.add(4);
      await within(a.whenAnchored(4));
      const snapshot = await network.provider.request({ method: "evm_snapshot", params: [] });
      await log.add(3);
      await within(a.whenAnchored(7));
      await w.stopAll();
      await network.provider.request({ method: "evm_revert", params: [snapshot] });
      expect(await w.client.checkpointCount()).to.equal(1);
      expect(store.peek()!.anchored!.size).to.equal(7);

      a = w.start(store, { everyEntries: 1 });
      await within(a.whenAnchored(7));
      await expectChainMatchesLog(w.client, log, 7);
      expect(w.lines.some((l) => l.includes("fewer checkpoints than recorded"))).to.equal(true);
      expect(await recorderNonce()).to.equal(2);
    });

    it("a nonce taken by another transaction while down: rebuilds from the chain with a fresh nonce", async function () {
      await log.add(5);
      const reopened = await crashOnce((next) => (next.pending !== null ? "crash-after-persist" : undefined));
      const pending = reopened.peek()!.pending!;
      // The recorder key spends that nonce on something else.
      await w.client.sendAndWait(w.recorder, { to: w.recorder.address, data: "0x", value: 1n });
      expect(await w.client.getTransactionCount(w.recorder.address, "latest")).to.equal(pending.nonce + 1);

      await log.add(2);
      const a = w.start(reopened, { everyEntries: 1 });
      await within(a.whenAnchored(7));
      const anchored = reopened.peek()!.anchored!;
      expect(pending.txHashes).to.not.include(anchored.txHash);
      await expectChainMatchesLog(w.client, log, 7);
      expect(await w.client.checkpointCount()).to.equal(1);
    });
  });

  async function chainTx(index: number): Promise<string | undefined> {
    return (await w.client.findAnchoredEvent(index))?.transactionHash;
  }

  describe("chain outages", function () {
    it("keeps accepting entries while the RPC is down, reports the lag, then anchors everything", async function () {
      const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 5, everyMs: 10 });
      await log.add(5);
      await within(a.whenAnchored(5));
      expect(await a.healthy(1)).to.equal(true);

      w.transport.down = true;
      await log.add(30);
      expect(log.ledger.size, "the ledger does not wait for the chain").to.equal(35);
      await eventually(async () => (await a.status()).lastError !== null, 20_000, "an error");
      await eventually(() => w.transport.failedCalls > 10, 20_000, "retries");
      const status = await a.status();
      expect(status.anchoredSize).to.equal(5);
      expect(status.lagEntries).to.equal(30);
      expect(status.fatal).to.equal(null);
      const oldest = (await log.store.leaf(5))!.recordedAt;
      expect(status.oldestUnanchoredAt).to.equal(oldest);
      const age = Date.now() - Date.parse(oldest);
      expect(await a.healthy(age + 3_600_000)).to.equal(true);
      expect(await a.healthy(Math.max(0, age - 3_600_000))).to.equal(false);

      w.transport.down = false;
      await within(a.whenAnchored(35));
      const after = await a.status();
      expect(after.lastError).to.equal(null);
      expect(after.lagEntries).to.equal(0);
      expect(after.oldestUnanchoredAt).to.equal(null);
      await expectChainMatchesLog(w.client, log, 35);
    });

    it("a send whose answer was lost is not sent twice", async function () {
      await log.add(4);
      let lost = 0;
      w.transport.after = (method) => {
        if (method === "eth_sendRawTransaction" && lost === 0) {
          lost += 1;
          w.transport.down = true;
          setTimeout(() => (w.transport.down = false), 100);
          throw connectionRefused();
        }
      };
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, { everyEntries: 1 });
      await within(a.whenAnchored(4));
      expect(lost).to.equal(1);
      expect(await recorderNonce()).to.equal(1);
      expect(store.peek()!.anchored!.txHash).to.equal(await chainTx(0));
      await expectChainMatchesLog(w.client, log, 4);
    });

    it("a failing state store does not lose the anchor: it retries and nothing is sent without a durable record", async function () {
      await log.add(3);
      const store = new MemoryAnchorStateStore();
      store.injectFault("fail-before-persist");
      store.injectFault("fail-after-persist");
      const a = w.start(store, { everyEntries: 1 });
      await within(a.whenAnchored(3));
      // The first pending write failed (nothing sent), the second landed but reported failure: recovery resent that very transaction.
      expect(await recorderNonce()).to.equal(1);
      await expectChainMatchesLog(w.client, log, 3);
    });
  });

  describe("stuck transactions", function () {
    // One in flight at a time here, and one checkpoint for the two entries added however they are committed:
    // these tests follow a single transaction through its replacements.
    const sentRaw: string[] = [];
    beforeEach(function () {
      sentRaw.length = 0;
      w.transport.before = (method, params) => {
        if (method === "eth_sendRawTransaction") sentRaw.push(params[0] as string);
      };
    });

    it("replaces a transaction not mined in time: same nonce, same checkpoint, ≥ 12.5 % more gas", async function () {
      await network.provider.request({ method: "evm_setAutomine", params: [false] });
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, { everyEntries: 1, replaceAfterMs: 100, pollMs: 10, maxInFlight: 1 });
      await log.add(3);
      await eventually(() => (store.peek()?.pending?.txHashes.length ?? 0) >= 3, 20_000, "two replacements");
      const pending = store.peek()!.pending!;
      const txs = [...new Set(sentRaw)].map((raw) => Transaction.from(raw));
      expect(txs.length).to.be.at.least(3);
      for (let i = 1; i < txs.length; i++) {
        const [prev, next] = [txs[i - 1]!, txs[i]!];
        expect(next.nonce).to.equal(prev.nonce);
        expect(next.data).to.equal(prev.data);
        expect(next.type).to.equal(0);
        expect(next.gasPrice! * 1000n, `bump ${i}`).to.be.at.least(prev.gasPrice! * 1125n);
      }
      expect(txs.map((t) => t.hash)).to.deep.equal(pending.txHashes.slice(0, txs.length));

      await network.provider.request({ method: "evm_setAutomine", params: [true] });
      await network.provider.request({ method: "evm_mine", params: [] });
      const anchored = await within(a.whenAnchored(3));
      expect(pending.txHashes).to.include(anchored.txHash);
      expect(await recorderNonce()).to.equal(1);
      await expectChainMatchesLog(w.client, log, 3);
    });

    it("sends again a transaction the node dropped", async function () {
      await network.provider.request({ method: "evm_setAutomine", params: [false] });
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, { everyEntries: 2, everyMs: 3_600_000, replaceAfterMs: 150, pollMs: 10, maxInFlight: 1 });
      await log.add(2);
      await eventually(() => store.peek()?.pending !== null && store.peek()?.pending !== undefined, 20_000, "a pending anchor");
      await eventually(() => sentRaw.length > 0, 20_000, "the send");
      // On a loaded machine a replacement may already have been sent (replaceAfterMs): the node drops whichever it holds.
      const dropped = [...store.peek()!.pending!.txHashes];
      const held: boolean[] = [];
      for (const hash of dropped) held.push((await network.provider.request({ method: "hardhat_dropTransaction", params: [hash] })) as boolean);
      expect(held, "the node held one of the anchor's transactions").to.include(true);
      await network.provider.request({ method: "evm_setAutomine", params: [true] });
      const anchored = await within(a.whenAnchored(2));
      expect(dropped).to.not.include(anchored.txHash);
      expect(await recorderNonce()).to.equal(1);
      await expectChainMatchesLog(w.client, log, 2);
    });

    it("on a zero-gas-price chain rebroadcasts the identical transaction rather than bumping from zero", async function () {
      await network.provider.request({ method: "hardhat_setNextBlockBaseFeePerGas", params: ["0x0"] });
      w.transport.gasPrice = 0n;
      await network.provider.request({ method: "evm_setAutomine", params: [false] });
      const store = new MemoryAnchorStateStore();
      const balance = await w.client.getBalance(w.recorder.address);
      const a = w.start(store, { everyEntries: 2, everyMs: 3_600_000, replaceAfterMs: 150, pollMs: 10, maxInFlight: 1 });
      await log.add(2);
      await eventually(() => sentRaw.length > 0, 20_000, "the send");
      const pending = store.peek()!.pending!;
      expect(pending.gasPrice).to.equal("0");
      await network.provider.request({ method: "hardhat_dropTransaction", params: [pending.txHashes[0]] });
      await eventually(() => sentRaw.length > 1, 20_000, "a rebroadcast");
      expect(sentRaw[1]).to.equal(sentRaw[0]);
      await network.provider.request({ method: "evm_mine", params: [] });
      const anchored = await within(a.whenAnchored(2));
      expect(anchored.txHash).to.equal(pending.txHashes[0]);
      expect(store.peek()!.anchored).to.deep.equal(anchored);
      expect(store.history.every((s) => s.pending === null || s.pending.txHashes.length === 1)).to.equal(true);
      expect(await w.client.getBalance(w.recorder.address), "anchoring cost nothing").to.equal(balance);
      await expectChainMatchesLog(w.client, log, 2);
    });
  });

  describe("refusals", function () {
    it("waits while the contract is paused, sending nothing, then anchors", async function () {
      await (await fx.anchor.connect(fx.admin).pause()).wait();
      await log.add(3);
      const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 1 });
      await eventually(async () => (await a.status()).lastError?.message.includes("EnforcedPause") === true, 20_000, "the refusal");
      expect(w.transport.count("eth_sendRawTransaction")).to.equal(0);
      await (await fx.anchor.connect(fx.admin).unpause()).wait();
      await within(a.whenAnchored(3));
      await expectChainMatchesLog(w.client, log, 3);
    });

    it("stops for good, loudly, when the chain holds another root for a size of this log", async function () {
      await (await fx.anchor.connect(fx.admin).grantRole(await fx.anchor.RECORDER_ROLE(), fx.admin.address)).wait();
      await (await fx.anchor.connect(fx.admin).anchor(2, `0x${"ab".repeat(32)}`, [])).wait();
      await log.add(4);
      const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 1 });
      const waiting = a.whenAnchored(4);
      const error = await within(waiting.then(() => undefined, (e: unknown) => e));
      expect(error).to.be.instanceOf(Error);
      expect((error as { code?: string }).code).to.equal("SPLIT");
      const status = await a.status();
      expect(status.fatal).to.match(/SPLIT VIEW/);
      expect(await a.healthy(Number.MAX_SAFE_INTEGER)).to.equal(false);
      expect(w.transport.count("eth_sendRawTransaction")).to.equal(0);
      expect(w.lines.some((l) => (JSON.parse(l) as { level: number }).level === 60), "a fatal log line").to.equal(true);
    });

    it("stops for good when the chain holds a checkpoint larger than the log", async function () {
      await (await fx.anchor.connect(fx.admin).grantRole(await fx.anchor.RECORDER_ROLE(), fx.admin.address)).wait();
      await (await fx.anchor.connect(fx.admin).anchor(50, `0x${"cd".repeat(32)}`, [])).wait();
      await log.add(3);
      const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 1 });
      const error = await within(a.whenAnchored(3).then(() => undefined, (e: unknown) => e));
      expect((error as { code?: string }).code).to.equal("CHAIN_AHEAD");
      expect(w.transport.count("eth_sendRawTransaction")).to.equal(0);
    });

    it("ignores a record made for another contract and anchors this one from scratch", async function () {
      await log.add(2);
      const other = new MemoryAnchorStateStore({
        contract: { chainId: fx.chainId, address: "0x000000000000000000000000000000000000dEaD" },
        pending: null,
        anchored: { size: 2, rootHex: `0x${toHex(log.ledger.root())}`, checkpointIndex: 0, txHash: null, blockNumber: null, signedCheckpoint: "x\n", anchoredAt: "2026-01-01T00:00:00.000Z" },
      });
      const a = w.start(other, { everyEntries: 1 });
      await within(a.whenAnchored(2));
      expect(other.peek()!.contract.address).to.equal(fx.address);
      await expectChainMatchesLog(w.client, log, 2);
    });
  });
  describe("a chain that lost its newest blocks", function () {
    /** Checks that every checkpoint the anchorer cited is one the chain holds now. */
    async function expectAllCitedHeld(cited: ReadonlyMap<number, { size: number; rootHex: string }>): Promise<void> {
      for (const [index, c] of cited) {
        const onChain = await w.client.checkpointAt(index);
        expect({ size: onChain.treeSize, root: onChain.rootHex }, `cited checkpoint ${index}`).to.deep.equal({ size: c.size, root: c.rootHex });
      }
    }

    it("drops a pending transaction whose nonce the chain can never reach, and anchors again from the chain's checkpoint", async function () {
      const store = new MemoryAnchorStateStore();
      const first = w.start(store, { everyEntries: 1 });
      await log.add(4);
      await within(first.whenAnchored(4));
      const snapshot = await network.provider.request({ method: "evm_snapshot", params: [] });
      const [nonceAtSnapshot, countAtSnapshot] = [await recorderNonce(), await w.client.checkpointCount()];
      await log.add(3);
      await within(first.whenAnchored(7));
      await w.stopAll();

      // The next anchor's transaction (nonce 2) is recorded as pending; then the process dies before sending it.
      store.faultWhen = (next) => (next.pending !== null ? "crash-after-persist" : undefined);
      const second = w.start(store, { everyEntries: 1 });
      await log.add(2);
      await eventually(() => store.crashed, 20_000, "the crash");
      await second.stop();
      const reopened = store.reopen();
      const pending = reopened.peek()!.pending!;
      expect(pending.size).to.equal(9);

      // The chain loses the block of the anchor at 7: its account nonce is now below the pending one.
      await network.provider.request({ method: "evm_revert", params: [snapshot] });
      expect(await recorderNonce()).to.equal(nonceAtSnapshot);
      expect(pending.nonce - fx.startNonce, "a nonce the chain can never reach").to.be.above(nonceAtSnapshot);

      const third = w.start(reopened, { everyEntries: 1 });
      const cited = new Map<number, { size: number; rootHex: string }>();
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const a = third.anchored;
          if (a !== null) cited.set(a.checkpointIndex, a);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      try {
        await within(third.whenAnchored(9));
      } finally {
        sampling = false;
        await sampler;
      }
      const cps = await expectChainMatchesLog(w.client, log, 9);
      expect(cps.length, "the chain's checkpoints, then 9").to.equal(countAtSnapshot + 1);
      expect(await recorderNonce(), "one transaction per checkpoint").to.equal(cps.length);
      expect(w.lines.some((l) => l.includes("can never be mined"))).to.equal(true);
      await expectAllCitedHeld(cited);
    });

    it("notices while idle that the chain lost its latest checkpoint, stops citing it and anchors again", async function () {
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, { everyEntries: 1, verifyEveryMs: 20 });
      await log.add(4);
      await within(a.whenAnchored(4));
      const snapshot = await network.provider.request({ method: "evm_snapshot", params: [] });
      const countAtSnapshot = await w.client.checkpointCount();
      await log.add(3);
      await within(a.whenAnchored(7));
      expect(a.anchored!.checkpointIndex).to.be.at.least(countAtSnapshot);

      // The log does not grow any more; only the chain changes.
      await network.provider.request({ method: "evm_revert", params: [snapshot] });
      await eventually(async () => (await w.client.checkpointCount()) === countAtSnapshot + 1, 20_000, "the checkpoint anchored again");
      await eventually(() => a.anchored?.checkpointIndex === countAtSnapshot && a.anchored.txHash !== null, 20_000, "the new anchor recorded");
      const cps = await expectChainMatchesLog(w.client, log, 7);
      expect(await recorderNonce()).to.equal(cps.length);
      expect((await a.status()).lastError, "an anchor of ours succeeded since").to.equal(null);
      expect(w.lines.some((l) => l.includes("fewer checkpoints than recorded"))).to.equal(true);
    });
  });

  describe("failures are visible as they happen", function () {
    it("sets lastError at the first failed RPC attempt, long before the call's retries run out, and logs at a bounded rate", async function () {
      // A client whose calls retry for several seconds before they fail, as one facing a hung node does.
      const { ChainClient } = await import("../../service/chain/client");
      const slow = new ChainClient({ transport: w.transport, address: fx.address, chainId: fx.chainId, retry: { attempts: 20, baseDelayMs: 300, maxDelayMs: 300 } });
      const a = w.start(new MemoryAnchorStateStore(), { chain: slow, everyEntries: 1, failureLogEveryMs: 60_000 });
      await log.add(2);
      await within(a.whenAnchored(2));
      const linesBefore = w.lines.length;

      w.transport.down = true;
      const downAt = Date.now();
      await log.add(2);
      await eventually(async () => (await a.status()).lastError !== null, 2_000, "lastError while the call still retries");
      expect(Date.now() - downAt).to.be.below(2_000);
      expect((await a.status()).lastError!.message).to.include("ECONNREFUSED");
      expect(w.lines.slice(linesBefore).some((l) => l.includes("retrying")), "a log line at once").to.equal(true);

      await eventually(() => w.transport.failedCalls >= 12, 20_000, "a dozen failed attempts");
      const warnings = w.lines.slice(linesBefore).filter((l) => (JSON.parse(l) as { level: number }).level === 40);
      expect(warnings.length, "failed attempts are logged at a bounded rate").to.be.at.most(3);

      w.transport.down = false;
      await within(a.whenAnchored(4), 30_000);
      expect((await a.status()).lastError).to.equal(null);
    });
  });

  describe("when anchoring stops for good", function () {
    it("tells onFatal once, with the reason", async function () {
      await (await fx.anchor.connect(fx.admin).grantRole(await fx.anchor.RECORDER_ROLE(), fx.admin.address)).wait();
      await (await fx.anchor.connect(fx.admin).anchor(50, `0x${"cd".repeat(32)}`, [])).wait();
      await log.add(3);
      const told: string[] = [];
      const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 1, onFatal: (e) => told.push(e.code) });
      await within(a.whenAnchored(3).then(() => undefined, () => undefined));
      await settle();
      expect(told).to.deep.equal(["CHAIN_AHEAD"]);
    });
  });
});
