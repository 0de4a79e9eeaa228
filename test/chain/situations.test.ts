/**
 * The chains people run, reproduced with anvil's own options (no Besu,
 * GoQuorum or FISCO node can be installed here), each in its own anvil
 * process on a free port, killed after the test:
 *
 * | situation | anvil | stands in for |
 * |---|---|---|
 * | pre-Shanghai EVM | --hardfork paris | Besu/GoQuorum genesis without shanghaiTime |
 * | free gas | --gas-price 0 --block-base-fee-per-gas 0, recorder without ether | Besu zeroBaseFee + min-gas-price=0 |
 * | lost quorum | --block-time 1, then evm_setIntervalMining 0 | QBFT with fewer than 2f+1 validators: RPC answers, no blocks |
 * | several RPC endpoints | two HTTP proxies in front of one anvil | several nodes of one network, one of them down |
 * | a dropped transaction | automine off, anvil_dropTransaction | a node restarted or its pool evicting the transaction |
 */
import { promises as fs } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Transaction, Wallet } from "ethers";
import pino from "pino";
import { ChainClient, FailoverJsonRpc, HttpJsonRpc, type Eip1193Provider } from "../../service/chain/client";
import { anvilDevAccount, deployOnce, startLocalChain, type LocalChain } from "../../service/chain/local-chain";
import { RecorderKey } from "../../service/chain/recorder-key";
import { MemoryAnchorStateStore } from "../../service/chain/state";
import { createAnchorerWorld, createLogWorld, eventually, expectChainMatchesLog, recorderKey, within, type AnchorerWorld, type LogWorld } from "./helpers";

const quiet = pino({ level: "silent" });

interface Situation {
  readonly anvil: LocalChain;
  readonly rpc: HttpJsonRpc;
  readonly address: string;
  readonly chainId: number;
}

