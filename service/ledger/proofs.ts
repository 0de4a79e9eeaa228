/**
 * Proofs served from the store: the log core plans which perfect-subtree
 * nodes a proof needs, this module reads those O(log n) hashes in one batch,
 * and the core folds them. Every proof is verified against the root before it
 * is returned, so a storage or maths bug fails loudly instead of shipping a
 * proof that clients would reject.
 */
import {
  assembleProof,
  assertArgument,
  EMPTY_ROOT,
  foldRight,
  LogInvariantError,
  nodeKey,
  planConsistency,
  planInclusion,
  planNodeIds,
  planRoot,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
} from "../log";
import type { LedgerStore } from "../store/store";

async function fetchNodes(store: LedgerStore, ids: readonly NodeId[]): Promise<Map<string, Uint8Array>> {
  const hashes = await store.nodes(ids);
  const map = new Map<string, Uint8Array>();
  ids.forEach((id, i) => {
    const h = hashes[i];
    if (h === undefined) throw new LogInvariantError(`node ${nodeKey(id)} is missing from the store`);
    map.set(nodeKey(id), h);
  });
  return map;
}

/** The root of the first `size` leaves. Requires size ≤ the store's tree size. */
export async function rootAt(store: LedgerStore, size: number): Promise<Uint8Array> {
  if (size === 0) return EMPTY_ROOT;
  const ids = planRoot(size);
  const nodes = await fetchNodes(store, ids);
  return foldRight(ids.map((id) => nodes.get(nodeKey(id))!));
}

export interface InclusionResult {
  readonly leafHash: Uint8Array;
  readonly root: Uint8Array;
  readonly proof: Uint8Array[];
}

/** Requires 0 ≤ index < size ≤ the store's tree size (LogArgumentError otherwise). */
export async function inclusionProof(store: LedgerStore, index: number, size: number, treeSize: number): Promise<InclusionResult> {
  assertArgument(size <= treeSize, `size ${size} exceeds the tree size ${treeSize}`);
  const plan = planInclusion(index, size);
  const leafId = { level: 0, index };
  const nodes = await fetchNodes(store, [leafId, ...planNodeIds(plan)]);
  const proof = assembleProof(plan, (id) => nodes.get(nodeKey(id))!);
  const leafHash = nodes.get(nodeKey(leafId))!;
  const root = await rootAt(store, size);
  try {
    verifyInclusion(leafHash, index, size, root, proof);
  } catch (cause) {
    throw new LogInvariantError(`stored inclusion proof (${index}, ${size}) does not verify: ${String(cause)}`);
  }
  return { leafHash, root, proof };
}

export interface ConsistencyResult {
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  readonly proof: Uint8Array[];
}

/** Requires 0 ≤ size1 ≤ size2 ≤ the store's tree size (LogArgumentError otherwise). */
export async function consistencyProof(store: LedgerStore, size1: number, size2: number, treeSize: number): Promise<ConsistencyResult> {
  assertArgument(size2 <= treeSize, `size ${size2} exceeds the tree size ${treeSize}`);
  const plan = planConsistency(size1, size2);
  const nodes = await fetchNodes(store, planNodeIds(plan));
  const proof = assembleProof(plan, (id) => nodes.get(nodeKey(id))!);
  const [root1, root2] = await Promise.all([rootAt(store, size1), rootAt(store, size2)]);
  try {
    verifyConsistency(size1, size2, root1, root2, proof);
  } catch (cause) {
    throw new LogInvariantError(`stored consistency proof (${size1}, ${size2}) does not verify: ${String(cause)}`);
  }
  return { root1, root2, proof };
}
