/**
 * The LedgerStore contract against PostgresStore, then what only a shared
 * database can show: migrations applied once under concurrent opens, a
 * second writer's stale commit refused, the database going away in the
 * middle of a commit, and every acknowledged commit kept across a crash of
 * the server. One throwaway cluster for the file (test/helpers/postgres.ts),
 * a fresh database per test.
 */
import { expect } from "chai";
import pg from "pg";
import { CompactRange, MemoryTree } from "../../service/log";
import { PostgresStore, PostgresStoreError, StoreHeadMovedError, describeDatabaseUrl } from "../../service/store/postgres";
import { MIGRATIONS, SCHEMA_VERSION } from "../../service/store/postgres-schema";
import { StoreLockedError, StoreUnavailableError, type CommitBatch } from "../../service/store/store";
import { databaseName, postgresBin, startCluster, type TestCluster } from "../helpers/postgres";
import { rejection } from "../helpers/rejection";
import { buildBatches, completedNodes, leafData, storeContract, type StoreHarness } from "./contract";

describe("the test clusters' PostgreSQL binaries", function () {
  it("are looked up under /usr/lib/postgresql, and their absence fails with how to install them", function () {
    expect(() => postgresBin("/nonexistent/postgresql")).to.throw(/PostgreSQL is not installed.*apt-get install postgresql/);
  });
});

