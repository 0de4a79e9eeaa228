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
import type { LogStore } from "../store/store";

/** What proofs read: the stored nodes. */
export type NodeReader = Pick<LogStore, "nodes">;

/** Reads each distinct node once, in one store call. Every node must be stored. */
async function fetchNodes(store: NodeReader, wanted: readonly NodeId[]): Promise<Map<string, Uint8Array>> {
  const ids = [...new Map(wanted.map((id) => [nodeKey(id), id])).values()];
  const hashes = await store.nodes(ids);
  const map = new Map<string, Uint8Array>();
  ids.forEach((id, i) => {
    const h = hashes[i];
    if (h === undefined) throw new LogInvariantError(`node ${nodeKey(id)} is missing from the store`);
    map.set(nodeKey(id), h);
  });
  return map;
}

function foldRoot(size: number, nodes: ReadonlyMap<string, Uint8Array>): Uint8Array {
  return size === 0 ? EMPTY_ROOT : foldRight(planRoot(size).map((id) => nodes.get(nodeKey(id))!));
}

/**
 * The last root folded, per store. Nearly every proof is to the latest size,
 * so its root is folded once per size instead of once per proof. The root of
 * a size never changes: the log only grows. The root's nodes are still read
 * with every proof (at the latest size they are the head's, in memory):
 * another proof may change what is remembered while this one reads.
 */
const lastRoot = new WeakMap<NodeReader, { readonly size: number; readonly root: Uint8Array }>();

/** The root of `size`: remembered, or folded from `nodes` (which hold planRoot(size)) and remembered. */
function rootOf(store: NodeReader, size: number, nodes: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const known = lastRoot.get(store);
  if (known?.size === size) return known.root;
  const root = foldRoot(size, nodes);
  lastRoot.set(store, { size, root });
  return root;
}

/** The root of the first `size` leaves. Requires size ≤ the store's tree size. */
export async function rootAt(store: NodeReader, size: number): Promise<Uint8Array> {
  return rootOf(store, size, await fetchNodes(store, planRoot(size)));
}

export interface InclusionResult {
  readonly leafHash: Uint8Array;
  readonly root: Uint8Array;
  readonly proof: Uint8Array[];
}

/**
 * Requires 0 ≤ index < size ≤ the store's tree size (LogArgumentError otherwise).
 * Reads the leaf, the proof's nodes and the root's nodes in one batch.
 */
export async function inclusionProof(store: NodeReader, index: number, size: number, treeSize: number): Promise<InclusionResult> {
  assertArgument(size <= treeSize, `size ${size} exceeds the tree size ${treeSize}`);
  const plan = planInclusion(index, size);
  const leafId = { level: 0, index };
  const nodes = await fetchNodes(store, [leafId, ...planNodeIds(plan), ...planRoot(size)]);
  const proof = assembleProof(plan, (id) => nodes.get(nodeKey(id))!);
  const leafHash = nodes.get(nodeKey(leafId))!;
  const root = rootOf(store, size, nodes);
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

/**
 * Requires 0 ≤ size1 ≤ size2 ≤ the store's tree size (LogArgumentError otherwise).
 * Reads the proof's nodes and both roots' nodes in one batch.
 */
export async function consistencyProof(store: NodeReader, size1: number, size2: number, treeSize: number): Promise<ConsistencyResult> {
  assertArgument(size2 <= treeSize, `size ${size2} exceeds the tree size ${treeSize}`);
  const plan = planConsistency(size1, size2);
  const nodes = await fetchNodes(store, [...planNodeIds(plan), ...planRoot(size1), ...planRoot(size2)]);
  const proof = assembleProof(plan, (id) => nodes.get(nodeKey(id))!);
  const root1 = foldRoot(size1, nodes);
  const root2 = rootOf(store, size2, nodes);
  try {
    verifyConsistency(size1, size2, root1, root2, proof);
  } catch (cause) {
    throw new LogInvariantError(`stored consistency proof (${size1}, ${size2}) does not verify: ${String(cause)}`);
  }
  return { root1, root2, proof };
}
