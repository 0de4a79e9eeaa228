/**
 * The portal's hand-written LedgerAnchor calls (service/web/chain.ts) match
 * the compiled ABI, and decode what the contract returns.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { SELECTOR_CHECKPOINT_AT, SELECTOR_CHECKPOINT_COUNT } from "../../service/web/chain";

describe("the portal's chain reads", function () {
  it("use the selectors of checkpointCount() and checkpointAt(uint256) in the compiled LedgerAnchor ABI", async function () {
    const factory = await ethers.getContractFactory("LedgerAnchor");
    expect(factory.interface.getFunction("checkpointCount")!.selector).to.equal(SELECTOR_CHECKPOINT_COUNT);
    expect(factory.interface.getFunction("checkpointAt")!.selector).to.equal(SELECTOR_CHECKPOINT_AT);
    const out = factory.interface.getFunction("checkpointAt")!.outputs[0]!.components!.map((c) => `${c.type} ${c.name}`);
    expect(out, "chain.ts decodes (treeSize, timestamp, rootHash) in this order").to.deep.equal(["uint64 treeSize", "uint64 timestamp", "bytes32 rootHash"]);
  });
});
