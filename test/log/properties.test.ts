/**
 * Property tests (fast-check) for the log core: random trees of up to a few
 * hundred leaves, random indices and sizes, random corruptions of proofs, and
 * random JSON for the canonical encoding. Run counts come from
 * test/helpers/fc.ts (more in CI than locally).
 */
import { expect } from "chai";
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import {
  canonicalBytes,
  CompactRange,
  decodeEntry,
  encodeEntry,
  EncodingError,
  hashLeaf,
  MemoryTree,
  VerificationError,
  verifyConsistency,
  verifyInclusion,
} from "../../service/log";
import { fcAssert } from "../helpers/fc";
import * as ref from "../../scripts/lib/rfc6962-reference";

const MAX_LEAVES = 300;
const utf8 = new TextEncoder();

/** Leaf data of a tree identified by `seed`: cheap to build, distinct across seeds and indices. */
function entries(seed: number, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => utf8.encode(`${seed}/${i}`));
}

/** Leaf hashes of the same tree. */
function leaves(seed: number, n: number): Uint8Array[] {
  return entries(seed, n).map(hashLeaf);
}

const trees = new Map<string, MemoryTree>();
/** A memoised MemoryTree of `n` leaves for `seed` (shrinking revisits the same trees). */
function treeOf(seed: number, n: number): MemoryTree {
  const key = `${seed}/${n}`;
  let t = trees.get(key);
  if (t === undefined) {
    t = new MemoryTree(leaves(seed, n));
    if (trees.size > 200) trees.clear();
    trees.set(key, t);
  }
  return t;
}

/** True when `fn` throws a VerificationError with one of `codes` (any code when none are given). */
function failsWith(fn: () => void, ...codes: string[]): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return codes.length === 0 || codes.includes(e.code);
  }
}

const seedArb = fc.nat({ max: 1000 });
/** (seed, size, index) with 0 ≤ index < size ≤ MAX_LEAVES. */
const inclusionCase = fc
  .tuple(seedArb, fc.integer({ min: 1, max: MAX_LEAVES }))
  .chain(([seed, size]) => fc.tuple(fc.constant(seed), fc.constant(size), fc.nat({ max: size - 1 })));
/** (seed, a, b) with 0 ≤ a ≤ b ≤ MAX_LEAVES. */
const sizePair = fc
  .tuple(seedArb, fc.nat({ max: MAX_LEAVES }), fc.nat({ max: MAX_LEAVES }))
  .map(([seed, x, y]) => [seed, Math.min(x, y), Math.max(x, y)] as const);
/** A position in a proof of unknown length: reduced modulo the length where used. */
const position = fc.record({ element: fc.nat(), byte: fc.nat({ max: 31 }), bit: fc.nat({ max: 7 }) });

function flipped(proof: readonly Uint8Array[], at: { element: number; byte: number; bit: number }): Uint8Array[] {
  const p = [...proof];
  const k = at.element % p.length;
  const e = Uint8Array.from(p[k]!);
  e[at.byte]! ^= 1 << at.bit;
  p[k] = e;
  return p;
}

