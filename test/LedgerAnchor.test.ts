/**
 * LedgerAnchor: anchoring rules, access control, pausing, the two-step admin transfer, the
 * views, and the on-chain RFC 9162 verifiers checked verdict for verdict against the
 * TypeScript verifier of service/log on every small (m, n) and (index, n) pair, a sample up to
 * 70 leaves, and uniform trees up to 2^53 − 1 leaves.
 *
 * Most tests use LedgerAnchorHarness, whose clock the test sets; the ones about real time and
 * gas use LedgerAnchor itself.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  EMPTY_ROOT,
  hashLeaf,
  MemoryTree,
  VerificationError,
  verifyConsistency as tsVerifyConsistency,
  verifyInclusion as tsVerifyInclusion,
} from "../service/log";
import { UniformTree } from "../scripts/lib/uniform-tree";
import { ILedgerAnchor__factory, type LedgerAnchor, type LedgerAnchorHarness } from "../.cache/typechain";
import { prng } from "../service/prng";

const utf8 = new TextEncoder();
const entry = (tag: string, i: number): Uint8Array => hashLeaf(utf8.encode(`{"i":${i},"t":"${tag}","v":1}`));
const leaves = (tag: string, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => entry(tag, i));

const SIZE = 70;
/** The log under test. */
const A = new MemoryTree(leaves("a", SIZE));
/** An unrelated log. */
const B = new MemoryTree(leaves("b", SIZE));
/** A rewrite of A: the same first 8 leaves, then a different history. */
const FORK = new MemoryTree([...leaves("a", 8), ...leaves("fork", SIZE - 8)]);
/** A uniform tree for sizes far beyond what can be built. */
const U = new UniformTree(entry("u", 0));

const OTHER = entry("not in any tree", 0);
const hex = (b: Uint8Array): string => ethers.hexlify(b);
const hexes = (proof: readonly Uint8Array[]): string[] => proof.map(hex);
const EMPTY = hex(EMPTY_ROOT);
const ZERO = ethers.ZeroHash;
const MAX_U64 = 2n ** 64n - 1n;

const ADMIN_DELAY = 3 * 24 * 60 * 60;
const T0 = 1_750_000_000n;

/** The byte string with bit `bit` (0 = most significant of byte 0) flipped. */
function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(h);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

/** The TypeScript verifier's verdict: true, or false on a VerificationError (anything else is a bug and rethrown). */
function tsVerdict(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (error) {
    if (error instanceof VerificationError) return false;
    throw error;
  }
}

interface ConsistencyCase {
  readonly desc: string;
  readonly size1: number;
  readonly size2: number;
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  readonly proof: readonly Uint8Array[];
}

interface InclusionCase {
  readonly desc: string;
  readonly leaf: Uint8Array;
  readonly index: number;
  readonly size: number;
  readonly root: Uint8Array;
  readonly proof: readonly Uint8Array[];
}

/** The valid consistency proof of (m, n) in `tree`, then mutations of it named after the change. */
function consistencyCases(tree: MemoryTree, m: number, n: number): ConsistencyCase[] {
  const root1 = tree.root(m);
  const root2 = tree.root(n);
  const proof = tree.consistencyProof(m, n);
  const base = { size1: m, size2: n, root1, root2, proof };
  const cases: ConsistencyCase[] = [{ desc: "happy-path", ...base }];
  proof.forEach((p, i) => {
    const bit = (i * 37 + m * 7 + n) % 256;
    cases.push({ desc: `modified-proof@${i}-bit-@${bit}`, ...base, proof: proof.map((q, j) => (j === i ? flipBit(p, bit) : q)) });
  });
  if (proof.length > 0) cases.push({ desc: "truncated-proof", ...base, proof: proof.slice(0, -1) });
  if (proof.length > 1) cases.push({ desc: "reversed-proof", ...base, proof: [...proof].reverse() });
  cases.push({ desc: "trailing-garbage", ...base, proof: [...proof, OTHER] });
  cases.push({ desc: "leading-garbage", ...base, proof: [OTHER, ...proof] });
  cases.push({ desc: "swapped-roots", ...base, root1: root2, root2: root1 });
  cases.push({ desc: "modified-root1", ...base, root1: flipBit(root1, 255) });
  cases.push({ desc: "modified-root2", ...base, root2: flipBit(root2, 0) });
  cases.push({ desc: "root1-is-empty-root", ...base, root1: EMPTY_ROOT });
  cases.push({ desc: "size2-plus-one", ...base, size2: n + 1 });
  if (m + 1 <= n) cases.push({ desc: "size1-plus-one", ...base, size1: m + 1 });
  if (m > 0) cases.push({ desc: "size1-minus-one", ...base, size1: m - 1 });
  if (n > m) cases.push({ desc: "sizes-swapped", ...base, size1: n, size2: m });
  return cases;
}

/** The valid inclusion proof of leaf i in the first n leaves of `tree`, then mutations of it. */
function inclusionCases(tree: MemoryTree, i: number, n: number): InclusionCase[] {
  const leaf = tree.leafHash(i);
  const root = tree.root(n);
  const proof = tree.inclusionProof(i, n);
  const base = { leaf, index: i, size: n, root, proof };
  const cases: InclusionCase[] = [{ desc: "happy-path", ...base }];
  proof.forEach((p, k) => {
    const bit = (k * 41 + i * 3 + n) % 256;
    cases.push({ desc: `modified-proof@${k}-bit-@${bit}`, ...base, proof: proof.map((q, j) => (j === k ? flipBit(p, bit) : q)) });
  });
  if (proof.length > 0) cases.push({ desc: "truncated-proof", ...base, proof: proof.slice(0, -1) });
  if (proof.length > 1) cases.push({ desc: "reversed-proof", ...base, proof: [...proof].reverse() });
  cases.push({ desc: "trailing-garbage", ...base, proof: [...proof, OTHER] });
  cases.push({ desc: "modified-leaf", ...base, leaf: flipBit(leaf, 7) });
  cases.push({ desc: "modified-root", ...base, root: flipBit(root, 100) });
  cases.push({ desc: "index-plus-one", ...base, index: i + 1 });
  if (i > 0) cases.push({ desc: "index-minus-one", ...base, index: i - 1 });
  cases.push({ desc: "size-plus-one", ...base, size: n + 1 });
  cases.push({ desc: "size-minus-one", ...base, size: n - 1 });
  cases.push({ desc: "index-equals-size", ...base, index: n });
  return cases;
}

