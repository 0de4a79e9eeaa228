/**
 * Proof verification, RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
 *
 * Each verifier checks its arguments and the proof's length before hashing
 * anything, computes the root(s) the proof implies, then compares. Failures
 * throw {@link VerificationError} with a code, and for a mismatch the expected
 * and calculated roots. Inputs may come from an attacker (receipts, API
 * responses): anything malformed becomes a VerificationError, never a stray
 * RangeError or TypeError.
 *
 * Each algorithm is written once, as a generator that yields the pairs to
 * hash (./steps.ts); the synchronous functions run it with node:crypto, the
 * *Async ones with WebCrypto (for the browser). Both give the same results
 * and throw the same errors.
 */
import { VerificationError } from "./errors";
import { EMPTY_ROOT, equalBytes, HASH_SIZE, toHex } from "./hash";
import { withNodeCrypto, withWebCrypto } from "./perform";
import type { Steps } from "./steps";
import { consistencyRanges, inclusionRanges } from "./tree";

/** A proof verifier's steps: it only ever asks for node hashes. */
type HashSteps<T> = Steps<T, never>;

function isSize(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
    throw new VerificationError("HASH_LENGTH_INVALID", `${what} must be a 32-byte hash`);
}

function checkProof(proof: unknown, want: number): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw new VerificationError("PROOF_LENGTH_INVALID", "proof must be an array of hashes");
  if (proof.length !== want)
    throw new VerificationError("PROOF_LENGTH_INVALID", `proof has ${proof.length} hashes, the sizes imply ${want}`);
  // An indexed loop, not forEach: forEach skips the holes of a sparse array,
  // which would then reach the hashing loop as undefined (a TypeError).
  for (let i = 0; i < proof.length; i++) checkHash(proof[i], `proof[${i}]`);
}

function odd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

function mismatch(what: string, expected: Uint8Array, calculated: Uint8Array): VerificationError {
  return new VerificationError(
    "ROOT_MISMATCH",
    `${what}: calculated ${toHex(calculated)}, expected ${toHex(expected)}`,
    { expected, calculated },
  );
}

function* inclusionRootSteps(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): HashSteps<Uint8Array> {
  if (!isSize(index) || !isSize(size)) throw new VerificationError("SIZE_INVALID", "index and size must be non-negative safe integers");
  if (index >= size) throw new VerificationError("INDEX_OUT_OF_RANGE", `index ${index} is not below tree size ${size}`);
  checkHash(leafHash, "leaf hash");
  checkProof(proof, inclusionRanges(index, size).length);

  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new VerificationError("PROOF_LENGTH_INVALID", "proof is longer than the path to the root");
    if (odd(fn) || fn === sn) {
      r = (yield { op: "node", left: p, right: r }) as Uint8Array;
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = (yield { op: "node", left: r, right: p }) as Uint8Array;
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new VerificationError("PROOF_LENGTH_INVALID", "proof does not reach the root");
  return r;
}

/**
 * The root that an inclusion proof implies for `leafHash` at `index` in a tree
 * of `size` leaves. Requires 0 ≤ index < size and a proof of exactly the
 * length those imply. Throws VerificationError otherwise.
 */
export function rootFromInclusionProof(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Uint8Array {
  return withNodeCrypto(inclusionRootSteps(leafHash, index, size, proof));
}

/** {@link rootFromInclusionProof} with WebCrypto; rejects with the same VerificationError. */
export function rootFromInclusionProofAsync(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Promise<Uint8Array> {
  return withWebCrypto(inclusionRootSteps(leafHash, index, size, proof));
}

function* verifyInclusionSteps(leafHash: Uint8Array, index: number, size: number, root: Uint8Array, proof: readonly Uint8Array[]): HashSteps<void> {
  checkHash(root, "root");
  const calculated = yield* inclusionRootSteps(leafHash, index, size, proof);
  if (!equalBytes(calculated, root)) throw mismatch("inclusion proof", root, calculated);
}

/**
 * Checks that `leafHash` is the leaf at `index` in the tree of `size` leaves
 * whose root is `root`. Throws VerificationError on any failure.
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, root: Uint8Array, proof: readonly Uint8Array[]): void {
  withNodeCrypto(verifyInclusionSteps(leafHash, index, size, root, proof));
}

/** {@link verifyInclusion} with WebCrypto; rejects with the same VerificationError. */
export function verifyInclusionAsync(leafHash: Uint8Array, index: number, size: number, root: Uint8Array, proof: readonly Uint8Array[]): Promise<void> {
  return withWebCrypto(verifyInclusionSteps(leafHash, index, size, root, proof));
}

function* verifyConsistencySteps(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): HashSteps<void> {
  if (!isSize(size1) || !isSize(size2)) throw new VerificationError("SIZE_INVALID", "sizes must be non-negative safe integers");
  if (size1 > size2) throw new VerificationError("SIZE_INVALID", `size1 ${size1} exceeds size2 ${size2}`);
  checkHash(root1, "root1");
  checkHash(root2, "root2");
  checkProof(proof, consistencyRanges(size1, size2).length);

  if (size1 === size2) {
    if (!equalBytes(root1, root2))
      throw new VerificationError("ROOTS_DIFFER_AT_EQUAL_SIZE", `different roots for the same size ${size1}`, {
        expected: root1,
        calculated: root2,
      });
    // Two empty trees fall through: root1 must still be the empty-tree root.
    if (size1 > 0) return;
  }
  if (size1 === 0) {
    if (!equalBytes(root1, EMPTY_ROOT)) throw mismatch("root of the empty tree", EMPTY_ROOT, root1);
    return;
  }

  // Step 2: when size1 is a power of two its root is the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new VerificationError("PROOF_LENGTH_INVALID", "proof is longer than the path to the root");
    if (odd(fn) || fn === sn) {
      fr = (yield { op: "node", left: c, right: fr }) as Uint8Array;
      sr = (yield { op: "node", left: c, right: sr }) as Uint8Array;
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = (yield { op: "node", left: sr, right: c }) as Uint8Array;
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new VerificationError("PROOF_LENGTH_INVALID", "proof does not reach the new root");
  if (!equalBytes(fr, root1)) throw mismatch("consistency proof, old root", root1, fr);
  if (!equalBytes(sr, root2)) throw mismatch("consistency proof, new root", root2, sr);
}

/**
 * Checks that the tree of `size2` leaves with root `root2` extends the tree of
 * `size1` leaves with root `root1`. Requires 0 ≤ size1 ≤ size2.
 *
 * Edge cases (RFC 9162 §2.1.4): equal sizes need an empty proof and equal
 * roots; size1 = 0 needs an empty proof, and root1 must be the empty-tree root
 * (stricter than some implementations, which ignore root1 there).
 * Throws VerificationError on any failure.
 */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  withNodeCrypto(verifyConsistencySteps(size1, size2, root1, root2, proof));
}

/** {@link verifyConsistency} with WebCrypto; rejects with the same VerificationError. */
export function verifyConsistencyAsync(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): Promise<void> {
  return withWebCrypto(verifyConsistencySteps(size1, size2, root1, root2, proof));
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}
