/**
 * Two of the situations of situations.test.ts through the real service
 * process (bundled as `npm run build:service` bundles it) against anvil in
 * its own process: LEDGER_RPC_URL naming several endpoints, the first of
 * them down; and lost quorum (no blocks while RPC answers) seen in
 * /v1/health, with blocks resuming on a 1 s period.
 */
import path from "node:path";
import { expect } from "chai";
import { freePort } from "../../service/chain/local-chain";
import { deployFor, expectAnchoredHistory, poll, serviceEnv, serviceProcessSuite, ServiceProcess, startAnvil } from "./service-process";

describe("the service process on the chains people run", function () {
  this.timeout(180_000);
  const tempDir = serviceProcessSuite("ledger-situations-svc-");

  it("with LEDGER_RPC_URL listing an unreachable endpoint first, starts, anchors through the next and says which it uses", async function () {
    const dir = tempDir();
    const anvil = await startAnvil(path.join(dir, "anvil"));
    const chain = await deployFor("anvil", anvil.url, anvil.port, dir, anvil);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const svc = await ServiceProcess.start(serviceEnv(path.join(dir, "data"), chain, { LEDGER_RPC_URL: `${dead},${anvil.url}` }));
    const ids = await svc.recordProgrammes(svc.firstAdminToken!, 12, "multi");
    await expectAnchoredHistory(svc, chain, ids, [12]);
    const switched = svc.stdout.find((l) => l.includes("RPC endpoint 1 is unreachable; using endpoint 2"));
    expect(switched, "the switch is logged").to.be.a("string");
    expect(switched, "endpoints are named by position, not URL").to.not.include(dead);
  });

  it("while quorum is lost keeps accepting entries, turns /v1/health 503 past the maximum delay, and anchors everything once blocks resume", async function () {
    const dir = tempDir();
    const anvil = await startAnvil(path.join(dir, "anvil"));
    const chain = await deployFor("anvil", anvil.url, anvil.port, dir, anvil);
    const svc = await ServiceProcess.start(serviceEnv(path.join(dir, "data"), chain, { LEDGER_ANCHOR_MAX_DELAY_MS: "1500" }));
    const token = svc.firstAdminToken!;
    const ids = await svc.recordProgrammes(token, 10, "before");
    await svc.anchoredAll();

    // No more blocks; the node still answers.
    await chain.client.rpc("evm_setAutomine", [false]);
    const head = await chain.client.blockNumber();
    ids.push(...(await svc.recordProgrammes(token, 10, "during-1")));
    const unhealthy = await poll("/v1/health to turn 503", async () => {
      const h = await svc.health();
      return h.status === 503 ? h : undefined;
    });
    expect(unhealthy.body.anchoring?.anchoredSize).to.equal(10);
    expect(unhealthy.body.anchoring?.lagEntries).to.equal(10);
    ids.push(...(await svc.recordProgrammes(token, 10, "during-2")));
    expect((await svc.health()).body.anchoring?.lagEntries, "the queue is kept").to.equal(20);
    expect(await chain.client.blockNumber(), "no block while quorum is lost").to.equal(head);

    // Quorum back, blocks every second.
    await chain.client.rpc("evm_setIntervalMining", [1]);
    const health = await svc.anchoredAll();
    expect(health.treeSize).to.equal(30);
    const n = await chain.client.checkpointCount();
    const sizes: number[] = [];
    for (let i = 0; i < n; i++) sizes.push((await chain.client.checkpointAt(i)).treeSize);
    expect(sizes[0]).to.equal(10);
    expect(sizes[sizes.length - 1]).to.equal(30);
    await expectAnchoredHistory(svc, chain, ids, sizes);
  });
});