async function signers(): Promise<Record<"admin" | "recorder" | "pauser" | "stranger" | "newAdmin", HardhatEthersSigner>> {
  const [admin, recorder, pauser, stranger, newAdmin] = await ethers.getSigners();
  if (!admin || !recorder || !pauser || !stranger || !newAdmin) throw new Error("the test network needs 5 accounts");
  return { admin, recorder, pauser, stranger, newAdmin };
}

async function deployFixture() {
  const accounts = await signers();
  const anchor: LedgerAnchorHarness = await ethers.deployContract("LedgerAnchorHarness", [ADMIN_DELAY, accounts.admin.address]);
  const RECORDER_ROLE = await anchor.RECORDER_ROLE();
  const PAUSER_ROLE = await anchor.PAUSER_ROLE();
  const DEFAULT_ADMIN_ROLE = await anchor.DEFAULT_ADMIN_ROLE();
  await anchor.grantRole(RECORDER_ROLE, accounts.recorder.address);
  await anchor.grantRole(PAUSER_ROLE, accounts.pauser.address);
  await anchor.setTime(T0);
  return { ...accounts, anchor, recorder: accounts.recorder, asRecorder: anchor.connect(accounts.recorder), RECORDER_ROLE, PAUSER_ROLE, DEFAULT_ADMIN_ROLE };
}

/** Checkpoints of A at these sizes, anchored at T0, T0 + 1, … */
const ANCHORED = [1, 2, 3, 5, 8, 13, 21, 34, 55, 70];

async function anchoredFixture() {
  const f = await deployFixture();
  let previous = 0;
  for (const [k, size] of ANCHORED.entries()) {
    await f.anchor.setTime(T0 + BigInt(k));
    await f.asRecorder.anchor(size, hex(A.root(size)), previous === 0 ? [] : hexes(A.consistencyProof(previous, size)));
    previous = size;
  }
  return f;
}

/** The production contract (clock = block time) with a recorder. */
async function productionFixture() {
  const { admin, recorder } = await signers();
  const anchor: LedgerAnchor = await ethers.deployContract("LedgerAnchor", [ADMIN_DELAY, admin.address]);
  await anchor.grantRole(await anchor.RECORDER_ROLE(), recorder.address);
  return { anchor, asRecorder: anchor.connect(recorder) };
}

