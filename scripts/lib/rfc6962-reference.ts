/**
 * A plain recursive reference implementation of RFC 6962 §2.1 (= RFC 9162
 * §2.1), written straight from the RFC text and used only by the tests and
 * the vector generator (scripts/gen-vectors.ts) to cross-check the log core.
 *
 * It deliberately shares no code with service/log: it hashes with node:crypto
 * directly, recurses exactly as the RFC's definitions do, and recomputes every
 * subtree hash from the leaf data each time. It is slow (O(n) hashes per call)
 * and obviously correct, which is the point.
 *
 * Notation follows the RFC: D[n] is a list of n entries (leaf data), D[a:b]
 * is entries a..b-1, and k is the largest power of two strictly less than n.
 */
import { createHash } from "node:crypto";

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** MTH({}) = SHA-256(). */
export const EMPTY_TREE_HASH: Uint8Array = sha256();

/** MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0x00), entry);
}

/** SHA-256(0x01 || left || right), the interior-node hash of MTH. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0x01), left, right);
}

/** "k is the largest power of two smaller than n (i.e., k < n <= 2k)". Requires n > 1. */
export function largestPowerOfTwoLessThan(n: number): number {
  if (!(n > 1)) throw new Error(`reference: k is undefined for n = ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * RFC 6962 §2.1:
 *   MTH({}) = SHA-256()
 *   MTH({d(0)}) = SHA-256(0x00 || d(0))
 *   MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
 */
export function mth(D: readonly Uint8Array[]): Uint8Array {
  const n = D.length;
  if (n === 0) return EMPTY_TREE_HASH;
  if (n === 1) return leafHash(D[0]!);
  const k = largestPowerOfTwoLessThan(n);
  return nodeHash(mth(D.slice(0, k)), mth(D.slice(k, n)));
}

/**
 * RFC 6962 §2.1.1, the audit path for the (m+1)th entry. Requires 0 ≤ m < n.
 *   PATH(0, {d(0)}) = {}
 *   PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])     for m < k
 *   PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k]) for m >= k
 */
export function path(m: number, D: readonly Uint8Array[]): Uint8Array[] {
  const n = D.length;
  if (!(Number.isInteger(m) && m >= 0 && m < n)) throw new Error(`reference: PATH(${m}, D[${n}]) is undefined`);
  if (n === 1) return [];
  const k = largestPowerOfTwoLessThan(n);
  if (m < k) return [...path(m, D.slice(0, k)), mth(D.slice(k, n))];
  return [...path(m - k, D.slice(k, n)), mth(D.slice(0, k))];
}

/**
 * RFC 6962 §2.1.2, the consistency proof PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
 * Requires 0 < m ≤ n. (The RFC leaves m = 0 undefined; RFC 9162 §2.1.4 and
 * every verifier treat it as the empty proof, and so does this.)
 */
export function proof(m: number, D: readonly Uint8Array[]): Uint8Array[] {
  const n = D.length;
  if (!(Number.isInteger(m) && m >= 0 && m <= n)) throw new Error(`reference: PROOF(${m}, D[${n}]) is undefined`);
  if (m === 0) return [];
  return subproof(m, D, true);
}

/**
 *   SUBPROOF(m, D[m], true) = {}
 *   SUBPROOF(m, D[m], false) = {MTH(D[m])}
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])         for m <= k
 *   SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) for m > k
 */
function subproof(m: number, D: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = D.length;
  if (m === n) return b ? [] : [mth(D)];
  const k = largestPowerOfTwoLessThan(n);
  if (m <= k) return [...subproof(m, D.slice(0, k), b), mth(D.slice(k, n))];
  return [...subproof(m - k, D.slice(k, n), false), mth(D.slice(0, k))];
}

/** The number of hashes in PATH(m, D[n]), from the same recursion without hashing. Requires 0 ≤ m < n. */
export function pathLength(m: number, n: number): number {
  if (n === 1) return 0;
  const k = largestPowerOfTwoLessThan(n);
  return 1 + (m < k ? pathLength(m, k) : pathLength(m - k, n - k));
}

/** The number of hashes in PROOF(m, D[n]). Requires 0 ≤ m ≤ n. */
export function proofLength(m: number, n: number): number {
  if (m === 0) return 0;
  const sub = (m: number, n: number, b: boolean): number => {
    if (m === n) return b ? 0 : 1;
    const k = largestPowerOfTwoLessThan(n);
    return 1 + (m <= k ? sub(m, k, b) : sub(m - k, n - k, false));
  };
  return sub(m, n, true);
}

const is32 = (h: Uint8Array): boolean => h.length === 32;

/**
 * A reference inclusion verifier: it runs the PATH recursion backwards,
 * consuming the proof from its root end, and returns the root the proof
 * implies, or undefined when the proof cannot be a PATH for (m, n) (wrong
 * length, or an element that is not a 32-byte hash).
 */
export function rootFromPath(m: number, n: number, leaf: Uint8Array, p: readonly Uint8Array[]): Uint8Array | undefined {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m < n)) return undefined;
  if (!is32(leaf) || !p.every(is32) || p.length !== pathLength(m, n)) return undefined;
  const walk = (m: number, n: number, p: readonly Uint8Array[]): Uint8Array => {
    if (n === 1) return leaf;
    const k = largestPowerOfTwoLessThan(n);
    const rest = p.slice(0, -1);
    const last = p[p.length - 1]!;
    return m < k ? nodeHash(walk(m, k, rest), last) : nodeHash(last, walk(m - k, n - k, rest));
  };
  return walk(m, n, p);
}

/** True when `p` proves entry hash `leaf` is at index m of the n-entry tree with root `root`. */
export function verifyPath(m: number, n: number, leaf: Uint8Array, root: Uint8Array, p: readonly Uint8Array[]): boolean {
  const calculated = rootFromPath(m, n, leaf, p);
  return calculated !== undefined && is32(root) && Buffer.from(calculated).equals(root);
}

/**
 * A reference consistency verifier: it runs the SUBPROOF recursion backwards
 * and returns whether `p` proves that the m-entry tree with root `root1` is a
 * prefix of the n-entry tree with root `root2`.
 *
 * Edge cases as RFC 9162 §2.1.4.2 and service/log/verify.ts define them:
 * m = n needs an empty proof and equal roots; m = 0 needs an empty proof and
 * root1 must be the empty-tree hash (whatever root2 is).
 */
export function verifyProof(m: number, n: number, root1: Uint8Array, root2: Uint8Array, p: readonly Uint8Array[]): boolean {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m <= n)) return false;
  if (!is32(root1) || !is32(root2) || !p.every(is32) || p.length !== proofLength(m, n)) return false;
  const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b);
  if (m === 0) return eq(root1, EMPTY_TREE_HASH) && (n > 0 || eq(root1, root2));
  if (m === n) return eq(root1, root2);
  // Returns [MTH of the old (m-entry) subtree, MTH of the new (n-entry) subtree].
  const walk = (m: number, n: number, b: boolean, p: readonly Uint8Array[]): [Uint8Array, Uint8Array] => {
    if (m === n) {
      const h = b ? root1 : p[0]!;
      return [h, h];
    }
    const k = largestPowerOfTwoLessThan(n);
    const rest = p.slice(0, -1);
    const last = p[p.length - 1]!;
    if (m <= k) {
      const [oldRoot, newLeft] = walk(m, k, b, rest);
      return [oldRoot, nodeHash(newLeft, last)];
    }
    const [oldRight, newRight] = walk(m - k, n - k, false, rest);
    return [nodeHash(last, oldRight), nodeHash(last, newRight)];
  };
  const [calculated1, calculated2] = walk(m, n, true, p);
  return eq(calculated1, root1) && eq(calculated2, root2);
}

/** The leaves [begin, end) the perfect subtree at (level, index) covers. */
export function nodeRange(level: number, index: number): { begin: number; end: number } {
  const width = 2 ** level;
  return { begin: index * width, end: (index + 1) * width };
}

/**
 * The fewest perfect (aligned, power-of-two) subtrees covering leaves
 * [begin, end), left to right: the textbook segment-tree decomposition,
 * recursing from a perfect tree big enough to hold `end` leaves. Not from the
 * RFC, but the standard definition the plan functions must agree with.
 */
export function perfectSubtrees(begin: number, end: number): { level: number; index: number }[] {
  let level = 0;
  while (2 ** level < end) level++;
  const out: { level: number; index: number }[] = [];
  const visit = (level: number, index: number): void => {
    const r = nodeRange(level, index);
    if (r.end <= begin || r.begin >= end) return;
    if (r.begin >= begin && r.end <= end) {
      out.push({ level, index });
      return;
    }
    visit(level - 1, 2 * index);
    visit(level - 1, 2 * index + 1);
  };
  if (begin < end) visit(level, 0);
  return out;
}

/** Lowercase hex of some bytes, for readable assertions. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}
