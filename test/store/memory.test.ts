/**
 * The memory twin's fault hooks, which the sequencer's crash and retry tests
 * rely on: a commit can fail before anything is stored, or after the batch is
 * stored (the disk write landed but the caller never heard). The LedgerStore
 * contract itself runs against MemoryStore in level.test.ts.
 */
import { expect } from "chai";
import { CompactRange, MemoryTree, toHex } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import { StoreUnavailableError, type CommitBatch } from "../../service/store/store";
import { buildBatches, completedNodes, leafData } from "./contract";
import { rejection } from "../helpers/rejection";

describe("MemoryStore fault hooks", function () {
  let store: MemoryStore;
  let tree: MemoryTree;
  let first: CommitBatch;
  let second: CommitBatch;

  beforeEach(async function () {
    store = new MemoryStore();
    tree = new MemoryTree();
    [first, second] = buildBatches(new CompactRange(), tree, [3, 4]) as [CommitBatch, CommitBatch];
    await store.commit(first);
  });

  /** The store holds the first batch and nothing of the second. */
  async function expectOnlyFirst(): Promise<void> {
    const head = await store.head();
    expect(head.size).to.equal(3);
    expect(toHex(new CompactRange(head.size, head.compact).root())).to.equal(toHex(tree.root(3)));
    expect(await store.leaf(3)).to.equal(undefined);
    for (const leaf of second.leaves) {
      expect(await store.indexOf(leaf.id)).to.equal(undefined);
      expect(await store.state(`e:${leaf.id}`)).to.equal(undefined);
    }
    for (const k of second.idempotency.keys()) expect(await store.idempotency(k)).to.equal(undefined);
    expect(await store.nodes([{ level: 0, index: 3 }])).to.deep.equal([undefined]);
    expect(store.commits).to.equal(1);
  }

  /** The store holds both batches, exactly as a successful commit leaves it. */
  async function expectBoth(): Promise<void> {
    const head = await store.head();
    expect(head.size).to.equal(7);
    expect(toHex(new CompactRange(head.size, head.compact).root())).to.equal(toHex(tree.root(7)));
    for (let i = 0; i < 7; i++) expect((await store.leaf(i))?.id).to.equal(leafData(i).id);
    for (const k of second.idempotency.keys()) expect(await store.idempotency(k)).to.not.equal(undefined);
    const ids = completedNodes(7);
    expect((await store.nodes(ids)).map((h) => (h === undefined ? "missing" : toHex(h)))).to.deep.equal(ids.map((id) => toHex(tree.node(id))));
    expect(store.commits).to.equal(2);
  }

  describe("when a commit is made to fail before persisting", function () {
    beforeEach(function () {
      store.injectFault("fail-before-persist");
    });

    it("rejects with StoreUnavailableError", async function () {
      expect(await rejection(store.commit(second))).to.be.instanceOf(StoreUnavailableError);
    });

    it("stores nothing of the batch", async function () {
      await rejection(store.commit(second));
      await expectOnlyFirst();
    });

    it("lets the same batch be retried and stored", async function () {
      await rejection(store.commit(second));
      await store.commit(second);
      await expectBoth();
    });
  });

  describe("when a commit is made to fail after persisting", function () {
    beforeEach(function () {
      store.injectFault("fail-after-persist");
    });

    it("rejects with StoreUnavailableError", async function () {
      expect(await rejection(store.commit(second))).to.be.instanceOf(StoreUnavailableError);
    });

    it("stores the whole batch nonetheless", async function () {
      await rejection(store.commit(second));
      await expectBoth();
    });

    it("refuses a blind retry of the same batch, since the head has moved on", async function () {
      await rejection(store.commit(second));
      expect(await rejection(store.commit(second))).to.be.instanceOf(StoreUnavailableError);
      await expectBoth();
    });
  });

  describe("when several faults are queued", function () {
    it("applies them to the next commits in order, then commits normally", async function () {
      store.injectFault("fail-before-persist");
      store.injectFault("fail-after-persist");
      expect(await rejection(store.commit(second))).to.be.instanceOf(StoreUnavailableError);
      await expectOnlyFirst();
      expect(await rejection(store.commit(second))).to.be.instanceOf(StoreUnavailableError);
      await expectBoth();
      const [third] = buildBatches(new CompactRange(7, (await store.head()).compact), tree, [1]);
      await store.commit(third!);
      expect((await store.head()).size).to.equal(8);
      expect(store.commits).to.equal(3);
    });
  });
});