describe("properties of the log core", function () {
  describe("inclusion proofs", function () {
    it("verify for every (index, size) of a random tree, and equal the reference PATH", function () {
      fcAssert(
        fc.property(inclusionCase, ([seed, size, index]) => {
          const t = treeOf(seed, size);
          const proof = t.inclusionProof(index);
          verifyInclusion(t.leafHash(index), index, size, t.root(), proof);
          return isDeepStrictEqual(proof.map(ref.hex), ref.path(index, entries(seed, size)).map(ref.hex));
        }),
        { scale: 0.5 },
      );
    });

    it("verify against a past root of a larger tree", function () {
      fcAssert(
        fc.property(inclusionCase, fc.nat({ max: 64 }), ([seed, size, index], extra) => {
          const t = treeOf(seed, size + extra);
          verifyInclusion(t.leafHash(index), index, size, t.root(size), t.inclusionProof(index, size));
        }),
        { scale: 0.5 },
      );
    });

    it("fail with ROOT_MISMATCH when any single bit of the proof is flipped", function () {
      fcAssert(
        fc.property(inclusionCase, position, ([seed, size, index], at) => {
          fc.pre(size > 1);
          const t = treeOf(seed, size);
          const bad = flipped(t.inclusionProof(index), at);
          return failsWith(() => verifyInclusion(t.leafHash(index), index, size, t.root(), bad), "ROOT_MISMATCH");
        }),
      );
    });

    it("fail with ROOT_MISMATCH when any single bit of the leaf hash or the root is flipped", function () {
      fcAssert(
        fc.property(inclusionCase, position, fc.boolean(), ([seed, size, index], at, inLeaf) => {
          const t = treeOf(seed, size);
          const [leaf, root] = inLeaf ? [flipped([t.leafHash(index)], at)[0]!, t.root()] : [t.leafHash(index), flipped([t.root()], at)[0]!];
          return failsWith(() => verifyInclusion(leaf, index, size, root, t.inclusionProof(index)), "ROOT_MISMATCH");
        }),
      );
    });

    it("fail with PROOF_LENGTH_INVALID when any element is inserted or deleted", function () {
      fcAssert(
        fc.property(inclusionCase, fc.nat(), fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 32 }), ([seed, size, index], where, insert, extra) => {
          const t = treeOf(seed, size);
          const proof = t.inclusionProof(index);
          fc.pre(insert || proof.length > 0);
          const bad = [...proof];
          if (insert) bad.splice(where % (proof.length + 1), 0, extra);
          else bad.splice(where % proof.length, 1);
          return failsWith(() => verifyInclusion(t.leafHash(index), index, size, t.root(), bad), "PROOF_LENGTH_INVALID");
        }),
      );
    });

    it("fail at any other index of the same tree size", function () {
      fcAssert(
        fc.property(inclusionCase, fc.nat({ max: MAX_LEAVES }), ([seed, size, index], other) => {
          fc.pre(other !== index);
          const t = treeOf(seed, size);
          return failsWith(() => verifyInclusion(t.leafHash(index), other, size, t.root(), t.inclusionProof(index)));
        }),
      );
    });
  });

  describe("consistency proofs", function () {
    it("verify from a to b, from b to c and from a to c, for any a ≤ b ≤ c, and equal the reference PROOF", function () {
      fcAssert(
        fc.property(sizePair, fc.nat({ max: MAX_LEAVES }), ([seed, a, b], cRaw) => {
          const c = Math.max(b, cRaw);
          const t = treeOf(seed, c);
          const [ra, rb, rc] = [t.root(a), t.root(b), t.root(c)];
          verifyConsistency(a, b, ra, rb, t.consistencyProof(a, b));
          verifyConsistency(b, c, rb, rc, t.consistencyProof(b, c));
          verifyConsistency(a, c, ra, rc, t.consistencyProof(a, c));
          return isDeepStrictEqual(t.consistencyProof(a, c).map(ref.hex), ref.proof(a, entries(seed, c)).map(ref.hex));
        }),
        { scale: 0.5 },
      );
    });

    it("fail with ROOT_MISMATCH when any single bit of the proof is flipped", function () {
      fcAssert(
        fc.property(sizePair, position, ([seed, a, b], at) => {
          fc.pre(a > 0 && a < b);
          const t = treeOf(seed, b);
          const bad = flipped(t.consistencyProof(a, b), at);
          return failsWith(() => verifyConsistency(a, b, t.root(a), t.root(b), bad), "ROOT_MISMATCH");
        }),
      );
    });

    it("fail when any single bit of either root is flipped (an empty old tree aside, whose root2 is unconstrained)", function () {
      fcAssert(
        fc.property(sizePair, position, fc.boolean(), ([seed, a, b], at, first) => {
          fc.pre(a > 0 || first);
          const t = treeOf(seed, b);
          const [r1, r2] = first ? [flipped([t.root(a)], at)[0]!, t.root(b)] : [t.root(a), flipped([t.root(b)], at)[0]!];
          return failsWith(() => verifyConsistency(a, b, r1, r2, t.consistencyProof(a, b)), "ROOT_MISMATCH", "ROOTS_DIFFER_AT_EQUAL_SIZE");
        }),
      );
    });

    it("fail with PROOF_LENGTH_INVALID when any element is inserted or deleted", function () {
      fcAssert(
        fc.property(sizePair, fc.nat(), fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 32 }), ([seed, a, b], where, insert, extra) => {
          const t = treeOf(seed, b);
          const proof = t.consistencyProof(a, b);
          fc.pre(insert || proof.length > 0);
          const bad = [...proof];
          if (insert) bad.splice(where % (proof.length + 1), 0, extra);
          else bad.splice(where % proof.length, 1);
          return failsWith(() => verifyConsistency(a, b, t.root(a), t.root(b), bad), "PROOF_LENGTH_INVALID");
        }),
      );
    });
  });

  describe("CompactRange", function () {
    it("has the same root as a MemoryTree and as the reference MTH, for any leaf data", function () {
      fcAssert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 200 }), (data) => {
          const hashes = data.map(hashLeaf);
          const range = new CompactRange();
          for (const h of hashes) range.append(h);
          const want = ref.hex(ref.mth(data));
          return ref.hex(range.root()) === want && ref.hex(new MemoryTree(hashes).root()) === want;
        }),
        { scale: 0.5 },
      );
    });

    it("resumes from any size with the hashes it had there", function () {
      fcAssert(
        fc.property(sizePair, ([seed, a, b]) => {
          const hs = leaves(seed, b);
          const first = new CompactRange();
          for (const h of hs.slice(0, a)) first.append(h);
          const resumed = new CompactRange(a, first.hashes);
          for (const h of hs.slice(a)) resumed.append(h);
          return ref.hex(resumed.root()) === ref.hex(treeOf(seed, b).root());
        }),
        { scale: 0.5 },
      );
    });
  });

  describe("verifiers given anything at all", function () {
    // Mixes genuine pieces with arbitrary values, so some calls get deep into verification.
    const t = treeOf(1, 13);
    const hashLike = fc.oneof(fc.anything({ withTypedArray: true, withSparseArray: true, withBoxedValues: true, withNullPrototype: true, withBigInt: true }), fc.constantFrom(t.root(), t.leafHash(3), t.root(5)), fc.uint8Array({ minLength: 31, maxLength: 33 }));
    const proofLike = fc.oneof(
      fc.anything({ withTypedArray: true, withSparseArray: true, withBoxedValues: true, withBigInt: true }),
      fc.array(hashLike, { maxLength: 6 }),
      fc.sparseArray(hashLike, { maxLength: 6 }),
      fc.constantFrom(t.inclusionProof(3), t.consistencyProof(5)),
      // Genuine proofs with holes punched in them: the right length, so the elements are looked at.
      fc.tuple(fc.constantFrom(t.inclusionProof(3), t.consistencyProof(5)), fc.integer({ min: 1, max: 15 })).map(([p, holes]) => {
        const q = [...p];
        for (let i = 0; i < q.length; i++) if ((holes >> i) & 1) delete q[i];
        return q;
      }),
    );
    const sizeLike = fc.oneof(fc.anything({ withBigInt: true, withBoxedValues: true }), fc.integer({ min: -2, max: 30 }), fc.double(), fc.constantFrom(3, 5, 13, 2 ** 53, Number.MAX_SAFE_INTEGER));

    it("verifyInclusion returns or throws a VerificationError, never anything else", function () {
      fcAssert(
        fc.property(hashLike, sizeLike, sizeLike, hashLike, proofLike, (leaf, index, size, root, proof) => {
          try {
            (verifyInclusion as (...args: unknown[]) => void)(leaf, index, size, root, proof);
          } catch (e) {
            expect(e).to.be.instanceOf(VerificationError);
          }
        }),
        { scale: 2 },
      );
    });

    it("verifyConsistency returns or throws a VerificationError, never anything else", function () {
      fcAssert(
        fc.property(sizeLike, sizeLike, hashLike, hashLike, proofLike, (size1, size2, root1, root2, proof) => {
          try {
            (verifyConsistency as (...args: unknown[]) => void)(size1, size2, root1, root2, proof);
          } catch (e) {
            expect(e).to.be.instanceOf(VerificationError);
          }
        }),
        { scale: 2 },
      );
    });
  });

  describe("canonical encoding", function () {
    const json = fc.jsonValue({ stringUnit: "binary", maxDepth: 4 });

    /** Rebuilds every object with its keys inserted in an order derived from `seed`. */
    function reorder(value: unknown, seed: number): unknown {
      if (Array.isArray(value)) return value.map((v, i) => reorder(v, seed + i));
      if (value === null || typeof value !== "object") return value;
      const entries = Object.entries(value);
      const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]!);
      if (seed % 2 === 1) rotated.reverse();
      const out: Record<string, unknown> = {};
      // defineProperty, so a "__proto__" key stays an own data property.
      for (const [k, v] of rotated) Object.defineProperty(out, k, { value: reorder(v, seed + 1), enumerable: true, writable: true, configurable: true });
      return out;
    }

    it("does not depend on the order in which object keys were inserted", function () {
      fcAssert(
        fc.property(json, fc.nat(), (value, seed) => ref.hex(canonicalBytes(value)) === ref.hex(canonicalBytes(reorder(value, seed)))),
      );
    });

    it("is a fixed point: parsing canonical bytes and encoding again gives the same bytes", function () {
      fcAssert(
        fc.property(json, (value) => {
          const bytes = canonicalBytes(value);
          return ref.hex(canonicalBytes(JSON.parse(new TextDecoder().decode(bytes)))) === ref.hex(bytes);
        }),
      );
    });

    it("round-trips entries: decodeEntry(encodeEntry(x)) equals x, -0 read as 0", function () {
      const entry = fc
        .tuple(fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), json, { maxKeys: 6 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))
        .map(([fields, v]) => ({ ...fields, v }));
      fcAssert(
        fc.property(entry, (x) => {
          const bytes = encodeEntry(x);
          const decoded = decodeEntry(bytes);
          // JSON has no -0: it is written as 0 and read back as 0.
          const want: unknown = JSON.parse(JSON.stringify(x));
          return isDeepStrictEqual(decoded, want) && ref.hex(encodeEntry(decoded)) === ref.hex(bytes);
        }),
      );
    });

    it("canonicalBytes returns or throws an EncodingError for anything, never anything else", function () {
      fcAssert(
        fc.property(
          fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, stringUnit: "binary" }),
          (value) => {
            try {
              canonicalBytes(value);
            } catch (e) {
              expect(e).to.be.instanceOf(EncodingError);
            }
          },
        ),
      );
    });

    it("decodeEntry returns or throws an EncodingError for any bytes, and only accepts what it would encode", function () {
      const canonicalEntry = fc.tuple(json, fc.nat({ max: 5 })).map(([a, v]) => {
        const entry = { a, v: v + 1 };
        return encodeEntry(entry);
      });
      const mutated = fc.tuple(canonicalEntry, fc.nat(), fc.nat({ max: 255 })).map(([b, at, byte]) => {
        const c = Uint8Array.from(b);
        c[at % c.length] = byte;
        return c;
      });
      fcAssert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), canonicalEntry, mutated), (bytes) => {
          let decoded;
          try {
            decoded = decodeEntry(bytes);
          } catch (e) {
            expect(e).to.be.instanceOf(EncodingError);
            return;
          }
          expect(ref.hex(encodeEntry(decoded))).to.equal(ref.hex(bytes));
        }),
      );
    });
  });
});
