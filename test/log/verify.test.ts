/**
 * Verifier edge cases, RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
 * (consistency), and the promise of service/log/verify.ts that anything
 * malformed — including attacker-shaped input from receipts and API
 * responses — surfaces as a VerificationError with a code, never as a stray
 * TypeError or RangeError.
 *
 * Proofs come from the reference implementation, not from the code under test.
 */
import { expect } from "chai";
import {
  EMPTY_ROOT,
  rootFromInclusionProof,
  VerificationError,
  verifyConsistency,
  verifyInclusion,
  type VerificationErrorCode,
} from "../../service/log";
import * as ref from "../../scripts/lib/rfc6962-reference";

const utf8 = new TextEncoder();
const D: Uint8Array[] = Array.from({ length: 13 }, (_, i) => utf8.encode(`verify ${i}`));
const LEAVES = D.map(ref.leafHash);
const SIZE = D.length;
const root = (n: number): Uint8Array => ref.mth(D.slice(0, n));
const ROOT = root(SIZE);
const path = (m: number, n = SIZE): Uint8Array[] => ref.path(m, D.slice(0, n));
const consistency = (m: number, n = SIZE): Uint8Array[] => ref.proof(m, D.slice(0, n));
const OTHER_HASH = ref.leafHash(utf8.encode("not in the tree"));

/** The verifiers as an attacker sees them: anything can be passed. One cast, here, instead of one per call. */
const anyVerifyInclusion = verifyInclusion as (...args: unknown[]) => void;
const anyRootFromInclusionProof = rootFromInclusionProof as (...args: unknown[]) => Uint8Array;
const anyVerifyConsistency = verifyConsistency as (...args: unknown[]) => void;

/** Runs `fn`, expects a VerificationError with `code`, and returns it for further checks. */
function expectVerificationError(fn: () => unknown, code: VerificationErrorCode): VerificationError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected a VerificationError to be thrown").to.be.instanceOf(VerificationError);
  const err = caught as VerificationError;
  expect(err.code, err.message).to.equal(code);
  expect(err.name).to.equal("VerificationError");
  return err;
}

/** A copy of `h` with one bit flipped. */
function flip(h: Uint8Array, byte = 0, bit = 0): Uint8Array {
  const c = Uint8Array.from(h);
  c[byte]! ^= 1 << bit;
  return c;
}

/**
 * Wraps a proof in a Proxy that records every element read, to show that a
 * verifier rejects a proof of the wrong length before looking at (let alone
 * hashing) any of its elements.
 */
