/**
 * The one LedgerAnchor reader (service/format/anchor.ts), used by the portal
 * (service/web/chain.ts) and the auditor: its hand-written ABI matches the
 * compiled contract, it reads a deployed contract as ethers does, and it
 * refuses answers that are not the views' encoding.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import {
  AnchorReader,
  AnchorReadError,
  decodeCheckpoint,
  decodeCheckpointCount,
  decodeIsAnchored,
  SELECTOR_CHECKPOINT_AT,
  SELECTOR_CHECKPOINT_COUNT,
  SELECTOR_IS_ANCHORED,
  SELECTOR_LATEST_CHECKPOINT,
} from "../../service/format";

describe("the LedgerAnchor reader", function () {
  it("uses the selectors of checkpointCount, checkpointAt, latestCheckpoint and isAnchored in the compiled ABI", async function () {
    const factory = await ethers.getContractFactory("LedgerAnchor");
    expect(factory.interface.getFunction("checkpointCount")!.selector).to.equal(SELECTOR_CHECKPOINT_COUNT);
    expect(factory.interface.getFunction("checkpointAt")!.selector).to.equal(SELECTOR_CHECKPOINT_AT);
    expect(factory.interface.getFunction("latestCheckpoint")!.selector).to.equal(SELECTOR_LATEST_CHECKPOINT);
    expect(factory.interface.getFunction("isAnchored")!.selector).to.equal(SELECTOR_IS_ANCHORED);
    for (const f of ["checkpointAt", "latestCheckpoint"]) {
      const out = factory.interface.getFunction(f)!.outputs[0]!.components!.map((c) => `${c.type} ${c.name}`);
      expect(out, `${f} decodes (treeSize, timestamp, rootHash) in this order`).to.deep.equal(["uint64 treeSize", "uint64 timestamp", "bytes32 rootHash"]);
    }
  });

  describe("on a deployed contract (Hardhat's EIP-1193 provider)", () => {
    it("reads what ethers reads: the count, each checkpoint, the latest, and whether a tree is anchored", async function () {
      const [admin] = await ethers.getSigners();
      const c = await ethers.deployContract("LedgerAnchor", [0, admin!.address]);
      await c.waitForDeployment();
      await c.grantRole(await c.RECORDER_ROLE(), admin!.address);
      const reader = new AnchorReader(network.provider, await c.getAddress());
      expect(await reader.checkpointCount()).to.equal(0);
      expect(await reader.latestCheckpoint()).to.deep.equal({ treeSize: 0, timestamp: 0, rootHex: `0x${"00".repeat(32)}` });
      const root = `0x${"ab".repeat(32)}`;
      await (await c.anchor(1, root, [])).wait();
      expect(await reader.checkpointCount()).to.equal(1);
      const viaEthers = await c.checkpointAt(0);
      const cp = await reader.checkpointAt(0);
      expect(cp).to.deep.equal({ treeSize: Number(viaEthers.treeSize), timestamp: Number(viaEthers.timestamp), rootHex: root });
      expect(await reader.latestCheckpoint()).to.deep.equal(cp);
      expect(await reader.isAnchored(1, root)).to.equal(true);
      expect(await reader.isAnchored(1, `0x${"cd".repeat(32)}`)).to.equal(false);
      expect(await reader.chainId()).to.equal(Number((await ethers.provider.getNetwork()).chainId));
      expect(await reader.hasCode()).to.equal(true);
      const refused = await reader.checkpointAt(5).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused, "a checkpoint out of range").to.be.instanceOf(AnchorReadError);
    });
  });

  describe("when an answer is not the view's encoding", () => {
    const bad: [string, unknown][] = [
      ["not a string", 12],
      ["empty", "0x"],
      ["one word short", `0x${"00".repeat(64)}`],
      ["not hex", `0x${"zz".repeat(96)}`],
      ["half a word", `0x${"00".repeat(80)}`],
    ];
    for (const [what, answer] of bad)
      it(`refuses ${what} with a BAD_ANSWER error`, () => {
        expect(() => decodeCheckpoint(answer)).to.throw(AnchorReadError).with.property("code", "BAD_ANSWER");
      });

    it("refuses a uint64 field with more than 64 bits, a count beyond 2^53 and a bool other than 0 or 1", () => {
      expect(() => decodeCheckpoint(`0x${"0".repeat(47)}1${"0".repeat(16)}${"00".repeat(64)}`)).to.throw(AnchorReadError, /64 bits/);
      expect(() => decodeCheckpointCount(`0x${"0".repeat(48)}${"f".repeat(16)}`)).to.throw(AnchorReadError, /2\^53/);
      expect(() => decodeIsAnchored(`0x${"0".repeat(63)}2`)).to.throw(AnchorReadError, /bool/);
    });
  });
});
