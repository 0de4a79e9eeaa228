/**
 * Tree maths cross-checked against the plain recursive RFC 6962 reference
 * (scripts/lib/rfc6962-reference.ts) for every tree size up to 64: roots, inclusion
 * and consistency proofs, the plan functions, rangeNodes, CompactRange and
 * MemoryTree; CompactRange.extendMany against extend. The leaves are distinct,
 * so equal hashes mean equal subtrees.
 */
import { expect } from "chai";
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import {
  assembleProof,
  CompactRange,
  consistencyRanges,
  EMPTY_ROOT,
  extendScratchSize,
  foldRight,
  hashChildren,
  hashLeaf,
  hashPairsOneByOne,
  inclusionRanges,
  largestPowerOfTwoBelow,
  LogArgumentError,
  MemoryTree,
  nodeKey,
  planConsistency,
  planInclusion,
  planNodeIds,
  planRoot,
  rangeNodes,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
  type PairHasher,
  type ProofPlan,
} from "../../service/log";
import * as ref from "../../scripts/lib/rfc6962-reference";
import { fcAssert } from "../helpers/fc";

const MAX = 64;
const utf8 = new TextEncoder();
/** D[n] of the RFC: 64 distinct entries of varying length. */
const D: Uint8Array[] = Array.from({ length: MAX }, (_, i) => utf8.encode(`entry ${i} ${"x".repeat(i % 7)}`));
const LEAF_HASHES: Uint8Array[] = D.map(ref.leafHash);

const mthCache = new Map<string, Uint8Array>();
/** MTH(D[begin:end]) from the reference, memoised: the reference itself stays plain. */
function mth(begin: number, end: number): Uint8Array {
  const key = `${begin}:${end}`;
  let h = mthCache.get(key);
  if (h === undefined) {
    h = ref.mth(D.slice(begin, end));
    mthCache.set(key, h);
  }
  return h;
}

/** The reference hash of a perfect-subtree node. */
function nodeHashOf(id: NodeId): Uint8Array {
  const r = ref.nodeRange(id.level, id.index);
  return mth(r.begin, r.end);
}

const hexes = (hs: readonly Uint8Array[]): string[] => hs.map(ref.hex);
const sizes = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Collects mismatches over a loop and asserts once at the end. chai (with the
 * Hardhat matchers loaded) costs most of a millisecond per assertion, and
 * these loops make tens of thousands of comparisons.
 */
class Mismatches {
  private readonly found: string[] = [];

  eq(got: unknown, want: unknown, what: string): void {
    if (!isDeepStrictEqual(got, want)) this.found.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }

  doesNotThrow(fn: () => unknown, what: string): void {
    try {
      fn();
    } catch (e) {
      this.found.push(`${what}: threw ${String(e)}`);
    }
  }

  /** Fails with the first few mismatches, and how many there were. */
  assertNone(): void {
    expect(this.found.slice(0, 5), `${this.found.length} mismatch(es)`).to.deep.equal([]);
  }
}

/** Checks a plan against a reference proof: ranges, node groups and assembled hashes. */
function checkPlan(m: Mismatches, plan: ProofPlan, want: readonly Uint8Array[], what: string): void {
  m.eq(plan.ranges.length, want.length, `${what}: number of ranges`);
  m.eq(plan.nodes.length, want.length, `${what}: number of node groups`);
  plan.ranges.forEach((r, i) => {
    m.eq(ref.hex(mth(r.begin, r.end)), ref.hex(want[i] ?? new Uint8Array()), `${what}: range ${i} [${r.begin}, ${r.end})`);
    m.eq(plan.nodes[i], ref.perfectSubtrees(r.begin, r.end), `${what}: nodes of range ${i}`);
  });
  m.eq(hexes(assembleProof(plan, nodeHashOf)), hexes(want), `${what}: assembled proof`);
}

