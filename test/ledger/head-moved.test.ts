/**
 * The sequencer when another writer moved the head first (service/ledger,
 * several replicas): a commit refused with HEAD_MOVED stores nothing, and the
 * batch is sequenced again without the client seeing an error; a request
 * refused every time fails, after a bounded number of attempts, with a 503
 * that says so. Over the memory store, whose commit is made to refuse.
 */
import { expect } from "chai";
import { toProblem } from "../../service/http/problem";
import { Ledger, MAX_ATTEMPTS, SequencingContendedError } from "../../service/ledger/ledger";
import { StoreHeadMovedError } from "../../service/store/postgres";
import { MemoryStore } from "../../service/store/memory";
import { isHeadMoved, StoreUnavailableError, type CommitBatch } from "../../service/store/store";
import { ACTORS, FakeClock, programmeRequest, rejection, submit } from "../helpers/ledger-fixtures";

/** A memory store whose next `refusals` commits are refused as if another replica had committed first. */
class MovedStore extends MemoryStore {
  attempts = 0;
  constructor(public refusals: number) {
    super();
  }
  override async commit(batch: CommitBatch): Promise<void> {
    this.attempts += 1;
    if (this.refusals > 0) {
      this.refusals -= 1;
      throw new StoreHeadMovedError(batch.head.size, batch.head.size - batch.leaves.length);
    }
    return super.commit(batch);
  }
}

describe("The sequencer, when another writer moved the head first", function () {
  describe("isHeadMoved", function () {
    it("tells a moved head from every other store failure", function () {
      expect(isHeadMoved(new StoreHeadMovedError(3, 2))).to.equal(true);
      expect(isHeadMoved(new StoreUnavailableError("disk full"))).to.equal(false);
      expect(isHeadMoved(new Error("HEAD_MOVED"))).to.equal(false);
    });
  });

  describe("when a commit is refused a few times", function () {
    it("sequences the request again and records it once, the client seeing no error", async function () {
      const store = new MovedStore(2);
      const ledger = await Ledger.open({ store, clock: new FakeClock() });
      const accepted = await submit(ledger, ACTORS.admin, "programme", programmeRequest());
      expect(accepted.status).to.equal(201);
      expect(accepted.body.leafIndex).to.equal(0);
      expect(store.attempts).to.equal(3);
      expect((await store.head()).size).to.equal(1);
      expect(ledger.size).to.equal(1);
      await ledger.close();
    });

    it("keeps the order of the requests it sequences again", async function () {
      const store = new MovedStore(1);
      const ledger = await Ledger.open({ store, clock: new FakeClock(), maxBatch: 1 });
      const results = await Promise.all([0, 1, 2].map(() => submit(ledger, ACTORS.admin, "programme", programmeRequest())));
      expect(results.map((r) => r.body.leafIndex)).to.deep.equal([0, 1, 2]);
      expect((await store.leaves(0, 3)).map((l) => l.id)).to.deep.equal(results.map((r) => r.body.id));
      await ledger.close();
    });
  });

  describe("when every commit is refused", function () {
    it(`fails the request after ${MAX_ATTEMPTS} attempts with a SequencingContendedError, a 503 saying why, storing nothing`, async function () {
      const store = new MovedStore(Infinity);
      const ledger = await Ledger.open({ store, clock: new FakeClock() });
      const e = await rejection(submit(ledger, ACTORS.admin, "programme", programmeRequest()));
      expect(e).to.be.instanceOf(SequencingContendedError).and.instanceOf(StoreUnavailableError);
      expect(store.attempts).to.equal(MAX_ATTEMPTS);
      expect((await store.head()).size).to.equal(0);
      const { problem, headers } = toProblem(e);
      expect(problem.status).to.equal(503);
      expect(problem.type).to.match(/sequencing-contended$/);
      expect(problem.detail).to.include("nothing was recorded");
      expect(headers).to.have.property("Retry-After");
      await ledger.close();
    });
  });
});
