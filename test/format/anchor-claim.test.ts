/**
 * The anchor-claim check (service/format/anchor-claim.ts) over a reader held
 * in memory: the chain id and the contract are compared before any
 * checkpoint is read, the claimed index is tried first and then
 * isAnchored, and each verdict carries the auditor's words.
 */
import { expect } from "chai";
import { checkAnchorClaim, otherAnchor, type AnchorCheckpoint, type AnchorClaim, type AnchorViews } from "../../service/format";

const TRUSTED = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const ROOT = `0x${"ab".repeat(32)}`;
const ROOT2 = `0x${"cd".repeat(32)}`;

/** A reader at `address` on chain `chainId` holding `checkpoints`, recording which views were read. */
function memoryReader(address: string, checkpoints: AnchorCheckpoint[], chainId = 31337): AnchorViews & { reads: string[] } {
  const reads: string[] = [];
  return {
    address,
    reads,
    async chainId() {
      reads.push("chainId");
      return chainId;
    },
    async checkpointCount() {
      reads.push("checkpointCount");
      return checkpoints.length;
    },
    async checkpointAt(i) {
      reads.push(`checkpointAt(${i})`);
      const c = checkpoints[i];
      if (c === undefined) throw new RangeError(`no checkpoint ${i}`);
      return c;
    },
    async isAnchored(size, rootHex) {
      reads.push("isAnchored");
      return checkpoints.some((c) => c.treeSize === size && c.rootHex === rootHex);
    },
  };
}

const claim = (over: Partial<AnchorClaim> = {}): AnchorClaim => ({ chainId: 31337, contract: TRUSTED, checkpointIndex: 1, size: 9, rootHex: ROOT, ...over });
const held: AnchorCheckpoint[] = [
  { treeSize: 4, timestamp: 1_765_000_000, rootHex: ROOT2 },
  { treeSize: 9, timestamp: 1_765_000_060, rootHex: ROOT },
];

describe("the anchor-claim check", function () {
  it("holds when the trusted contract has (size, root) at the index claimed, and says when it was anchored", async function () {
    const r = await checkAnchorClaim(memoryReader(TRUSTED, held), claim());
    expect(r).to.deep.include({ ok: true, verdict: "anchored", chainId: 31337, checkpoint: held[1] });
    expect(r.detail).to.equal(`checkpoint 1 of ${TRUSTED} on chain 31337 anchors size 9 with this root (block time 2025-12-06T05:47:40.000Z)`);
  });

  it("compares the contract and the root without regard to case", async function () {
    const r = await checkAnchorClaim(memoryReader(TRUSTED.toLowerCase(), held), claim({ contract: TRUSTED.toUpperCase().replace("0X", "0x"), rootHex: ROOT.toUpperCase().replace("0X", "0x") }));
    expect(r.verdict).to.equal("anchored");
  });

  it("refuses a claim naming another contract, saying which, and reads no checkpoint of either", async function () {
    const reader = memoryReader(TRUSTED, held);
    const r = await checkAnchorClaim(reader, claim({ contract: OTHER }));
    expect(r).to.deep.equal({ ok: false, verdict: "other-contract", chainId: 31337, trustedContract: TRUSTED, detail: `the receipt names contract ${OTHER}, but the contract given is ${TRUSTED}` });
    expect(reader.reads).to.deep.equal(["chainId"]);
  });

  it("refuses a claim naming another chain than the node serves, before the contract", async function () {
    const reader = memoryReader(TRUSTED, held, 1);
    const r = await checkAnchorClaim(reader, claim({ contract: OTHER }));
    expect(r).to.deep.equal({ ok: false, verdict: "other-chain", chainId: 1, detail: "the receipt names chain 31337, but the RPC node serves chain 1" });
    expect(reader.reads).to.deep.equal(["chainId"]);
  });

  it("holds, with a notice, when (size, root) is anchored at another index than claimed", async function () {
    const r = await checkAnchorClaim(memoryReader(TRUSTED, held), claim({ checkpointIndex: 0 }));
    expect(r).to.deep.include({ ok: true, verdict: "anchored-elsewhere", atIndex: held[0], detail: `${TRUSTED} on chain 31337 anchors size 9 with this root` });
    expect(r.verdict === "anchored-elsewhere" && r.notice).to.equal("the checkpoint is anchored, but not at index 0 as the receipt says");
  });

  it("fails when (size, root) is anchored nowhere, with what the claimed index holds", async function () {
    const r = await checkAnchorClaim(memoryReader(TRUSTED, held), claim({ checkpointIndex: 0, rootHex: `0x${"ef".repeat(32)}` }));
    expect(r).to.deep.include({ ok: false, verdict: "not-anchored", count: 2, atIndex: held[0] });
    expect(r.detail).to.equal("checkpoint 0 on the chain is not this checkpoint, and no anchored checkpoint has size 9 with this root");
  });

  it("fails when the contract holds fewer checkpoints than the index claimed, without reading past its end", async function () {
    const reader = memoryReader(TRUSTED, held);
    const r = await checkAnchorClaim(reader, claim({ checkpointIndex: 5, size: 12 }));
    expect(r).to.deep.include({ ok: false, verdict: "not-anchored", count: 2, atIndex: null, detail: "the contract holds 2 checkpoints, none of them size 12 with this root" });
    expect(reader.reads).to.deep.equal(["chainId", "checkpointCount", "isAnchored"]);
  });

  it("throws what the reader throws", async function () {
    const reader = { ...memoryReader(TRUSTED, held), chainId: () => Promise.reject(new Error("node down")) };
    const thrown = await checkAnchorClaim(reader, claim()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(thrown).to.be.instanceOf(Error).with.property("message", "node down");
  });

  it("names the same refusals for a caller with only someone's word for the chain", function () {
    expect(otherAnchor(claim(), 31337, TRUSTED.toLowerCase())).to.equal(null);
    expect(otherAnchor(claim({ contract: OTHER }), 31337, TRUSTED)).to.deep.include({ verdict: "other-contract", trustedContract: TRUSTED });
    expect(otherAnchor(claim({ chainId: 5 }), 31337, TRUSTED)).to.deep.include({ verdict: "other-chain", chainId: 31337 });
  });
});
