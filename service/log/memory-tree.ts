import { assertArgument, assertInvariant } from "./errors";
import { EMPTY_ROOT } from "./hash";
import { assembleProof, assertSize, CompactRange, foldRight, nodeKey, planConsistency, planInclusion, planRoot, type NodeId } from "./tree";
import { verifyConsistency, verifyInclusion } from "./verify";

/**
 * A whole tree in memory: every leaf hash and every completed interior node.
 * For tests, vector generation and small logs; the service stores the same
 * nodes in LevelDB instead. Proofs are checked against the verifier before
 * they are returned, so a bug here fails loudly instead of shipping a bad proof.
 */
export class MemoryTree {
  /** _levels[l][i] is the hash of NodeId {level: l, index: i}. */
  private readonly _levels: Uint8Array[][] = [[]];
  private readonly _range = new CompactRange();

  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const h of leafHashes) this.append(h);
  }

  get size(): number {
    return this._range.size;
  }

  append(leafHash: Uint8Array): void {
    for (const { id, hash } of this._range.append(leafHash)) {
      const level = (this._levels[id.level] ??= []);
      assertInvariant(level.length === id.index, `node ${nodeKey(id)} completed out of order`);
      level.push(hash);
    }
  }

  node(id: NodeId): Uint8Array {
    const h = this._levels[id.level]?.[id.index];
    assertArgument(h !== undefined, `node ${nodeKey(id)} is not in the tree`);
    return h;
  }

  leafHash(index: number): Uint8Array {
    return this.node({ level: 0, index });
  }

  /** The root of the first `size` leaves (default: all). Requires size ≤ this.size. */
  root(size: number = this.size): Uint8Array {
    assertSize(size, "size");
    assertArgument(size <= this.size, `size ${size} exceeds tree size ${this.size}`);
    if (size === this.size) return this._range.root();
    return size === 0 ? EMPTY_ROOT : foldRight(planRoot(size).map((id) => this.node(id)));
  }

  /** Requires 0 ≤ index < size ≤ this.size. */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    assertArgument(size <= this.size, `size ${size} exceeds tree size ${this.size}`);
    const proof = assembleProof(planInclusion(index, size), (id) => this.node(id));
    try {
      verifyInclusion(this.leafHash(index), index, size, this.root(size), proof);
    } catch (cause) {
      assertInvariant(false, `generated inclusion proof (${index}, ${size}) does not verify: ${String(cause)}`);
    }
    return proof;
  }

  /** Requires 0 ≤ size1 ≤ size2 ≤ this.size. */
  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    assertArgument(size2 <= this.size, `size ${size2} exceeds tree size ${this.size}`);
    const proof = assembleProof(planConsistency(size1, size2), (id) => this.node(id));
    try {
      verifyConsistency(size1, size2, this.root(size1), this.root(size2), proof);
    } catch (cause) {
      assertInvariant(false, `generated consistency proof (${size1}, ${size2}) does not verify: ${String(cause)}`);
    }
    return proof;
  }
}
