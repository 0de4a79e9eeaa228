/**
 * The one test against a separate `hardhat node` process over JSON-RPC
 * (issue 4): Hardhat's node runs in its own process, LedgerAnchor is
 * deployed on it over HTTP, and the bundled service, configured with
 * LEDGER_RPC_URL like any external chain, anchors what it records; a clean
 * restart of the service carries on from the same contract.
 */
import path from "node:path";
import { expect } from "chai";
import { deployFor, expectAnchoredHistory, serviceEnv, serviceProcessSuite, ServiceProcess, startHardhatNode } from "./service-process";

describe("the service against a separate hardhat node over JSON-RPC", function () {
  this.timeout(180_000);
  const tempDir = serviceProcessSuite("ledger-hhnode-");

  it("anchors every entry, issues a receipt that verifies against the contract, and continues after a restart", async function () {
    const dir = tempDir();
    const node = await startHardhatNode();
    const chain = await deployFor("hardhat node", node.url, node.port, dir);
    expect(await chain.client.rpc("web3_clientVersion")).to.match(/^HardhatNetwork\//);
    const dataDir = path.join(dir, "data");

    const first = await ServiceProcess.start(serviceEnv(dataDir, chain));
    const token = first.firstAdminToken!;
    const ids = await first.recordProgrammes(token, 30, "a");
    await expectAnchoredHistory(first, chain, ids, [30]);
    expect((await first.stop()).code, "clean exit on SIGTERM").to.equal(0);

    const second = await ServiceProcess.start(serviceEnv(dataDir, chain));
    ids.push(...(await second.recordProgrammes(token, 12, "b")));
    await expectAnchoredHistory(second, chain, ids, [30, 42]);
    await second.stop();
  });
});
