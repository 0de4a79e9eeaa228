/**
 * RPC outage, through the real service process (issue 4): the chain (anvil
 * in its own process) is stopped while the service runs. Entries keep being
 * accepted; /v1/health reports the growing lag and turns 503 once the oldest
 * unanchored entry has waited past LEDGER_ANCHOR_MAX_DELAY_MS; the node comes
 * back on the same port with the same state; everything gets anchored and
 * health is 200 again.
 */
import path from "node:path";
import { expect } from "chai";
import { deployFor, expectAnchoredHistory, poll, serviceEnv, serviceProcessSuite, ServiceProcess, startAnvil } from "./service-process";

describe("the service process during a chain outage", function () {
  this.timeout(180_000);
  const tempDir = serviceProcessSuite("ledger-outage-");

  it("keeps accepting entries, reports the lag in /v1/health, and anchors everything once the node is back", async function () {
    const dir = tempDir();
    const chainDir = path.join(dir, "anvil");
    let anvil = await startAnvil(chainDir);
    const chain = await deployFor("anvil", anvil.url, anvil.port, dir, anvil);
    const svc = await ServiceProcess.start(serviceEnv(path.join(dir, "data"), chain, { LEDGER_ANCHOR_MAX_DELAY_MS: "1500" }));
    const token = svc.firstAdminToken!;

    const ids = await svc.recordProgrammes(token, 20, "before");
    await svc.anchoredAll();

    // The node goes away (SIGTERM: anvil writes its state file, as a node restart would keep its chain).
    await anvil.stop();
    const outageStarted = Date.now();
    ids.push(...(await svc.recordProgrammes(token, 20, "during-1")));
    const early = await svc.health();
    expect(early.body.treeSize).to.equal(40);
    expect(early.body.anchoring?.anchoredSize).to.equal(20);
    expect(early.body.anchoring?.lagEntries).to.equal(20);
    expect(early.body.anchoring?.oldestUnanchoredAt).to.be.a("string");

    // Past the maximum delay, health turns 503 and says why.
    const unhealthy = await poll("/v1/health to turn 503", async () => {
      const h = await svc.health();
      return h.status === 503 && h.body.anchoring?.lastError != null ? h : undefined;
    });
    expect(unhealthy.body.ok).to.equal(false);
    expect(unhealthy.body.anchoring?.lagEntries).to.equal(20);
    expect(unhealthy.body.anchoring?.lagSeconds).to.be.at.least(1);
    expect(unhealthy.body.anchoring?.lastError?.message).to.match(/ECONNREFUSED|fetch failed|unreachable/i);

    // Still accepting.
    ids.push(...(await svc.recordProgrammes(token, 20, "during-2")));
    expect((await svc.health()).body.anchoring?.lagEntries).to.equal(40);
    expect(Date.now() - outageStarted, "the outage lasted past the maximum delay").to.be.at.least(1500);

    // The node comes back: same port, same state.
    anvil = await startAnvil(chainDir, chain.port);
    chain.anvil = anvil;
    expect(anvil.stateCheck).to.equal("ok");
    expect(await chain.client.checkpointCount(), "the node kept its checkpoint").to.equal(1);

    // An anchor round that read the log at 40 entries may still be retrying its first RPC call when the node
    // returns (each failed attempt now shows in lastError at once, so the outage can end sooner); it then
    // anchors 40 before 60. Either history is one checkpoint per size, each consistent with the last.
    await svc.anchoredAll();
    const sizes: number[] = [];
    for (let i = 0; i < (await chain.client.checkpointCount()); i++) sizes.push((await chain.client.checkpointAt(i)).treeSize);
    expect([[20, 60], [20, 40, 60]].map((h) => h.join())).to.include(sizes.join());
    await expectAnchoredHistory(svc, chain, ids, sizes);
    expect((await svc.health()).status).to.equal(200);
  });
});