describe("PostgresStore", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  /** Stores a test opened and has not closed, closed after it whatever happened. */
  const open = new Set<PostgresStore>();

  before(async function () {
    cluster = await startCluster();
  });

  after(async function () {
    await cluster?.destroy();
  });

  afterEach(async function () {
    for (const s of open) await s.close();
    open.clear();
  });

  async function openStore(url: string): Promise<PostgresStore> {
    const s = await PostgresStore.open(url, { connectTimeoutMs: 2000 });
    open.add(s);
    return s;
  }

  async function freshDatabase(): Promise<string> {
    return cluster.createDatabase(databaseName());
  }

  async function postgresHarness(): Promise<StoreHarness> {
    const url = await freshDatabase();
    let current = await PostgresStore.open(url);
    return {
      store: current,
      reopen: async () => {
        await current.close();
        current = await PostgresStore.open(url);
        return current;
      },
      cleanup: async () => {
        await current.close();
      },
    };
  }

  storeContract("PostgresStore", postgresHarness);

  describe("when it is opened", function () {
    it("applies every migration once, and none on the next open", async function () {
      const url = await freshDatabase();
      const first = await openStore(url);
      expect(first.migrations.applied).to.deep.equal(MIGRATIONS.map((m) => m.version));
      const second = await openStore(url);
      expect(second.migrations).to.deep.equal({ applied: [], version: SCHEMA_VERSION });
    });

    it("applies every migration exactly once when several stores (as several processes would) open a new database at the same time", async function () {
      const url = await freshDatabase();
      const stores = await Promise.all(Array.from({ length: 6 }, () => openStore(url)));
      const appliedBy = stores.map((s) => s.migrations.applied.length);
      expect(appliedBy.filter((n) => n > 0)).to.deep.equal([MIGRATIONS.length]);
      const name = new URL(url).pathname.slice(1);
      const { rows } = await cluster.sql("SELECT version FROM schema_migrations ORDER BY version", [], name);
      expect(rows.map((r: { version: number }) => r.version)).to.deep.equal(MIGRATIONS.map((m) => m.version));
    });

    it("refuses a database whose schema is newer than this release, with SCHEMA_TOO_NEW", async function () {
      const url = await freshDatabase();
      await (await openStore(url)).close();
      const name = new URL(url).pathname.slice(1);
      await cluster.sql("INSERT INTO schema_migrations (version, description) VALUES ($1, 'from the future')", [SCHEMA_VERSION + 1], name);
      const err = await rejection(PostgresStore.open(url));
      expect(err).to.be.instanceOf(PostgresStoreError);
      expect((err as PostgresStoreError).code).to.equal("SCHEMA_TOO_NEW");
    });

    it("fails with DATABASE_UNREACHABLE, naming no credentials, when nothing listens", async function () {
      const url = `postgres://ledger:s3cret-password@localhost:${cluster.port + 1}/nowhere?host=${encodeURIComponent(cluster.dir)}`;
      const err = await rejection(PostgresStore.open(url, { connectTimeoutMs: 1000 }));
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as PostgresStoreError).code).to.equal("DATABASE_UNREACHABLE");
      expect((err as Error).message).to.not.include("s3cret-password");
      expect((err as Error).message).to.not.include("ledger:");
    });
  });

  describe("when opened exclusively, as the service opens it", function () {
    it("refuses a second exclusive open with StoreLockedError, and allows one once the first is closed", async function () {
      const url = await freshDatabase();
      const first = await PostgresStore.open(url, { exclusive: true });
      open.add(first);
      const err = await rejection(PostgresStore.open(url, { exclusive: true }));
      expect(err).to.be.instanceOf(StoreLockedError);
      expect((err as Error).message).to.include("in use by another ledger process");
      await first.close();
      open.add(await PostgresStore.open(url, { exclusive: true }));
    });
  });

  describe("when two writers share one database", function () {
    it("refuses the second writer's batch built on a head the first has advanced, storing nothing", async function () {
      const url = await freshDatabase();
      const a = await openStore(url);
      const b = await openStore(url);
      const tree = new MemoryTree();
      const [base] = buildBatches(new CompactRange(), tree, [5]);
      await a.commit(base!);

      // Both build their next batch on the head of size 5.
      const head = await b.head();
      const treeA = new MemoryTree();
      const treeB = new MemoryTree();
      for (let i = 0; i < 5; i++) {
        treeA.append(tree.leafHash(i));
        treeB.append(tree.leafHash(i));
      }
      const [fromA] = buildBatches(new CompactRange(head.size, head.compact), treeA, [3]);
      const [fromB] = buildBatches(new CompactRange(head.size, head.compact), treeB, [4]);
      const stale: CommitBatch = { ...fromB!, state: new Map([["code:PRG-1", { kind: "code", id: "prg_from_b" }]]) };
      await a.commit(fromA!);
      const err = await rejection(b.commit(stale));
      expect(err).to.be.instanceOf(StoreHeadMovedError);
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as StoreHeadMovedError).code).to.equal("HEAD_MOVED");
      expect((err as StoreHeadMovedError).storedSize).to.equal(8);

      const now = await b.head();
      expect(now.size).to.equal(8);
      expect(new CompactRange(now.size, now.compact).root()).to.deep.equal(treeA.root());
      expect(await b.nodes(completedNodes(8))).to.deep.equal(completedNodes(8).map((id) => treeA.node(id)));
      expect(await b.state("code:PRG-1")).to.deep.equal({ kind: "code", id: "prg_batch_0" });
    });

    it("lets exactly one of two simultaneous commits on the same head through", async function () {
      const url = await freshDatabase();
      const a = await openStore(url);
      const b = await openStore(url);
      const treeA = new MemoryTree();
      const treeB = new MemoryTree();
      const [fromA] = buildBatches(new CompactRange(), treeA, [20]);
      const [fromB] = buildBatches(new CompactRange(), treeB, [7]);
      const results = await Promise.allSettled([a.commit(fromA!), b.commit(fromB!)]);
      const ok = results.filter((r) => r.status === "fulfilled");
      expect(ok).to.have.length(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(refused?.reason).to.be.instanceOf(StoreHeadMovedError);
      const head = await a.head();
      const winner = head.size === 20 ? treeA : treeB;
      expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(winner.root());
      expect((await a.leaves(0, 100)).length).to.equal(head.size);
    });
  });

  describe("when the database goes away in the middle of a commit", function () {
    it("rejects with DATABASE_UNREACHABLE, and after a restart nothing of the batch is stored", async function () {
      const url = await freshDatabase();
      const name = new URL(url).pathname.slice(1);
      const store = await openStore(url);
      const tree = new MemoryTree();
      const [first, second] = buildBatches(new CompactRange(), tree, [4, 6]);
      await store.commit(first!);

      // Another session holds the row of one of the batch's idempotency keys, uncommitted: the batch's
      // single INSERT statement has written its leaves and nodes and then waits on that row.
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      blocker.on("error", () => {});
      const [blockedKey, blockedRecord] = [...second!.idempotency][5]!;
      await blocker.query("BEGIN");
      await blocker.query("INSERT INTO idempotency (scoped_key, record, created_at) VALUES ($1, $2::json, $3)", [
        Buffer.from(blockedKey, "utf8"),
        JSON.stringify(blockedRecord),
        blockedRecord.createdAt,
      ]);

      const committing = store.commit(second!).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Wait until the commit is blocked inside its insert.
      for (let waited = 0; ; waited += 50) {
        const { rows } = await cluster.sql(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO leaves%'",
          [name],
        );
        if ((rows[0] as { n: number }).n > 0) break;
        if (waited > 10_000) throw new Error("the commit never blocked on the held row");
        await new Promise((r) => setTimeout(r, 50));
      }
      await cluster.stop("immediate");
      const err = await committing;
      await blocker.end().catch(() => {});
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as PostgresStoreError).code).to.equal("DATABASE_UNREACHABLE");

      // While the database is down, reads fail the same typed way.
      const down = await rejection(store.head());
      expect((down as PostgresStoreError).code).to.equal("DATABASE_UNREACHABLE");

      await cluster.start();
      const again = await openStore(url);
      const head = await again.head();
      expect(head.size).to.equal(4);
      expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root(4));
      expect(await again.leaf(4)).to.equal(undefined);
      expect(await again.indexOf(leafData(4).id)).to.equal(undefined);
      const { rows } = await cluster.sql("SELECT (SELECT count(*) FROM leaves)::int AS leaves, (SELECT count(*) FROM nodes)::int AS nodes", [], name);
      expect(rows[0]).to.deep.equal({ leaves: 4, nodes: completedNodes(4).length });
      // The store that lost its connection works again once the database is back.
      const [next] = buildBatches(new CompactRange(head.size, head.compact), new MemoryTree(), [6]);
      await store.commit(next!);
      expect((await store.head()).size).to.equal(10);
    });
  });

  describe("when the server crashes (pg_ctl -m immediate) after acknowledged commits", function () {
    it("keeps every acknowledged commit after it restarts", async function () {
      const url = await freshDatabase();
      let store = await openStore(url);
      const tree = new MemoryTree();
      const sizes = [20, 20, 20, 20, 20, 7];
      for (const b of buildBatches(new CompactRange(), tree, sizes)) await store.commit(b);
      await store.eraseOpenings(leafData(1).id);
      await store.putToken({ id: "t1", hash: "a".repeat(64), official: "o", agency: "a", role: "admin", createdAt: "2025-01-01T00:00:00.000Z", revokedAt: null });
      // The cluster's default is synchronous_commit=off with a 10 s WAL writer delay: only the store's
      // own setting can have made these commits durable before the crash.
      await cluster.stop("immediate");
      await cluster.start();
      await store.close();
      open.delete(store);
      store = await openStore(url);
      const n = sizes.reduce((a, b) => a + b, 0);
      const head = await store.head();
      expect(head.size).to.equal(n);
      expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root());
      expect(await store.nodes(completedNodes(n))).to.deep.equal(completedNodes(n).map((id) => tree.node(id)));
      expect(await store.openings(leafData(1).id)).to.equal(undefined);
      expect(await store.openings(leafData(4).id)).to.deep.equal(leafData(4).openings);
      expect((await store.tokenByHash("a".repeat(64)))?.id).to.equal("t1");
    });
  });

  describe("when openings are erased", function () {
    it("deletes the row, so the values are no longer in the table", async function () {
      const url = await freshDatabase();
      const store = await openStore(url);
      const [b] = buildBatches(new CompactRange(), new MemoryTree(), [5]);
      await store.commit(b!);
      await store.eraseOpenings(leafData(1).id);
      const { rows } = await cluster.sql("SELECT entry_id FROM openings ORDER BY entry_id", [], new URL(url).pathname.slice(1));
      expect(rows.map((r: { entry_id: string }) => r.entry_id)).to.deep.equal([leafData(4).id]);
    });
  });

  describe("when keys and values are hostile", function () {
    it("stores and finds them as data, never as SQL", async function () {
      const url = await freshDatabase();
      const store = await openStore(url);
      const [b] = buildBatches(new CompactRange(), new MemoryTree(), [2]);
      const evil = "x'); DROP TABLE leaves; --";
      const batch: CommitBatch = {
        ...b!,
        state: new Map([[`code:${evil}`, { kind: "code", id: evil }]]),
        leaves: b!.leaves.map((l) => ({ ...l, indexes: [{ name: "enterprise", value: evil }] })),
      };
      await store.commit(batch);
      expect(await store.state(`code:${evil}`)).to.deep.equal({ kind: "code", id: evil });
      expect(await store.indexed({ name: "enterprise", value: evil })).to.deep.equal([0, 1]);
      expect((await store.head()).size).to.equal(2);
    });

    it("finds nothing, without throwing, for keys PostgreSQL text cannot hold", async function () {
      const url = await freshDatabase();
      const store = await openStore(url);
      expect(await store.indexOf("app\u0000x")).to.equal(undefined);
      expect(await store.state("e:\ud800")).to.equal(undefined);
      expect(await store.openings("a\u0000")).to.equal(undefined);
      expect(await store.tokenByHash("\udc00")).to.equal(undefined);
      expect(await store.indexed({ name: "enterprise", value: "9\u00001" })).to.deep.equal([]);
      expect(await store.idempotency("tok\u0000\ud800")).to.equal(undefined);
    });
  });

  describe("when a commit fails inside its transaction", function () {
    it("rolls back, so the connection it used serves the next commit", async function () {
      const url = await freshDatabase();
      const name = new URL(url).pathname.slice(1);
      await cluster.sql(`ALTER DATABASE ${name} SET lock_timeout = '300ms'`);
      // One connection: the next commit must reuse the one the failed commit used.
      const store = await PostgresStore.open(url, { maxConnections: 1 });
      open.add(store);
      const tree = new MemoryTree();
      const [first, second] = buildBatches(new CompactRange(), tree, [2, 3]);
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      try {
        await blocker.query("BEGIN");
        await blocker.query("SELECT size FROM log_head FOR UPDATE");
        const err = await rejection(store.commit(first!));
        expect((err as PostgresStoreError).code).to.equal("QUERY_FAILED");
        expect((err as Error).message).to.include("lock timeout");
        await blocker.query("ROLLBACK");
      } finally {
        await blocker.end();
      }
      await store.commit(first!);
      await store.commit(second!);
      const head = await store.head();
      expect(new CompactRange(head.size, head.compact).root()).to.deep.equal(tree.root());
    });
  });

  describe("when a commit carries a check run under the lock", function () {
    it("gives the check the locked head, and a refusal from it rejects the commit unchanged, storing nothing", async function () {
      const url = await freshDatabase();
      const store = await openStore(url);
      const tree = new MemoryTree();
      const [first, second] = buildBatches(new CompactRange(), tree, [3, 2]);
      await store.commit(first!);
      const seen: number[] = [];
      const rule = new Error("budget exceeded");
      const err = await rejection(
        store.commit(second!, async ({ head, query }) => {
          seen.push(head.size);
          const { rows } = await query("SELECT count(*)::int AS n FROM leaves");
          seen.push((rows[0] as { n: number }).n);
          throw rule;
        }),
      );
      expect(err).to.equal(rule);
      expect(seen).to.deep.equal([3, 3]);
      expect((await store.head()).size).to.equal(3);
      expect(await store.indexOf(leafData(3).id)).to.equal(undefined);
      await store.commit(second!, async () => {});
      expect((await store.head()).size).to.equal(5);
    });
  });

  describe("when it is closed", function () {
    it("rejects a commit, without throwing synchronously", async function () {
      const store = await PostgresStore.open(await freshDatabase());
      await store.close();
      const [b] = buildBatches(new CompactRange(), new MemoryTree(), [1]);
      let pending: Promise<void> | undefined;
      expect(() => (pending = store.commit(b!))).to.not.throw();
      expect(((await rejection(pending!)) as PostgresStoreError).code).to.equal("DATABASE_UNREACHABLE");
    });
  });

  describe("when a batch holds a key PostgreSQL cannot store faithfully", function () {
    it("is refused with BATCH_REFUSED, storing nothing", async function () {
      const url = await freshDatabase();
      const store = await openStore(url);
      const [b] = buildBatches(new CompactRange(), new MemoryTree(), [2]);
      const record = [...b!.idempotency.values()][0]!;
      for (const bad of [
        { ...b!, state: new Map([["e:\u0000", { kind: "code", id: "x" }]]) },
        { ...b!, idempotency: new Map([["tok\u0000\udc00", record]]) },
        { ...b!, leaves: b!.leaves.map((l) => ({ ...l, indexes: [{ name: "enterprise", value: "\ud800" }] })) },
      ] as CommitBatch[]) {
        const err = await rejection(store.commit(bad));
        expect((err as PostgresStoreError).code).to.equal("BATCH_REFUSED");
      }
      expect((await store.head()).size).to.equal(0);
      await store.commit(b!);
      expect((await store.head()).size).to.equal(2);
    });
  });

  describe("its URL in messages", function () {
    it("names the host and database, never the user or password", function () {
      const d = describeDatabaseUrl("postgres://ledger:hunter2@db.example:5433/ledger");
      expect(d).to.equal("postgres database ledger on db.example:5433");
      expect(describeDatabaseUrl("not a url :// hunter2")).to.not.include("hunter2");
    });
  });
});
