/**
 * RFC 6962 / RFC 9162 §2.1 tree maths: which subtrees a proof is made of,
 * incremental roots, and an in-memory tree. Pure: no I/O, no clock.
 *
 * Sizes and indices are JavaScript numbers restricted to safe integers
 * (< 2^53). Bitwise operators are 32-bit in JavaScript, so every shift here is
 * written as division or multiplication by powers of two.
 *
 * Storage-backed trees (the service) use the plan functions: a plan lists the
 * perfect-subtree nodes a proof needs, the caller reads those O(log n) node
 * hashes from wherever it keeps them, and {@link assembleProof} folds them
 * into proof elements. This keeps the maths here and the I/O with the caller.
 */
import { assertArgument, assertInvariant } from "./errors";
import { EMPTY_ROOT, hashChildren, HASH_SIZE } from "./hash";

/**
 * A perfect subtree: the node at `level` (0 = leaves) and position `index`
 * within that level. It covers leaves [index·2^level, (index+1)·2^level).
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A half-open range of leaf indices [begin, end). */
export interface LeafRange {
  readonly begin: number;
  readonly end: number;
}

/**
 * A proof to be assembled: element i of the proof is MTH(D[ranges[i]]), which
 * is the right fold of the hashes of `nodes[i]` (one node when the range is a
 * perfect subtree, several when it is the ragged right edge of the tree).
 */
export interface ProofPlan {
  readonly ranges: readonly LeafRange[];
  readonly nodes: readonly (readonly NodeId[])[];
}

export function assertSize(n: number, what: string): void {
  assertArgument(Number.isSafeInteger(n) && n >= 0, `${what} must be a non-negative safe integer, got ${String(n)}`);
}

/** Largest power of two strictly less than n. Requires n > 1. */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Largest power of two less than or equal to n. Requires n ≥ 1. */
function largestPowerOfTwoAtMost(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return k;
}

function log2(p: number): number {
  let l = 0;
  while (p > 1) {
    p /= 2;
    l++;
  }
  return l;
}