describe("tree maths, cross-checked against the RFC 6962 reference", function () {
  const full = new MemoryTree(LEAF_HASHES);
  /** A MemoryTree holding exactly the first `size` leaves, for each size. */
  const exact = sizes(0, MAX).map((n) => new MemoryTree(LEAF_HASHES.slice(0, n)));

  describe("largestPowerOfTwoBelow", function () {
    it("is the k of RFC 6962 §2.1 (k < n ≤ 2k) for every n from 2 to 1100", function () {
      const m = new Mismatches();
      for (let n = 2; n <= 1100; n++) m.eq(largestPowerOfTwoBelow(n), ref.largestPowerOfTwoLessThan(n), `n = ${n}`);
      m.assertNone();
    });

    it("is exact near the top of the safe-integer range", function () {
      expect(largestPowerOfTwoBelow(2 ** 52 + 1)).to.equal(2 ** 52);
      expect(largestPowerOfTwoBelow(2 ** 52)).to.equal(2 ** 51);
      expect(largestPowerOfTwoBelow(Number.MAX_SAFE_INTEGER)).to.equal(2 ** 52);
    });
  });

  describe("roots", function () {
    it("MemoryTree.root(size) of a 64-leaf tree is MTH(D[0:size]) for every size 0..64", function () {
      const m = new Mismatches();
      for (const n of sizes(0, MAX)) m.eq(ref.hex(full.root(n)), ref.hex(mth(0, n)), `size ${n}`);
      m.assertNone();
    });

    it("a MemoryTree of exactly n leaves has root MTH(D[0:n]) for every n 0..64", function () {
      const m = new Mismatches();
      for (const n of sizes(0, MAX)) m.eq(ref.hex(exact[n]!.root()), ref.hex(mth(0, n)), `size ${n}`);
      m.assertNone();
    });

    it("the empty tree's root is SHA-256 of the empty string", function () {
      expect(ref.hex(new MemoryTree().root())).to.equal(ref.hex(ref.EMPTY_TREE_HASH));
      expect(ref.hex(EMPTY_ROOT)).to.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    });

    it("planRoot(size) folds to MTH(D[0:size]) and is the fewest perfect subtrees, for every size 0..64", function () {
      const m = new Mismatches();
      for (const n of sizes(0, MAX)) {
        const plan = planRoot(n);
        m.eq(plan, ref.perfectSubtrees(0, n), `planRoot(${n})`);
        if (n > 0) m.eq(ref.hex(foldRight(plan.map(nodeHashOf))), ref.hex(mth(0, n)), `folded planRoot(${n})`);
      }
      m.assertNone();
    });
  });

  describe("inclusion proofs", function () {
    for (const size of sizes(1, MAX)) {
      describe(`in a tree of ${size} leaves`, function () {
        const D_n = D.slice(0, size);
        const want = sizes(0, size - 1).map((i) => ref.path(i, D_n));

        it("equal PATH(m, D[0:size]) for every index m, from the exact tree and from a larger tree", function () {
          const m = new Mismatches();
          for (let i = 0; i < size; i++) {
            m.eq(hexes(exact[size]!.inclusionProof(i)), hexes(want[i]!), `exact tree, index ${i}`);
            m.eq(hexes(full.inclusionProof(i, size)), hexes(want[i]!), `64-leaf tree, index ${i}`);
          }
          m.assertNone();
        });

        it("have plans whose ranges, nodes and assembled hashes match PATH(m, D[0:size])", function () {
          const m = new Mismatches();
          for (let i = 0; i < size; i++) {
            m.eq(inclusionRanges(i, size), planInclusion(i, size).ranges, `inclusionRanges(${i}, ${size})`);
            checkPlan(m, planInclusion(i, size), want[i]!, `PATH(${i}, ${size})`);
          }
          m.assertNone();
        });

        it("verify, and rootFromInclusionProof gives MTH(D[0:size])", function () {
          const m = new Mismatches();
          const root = mth(0, size);
          for (let i = 0; i < size; i++) {
            m.doesNotThrow(() => verifyInclusion(LEAF_HASHES[i]!, i, size, root, want[i]!), `verifyInclusion, index ${i}`);
            m.eq(ref.hex(rootFromInclusionProof(LEAF_HASHES[i]!, i, size, want[i]!)), ref.hex(root), `rootFromInclusionProof, index ${i}`);
          }
          m.assertNone();
        });
      });
    }
  });

  describe("consistency proofs", function () {
    for (const size2 of sizes(0, MAX)) {
      describe(`to a tree of ${size2} leaves`, function () {
        const D_n = D.slice(0, size2);
        const want = sizes(0, size2).map((size1) => ref.proof(size1, D_n));

        it("equal PROOF(m, D[0:size2]) for every size m ≤ size2, from the exact tree and from a larger tree", function () {
          const m = new Mismatches();
          for (let size1 = 0; size1 <= size2; size1++) {
            m.eq(hexes(exact[size2]!.consistencyProof(size1)), hexes(want[size1]!), `exact tree, from ${size1}`);
            m.eq(hexes(full.consistencyProof(size1, size2)), hexes(want[size1]!), `64-leaf tree, from ${size1}`);
          }
          m.assertNone();
        });

        it("have plans whose ranges, nodes and assembled hashes match PROOF(m, D[0:size2])", function () {
          const m = new Mismatches();
          for (let size1 = 0; size1 <= size2; size1++) {
            m.eq(consistencyRanges(size1, size2), planConsistency(size1, size2).ranges, `consistencyRanges(${size1}, ${size2})`);
            checkPlan(m, planConsistency(size1, size2), want[size1]!, `PROOF(${size1}, ${size2})`);
          }
          m.assertNone();
        });

        it("verify between MTH(D[0:m]) and MTH(D[0:size2])", function () {
          const m = new Mismatches();
          for (let size1 = 0; size1 <= size2; size1++)
            m.doesNotThrow(() => verifyConsistency(size1, size2, mth(0, size1), mth(0, size2), want[size1]!), `from ${size1}`);
          m.assertNone();
        });
      });
    }
  });

  describe("rangeNodes", function () {
    it("is the fewest-perfect-subtrees decomposition, left to right, of every range within [0, 64]", function () {
      const m = new Mismatches();
      for (let begin = 0; begin <= MAX; begin++)
        for (let end = begin; end <= MAX; end++) m.eq(rangeNodes(begin, end), ref.perfectSubtrees(begin, end), `[${begin}, ${end})`);
      m.assertNone();
    });

    it("gives subtrees that shrink from left to right, one per set bit, when begin is 0", function () {
      const m = new Mismatches();
      for (let end = 1; end <= MAX; end++) {
        const levels = rangeNodes(0, end).map((n) => n.level);
        const setBits = [...end.toString(2)].reverse().flatMap((bit, level) => (bit === "1" ? [level] : [])).reverse();
        m.eq(levels, setBits, `[0, ${end})`);
      }
      m.assertNone();
    });

    it("is empty for an empty range", function () {
      expect(rangeNodes(5, 5)).to.deep.equal([]);
    });

    it("handles ranges near the top of the safe-integer range", function () {
      const end = Number.MAX_SAFE_INTEGER;
      const nodes = rangeNodes(0, end);
      expect(nodes).to.have.length(53);
      expect(nodes[0]).to.deep.equal({ level: 52, index: 0 });
      expect(nodes[52]).to.deep.equal({ level: 0, index: end - 1 });
    });
  });

  describe("planNodeIds", function () {
    it("is the plan's nodes in order for every inclusion and consistency plan up to 64 leaves (their ranges are disjoint)", function () {
      const m = new Mismatches();
      for (let n = 1; n <= MAX; n++) {
        for (let i = 0; i < n; i++) m.eq(planNodeIds(planInclusion(i, n)), planInclusion(i, n).nodes.flat(), `inclusion ${i}/${n}`);
        for (let i = 0; i <= n; i++) m.eq(planNodeIds(planConsistency(i, n)), planConsistency(i, n).nodes.flat(), `consistency ${i}/${n}`);
      }
      m.assertNone();
    });

    it("lists a node named twice only once, at its first use", function () {
      const a = { level: 0, index: 1 };
      const b = { level: 1, index: 1 };
      const c = { level: 2, index: 1 };
      const plan: ProofPlan = { ranges: [], nodes: [[a, b], [{ ...b }, c], [a]] };
      expect(planNodeIds(plan)).to.deep.equal([a, b, c]);
    });
  });

  describe("nodeKey", function () {
    it("gives distinct keys to distinct nodes of a 64-leaf tree", function () {
      const keys = new Set<string>();
      let count = 0;
      for (let level = 0; level <= 6; level++)
        for (let index = 0; index < MAX / 2 ** level; index++, count++) keys.add(nodeKey({ level, index }));
      expect(keys.size).to.equal(count);
      expect(nodeKey({ level: 1, index: 11 })).not.to.equal(nodeKey({ level: 11, index: 1 }));
    });
  });

  describe("foldRight", function () {
    it("returns a single hash unchanged", function () {
      expect(ref.hex(foldRight([LEAF_HASHES[3]!]))).to.equal(ref.hex(LEAF_HASHES[3]!));
    });

    it("folds from the right: h0, h1, h2 ↦ node(h0, node(h1, h2))", function () {
      const [h0, h1, h2] = [LEAF_HASHES[0]!, LEAF_HASHES[1]!, LEAF_HASHES[2]!];
      expect(ref.hex(foldRight([h0, h1, h2]))).to.equal(ref.hex(ref.nodeHash(h0, ref.nodeHash(h1, h2))));
    });

    describe("when given no hashes", function () {
      it("throws LogArgumentError", function () {
        expect(() => foldRight([])).to.throw(LogArgumentError);
      });
    });
  });

  describe("assembleProof", function () {
    describe("when the lookup returns a hash that is not 32 bytes", function () {
      it("throws LogArgumentError naming the node", function () {
        expect(() => assembleProof(planInclusion(2, 7), () => new Uint8Array(31))).to.throw(LogArgumentError, /node \d+\/\d+/);
      });
    });
  });

  describe("hashChildren", function () {
    it("is SHA-256(0x01 ‖ left ‖ right)", function () {
      expect(ref.hex(hashChildren(LEAF_HASHES[0]!, LEAF_HASHES[1]!))).to.equal(ref.hex(ref.nodeHash(LEAF_HASHES[0]!, LEAF_HASHES[1]!)));
    });

    describe("when a child is not 32 bytes", function () {
      it("throws LogArgumentError", function () {
        expect(() => hashChildren(new Uint8Array(32), new Uint8Array(33))).to.throw(LogArgumentError);
        expect(() => hashChildren(new Uint8Array(0), new Uint8Array(32))).to.throw(LogArgumentError);
      });
    });
  });

  describe("CompactRange", function () {
    it("starts empty, with the empty-tree root", function () {
      const r = new CompactRange();
      expect(r.size).to.equal(0);
      expect(r.hashes).to.deep.equal([]);
      expect(ref.hex(r.root())).to.equal(ref.hex(ref.EMPTY_TREE_HASH));
    });

    it("has root MTH(D[0:n]) and hashes MTH of perfectSubtrees(0, n) after every append up to 64", function () {
      const m = new Mismatches();
      const r = new CompactRange();
      for (let n = 1; n <= MAX; n++) {
        r.append(LEAF_HASHES[n - 1]!);
        m.eq(r.size, n, "size");
        m.eq(ref.hex(r.root()), ref.hex(mth(0, n)), `root at size ${n}`);
        m.eq(hexes(r.hashes), hexes(ref.perfectSubtrees(0, n).map(nodeHashOf)), `hashes at size ${n}`);
      }
      m.assertNone();
    });

    it("append returns the leaf and then every node it completes, bottom up, with their reference hashes", function () {
      const m = new Mismatches();
      const r = new CompactRange();
      for (let n = 0; n < MAX; n++) {
        // Leaf n completes the perfect subtree of width 2^l ending at n + 1 whenever 2^l divides n + 1.
        const want: { level: number; index: number; hash: string }[] = [];
        for (let level = 0; (n + 1) % 2 ** level === 0; level++) {
          const index = (n + 1) / 2 ** level - 1;
          want.push({ level, index, hash: ref.hex(nodeHashOf({ level, index })) });
        }
        const got = r.append(LEAF_HASHES[n]!).map((c) => ({ level: c.id.level, index: c.id.index, hash: ref.hex(c.hash) }));
        m.eq(got, want, `appending leaf ${n}`);
      }
      m.assertNone();
    });

    it("extend (no node list) keeps the same hashes and roots as append, for every size up to 64", function () {
      const m = new Mismatches();
      const a = new CompactRange();
      const e = new CompactRange();
      for (let n = 0; n < MAX; n++) {
        a.append(LEAF_HASHES[n]!);
        e.extend(LEAF_HASHES[n]!);
        m.eq(e.size, n + 1, "size");
        m.eq(hexes(e.hashes), hexes(a.hashes), `hashes at size ${n + 1}`);
        m.eq(ref.hex(e.root()), ref.hex(mth(0, n + 1)), `root at size ${n + 1}`);
      }
      m.assertNone();
    });

    it("resumes from (size, hashes) taken from the reference and reaches the same roots, for every size 0..64", function () {
      const m = new Mismatches();
      for (let n = 0; n <= MAX; n++) {
        const r = new CompactRange(n, ref.perfectSubtrees(0, n).map(nodeHashOf));
        m.eq(ref.hex(r.root()), ref.hex(mth(0, n)), `resumed at ${n}`);
        for (let i = n; i < MAX; i++) r.append(LEAF_HASHES[i]!);
        m.eq(ref.hex(r.root()), ref.hex(mth(0, MAX)), `resumed at ${n}, then appended to ${MAX}`);
      }
      m.assertNone();
    });

    describe("extendMany", function () {
      /** Leaf hashes 0..n-1 of a longer, seeded sequence than D (extendMany's rows span many levels). */
      const many = Array.from({ length: 300 }, (_, i) => hashLeaf(utf8.encode(`leaf ${i}`)));
      const flat = (hs: readonly Uint8Array[]) => {
        const out = new Uint8Array(32 * hs.length);
        hs.forEach((h, i) => out.set(h, 32 * i));
        return out;
      };

      it("reaches the hashes and root of extend() for every start size 0..64 and batch 0..64 (the reference's leaves)", function () {
        const m = new Mismatches();
        const scratch = new Uint8Array(extendScratchSize(MAX));
        for (let start = 0; start <= MAX; start++)
          for (let count = 0; start + count <= MAX; count++) {
            const r = new CompactRange(start, ref.perfectSubtrees(0, start).map(nodeHashOf));
            r.extendMany(flat(LEAF_HASHES.slice(start, start + count)), hashPairsOneByOne, scratch);
            m.eq(r.size, start + count, `size from ${start} by ${count}`);
            m.eq(hexes(r.hashes), hexes(ref.perfectSubtrees(0, start + count).map(nodeHashOf)), `hashes from ${start} by ${count}`);
            m.eq(ref.hex(r.root()), ref.hex(mth(0, start + count)), `root from ${start} by ${count}`);
          }
        m.assertNone();
      });

      it("equals sequential extend() under random batch splits, with roots at random sizes and a pair hasher that checks its regions", function () {
        // A hasher that also checks the contract: the input and output regions lie in the scratch and do not overlap.
        const checked: PairHasher = (buf, from, count, to) => {
          expect(from >= 0 && from + 64 * count <= buf.length && to >= 0 && to + 32 * count <= buf.length, "regions inside the scratch").to.equal(true);
          expect(to + 32 * count <= from || from + 64 * count <= to, "regions apart").to.equal(true);
          hashPairsOneByOne(buf, from, count, to);
        };
        fcAssert(
          fc.property(fc.array(fc.nat(70), { minLength: 1, maxLength: 12 }), fc.nat(40), (cuts, start) => {
            const seq = new CompactRange();
            const bat = new CompactRange();
            for (let i = 0; i < start; i++) {
              seq.extend(many[i]!);
              bat.extend(many[i]!);
            }
            let at = start;
            for (const c of cuts) {
              const count = Math.min(c, many.length - at);
              bat.extendMany(flat(many.slice(at, at + count)), checked, new Uint8Array(extendScratchSize(count) + (c % 3) * 32));
              for (let i = at; i < at + count; i++) seq.extend(many[i]!);
              at += count;
              expect(bat.size).to.equal(seq.size);
              expect(hexes(bat.hashes), `hashes at ${at}`).to.deep.equal(hexes(seq.hashes));
              expect(ref.hex(bat.root()), `root at ${at}`).to.equal(ref.hex(seq.root()));
            }
          }),
          { scale: 0.2 },
        );
      });

      describe("when the leaves are not whole hashes or the scratch is too small", function () {
        it("throws LogArgumentError and leaves the range as it was", function () {
          const r = new CompactRange();
          r.extend(many[0]!);
          expect(() => r.extendMany(new Uint8Array(33), hashPairsOneByOne, new Uint8Array(1024))).to.throw(LogArgumentError, /32 bytes/);
          expect(() => r.extendMany(flat(many.slice(1, 5)), hashPairsOneByOne, new Uint8Array(extendScratchSize(4) - 1))).to.throw(LogArgumentError, /scratch/);
          expect(r.size).to.equal(1);
          expect(ref.hex(r.root())).to.equal(ref.hex(many[0]!));
        });
      });

      describe("when the pair hasher throws", function () {
        it("passes the error on and leaves the range as it was", function () {
          const r = new CompactRange();
          for (let i = 0; i < 7; i++) r.extend(many[i]!);
          const before = hexes(r.hashes);
          const failing: PairHasher = () => {
            throw new Error("hasher failed");
          };
          expect(() => r.extendMany(flat(many.slice(7, 12)), failing, new Uint8Array(extendScratchSize(5)))).to.throw(/hasher failed/);
          expect(r.size).to.equal(7);
          expect(hexes(r.hashes)).to.deep.equal(before);
        });
      });
    });

    it("clones independently", function () {
      const a = new CompactRange();
      for (let i = 0; i < 5; i++) a.append(LEAF_HASHES[i]!);
      const b = a.clone();
      b.append(LEAF_HASHES[5]!);
      expect(a.size).to.equal(5);
      expect(ref.hex(a.root())).to.equal(ref.hex(mth(0, 5)));
      expect(b.size).to.equal(6);
      expect(ref.hex(b.root())).to.equal(ref.hex(mth(0, 6)));
    });

    describe("when constructed with the wrong number of hashes for its size", function () {
      it("throws LogArgumentError", function () {
        expect(() => new CompactRange(3, [LEAF_HASHES[0]!])).to.throw(LogArgumentError);
        expect(() => new CompactRange(0, [LEAF_HASHES[0]!])).to.throw(LogArgumentError);
        expect(() => new CompactRange(4, [LEAF_HASHES[0]!, LEAF_HASHES[1]!])).to.throw(LogArgumentError);
      });
    });

    describe("when constructed with a hash that is not 32 bytes", function () {
      it("throws LogArgumentError", function () {
        expect(() => new CompactRange(1, [new Uint8Array(31)])).to.throw(LogArgumentError);
      });
    });

    describe("when constructed with a size that is not a non-negative safe integer", function () {
      for (const size of [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
        it(`throws LogArgumentError for ${String(size)}`, function () {
          expect(() => new CompactRange(size, [])).to.throw(LogArgumentError);
        });
      }
    });

    describe("when appending a leaf hash that is not 32 bytes", function () {
      it("throws LogArgumentError and leaves the range unchanged", function () {
        const r = new CompactRange(1, [LEAF_HASHES[0]!]);
        expect(() => r.append(new Uint8Array(33))).to.throw(LogArgumentError);
        expect(r.size).to.equal(1);
        expect(ref.hex(r.root())).to.equal(ref.hex(mth(0, 1)));
      });
    });

    describe("when the range already holds the largest safe number of leaves", function () {
      it("refuses to append, with LogArgumentError", function () {
        const full = new CompactRange(Number.MAX_SAFE_INTEGER, Array.from({ length: 53 }, (_, i) => LEAF_HASHES[i]!));
        expect(() => full.append(LEAF_HASHES[0]!)).to.throw(LogArgumentError, /full/);
        expect(full.size).to.equal(Number.MAX_SAFE_INTEGER);
      });
    });
  });

  describe("MemoryTree", function () {
    it("stores every completed node with its reference hash", function () {
      const m = new Mismatches();
      for (let level = 0; 2 ** level <= MAX; level++)
        for (let index = 0; (index + 1) * 2 ** level <= MAX; index++)
          m.eq(ref.hex(full.node({ level, index })), ref.hex(nodeHashOf({ level, index })), `node ${level}/${index}`);
      m.assertNone();
    });

    it("returns leaf hashes by index", function () {
      const m = new Mismatches();
      for (let i = 0; i < MAX; i++) m.eq(ref.hex(full.leafHash(i)), ref.hex(LEAF_HASHES[i]!), `leaf ${i}`);
      m.assertNone();
    });

    it("can be built from any iterable and grown by append", function () {
      function* firstFive(): Generator<Uint8Array> {
        for (let i = 0; i < 5; i++) yield LEAF_HASHES[i]!;
      }
      const t = new MemoryTree(firstFive());
      expect(t.size).to.equal(5);
      t.append(LEAF_HASHES[5]!);
      expect(t.size).to.equal(6);
      expect(ref.hex(t.root())).to.equal(ref.hex(mth(0, 6)));
    });

    it("defaults the proof size to the whole tree", function () {
      const t = exact[13]!;
      expect(hexes(t.inclusionProof(5))).to.deep.equal(hexes(ref.path(5, D.slice(0, 13))));
      expect(hexes(t.consistencyProof(6))).to.deep.equal(hexes(ref.proof(6, D.slice(0, 13))));
    });

    describe("when asked for a node that is not complete yet", function () {
      it("throws LogArgumentError", function () {
        const t = exact[5]!;
        expect(() => t.node({ level: 1, index: 2 })).to.throw(LogArgumentError); // leaves 4 and 5; 5 is missing
        expect(() => t.node({ level: 3, index: 0 })).to.throw(LogArgumentError);
        expect(() => t.leafHash(5)).to.throw(LogArgumentError);
        expect(() => t.leafHash(-1)).to.throw(LogArgumentError);
      });
    });

    describe("when a size beyond the tree is requested", function () {
      it("throws LogArgumentError from root, inclusionProof and consistencyProof", function () {
        const t = exact[5]!;
        expect(() => t.root(6)).to.throw(LogArgumentError);
        expect(() => t.inclusionProof(0, 6)).to.throw(LogArgumentError);
        expect(() => t.consistencyProof(1, 6)).to.throw(LogArgumentError);
      });
    });

    describe("when a leaf hash is not 32 bytes", function () {
      it("throws LogArgumentError", function () {
        expect(() => new MemoryTree([new Uint8Array(16)])).to.throw(LogArgumentError);
      });
    });
  });

  describe("preconditions", function () {
    const invalidNumbers: [string, number][] = [
      ["negative", -1],
      ["not an integer", 1.5],
      ["NaN", Number.NaN],
      ["infinite", Number.POSITIVE_INFINITY],
      ["beyond the safe integers", 2 ** 53],
      ["far beyond the safe integers", 1e300],
    ];

    describe("when the index is not below the size", function () {
      for (const [index, size] of [
        [0, 0],
        [1, 1],
        [7, 7],
        [8, 7],
        [Number.MAX_SAFE_INTEGER, 3],
      ] as const) {
        it(`throws LogArgumentError for index ${index}, size ${size}`, function () {
          expect(() => inclusionRanges(index, size)).to.throw(LogArgumentError, /out of range/);
          expect(() => planInclusion(index, size)).to.throw(LogArgumentError);
          expect(() => full.inclusionProof(index, Math.min(size, MAX))).to.throw(LogArgumentError);
        });
      }
    });

    for (const [what, bad] of invalidNumbers) {
      describe(`when the index is ${what}`, function () {
        it("throws LogArgumentError", function () {
          expect(() => inclusionRanges(bad, 10)).to.throw(LogArgumentError);
          expect(() => planInclusion(bad, 10)).to.throw(LogArgumentError);
          expect(() => full.inclusionProof(bad, 10)).to.throw(LogArgumentError);
        });
      });

      describe(`when the size is ${what}`, function () {
        it("throws LogArgumentError", function () {
          expect(() => inclusionRanges(0, bad)).to.throw(LogArgumentError);
          expect(() => consistencyRanges(0, bad)).to.throw(LogArgumentError);
          expect(() => consistencyRanges(bad, 10)).to.throw(LogArgumentError);
          expect(() => planRoot(bad)).to.throw(LogArgumentError);
          expect(() => rangeNodes(0, bad)).to.throw(LogArgumentError);
          expect(() => rangeNodes(bad, 10)).to.throw(LogArgumentError);
          expect(() => full.root(bad)).to.throw(LogArgumentError);
          expect(() => full.consistencyProof(bad, 10)).to.throw(LogArgumentError);
        });
      });
    }

    describe("when size1 exceeds size2", function () {
      it("throws LogArgumentError", function () {
        expect(() => consistencyRanges(5, 4)).to.throw(LogArgumentError, /exceeds/);
        expect(() => planConsistency(1, 0)).to.throw(LogArgumentError);
        expect(() => full.consistencyProof(9, 8)).to.throw(LogArgumentError);
      });
    });

    describe("when a range is reversed", function () {
      it("throws LogArgumentError", function () {
        expect(() => rangeNodes(5, 4)).to.throw(LogArgumentError, /reversed/);
      });
    });
  });
});
