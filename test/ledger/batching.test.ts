/**
 * What one batch of the sequencer costs the store (service/ledger): each
 * state key is read at most once a batch; with a shared store a commit
 * carries more records than with an embedded one; and with sequencing turns
 * a replica commits only while it holds the turn, hands it over only with
 * nothing in flight, and sequences without one when none can be had. Over
 * the memory store, given the shared-store hooks.
 */
import { expect } from "chai";
import { Ledger, SHARED_BATCH_RECORDS, type AcceptedBatch, type SequencingTurn } from "../../service/ledger/ledger";
import type { StateDoc, StateKey } from "../../service/records/state";
import { MemoryStore } from "../../service/store/memory";
import type { CommitBatch, LockedReads, TreeHead } from "../../service/store/store";
import { ACTORS, applicationRequest, commandOf, creditCode, FakeClock, programmeRequest, submit } from "../helpers/ledger-fixtures";

/** The memory store, counting state reads by key and the leaves of each commit. */
class CountingStore extends MemoryStore {
  readonly reads = new Map<StateKey, number>();
  readonly committed: number[] = [];
  override async state(key: StateKey): Promise<StateDoc | undefined> {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return super.state(key);
  }
  override async commit(batch: CommitBatch): Promise<void> {
    await super.commit(batch);
    this.committed.push(batch.leaves.length);
  }
}

/** As if other processes shared it: it offers `sequence` (reads and commit, no real lock: one process here). */
class SharedStore extends CountingStore {
  async sequence(build: (head: TreeHead, reads: LockedReads) => Promise<CommitBatch | undefined>): Promise<boolean> {
    const batch = await build(await this.head(), { state: (k) => this.state(k), idempotency: (k) => this.idempotency(k) });
    if (batch === undefined) return false;
    await this.commit(batch);
    return true;
  }
}

/** A shared store with turns, logging when turns are taken and given up and when commits start and end. */
class TurnStore extends SharedStore {
  readonly events: string[] = [];
  othersWaiting = false;
  grant = true;
  held = false;
  async turn(): Promise<SequencingTurn | undefined> {
    if (!this.grant) {
      this.events.push("no turn");
      return undefined;
    }
    this.events.push("turn");
    this.held = true;
    return {
      othersWaiting: async () => this.othersWaiting,
      release: async () => {
        this.events.push("release");
        this.held = false;
      },
    };
  }
  override async commit(batch: CommitBatch): Promise<void> {
    this.events.push(this.held || !this.grant ? "commit" : "commit without the turn");
    await new Promise((r) => setTimeout(r, 5));
    await super.commit(batch);
    this.events.push("committed");
  }
}

/** Submits `n` applications of `records` records each, all in one tick, as one official. */
function applicationBatches(ledger: Ledger, programmeId: string, n: number, records: number): Promise<AcceptedBatch[]> {
  return Promise.all(
    [...Array(n).keys()].map((i) =>
      ledger.submitBatch({
        commands: [...Array(records).keys()].map((k) => commandOf("application", applicationRequest(programmeId, { creditCode: creditCode(1 + i * records + k) }))),
        actor: ACTORS.clerkA,
        idempotencyKey: `clerk\u0000batch-${programmeId}-${i}`,
        requestHash: `hash-${i}`,
      }),
    ),
  );
}

describe("The sequencer's batches", function () {
  describe("when a batch's requests read the same state", function () {
    it("reads each key from the store at most once a batch, keys the store lacks included", async function () {
      const store = new CountingStore();
      const ledger = await Ledger.open({ store, clock: new FakeClock() });
      const prg = (await submit(ledger, ACTORS.admin, "programme", programmeRequest())).body.id;
      store.reads.clear();
      const results = await Promise.all([...Array(20).keys()].map((i) => submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg, { creditCode: creditCode(i + 1) }))));
      expect(results.every((r) => r.status === 201)).to.equal(true);
      const batches = store.committed.length - 1;
      expect(batches, "the requests share batches").to.be.at.most(2);
      expect([...store.reads].filter(([, n]) => n > batches)).to.deep.equal([]);
      expect(store.reads.get(`e:${prg}`)).to.equal(batches);
      await ledger.close();
    });
  });

  describe("with a store other processes share", function () {
    it(`commits up to ${SHARED_BATCH_RECORDS} records at once by default, where an embedded store commits 256`, async function () {
      const records = 100;
      const n = Math.floor(SHARED_BATCH_RECORDS / records);
      const counts: number[][] = [];
      for (const store of [new SharedStore(), new CountingStore()]) {
        const ledger = await Ledger.open({ store, clock: new FakeClock() });
        const prg = (await submit(ledger, ACTORS.admin, "programme", programmeRequest())).body.id;
        await applicationBatches(ledger, prg, n, records);
        counts.push(store.committed.slice(1));
        await ledger.close();
      }
      // However the first request is batched (alone, or with the others of its tick), the rest share commits.
      for (const c of counts) expect(c.reduce((a, b) => a + b, 0)).to.equal(n * records);
      expect(Math.max(...counts[0]!), "shared").to.be.above(256);
      expect(Math.max(...counts[1]!), "embedded").to.be.at.most(256);
    });
  });

  describe("with sequencing turns", function () {
    it("commits only while holding the turn, and gives it up once idle with nothing in flight", async function () {
      const store = new TurnStore();
      const ledger = await Ledger.open({ store, clock: new FakeClock() });
      await submit(ledger, ACTORS.admin, "programme", programmeRequest());
      await ledger.close();
      expect(store.events).to.deep.equal(["turn", "commit", "committed", "release"]);
    });

    it("hands the turn to a waiting replica after its turn time, only once its batches in flight are in", async function () {
      const store = new TurnStore();
      store.othersWaiting = true;
      const ledger = await Ledger.open({ store, clock: new FakeClock(), maxBatch: 1, turnMs: 0 });
      const results = await Promise.all([0, 1, 2].map(() => submit(ledger, ACTORS.admin, "programme", programmeRequest())));
      await ledger.close();
      expect(results.map((r) => r.body.leafIndex)).to.deep.equal([0, 1, 2]);
      expect(store.events).to.deep.equal(["turn", "commit", "committed", "release", "turn", "commit", "committed", "release", "turn", "commit", "committed", "release"]);
    });

    it("keeps the turn, pipelining, while nobody waits for it", async function () {
      const store = new TurnStore();
      const ledger = await Ledger.open({ store, clock: new FakeClock(), maxBatch: 1, turnMs: 0 });
      await Promise.all([0, 1, 2].map(() => submit(ledger, ACTORS.admin, "programme", programmeRequest())));
      await ledger.close();
      expect(store.events.filter((e) => e === "turn")).to.have.length(1);
      expect(store.events.at(-1)).to.equal("release");
      expect(store.events).to.not.include("commit without the turn");
    });

    it("sequences without a turn when none can be had", async function () {
      const store = new TurnStore();
      store.grant = false;
      const ledger = await Ledger.open({ store, clock: new FakeClock() });
      const accepted = await submit(ledger, ACTORS.admin, "programme", programmeRequest());
      await ledger.close();
      expect(accepted.status).to.equal(201);
      expect((await store.head()).size).to.equal(1);
      expect(store.events).to.deep.equal(["no turn", "commit", "committed"]);
    });
  });
});