/**
 * The leaf ranges of the audit path PATH(index, D[0:size]) of RFC 6962 §2.1.1,
 * in proof order (leaf end first, root end last).
 * Requires 0 ≤ index < size.
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  assertSize(index, "index");
  assertSize(size, "size");
  assertArgument(index < size, `index ${index} out of range for tree size ${size}`);
  const descent: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      descent.push({ begin: lo + k, end: hi });
      hi = lo + k;
    } else {
      descent.push({ begin: lo, end: lo + k });
      lo += k;
    }
  }
  return descent.reverse();
}

/**
 * The leaf ranges of the consistency proof PROOF(size1, D[0:size2]) of
 * RFC 6962 §2.1.2, in proof order. Empty when size1 is 0 or equals size2.
 * Requires 0 ≤ size1 ≤ size2.
 */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  assertSize(size1, "size1");
  assertSize(size2, "size2");
  assertArgument(size1 <= size2, `size1 ${size1} exceeds size2 ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const descent: LeafRange[] = [];
  let lo = 0;
  let hi = size2;
  let m = size1; // relative to lo
  let whole = true; // SUBPROOF's b flag: the subtree is the old tree's whole root
  while (m !== hi - lo) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m <= k) {
      descent.push({ begin: lo + k, end: hi });
      hi = lo + k;
    } else {
      descent.push({ begin: lo, end: lo + k });
      lo += k;
      m -= k;
      whole = false;
    }
  }
  const proof = descent.reverse();
  if (!whole) proof.unshift({ begin: lo, end: hi });
  return proof;
}

/**
 * Decomposes [begin, end) into the fewest perfect subtrees, left to right.
 * For [0, n) and for every range in a proof plan the subtrees shrink from left
 * to right, and MTH of the range is their right fold ({@link foldRight}).
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  assertSize(begin, "begin");
  assertSize(end, "end");
  assertArgument(begin <= end, `range [${begin}, ${end}) is reversed`);
  const ids: NodeId[] = [];
  let pos = begin;
  while (pos < end) {
    let p = largestPowerOfTwoAtMost(end - pos);
    while (pos % p !== 0) p /= 2;
    ids.push({ level: log2(p), index: pos / p });
    pos += p;
  }
  return ids;
}

/** hash(h0, hash(h1, … hash(h_{n-2}, h_{n-1}))). Requires at least one hash. */
export function foldRight(hashes: readonly Uint8Array[]): Uint8Array {
  assertArgument(hashes.length > 0, "cannot fold an empty list of hashes");
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
  return acc;
}

function plan(ranges: LeafRange[]): ProofPlan {
  return { ranges, nodes: ranges.map((r) => rangeNodes(r.begin, r.end)) };
}

/** The nodes an inclusion proof for `index` in a tree of `size` is made of. Requires 0 ≤ index < size. */
export function planInclusion(index: number, size: number): ProofPlan {
  return plan(inclusionRanges(index, size));
}

/** The nodes a consistency proof from size1 to size2 is made of. Requires 0 ≤ size1 ≤ size2. */
export function planConsistency(size1: number, size2: number): ProofPlan {
  return plan(consistencyRanges(size1, size2));
}

/** The nodes whose right fold is the root of the first `size` leaves (none for the empty tree). */
export function planRoot(size: number): NodeId[] {
  return rangeNodes(0, size);
}

/** Every distinct node a plan needs, for a caller that fetches them in one batch. */
export function planNodeIds(p: ProofPlan): NodeId[] {
  const seen = new Set<string>();
  const out: NodeId[] = [];
  for (const group of p.nodes)
    for (const id of group) {
      const key = nodeKey(id);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(id);
      }
    }
  return out;
}

/** A stable string key for a node, e.g. for a Map of fetched hashes. */
export function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/**
 * Folds a plan's node hashes into proof elements. `lookup` must return the
 * 32-byte hash of each node the plan names.
 */
export function assembleProof(p: ProofPlan, lookup: (id: NodeId) => Uint8Array): Uint8Array[] {
  return p.nodes.map((group) =>
    foldRight(
      group.map((id) => {
        const h = lookup(id);
        assertArgument(h.length === HASH_SIZE, `node ${nodeKey(id)} hash must be 32 bytes`);
        return h;
      }),
    ),
  );
}

/** A node hash completed by an append, for the caller to store. */
export interface CreatedNode {
  readonly id: NodeId;
  readonly hash: Uint8Array;
}

/**
 * Hashes `count` (left ‖ right) pairs, 64 bytes each, lying contiguously at
 * buf[from ..), into their parents, hashChildren(left, right), 32 bytes each
 * at buf[to ..). The two regions do not overlap. A batch a call, so that an
 * implementation can hash many pairs at once; {@link hashPairsOneByOne} is
 * the plain one.
 */
export type PairHasher = (buf: Uint8Array, from: number, count: number, to: number) => void;

/** A {@link PairHasher} that calls {@link hashChildren} for each pair. */
export const hashPairsOneByOne: PairHasher = (buf, from, count, to) => {
  for (let j = 0; j < count; j++) {
    const at = from + 64 * j;
    buf.set(hashChildren(buf.subarray(at, at + HASH_SIZE), buf.subarray(at + HASH_SIZE, at + 2 * HASH_SIZE)), to + HASH_SIZE * j);
  }
};

/** Bytes of scratch {@link CompactRange.extendMany} needs for `count` leaves: two rows of count + 1 hashes. */
export function extendScratchSize(count: number): number {
  return 2 * HASH_SIZE * (count + 1);
}

/**
 * The compact range of the first `size` leaves: the roots of the perfect
 * subtrees of {@link planRoot}(size), left to right. O(log n) memory; appends
 * in amortised O(1) hashes. This is how the service and the auditor keep the
 * tree's right edge without holding the tree.
 */
export class CompactRange {
  private _size: number;
  private readonly _hashes: Uint8Array[];

  constructor(size = 0, hashes: readonly Uint8Array[] = []) {
    assertSize(size, "size");
    const expected = rangeNodes(0, size).length;
    assertArgument(hashes.length === expected, `a compact range of size ${size} has ${expected} hashes, got ${hashes.length}`);
    for (const h of hashes) assertArgument(h.length === HASH_SIZE, "compact range hashes must be 32 bytes");
    this._size = size;
    this._hashes = [...hashes];
  }

  get size(): number {
    return this._size;
  }

  /** The perfect-subtree roots, left to right. */
  get hashes(): readonly Uint8Array[] {
    return this._hashes;
  }

  /**
   * Appends one leaf hash. Returns every node this completes, the leaf
   * itself (level 0) first, so a store can persist them.
   */
  append(leafHash: Uint8Array): CreatedNode[] {
    const created: CreatedNode[] = [{ id: { level: 0, index: this._size }, hash: leafHash }];
    this._add(leafHash, created);
    return created;
  }

  /**
   * {@link append} for a caller that stores no nodes (the auditor): the same
   * hashes, without listing what it completes.
   */
  extend(leafHash: Uint8Array): void {
    this._add(leafHash, null);
  }

  private _add(leafHash: Uint8Array, created: CreatedNode[] | null): void {
    assertArgument(leafHash.length === HASH_SIZE, "leaf hash must be 32 bytes");
    assertArgument(Number.isSafeInteger(this._size + 1), "tree is full");
    let hash = leafHash;
    let level = 0;
    let index = this._size;
    // The low set bits of the old size are the subtrees that merge with the new leaf.
    for (let n = this._size; n % 2 === 1; n = (n - 1) / 2) {
      const left = this._hashes.pop();
      assertInvariant(left !== undefined, "compact range lost a subtree");
      hash = hashChildren(left, hash);
      level += 1;
      index = (index - 1) / 2;
      created?.push({ id: { level, index }, hash });
    }
    this._hashes.push(hash);
    this._size += 1;
  }

  /**
   * {@link extend} for many leaves at once (`leaves`: 32 bytes each, in
   * order), with the same result, but level by level: the new nodes of a
   * level are the pairs of the level below, hashed in one call of
   * `hashPairs`. Where the range began on an odd index, the compact range's
   * subtree of that level is the left of the first pair; where the row ends
   * on an odd index, its last node is a subtree of the new compact range.
   * `scratch` ({@link extendScratchSize}(count) bytes or more) holds the
   * rows, so the hashing works on one buffer the caller chose (e.g. the
   * memory of a WebAssembly module); it is overwritten.
   */
  extendMany(leaves: Uint8Array, hashPairs: PairHasher, scratch: Uint8Array): void {
    assertArgument(leaves.length % HASH_SIZE === 0, "leaf hashes must be 32 bytes each");
    const count = leaves.length / HASH_SIZE;
    assertArgument(Number.isSafeInteger(this._size + count), "tree is full");
    assertArgument(scratch.length >= extendScratchSize(count), `extending by ${count} leaves needs ${extendScratchSize(count)} bytes of scratch`);
    if (count === 0) return;
    // Two rows, each with room for one hash before it (the compact range's node of the level).
    const rowBytes = HASH_SIZE * (count + 1);
    let row = HASH_SIZE; // the level's new nodes start here
    let other = rowBytes + HASH_SIZE;
    scratch.set(leaves, row);
    const kept: Uint8Array[] = []; // new compact-range nodes, lowest level first
    let start = this._size; // first new node's index at this level
    let end = this._size + count; // one past the last
    // The compact range's nodes are read from its right end and dropped only at the end, so
    // that a hashPairs that throws leaves the range as it was.
    let top = this._hashes.length;
    while (end > start) {
      let from = row;
      if (start % 2 === 1) {
        const left = this._hashes[--top];
        assertInvariant(left !== undefined, "compact range lost a subtree");
        from -= HASH_SIZE;
        scratch.set(left, from);
      }
      const pairs = Math.floor(end / 2) - Math.floor(start / 2);
      if (end % 2 === 1) kept.push(scratch.slice(row + HASH_SIZE * (end - 1 - start), row + HASH_SIZE * (end - start)));
      if (pairs > 0) hashPairs(scratch, from, pairs, other);
      [row, other] = [other, row];
      start = Math.floor(start / 2);
      end = Math.floor(end / 2);
    }
    this._hashes.length = top;
    for (let k = kept.length - 1; k >= 0; k--) this._hashes.push(kept[k]!);
    this._size += count;
  }

  /** MTH of the leaves so far; the empty tree's root when there are none. */
  root(): Uint8Array {
    return this._hashes.length === 0 ? EMPTY_ROOT : foldRight(this._hashes);
  }

  clone(): CompactRange {
    return new CompactRange(this._size, this._hashes);
  }
}
