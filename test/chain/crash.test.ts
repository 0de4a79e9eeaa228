/**
 * Crash tests of the real service process (issue 4): the bundled service
 * runs as a child process against anvil in another process, and a failpoint
 * (LEDGER_FAILPOINTS, service/chain/failpoints.ts) makes it SIGKILL itself at
 * one of three steps of its second anchor:
 *
 *   anchor.before-send    the pending checkpoint and its tx hash are durable, nothing is broadcast;
 *   anchor.after-send     the node has the transaction, the anchorer has not seen its receipt;
 *   anchor.after-receipt  the receipt is confirmed, `anchored` is not written.
 *
 * Then the service is started again without failpoints. After the restart,
 * and after more entries, every entry is anchored, the contract holds
 * exactly one checkpoint per size (50, 100, 110), consecutive checkpoints
 * are consistent by the service's own proofs, no accepted entry is lost, and
 * the recorder sent one transaction per checkpoint: the checkpoint found on
 * the chain was not sent again.
 *
 * The first anchor passes the failpoint (hit 1) so that the crashed anchor
 * carries a real consistency proof from a previous checkpoint.
 */
import path from "node:path";
import { expect } from "chai";
import { FileAnchorStateStore } from "../../service/chain/state";
import { deployFor, expectAnchoredHistory, serviceEnv, serviceProcessSuite, ServiceProcess, startAnvil, type ExternalChain } from "./service-process";

interface Case {
  readonly failpoint: "anchor.before-send" | "anchor.after-send" | "anchor.after-receipt";
  /** Checkpoint sizes on the chain right after the kill. */
  readonly onChainAtKill: readonly number[];
  /** The recovery the restarted service must log. */
  readonly recovery: string;
}

const CASES: readonly Case[] = [
  { failpoint: "anchor.before-send", onChainAtKill: [50], recovery: "recovery: resending the pending anchor transaction" },
  { failpoint: "anchor.after-send", onChainAtKill: [50, 100], recovery: "recovery: the pending checkpoint is on the chain" },
  { failpoint: "anchor.after-receipt", onChainAtKill: [50, 100], recovery: "recovery: the pending checkpoint is on the chain" },
];

describe("the service process, killed with SIGKILL while anchoring", function () {
  this.timeout(180_000);
  const tempDir = serviceProcessSuite("ledger-crash-");

  for (const c of CASES) {
    describe(`at ${c.failpoint}`, function () {
      it("recovers on restart: every entry anchored, one checkpoint per size, consistent, nothing lost, nothing resent twice", async function () {
    const dir = tempDir();
        const anvil = await startAnvil(path.join(dir, "anvil"));
        const chain: ExternalChain = await deployFor("anvil", anvil.url, anvil.port, dir, anvil);
        const dataDir = path.join(dir, "data");

        // First life: the second anchor hits the failpoint.
        const first = await ServiceProcess.start(serviceEnv(dataDir, chain, { LEDGER_FAILPOINTS: `${c.failpoint}@2` }));
        const token = first.firstAdminToken;
        expect(token, "first admin token").to.match(/^sl_/);
        const ids = await first.recordProgrammes(token!, 50, "a");
        expect((await first.anchoredAll()).anchoring?.anchoredSize).to.equal(50);
        ids.push(...(await first.recordProgrammes(token!, 50, "b")));

        const exit = await first.waitForExit();
        expect(exit.signal, "killed by its own SIGKILL").to.equal("SIGKILL");
        expect(first.stderr.join("\n")).to.include(`failpoint ${c.failpoint} reached (hit 2)`);

        // What the kill left: the pending checkpoint of 100 is recorded; the chain holds what was sent.
        const state = await new FileAnchorStateStore(path.join(dataDir, "chain", "anchor-state.json")).load();
        expect(state?.anchored?.size, "recorded as anchored").to.equal(50);
        expect(state?.pending?.size, "recorded as pending").to.equal(100);
        const sizes = [];
        for (let i = 0; i < (await chain.client.checkpointCount()); i++) sizes.push((await chain.client.checkpointAt(i)).treeSize);
        expect(sizes, "checkpoints on the chain at the kill").to.deep.equal([...c.onChainAtKill]);

        // Second life, no failpoints.
        const second = await ServiceProcess.start(serviceEnv(dataDir, chain));
        expect(second.firstAdminToken, "no new admin token").to.equal(undefined);
        expect((await second.anchoredAll()).anchoring?.anchoredSize).to.equal(100);
        expect(second.logs().map((l) => l.msg)).to.include(c.recovery);
        ids.push(...(await second.recordProgrammes(token!, 10, "c")));

        await expectAnchoredHistory(second, chain, ids, [50, 100, 110]);
        await second.stop();
      });
    });
  }
});