function recordingProof(elements: unknown[]): { proof: unknown[]; reads: string[] } {
  const reads: string[] = [];
  const proof = new Proxy(elements, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads.push(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { proof, reads };
}

/** Values no index, size, hash or proof may be. */
const GARBAGE: [string, unknown][] = [
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["a negative number", -1],
  ["a fraction", 2.5],
  ["2^53", 2 ** 53],
  ["1e300", 1e300],
  ["a numeric string", "3"],
  ["a hex string", ref.hex(OTHER_HASH)],
  ["null", null],
  ["undefined", undefined],
  ["a bigint", 3n],
  ["a boolean", true],
  ["an empty object", {}],
  ["an object with a length", { length: 32 }],
  ["an array of 32 numbers", Array.from({ length: 32 }, () => 0)],
  ["an ArrayBuffer", new ArrayBuffer(32)],
  ["a DataView", new DataView(new ArrayBuffer(32))],
  ["a Uint16Array", new Uint16Array(32)],
  ["a boxed number", Object(3) as unknown],
  ["a symbol", Symbol("x")],
  ["a function", () => 3],
];

describe("verifyInclusion", function () {
  describe("when the proof is genuine", function () {
    it("accepts every index of a 13-leaf tree", function () {
      for (let m = 0; m < SIZE; m++) expect(() => verifyInclusion(LEAVES[m]!, m, SIZE, ROOT, path(m)), `index ${m}`).not.to.throw();
    });

    it("accepts Buffers, which are Uint8Arrays", function () {
      expect(() => verifyInclusion(Buffer.from(LEAVES[3]!), 3, SIZE, Buffer.from(ROOT), path(3).map((h) => Buffer.from(h)))).not.to.throw();
    });

    it("accepts hashes that are views into a larger buffer", function () {
      const big = new Uint8Array(64 + 32);
      big.set(LEAVES[3]!, 64);
      expect(() => verifyInclusion(big.subarray(64), 3, SIZE, ROOT, path(3))).not.to.throw();
    });

    it("rootFromInclusionProof returns the tree's root", function () {
      expect(ref.hex(rootFromInclusionProof(LEAVES[7]!, 7, SIZE, path(7)))).to.equal(ref.hex(ROOT));
    });
  });

  describe("when the tree has one leaf", function () {
    it("accepts the empty proof when the root is the leaf hash", function () {
      expect(() => verifyInclusion(LEAVES[0]!, 0, 1, LEAVES[0]!, [])).not.to.throw();
    });

    it("throws ROOT_MISMATCH when the root is not the leaf hash", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[0]!, 0, 1, OTHER_HASH, []), "ROOT_MISMATCH");
    });

    it("throws PROOF_LENGTH_INVALID for a non-empty proof", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[0]!, 0, 1, LEAVES[0]!, [LEAVES[0]!]), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the index is not below the size", function () {
    for (const [index, size] of [
      [13, 13],
      [14, 13],
      [0, 0],
      [Number.MAX_SAFE_INTEGER, 13],
    ] as const) {
      it(`throws INDEX_OUT_OF_RANGE for index ${index}, size ${size}`, function () {
        expectVerificationError(() => verifyInclusion(LEAVES[0]!, index, size, ROOT, []), "INDEX_OUT_OF_RANGE");
        expectVerificationError(() => rootFromInclusionProof(LEAVES[0]!, index, size, []), "INDEX_OUT_OF_RANGE");
      });
    }
  });

  describe("when the index or the size is not a non-negative safe integer", function () {
    for (const [what, bad] of GARBAGE) {
      it(`throws SIZE_INVALID when the index is ${what}`, function () {
        expectVerificationError(() => anyVerifyInclusion(LEAVES[3]!, bad, SIZE, ROOT, path(3)), "SIZE_INVALID");
        expectVerificationError(() => anyRootFromInclusionProof(LEAVES[3]!, bad, SIZE, path(3)), "SIZE_INVALID");
      });

      it(`throws SIZE_INVALID when the size is ${what}`, function () {
        expectVerificationError(() => anyVerifyInclusion(LEAVES[3]!, 3, bad, ROOT, path(3)), "SIZE_INVALID");
        expectVerificationError(() => anyRootFromInclusionProof(LEAVES[3]!, 3, bad, path(3)), "SIZE_INVALID");
      });
    }
  });

  describe("when the proof is one element short", function () {
    it("throws PROOF_LENGTH_INVALID", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, path(2).slice(0, -1)), "PROOF_LENGTH_INVALID");
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, path(2).slice(1)), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the proof has one element too many", function () {
    it("throws PROOF_LENGTH_INVALID, whether the extra element is at the end or the start", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, [...path(2), ROOT]), "PROOF_LENGTH_INVALID");
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, [ROOT, ...path(2)]), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the proof is empty but the tree has more than one leaf", function () {
    it("throws PROOF_LENGTH_INVALID", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, []), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the proof length is wrong", function () {
    it("throws PROOF_LENGTH_INVALID before reading any element, even when the elements are not hashes", function () {
      const { proof, reads } = recordingProof([null, "junk", 3, new Uint8Array(5), {}]);
      expectVerificationError(() => anyVerifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, proof), "PROOF_LENGTH_INVALID");
      expect(reads).to.deep.equal([]);
    });

    it("checks the length before the elements when both are wrong", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, [new Uint8Array(31)]), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when a hash is not 32 bytes", function () {
    for (const length of [0, 31, 33, 64]) {
      it(`throws HASH_LENGTH_INVALID for a ${length}-byte leaf hash, root or proof element`, function () {
        const bad = new Uint8Array(length);
        expectVerificationError(() => verifyInclusion(bad, 2, SIZE, ROOT, path(2)), "HASH_LENGTH_INVALID");
        expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, bad, path(2)), "HASH_LENGTH_INVALID");
        const p = path(2);
        p[1] = bad;
        expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, p), "HASH_LENGTH_INVALID");
      });
    }
  });

  describe("when the proof is not an array", function () {
    const notArrays = GARBAGE.filter(([, v]) => !Array.isArray(v));
    for (const [what, bad] of [...notArrays, ["a Uint8Array holding the concatenated proof", Buffer.concat(path(2))]] as [string, unknown][]) {
      it(`throws PROOF_LENGTH_INVALID for ${what}`, function () {
        expectVerificationError(() => anyVerifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, bad), "PROOF_LENGTH_INVALID");
      });
    }
  });

  describe("when a proof element, the leaf hash or the root is not a Uint8Array", function () {
    for (const [what, bad] of GARBAGE) {
      it(`throws HASH_LENGTH_INVALID for ${what}`, function () {
        const p: unknown[] = path(2);
        p[0] = bad;
        expectVerificationError(() => anyVerifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, p), "HASH_LENGTH_INVALID");
        expectVerificationError(() => anyVerifyInclusion(bad, 2, SIZE, ROOT, path(2)), "HASH_LENGTH_INVALID");
        expectVerificationError(() => anyVerifyInclusion(LEAVES[2]!, 2, SIZE, bad, path(2)), "HASH_LENGTH_INVALID");
      });
    }
  });

  describe("when the proof is a sparse array of the right length", function () {
    it("throws HASH_LENGTH_INVALID for the hole (not a TypeError)", function () {
      const genuine = path(2);
      const sparse: Uint8Array[] = new Array<Uint8Array>(genuine.length);
      for (let i = 1; i < genuine.length; i++) sparse[i] = genuine[i]!;
      expectVerificationError(() => verifyInclusion(LEAVES[2]!, 2, SIZE, ROOT, sparse), "HASH_LENGTH_INVALID");
    });
  });

  describe("when the root does not match", function () {
    it("throws ROOT_MISMATCH carrying the expected and the calculated root", function () {
      const err = expectVerificationError(() => verifyInclusion(LEAVES[5]!, 5, SIZE, OTHER_HASH, path(5)), "ROOT_MISMATCH");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(OTHER_HASH));
      expect(ref.hex(err.detail.calculated!)).to.equal(ref.hex(ROOT));
      expect(err.message).to.contain(ref.hex(OTHER_HASH)).and.to.contain(ref.hex(ROOT));
    });

    it("throws ROOT_MISMATCH for the wrong leaf, the calculated root being the one the proof implies", function () {
      const err = expectVerificationError(() => verifyInclusion(LEAVES[4]!, 5, SIZE, ROOT, path(5)), "ROOT_MISMATCH");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(ROOT));
      expect(ref.hex(err.detail.calculated!)).to.equal(ref.hex(ref.rootFromPath(5, SIZE, LEAVES[4]!, path(5))!));
    });

    it("throws ROOT_MISMATCH for the empty-tree root", function () {
      expectVerificationError(() => verifyInclusion(LEAVES[5]!, 5, SIZE, EMPTY_ROOT, path(5)), "ROOT_MISMATCH");
    });

    it("throws ROOT_MISMATCH when a proof element has one bit flipped", function () {
      const p = path(5);
      p[2] = flip(p[2]!, 31, 7);
      expectVerificationError(() => verifyInclusion(LEAVES[5]!, 5, SIZE, ROOT, p), "ROOT_MISMATCH");
    });

    it("throws ROOT_MISMATCH when the proof's elements are swapped", function () {
      const p = path(5);
      [p[0], p[1]] = [p[1]!, p[0]!];
      expectVerificationError(() => verifyInclusion(LEAVES[5]!, 5, SIZE, ROOT, p), "ROOT_MISMATCH");
    });

    it("throws ROOT_MISMATCH for the proof of the neighbouring index", function () {
      // Index 4 and 5 share a proof length in a 13-leaf tree, so only the hashes tell them apart.
      expectVerificationError(() => verifyInclusion(LEAVES[5]!, 4, SIZE, ROOT, path(5)), "ROOT_MISMATCH");
    });
  });

  it("never mutates the proof it is given", function () {
    const p = path(6);
    const before = p.map(ref.hex);
    verifyInclusion(LEAVES[6]!, 6, SIZE, ROOT, p);
    expect(p.map(ref.hex)).to.deep.equal(before);
  });
});

