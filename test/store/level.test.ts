/**
 * The LedgerStore contract against LevelStore and MemoryStore, then what only
 * the LevelDB store can show: persistence across a reopen (every entry, node
 * and proof), the directory lock, atomic batches, and O(log n) proof reads on
 * a 1,000-leaf log. Each LevelStore lives in its own temp dir, removed after.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactRange, MemoryTree, toHex, verifyConsistency, verifyInclusion, type NodeId } from "../../service/log";
import { consistencyProof, inclusionProof, rootAt } from "../../service/ledger/proofs";
import { Level } from "level";
import { LevelStore, TILE_FILE } from "../../service/store/level";
import { RECORD_SIZE, TileFile } from "../../service/store/tile-file";
import { MemoryStore } from "../../service/store/memory";
import { StoreLockedError, StoreUnavailableError, type CommitBatch, type LedgerStore } from "../../service/store/store";
import { buildBatches, completedNodes, leafData, storeContract, type StoreHarness } from "./contract";
import { rejection } from "../helpers/rejection";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "ledger-store-"));
}

/** A LevelStore in a fresh temp dir; reopen closes it and opens the same dir. */
async function levelHarness(): Promise<StoreHarness & { readonly dir: string; current(): LevelStore }> {
  const dir = await tempDir();
  let current = await LevelStore.open(dir);
  return {
    dir,
    store: current,
    current: () => current,
    reopen: async () => {
      await current.close();
      current = await LevelStore.open(dir);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

storeContract("MemoryStore", async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
storeContract("LevelStore", levelHarness);

/** Batch sizes summing to `total`, cycling through a mix of small and large groups. */
function batchSizes(total: number, pattern: readonly number[]): number[] {
  const out: number[] = [];
  let left = total;
  for (let k = 0; left > 0; k++) {
    const n = Math.min(left, pattern[k % pattern.length]!);
    out.push(n);
    left -= n;
  }
  return out;
}

/** Wraps a store to count the node ids read and every leaf read. */
function counting(store: LedgerStore): { store: LedgerStore; nodeReads: () => number; nodeCalls: () => number; leafReads: () => number; reset: () => void } {
  let nodeReads = 0;
  let nodeCalls = 0;
  let leafReads = 0;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === "nodes")
        return (ids: readonly NodeId[]) => {
          nodeReads += ids.length;
          nodeCalls += 1;
          return target.nodes(ids);
        };
      if (prop === "leaf" || prop === "leaves") leafReads += 1;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    store: wrapped,
    nodeReads: () => nodeReads,
    nodeCalls: () => nodeCalls,
    leafReads: () => leafReads,
    reset: () => {
      nodeReads = 0;
      nodeCalls = 0;
      leafReads = 0;
    },
  };
}

/** Hashes as hex: chai's deep equality on byte arrays is slow under hardhat's matchers, and hex diffs read better. */
const hexes = (hs: readonly (Uint8Array | undefined)[]): (string | undefined)[] => hs.map((x) => (x === undefined ? undefined : toHex(x)));

const ceilLog2 = (n: number): number => Math.ceil(Math.log2(Math.max(n, 1)));

describe("LevelStore", function () {
  let h: Awaited<ReturnType<typeof levelHarness>>;

  beforeEach(async function () {
    h = await levelHarness();
  });

  afterEach(async function () {
    await h.cleanup();
  });

  describe("when closed and reopened", function () {
    const N = 45; // past 32, so proofs span a ragged right edge; every (index, size) pair is O(N²) proofs
    let tree: MemoryTree;
    let store: LedgerStore;

    beforeEach(async function () {
      tree = new MemoryTree();
      for (const b of buildBatches(new CompactRange(), tree, batchSizes(N, [1, 2, 3, 5, 8, 13]))) await h.store.commit(b);
      store = await h.reopen!();
    });

    it("keeps every entry", async function () {
      for (let i = 0; i < N; i++) {
        const d = leafData(i);
        expect(await store.leaf(i)).to.deep.equal({ index: i, id: d.id, bytes: d.bytes, recordedAt: d.recordedAt });
        expect(await store.indexOf(d.id)).to.equal(i);
      }
    });

    it("keeps every node", async function () {
      const ids = completedNodes(N);
      expect(hexes(await store.nodes(ids))).to.deep.equal(hexes(ids.map((id) => tree.node(id))));
    });

    it("serves every inclusion proof, equal to the reference's and verifying against its roots", async function () {
      const { size } = await store.head();
      for (let s = 1; s <= N; s++)
        for (let i = 0; i < s; i++) {
          const got = await inclusionProof(store, i, s, size);
          expect(hexes(got.proof).join(" "), `inclusion (${i}, ${s})`).to.equal(hexes(tree.inclusionProof(i, s)).join(" "));
          verifyInclusion(tree.leafHash(i), i, s, tree.root(s), got.proof);
        }
    });

    it("serves every consistency proof, equal to the reference's and verifying against its roots", async function () {
      const { size } = await store.head();
      for (let s2 = 1; s2 <= N; s2++)
        for (let s1 = 0; s1 <= s2; s1++) {
          const got = await consistencyProof(store, s1, s2, size);
          expect(hexes(got.proof).join(" "), `consistency (${s1}, ${s2})`).to.equal(hexes(tree.consistencyProof(s1, s2)).join(" "));
          verifyConsistency(s1, s2, tree.root(s1), tree.root(s2), got.proof);
        }
    });
  });

  describe("when a second instance opens the same directory", function () {
    it("rejects with StoreLockedError whose message names the directory", async function () {
      const err = await rejection(LevelStore.open(h.dir));
      expect(err).to.be.instanceOf(StoreLockedError);
      expect((err as Error).message).to.include(h.dir);
    });

    it("leaves the first instance working, and opens once the first has closed", async function () {
      await rejection(LevelStore.open(h.dir));
      const [b] = buildBatches(new CompactRange(), new MemoryTree(), [2]);
      await h.store.commit(b!);
      const s = await h.reopen!();
      expect((await s.head()).size).to.equal(2);
    });
  });

  describe("when another process holds the directory", function () {
    let child: ChildProcess | undefined;

    afterEach(async function () {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child!.once("exit", r));
        child.kill();
        await exited;
      }
      child = undefined;
    });

    it("rejects with StoreLockedError, and opens after that process exits", async function () {
      this.timeout(20_000);
      const dir = join(await tempDir(), "held");
      try {
        const script = `const { Level } = require(${JSON.stringify(require.resolve("level"))});
          const db = new Level(${JSON.stringify(dir)});
          db.open().then(() => process.stdout.write("ready\\n"), (e) => { console.error(e); process.exit(2); });
          setInterval(() => {}, 1000);`;
        child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((resolve, reject) => {
          child!.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
          child!.once("exit", (code) => reject(new Error(`lock holder exited with ${String(code)}`)));
        });
        const err = await rejection(LevelStore.open(dir));
        expect(err).to.be.instanceOf(StoreLockedError);
        expect((err as Error).message).to.include(dir);

        const exited = new Promise((r) => child!.once("exit", r));
        child.kill();
        await exited;
        const s = await LevelStore.open(dir);
        expect((await s.head()).size).to.equal(0);
        await s.close();
      } finally {
        await rm(join(dir, ".."), { recursive: true, force: true });
      }
    });
  });

  describe("when the directory does not exist", function () {
    it("creates it, parents included", async function () {
      const dir = join(h.dir, "a", "b", "data");
      const s = await LevelStore.open(dir);
      try {
        expect((await stat(dir)).isDirectory()).to.equal(true);
        expect((await s.head()).size).to.equal(0);
      } finally {
        await s.close();
      }
    });
  });

  describe("when a batch is refused", function () {
    let tree: MemoryTree;
    let range: CompactRange;

    beforeEach(async function () {
      tree = new MemoryTree();
      range = new CompactRange();
      const [first] = buildBatches(range, tree, [3]);
      await h.store.commit(first!);
    });

    /** The store still holds exactly the first 3 leaves, in this instance and after a reopen. */
    async function expectOnlyFirstBatch(refused: CommitBatch, { beforeReopen = true } = {}): Promise<void> {
      if (beforeReopen) await expectOnlyFirstBatchIn(h.current(), refused);
      await expectOnlyFirstBatchIn(await h.reopen!(), refused);
    }

    async function expectOnlyFirstBatchIn(s: LedgerStore, refused: CommitBatch): Promise<void> {
      const head = await s.head();
      expect(head.size).to.equal(3);
      expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root(3));
      expect(await s.leaves(0, 100)).to.have.length(3);
      for (const leaf of refused.leaves) {
        expect(await s.indexOf(leaf.id), `leaf ${leaf.index}`).to.equal(undefined);
        expect(await s.state(`e:${leaf.id}`)).to.equal(undefined);
        expect(await s.openings(leaf.id)).to.equal(undefined);
        expect(await s.nodes(leaf.nodes.map((n) => n.id))).to.deep.equal(leaf.nodes.map(() => undefined));
      }
      for (const k of refused.idempotency.keys()) expect(await s.idempotency(k)).to.equal(undefined);
      expect(await s.state("code:PRG-1")).to.deep.equal({ kind: "code", id: "prg_batch_0" });
    }

    describe("because a value cannot be encoded midway through it", function () {
      it("rejects with StoreUnavailableError and stores none of it, not even the leaves before", async function () {
        const [b] = buildBatches(range, tree, [4]);
        const leaves = b!.leaves.map((l, k) => (k === 2 ? { ...l, openings: { amountFen: { value: 10n as unknown as string, salt: "00" } } } : l));
        const bad: CommitBatch = { ...b!, leaves };
        const err = await rejection(h.store.commit(bad));
        expect(err).to.be.instanceOf(StoreUnavailableError);
        expect((err as Error).cause).to.be.instanceOf(TypeError);
        await expectOnlyFirstBatch(bad);
      });
    });

    describe("because a leaf inside it skips an index", function () {
      it("rejects with StoreUnavailableError and stores none of it", async function () {
        const [b] = buildBatches(range, tree, [3]);
        const leaves = [b!.leaves[0]!, { ...b!.leaves[1]!, index: 5 }, b!.leaves[2]!];
        const bad: CommitBatch = { ...b!, leaves };
        expect(await rejection(h.store.commit(bad))).to.be.instanceOf(StoreUnavailableError);
        await expectOnlyFirstBatch(bad);
      });
    });

    describe("because its head does not match its leaves", function () {
      it("rejects a head size other than the stored size plus the leaves", async function () {
        const [b] = buildBatches(range, tree, [2]);
        const bad: CommitBatch = { ...b!, head: { size: b!.head.size + 1, compact: b!.head.compact } };
        expect(await rejection(h.store.commit(bad))).to.be.instanceOf(StoreUnavailableError);
        await expectOnlyFirstBatch(bad);
      });

      it("rejects a compact range of the wrong length", async function () {
        const [b] = buildBatches(range, tree, [2]);
        const bad: CommitBatch = { ...b!, head: { size: b!.head.size, compact: b!.head.compact.slice(1) } };
        expect(await rejection(h.store.commit(bad))).to.be.instanceOf(StoreUnavailableError);
        await expectOnlyFirstBatch(bad);
      });
    });

    describe("because the database is closed", function () {
      it("rejects with StoreUnavailableError carrying LevelDB's error, and stores nothing", async function () {
        const [b] = buildBatches(range, tree, [2]);
        await h.current().close();
        const err = await rejection(h.store.commit(b!));
        expect(err).to.be.instanceOf(StoreUnavailableError);
        expect((err as Error).cause).to.have.property("code", "LEVEL_DATABASE_NOT_OPEN");
        await expectOnlyFirstBatch(b!, { beforeReopen: false });
      });

      it("rejects reads with StoreUnavailableError too", async function () {
        await h.current().close();
        expect(await rejection(h.store.leaves(0, 3))).to.be.instanceOf(StoreUnavailableError);
        expect(await rejection(h.store.nodes([{ level: 0, index: 0 }]))).to.be.instanceOf(StoreUnavailableError);
        expect(await rejection(h.store.head())).to.be.instanceOf(StoreUnavailableError);
      });
    });
  });

  describe("when concurrent commits race", function () {
    it("takes them in call order, so the second sees the first's size", async function () {
      const tree = new MemoryTree();
      const [a, b] = buildBatches(new CompactRange(), tree, [3, 4]);
      await Promise.all([h.store.commit(a!), h.store.commit(b!)]);
      expect((await h.store.head()).size).to.equal(7);
      expect(await rootAt(h.store, 7)).to.deep.equal(tree.root());
    });
  });

  describe("with 1,000 leaves appended in batches", function () {
    const N = 1000;
    let tree: MemoryTree;

    beforeEach(async function () {
      this.timeout(20_000);
      tree = new MemoryTree();
      for (const b of buildBatches(new CompactRange(), tree, batchSizes(N, [1, 7, 64, 13, 256, 2, 100]))) await h.store.commit(b);
    });

    it("has the reference tree's root at every size", async function () {
      this.timeout(20_000);
      const head = await h.store.head();
      expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root());
      for (let s = 0; s <= N; s++) expect(toHex(await rootAt(h.store, s)), `root at ${s}`).to.equal(toHex(tree.root(s)));
    });

    it("reads O(log n) nodes in one batch, and no leaves, for a root or a proof", async function () {
      this.timeout(20_000);
      const c = counting(h.store);
      const bound = (s: number): number => 4 * (ceilLog2(s) + 1); // ≤ 44 of 1,000 leaves; a full scan would be ≥ s
      for (const s of [1, 2, 3, 255, 256, 257, 511, 512, 700, 999, 1000]) {
        c.reset();
        await rootAt(c.store, s);
        expect(c.nodeReads(), `rootAt(${s})`).to.be.at.most(ceilLog2(s) + 1);
        for (const i of [0, Math.floor(s / 2), s - 1]) {
          c.reset();
          const p = await inclusionProof(c.store, i, s, N);
          verifyInclusion(tree.leafHash(i), i, s, tree.root(s), p.proof);
          expect(c.nodeReads(), `inclusion (${i}, ${s})`).to.be.at.most(bound(s));
          expect(c.nodeCalls(), `inclusion (${i}, ${s}) reads in one batch`).to.equal(1);
        }
        for (const s1 of [0, 1, Math.floor(s / 3), s - 1, s]) {
          c.reset();
          const p = await consistencyProof(c.store, s1, s, N);
          verifyConsistency(s1, s, tree.root(s1), tree.root(s), p.proof);
          expect(c.nodeReads(), `consistency (${s1}, ${s})`).to.be.at.most(bound(s));
          expect(c.nodeCalls(), `consistency (${s1}, ${s}) reads in one batch`).to.be.at.most(1);
        }
      }
      expect(c.leafReads()).to.equal(0);
    });
  });

  describe("tiles: the nodes below level 8 of each complete 256-leaf tile, stored as one record", function () {
    const N = 1300; // five complete tiles and a partial one
    let tree: MemoryTree;
    let range: CompactRange;

    /** Counts the raw keys of a table (by tag), and the level-<8 single node keys (tag 0x02) inside complete tiles. */
    async function rawLayout(dir: string, size: number): Promise<{ tiles: number; lowerSingles: number; partialSingles: number }> {
      const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
      await db.open();
      let tiles = 0;
      let lowerSingles = 0;
      let partialSingles = 0;
      try {
        for await (const [k, v] of db.iterator({ gte: Uint8Array.of(0x0b), lt: Uint8Array.of(0x0c) })) {
          expect(v.length, "a tile record holds 510 hashes").to.equal(510 * 32);
          expect(k.length).to.equal(9);
          tiles += 1;
        }
        for await (const [k] of db.iterator({ gte: Uint8Array.of(0x02), lt: Uint8Array.of(0x03) })) {
          const level = k[1]!;
          const index = Buffer.from(k).readUIntBE(4, 6);
          if (level >= 8) continue;
          if (Math.floor(index / (256 >> level)) < Math.floor(size / 256)) lowerSingles += 1;
          else partialSingles += 1;
        }
      } finally {
        await db.close();
      }
      return { tiles, lowerSingles, partialSingles };
    }

    beforeEach(async function () {
      this.timeout(20_000);
      tree = new MemoryTree();
      range = new CompactRange();
      // Batches that end inside a tile, exactly on a boundary (256), and span several tiles (600).
      for (const b of buildBatches(range, tree, [3, 253, 100, 600, 44])) await h.store.commit(b);
    });

    it("writes one record per complete tile, and no single lower-level keys inside complete tiles", async function () {
      const store = await h.reopen!();
      expect((await store.head()).size).to.equal(1000);
      await h.current().close();
      expect(await rawLayout(h.dir, 1000)).to.deep.equal({ tiles: 3, lowerSingles: 0, partialSingles: 232 + 116 + 58 + 29 + 14 + 7 + 3 + 1 });
      await h.reopen!();
    });

    it("loads the nodes of level 8 and up at open, reads later ones from LevelDB once, and serves the same proofs", async function () {
      const store = await h.reopen!();
      const original = Object.getOwnPropertyDescriptor(Level.prototype, "getSync");
      const upperKeys: string[] = [];
      const inherited = Level.prototype.getSync;
      Level.prototype.getSync = function (this: Level<Uint8Array, Uint8Array>, key: Uint8Array, ...rest: unknown[]) {
        if (key[0] === 0x02 && key[1]! >= 8) upperKeys.push(toHex(key));
        return (inherited as (...a: unknown[]) => unknown).call(this, key, ...rest);
      } as typeof inherited;
      const proofs = async (size: number) => {
        const out: string[][] = [];
        for (const i of [0, 255, 256, 300, 511, 512, 767, 768, 999, size - 1]) {
          const p = await inclusionProof(store, i, size, size);
          verifyInclusion(tree.leafHash(i), i, size, tree.root(size), p.proof);
          out.push(p.proof.map(toHex));
        }
        for (const s of [256, 512, 700, 1000]) out.push((await consistencyProof(store, s, size, size)).proof.map(toHex));
        return out;
      };
      try {
        await proofs(1000);
        expect(upperKeys, "every stored node of level 8 and up was loaded at open").to.deep.equal([]);
        // Three more complete tiles: new nodes of levels 8 and 9, stored after the open.
        for (const b of buildBatches(range, tree, [300, 468])) await store.commit(b);
        const first = await proofs(1768);
        const readFirst = upperKeys.length;
        expect(readFirst, "nodes stored after the open are read from LevelDB").to.be.greaterThan(0);
        expect(new Set(upperKeys).size, "each at most once").to.equal(readFirst);
        expect(await proofs(1768)).to.deep.equal(first);
        expect(upperKeys.length, "the same proofs again read none").to.equal(readFirst);
      } finally {
        if (original) Object.defineProperty(Level.prototype, "getSync", original);
        else delete (Level.prototype as { getSync?: unknown }).getSync;
      }
    });

    it("serves every node after a reopen in the middle of a tile, and after appending across tile boundaries", async function () {
      this.timeout(20_000);
      let store = await h.reopen!();
      for (const b of buildBatches(range, tree, [1, 299])) await store.commit(b);
      expect((await store.head()).size).to.equal(N);
      const ids = completedNodes(N);
      expect(hexes(await store.nodes(ids))).to.deep.equal(hexes(ids.map((id) => tree.node(id))));
      store = await h.reopen!();
      expect(hexes(await store.nodes(ids))).to.deep.equal(hexes(ids.map((id) => tree.node(id))));
      // Nodes that do not exist yet are undefined, in the partial tile and above it.
      expect(await store.nodes([{ level: 0, index: N }, { level: 2, index: N >> 2 }, { level: 8, index: 5 }, { level: 11, index: 0 }])).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      for (const s of [255, 256, 257, 512, 1024, 1299, N])
        for (const i of [0, 255, 256, Math.floor(s / 2), s - 1].filter((i) => i < s)) {
          const p = await inclusionProof(store, i, s, N);
          expect(hexes(p.proof).join(" "), `inclusion (${i}, ${s})`).to.equal(hexes(tree.inclusionProof(i, s)).join(" "));
        }
      await store.close();
      expect(await rawLayout(h.dir, N)).to.deep.equal({ tiles: 5, lowerSingles: 0, partialSingles: 20 + 10 + 5 + 2 + 1 });
      await h.reopen!();
    });

    it("still reads a complete tile stored the old way, one key per node (a directory written before tiles)", async function () {
      this.timeout(20_000);
      await h.current().close();
      // Rewrite tile 1 in the old layout: single 0x02 keys, no record.
      const db = new Level<Uint8Array, Uint8Array>(h.dir, { keyEncoding: "view", valueEncoding: "view" });
      await db.open();
      const batch = db.batch();
      for (let level = 0; level < 8; level++)
        for (let j = 0; j < 256 >> level; j++) {
          const index = (256 >> level) + j;
          const key = Buffer.alloc(10);
          key[0] = 0x02;
          key[1] = level;
          key.writeUIntBE(index, 4, 6);
          batch.put(key, tree.node({ level, index }));
        }
      const tileKey = Buffer.alloc(9);
      tileKey[0] = 0x0b;
      tileKey.writeUIntBE(1, 3, 6);
      batch.del(tileKey);
      await batch.write({ sync: true });
      await db.close();
      const store = await h.reopen!();
      const ids = completedNodes(1000);
      expect(hexes(await store.nodes(ids))).to.deep.equal(hexes(ids.map((id) => tree.node(id))));
      const p = await inclusionProof(store, 300, 1000, 1000);
      verifyInclusion(tree.leafHash(300), 300, 1000, tree.root(1000), p.proof);
    });

    describe("the tile file, a verified read cache of the tile records", function () {
      const file = () => join(h.dir, TILE_FILE);
      /** Every node of levels 0..7 of complete tile t. */
      const tileIds = (t: number): NodeId[] => completedNodes(256).filter((id) => id.level < 8).map(({ level, index }) => ({ level, index: index + t * (256 >> level) }));
      const expectTile = async (store: LedgerStore, t: number) =>
        expect(hexes(await store.nodes(tileIds(t))), `tile ${t}`).to.deep.equal(hexes(tileIds(t).map((id) => tree.node(id))));

      /** Overwrites the 0x0b record of tile t with 510 zero hashes. */
      async function spoilRecord(t: number): Promise<void> {
        await h.current().close();
        const db = new Level<Uint8Array, Uint8Array>(h.dir, { keyEncoding: "view", valueEncoding: "view" });
        await db.open();
        const key = Buffer.alloc(9);
        key[0] = 0x0b;
        key.writeUIntBE(t, 3, 6);
        await db.put(key, new Uint8Array(510 * 32), { sync: true });
        await db.close();
      }

      it("holds one record per complete tile, written once its batch is durable", async function () {
        expect((await stat(file())).size).to.equal(3 * RECORD_SIZE);
      });

      it("serves complete tiles from the file, not from the LevelDB records", async function () {
        await spoilRecord(1);
        const store = await h.reopen!();
        await expectTile(store, 1);
        const p = await inclusionProof(store, 300, 1000, 1000);
        verifyInclusion(tree.leafHash(300), 300, 1000, tree.root(1000), p.proof);
      });

      describe("when a record is damaged, missing, or from another log", function () {
        it("reads a damaged record's tile from LevelDB and writes the record again", async function () {
          await h.current().close();
          const good = await readFile(file());
          const bad = Buffer.from(good);
          bad[RECORD_SIZE + 100]! ^= 0x01; // inside tile 1's hashes: its check hash no longer matches
          await writeFile(file(), bad);
          const store = await h.reopen!();
          await expectTile(store, 1);
          expect(Buffer.compare(await readFile(file()), good)).to.equal(0);
        });

        it("copies the records a deleted file lacks at open (a directory written before the file), then serves them from it", async function () {
          await h.current().close();
          const good = await readFile(file());
          await rm(file());
          await h.reopen!();
          expect(Buffer.compare(await readFile(file()), good)).to.equal(0);
          await spoilRecord(0);
          await expectTile(await h.reopen!(), 0);
        });

        it("copies the records after a torn last record at open", async function () {
          await h.current().close();
          const good = await readFile(file());
          await writeFile(file(), good.subarray(0, Math.floor(1.5 * RECORD_SIZE)));
          await h.reopen!();
          expect(Buffer.compare(await readFile(file()), good)).to.equal(0);
        });

        it("ignores a record whose check hash is right but whose hashes are not this log's", async function () {
          await h.current().close();
          const foreign = TileFile.open(file(), 3);
          foreign.write(1, randomBytes(510 * 32));
          foreign.close();
          const store = await h.reopen!();
          await expectTile(store, 1);
          const reread = TileFile.open(file(), 3);
          const root = tree.node({ level: 8, index: 1 });
          expect(reread.read(1, root), "the record was written again").to.not.equal(undefined);
          reread.close();
        });
      });

      it("drops records beyond the stored log's complete tiles on open (a rolled-back database)", async function () {
        await h.current().close();
        await writeFile(file(), Buffer.concat([await readFile(file()), Buffer.alloc(2 * RECORD_SIZE, 7)]));
        await h.reopen!();
        expect((await stat(file())).size).to.equal(3 * RECORD_SIZE);
      });

      it("is optional: a store whose file cannot be opened reads every tile from LevelDB", async function () {
        await h.current().close();
        await rm(file());
        await mkdir(file()); // a directory where the file should be
        const store = await h.reopen!();
        for (const t of [0, 1, 2]) await expectTile(store, t);
        for (const b of buildBatches(range, tree, [300])) await store.commit(b);
        await expectTile(store, 3);
      });
    });
  });
});
