/**
 * The LedgerStore contract (service/store/store.ts), as one suite run against
 * every implementation: the memory twin, LevelDB (test/store/level.test.ts)
 * and PostgreSQL (test/store/postgres.test.ts) must be interchangeable.
 *
 * Batches are built the way the sequencer builds them: a CompactRange appends
 * each leaf hash and hands back the nodes it completed, and a MemoryTree over
 * the same leaves is the reference for every node and root.
 */
import { expect } from "chai";
import { CompactRange, hashLeaf, MemoryTree, type NodeId } from "../../service/log";
import type { Openings } from "../../service/records/entry";
import type { IndexRef } from "../../service/records/rules";
import type { StateDoc, StateKey } from "../../service/records/state";
import {
  ERASED_REQUEST_HASH,
  StoreUnavailableError,
  type CommitBatch,
  type IdempotencyRecord,
  type LeafWrite,
  type LedgerStore,
  type TokenRecord,
} from "../../service/store/store";

export interface StoreHarness {
  readonly store: LedgerStore;
  /**
   * Closes the store and opens it again over the same data, as after a
   * restart. A store without persistence may return itself.
   */
  readonly reopen?: () => Promise<LedgerStore>;
  /** Closes whatever is open and removes any data. */
  readonly cleanup: () => Promise<void>;
}

const utf8 = new TextEncoder();

/** Leaf i's public bytes, id, time and secondary indexes; deterministic. */
export function leafData(i: number): { id: string; bytes: Uint8Array; recordedAt: string; indexes: IndexRef[]; openings: Openings | null } {
  const id = `app_${i.toString(16).padStart(6, "0")}`;
  const recordedAt = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString();
  const indexes: IndexRef[] = [{ name: "kind", value: i % 3 === 0 ? "programme" : "application" }];
  // "91" and "911" share a prefix: a scan of one must never return the other.
  if (i % 2 === 0) indexes.push({ name: "enterprise", value: "91" });
  if (i % 5 === 0) indexes.push({ name: "enterprise", value: "911" });
  // The same value under another name must stay apart too.
  if (i % 4 === 0) indexes.push({ name: "programme", value: "91" });
  const openings: Openings | null = i % 3 === 1 ? { amountFen: { value: String(1000 + i), salt: "ab".repeat(32) } } : null;
  const bytes = utf8.encode(JSON.stringify({ v: 1, id, recordedAt, n: i, pad: "x".repeat(i % 11) }));
  return { id, bytes, recordedAt, indexes, openings };
}

/**
 * Builds consecutive commit batches of the given sizes, starting at `range`'s
 * size and advancing it, and appends the same leaves to `tree`.
 */
export function buildBatches(range: CompactRange, tree: MemoryTree, sizes: readonly number[]): CommitBatch[] {
  return sizes.map((n, b) => {
    const leaves: LeafWrite[] = [];
    const state = new Map<StateKey, StateDoc>();
    const idempotency = new Map<string, IdempotencyRecord>();
    for (let j = 0; j < n; j++) {
      const index = range.size;
      const d = leafData(index);
      const leafHash = hashLeaf(d.bytes);
      tree.append(leafHash);
      const nodes = range.append(leafHash);
      leaves.push({ index, id: d.id, bytes: d.bytes, recordedAt: d.recordedAt, nodes, indexes: d.indexes, openings: d.openings });
      state.set(`e:${d.id}`, { kind: "confirmation", id: d.id, payoutId: `pay_${index}` });
      idempotency.set(`tok\u0000key-${index}`, {
        requestHash: index.toString(16).padStart(64, "0"),
        status: 201,
        body: { id: d.id, leafIndex: index },
        createdAt: d.recordedAt,
      });
    }
    // A doc rewritten by every batch: the last write wins.
    state.set("code:PRG-1", { kind: "code", id: `prg_batch_${b}` });
    return { head: { size: range.size, compact: [...range.hashes] }, leaves, state, idempotency };
  });
}

/** Every completed perfect subtree of a tree of `size` leaves. */
export function completedNodes(size: number): NodeId[] {
  const ids: NodeId[] = [];
  for (let level = 0, width = 1; width <= size; level++, width *= 2)
    for (let index = 0; (index + 1) * width <= size; index++) ids.push({ level, index });
  return ids;
}

