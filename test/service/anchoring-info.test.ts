/**
 * Which checkpoint receipts cite (AnchoringInfo.cited): the anchored one
 * without a witness policy (service/startup/anchoring.ts), the published,
 * cosigned one with a policy (service/startup/publishing.ts), while
 * `anchored()` stays the chain's either way.
 */
import { expect } from "chai";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import { anchoringInfo } from "../../service/startup/anchoring";
import { citingPublished } from "../../service/startup/publishing";

const CONTRACT = `0x${"11".repeat(20)}`;

function point(size: number, note: string): AnchoredPoint {
  return { chainId: 31337, contract: CONTRACT, size, rootHex: `0x${"ab".repeat(32)}`, checkpointIndex: 0, txHash: null, blockNumber: null, anchoredAt: "2026-03-10T02:00:00.000Z", signedCheckpoint: note };
}

describe("the checkpoint receipts cite", function () {
  const view: { anchored: AnchoredPoint | null } = { anchored: null };
  const info = anchoringInfo({ client: { chainId: 31337, address: CONTRACT }, fromBlock: 7 }, view, 2500);

  beforeEach(function () {
    view.anchored = null;
  });

  it("is the anchored checkpoint without a witness policy, null until one is anchored", function () {
    expect(info.cited()).to.equal(null);
    view.anchored = point(5, "anchored 5");
    expect(info.cited()).to.deep.equal(point(5, "anchored 5"));
    expect(info.cited()).to.deep.equal(info.anchored());
    expect(info).to.include({ chainId: 31337, contract: CONTRACT, fromBlock: 7, retryAfterSeconds: 3 });
  });

  it("is the published (cosigned) checkpoint with a witness policy, while anchored() stays the chain's", function () {
    view.anchored = point(9, "anchored 9");
    let published: AnchoredPoint | null = null;
    const withWitnesses = citingPublished(info, () => published);
    expect(withWitnesses.cited(), "nothing cosigned yet").to.equal(null);
    published = point(5, "cosigned 5");
    expect(withWitnesses.cited()).to.deep.equal(point(5, "cosigned 5"));
    expect(withWitnesses.anchored()).to.deep.equal(point(9, "anchored 9"));
    expect(info.cited(), "the info it was made from still cites the anchored one").to.deep.equal(point(9, "anchored 9"));
    expect(withWitnesses).to.include({ chainId: 31337, contract: CONTRACT, fromBlock: 7, retryAfterSeconds: 3 });
  });
});
