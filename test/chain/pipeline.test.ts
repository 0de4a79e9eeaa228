/**
 * Pipelined anchoring (issue 15 §1) against anvil in its own process: with a
 * block period, several anchor transactions are in flight at once with
 * consecutive nonces, each proving consistency from the one before it; the
 * chain ends up with strictly increasing checkpoints, each the log's root of
 * that prefix. Recovery settles a whole in-flight set: when the middle one of
 * three was dropped from the node's pool, a restarted anchorer resends them
 * all and every one is anchored once.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { HttpJsonRpc } from "../../service/chain/client";
import {
  anvilDevAccount,
  deployOnce,
  startLocalChain,
  type LocalChain,
} from "../../service/chain/local-chain";
import { inFlight, MemoryAnchorStateStore } from "../../service/chain/state";
import {
  createAnchorerWorld,
  createLogWorld,
  eventually,
  expectChainMatchesLog,
  recorderKey,
  settle,
  within,
  type AnchorerWorld,
} from "./helpers";

const quiet = pino({ level: "silent" });

describe("pipelined anchoring", function () {
  this.timeout(120_000);
  let dir: string;
  const anvils: LocalChain[] = [];
  const worlds: AnchorerWorld[] = [];

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "ledger-pipeline-"));
  });
  afterEach(async function () {
    await Promise.all(worlds.splice(0).map((w) => w.stopAll()));
    await Promise.all(anvils.splice(0).map((a) => a.kill()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function chainWith(
    args: readonly string[]
  ): Promise<{ rpc: HttpJsonRpc; address: string; chainId: number }> {
    const anvil = await startLocalChain({
      dataDir: path.join(dir, "anvil"),
      logger: quiet,
      extraArgs: args,
    });
    anvils.push(anvil);
    const rpc = new HttpJsonRpc(anvil.url);
    const d = await deployOnce({
      dataDir: path.join(dir, "deployer"),
      transport: rpc,
      deployer: anvilDevAccount(),
      recorder: recorderKey().address,
      logger: quiet,
    });
    return { rpc, address: d.address, chainId: d.chainId };
  }

  describe("on a chain with a 2 s block period (anvil --block-time 2)", function () {
    it("keeps several anchor transactions in flight, and the chain holds strictly increasing checkpoints, each the log's root of its prefix", async function () {
      const c = await chainWith(["--block-time", "2"]);
      const log = await createLogWorld();
      const w = createAnchorerWorld(log, c.rpc, c.address, c.chainId);
      worlds.push(w);
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, {
        everyEntries: 4,
        everyMs: 50,
        maxInFlight: 4,
      });
      // Writes arriving faster than blocks: a checkpoint falls due several times per block period.
      for (let i = 0; i < 20; i++) {
        await log.add(4);
        await settle(150);
      }
      await within(
        a.whenAnchored(log.ledger.size),
        30_000,
        "everything anchored"
      );

      const most = Math.max(...store.history.map((s) => inFlight(s).length));
      expect(most, "anchors in flight at once").to.be.within(2, 4);
      // In flight, each one extends the one before it with the next nonce.
      for (const s of store.history) {
        const f = inFlight(s);
        for (let i = 1; i < f.length; i++) {
          expect(f[i]!.baseSize).to.equal(f[i - 1]!.size);
          expect(f[i]!.nonce).to.equal(f[i - 1]!.nonce + 1);
        }
      }
      const cps = await expectChainMatchesLog(w.client, log, log.ledger.size);
      // Several checkpoints per block period, not one per two blocks.
      expect(cps.length, "checkpoints").to.be.greaterThan(4);
      expect(store.peek()?.pending ?? null, "nothing left in flight").to.equal(
        null
      );
    });
  });

  describe("when the middle one of three pending transactions was dropped from the pool", function () {
    it("a restarted anchorer resends the set and each checkpoint is anchored once", async function () {
      const c = await chainWith([]);
      await c.rpc.request({ method: "evm_setAutomine", params: [false] });
      const log = await createLogWorld();
      const w = createAnchorerWorld(log, c.rpc, c.address, c.chainId);
      worlds.push(w);
      const store = new MemoryAnchorStateStore();
      const a = w.start(store, {
        everyEntries: 5,
        everyMs: 3_600_000,
        maxInFlight: 3,
      });
      for (const n of [1, 2, 3]) {
        await log.add(5);
        await eventually(
          () => {
            const s = store.peek();
            return s !== undefined && inFlight(s).length === n;
          },
          20_000,
          `${n} in flight`
        );
      }
      await settle(100);
      await a.stop();
      const flight = inFlight(store.peek()!);
      expect(flight.map((p) => p.size)).to.deep.equal([5, 10, 15]);
      const pooled = async (h: string) =>
        (await c.rpc.request({
          method: "eth_getTransactionByHash",
          params: [h],
        })) !== null;
      for (const p of flight)
        expect(
          await pooled(p.txHashes[0]!),
          `tx for ${p.size} pooled`
        ).to.equal(true);
      await c.rpc.request({
        method: "anvil_dropTransaction",
        params: [flight[1]!.txHashes[0]],
      });
      expect(
        await pooled(flight[1]!.txHashes[0]!),
        "the middle one dropped"
      ).to.equal(false);

      const restarted = w.start(store.reopen(), {
        everyEntries: 5,
        everyMs: 3_600_000,
        maxInFlight: 3,
      });
      await within(restarted.firstRecovery(), 20_000, "first recovery");
      expect(
        await pooled(flight[1]!.txHashes[0]!),
        "the middle one resent"
      ).to.equal(true);
      await c.rpc.request({ method: "evm_setIntervalMining", params: [1] });
      await within(restarted.whenAnchored(15), 30_000, "all three anchored");
      await expectChainMatchesLog(w.client, log, 15);
      expect(
        w.lines.filter((l) =>
          l.includes("recovery: resending the pending anchor transaction")
        ).length,
        "three resent"
      ).to.equal(3);
      expect(
        await w.client.getTransactionCount(w.recorder.address, "latest"),
        "one transaction per checkpoint"
      ).to.equal(flight[2]!.nonce + 1);
    });
  });
});