function token(id: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    hash: `${id}`.padEnd(64, "0"),
    official: `official-${id}`,
    agency: "agency-1",
    role: "clerk",
    createdAt: "2025-01-01T00:00:00.000Z",
    revokedAt: null,
    ...over,
  };
}

const idsOf = (ts: readonly TokenRecord[]): string[] => ts.map((t) => t.id).sort();

export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`${name}, as a LedgerStore`, function () {
    let h: StoreHarness;
    let store: LedgerStore;

    beforeEach(async function () {
      h = await make();
      store = h.store;
    });

    afterEach(async function () {
      await h.cleanup();
    });

    /** Closes and reopens through the harness, or keeps the store when it has no persistence. */
    async function reopened(): Promise<LedgerStore> {
      store = h.reopen ? await h.reopen() : store;
      return store;
    }

    describe("when nothing has been committed", function () {
      it("has an empty head", async function () {
        expect(await store.head()).to.deep.equal({ size: 0, compact: [] });
      });

      it("returns undefined or an empty list, without throwing, for every missing key", async function () {
        expect(await store.leaf(0)).to.equal(undefined);
        expect(await store.leaves(0, 10)).to.deep.equal([]);
        expect(await store.indexOf("app_missing")).to.equal(undefined);
        expect(await store.nodes([{ level: 0, index: 0 }, { level: 3, index: 1 }])).to.deep.equal([undefined, undefined]);
        expect(await store.state("e:app_missing")).to.equal(undefined);
        expect(await store.indexed({ name: "enterprise", value: "91" })).to.deep.equal([]);
        expect(await store.openings("app_missing")).to.equal(undefined);
        expect(await store.idempotency("tok\u0000missing")).to.equal(undefined);
        expect(await store.tokenByHash("f".repeat(64))).to.equal(undefined);
        expect(await store.tokens()).to.deep.equal([]);
      });

      it("expires nothing and erases missing openings quietly", async function () {
        expect(await store.expireIdempotency("2100-01-01T00:00:00.000Z")).to.equal(0);
        await store.eraseOpenings("app_missing");
        expect(await store.openings("app_missing")).to.equal(undefined);
      });
    });

    describe("when several batches are committed", function () {
      const SIZES = [1, 4, 8, 2, 6]; // 21 leaves, batch edges on and off power-of-two boundaries
      const N = SIZES.reduce((a, b) => a + b, 0);
      let tree: MemoryTree;
      let batches: CommitBatch[];

      beforeEach(async function () {
        tree = new MemoryTree();
        batches = buildBatches(new CompactRange(), tree, SIZES);
        for (const b of batches) await store.commit(b);
      });

      describe("the head", function () {
        it("is the last batch's head", async function () {
          const head = await store.head();
          expect(head.size).to.equal(N);
          expect(head.compact).to.deep.equal(batches[batches.length - 1]!.head.compact);
        });

        it("round-trips into a compact range with the reference root", async function () {
          const head = await store.head();
          expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root());
        });
      });

      describe("the leaves", function () {
        it("are each returned by index with id, bytes and recordedAt", async function () {
          for (let i = 0; i < N; i++) {
            const d = leafData(i);
            expect(await store.leaf(i), `leaf ${i}`).to.deep.equal({ index: i, id: d.id, bytes: d.bytes, recordedAt: d.recordedAt });
          }
        });

        it("are listed in log order across batch edges", async function () {
          const got = await store.leaves(3, 16);
          expect(got.map((l) => l.index)).to.deep.equal(Array.from({ length: 13 }, (_, k) => 3 + k));
          expect(got.map((l) => l.id)).to.deep.equal(got.map((l) => leafData(l.index).id));
        });

        it("are clipped to the tree size", async function () {
          expect((await store.leaves(18, 100)).map((l) => l.index)).to.deep.equal([18, 19, 20]);
          expect((await store.leaves(-5, 2)).map((l) => l.index)).to.deep.equal([0, 1]);
          expect(await store.leaves(7, 7)).to.deep.equal([]);
          expect(await store.leaves(9, 4)).to.deep.equal([]);
          expect(await store.leaves(N, N + 10)).to.deep.equal([]);
          expect(await store.leaf(N)).to.equal(undefined);
          expect(await store.leaf(-1)).to.equal(undefined);
        });

        it("are found by entry id", async function () {
          for (let i = 0; i < N; i++) expect(await store.indexOf(leafData(i).id)).to.equal(i);
          expect(await store.indexOf(leafData(N).id)).to.equal(undefined);
        });
      });

      describe("the nodes", function () {
        it("include every completed node, equal to the reference tree's", async function () {
          const ids = completedNodes(N);
          expect(ids).to.have.length(2 * N - 3); // 21 + 10 + 5 + 2 + 1 = 39
          const got = await store.nodes(ids);
          ids.forEach((id, k) => expect(got[k], `node ${id.level}/${id.index}`).to.deep.equal(tree.node(id)));
        });

        it("come back in the order asked, with undefined in place of nodes not completed", async function () {
          const ids: NodeId[] = [
            { level: 2, index: 4 }, // leaves 16..19: complete
            { level: 2, index: 5 }, // leaves 20..23: not complete at 21
            { level: 0, index: 20 },
            { level: 5, index: 0 }, // 32 leaves: not complete
            { level: 0, index: 21 }, // not appended
            { level: 4, index: 0 },
          ];
          expect(await store.nodes(ids)).to.deep.equal([tree.node(ids[0]!), undefined, tree.node(ids[2]!), undefined, undefined, tree.node(ids[5]!)]);
        });
      });

      describe("the state docs", function () {
        it("are stored per key", async function () {
          for (let i = 0; i < N; i++) {
            const d = leafData(i);
            expect(await store.state(`e:${d.id}`)).to.deep.equal({ kind: "confirmation", id: d.id, payoutId: `pay_${i}` });
          }
        });

        it("hold the last batch's write when several batches wrote the same key", async function () {
          expect(await store.state("code:PRG-1")).to.deep.equal({ kind: "code", id: `prg_batch_${SIZES.length - 1}` });
        });

        it("are copies: changing a returned doc changes nothing stored", async function () {
          const doc = (await store.state("code:PRG-1")) as { id: string };
          doc.id = "tampered";
          expect(await store.state("code:PRG-1")).to.deep.equal({ kind: "code", id: `prg_batch_${SIZES.length - 1}` });
        });
      });

      describe("the secondary indexes", function () {
        const expected = (pred: (i: number) => boolean): number[] => Array.from({ length: N }, (_, i) => i).filter(pred);

        it("list every leaf filed under (name, value), ascending", async function () {
          expect(await store.indexed({ name: "enterprise", value: "91" })).to.deep.equal(expected((i) => i % 2 === 0));
          expect(await store.indexed({ name: "enterprise", value: "911" })).to.deep.equal(expected((i) => i % 5 === 0));
          expect(await store.indexed({ name: "programme", value: "91" })).to.deep.equal(expected((i) => i % 4 === 0));
          expect(await store.indexed({ name: "kind", value: "programme" })).to.deep.equal(expected((i) => i % 3 === 0));
        });

        it("start after `after`, exclusive", async function () {
          expect(await store.indexed({ name: "enterprise", value: "91" }, { after: 8 })).to.deep.equal([10, 12, 14, 16, 18, 20]);
          expect(await store.indexed({ name: "enterprise", value: "91" }, { after: 9 })).to.deep.equal([10, 12, 14, 16, 18, 20]);
          expect(await store.indexed({ name: "enterprise", value: "91" }, { after: 20 })).to.deep.equal([]);
          expect(await store.indexed({ name: "enterprise", value: "91" }, { after: 1000 })).to.deep.equal([]);
        });

        it("return at most `limit`, so pages chain by the last index", async function () {
          const ref: IndexRef = { name: "kind", value: "application" };
          const pages: number[][] = [];
          let after: number | undefined;
          for (;;) {
            const page = await store.indexed(ref, after === undefined ? { limit: 4 } : { after, limit: 4 });
            if (page.length === 0) break;
            expect(page.length).to.be.at.most(4);
            pages.push(page);
            after = page[page.length - 1];
          }
          expect(pages.flat()).to.deep.equal(expected((i) => i % 3 !== 0));
          expect(pages).to.have.length(4); // 14 entries: 4 + 4 + 4 + 2
        });

        it("return nothing for an unknown value", async function () {
          expect(await store.indexed({ name: "enterprise", value: "9" })).to.deep.equal([]);
          expect(await store.indexed({ name: "kind", value: "payout" })).to.deep.equal([]);
        });
      });

      describe("the openings", function () {
        it("are stored for entries that have them and missing for those that do not", async function () {
          for (let i = 0; i < N; i++) {
            const d = leafData(i);
            expect(await store.openings(d.id), `openings of ${i}`).to.deep.equal(d.openings ?? undefined);
          }
        });

        it("are erased for one entry only, and the entry itself stays", async function () {
          await store.eraseOpenings(leafData(4).id);
          expect(await store.openings(leafData(4).id)).to.equal(undefined);
          expect(await store.openings(leafData(7).id)).to.deep.equal(leafData(7).openings);
          expect((await store.leaf(4))?.bytes).to.deep.equal(leafData(4).bytes);
        });
      });

      describe("and a batch erases private values", function () {
        const target = leafData(4).id;
        const inBatchTarget = leafData(7).id;
        /** The next batch (one leaf), erasing leaves 4 and 7; it also carries a batch response naming 7. */
        function erasing(): CommitBatch {
          const last = batches[batches.length - 1]!.head;
          const [next] = buildBatches(new CompactRange(last.size, last.compact), new MemoryTree(), [1]);
          const idempotency = new Map(next!.idempotency);
          idempotency.set("tok\u0000batch-naming-7", {
            requestHash: "7".repeat(64),
            status: 201,
            body: { results: [{ id: leafData(6).id }, { id: inBatchTarget }] },
            createdAt: "2025-06-01T00:00:00.000Z",
          });
          return { ...next!, idempotency, erasures: [target, inBatchTarget] };
        }

        async function expectErased(s: LedgerStore): Promise<void> {
          expect(await s.openings(target)).to.equal(undefined);
          expect(await s.openings(inBatchTarget)).to.equal(undefined);
          expect(await s.openings(leafData(10).id), "another entry's openings").to.deep.equal(leafData(10).openings);
          expect((await s.leaf(4))?.bytes, "the erased entry's leaf").to.deep.equal(leafData(4).bytes);
          const rec4 = await s.idempotency("tok\u0000key-4");
          expect(rec4, "the record of the erased entry").to.deep.equal({ requestHash: ERASED_REQUEST_HASH, status: 201, body: { id: target, leafIndex: 4 }, createdAt: leafData(4).recordedAt });
          expect((await s.idempotency("tok\u0000batch-naming-7"))?.requestHash, "a record of this batch naming an erased entry").to.equal(ERASED_REQUEST_HASH);
          expect((await s.idempotency("tok\u0000key-10"))?.requestHash, "another entry's record").to.equal((10).toString(16).padStart(64, "0"));
          expect((await s.idempotency(`tok\u0000key-${N}`))?.requestHash, "this batch's own record").to.equal(N.toString(16).padStart(64, "0"));
          expect((await s.head()).size).to.equal(N + 1);
        }

        it("deletes their openings and scrubs the idempotency records naming them, with the batch's leaf, in one commit", async function () {
          await store.commit(erasing());
          await expectErased(store);
        });

        it("keeps all of it after a reopen", async function () {
          await store.commit(erasing());
          await expectErased(await reopened());
        });

        it("erases nothing when the batch is refused: the values and the records are as they were", async function () {
          const batch = erasing();
          const refused: CommitBatch = { ...batch, leaves: batch.leaves.map((l) => ({ ...l, index: l.index + 1 })) };
          let err: unknown;
          await store.commit(refused).catch((e: unknown) => (err = e));
          expect(err).to.be.instanceOf(StoreUnavailableError);
          expect(await store.openings(target)).to.deep.equal(leafData(4).openings);
          expect(await store.openings(inBatchTarget)).to.deep.equal(leafData(7).openings);
          expect((await store.idempotency("tok\u0000key-4"))?.requestHash).to.equal((4).toString(16).padStart(64, "0"));
          expect(await store.idempotency("tok\u0000batch-naming-7")).to.equal(undefined);
          expect((await store.head()).size).to.equal(N);
        });
      });

      describe("the idempotency records", function () {
        it("are found by scoped key", async function () {
          expect(await store.idempotency("tok\u0000key-5")).to.deep.equal({
            requestHash: (5).toString(16).padStart(64, "0"),
            status: 201,
            body: { id: leafData(5).id, leafIndex: 5 },
            createdAt: leafData(5).recordedAt,
          });
        });

        it("expire strictly before the cutoff: a record created at the cutoff stays", async function () {
          expect(await store.expireIdempotency(leafData(5).recordedAt)).to.equal(5);
          for (let i = 0; i < 5; i++) expect(await store.idempotency(`tok\u0000key-${i}`), `record ${i}`).to.equal(undefined);
          for (let i = 5; i < N; i++) expect(await store.idempotency(`tok\u0000key-${i}`), `record ${i}`).to.not.equal(undefined);
        });

        it("expire once: a second pass with the same cutoff finds nothing", async function () {
          expect(await store.expireIdempotency(leafData(5).recordedAt)).to.equal(5);
          expect(await store.expireIdempotency(leafData(5).recordedAt)).to.equal(0);
        });

        it("expire one millisecond past a record's time, and all of them past the last", async function () {
          const justAfter = new Date(Date.parse(leafData(0).recordedAt) + 1).toISOString();
          expect(await store.expireIdempotency(justAfter)).to.equal(1);
          expect(await store.expireIdempotency("2100-01-01T00:00:00.000Z")).to.equal(N - 1);
          expect(await store.idempotency(`tok\u0000key-${N - 1}`)).to.equal(undefined);
        });

        it("expire nothing for a cutoff before the first", async function () {
          expect(await store.expireIdempotency("2024-12-31T23:59:59.999Z")).to.equal(0);
          expect(await store.idempotency("tok\u0000key-0")).to.not.equal(undefined);
        });
      });

      describe("and the store is reopened", function () {
        it("keeps the head, every leaf, node, doc, index, opening and record", async function () {
          const s = await reopened();
          const head = await s.head();
          expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root());
          expect((await s.leaves(0, N)).map((l) => l.id)).to.deep.equal(Array.from({ length: N }, (_, i) => leafData(i).id));
          const ids = completedNodes(N);
          expect(await s.nodes(ids)).to.deep.equal(ids.map((id) => tree.node(id)));
          expect(await s.state("code:PRG-1")).to.deep.equal({ kind: "code", id: `prg_batch_${SIZES.length - 1}` });
          expect(await s.indexed({ name: "enterprise", value: "911" })).to.deep.equal([0, 5, 10, 15, 20]);
          expect(await s.openings(leafData(1).id)).to.deep.equal(leafData(1).openings);
          expect((await s.idempotency(`tok\u0000key-${N - 1}`))?.createdAt).to.equal(leafData(N - 1).recordedAt);
          expect(await s.indexOf(leafData(N - 1).id)).to.equal(N - 1);
        });

        it("accepts the next batch where the last one ended", async function () {
          const s = await reopened();
          const head = await s.head();
          const [next] = buildBatches(new CompactRange(head.size, head.compact), tree, [3]);
          await s.commit(next!);
          expect((await s.head()).size).to.equal(N + 3);
          expect(await s.nodes(completedNodes(N + 3))).to.deep.equal(completedNodes(N + 3).map((id) => tree.node(id)));
        });
      });

      describe("and a batch is out of order", function () {
        async function expectNothingStoredFrom(batch: CommitBatch): Promise<void> {
          const head = await store.head();
          expect(head.size).to.equal(N);
          expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root(N));
          for (const leaf of batch.leaves) {
            expect(await store.indexOf(leaf.id), `id of ${leaf.index}`).to.equal(undefined);
            expect(await store.state(`e:${leaf.id}`)).to.equal(undefined);
            expect(await store.openings(leaf.id)).to.equal(undefined);
          }
          for (const k of batch.idempotency.keys()) expect(await store.idempotency(k)).to.equal(undefined);
          expect(await store.leaf(N)).to.equal(undefined);
          expect(await store.state("code:PRG-1")).to.deep.equal({ kind: "code", id: `prg_batch_${SIZES.length - 1}` });
        }

        it("is refused, storing nothing, when it skips ahead of the stored size", async function () {
          const last = batches[batches.length - 1]!.head;
          const range = new CompactRange(last.size, last.compact);
          range.append(hashLeaf(utf8.encode("a leaf the store never saw")));
          const [gap] = buildBatches(range, new MemoryTree(), [2]);
          expect(gap!.leaves[0]!.index).to.equal(N + 1);
          let err: unknown;
          await store.commit(gap!).catch((e: unknown) => (err = e));
          expect(err).to.be.instanceOf(StoreUnavailableError);
          await expectNothingStoredFrom(gap!);
          expect(await store.leaf(N + 1)).to.equal(undefined);
        });

        it("is refused, storing nothing, when it rewrites leaves already stored", async function () {
          const [again] = buildBatches(new CompactRange(), new MemoryTree(), [1]);
          const replay: CommitBatch = {
            ...again!,
            leaves: again!.leaves.map((l) => ({ ...l, id: "app_rewrite" })),
            state: new Map([["code:PRG-1", { kind: "code", id: "prg_rewrite" }]]),
            idempotency: new Map([["tok\u0000rewrite", { requestHash: "0".repeat(64), status: 201, body: null, createdAt: "2025-06-01T00:00:00.000Z" }]]),
          };
          let err: unknown;
          await store.commit(replay).catch((e: unknown) => (err = e));
          expect(err).to.be.instanceOf(StoreUnavailableError);
          await expectNothingStoredFrom(replay);
          expect((await store.leaf(0))?.id).to.equal(leafData(0).id);
        });
      });
    });

    describe("the tokens", function () {
      it("are stored, found by hash and listed", async function () {
        await store.putToken(token("t1"));
        await store.putToken(token("t2", { role: "admin" }));
        expect(await store.tokenByHash(token("t2").hash)).to.deep.equal(token("t2", { role: "admin" }));
        expect(idsOf(await store.tokens())).to.deep.equal(["t1", "t2"]);
      });

      it("are revoked by putting them again with revokedAt, and still listed once", async function () {
        await store.putToken(token("t1"));
        await store.putToken(token("t2"));
        await store.putToken(token("t1", { revokedAt: "2025-02-01T00:00:00.000Z" }));
        expect((await store.tokenByHash(token("t1").hash))?.revokedAt).to.equal("2025-02-01T00:00:00.000Z");
        expect((await store.tokenByHash(token("t2").hash))?.revokedAt).to.equal(null);
        const all = await store.tokens();
        expect(idsOf(all)).to.deep.equal(["t1", "t2"]);
        expect(all.find((t) => t.id === "t1")?.revokedAt).to.equal("2025-02-01T00:00:00.000Z");
      });

      it("survive a reopen", async function () {
        await store.putToken(token("t3", { role: "payer" }));
        const s = await reopened();
        expect(await s.tokenByHash(token("t3").hash)).to.deep.equal(token("t3", { role: "payer" }));
      });

      it("are not found by an unknown hash", async function () {
        await store.putToken(token("t1"));
        expect(await store.tokenByHash(token("t9").hash)).to.equal(undefined);
      });

      describe("put as the first token", function () {
        it("is stored when the store holds no token, and refused (false, nothing stored) once one exists", async function () {
          expect(await store.putFirstToken(token("t1", { role: "admin" }))).to.equal(true);
          expect(await store.putFirstToken(token("t2", { role: "admin" }))).to.equal(false);
          expect(idsOf(await store.tokens())).to.deep.equal(["t1"]);
          expect(await store.tokenByHash(token("t2").hash)).to.equal(undefined);
        });

        it("is refused when a token was put the ordinary way first", async function () {
          await store.putToken(token("t3"));
          expect(await store.putFirstToken(token("t4", { role: "admin" }))).to.equal(false);
          expect(idsOf(await store.tokens())).to.deep.equal(["t3"]);
        });
      });
    });

    describe("the access-code generations", function () {
      const A = "app_000000000000000000000001";
      const B = "app_000000000000000000000002";

      it("are 0 for an application never revoked", async function () {
        expect(await store.accessCodeGeneration(A)).to.equal(0);
      });

      it("count up by one per revocation, per application, and survive a reopen", async function () {
        expect(await store.nextAccessCodeGeneration(A)).to.equal(1);
        expect(await store.nextAccessCodeGeneration(A)).to.equal(2);
        expect(await store.nextAccessCodeGeneration(B)).to.equal(1);
        const s = await reopened();
        expect([await s.accessCodeGeneration(A), await s.accessCodeGeneration(B)]).to.deep.equal([2, 1]);
      });

      it("give concurrent revocations distinct generations", async function () {
        const got = await Promise.all(Array.from({ length: 5 }, () => store.nextAccessCodeGeneration(A)));
        expect(got.slice().sort()).to.deep.equal([1, 2, 3, 4, 5]);
      });
    });
  });
}
