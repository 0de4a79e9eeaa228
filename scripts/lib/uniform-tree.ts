/**
 * A genuine RFC 6962 tree of any size up to 2^53 − 1 leaves, all equal to one leaf hash.
 *
 * Every perfect subtree at level l then has the same hash H_l = SHA-256(0x01 ‖ H_{l−1} ‖ H_{l−1}),
 * so any node is an O(1) lookup and proofs and roots for trees far too large to build (2^32
 * leaves and more) come straight from the log core's plan functions. Used by the gas script and
 * the contract tests to exercise the on-chain verifier at realistic sizes.
 *
 * Like MemoryTree, every proof is checked against the TypeScript verifier before it is returned.
 */
import {
  assembleProof,
  assertInvariant,
  foldRight,
  hashChildren,
  HASH_SIZE,
  EMPTY_ROOT,
  planConsistency,
  planInclusion,
  planRoot,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
} from "../../service/log";

/** Levels 0..53 cover every safe-integer tree size. */
const LEVELS = 54;

export class UniformTree {
  private readonly _levels: Uint8Array[];

  /** @param leafHash the 32-byte RFC 6962 leaf hash every leaf has. */
  constructor(readonly leafHash: Uint8Array) {
    if (leafHash.length !== HASH_SIZE) throw new RangeError("leaf hash must be 32 bytes");
    const levels = [leafHash];
    for (let l = 1; l < LEVELS; l++) levels.push(hashChildren(levels[l - 1]!, levels[l - 1]!));
    this._levels = levels;
  }

  /** The hash of any node; all nodes of one level are equal. */
  node(id: NodeId): Uint8Array {
    const h = this._levels[id.level];
    if (h === undefined) throw new RangeError(`level ${id.level} is above ${LEVELS - 1}`);
    return h;
  }

  /** The root of the first `size` leaves. */
  root(size: number): Uint8Array {
    return size === 0 ? EMPTY_ROOT : foldRight(planRoot(size).map((id) => this.node(id)));
  }

  /** Requires 0 ≤ index < size. */
  inclusionProof(index: number, size: number): Uint8Array[] {
    const proof = assembleProof(planInclusion(index, size), (id) => this.node(id));
    try {
      verifyInclusion(this.leafHash, index, size, this.root(size), proof);
    } catch (cause) {
      assertInvariant(false, `uniform inclusion proof (${index}, ${size}) does not verify: ${String(cause)}`);
    }
    return proof;
  }

  /** Requires 0 ≤ size1 ≤ size2. */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    const proof = assembleProof(planConsistency(size1, size2), (id) => this.node(id));
    try {
      verifyConsistency(size1, size2, this.root(size1), this.root(size2), proof);
    } catch (cause) {
      assertInvariant(false, `uniform consistency proof (${size1}, ${size2}) does not verify: ${String(cause)}`);
    }
    return proof;
  }
}