describe("LedgerAnchor", function () {
  describe("when deployed", function () {
    it("makes the given account the only default admin, with the given transfer delay", async function () {
      const { anchor, admin, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      expect(await anchor.defaultAdmin()).to.equal(admin.address);
      expect(await anchor.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await anchor.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await anchor.getRoleAdmin(await anchor.RECORDER_ROLE())).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await anchor.getRoleAdmin(await anchor.PAUSER_ROLE())).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("names its roles by the keccak256 of their names", async function () {
      const { RECORDER_ROLE, PAUSER_ROLE } = await loadFixture(deployFixture);
      expect(RECORDER_ROLE).to.equal(ethers.id("RECORDER_ROLE"));
      expect(PAUSER_ROLE).to.equal(ethers.id("PAUSER_ROLE"));
    });

    it("gives the admin neither the recorder nor the pauser role", async function () {
      const { anchor, admin, RECORDER_ROLE, PAUSER_ROLE } = await loadFixture(deployFixture);
      expect(await anchor.hasRole(RECORDER_ROLE, admin.address)).to.equal(false);
      expect(await anchor.hasRole(PAUSER_ROLE, admin.address)).to.equal(false);
    });

    it("has no checkpoint, and latestCheckpoint is the zero checkpoint", async function () {
      const { anchor } = await loadFixture(deployFixture);
      expect(await anchor.checkpointCount()).to.equal(0n);
      const latest = await anchor.latestCheckpoint();
      expect([latest.treeSize, latest.timestamp, latest.rootHash]).to.deep.equal([0n, 0n, ZERO]);
      expect(await anchor.paused()).to.equal(false);
    });

    it("reports ILedgerAnchor, IAccessControl and ERC-165 through supportsInterface", async function () {
      const { anchor } = await loadFixture(deployFixture);
      let id = 0n;
      ILedgerAnchor__factory.createInterface().forEachFunction((f) => {
        id ^= BigInt(f.selector);
      });
      expect(await anchor.supportsInterface(ethers.toBeHex(id, 4))).to.equal(true);
      expect(await anchor.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await anchor.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await anchor.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("refuses the zero address as initial admin", async function () {
      const factory = await ethers.getContractFactory("LedgerAnchor");
      await expect(factory.deploy(ADMIN_DELAY, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "AccessControlInvalidDefaultAdmin")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("anchor", function () {
    describe("for the first checkpoint", function () {
      it("stores the size, the root and the time, and emits CheckpointAnchored at index 0", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        await anchor.setTime(T0 + 42n);
        await expect(asRecorder.anchor(13, hex(A.root(13)), []))
          .to.emit(anchor, "CheckpointAnchored")
          .withArgs(0n, 13n, hex(A.root(13)));
        expect(await anchor.checkpointCount()).to.equal(1n);
        const c = await anchor.checkpointAt(0);
        expect([c.treeSize, c.timestamp, c.rootHash]).to.deep.equal([13n, T0 + 42n, hex(A.root(13))]);
      });

      it("accepts a single leaf", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        await expect(asRecorder.anchor(1, hex(A.root(1)), [])).to.emit(anchor, "CheckpointAnchored").withArgs(0n, 1n, hex(A.leafHash(0)));
      });

      it("refuses the empty tree (size 0) as not extending", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        await expect(asRecorder.anchor(0, EMPTY, []))
          .to.be.revertedWithCustomError(anchor, "LedgerAnchorNotExtending")
          .withArgs(0n, 0n);
      });

      it("refuses any proof, since there is nothing to be consistent with", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        await expect(asRecorder.anchor(13, hex(A.root(13)), hexes(A.consistencyProof(5, 13))))
          .to.be.revertedWithCustomError(anchor, "LedgerAnchorInvalidProofLength")
          .withArgs(A.consistencyProof(5, 13).length, 0n);
      });
    });

    describe("for a later checkpoint", function () {
      it("accepts the consistency proof the TypeScript library produces, and stores the checkpoint", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        await asRecorder.anchor(5, hex(A.root(5)), []);
        await anchor.setTime(T0 + 60n);
        await expect(asRecorder.anchor(13, hex(A.root(13)), hexes(A.consistencyProof(5, 13))))
          .to.emit(anchor, "CheckpointAnchored")
          .withArgs(1n, 13n, hex(A.root(13)));
        const c = await anchor.latestCheckpoint();
        expect([c.treeSize, c.timestamp, c.rootHash]).to.deep.equal([13n, T0 + 60n, hex(A.root(13))]);
        expect(await anchor.checkpointCount()).to.equal(2n);
      });

      it("accepts every growth step of a log, power-of-two sizes included", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        const steps = [1, 2, 4, 7, 8, 9, 16, 31, 32, 33, 63, 64, 65, 70];
        await asRecorder.anchor(1, hex(A.root(1)), []);
        for (let k = 1; k < steps.length; k++) {
          const [m, n] = [steps[k - 1]!, steps[k]!];
          await expect(asRecorder.anchor(n, hex(A.root(n)), hexes(A.consistencyProof(m, n))))
            .to.emit(anchor, "CheckpointAnchored")
            .withArgs(BigInt(k), BigInt(n), hex(A.root(n)));
        }
        expect(await anchor.checkpointCount()).to.equal(BigInt(steps.length));
      });

      it("accepts a step of one leaf", async function () {
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        await asRecorder.anchor(69, hex(A.root(69)), []);
        await expect(asRecorder.anchor(70, hex(A.root(70)), hexes(A.consistencyProof(69, 70)))).to.emit(anchor, "CheckpointAnchored");
      });

      it("refuses a smaller tree", async function () {
        const { anchor, asRecorder } = await loadFixture(anchoredFixture);
        await expect(asRecorder.anchor(55, hex(A.root(55)), []))
          .to.be.revertedWithCustomError(anchor, "LedgerAnchorNotExtending")
          .withArgs(70n, 55n);
      });

      it("refuses the same size, even with the same root", async function () {
        const { anchor, asRecorder } = await loadFixture(anchoredFixture);
        await expect(asRecorder.anchor(70, hex(A.root(70)), []))
          .to.be.revertedWithCustomError(anchor, "LedgerAnchorNotExtending")
          .withArgs(70n, 70n);
      });

      it("refuses size 0", async function () {
        const { anchor, asRecorder } = await loadFixture(anchoredFixture);
        await expect(asRecorder.anchor(0, EMPTY, []))
          .to.be.revertedWithCustomError(anchor, "LedgerAnchorNotExtending")
          .withArgs(70n, 0n);
      });

      describe("that rewrites history", function () {
        it("refuses another log's tree with that log's own valid consistency proof", async function () {
          const { anchor, asRecorder } = await loadFixture(deployFixture);
          await asRecorder.anchor(13, hex(A.root(13)), []);
          // B's proof is a genuine RFC 9162 proof, but from B's 13-leaf tree, not the anchored one.
          const proof = B.consistencyProof(13, 40);
          expect(tsVerdict(() => tsVerifyConsistency(13, 40, B.root(13), B.root(40), proof))).to.equal(true);
          await expect(asRecorder.anchor(40, hex(B.root(40)), hexes(proof)))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
            .withArgs(13n, hex(A.root(13)), 40n, hex(B.root(40)));
        });

        it("refuses a fork that keeps an earlier prefix but changes anchored leaves", async function () {
          const { anchor, asRecorder } = await loadFixture(deployFixture);
          await asRecorder.anchor(13, hex(A.root(13)), []);
          // FORK agrees with A on the first 8 leaves only; its proof from 13 is valid for FORK.
          await expect(asRecorder.anchor(40, hex(FORK.root(40)), hexes(FORK.consistencyProof(13, 40))))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
            .withArgs(13n, hex(A.root(13)), 40n, hex(FORK.root(40)));
        });

        it("refuses another root with the right log's proof", async function () {
          const { anchor, asRecorder } = await loadFixture(deployFixture);
          await asRecorder.anchor(13, hex(A.root(13)), []);
          await expect(asRecorder.anchor(40, hex(FORK.root(40)), hexes(A.consistencyProof(13, 40))))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
            .withArgs(13n, hex(A.root(13)), 40n, hex(FORK.root(40)));
        });

        it("refuses a proof made for another old size", async function () {
          const { anchor, asRecorder } = await loadFixture(deployFixture);
          await asRecorder.anchor(13, hex(A.root(13)), []);
          // (15, 40) and (13, 40) proofs have the same length, so only the hashes can tell.
          const proof = A.consistencyProof(15, 40);
          expect(proof.length).to.equal(A.consistencyProof(13, 40).length);
          await expect(asRecorder.anchor(40, hex(A.root(40)), hexes(proof)))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
            .withArgs(13n, hex(A.root(13)), 40n, hex(A.root(40)));
        });
      });

      describe("with a malformed proof", function () {
        async function at13() {
          const f = await loadFixture(deployFixture);
          await f.asRecorder.anchor(13, hex(A.root(13)), []);
          return { ...f, proof: A.consistencyProof(13, 40), root: hex(A.root(40)) };
        }

        it("refuses an empty one", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          await expect(asRecorder.anchor(40, root, []))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInvalidProofLength")
            .withArgs(0n, BigInt(proof.length));
        });

        it("refuses a truncated one", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          await expect(asRecorder.anchor(40, root, hexes(proof.slice(0, -1))))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInvalidProofLength")
            .withArgs(BigInt(proof.length - 1), BigInt(proof.length));
        });

        it("refuses one with trailing garbage", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          await expect(asRecorder.anchor(40, root, hexes([...proof, OTHER])))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInvalidProofLength")
            .withArgs(BigInt(proof.length + 1), BigInt(proof.length));
        });

        it("refuses one with any single bit flipped", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          for (const [i, p] of proof.entries())
            for (const bit of [0, 131, 255]) {
              const garbled = proof.map((q, j) => (j === i ? flipBit(p, bit) : q));
              await expect(asRecorder.anchor(40, root, hexes(garbled)))
                .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
                .withArgs(13n, hex(A.root(13)), 40n, root);
            }
        });

        it("refuses one in the wrong order", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          await expect(asRecorder.anchor(40, root, hexes([...proof].reverse())))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
            .withArgs(13n, hex(A.root(13)), 40n, root);
        });

        it("refuses one of all-zero hashes", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          await expect(asRecorder.anchor(40, root, proof.map(() => ZERO)))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
            .withArgs(13n, hex(A.root(13)), 40n, root);
        });

        it("and leaves the anchored state untouched after any refusal", async function () {
          const { anchor, asRecorder, root, proof } = await at13();
          await expect(asRecorder.anchor(40, root, hexes(proof.slice(1)))).to.be.revertedWithCustomError(anchor, "LedgerAnchorInvalidProofLength");
          expect(await anchor.checkpointCount()).to.equal(1n);
          expect((await anchor.latestCheckpoint()).treeSize).to.equal(13n);
          await expect(asRecorder.anchor(40, root, hexes(proof))).to.emit(anchor, "CheckpointAnchored").withArgs(1n, 40n, root);
        });
      });

      describe("at sizes no test can build", function () {
        const cases: [number, number][] = [
          [999_000, 1_000_000],
          [2 ** 32 - 1000, 2 ** 32],
          [2 ** 32, 2 ** 32 + 1],
          [1, 2 ** 40],
          [2 ** 52 + 12345, Number.MAX_SAFE_INTEGER],
        ];
        for (const [m, n] of cases)
          it(`accepts a genuine proof from ${m} to ${n} leaves of a uniform tree, and refuses it garbled`, async function () {
            const { anchor, asRecorder } = await loadFixture(deployFixture);
            await asRecorder.anchor(m, hex(U.root(m)), []);
            const proof = U.consistencyProof(m, n);
            const garbled = proof.map((q, j) => (j === proof.length - 1 ? flipBit(q, 9) : q));
            await expect(asRecorder.anchor(n, hex(U.root(n)), hexes(garbled)))
              .to.be.revertedWithCustomError(anchor, "LedgerAnchorInconsistent")
              .withArgs(BigInt(m), hex(U.root(m)), BigInt(n), hex(U.root(n)));
            await expect(asRecorder.anchor(n, hex(U.root(n)), hexes(proof)))
              .to.emit(anchor, "CheckpointAnchored")
              .withArgs(1n, BigInt(n), hex(U.root(n)));
          });
      });

      describe("at 1,000,000 entries", function () {
        // Of all m in [999,000, 999,999], 999,423 needs the longest proof to 1,000,000 (20 hashes)
        // with the most SHA-256 calls (36); 999,000 is the anchorer's 1,000-entry step.
        for (const m of [999_000, 999_423])
          it(`costs at most 100,000 gas from ${m}, at an odd index (two new slots) and at an even one`, async function () {
            const proof = U.consistencyProof(m, 1_000_000);
            for (const before of [[m], [m - 1, m]]) {
              const { anchor, asRecorder } = await loadFixture(productionFixture);
              let last = 0;
              for (const size of before) {
                await asRecorder.anchor(size, hex(U.root(size)), last === 0 ? [] : hexes(U.consistencyProof(last, size)));
                last = size;
              }
              const receipt = await (await asRecorder.anchor(1_000_000, hex(U.root(1_000_000)), hexes(proof))).wait();
              expect(receipt?.gasUsed, `index ${before.length}`).to.be.a("bigint").and.to.be.at.most(100_000n);
              expect((await anchor.latestCheckpoint()).treeSize).to.equal(1_000_000n);
            }
          });
      });
    });

    describe("when the caller lacks the recorder role", function () {
      it("refuses a stranger", async function () {
        const { anchor, stranger, RECORDER_ROLE } = await loadFixture(deployFixture);
        await expect(anchor.connect(stranger).anchor(13, hex(A.root(13)), []))
          .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, RECORDER_ROLE);
      });

      it("refuses the admin and the pauser, who do not hold it", async function () {
        const { anchor, admin, pauser, RECORDER_ROLE } = await loadFixture(deployFixture);
        for (const who of [admin, pauser])
          await expect(anchor.connect(who).anchor(13, hex(A.root(13)), []))
            .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
            .withArgs(who.address, RECORDER_ROLE);
      });

      it("refuses a recorder whose role was revoked", async function () {
        const { anchor, asRecorder, recorder, RECORDER_ROLE } = await loadFixture(deployFixture);
        await expect(anchor.revokeRole(RECORDER_ROLE, recorder.address))
          .to.emit(anchor, "RoleRevoked")
          .withArgs(RECORDER_ROLE, recorder.address, (await signers()).admin.address);
        await expect(asRecorder.anchor(13, hex(A.root(13)), []))
          .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
          .withArgs(recorder.address, RECORDER_ROLE);
      });
    });

    describe("while paused", function () {
      it("refuses to anchor, and anchors again once unpaused", async function () {
        const { anchor, asRecorder, pauser } = await loadFixture(deployFixture);
        await anchor.connect(pauser).pause();
        await expect(asRecorder.anchor(13, hex(A.root(13)), [])).to.be.revertedWithCustomError(anchor, "EnforcedPause").withArgs();
        expect(await anchor.checkpointCount()).to.equal(0n);
        await anchor.connect(pauser).unpause();
        await expect(asRecorder.anchor(13, hex(A.root(13)), []))
          .to.emit(anchor, "CheckpointAnchored")
          .withArgs(0n, 13n, hex(A.root(13)));
      });

      it("refuses even a valid extension, but still answers every view", async function () {
        const { anchor, asRecorder, pauser } = await loadFixture(deployFixture);
        await asRecorder.anchor(13, hex(A.root(13)), []);
        await anchor.connect(pauser).pause();
        await expect(asRecorder.anchor(40, hex(A.root(40)), hexes(A.consistencyProof(13, 40))))
          .to.be.revertedWithCustomError(anchor, "EnforcedPause")
          .withArgs();
        expect(await anchor.checkpointCount()).to.equal(1n);
        expect((await anchor.latestCheckpoint()).treeSize).to.equal(13n);
        expect(await anchor.isAnchored(13, hex(A.root(13)))).to.equal(true);
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), 3, 13, hexes(A.inclusionProof(3, 13)))).to.equal(true);
      });
    });
  });

  describe("pause and unpause", function () {
    it("let the pauser pause and unpause, emitting Paused and Unpaused", async function () {
      const { anchor, pauser } = await loadFixture(deployFixture);
      await expect(anchor.connect(pauser).pause()).to.emit(anchor, "Paused").withArgs(pauser.address);
      expect(await anchor.paused()).to.equal(true);
      await expect(anchor.connect(pauser).unpause()).to.emit(anchor, "Unpaused").withArgs(pauser.address);
      expect(await anchor.paused()).to.equal(false);
    });

    it("refuse anyone without the pauser role, the admin and recorders included", async function () {
      const { anchor, admin, recorder, stranger, pauser, PAUSER_ROLE } = await loadFixture(deployFixture);
      for (const who of [admin, recorder, stranger])
        await expect(anchor.connect(who).pause())
          .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, PAUSER_ROLE);
      await anchor.connect(pauser).pause();
      for (const who of [admin, recorder, stranger])
        await expect(anchor.connect(who).unpause())
          .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, PAUSER_ROLE);
    });

    it("refuse to pause twice or to unpause when running", async function () {
      const { anchor, pauser } = await loadFixture(deployFixture);
      await expect(anchor.connect(pauser).unpause()).to.be.revertedWithCustomError(anchor, "ExpectedPause").withArgs();
      await anchor.connect(pauser).pause();
      await expect(anchor.connect(pauser).pause()).to.be.revertedWithCustomError(anchor, "EnforcedPause").withArgs();
    });
  });

  describe("roles", function () {
    it("cannot be granted by a recorder, not even to itself or another recorder", async function () {
      const { anchor, asRecorder, recorder, stranger, RECORDER_ROLE, PAUSER_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      for (const [role, account] of [
        [RECORDER_ROLE, stranger.address],
        [PAUSER_ROLE, recorder.address],
      ] as const)
        await expect(asRecorder.grantRole(role, account))
          .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
          .withArgs(recorder.address, DEFAULT_ADMIN_ROLE);
      await expect(asRecorder.revokeRole(RECORDER_ROLE, recorder.address))
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(recorder.address, DEFAULT_ADMIN_ROLE);
      await expect(asRecorder.beginDefaultAdminTransfer(recorder.address))
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(recorder.address, DEFAULT_ADMIN_ROLE);
    });

    it("cannot be granted by a pauser", async function () {
      const { anchor, pauser, stranger, RECORDER_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      await expect(anchor.connect(pauser).grantRole(RECORDER_ROLE, stranger.address))
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(pauser.address, DEFAULT_ADMIN_ROLE);
    });

    it("are granted by the admin, emitting RoleGranted", async function () {
      const { anchor, admin, stranger, RECORDER_ROLE } = await loadFixture(deployFixture);
      await expect(anchor.grantRole(RECORDER_ROLE, stranger.address))
        .to.emit(anchor, "RoleGranted")
        .withArgs(RECORDER_ROLE, stranger.address, admin.address);
      await expect(anchor.connect(stranger).anchor(1, hex(A.root(1)), [])).to.emit(anchor, "CheckpointAnchored");
    });

    it("never include the default admin role, which only the two-step transfer moves", async function () {
      const { anchor, stranger, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      await expect(anchor.grantRole(DEFAULT_ADMIN_ROLE, stranger.address)).to.be.revertedWithCustomError(
        anchor,
        "AccessControlEnforcedDefaultAdminRules",
      ).withArgs();
      await expect(anchor.revokeRole(DEFAULT_ADMIN_ROLE, (await signers()).admin.address)).to.be.revertedWithCustomError(
        anchor,
        "AccessControlEnforcedDefaultAdminRules",
      ).withArgs();
    });

    it("can be renounced only by their holder, with its own address as confirmation", async function () {
      const { anchor, asRecorder, recorder, stranger, RECORDER_ROLE } = await loadFixture(deployFixture);
      await expect(asRecorder.renounceRole(RECORDER_ROLE, stranger.address)).to.be.revertedWithCustomError(
        anchor,
        "AccessControlBadConfirmation",
      ).withArgs();
      await expect(asRecorder.renounceRole(RECORDER_ROLE, recorder.address))
        .to.emit(anchor, "RoleRevoked")
        .withArgs(RECORDER_ROLE, recorder.address, recorder.address);
      expect(await anchor.hasRole(RECORDER_ROLE, recorder.address)).to.equal(false);
    });
  });

  describe("admin transfer", function () {
    it("takes two steps, and the new admin can accept only after the delay", async function () {
      const { anchor, admin, newAdmin, stranger, RECORDER_ROLE, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      const begun = await anchor.beginDefaultAdminTransfer(newAdmin.address);
      const block = await ethers.provider.getBlock((await begun.wait())!.blockNumber);
      const schedule = BigInt(block!.timestamp) + BigInt(ADMIN_DELAY);
      await expect(begun).to.emit(anchor, "DefaultAdminTransferScheduled").withArgs(newAdmin.address, schedule);
      expect(await anchor.pendingDefaultAdmin()).to.deep.equal([newAdmin.address, schedule]);

      // Too early, and at the schedule itself: OZ requires the schedule to have passed.
      await expect(anchor.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(anchor, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.setNextBlockTimestamp(schedule);
      await expect(anchor.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(anchor, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      // Only the pending admin may accept, even after the delay.
      await time.increaseTo(schedule + 1n);
      await expect(anchor.connect(stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(anchor, "AccessControlInvalidDefaultAdmin")
        .withArgs(stranger.address);

      await expect(anchor.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.emit(anchor, "RoleGranted")
        .withArgs(DEFAULT_ADMIN_ROLE, newAdmin.address, newAdmin.address);
      expect(await anchor.defaultAdmin()).to.equal(newAdmin.address);
      expect(await anchor.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(false);

      // The old admin has lost its powers; the new one has them.
      await expect(anchor.connect(admin).grantRole(RECORDER_ROLE, stranger.address))
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, DEFAULT_ADMIN_ROLE);
      await expect(anchor.connect(newAdmin).grantRole(RECORDER_ROLE, stranger.address))
        .to.emit(anchor, "RoleGranted")
        .withArgs(RECORDER_ROLE, stranger.address, newAdmin.address);
    });

    it("can be cancelled by the admin before it is accepted", async function () {
      const { anchor, admin, newAdmin } = await loadFixture(deployFixture);
      await anchor.beginDefaultAdminTransfer(newAdmin.address);
      await expect(anchor.cancelDefaultAdminTransfer()).to.emit(anchor, "DefaultAdminTransferCanceled").withArgs();
      await time.increase(ADMIN_DELAY + 1);
      await expect(anchor.connect(newAdmin).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(anchor, "AccessControlInvalidDefaultAdmin")
        .withArgs(newAdmin.address);
      expect(await anchor.defaultAdmin()).to.equal(admin.address);
    });

    it("can be started only by the admin", async function () {
      const { anchor, stranger, DEFAULT_ADMIN_ROLE } = await loadFixture(deployFixture);
      await expect(anchor.connect(stranger).beginDefaultAdminTransfer(stranger.address))
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
      await expect(anchor.connect(stranger).cancelDefaultAdminTransfer())
        .to.be.revertedWithCustomError(anchor, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, DEFAULT_ADMIN_ROLE);
    });
  });

  describe("views", function () {
    describe("checkpointAt and latestCheckpoint", function () {
      it("return every checkpoint in order, with the time each was anchored", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        expect(await anchor.checkpointCount()).to.equal(BigInt(ANCHORED.length));
        for (const [k, size] of ANCHORED.entries()) {
          const c = await anchor.checkpointAt(k);
          expect([c.treeSize, c.timestamp, c.rootHash]).to.deep.equal([BigInt(size), T0 + BigInt(k), hex(A.root(size))]);
        }
        const latest = await anchor.latestCheckpoint();
        expect([latest.treeSize, latest.rootHash]).to.deep.equal([70n, hex(A.root(70))]);
      });

      it("agree with each other after every anchor, at odd and even counts alike", async function () {
        // Checkpoints pair up in storage and the last one at an even index lives in the head until
        // its pair's second checkpoint comes, so every count is checked, not only the final one.
        const { anchor, asRecorder } = await loadFixture(deployFixture);
        let previous = 0;
        for (const [k, size] of ANCHORED.entries()) {
          await anchor.setTime(T0 + BigInt(k));
          await asRecorder.anchor(size, hex(A.root(size)), previous === 0 ? [] : hexes(A.consistencyProof(previous, size)));
          previous = size;
          expect(await anchor.checkpointCount(), `after ${k + 1}`).to.equal(BigInt(k + 1));
          const latest = await anchor.latestCheckpoint();
          expect([latest.treeSize, latest.timestamp, latest.rootHash], `latest after ${k + 1}`).to.deep.equal([BigInt(size), T0 + BigInt(k), hex(A.root(size))]);
          for (let j = 0; j <= k; j++) {
            const c = await anchor.checkpointAt(j);
            const s = ANCHORED[j]!;
            expect([c.treeSize, c.timestamp, c.rootHash], `checkpoint ${j} after ${k + 1}`).to.deep.equal([BigInt(s), T0 + BigInt(j), hex(A.root(s))]);
            expect(await anchor.isAnchored(s, hex(A.root(s))), `isAnchored(${s}) after ${k + 1}`).to.equal(true);
          }
          await expect(anchor.checkpointAt(k + 1))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorCheckpointOutOfRange")
            .withArgs(BigInt(k + 1), BigInt(k + 1));
        }
      });

      it("keep their values across pause and unpause, at odd and even counts alike", async function () {
        const { anchor, asRecorder, pauser } = await loadFixture(deployFixture);
        let previous = 0;
        for (const [k, size] of ANCHORED.slice(0, 4).entries()) {
          await anchor.setTime(T0 + BigInt(k));
          await anchor.connect(pauser).pause();
          expect(await anchor.paused()).to.equal(true);
          expect(await anchor.checkpointCount()).to.equal(BigInt(k));
          await anchor.connect(pauser).unpause();
          expect(await anchor.paused()).to.equal(false);
          await asRecorder.anchor(size, hex(A.root(size)), previous === 0 ? [] : hexes(A.consistencyProof(previous, size)));
          previous = size;
          await anchor.connect(pauser).pause();
          const latest = await anchor.latestCheckpoint();
          expect([await anchor.checkpointCount(), latest.treeSize, latest.timestamp]).to.deep.equal([BigInt(k + 1), BigInt(size), T0 + BigInt(k)]);
          await anchor.connect(pauser).unpause();
        }
      });

      it("checkpointAt refuses an index past the end", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        for (const index of [BigInt(ANCHORED.length), 1000n, 2n ** 256n - 1n])
          await expect(anchor.checkpointAt(index))
            .to.be.revertedWithCustomError(anchor, "LedgerAnchorCheckpointOutOfRange")
            .withArgs(index, BigInt(ANCHORED.length));
        const empty = await loadFixture(deployFixture);
        await expect(empty.anchor.checkpointAt(0))
          .to.be.revertedWithCustomError(empty.anchor, "LedgerAnchorCheckpointOutOfRange")
          .withArgs(0n, 0n);
      });

      it("record the block time in the production contract", async function () {
        const { anchor, asRecorder } = await loadFixture(productionFixture);
        const receipt = await (await asRecorder.anchor(5, hex(A.root(5)), [])).wait();
        const block = await ethers.provider.getBlock(receipt!.blockNumber);
        expect((await anchor.latestCheckpoint()).timestamp).to.equal(BigInt(block!.timestamp));
      });
    });

    describe("isAnchored", function () {
      it("is true exactly for the anchored (size, root) pairs", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        for (let size = 0; size <= SIZE + 1; size++) {
          const root = size <= SIZE ? hex(A.root(size)) : hex(OTHER);
          expect(await anchor.isAnchored(size, root), `size ${size}`).to.equal(ANCHORED.includes(size));
        }
      });

      it("is false for an anchored size with another root", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        for (const size of ANCHORED) {
          expect(await anchor.isAnchored(size, hex(B.root(size)))).to.equal(false);
          expect(await anchor.isAnchored(size, ZERO)).to.equal(false);
        }
      });

      it("is false for anything before the first checkpoint, and for the largest size", async function () {
        const { anchor } = await loadFixture(deployFixture);
        expect(await anchor.isAnchored(0, ZERO)).to.equal(false);
        expect(await anchor.isAnchored(0, EMPTY)).to.equal(false);
        expect(await anchor.isAnchored(5, hex(A.root(5)))).to.equal(false);
        const full = await loadFixture(anchoredFixture);
        expect(await full.anchor.isAnchored(MAX_U64, ZERO)).to.equal(false);
      });
    });

    describe("verifyAnchoredInclusion", function () {
      it("accepts every leaf of every anchored checkpoint", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        for (const size of ANCHORED)
          for (let i = 0; i < size; i += size > 20 ? 7 : 1)
            expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(i)), i, size, hexes(A.inclusionProof(i, size))), `${i} in ${size}`).to.equal(true);
      });

      it("refuses a valid proof for a size that was never anchored", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        for (const size of [4, 20, 69])
          expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), 3, size, hexes(A.inclusionProof(3, size)))).to.equal(false);
      });

      it("refuses another log's leaf and proof", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        expect(await anchor.verifyAnchoredInclusion(hex(B.leafHash(3)), 3, 13, hexes(B.inclusionProof(3, 13)))).to.equal(false);
        expect(await anchor.verifyAnchoredInclusion(hex(OTHER), 3, 13, hexes(A.inclusionProof(3, 13)))).to.equal(false);
      });

      it("returns false, without reverting, on malformed input", async function () {
        const { anchor } = await loadFixture(anchoredFixture);
        const proof = hexes(A.inclusionProof(3, 13));
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), 13, 13, proof)).to.equal(false);
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), MAX_U64, 13, proof)).to.equal(false);
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), 3, 13, proof.slice(1))).to.equal(false);
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), 3, 13, [...proof, ZERO])).to.equal(false);
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(0)), 0, 0, [])).to.equal(false);
        expect(await anchor.verifyAnchoredInclusion(hex(A.leafHash(0)), 0, MAX_U64, [])).to.equal(false);
        const empty = await loadFixture(deployFixture);
        expect(await empty.anchor.verifyAnchoredInclusion(hex(A.leafHash(3)), 3, 13, proof)).to.equal(false);
      });
    });
  });

  describe("verifyConsistency", function () {
    /** Runs every case on chain, checks it against the TypeScript verifier, and returns the counts. */
    async function agree(anchor: LedgerAnchorHarness, cases: readonly ConsistencyCase[]): Promise<{ accepted: number; refused: number }> {
      let accepted = 0;
      let refused = 0;
      for (const c of cases) {
        const onChain = await anchor.verifyConsistency(c.size1, c.size2, hex(c.root1), hex(c.root2), hexes(c.proof));
        const offChain = tsVerdict(() => tsVerifyConsistency(c.size1, c.size2, c.root1, c.root2, c.proof));
        expect(onChain, `${c.desc} (${c.size1}, ${c.size2}): contract says ${onChain}, TypeScript says ${offChain}`).to.equal(offChain);
        if (c.desc === "happy-path") expect(onChain, `happy path (${c.size1}, ${c.size2})`).to.equal(true);
        if (c.desc.startsWith("modified-proof@")) expect(onChain, `${c.desc} (${c.size1}, ${c.size2})`).to.equal(false);
        if (onChain) accepted++;
        else refused++;
      }
      return { accepted, refused };
    }

    it("agrees with the TypeScript verifier on every 0 ≤ m ≤ n ≤ 16 and its mutations", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const cases: ConsistencyCase[] = [];
      for (let n = 0; n <= 16; n++) for (let m = 0; m <= n; m++) cases.push(...consistencyCases(A, m, n));
      const { accepted, refused } = await agree(anchor, cases);
      expect(accepted).to.be.at.least(153); // every happy path: (17 · 18) / 2 pairs
      expect(refused).to.be.greaterThan(1000);
    });

    it("agrees on every m for sizes around powers of two up to 70, and on a random sample", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const pairs: [number, number][] = [];
      for (const n of [31, 32, 33, 63, 64, 65, 70]) for (let m = 0; m <= n; m++) pairs.push([m, n]);
      const random = prng(6962);
      for (let k = 0; k < 150; k++) {
        const n = 17 + Math.floor(random() * (SIZE - 16));
        pairs.push([Math.floor(random() * (n + 1)), n]);
      }
      const cases = pairs.flatMap(([m, n]) => consistencyCases(A, m, n).filter((c) => ["happy-path", "truncated-proof", "swapped-roots"].includes(c.desc) || c.desc.startsWith("modified-proof@0")));
      const { accepted } = await agree(anchor, cases);
      expect(accepted).to.be.at.least(pairs.length);
    });

    it("accepts genuine proofs between huge uniform trees and refuses them mutated", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const pairs: [number, number][] = [
        [1, 2 ** 32],
        [2 ** 31 + 1, 2 ** 32 + 3],
        [2 ** 32 - 1000, 2 ** 32],
        [2 ** 40 - 1, 2 ** 40 + 1],
        [3, Number.MAX_SAFE_INTEGER],
        [2 ** 52, Number.MAX_SAFE_INTEGER],
        [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER],
      ];
      for (const [m, n] of pairs) {
        const proof = U.consistencyProof(m, n);
        const [r1, r2] = [hex(U.root(m)), hex(U.root(n))];
        expect(await anchor.verifyConsistency(m, n, r1, r2, hexes(proof)), `(${m}, ${n})`).to.equal(true);
        for (let i = 0; i < proof.length; i++) {
          const garbled = proof.map((q, j) => (j === i ? flipBit(q, 200) : q));
          expect(await anchor.verifyConsistency(m, n, r1, r2, hexes(garbled)), `(${m}, ${n}) garbled at ${i}`).to.equal(false);
        }
        // In a tree of identical leaves a proof can also fit a neighbouring size (every node of a
        // level is equal); whatever the verdict, it must be the TypeScript verifier's.
        if (Number.isSafeInteger(n + 1)) {
          const offChain = tsVerdict(() => tsVerifyConsistency(m, n + 1, U.root(m), U.root(n), proof));
          expect(await anchor.verifyConsistency(m, n + 1, r1, r2, hexes(proof)), `(${m}, ${n} + 1)`).to.equal(offChain);
        }
        expect(await anchor.verifyConsistency(m, n, r2, r1, hexes(proof)), `(${m}, ${n}) swapped roots`).to.equal(false);
      }
    });

    describe("on the RFC 9162 edge cases", function () {
      it("accepts equal sizes with an empty proof and equal roots, and nothing else", async function () {
        const { anchor } = await loadFixture(deployFixture);
        const r = hex(A.root(13));
        expect(await anchor.verifyConsistency(13, 13, r, r, [])).to.equal(true);
        expect(await anchor.verifyConsistency(13, 13, r, hex(B.root(13)), [])).to.equal(false);
        expect(await anchor.verifyConsistency(13, 13, r, r, [r])).to.equal(false);
        expect(await anchor.verifyConsistency(MAX_U64, MAX_U64, r, r, [])).to.equal(true);
      });

      it("accepts size1 = 0 only with an empty proof and the empty tree's root as root1", async function () {
        const { anchor } = await loadFixture(deployFixture);
        const r2 = hex(A.root(13));
        expect(await anchor.verifyConsistency(0, 13, EMPTY, r2, [])).to.equal(true);
        expect(await anchor.verifyConsistency(0, 13, ZERO, r2, [])).to.equal(false);
        expect(await anchor.verifyConsistency(0, 13, EMPTY, r2, [r2])).to.equal(false);
        expect(await anchor.verifyConsistency(0, 0, EMPTY, EMPTY, [])).to.equal(true);
        expect(await anchor.verifyConsistency(0, 0, ZERO, ZERO, [])).to.equal(false);
        expect(await anchor.verifyConsistency(0, 0, EMPTY, ZERO, [])).to.equal(false);
        expect(await anchor.verifyConsistency(0, MAX_U64, EMPTY, ZERO, [])).to.equal(true);
      });
    });

    describe("on malformed input", function () {
      it("returns false, without reverting, when size1 > size2", async function () {
        const { anchor } = await loadFixture(deployFixture);
        expect(await anchor.verifyConsistency(14, 13, hex(A.root(14)), hex(A.root(13)), hexes(A.consistencyProof(13, 14)))).to.equal(false);
        expect(await anchor.verifyConsistency(MAX_U64, 0, EMPTY, EMPTY, [])).to.equal(false);
      });

      it("returns false, without reverting, for every proof length at the 64-bit limits", async function () {
        const { anchor } = await loadFixture(deployFixture);
        const sizes: [bigint, bigint][] = [
          [1n, MAX_U64],
          [MAX_U64 - 1n, MAX_U64],
          [2n ** 63n, MAX_U64],
          [2n ** 63n - 1n, 2n ** 63n],
          [3n, 2n ** 63n + 5n],
        ];
        const garbage = Array.from({ length: 130 }, (_, i) => hex(entry("garbage", i)));
        for (const [m, n] of sizes)
          for (let length = 0; length <= garbage.length; length += length < 70 ? 1 : 20)
            expect(await anchor.verifyConsistency(m, n, ZERO, ZERO, garbage.slice(0, length)), `(${m}, ${n}) with ${length} hashes`).to.equal(false);
      });
    });
  });

  describe("verifyInclusion", function () {
    async function agree(anchor: LedgerAnchorHarness, cases: readonly InclusionCase[]): Promise<{ accepted: number; refused: number }> {
      let accepted = 0;
      let refused = 0;
      for (const c of cases) {
        const onChain = await anchor.verifyInclusion(hex(c.leaf), c.index, c.size, hex(c.root), hexes(c.proof));
        const offChain = tsVerdict(() => tsVerifyInclusion(c.leaf, c.index, c.size, c.root, c.proof));
        expect(onChain, `${c.desc} (${c.index}, ${c.size}): contract says ${onChain}, TypeScript says ${offChain}`).to.equal(offChain);
        if (c.desc === "happy-path") expect(onChain, `happy path (${c.index}, ${c.size})`).to.equal(true);
        if (c.desc.startsWith("modified-proof@")) expect(onChain, `${c.desc} (${c.index}, ${c.size})`).to.equal(false);
        if (onChain) accepted++;
        else refused++;
      }
      return { accepted, refused };
    }

    it("agrees with the TypeScript verifier on every 0 ≤ i < n ≤ 16 and its mutations", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const cases: InclusionCase[] = [];
      for (let n = 1; n <= 16; n++) for (let i = 0; i < n; i++) cases.push(...inclusionCases(A, i, n));
      const { accepted, refused } = await agree(anchor, cases);
      expect(accepted).to.be.at.least(136); // every happy path: (16 · 17) / 2 pairs
      expect(refused).to.be.greaterThan(1000);
    });

    it("agrees on every leaf of trees around powers of two up to 70, and on a random sample", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const pairs: [number, number][] = [];
      for (const n of [31, 32, 33, 63, 64, 65, 70]) for (let i = 0; i < n; i++) pairs.push([i, n]);
      const random = prng(9162);
      for (let k = 0; k < 150; k++) {
        const n = 17 + Math.floor(random() * (SIZE - 16));
        pairs.push([Math.floor(random() * n), n]);
      }
      const cases = pairs.flatMap(([i, n]) => inclusionCases(A, i, n).filter((c) => ["happy-path", "index-plus-one", "truncated-proof"].includes(c.desc) || c.desc.startsWith("modified-proof@0")));
      const { accepted } = await agree(anchor, cases);
      expect(accepted).to.be.at.least(pairs.length);
    });

    it("accepts genuine proofs in huge uniform trees and refuses them mutated", async function () {
      const { anchor } = await loadFixture(deployFixture);
      const leaf = hex(U.leafHash);
      const pairs: [number, number][] = [
        [0, 2 ** 32],
        [2 ** 32 - 1, 2 ** 32],
        [2 ** 32, 2 ** 32 + 1],
        [123_456_789, 1_000_000_000],
        [0, Number.MAX_SAFE_INTEGER],
        [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER],
        [2 ** 52 + 1, Number.MAX_SAFE_INTEGER],
      ];
      for (const [i, n] of pairs) {
        const proof = U.inclusionProof(i, n);
        const root = hex(U.root(n));
        expect(await anchor.verifyInclusion(leaf, i, n, root, hexes(proof)), `(${i}, ${n})`).to.equal(true);
        for (let k = 0; k < proof.length; k++) {
          const garbled = proof.map((q, j) => (j === k ? flipBit(q, 77) : q));
          expect(await anchor.verifyInclusion(leaf, i, n, root, hexes(garbled)), `(${i}, ${n}) garbled at ${k}`).to.equal(false);
        }
        expect(await anchor.verifyInclusion(hex(OTHER), i, n, root, hexes(proof))).to.equal(false);
      }
    });

    describe("on malformed input", function () {
      it("returns false, without reverting, when the index is not below the size", async function () {
        const { anchor } = await loadFixture(deployFixture);
        const leaf = hex(A.leafHash(0));
        expect(await anchor.verifyInclusion(leaf, 0, 0, EMPTY, [])).to.equal(false);
        expect(await anchor.verifyInclusion(leaf, 0, 0, ZERO, [])).to.equal(false);
        expect(await anchor.verifyInclusion(leaf, 13, 13, hex(A.root(13)), hexes(A.inclusionProof(12, 13)))).to.equal(false);
        expect(await anchor.verifyInclusion(leaf, MAX_U64, MAX_U64, ZERO, [])).to.equal(false);
        expect(await anchor.verifyInclusion(leaf, MAX_U64, 1, leaf, [])).to.equal(false);
      });

      it("accepts a one-leaf tree only with an empty proof and the leaf as root", async function () {
        const { anchor } = await loadFixture(deployFixture);
        const leaf = hex(A.leafHash(0));
        expect(await anchor.verifyInclusion(leaf, 0, 1, leaf, [])).to.equal(true);
        expect(await anchor.verifyInclusion(leaf, 0, 1, leaf, [leaf])).to.equal(false);
        expect(await anchor.verifyInclusion(leaf, 0, 1, hex(OTHER), [])).to.equal(false);
      });

      it("returns false, without reverting, for every proof length at the 64-bit limits", async function () {
        const { anchor } = await loadFixture(deployFixture);
        const pairs: [bigint, bigint][] = [
          [0n, MAX_U64],
          [MAX_U64 - 1n, MAX_U64],
          [2n ** 63n, 2n ** 63n + 1n],
          [2n ** 62n + 7n, 2n ** 63n],
        ];
        const garbage = Array.from({ length: 130 }, (_, i) => hex(entry("garbage", i)));
        for (const [i, n] of pairs)
          for (let length = 0; length <= garbage.length; length += length < 70 ? 1 : 20)
            expect(await anchor.verifyInclusion(hex(OTHER), i, n, ZERO, garbage.slice(0, length)), `(${i}, ${n}) with ${length} hashes`).to.equal(false);
      });
    });
  });
});
