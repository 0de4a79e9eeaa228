/**
 * What every replica runs beside the lease (service/leader/replicas.ts):
 * the head a leader's anchorer follows, written by another process's
 * Ledger, and the anchored record a follower serves, as the leader saved
 * it. Against a throwaway cluster, a fresh database per test.
 */
import { expect } from "chai";
import pino from "pino";
import type pg from "pg";
import { Ledger } from "../../service/ledger/ledger";
import { PostgresStore } from "../../service/store/postgres";
import { PostgresLease } from "../../service/leader/lease";
import { leasePool } from "../../service/store/postgres-lease";
import { readSharedPublished, saveSharedPublished, SharedAnchoring, StoreHead } from "../../service/leader/replicas";
import { LeaseError } from "../../service/leader/lease";
import { rejection } from "../helpers/rejection";
import { FencedAnchorStateStore } from "../../service/chain/postgres-state";
import type { AnchorState } from "../../service/chain/state";
import { ACTORS, programmeRequest, submit } from "../helpers/ledger-fixtures";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";

const contract = { chainId: 31337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } as const;

describe("a replica's view of the shared log", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  const closers: (() => Promise<unknown>)[] = [];

  before(async function () {
    cluster = await startCluster();
  });
  after(async function () {
    await cluster?.destroy();
  });
  afterEach(async function () {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function fresh(): Promise<{ store: PostgresStore; writer: Ledger; pool: pg.Pool }> {
    const url = await cluster.createDatabase(databaseName("replicas"));
    const store = await PostgresStore.open(url);
    closers.push(() => store.close());
    const writerStore = await PostgresStore.open(url);
    closers.push(() => writerStore.close());
    const writer = await Ledger.open({ store: writerStore });
    closers.push(() => writer.close());
    const pool = leasePool(url);
    closers.push(() => pool.end());
    return { store, writer, pool };
  }

  describe("the head a leader follows", function () {
    it("grows with another process's commits, tells onGrow, and has that process's root", async function () {
      const { store, writer } = await fresh();
      const head = await StoreHead.open(store);
      closers.push(async () => head.close());
      let grew = 0;
      head.onGrow = () => grew++;
      expect(head.size).to.equal(0);
      await submit(writer, ACTORS.admin, "programme", programmeRequest({ code: "P-1" }));
      await submit(writer, ACTORS.admin, "programme", programmeRequest({ code: "P-2" }));
      await head.refresh();
      expect(head.size).to.equal(2);
      expect(grew).to.equal(1);
      expect(Buffer.from(head.root()).equals(Buffer.from(writer.root()))).to.equal(true);
      await head.refresh();
      expect(grew, "no growth, no call").to.equal(1);
    });

    it("follows on its own once asked, and stops when closed", async function () {
      const { store, writer } = await fresh();
      const head = await StoreHead.open(store);
      closers.push(async () => head.close());
      head.follow(20);
      await submit(writer, ACTORS.admin, "programme", programmeRequest({ code: "P-1" }));
      const t0 = Date.now();
      while (head.size < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      expect(head.size).to.equal(1);
      head.close();
      await new Promise((r) => setTimeout(r, 60));
      await submit(writer, ACTORS.admin, "programme", programmeRequest({ code: "P-2" }));
      await new Promise((r) => setTimeout(r, 100));
      expect(head.size, "closed: not re-read").to.equal(1);
    });
  });

  describe("a follower's anchoring status", function () {
    it("is the record the leader saved, with the lag against the database's head", async function () {
      const { store, writer, pool } = await fresh();
      for (let i = 0; i < 3; i++) await submit(writer, ACTORS.admin, "programme", programmeRequest({ code: `P-${i}` }));
      const head = await StoreHead.open(store);
      const follower = new SharedAnchoring(pool, contract, head, async (i) => (await store.leaf(i))?.recordedAt, pino({ level: "silent" }));
      closers.push(async () => follower.close());
      await follower.start(60_000);
      expect(follower.anchored).to.equal(null);
      expect((await follower.status()).lagEntries).to.equal(3);

      const epoch = (await new PostgresLease(pool, "leader", 60_000).tryAcquire())!;
      const anchored = {
        size: 2,
        rootHex: `0x${"cd".repeat(32)}`,
        checkpointIndex: 0,
        txHash: `0x${"ef".repeat(32)}`,
        blockNumber: 7,
        signedCheckpoint: "origin\n2\nroot\n",
        anchoredAt: "2026-12-07T00:00:00Z",
      };
      const state: AnchorState = { contract, pending: null, anchored };
      await new FencedAnchorStateStore(pool, contract, { holder: "leader", epoch }).save(state);
      await follower.read();
      expect(follower.anchored).to.deep.equal(anchored);
      const st = await follower.status();
      expect(st).to.deep.include({ anchoredSize: 2, lagEntries: 1, inFlight: 0, pendingSize: null, fatal: null });
      expect(st.oldestUnanchoredAt).to.equal((await store.leaf(2))?.recordedAt);
    });
  });

  describe("the published checkpoint a witness quorum cosigned", function () {
    const point = {
      chainId: 31337,
      contract: contract.address,
      size: 5,
      rootHex: `0x${"cd".repeat(32)}`,
      checkpointIndex: 1,
      txHash: null,
      blockNumber: null,
      anchoredAt: "2026-12-07T00:00:00Z",
      signedCheckpoint: "origin\n5\nroot\n\n— witness cosignature\n",
    };

    it("is saved by the leader's term and served by a follower", async function () {
      const { store, pool } = await fresh();
      const epoch = (await new PostgresLease(pool, "leader", 60_000).tryAcquire())!;
      expect(await readSharedPublished(pool, contract)).to.equal(null);
      await saveSharedPublished(pool, contract, { holder: "leader", epoch }, point);
      const follower = new SharedAnchoring(pool, contract, await StoreHead.open(store), async () => undefined, pino({ level: "silent" }));
      closers.push(async () => follower.close());
      await follower.start(60_000);
      expect(follower.published).to.deep.equal(point);
    });

    it("is refused, and left as it was, for a term that is over", async function () {
      const { pool } = await fresh();
      const lease = new PostgresLease(pool, "leader", 60_000);
      const first = (await lease.tryAcquire())!;
      await saveSharedPublished(pool, contract, { holder: "leader", epoch: first }, point);
      await lease.release(first);
      await new PostgresLease(pool, "other", 60_000).tryAcquire();
      const e = await rejection(saveSharedPublished(pool, contract, { holder: "leader", epoch: first }, { ...point, size: 9 }));
      expect((e as LeaseError).code).to.equal("FENCED");
      expect((await readSharedPublished(pool, contract))?.size).to.equal(5);
    });
  });
});
