/**
 * Store-backed proofs (service/ledger/proofs.ts) while other proofs run:
 * the root remembered for one size must never stand in for another's, nor
 * leave a proof without the nodes it folds.
 */
import { expect } from "chai";
import fc from "fast-check";
import { CompactRange, MemoryTree, toHex, verifyConsistency, verifyInclusion } from "../../service/log";
import { consistencyProof, inclusionProof, rootAt } from "../../service/ledger/proofs";
import { MemoryStore } from "../../service/store/memory";
import { buildBatches } from "../store/contract";

describe("store-backed proofs, interleaved", () => {
  const N = 300;
  let store: MemoryStore;
  let tree: MemoryTree;

  before(async () => {
    store = new MemoryStore();
    tree = new MemoryTree();
    for (const b of buildBatches(new CompactRange(), tree, [1, 99, 200])) await store.commit(b);
  });

  it("answers a proof at the latest size started while a root at another size is being read", async () => {
    await rootAt(store, N); // the latest size's root is now the one remembered
    const [root37, proof] = await Promise.all([rootAt(store, 37), inclusionProof(store, 5, N, N)]);
    expect(toHex(root37)).to.equal(toHex(tree.root(37)));
    expect(toHex(proof.root)).to.equal(toHex(tree.root(N)));
    verifyInclusion(tree.leafHash(5), 5, N, tree.root(N), proof.proof);
  });

  it("gives every proof and root of a random concurrent mix the reference tree's values", async () => {
    const size = fc.integer({ min: 1, max: N });
    const request = fc.oneof(
      size.map((s) => ({ op: "root" as const, s })),
      fc.tuple(size, fc.nat()).map(([s, i]) => ({ op: "inclusion" as const, s, i: i % s })),
      fc.tuple(size, size).map(([a, b]) => ({ op: "consistency" as const, s1: Math.min(a, b), s: Math.max(a, b) })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 2, maxLength: 12 }), async (mix) => {
        await Promise.all(
          mix.map(async (r) => {
            if (r.op === "root") {
              expect(toHex(await rootAt(store, r.s))).to.equal(toHex(tree.root(r.s)));
            } else if (r.op === "inclusion") {
              const p = await inclusionProof(store, r.i, r.s, N);
              expect(toHex(p.root)).to.equal(toHex(tree.root(r.s)));
              verifyInclusion(tree.leafHash(r.i), r.i, r.s, tree.root(r.s), p.proof);
            } else {
              const p = await consistencyProof(store, r.s1, r.s, N);
              expect([toHex(p.root1), toHex(p.root2)]).to.deep.equal([toHex(tree.root(r.s1)), toHex(tree.root(r.s))]);
              verifyConsistency(r.s1, r.s, tree.root(r.s1), tree.root(r.s), p.proof);
            }
          }),
        );
      }),
      { numRuns: 200 },
    );
  });
});
