/**
 * The sequencer (service/ledger/ledger.ts) over the memory store: group
 * commit, log order, state visibility inside a batch, idempotency, store
 * faults before and after persisting, and the tree and proofs it leaves
 * behind, checked against the log core's MemoryTree and verifiers.
 *
 * To put requests in one batch deterministically, a test holds the
 * acknowledgement of an earlier commit (TestStore.holdNextCommit), queues the
 * requests meanwhile, and releases it: the sequencer then takes everything
 * queued as the next batch.
 */
import { expect } from "chai";
import { IdempotencyConflict, Ledger, scopedIdempotencyKey, type Accepted } from "../../service/ledger/ledger";
import { consistencyProof, inclusionProof, rootAt } from "../../service/ledger/proofs";
import { decodeEntry, hashLeaf, LogArgumentError, MemoryTree, VerificationError, verifyConsistency, verifyInclusion } from "../../service/log";
import { RuleViolation } from "../../service/records/rules";
import { StoreUnavailableError } from "../../service/store/store";
import {
  ACTORS,
  applicationRequest,
  commandOf,
  confirmationRequest,
  correctionRequest,
  creditCode,
  decisionRequest,
  expectIdempotencyConflict,
  Harness,
  InvalidRequestBody,
  newKey,
  payoutRequest,
  programmeRequest,
  rejection,
  submit,
} from "../helpers/ledger-fixtures";

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Holds the commit of a filler programme, runs `queue` (which submits
 * requests without awaiting them), lets the filler's commit resolve, and
 * returns what `queue` returned. Everything `queue` submitted is one batch.
 */
async function inOneBatch<T>(h: Harness, queue: () => T, beforeRelease: () => void = () => {}): Promise<T> {
  const release = h.store.holdNextCommit();
  const filler = h.submit(ACTORS.admin, "programme", programmeRequest());
  await tick();
  const queued = queue();
  await tick();
  beforeRelease();
  release();
  await filler;
  return queued;
}

/** Returns `p`, and notes in `order` when it settles. */
function tracked<T>(order: string[], name: string, p: Promise<T>): Promise<T> {
  p.then(
    () => order.push(`${name} accepted`),
    () => order.push(`${name} refused`),
  );
  return p;
}

