/**
 * PayoutEscrow, the example contract that pays a subsidy only once its payout record is anchored.
 *
 * The records are real: the service's own Ledger on a memory store records a programme, an
 * application, a decision and payouts (test/helpers/ledger-fixtures.ts), and the leaves, roots,
 * inclusion and consistency proofs come from its store, exactly as receipts and the anchorer get
 * them. Checkpoints go on a real LedgerAnchor.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { hashLeaf } from "../../service/log";
import { consistencyProof, inclusionProof, rootAt } from "../../service/ledger/proofs";
import { Harness } from "../helpers/ledger-fixtures";
import type { LedgerAnchor, PayoutEscrow } from "../../.cache/typechain";

const hex = (b: Uint8Array): string => ethers.hexlify(b);
const utf8 = new TextEncoder();
const ONE_ETHER = ethers.parseEther("1");
/** payoutRequest's default amount, in fen. */
const AMOUNT_FEN = 1_000_000n;

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
  const escrow: PayoutEscrow = await ethers.deployContract("PayoutEscrow", [await anchor.getAddress()]);
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
  const release = (c: Claim, by = stranger) => escrow.connect(by).release(c.entry, c.leafIndex, c.treeSize, c.proof);
  const payoutKey = ethers.keccak256(utf8.encode(world.payout.id));
  return { ...world, anchor, escrow, funder, beneficiary, stranger, anchorSizes, claim, release, payoutKey };
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

  describe("release", function () {
    it("pays the order's beneficiary once the payout is anchored, whoever calls", async function () {
      const { escrow, beneficiary, stranger, payout, claim, release, beforeCorrection, payoutKey } = await loadFixture(anchoredFixture);
      const c = await claim(payout.index, beforeCorrection);
      const tx = release(c, stranger);
      await expect(tx).to.emit(escrow, "PayoutReleased").withArgs(payoutKey, beneficiary.address, ONE_ETHER);
      await expect(tx).to.changeEtherBalances([escrow, beneficiary, stranger], [-ONE_ETHER, ONE_ETHER, 0n]);
    });

    it("refuses to pay twice", async function () {
      const { escrow, payout, claim, release, beforeCorrection, payoutKey, anchorSizes, log } = await loadFixture(anchoredFixture);
      await release(await claim(payout.index, beforeCorrection));
      await expect(release(await claim(payout.index, beforeCorrection)))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyReleased")
        .withArgs(payoutKey);
      // Nor through another anchored checkpoint that also includes it.
      await anchorSizes(log.size);
      await expect(release(await claim(payout.index, log.size)))
        .to.be.revertedWithCustomError(escrow, "PayoutEscrowAlreadyReleased")
        .withArgs(payoutKey);
    });

    describe("refuses, paying nothing,", function () {
      it("a payout recorded but not yet anchored", async function () {
        const { escrow, payout, claim, release, beforeCorrection } = await loadFixture(deployFixture);
        const c = await claim(payout.index, beforeCorrection);
        await expect(release(c))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
          .withArgs(hex(hashLeaf(ethers.getBytes(c.entry))), payout.index, beforeCorrection);
      });

      it("a proof against a size that was never anchored, though genuine", async function () {
        const { escrow, payout, claim, release, log } = await loadFixture(anchoredFixture);
        const c = await claim(payout.index, log.size);
        await expect(release(c))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
          .withArgs(hex(hashLeaf(ethers.getBytes(c.entry))), payout.index, log.size);
      });

      it("a wrong proof: a hash changed, or another leaf's index", async function () {
        const { escrow, payout, claim, release, beforeCorrection } = await loadFixture(anchoredFixture);
        const c = await claim(payout.index, beforeCorrection);
        const leafHash = hex(hashLeaf(ethers.getBytes(c.entry)));
        const garbled = { ...c, proof: c.proof.map((p, i) => (i === 0 ? ethers.ZeroHash : p)) };
        await expect(release(garbled)).to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored").withArgs(leafHash, payout.index, beforeCorrection);
        const moved = { ...c, leafIndex: payout.index - 1 };
        await expect(release(moved)).to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored").withArgs(leafHash, payout.index - 1, beforeCorrection);
      });

      it("the record's bytes edited, for example a larger amount", async function () {
        const { escrow, payout, claim, release, beforeCorrection } = await loadFixture(anchoredFixture);
        const c = await claim(payout.index, beforeCorrection);
        const text = ethers.toUtf8String(c.entry);
        expect(text).to.include('"amountFen":"1000000"');
        const edited = utf8.encode(text.replace('"amountFen":"1000000"', '"amountFen":"9000000"'));
        await expect(release({ ...c, entry: hex(edited) }))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAnchored")
          .withArgs(hex(hashLeaf(edited)), payout.index, beforeCorrection);
      });

      it("an anchored record that is not a payout", async function () {
        const { escrow, application, claim, release, beforeCorrection, log } = await loadFixture(anchoredFixture);
        const c = await claim(application.index, beforeCorrection);
        expect(ethers.toUtf8String(c.entry)).to.include('"kind":"application"');
        await expect(release(c))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNotAPayout")
          .withArgs(hex(hashLeaf(log.bytes(application.index))));
      });

      it("an anchored payout nobody funded", async function () {
        const { escrow, unfundedPayout, claim, release, beforeCorrection } = await loadFixture(anchoredFixture);
        await expect(release(await claim(unfundedPayout.index, beforeCorrection)))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowNoOrder")
          .withArgs(ethers.keccak256(utf8.encode(unfundedPayout.id)));
      });

      it("an anchored payout whose amount is not the order's", async function () {
        const { escrow, funder, beneficiary, unfundedPayout, claim, release, beforeCorrection } = await loadFixture(anchoredFixture);
        await escrow.connect(funder).fund(unfundedPayout.id, 200_001n, beneficiary.address, { value: 7n });
        await expect(release(await claim(unfundedPayout.index, beforeCorrection)))
          .to.be.revertedWithCustomError(escrow, "PayoutEscrowAmountMismatch")
          .withArgs(200_001n, 200_000n);
      });
    });

    describe("for a payout revoked after it was anchored", function () {
      it("still pays: an inclusion proves the record exists, not that it was never corrected", async function () {
        const { escrow, beneficiary, payout, clawback, correction, claim, release, log, anchorSizes, payoutKey } = await loadFixture(anchoredFixture);
        // The correction that revokes the payout is recorded and anchored too.
        await anchorSizes(log.size);
        const revoking = ethers.toUtf8String(hex(log.bytes(correction.index)));
        expect(revoking).to.include(`"targetId":"${payout.id}"`);
        expect(revoking).to.include('"reasonCode":"revoked"');
        expect(ethers.toUtf8String(hex(log.bytes(clawback.index)))).to.include('"reasonCode":"clawback"');
        // Both the pre-correction checkpoint and the latest one include the payout, and either releases it.
        await expect(release(await claim(payout.index, log.size)))
          .to.emit(escrow, "PayoutReleased")
          .withArgs(payoutKey, beneficiary.address, ONE_ETHER);
      });
    });
  });
});
