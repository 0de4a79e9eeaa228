/**
 * PayoutEscrow, the example contract that pays a subsidy only once its payout record is anchored
 * and no correction of it was shown during a challenge period.
 *
 * The records are real: the service's own Ledger on a memory store records a programme, an
 * application, a decision and payouts (test/helpers/ledger-fixtures.ts), and the leaves, roots,
 * inclusion and consistency proofs come from its store, exactly as receipts and the anchorer get
 * them. Checkpoints go on a real LedgerAnchor.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { hashLeaf } from "../../service/log";
import { consistencyProof, inclusionProof, rootAt } from "../../service/ledger/proofs";
import { Harness } from "../helpers/ledger-fixtures";
import type { LedgerAnchor, PayoutEscrow } from "../../.cache/typechain";

const hex = (b: Uint8Array): string => ethers.hexlify(b);
const utf8 = new TextEncoder();
const ONE_ETHER = ethers.parseEther("1");
/** payoutRequest's default amount, in fen. */
const AMOUNT_FEN = 1_000_000n;
/** The escrow's challenge period: three days. */
const CHALLENGE = 3 * 24 * 60 * 60;

/** The log as the escrow's callers see it: entries by index, and proofs at any size up to the log's. */
interface LogView {
  readonly size: number;
  bytes(index: number): Uint8Array;
  inclusion(index: number, size: number): Promise<string[]>;
}

/** A leaf the caller hands the escrow: the entry's bytes, its index, an anchored size and the proof. */
interface Claim {
  readonly entry: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly proof: string[];
}

async function recordedLog() {
  const h = await Harness.open();
  const { applicationId, decisionId } = await h.approved();
  const payoutId = await h.payout(decisionId);
  const unfundedPayoutId = await h.payout(decisionId, { amountFen: "200000", paidOn: "2026-03-09" });
  const index = async (id: string): Promise<number> => (await h.store.indexOf(id))!;
  const beforeCorrection = h.ledger.size;
  // The payout is corrected later: clawed back in full, then revoked (the rules want the money
  // back before a payout can be revoked), each by a correction entry that targets it.
  const clawbackId = await h.correction(payoutId, "clawback", { clawbackFen: "1000000" });
  const correctionId = await h.correction(payoutId, "revoked");
  const size = h.ledger.size;
  const leaves = await h.store.leaves(0, size);
  const log: LogView = {
    size,
    bytes: (i) => leaves[i]!.bytes,
    inclusion: async (i, s) => (await inclusionProof(h.store, i, s, size)).proof.map(hex),
  };
  return {
    h,
    log,
    beforeCorrection,
    payout: { id: payoutId, index: await index(payoutId) },
    unfundedPayout: { id: unfundedPayoutId, index: await index(unfundedPayoutId) },
    application: { id: applicationId, index: await index(applicationId) },
    clawback: { id: clawbackId, index: await index(clawbackId) },
    correction: { id: correctionId, index: await index(correctionId) },
  };
}

async function deployFixture() {
  const world = await recordedLog();
  const [admin, recorder, funder, beneficiary, stranger] = await ethers.getSigners();
  if (!admin || !recorder || !funder || !beneficiary || !stranger) throw new Error("the test network needs 5 accounts");
  const anchor: LedgerAnchor = await ethers.deployContract("LedgerAnchor", [0, admin.address]);
  await anchor.grantRole(await anchor.RECORDER_ROLE(), recorder.address);
  const escrow: PayoutEscrow = await ethers.deployContract("PayoutEscrow", [await anchor.getAddress(), CHALLENGE]);
  await escrow.connect(funder).fund(world.payout.id, AMOUNT_FEN, beneficiary.address, { value: ONE_ETHER });

  /** Anchors the log's checkpoints of these sizes, in order, each with its consistency proof from the one before. */
  const anchorSizes = async (...sizes: number[]): Promise<void> => {
    let previous = Number((await anchor.latestCheckpoint()).treeSize);
    for (const s of sizes) {
      const root = hex(await rootAt(world.h.store, s));
      const proof = previous === 0 ? [] : (await consistencyProof(world.h.store, previous, s, world.log.size)).proof.map(hex);
      await anchor.connect(recorder).anchor(s, root, proof);
      previous = s;
    }
  };
  const claim = async (index: number, treeSize: number): Promise<Claim> => ({
    entry: hex(world.log.bytes(index)),
    leafIndex: index,
    treeSize,
    proof: await world.log.inclusion(index, treeSize),
  });
  const claimWith = (c: Claim, by = stranger) => escrow.connect(by).claim(c.entry, c.leafIndex, c.treeSize, c.proof);
  const challengeWith = (c: Claim, by = stranger) => escrow.connect(by).challenge(c.entry, c.leafIndex, c.treeSize, c.proof);
  const release = (by = stranger) => escrow.connect(by).release(world.payout.id);
  const payoutKey = ethers.keccak256(utf8.encode(world.payout.id));
  return { ...world, anchor, escrow, funder, beneficiary, stranger, anchorSizes, claim, claimWith, challengeWith, release, payoutKey };
}

