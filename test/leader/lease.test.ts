/**
 * The leader lease (service/leader/lease.ts), the leadership loop
 * (service/leader/leadership.ts) and the fenced anchor state
 * (service/chain/postgres-state.ts) against a throwaway cluster
 * (test/helpers/postgres.ts), a fresh database per test.
 */
import { expect } from "chai";
import pino from "pino";
import type pg from "pg";
import { PostgresStore } from "../../service/store/postgres";
import { LeaseError, PostgresLease } from "../../service/leader/lease";
import { leasePool, readLease } from "../../service/store/postgres-lease";
import { Leadership } from "../../service/leader/leadership";
import { FencedAnchorStateStore, readSharedAnchorState } from "../../service/chain/postgres-state";
import type { AnchorState } from "../../service/chain/state";
import { databaseName, startCluster, type TestCluster } from "../helpers/postgres";
import { rejection } from "../helpers/rejection";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = pino({ level: "silent" });
const contract = { chainId: 31337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } as const;

function pendingState(size: number, nonce: number): AnchorState {
  const hash = `0x${"ab".repeat(32)}`;
  return {
    contract,
    anchored: null,
    pending: {
      baseSize: 0,
      size,
      rootHex: hash,
      proofHex: [],
      signedCheckpoint: "origin\n1\nroot\n",
      nonce,
      gasLimit: "100000",
      gasPrice: "1",
      txHashes: [hash],
      firstSentAt: "2026-12-07T00:00:00Z",
      lastSentAt: "2026-12-07T00:00:00Z",
    },
  };
}

/** A lease whose holder can be frozen: its renewals then never return, as a stopped process's would not. */
class FreezableLease extends PostgresLease {
  frozen = false;
  override renew(epoch: number): Promise<boolean> {
    return this.frozen ? new Promise(() => {}) : super.renew(epoch);
  }
}