describe("verifyConsistency", function () {
  describe("when the proof is genuine", function () {
    it("accepts every pair of sizes 0 ≤ size1 ≤ size2 ≤ 13", function () {
      for (let n = 0; n <= SIZE; n++)
        for (let m = 0; m <= n; m++) expect(() => verifyConsistency(m, n, root(m), root(n), consistency(m, n)), `${m} → ${n}`).not.to.throw();
    });
  });

  describe("when the sizes are equal", function () {
    it("accepts an empty proof and equal roots", function () {
      expect(() => verifyConsistency(7, 7, root(7), root(7), [])).not.to.throw();
    });

    it("accepts any equal pair of 32-byte roots: there is nothing to prove", function () {
      expect(() => verifyConsistency(7, 7, OTHER_HASH, OTHER_HASH, [])).not.to.throw();
    });

    it("throws ROOTS_DIFFER_AT_EQUAL_SIZE when the roots differ, with root1 as expected and root2 as calculated", function () {
      const err = expectVerificationError(() => verifyConsistency(7, 7, root(7), OTHER_HASH, []), "ROOTS_DIFFER_AT_EQUAL_SIZE");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(root(7)));
      expect(ref.hex(err.detail.calculated!)).to.equal(ref.hex(OTHER_HASH));
    });

    it("throws PROOF_LENGTH_INVALID for a non-empty proof, even with equal roots", function () {
      expectVerificationError(() => verifyConsistency(7, 7, root(7), root(7), [root(7)]), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when size1 is 0", function () {
    it("accepts an empty proof when root1 is the empty-tree root, whatever root2 is", function () {
      expect(() => verifyConsistency(0, 5, EMPTY_ROOT, root(5), [])).not.to.throw();
      expect(() => verifyConsistency(0, 5, EMPTY_ROOT, OTHER_HASH, [])).not.to.throw();
    });

    it("throws ROOT_MISMATCH when root1 is not the empty-tree root (stricter than transparency-dev, which ignores it)", function () {
      const err = expectVerificationError(() => verifyConsistency(0, 5, OTHER_HASH, root(5), []), "ROOT_MISMATCH");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(EMPTY_ROOT));
      expect(ref.hex(err.detail.calculated!)).to.equal(ref.hex(OTHER_HASH));
    });

    it("throws PROOF_LENGTH_INVALID for a non-empty proof", function () {
      expectVerificationError(() => verifyConsistency(0, 5, EMPTY_ROOT, root(5), [root(5)]), "PROOF_LENGTH_INVALID");
    });

    describe("and size2 is 0 too", function () {
      it("accepts the empty-tree root on both sides", function () {
        expect(() => verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).not.to.throw();
      });

      it("throws ROOT_MISMATCH when both roots are equal but not the empty-tree root", function () {
        const err = expectVerificationError(() => verifyConsistency(0, 0, OTHER_HASH, OTHER_HASH, []), "ROOT_MISMATCH");
        expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(EMPTY_ROOT));
      });

      it("throws ROOTS_DIFFER_AT_EQUAL_SIZE when the roots differ", function () {
        expectVerificationError(() => verifyConsistency(0, 0, EMPTY_ROOT, OTHER_HASH, []), "ROOTS_DIFFER_AT_EQUAL_SIZE");
      });
    });
  });

  describe("when size1 exceeds size2", function () {
    it("throws SIZE_INVALID", function () {
      expectVerificationError(() => verifyConsistency(6, 5, root(6), root(5), []), "SIZE_INVALID");
      expectVerificationError(() => verifyConsistency(1, 0, root(1), EMPTY_ROOT, []), "SIZE_INVALID");
    });
  });

  describe("when a size is not a non-negative safe integer", function () {
    for (const [what, bad] of GARBAGE) {
      it(`throws SIZE_INVALID when size1 is ${what}`, function () {
        expectVerificationError(() => anyVerifyConsistency(bad, SIZE, root(5), ROOT, consistency(5)), "SIZE_INVALID");
      });

      it(`throws SIZE_INVALID when size2 is ${what}`, function () {
        expectVerificationError(() => anyVerifyConsistency(5, bad, root(5), ROOT, consistency(5)), "SIZE_INVALID");
      });
    }
  });

  describe("when the proof is empty but the sizes need one", function () {
    it("throws PROOF_LENGTH_INVALID", function () {
      expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, []), "PROOF_LENGTH_INVALID");
      expectVerificationError(() => verifyConsistency(4, SIZE, root(4), ROOT, []), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the proof is one element short", function () {
    it("throws PROOF_LENGTH_INVALID", function () {
      expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, consistency(5).slice(0, -1)), "PROOF_LENGTH_INVALID");
      expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, consistency(5).slice(1)), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the proof has one element too many", function () {
    it("throws PROOF_LENGTH_INVALID", function () {
      expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, [...consistency(5), ROOT]), "PROOF_LENGTH_INVALID");
      expectVerificationError(() => verifyConsistency(4, SIZE, root(4), ROOT, [root(4), ...consistency(4)]), "PROOF_LENGTH_INVALID");
    });
  });

  describe("when the proof length is wrong", function () {
    it("throws PROOF_LENGTH_INVALID before reading any element, even when the elements are not hashes", function () {
      const { proof, reads } = recordingProof([null, "junk", 3]);
      expectVerificationError(() => anyVerifyConsistency(5, SIZE, root(5), ROOT, proof), "PROOF_LENGTH_INVALID");
      expect(reads).to.deep.equal([]);
    });
  });

  describe("when a hash is not 32 bytes", function () {
    for (const length of [0, 31, 33]) {
      it(`throws HASH_LENGTH_INVALID for a ${length}-byte root1, root2 or proof element`, function () {
        const bad = new Uint8Array(length);
        expectVerificationError(() => verifyConsistency(5, SIZE, bad, ROOT, consistency(5)), "HASH_LENGTH_INVALID");
        expectVerificationError(() => verifyConsistency(5, SIZE, root(5), bad, consistency(5)), "HASH_LENGTH_INVALID");
        const p = consistency(5);
        p[p.length - 1] = bad;
        expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, p), "HASH_LENGTH_INVALID");
      });
    }
  });

  describe("when the proof is not an array", function () {
    for (const [what, bad] of GARBAGE.filter(([, v]) => !Array.isArray(v))) {
      it(`throws PROOF_LENGTH_INVALID for ${what}`, function () {
        expectVerificationError(() => anyVerifyConsistency(5, SIZE, root(5), ROOT, bad), "PROOF_LENGTH_INVALID");
      });
    }
  });

  describe("when a root or a proof element is not a Uint8Array", function () {
    for (const [what, bad] of GARBAGE) {
      it(`throws HASH_LENGTH_INVALID for ${what}`, function () {
        expectVerificationError(() => anyVerifyConsistency(5, SIZE, bad, ROOT, consistency(5)), "HASH_LENGTH_INVALID");
        expectVerificationError(() => anyVerifyConsistency(5, SIZE, root(5), bad, consistency(5)), "HASH_LENGTH_INVALID");
        const p: unknown[] = consistency(5);
        p[0] = bad;
        expectVerificationError(() => anyVerifyConsistency(5, SIZE, root(5), ROOT, p), "HASH_LENGTH_INVALID");
      });
    }
  });

  describe("when the proof is a sparse array of the right length", function () {
    it("throws HASH_LENGTH_INVALID for the hole (not a TypeError)", function () {
      const sparse: Uint8Array[] = new Array<Uint8Array>(consistency(5).length);
      expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, sparse), "HASH_LENGTH_INVALID");
    });
  });

  describe("when the old root does not match", function () {
    it("throws ROOT_MISMATCH with root1 as expected and the root the proof implies as calculated", function () {
      // 5 is not a power of two, so the old root is computed from the proof rather than taken from root1.
      const err = expectVerificationError(() => verifyConsistency(5, SIZE, OTHER_HASH, ROOT, consistency(5)), "ROOT_MISMATCH");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(OTHER_HASH));
      expect(ref.hex(err.detail.calculated!)).to.equal(ref.hex(root(5)));
    });

    it("throws ROOT_MISMATCH on the new root when size1 is a power of two (root1 is the proof's first node)", function () {
      const err = expectVerificationError(() => verifyConsistency(4, SIZE, OTHER_HASH, ROOT, consistency(4)), "ROOT_MISMATCH");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(ROOT));
      expect(ref.hex(err.detail.calculated!)).not.to.equal(ref.hex(ROOT));
    });
  });

  describe("when the new root does not match", function () {
    it("throws ROOT_MISMATCH with root2 as expected and the root the proof implies as calculated", function () {
      const err = expectVerificationError(() => verifyConsistency(5, SIZE, root(5), OTHER_HASH, consistency(5)), "ROOT_MISMATCH");
      expect(ref.hex(err.detail.expected!)).to.equal(ref.hex(OTHER_HASH));
      expect(ref.hex(err.detail.calculated!)).to.equal(ref.hex(ROOT));
    });
  });

  describe("when the roots are swapped", function () {
    it("throws ROOT_MISMATCH", function () {
      expectVerificationError(() => verifyConsistency(5, SIZE, ROOT, root(5), consistency(5)), "ROOT_MISMATCH");
    });
  });

  describe("when a proof element has one bit flipped", function () {
    it("throws ROOT_MISMATCH, for every element", function () {
      const genuine = consistency(5);
      for (let i = 0; i < genuine.length; i++) {
        const p = [...genuine];
        p[i] = flip(p[i]!, 0, 4);
        expectVerificationError(() => verifyConsistency(5, SIZE, root(5), ROOT, p), "ROOT_MISMATCH");
      }
    });
  });

  describe("when the proof is for different sizes", function () {
    it("throws for size1 ± 1, size2 × 2 and size2 ÷ 2", function () {
      for (const [m, n] of [
        [4, SIZE],
        [6, SIZE],
        [5, 2 * SIZE],
        [5, Math.floor(SIZE / 2)],
      ] as const)
        expect(() => verifyConsistency(m, n, root(5), ROOT, consistency(5)), `${m} → ${n}`).to.throw(VerificationError);
    });

    it("cannot tell size2 from a size with the same proof shape: sizes are bound by signed checkpoints, not by the proof", function () {
      // PROOF(5, D[13]) and PROOF(5, D[12]) have the same shape (their last
      // element is the right subtree [8, n)), so RFC 9162's algorithm accepts
      // the former at size 12 too. transparency-dev's verifier behaves the same.
      expect(ref.verifyProof(5, 12, root(5), ROOT, consistency(5))).to.equal(true);
      expect(() => verifyConsistency(5, 12, root(5), ROOT, consistency(5))).not.to.throw();
    });
  });
});