/** The payout anchored in a checkpoint taken before its correction was recorded. */
async function anchoredFixture() {
  const f = await deployFixture();
  await f.anchorSizes(f.beforeCorrection);
  return f;
}

describe("PayoutEscrow", function () {
  describe("fund", function () {
    it("records an order and emits PayoutFunded", async function () {
      const { escrow, funder, beneficiary, unfundedPayout } = await loadFixture(deployFixture);
      const key = ethers.keccak256(utf8.encode(unfundedPayout.id));
      await expect(escrow.connect(funder).fund(unfundedPayout.id, 200_000n, beneficiary.address, { value: 5n }))
        .to.emit(escrow, "PayoutFunded")
        .withArgs(key, unfundedPayout.id, beneficiary.address, 200_000n, 5n);
    });

    it("refuses a second order for the same payout", async function () {
      const { escrow, funder, beneficiary, payout, payoutKey } = await loadFixture(deployFixture);
      await expect(escrow.connect(funder).fund(payout.id, AMOUNT_FEN, beneficiary.address, { value: 1n }))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyFunded")
        .withArgs(payoutKey);
    });

    it("refuses an order without beneficiary, amount or value", async function () {
      const { escrow, funder, beneficiary, unfundedPayout } = await loadFixture(deployFixture);
      const bad: [string, bigint, bigint][] = [
        [ethers.ZeroAddress, 1n, 1n],
        [beneficiary.address, 0n, 1n],
        [beneficiary.address, 1n, 0n],
      ];
      for (const [who, amount, value] of bad)
        await expect(escrow.connect(funder).fund(unfundedPayout.id, amount, who, { value }))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowInvalidOrder")
          .withArgs(who, amount, value);
    });
  });

  describe("claim and release", function () {
    it("pay the order's beneficiary once the payout is anchored and the challenge period is over, whoever calls", async function () {
      const { escrow, beneficiary, stranger, payout, claim, claimWith, release, beforeCorrection, payoutKey } = await loadFixture(anchoredFixture);
      const claimed = await (await claimWith(await claim(payout.index, beforeCorrection))).wait();
      const releasableAt = BigInt((await ethers.provider.getBlock(claimed!.blockNumber))!.timestamp + CHALLENGE);
      await expect(claimed).to.emit(escrow, "PayoutClaimed").withArgs(payoutKey, releasableAt);
      await time.setNextBlockTimestamp(releasableAt - 1n);
      await expect(release())
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowChallengePeriod")
        .withArgs(payoutKey, releasableAt, releasableAt - 1n);
      await time.setNextBlockTimestamp(releasableAt);
      const tx = release(stranger);
      await expect(tx).to.emit(escrow, "PayoutReleased").withArgs(payoutKey, beneficiary.address, ONE_ETHER);
      await expect(tx).to.changeEtherBalances([escrow, beneficiary, stranger], [-ONE_ETHER, ONE_ETHER, 0n]);
    });

    it("pay only once", async function () {
      const { escrow, payout, claim, claimWith, release, beforeCorrection, payoutKey, anchorSizes, log } = await loadFixture(anchoredFixture);
      await claimWith(await claim(payout.index, beforeCorrection));
      await expect(claimWith(await claim(payout.index, beforeCorrection)))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyClaimed")
        .withArgs(payoutKey);
      await time.increase(CHALLENGE);
      await release();
      await expect(release()).to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyReleased").withArgs(payoutKey);
      // Nor through another anchored checkpoint that also includes it.
      await anchorSizes(log.size);
      await expect(claimWith(await claim(payout.index, log.size)))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyReleased")
        .withArgs(payoutKey);
    });

    it("release refuses an order never claimed, or never funded", async function () {
      const { escrow, release, payoutKey, unfundedPayout } = await loadFixture(anchoredFixture);
      await expect(release()).to.be.revertedWithCustomError(escrow, "PayoutEscrowNotClaimed").withArgs(payoutKey);
      await expect(escrow.release(unfundedPayout.id))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowNoOrder")
        .withArgs(ethers.keccak256(utf8.encode(unfundedPayout.id)));
    });

    describe("claim refuses, changing nothing,", function () {
      it("a payout recorded but not yet anchored", async function () {
        const { escrow, payout, claim, claimWith, beforeCorrection } = await loadFixture(deployFixture);
        const c = await claim(payout.index, beforeCorrection);
        await expect(claimWith(c))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
          .withArgs(hex(hashLeaf(ethers.getBytes(c.entry))), payout.index, beforeCorrection);
      });

      it("a proof against a size that was never anchored, though genuine", async function () {
        const { escrow, payout, claim, claimWith, log } = await loadFixture(anchoredFixture);
        const c = await claim(payout.index, log.size);
        await expect(claimWith(c))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
          .withArgs(hex(hashLeaf(ethers.getBytes(c.entry))), payout.index, log.size);
      });

      it("a wrong proof: a hash changed, or another leaf's index", async function () {
        const { escrow, payout, claim, claimWith, beforeCorrection } = await loadFixture(anchoredFixture);
        const c = await claim(payout.index, beforeCorrection);
        const leafHash = hex(hashLeaf(ethers.getBytes(c.entry)));
        const garbled = { ...c, proof: c.proof.map((p, i) => (i === 0 ? ethers.ZeroHash : p)) };
        await expect(claimWith(garbled)).to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored").withArgs(leafHash, payout.index, beforeCorrection);
        const moved = { ...c, leafIndex: payout.index - 1 };
        await expect(claimWith(moved)).to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored").withArgs(leafHash, payout.index - 1, beforeCorrection);
      });

      it("the record's bytes edited, for example a larger amount", async function () {
        const { escrow, payout, claim, claimWith, beforeCorrection } = await loadFixture(anchoredFixture);
        const c = await claim(payout.index, beforeCorrection);
        const text = ethers.toUtf8String(c.entry);
        expect(text).to.include('"amountFen":"1000000"');
        const edited = utf8.encode(text.replace('"amountFen":"1000000"', '"amountFen":"9000000"'));
        await expect(claimWith({ ...c, entry: hex(edited) }))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
          .withArgs(hex(hashLeaf(edited)), payout.index, beforeCorrection);
      });

      it("an anchored record that is not a payout", async function () {
        const { escrow, application, claim, claimWith, beforeCorrection, log } = await loadFixture(anchoredFixture);
        const c = await claim(application.index, beforeCorrection);
        expect(ethers.toUtf8String(c.entry)).to.include('"kind":"application"');
        await expect(claimWith(c))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAPayout")
          .withArgs(hex(hashLeaf(log.bytes(application.index))));
      });

      it("an anchored payout nobody funded", async function () {
        const { escrow, unfundedPayout, claim, claimWith, beforeCorrection } = await loadFixture(anchoredFixture);
        await expect(claimWith(await claim(unfundedPayout.index, beforeCorrection)))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNoOrder")
          .withArgs(ethers.keccak256(utf8.encode(unfundedPayout.id)));
      });

      it("an anchored payout whose amount is not the order's", async function () {
        const { escrow, funder, beneficiary, unfundedPayout, claim, claimWith, beforeCorrection } = await loadFixture(anchoredFixture);
        await escrow.connect(funder).fund(unfundedPayout.id, 200_001n, beneficiary.address, { value: 7n });
        await expect(claimWith(await claim(unfundedPayout.index, beforeCorrection)))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowAmountMismatch")
          .withArgs(200_001n, 200_000n);
      });
    });
  });

  describe("for a payout clawed back and revoked after it was anchored", function () {
    /** The corrections anchored too, and the payout claimed from the checkpoint before them. */
    async function correctedFixture() {
      const f = await anchoredFixture();
      await f.claimWith(await f.claim(f.payout.index, f.beforeCorrection));
      await f.anchorSizes(f.log.size);
      return f;
    }

    it("an inclusion proof alone still pays: it proves the record exists, not that it was never corrected", async function () {
      const { escrow, beneficiary, payout, clawback, correction, claim, claimWith, release, log, payoutKey, anchorSizes } = await loadFixture(anchoredFixture);
      await anchorSizes(log.size);
      const revoking = ethers.toUtf8String(hex(log.bytes(correction.index)));
      expect(revoking).to.include(`"targetId":"${payout.id}"`);
      expect(revoking).to.include('"reasonCode":"revoked"');
      expect(ethers.toUtf8String(hex(log.bytes(clawback.index)))).to.include('"reasonCode":"clawback"');
      // The latest checkpoint, which holds both corrections, includes the payout as well.
      await claimWith(await claim(payout.index, log.size));
      await time.increase(CHALLENGE);
      await expect(release()).to.emit(escrow, "PayoutReleased").withArgs(payoutKey, beneficiary.address, ONE_ETHER);
    });

    it("a challenge with an anchored correction during the period cancels the order and refunds the funder", async function () {
      const { escrow, funder, stranger, payoutKey, clawback, correction, claim, challengeWith, release, log } = await loadFixture(correctedFixture);
      for (const c of [clawback, correction]) {
        const leafHash = hex(hashLeaf(log.bytes(c.index)));
        if (c === clawback) {
          const tx = challengeWith(await claim(c.index, log.size), stranger);
          await expect(tx).to.emit(escrow, "PayoutCancelled").withArgs(payoutKey, leafHash, funder.address, ONE_ETHER);
          await expect(tx).to.changeEtherBalances([escrow, funder, stranger], [-ONE_ETHER, ONE_ETHER, 0n]);
        } else {
          // The second correction finds the order already cancelled.
          await expect(challengeWith(await claim(c.index, log.size))).to.be.revertedWithCustomError(escrow, "PayoutEscrowCancelled").withArgs(payoutKey);
        }
      }
      await time.increase(CHALLENGE);
      await expect(release()).to.be.revertedWithCustomError(escrow, "PayoutEscrowCancelled").withArgs(payoutKey);
    });

    it("a challenge comes too late once the order is paid: the guard needs a watcher within the period", async function () {
      const { escrow, payoutKey, correction, claim, challengeWith, release, log } = await loadFixture(correctedFixture);
      await time.increase(CHALLENGE);
      await release();
      await expect(challengeWith(await claim(correction.index, log.size)))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyReleased")
        .withArgs(payoutKey);
    });

    it("a challenge refuses an entry that is not an anchored correction", async function () {
      const { escrow, payout, correction, claim, challengeWith, beforeCorrection, log } = await loadFixture(correctedFixture);
      const notCorrection = await claim(payout.index, beforeCorrection);
      await expect(challengeWith(notCorrection))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotACorrection")
        .withArgs(hex(hashLeaf(log.bytes(payout.index))));
      const c = await claim(correction.index, log.size);
      const garbled = { ...c, proof: c.proof.map((p, i) => (i === 0 ? ethers.ZeroHash : p)) };
      await expect(challengeWith(garbled))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
        .withArgs(hex(hashLeaf(log.bytes(correction.index))), correction.index, log.size);
    });
  });
});
