/**
 * The real service process SIGKILLed (its own failpoint) with several anchor
 * transactions in flight, on a chain with a block period, then started again
 * without failpoints: nothing accepted is lost, the contract never holds two
 * checkpoints for one size, each checkpoint is the service's root of its
 * prefix and consistent with the one before, each transaction sent was one
 * checkpoint, and anchoring resumes by itself.
 */
import path from "node:path";
import { expect } from "chai";
import { FileAnchorStateStore, inFlight } from "../../service/chain/state";
import { HttpJsonRpc } from "../../service/chain/client";
import { deployFor, expectAnchoredHistory, serviceEnv, serviceProcessSuite, ServiceProcess, startAnvil, type ExternalChain } from "./service-process";

describe("the service process, killed with SIGKILL while several anchors are in flight", function () {
  this.timeout(180_000);
  const tempDir = serviceProcessSuite("ledger-pipeline-crash-");

  it("recovers on restart: every entry anchored, one checkpoint per size, consistent, nothing lost, anchoring resumes by itself", async function () {
    const dir = tempDir();
    const anvil = await startAnvil(path.join(dir, "anvil"));
    const chain: ExternalChain = await deployFor("anvil", anvil.url, anvil.port, dir, anvil);
    // A 3 s block period from here on, so anchors sent in quick succession wait in the pool together.
    await new HttpJsonRpc(anvil.url).request({ method: "evm_setIntervalMining", params: [3] });
    const dataDir = path.join(dir, "data");
    const settings = { LEDGER_ANCHOR_EVERY_ENTRIES: "10", LEDGER_ANCHOR_EVERY_MS: "60000", LEDGER_ANCHOR_POLL_MS: "100" };

    // First life: the third anchor transaction kills the process once the node has it.
    const first = await ServiceProcess.start(serviceEnv(dataDir, chain, { ...settings, LEDGER_FAILPOINTS: "anchor.after-send@3" }));
    const token = first.firstAdminToken;
    expect(token, "first admin token").to.match(/^sl_/);
    // Batches of ten, each acknowledged before the next, until the kill; a batch the kill cut off is replayed later.
    const tags: string[] = [];
    const acked = new Map<string, string[]>();
    for (let i = 0; i < 12; i++) {
      const tag = `t${i}`;
      tags.push(tag);
      try {
        acked.set(tag, await first.recordProgrammes(token!, 10, tag));
      } catch {
        break;
      }
    }
    const exit = await first.waitForExit();
    expect(exit.signal, "killed by its own SIGKILL").to.equal("SIGKILL");
    expect(first.stderr.join("\n")).to.include("failpoint anchor.after-send reached (hit 3)");

    const state = await new FileAnchorStateStore(path.join(dataDir, "chain", "anchor-state.json")).load();
    const flight = inFlight(state!);
    expect(flight.length, "anchors in flight at the kill").to.be.at.least(2);
    for (let i = 1; i < flight.length; i++) expect(flight[i]!.nonce, "consecutive nonces").to.equal(flight[i - 1]!.nonce + 1);

    // Second life, no failpoints: it settles the set by itself, then keeps anchoring.
    const second = await ServiceProcess.start(serviceEnv(dataDir, chain, settings));
    expect(second.firstAdminToken, "no new admin token").to.equal(undefined);
    const ids: string[] = [];
    // An acknowledged batch is in the log; one the kill cut off is replayed (same Idempotency-Key) or recorded now.
    for (const tag of tags) ids.push(...(acked.get(tag) ?? (await second.recordProgrammes(token!, 10, tag))));
    const h = await second.anchoredAll();
    expect(h.anchoring?.anchoredSize, "the checkpoints in flight at the kill are anchored").to.be.at.least(flight[flight.length - 1]!.size);
    ids.push(...(await second.recordProgrammes(token!, 10, "after")));

    await second.anchoredAll();
    const sizes: number[] = [];
    for (let i = 0; i < (await chain.client.checkpointCount()); i++) sizes.push((await chain.client.checkpointAt(i)).treeSize);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]!, `never two checkpoints for one size: ${sizes.join(",")}`).to.be.greaterThan(sizes[i - 1]!);
    await expectAnchoredHistory(second, chain, ids, sizes);
    await second.stop();
  });
});
