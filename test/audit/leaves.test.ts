/**
 * precheckLeaves hashes a batch's leaves in one call of the WebAssembly lanes
 * and grows the tree level by level (CompactRange.extendMany); what it
 * returns must be byte for byte what hashing and appending one leaf at a time
 * gives: leaf hashes (zeros for a record with no index), the roots at the
 * wanted sizes the batch reaches, and the tree it leaves behind.
 */
import { expect } from "chai";
import fc from "fast-check";
import { CompactRange, hashLeaf, HASH_SIZE } from "../../service/log";
import { precheckLeaves } from "../../scripts/lib/audit/leaves";
import type { LeafBatch } from "../../scripts/lib/audit/sources";
import { fcAssert } from "../helpers/fc";

/** The reference: one leaf at a time, as precheckLeaves did with node:crypto before the lanes. */
function sequential(batch: LeafBatch, tree: CompactRange, wanted: readonly number[], next: { i: number }) {
  const hashes = new Uint8Array(batch.length * HASH_SIZE);
  const sizes: number[] = [];
  const roots: string[] = [];
  for (let i = 0; i < batch.length; i++) {
    if (Number.isNaN(batch.indices[i]!)) continue;
    const h = hashLeaf(batch.data.subarray(batch.starts[i]!, batch.ends[i]!));
    hashes.set(h, i * HASH_SIZE);
    tree.extend(h);
    while (next.i < wanted.length && wanted[next.i]! < tree.size) next.i++;
    if (next.i < wanted.length && wanted[next.i] === tree.size) {
      sizes.push(tree.size);
      roots.push(Buffer.from(tree.root()).toString("hex"));
      next.i++;
    }
  }
  return { hashes: Buffer.from(hashes).toString("hex"), sizes, roots };
}

/** A batch of `leaves` laid in one buffer with `gap` bytes between them (a leaf may be empty; null: a record with no index). */
function batchOf(leaves: readonly (Uint8Array | null)[], gap: number): LeafBatch {
  const starts: number[] = [];
  const ends: number[] = [];
  const parts: Buffer[] = [];
  let at = 0;
  for (const l of leaves) {
    const b = Buffer.from(l ?? new Uint8Array(3));
    parts.push(Buffer.alloc(gap, 0x0a), b);
    at += gap;
    starts.push(at);
    ends.push((at += b.length));
  }
  return {
    length: leaves.length,
    indices: Float64Array.from(leaves.map((l, i) => (l === null ? NaN : i))),
    data: Buffer.concat(parts),
    starts: Uint32Array.from(starts),
    ends: Uint32Array.from(ends),
  };
}

describe("precheckLeaves' batched hashing", () => {
  it("gives the hashes, roots and tree of one leaf at a time, over random batches, wanted sizes and unindexed records", () => {
    const leaf = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 12, arbitrary: fc.uint8Array({ maxLength: 140 }) },
      { weight: 4, arbitrary: fc.integer({ min: 470, max: 520 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })) },
    );
    fcAssert(
      fc.property(
        fc.array(fc.array(leaf, { maxLength: 40 }), { minLength: 1, maxLength: 5 }),
        fc.uniqueArray(fc.nat(120), { maxLength: 25 }),
        fc.nat(3),
        (batches, wantedRaw, gap) => {
          const wanted = [...wantedRaw].sort((a, b) => a - b);
          const seqTree = new CompactRange();
          const batTree = new CompactRange();
          const seqNext = { i: 0 };
          const batNext = { i: 0 };
          for (const leaves of batches) {
            const batch = batchOf(leaves, gap);
            const want = sequential(batch, seqTree, wanted, seqNext);
            const got = precheckLeaves(batch, batTree, wanted, batNext);
            expect(Buffer.from(got.hashes).toString("hex"), "leaf hashes").to.equal(want.hashes);
            expect(Array.from(got.rootSizes), "root sizes").to.deep.equal(want.sizes);
            expect(Array.from({ length: want.sizes.length }, (_, k) => Buffer.from(got.roots.subarray(32 * k, 32 * k + 32)).toString("hex")), "roots").to.deep.equal(want.roots);
            expect(batNext.i).to.equal(seqNext.i);
            expect(batTree.size).to.equal(seqTree.size);
            expect(Buffer.from(batTree.root()).toString("hex"), "tree root").to.equal(Buffer.from(seqTree.root()).toString("hex"));
          }
        },
      ),
      { scale: 0.3 },
    );
  });

  it("handles an empty batch and a batch of empty leaves", () => {
    const tree = new CompactRange();
    const empty = precheckLeaves(batchOf([], 0), tree, [1], { i: 0 });
    expect(empty.hashes.length).to.equal(0);
    expect(tree.size).to.equal(0);
    const next = { i: 0 };
    const pre = precheckLeaves(batchOf([new Uint8Array(0), new Uint8Array(0)], 0), tree, [1, 2], next);
    const h = Buffer.from(hashLeaf(new Uint8Array(0))).toString("hex");
    expect(Buffer.from(pre.hashes).toString("hex")).to.equal(h + h);
    expect(Array.from(pre.rootSizes)).to.deep.equal([1, 2]);
    expect(next.i).to.equal(2);
  });
});