describe("the leader lease on PostgreSQL", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  const pools: pg.Pool[] = [];

  before(async function () {
    cluster = await startCluster();
  });
  after(async function () {
    await cluster?.destroy();
  });
  afterEach(async function () {
    for (const p of pools.splice(0)) await p.end();
  });

  /** A fresh database with the schema applied, and a pool on it. */
  async function freshPool(): Promise<pg.Pool> {
    const url = await cluster.createDatabase(databaseName("lease"));
    await (await PostgresStore.open(url)).close();
    const pool = leasePool(url);
    pools.push(pool);
    return pool;
  }

  describe("a lease nobody holds", function () {
    it("is taken by the first replica that asks, at epoch 1, and refused to a second", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 10_000);
      const b = new PostgresLease(pool, "b", 10_000);
      expect(await a.tryAcquire()).to.equal(1);
      expect(await b.tryAcquire()).to.equal(null);
      expect(await readLease(pool)).to.deep.equal({ holder: "a", epoch: 1, live: true });
    });

    it("goes to exactly one of many replicas asking at once", async function () {
      const pool = await freshPool();
      const results = await Promise.all(["a", "b", "c", "d", "e"].map((h) => new PostgresLease(pool, h, 10_000).tryAcquire()));
      expect(results.filter((r) => r !== null)).to.deep.equal([1]);
    });
  });

  describe("renewal", function () {
    it("keeps the holder's term past the lease duration", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 400);
      const b = new PostgresLease(pool, "b", 400);
      const epoch = (await a.tryAcquire())!;
      for (let i = 0; i < 4; i++) {
        await sleep(150);
        expect(await a.renew(epoch)).to.equal(true);
        expect(await b.tryAcquire()).to.equal(null);
      }
    });

    it("is refused to a replica whose term another replica has taken", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 300);
      const b = new PostgresLease(pool, "b", 300);
      const first = (await a.tryAcquire())!;
      await sleep(400);
      expect(await b.tryAcquire()).to.equal(first + 1);
      expect(await a.renew(first)).to.equal(false);
      expect((await readLease(pool)).holder).to.equal("b");
    });
  });

  describe("expiry", function () {
    it("lets another replica take over, one epoch later", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 300);
      const b = new PostgresLease(pool, "b", 300);
      expect(await a.tryAcquire()).to.equal(1);
      expect(await b.tryAcquire()).to.equal(null);
      await sleep(400);
      expect((await readLease(pool)).live).to.equal(false);
      expect(await b.tryAcquire()).to.equal(2);
    });

    it("is immediate after a release, and a release of a term already over does nothing", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 60_000);
      const b = new PostgresLease(pool, "b", 60_000);
      const epoch = (await a.tryAcquire())!;
      await a.release(epoch);
      expect(await b.tryAcquire()).to.equal(epoch + 1);
      await a.release(epoch);
      expect(await readLease(pool)).to.deep.equal({ holder: "b", epoch: epoch + 1, live: true });
    });
  });

  describe("the fenced anchor state", function () {
    it("stores the current term's record with its epoch, readable by every replica", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 10_000);
      const epoch = (await a.tryAcquire())!;
      const store = new FencedAnchorStateStore(pool, contract, { holder: "a", epoch });
      expect(await store.load()).to.equal(undefined);
      await store.save(pendingState(10, 0));
      expect(await readSharedAnchorState(pool, contract)).to.deep.equal({ state: pendingState(10, 0), epoch });
      expect(await store.load()).to.deep.equal(pendingState(10, 0));
    });

    describe("when another replica has taken over", function () {
      it("refuses the old leader's pending-record write with LeaseError FENCED, stores nothing, and says so", async function () {
        const pool = await freshPool();
        const a = new PostgresLease(pool, "a", 200);
        const b = new PostgresLease(pool, "b", 200);
        const oldEpoch = (await a.tryAcquire())!;
        const fenced: LeaseError[] = [];
        const old = new FencedAnchorStateStore(pool, contract, { holder: "a", epoch: oldEpoch }, (e) => fenced.push(e));
        await old.save(pendingState(10, 0));
        await sleep(300);
        const newEpoch = (await b.tryAcquire())!;
        expect(newEpoch).to.equal(oldEpoch + 1);
        const e = await rejection(old.save(pendingState(20, 1)));
        expect(e).to.be.instanceOf(LeaseError);
        expect((e as LeaseError).code).to.equal("FENCED");
        expect(fenced).to.have.length(1);
        expect(await readSharedAnchorState(pool, contract)).to.deep.equal({ state: pendingState(10, 0), epoch: oldEpoch });
        // The new leader's store writes.
        const current = new FencedAnchorStateStore(pool, contract, { holder: "b", epoch: newEpoch });
        await current.save(pendingState(20, 1));
        expect((await readSharedAnchorState(pool, contract))?.epoch).to.equal(newEpoch);
      });

      it("says the store is no longer writable (assertWritable), where it was before the takeover", async function () {
        const pool = await freshPool();
        const epoch = (await new PostgresLease(pool, "a", 60_000).tryAcquire())!;
        const fenced: LeaseError[] = [];
        const store = new FencedAnchorStateStore(pool, contract, { holder: "a", epoch }, (e) => fenced.push(e));
        await store.assertWritable();
        await pool.query("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1");
        const e = await rejection(store.assertWritable());
        expect((e as LeaseError).code).to.equal("FENCED");
        expect(fenced).to.have.length(1);
      });

      it("refuses a write of the same replica's earlier term too", async function () {
        const pool = await freshPool();
        const a = new PostgresLease(pool, "a", 60_000);
        const first = (await a.tryAcquire())!;
        await a.release(first);
        const second = (await a.tryAcquire())!;
        const e = await rejection(new FencedAnchorStateStore(pool, contract, { holder: "a", epoch: first }).save(pendingState(5, 0)));
        expect((e as LeaseError).code).to.equal("FENCED");
        await new FencedAnchorStateStore(pool, contract, { holder: "a", epoch: second }).save(pendingState(5, 0));
      });
    });

    it("orders a save and a takeover: a save blocked behind a takeover's lock is refused", async function () {
      const pool = await freshPool();
      const a = new PostgresLease(pool, "a", 60_000);
      const epoch = (await a.tryAcquire())!;
      const store = new FencedAnchorStateStore(pool, contract, { holder: "a", epoch });
      const takeover = await pool.connect();
      try {
        await takeover.query("BEGIN");
        await takeover.query("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1, expires_at = clock_timestamp() + interval '1 minute'");
        const saving = rejection(store.save(pendingState(10, 0)));
        await sleep(200);
        await takeover.query("COMMIT");
        const e = await saving;
        expect((e as LeaseError).code).to.equal("FENCED");
      } finally {
        takeover.release();
      }
      expect(await readSharedAnchorState(pool, contract)).to.equal(undefined);
    });
  });

  describe("the leadership loop", function () {
    it("starts the stages in exactly one of two replicas, and in the other within the lease plus a try after the first stops renewing", async function () {
      const pool = await freshPool();
      const events: string[] = [];
      const make = (id: string, lease = new PostgresLease(pool, id, 600)) =>
        new Leadership({
          lease,
          logger: quiet,
          onWon: async (epoch) => void events.push(`${id} won ${epoch}`),
          onLost: async (epoch) => void events.push(`${id} lost ${epoch}`),
          tryEveryMs: 100,
        });
      const frozen = new FreezableLease(pool, "a", 600);
      const a = make("a", frozen);
      const b = make("b");
      await a.start();
      await b.start();
      await sleep(900);
      expect(events).to.deep.equal(["a won 1"]);
      expect(a.status()).to.deep.include({ leader: true, epoch: 1, leaderId: "a" });
      expect(b.status()).to.deep.include({ leader: false, epoch: 1, leaderId: "a", replicaId: "b" });
      // "a" freezes: it neither renews nor releases (as a killed process would not).
      const frozenAt = Date.now();
      frozen.frozen = true;
      while (!events.includes("b won 2") && Date.now() - frozenAt < 5000) await sleep(20);
      const tookMs = Date.now() - frozenAt;
      expect(events).to.include("b won 2");
      expect(tookMs).to.be.below(600 + 100 + 400);
      expect(b.status()).to.deep.include({ leader: true, epoch: 2, leaderId: "b" });
      await b.stop();
      expect(events).to.include("b lost 2");
      expect((await readLease(pool)).live).to.equal(false);
    });

    it("stops the stages when a fenced write reports the term over, and takes the lease again later", async function () {
      const pool = await freshPool();
      const events: string[] = [];
      const l = new Leadership({
        lease: new PostgresLease(pool, "a", 60_000),
        logger: quiet,
        onWon: async (epoch) => void events.push(`won ${epoch}`),
        onLost: async (epoch, reason) => void events.push(`lost ${epoch}: ${reason}`),
        tryEveryMs: 50,
        renewEveryMs: 60_000,
      });
      await l.start();
      // Another replica takes the lease behind its back (its renewal is a minute away).
      await pool.query("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1, expires_at = clock_timestamp() + interval '300 milliseconds'");
      l.lost("a save was fenced");
      const t0 = Date.now();
      while (!events.some((e) => e.startsWith("won 3")) && Date.now() - t0 < 5000) await sleep(20);
      expect(events).to.deep.equal(["won 1", "lost 1: a save was fenced", "won 3"]);
      await l.stop();
    });

    it("gives the term up when its stages fail to start", async function () {
      const pool = await freshPool();
      const events: string[] = [];
      const l = new Leadership({
        lease: new PostgresLease(pool, "a", 60_000),
        logger: quiet,
        onWon: async () => {
          events.push("won");
          throw new Error("no chain");
        },
        onLost: async () => void events.push("lost"),
        tryEveryMs: 60_000,
      });
      await l.start();
      expect(events).to.deep.equal(["won", "lost"]);
      expect(l.status().leader).to.equal(false);
      expect((await readLease(pool)).live).to.equal(false);
      await l.stop();
    });
  });
});