describe("The sequencer", () => {
  let h: Harness;
  beforeEach(async () => {
    // One batch at a time, so that inOneBatch's held commit gathers the
    // queued requests into one batch; pipelining has its own tests below.
    h = await Harness.open({ maxInFlight: 1 });
  });

  describe("given a body its request schema refuses", () => {
    it("never sees it: the test wrapper, like the HTTP layer, stops it at the schema", async () => {
      const before = await h.snapshot();
      const e = await rejection(h.submit(ACTORS.admin, "programme", { ...programmeRequest(), unknownField: 1 }));
      expect(e).to.be.instanceOf(InvalidRequestBody);
      expect(await h.snapshot()).to.deep.equal(before);
    });
  });

  describe("when 200 requests arrive at once", () => {
    let acks: Accepted[];
    let results: Accepted[];
    beforeEach(async () => {
      acks = [];
      results = await Promise.all(
        range(200).map((i) =>
          h.submit(ACTORS.admin, "programme", programmeRequest({ code: `BULK-${i}` })).then((a) => {
            acks.push(a);
            return a;
          }),
        ),
      );
    });

    it("stores them in far fewer commits than requests", () => {
      expect(h.store.commits).to.be.at.most(10);
      expect(h.store.batchSizes).to.have.length(h.store.commits);
      expect(h.store.batchSizes.reduce((a, b) => a + b, 0)).to.equal(200);
      expect(Math.max(...h.store.batchSizes)).to.be.above(1);
    });

    it("gives them leaf indexes 0 to 199, without gaps or duplicates", () => {
      expect(results.map((a) => a.body.leafIndex).sort((a, b) => a - b)).to.deep.equal(range(200));
      expect(new Set(results.map((a) => a.body.id)).size).to.equal(200);
      expect(h.ledger.size).to.equal(200);
    });

    it("acknowledges them in log order, which is the order they were submitted in", async () => {
      expect(acks.map((a) => a.body.leafIndex)).to.deep.equal(range(200));
      expect(results.map((a) => a.body.entry.body["code"])).to.deep.equal(range(200).map((i) => `BULK-${i}`));
      const stored = await h.store.leaves(0, 200);
      expect(stored.map((l) => l.id)).to.deep.equal(acks.map((a) => a.body.id));
    });
  });

  describe("with a maximum batch of 16", () => {
    it("never commits more than 16 requests at once, and still numbers them contiguously", async () => {
      const small = await Harness.open({ maxBatch: 16 });
      const results = await Promise.all(range(100).map((i) => small.submit(ACTORS.admin, "programme", programmeRequest({ code: `MAX-${i}` }))));
      expect(Math.max(...small.store.batchSizes)).to.be.at.most(16);
      expect(small.store.commits).to.be.at.least(Math.ceil(100 / 16));
      expect(results.map((a) => a.body.leafIndex)).to.deep.equal(range(100));
    });
  });

  describe("with at most 50 records checked at once", () => {
    const batchOf = (h: Harness, n: number, tag: string) =>
      h.ledger.submitBatch({
        commands: range(n).map((i) => commandOf("programme", programmeRequest({ code: `${tag}-${i}` }))),
        actor: ACTORS.admin,
        idempotencyKey: newKey(),
        requestHash: tag,
      });

    it("commits requests of 20 records two by two, never a third into the same commit, and numbers them contiguously", async () => {
      const h = await Harness.open({ maxBatchRecords: 50 });
      const results = await Promise.all(range(30).map((b) => batchOf(h, 20, `B${b}`)));
      expect(h.store.batchSizes.reduce((a, b) => a + b, 0)).to.equal(600);
      expect(Math.max(...h.store.batchSizes)).to.equal(40);
      expect(results.flatMap((r) => r.body.results.map((x) => x.leafIndex))).to.deep.equal(range(600));
    });

    it("lets the event loop run while it checks a batch, not only between batches", async () => {
      // A batch of 240 records (12 requests of 20) is checked in one pass; other work (the
      // anchorer's RPC answers, proof reads) must get the event loop every 64 records or so.
      const h = await Harness.open();
      const first = batchOf(h, 1, "W"); // checked alone; the rest queue behind it
      const rest = range(12).map((b) => batchOf(h, 20, `Y${b}`));
      let ticks = 0;
      let done = false;
      const ticksAtCommit: number[] = [];
      const commit = h.store.commit.bind(h.store);
      h.store.commit = async (batch) => {
        ticksAtCommit.push(ticks);
        return commit(batch);
      };
      const tick = () => {
        ticks += 1;
        if (!done) setImmediate(tick);
      };
      setImmediate(tick);
      await first;
      await Promise.all(rest);
      done = true;
      expect(h.store.batchSizes).to.deep.equal([1, 240]);
      // Between the first commit and the second: the yield after the first batch (1), and two inside
      // the second (after 80 and 160 records). Without the yields inside a batch this is 1.
      expect(ticksAtCommit[1]! - ticksAtCommit[0]!).to.be.at.least(3);
    });

    it("still takes a single larger request whole: a request is atomic", async () => {
      const h = await Harness.open({ maxBatchRecords: 50 });
      await Promise.all([batchOf(h, 10, "S"), batchOf(h, 100, "L"), batchOf(h, 10, "T")]);
      expect(h.store.batchSizes).to.include(100);
      expect(Math.max(...h.store.batchSizes)).to.equal(100);
    });
  });

  describe("when requests share a batch", () => {
    let programmeId: string;
    let applicationId: string;
    beforeEach(async () => {
      programmeId = await h.programme();
      applicationId = await h.application(programmeId);
    });

    it("lets each see the state the ones before it left: of two decisions on one application, only the first is accepted", async () => {
      const sizeBefore = h.ledger.size;
      const order: string[] = [];
      const [first, second] = await inOneBatch(
        h,
        () =>
          [
            tracked(order, "first", h.submit(ACTORS.approverC, "decision", decisionRequest(applicationId))),
            tracked(order, "second", h.submit(ACTORS.approverD, "decision", decisionRequest(applicationId, { approvedFen: "1" }))),
          ] as const,
      );
      const e = await rejection(second);
      expect(e).to.be.instanceOf(RuleViolation);
      expect((e as RuleViolation).rule).to.equal("application-pending");
      const accepted = await first;
      // The refusal settled before the acceptance: it was decided inside the
      // batch, before the first decision was durable, from the batch's own state.
      expect(order).to.deep.equal(["second refused", "first accepted"]);
      expect((await h.state(applicationId, "application")).decisionId).to.equal(accepted.body.id);
      expect(h.ledger.size).to.equal(sizeBefore + 2); // the filler and the first decision
      expect(h.store.batchSizes.at(-1)).to.equal(1);
    });

    it("numbers the accepted ones contiguously around refused ones", async () => {
      const submitted = await inOneBatch(h, () => [
        h.submit(ACTORS.clerkB, "application", applicationRequest(programmeId, { creditCode: creditCode(2) })),
        h.submit(ACTORS.clerkB, "application", applicationRequest(programmeId, { requestedFen: "0" })),
        h.submit(ACTORS.approverC, "decision", decisionRequest(applicationId)),
        h.submit(ACTORS.approverA, "decision", decisionRequest(applicationId)),
        h.submit(ACTORS.payerE, "payout", payoutRequest(programmeId)),
        h.submit(ACTORS.clerkB, "application", applicationRequest(programmeId, { creditCode: creditCode(3) })),
      ]);
      const settled = await Promise.allSettled(submitted);
      const start = h.ledger.size - 3;
      expect(settled.map((s) => (s.status === "fulfilled" ? s.value.body.leafIndex : (s.reason as RuleViolation).rule))).to.deep.equal([
        start,
        "amount-positive",
        start + 1,
        "application-pending",
        "reference-kind",
        start + 2,
      ]);
      expect(h.store.batchSizes.at(-1)).to.equal(3);
    });

    it("lets a later request build on an earlier one of the same batch", async () => {
      const approved = await h.decision(applicationId, {}, ACTORS.approverC);
      const pay = await h.payout(approved, { amountFen: "1000000" });
      const [clawback, revoke] = await inOneBatch(
        h,
        () =>
          [
            h.submit(ACTORS.approverD, "correction", correctionRequest(pay, "clawback", { clawbackFen: "1000000" })),
            h.submit(ACTORS.approverD, "correction", correctionRequest(pay, "revoked")),
          ] as const,
      );
      await clawback;
      await revoke; // allowed only because the clawback before it, in the same batch, left nothing outstanding
      expect(h.store.batchSizes.at(-1)).to.equal(2);
      expect((await h.state(pay, "payout")).revoked).to.equal(true);
    });
  });

  describe("with an Idempotency-Key", () => {
    let programmeId: string;
    beforeEach(async () => {
      programmeId = await h.programme();
    });

    describe("sent again with the same body", () => {
      it("answers the stored response, marked replayed, and appends one entry", async () => {
        const key = newKey();
        const body = applicationRequest(programmeId);
        const first = await h.submit(ACTORS.clerkA, "application", body, key);
        const size = h.ledger.size;
        const commits = h.store.commits;
        const again = await h.submit(ACTORS.clerkA, "application", structuredClone(body), key);
        expect(first.replayed).to.equal(false);
        expect(again.replayed).to.equal(true);
        expect(again.status).to.equal(first.status);
        expect(again.body).to.deep.equal(first.body);
        expect({ size: h.ledger.size, commits: h.store.commits }).to.deep.equal({ size, commits });
        expect(await h.store.indexed({ name: "kind", value: "application" })).to.have.length(1);
      });

      it("replays even when the state has moved on so that the request would now be refused", async () => {
        const key = newKey();
        const app = await h.application(programmeId);
        const body = decisionRequest(app);
        const first = await h.submit(ACTORS.approverC, "decision", body, key);
        const again = await h.submit(ACTORS.approverC, "decision", body, key);
        expect(again.replayed).to.equal(true);
        expect(again.body.id).to.equal(first.body.id);
      });
    });

    describe("sent again with a different body", () => {
      it("is refused with IdempotencyConflict, and nothing is appended", async () => {
        const key = newKey();
        await h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId), key);
        const before = await h.snapshot();
        await expectIdempotencyConflict(h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId, { requestedFen: "3000001" }), key));
        expect(await h.snapshot()).to.deep.equal(before);
      });

      it("is refused with IdempotencyConflict when the other body is for another kind", async () => {
        const key = newKey();
        await h.submit(ACTORS.admin, "programme", programmeRequest(), key);
        await expectIdempotencyConflict(h.submit(ACTORS.admin, "programme", programmeRequest(), key));
      });
    });

    describe("used by another official", () => {
      it("is a different key: both requests are recorded", async () => {
        const key = newKey();
        const a = await h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId), key);
        const b = await h.submit(ACTORS.clerkB, "application", applicationRequest(programmeId), key);
        expect(b.replayed).to.equal(false);
        expect(b.body.id).to.not.equal(a.body.id);
      });
    });

    describe("sent twice in one batch", () => {
      it("records one entry; the second answer is the first's, replayed, and is given only once the batch is durable", async () => {
        const key = newKey();
        const body = applicationRequest(programmeId);
        const [a, b] = await inOneBatch(h, () => [h.submit(ACTORS.clerkA, "application", body, key), h.submit(ACTORS.clerkA, "application", body, key)] as const);
        const [ra, rb] = await Promise.all([a, b]);
        expect([ra.replayed, rb.replayed]).to.deep.equal([false, true]);
        expect(rb.body).to.deep.equal(ra.body);
        expect(await h.store.indexed({ name: "kind", value: "application" })).to.have.length(1);
        expect(h.store.batchSizes.at(-1)).to.equal(1);
      });

      it("refuses the second with IdempotencyConflict when its body differs", async () => {
        const key = newKey();
        const [a, b] = await inOneBatch(
          h,
          () =>
            [
              h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId), key),
              h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId, { enterpriseName: "另一家公司" }), key),
            ] as const,
        );
        await a;
        const e = await rejection(b);
        expect(e).to.be.instanceOf(IdempotencyConflict);
        expect(await h.store.indexed({ name: "kind", value: "application" })).to.have.length(1);
      });

      it("fails both when the batch's commit fails, though one of them is a replay", async () => {
        const key = newKey();
        const body = applicationRequest(programmeId);
        const [a, b] = await inOneBatch(
          h,
          () => [h.submit(ACTORS.clerkA, "application", body, key), h.submit(ACTORS.clerkA, "application", body, key)] as const,
          () => h.store.injectFault("fail-before-persist"),
        );
        expect(await rejection(a)).to.be.instanceOf(StoreUnavailableError);
        expect(await rejection(b)).to.be.instanceOf(StoreUnavailableError);
        expect(await h.store.idempotency(scopedIdempotencyKey(ACTORS.clerkA.official, key))).to.equal(undefined);
      });
    });
  });

  describe("when the store fails before persisting a batch", () => {
    it("refuses every request of the batch, stores nothing, and then carries on from the same index", async () => {
      const programmeId = await h.programme();
      const keys = range(5).map(() => newKey());
      const submitted = await inOneBatch(
        h,
        () => keys.map((key, i) => h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId, { creditCode: creditCode(i + 10) }), key)),
        () => h.store.injectFault("fail-before-persist"),
      );
      const reasons = await Promise.all(submitted.map(rejection));
      for (const e of reasons) expect(e, String(e)).to.be.instanceOf(StoreUnavailableError);
      // Only the programme and the filler are stored, and the ledger agrees.
      const stored = await h.store.leaves(0, 1000);
      expect(stored).to.have.length(2);
      expect({ size: h.ledger.size, commits: h.store.commits, storedSize: (await h.store.head()).size }).to.deep.equal({ size: 2, commits: 2, storedSize: 2 });
      expect(h.ledger.root()).to.deep.equal(new MemoryTree(stored.map((l) => hashLeaf(l.bytes))).root());
      expect((await h.state(programmeId, "programme")).applications).to.equal(0);
      for (const key of keys) expect(await h.store.idempotency(scopedIdempotencyKey(ACTORS.clerkA.official, key))).to.equal(undefined);

      // The same requests again: recorded afresh, at the indexes that were free.
      const retried = await Promise.all(keys.map((key, i) => h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId, { creditCode: creditCode(i + 10) }), key)));
      expect(retried.map((a) => a.replayed)).to.deep.equal(keys.map(() => false));
      expect(retried.map((a) => a.body.leafIndex)).to.deep.equal(range(5, 2));
      expect((await h.state(programmeId, "programme")).applications).to.equal(5);
      const leaves = await h.store.leaves(0, h.ledger.size);
      expect(new MemoryTree(leaves.map((l) => hashLeaf(l.bytes))).root()).to.deep.equal(h.ledger.root());
    });
  });

  describe("when the store fails after persisting a batch", () => {
    it("refuses the requests, but a retry with the same key answers the stored response without a second entry", async () => {
      const programmeId = await h.programme();
      const keys = range(3).map(() => newKey());
      const bodies = keys.map((_, i) => applicationRequest(programmeId, { creditCode: creditCode(i + 20) }));
      const sizeBefore = h.ledger.size + 1; // after the filler
      const submitted = await inOneBatch(
        h,
        () => keys.map((key, i) => h.submit(ACTORS.clerkA, "application", bodies[i]!, key)),
        () => h.store.injectFault("fail-after-persist"),
      );
      for (const p of submitted) expect(await rejection(p)).to.be.instanceOf(StoreUnavailableError);
      // The batch is in the store, and the sequencer took the store's head as the truth.
      expect((await h.store.head()).size).to.equal(sizeBefore + 3);
      expect(h.ledger.size).to.equal(sizeBefore + 3);

      const retried = await Promise.all(keys.map((key, i) => h.submit(ACTORS.clerkA, "application", bodies[i]!, key)));
      expect(retried.map((a) => a.replayed)).to.deep.equal([true, true, true]);
      expect(retried.map((a) => a.body.leafIndex)).to.deep.equal(range(3, sizeBefore));
      expect(h.ledger.size).to.equal(sizeBefore + 3);
      expect(await h.store.indexed({ name: "kind", value: "application" })).to.have.length(3);
      expect((await h.state(programmeId, "programme")).applications).to.equal(3);

      // And new requests carry on after the stored batch.
      const next = await h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId));
      expect(next.body.leafIndex).to.equal(sizeBefore + 3);
      const leaves = await h.store.leaves(0, h.ledger.size);
      expect(new MemoryTree(leaves.map((l) => hashLeaf(l.bytes))).root()).to.deep.equal(h.ledger.root());
    });
  });

  describe("when a batch is checked while the one before it is being written", () => {
    let p: Harness;
    let programmeId: string;
    let apps: string[];
    beforeEach(async () => {
      p = await Harness.open(); // the default: two batches in flight
      programmeId = await p.programme({ budgetFen: "5000000" });
      apps = [await p.application(programmeId), await p.application(programmeId, { creditCode: creditCode(2) })];
    });

    it("reads the state the batch in flight will write: a decision over the remaining budget is refused before the first is durable", async () => {
      const gate = p.store.holdNextCommitBeforeStoring();
      const order: string[] = [];
      const first = tracked(order, "first", p.submit(ACTORS.approverC, "decision", decisionRequest(apps[0]!, { approvedFen: "3000000" })));
      await tick();
      const commitsWhileHeld = p.store.commits;
      const second = tracked(order, "second", p.submit(ACTORS.approverC, "decision", decisionRequest(apps[1]!, { approvedFen: "2500000" })));
      const e = await rejection(second);
      expect((e as RuleViolation).rule).to.equal("budget-not-exceeded");
      expect(p.store.commits, "the first batch is still held").to.equal(commitsWhileHeld);
      gate.release();
      await first;
      expect(order).to.deep.equal(["second refused", "first accepted"]);
      expect((await p.state(programmeId, "programme")).approvedFen).to.equal("3000000");
    });

    it("acknowledges the next batch only after the one before it is durable, in log order", async () => {
      const gate = p.store.holdNextCommitBeforeStoring();
      const order: string[] = [];
      const sizeBefore = p.ledger.size;
      const first = tracked(order, "first", p.submit(ACTORS.approverC, "decision", decisionRequest(apps[0]!)));
      await tick();
      const second = tracked(order, "second", p.submit(ACTORS.approverC, "decision", decisionRequest(apps[1]!, { approvedFen: "1000000" })));
      for (let i = 0; i < 5; i++) await tick();
      expect(order, "nothing acknowledged while the first batch is held").to.deep.equal([]);
      expect(p.ledger.size).to.equal(sizeBefore);
      gate.release();
      const [a, b] = await Promise.all([first, second]);
      expect(order).to.deep.equal(["first accepted", "second accepted"]);
      expect([a.body.leafIndex, b.body.leafIndex]).to.deep.equal([sizeBefore, sizeBefore + 1]);
      expect(p.ledger.size).to.equal(sizeBefore + 2);
    });

    it("fails the batch built on one whose commit fails, stores neither, and carries on from the same index", async () => {
      const gate = p.store.holdNextCommitBeforeStoring();
      const sizeBefore = p.ledger.size;
      const rootBefore = p.ledger.root();
      const first = p.submit(ACTORS.approverC, "decision", decisionRequest(apps[0]!));
      await tick();
      const second = p.submit(ACTORS.approverC, "decision", decisionRequest(apps[1]!, { approvedFen: "1000000" }));
      for (let i = 0; i < 5; i++) await tick();
      gate.fail();
      expect(await rejection(first)).to.be.instanceOf(StoreUnavailableError);
      expect(await rejection(second)).to.be.instanceOf(StoreUnavailableError);
      expect(p.ledger.size).to.equal(sizeBefore);
      expect(p.ledger.root()).to.deep.equal(rootBefore);
      expect((await p.store.head()).size).to.equal(sizeBefore);
      expect((await p.state(programmeId, "programme")).approvedFen, "no state from either batch").to.equal("0");
      const again = await p.submit(ACTORS.approverC, "decision", decisionRequest(apps[1]!, { approvedFen: "1000000" }));
      expect(again.body.leafIndex).to.equal(sizeBefore);
    });
  });

  describe("after a mixed history of 40 entries", () => {
    const N = 40;
    let acks: Accepted[];
    let tree: MemoryTree;
    beforeEach(async () => {
      acks = [];
      const rec = async (actor: (typeof ACTORS)[keyof typeof ACTORS], kind: Parameters<Harness["submit"]>[1], body: unknown) => {
        const a = await h.submit(actor, kind, body);
        acks.push(a);
        return a.body.id;
      };
      const prg = await rec(ACTORS.admin, "programme", programmeRequest({ fourEyesThresholdFen: "1000000" }));
      while (acks.length < N) {
        const app = await rec(ACTORS.clerkA, "application", applicationRequest(prg, { creditCode: creditCode(acks.length) }));
        if (acks.length >= N) break;
        const dec = await rec(ACTORS.approverC, "decision", decisionRequest(app, { approvedFen: "2000000" }));
        if (acks.length >= N) break;
        const pay = await rec(ACTORS.payerE, "payout", payoutRequest(dec, { amountFen: "1500000" }));
        if (acks.length >= N) break;
        await rec(ACTORS.approverD, "confirmation", confirmationRequest(pay));
        if (acks.length >= N) break;
        await rec(ACTORS.approverD, "correction", correctionRequest(app, "data-entry-error", { replacement: { enterpriseName: `更正后名称${acks.length}` } }));
      }
      const leaves = await h.store.leaves(0, h.ledger.size);
      tree = new MemoryTree(leaves.map((l) => hashLeaf(l.bytes)));
    });

    it("has as its root the root of a MemoryTree over the stored leaf bytes", async () => {
      expect(h.ledger.size).to.equal(N);
      expect(tree.size).to.equal(N);
      expect(h.ledger.root()).to.deep.equal(tree.root());
      expect(await rootAt(h.store, N)).to.deep.equal(tree.root());
      for (const size of [1, 2, 3, 7, 8, 9, 31, 32, 33]) expect(await rootAt(h.store, size), `size ${size}`).to.deep.equal(tree.root(size));
    });

    it("stores, at each index, the canonical bytes of the entry it acknowledged there", async () => {
      for (const a of acks) {
        const leaf = await h.store.leaf(a.body.leafIndex);
        expect(decodeEntry(leaf!.bytes), `leaf ${a.body.leafIndex}`).to.deep.equal(a.body.entry);
        expect(await h.store.indexOf(a.body.id)).to.equal(a.body.leafIndex);
      }
    });

    it("serves inclusion proofs that verify with the log core", async () => {
      for (const size of [1, 5, 16, 17, N])
        for (let index = 0; index < size; index++) {
          const leaf = await h.store.leaf(index);
          const p = await inclusionProof(h.store, index, size, h.ledger.size);
          expect(p.leafHash).to.deep.equal(hashLeaf(leaf!.bytes));
          expect(p.root).to.deep.equal(tree.root(size));
          expect(p.proof).to.deep.equal(tree.inclusionProof(index, size));
          verifyInclusion(hashLeaf(leaf!.bytes), index, size, tree.root(size), p.proof);
        }
    });

    it("serves consistency proofs that verify with the log core", async () => {
      for (let size2 = 1; size2 <= N; size2 += 3)
        for (let size1 = 0; size1 <= size2; size1++) {
          const p = await consistencyProof(h.store, size1, size2, h.ledger.size);
          expect(p.proof).to.deep.equal(tree.consistencyProof(size1, size2));
          verifyConsistency(size1, size2, tree.root(size1), tree.root(size2), p.proof);
        }
    });

    it("serves proofs that stop verifying when one bit of them changes", async () => {
      const p = await inclusionProof(h.store, 13, N, h.ledger.size);
      const bad = p.proof.map((x) => new Uint8Array(x));
      bad[1]![4]! ^= 0x08;
      expect(() => verifyInclusion(p.leafHash, 13, N, p.root, bad)).to.throw(VerificationError);
      const c = await consistencyProof(h.store, 11, N, h.ledger.size);
      const badC = c.proof.map((x) => new Uint8Array(x));
      badC[0]![0]! ^= 0x01;
      expect(() => verifyConsistency(11, N, c.root1, c.root2, badC)).to.throw(VerificationError);
    });

    it("refuses a proof for a size beyond the tree", async () => {
      const e = await rejection(inclusionProof(h.store, 0, N + 1, h.ledger.size));
      expect(e).to.be.instanceOf(LogArgumentError);
    });

    it("is taken up by a ledger reopened over the same store, which appends at the next index", async () => {
      const reopened = await Ledger.open({ store: h.store, clock: h.clock });
      expect(reopened.size).to.equal(N);
      expect(reopened.root()).to.deep.equal(h.ledger.root());
      const next = await submit(reopened, ACTORS.admin, "programme", programmeRequest());
      expect(next.body.leafIndex).to.equal(N);
      tree.append(hashLeaf((await h.store.leaf(N))!.bytes));
      expect(reopened.root()).to.deep.equal(tree.root());
    });
  });
});