describe("the anchorer on the chains people run", function () {
  this.timeout(120_000);
  let dir: string;
  const anvils: LocalChain[] = [];
  const worlds: AnchorerWorld[] = [];
  const servers: http.Server[] = [];

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "ledger-situations-"));
  });
  afterEach(async function () {
    await Promise.all(worlds.splice(0).map((w) => w.stopAll()));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
    await Promise.all(anvils.splice(0).map((a) => a.kill()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** anvil with `args` on a free port, LedgerAnchor deployed, RECORDER_ROLE granted to `recorder` (funded only if `fund`). */
  async function situation(args: readonly string[], recorder: string, fund = true): Promise<Situation> {
    const anvil = await startLocalChain({
      dataDir: path.join(dir, `anvil-${anvils.length}`),
      logger: quiet,
      extraArgs: args,
    });
    anvils.push(anvil);
    const rpc = new HttpJsonRpc(anvil.url);
    const d = await deployOnce({
      dataDir: path.join(dir, `deployer-${anvils.length}`),
      transport: rpc,
      deployer: anvilDevAccount(),
      recorder,
      logger: quiet,
      ...(fund ? {} : { fundBelowWei: 0n }),
    });
    return { anvil, rpc, address: d.address, chainId: d.chainId };
  }

  function world(log: LogWorld, s: Situation, transport: Eip1193Provider = s.rpc, recorder = recorderKey()): AnchorerWorld {
    const w = createAnchorerWorld(log, transport, s.address, s.chainId, recorder);
    worlds.push(w);
    return w;
  }

  /** The anchor transactions the recorder sent, as the chain holds them. */
  async function sentTransactions(client: ChainClient, from: string): Promise<Transaction[]> {
    const head = await client.blockNumber();
    const out: Transaction[] = [];
    for (let b = 0; b <= head; b++) {
      const block = (await client.rpc("eth_getBlockByNumber", [`0x${b.toString(16)}`, true])) as { transactions: { from: string; hash: string }[] };
      for (const t of block.transactions) {
        if (t.from.toLowerCase() !== from.toLowerCase()) continue;
        const raw = (await client.rpc("eth_getRawTransactionByHash", [t.hash])) as string;
        out.push(Transaction.from(raw));
      }
    }
    return out;
  }

  describe("on a pre-Shanghai EVM (--hardfork paris)", function () {
    it("deploys the contract and anchors consistent checkpoints with legacy transactions", async function () {
      const s = await situation(["--hardfork", "paris"], recorderKey().address);
      expect(await s.rpc.request({ method: "web3_clientVersion" })).to.match(/anvil/i);
      const log = await createLogWorld();
      const w = world(log, s);
      const a = w.start(new MemoryAnchorStateStore(), { everyEntries: 5 });
      for (const n of [5, 12, 20]) {
        await log.add(n - log.ledger.size);
        await within(a.whenAnchored(n), 20_000, `checkpoint ${n}`);
      }
      await expectChainMatchesLog(w.client, log, 20);
      for (const tx of await sentTransactions(w.client, w.recorder.address)) expect(tx.type, "a legacy transaction").to.equal(0);
    });
  });

  describe("on a free-gas network (--gas-price 0 --block-base-fee-per-gas 0)", function () {
    for (const [how, settings] of [
      ["with default settings", {}],
      ["with LEDGER_ANCHOR_MAX_GAS_PRICE_WEI=0", { maxGasPrice: 0n }],
    ] as const)
      it(`${how}, sends legacy transactions at gas price 0 from a recorder without ether, and rebroadcasts a stuck one instead of bumping it from zero`, async function () {
        const recorder = new RecorderKey(Wallet.createRandom().privateKey);
        const s = await situation(["--gas-price", "0", "--block-base-fee-per-gas", "0"], recorder.address, false);
        const log = await createLogWorld();
        const w = world(log, s, s.rpc, recorder);
        expect(await w.client.getBalance(recorder.address), "the recorder holds no ether").to.equal(0n);
        // anvil's eth_gasPrice suggests a tip even here (1 gwei), as Besu may once someone has paid one; the recorder cannot pay it.
        expect(await w.client.gasPrice()).to.be.greaterThan(0n);
        const a = w.start(new MemoryAnchorStateStore(), {
          everyEntries: 4,
          replaceAfterMs: 200,
          pollMs: 20,
          ...settings,
        });
        await log.add(4);
        await within(a.whenAnchored(4));

        // A transaction that is not mined in time is sent again unchanged: a bump to 1 wei would need ether.
        await w.client.rpc("evm_setAutomine", [false]);
        await log.add(4);
        const pending = await eventually2(async () => (await a.status()).pending ?? undefined, "the anchor transaction in the pool");
        await new Promise((r) => setTimeout(r, 700));
        const later = (await a.status()).pending!;
        expect(later.txHashes, "not replaced").to.deep.equal(pending.txHashes);
        expect(later.gasPrice).to.equal("0");
        expect(Date.parse(later.lastSentAt), "rebroadcast").to.be.greaterThan(Date.parse(pending.lastSentAt));
        await w.client.rpc("evm_setAutomine", [true]);
        await w.client.rpc("evm_mine", []);
        await within(a.whenAnchored(8));

        const cps = await expectChainMatchesLog(w.client, log, 8);
        const txs = await sentTransactions(w.client, recorder.address);
        expect(txs, "one transaction per checkpoint").to.have.length(cps.length);
        for (const tx of txs) {
          expect(tx.type).to.equal(0);
          expect(tx.gasPrice).to.equal(0n);
        }
        expect(await w.client.getBalance(recorder.address)).to.equal(0n);
      });
  });

  describe("when the network loses quorum (blocks every second, then none)", function () {
    it("keeps accepting entries and its queue, turns unhealthy past the maximum delay, and anchors everything once blocks resume", async function () {
      const s = await situation(["--block-time", "1"], recorderKey().address);
      const log = await createLogWorld();
      const w = world(log, s);
      const maxDelayMs = 1_500;
      const a = w.start(new MemoryAnchorStateStore(), {
        everyEntries: 5,
        everyMs: 100,
        pollMs: 50,
        replaceAfterMs: 1_000,
      });
      await log.add(5);
      await within(a.whenAnchored(5), 10_000, "an anchor on a 1 s block period");
      expect(await a.healthy(maxDelayMs)).to.equal(true);

      // Quorum lost: the node still answers, but no block comes.
      await w.client.rpc("evm_setIntervalMining", [0]);
      await w.client.rpc("evm_setAutomine", [false]);
      const head = await w.client.blockNumber();
      await log.add(7);
      await eventually2(async () => (await a.status()).pending ?? undefined, "an anchor transaction waiting in the pool");
      await eventually(async () => !(await a.healthy(maxDelayMs)), 10_000, "health to turn bad");
      await log.add(6);
      expect(log.ledger.size, "writes go on").to.equal(18);
      await new Promise((r) => setTimeout(r, 1_200));
      const status = await a.status();
      expect(await w.client.blockNumber(), "no blocks while quorum is lost").to.equal(head);
      expect(status.anchoredSize).to.equal(5);
      expect(status.lagEntries, "the queue is kept").to.equal(13);
      expect(status.pending?.nonce, "one transaction in flight, its nonce kept").to.equal(1);
      expect(status.pending!.txHashes.length, "replaced while no block came").to.be.greaterThan(1);

      // Quorum back: blocks every second again.
      await w.client.rpc("evm_setIntervalMining", [1]);
      await within(a.whenAnchored(18), 20_000, "everything anchored after blocks resume");
      expect(await a.healthy(maxDelayMs)).to.equal(true);
      const cps = await expectChainMatchesLog(w.client, log, 18);
      expect(await w.client.getTransactionCount(w.recorder.address, "latest"), "one mined transaction per checkpoint").to.equal(cps.length);
    });
  });

  describe("with several RPC endpoints", function () {
    it("goes on through another endpoint when one goes down, without a nonce clash or a second checkpoint for one size", async function () {
      const s = await situation(["--block-time", "1"], recorderKey().address);
      const a1 = await proxy(s.anvil.url);
      const b1 = await proxy(s.anvil.url);
      const switches: number[] = [];
      const transport = new FailoverJsonRpc([new HttpJsonRpc(a1.url, { timeoutMs: 3_000 }), new HttpJsonRpc(b1.url, { timeoutMs: 3_000 })], (_from, to) =>
        switches.push(to)
      );
      const log = await createLogWorld();
      const w = world(log, s, transport);
      const anchorer = w.start(new MemoryAnchorStateStore(), {
        everyEntries: 5,
        everyMs: 100,
        pollMs: 50,
      });
      await log.add(5);
      await within(anchorer.whenAnchored(5), 10_000);
      expect(b1.requests, "the second endpoint is idle while the first answers").to.equal(0);

      // The first node forwards the next anchor transaction and dies before it answers.
      a1.dieAfter = "eth_sendRawTransaction";
      await log.add(5);
      await within(anchorer.whenAnchored(10), 20_000, "the anchor sent as the first node died");
      expect(a1.down).to.equal(true);
      expect(switches).to.deep.equal([1]);
      await log.add(5);
      await within(anchorer.whenAnchored(15), 20_000);

      const cps = await expectChainMatchesLog(w.client, log, 15);
      expect(cps.map((c) => c.treeSize)).to.deep.equal([5, 10, 15]);
      expect(await w.client.getTransactionCount(w.recorder.address, "latest"), "one transaction per checkpoint").to.equal(3);
    });
  });

  describe("when the node drops the anchor transaction (anvil_dropTransaction)", function () {
    it("replaces it, and the replacement is anchored", async function () {
      const s = await situation([], recorderKey().address);
      const log = await createLogWorld();
      const w = world(log, s);
      const a = w.start(new MemoryAnchorStateStore(), {
        everyEntries: 3,
        pollMs: 20,
        replaceAfterMs: 300,
      });
      await log.add(3);
      await within(a.whenAnchored(3));

      await w.client.rpc("evm_setAutomine", [false]);
      await log.add(3);
      // The record is durable before the send, so wait until the node holds the transaction too.
      const first = await eventually2(async () => {
        const p = (await a.status()).pending;
        return p !== null && (await w.client.rpc("eth_getTransactionByHash", [p.txHashes[0]!])) !== null ? p : undefined;
      }, "the anchor transaction in the pool");
      const dropped = first.txHashes[0]!;
      await w.client.rpc("anvil_dropTransaction", [dropped]);
      expect(await w.client.rpc("eth_getTransactionByHash", [dropped]), "gone from the pool").to.equal(null);

      const replaced = await eventually2(async () => {
        const p = (await a.status()).pending;
        return p !== null && p.txHashes.length > 1 ? p : undefined;
      }, "a replacement");
      const replacement = replaced.txHashes[replaced.txHashes.length - 1]!;
      expect(replaced.nonce).to.equal(first.nonce);
      expect(BigInt(replaced.gasPrice) > BigInt(first.gasPrice), "a higher price").to.equal(true);
      expect(await w.client.rpc("eth_getTransactionByHash", [replacement]), "the replacement is pooled").to.not.equal(null);

      await w.client.rpc("evm_mine", []);
      const anchored = await within(a.whenAnchored(6));
      expect(anchored.txHash).to.equal(replacement);
      await expectChainMatchesLog(w.client, log, 6);
      expect(await w.client.getTransactionCount(w.recorder.address, "latest")).to.equal(2);
    });
  });

  /**
   * An HTTP JSON-RPC proxy in front of `target`, standing in for one node of
   * the network. With `dieAfter` set, it forwards the next request of that
   * method, then drops the connection without answering and stays down.
   */
  async function proxy(target: string): Promise<{
    url: string;
    requests: number;
    down: boolean;
    dieAfter: string | undefined;
  }> {
    const state = {
      url: "",
      requests: 0,
      down: false,
      dieAfter: undefined as string | undefined,
    };
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void (async () => {
          if (state.down) return req.socket.destroy();
          state.requests += 1;
          const body = Buffer.concat(chunks).toString("utf8");
          const answer = await fetch(target, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          const text = await answer.text();
          if (state.dieAfter !== undefined && (JSON.parse(body) as { method: string }).method === state.dieAfter) {
            state.down = true;
            req.socket.destroy();
            server.close();
            server.closeAllConnections();
            return;
          }
          res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
        })();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return state;
  }
});

async function eventually2<T>(get: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
