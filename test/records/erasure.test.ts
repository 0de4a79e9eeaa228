/**
 * Erasure in the record layer: the rule (service/records/rules.ts), driven
 * through the real sequencer over the memory store, and the pure audit check
 * of erasure entries (the auditor's replay, scripts/lib/audit/invariants.ts).
 */
import { expect } from "chai";
import { checkEntries } from "../../scripts/lib/audit";
import { IdempotencyConflict, scopedIdempotencyKey, type Accepted } from "../../service/ledger/ledger";
import { erasurePathOf, requestHash } from "../../service/http/admin";
import { opens } from "../../service/records/entry";
import { RuleViolation, type RuleName, type ViolationKind } from "../../service/records/rules";
import type { ErasureCommand } from "../../service/records/schemas";
import { ERASED_REQUEST_HASH } from "../../service/store/store";
import { ACTORS, applicationRequest, Harness, newKey } from "../helpers/ledger-fixtures";
import { rejection } from "../helpers/rejection";

/** Submits an erasure as the route does, with the target's committed fields read from its leaf. */
async function erase(h: Harness, targetId: string, reasonCode: ErasureCommand["reasonCode"] = "data-subject-request", key = newKey()): Promise<Accepted> {
  const index = await h.store.indexOf(targetId);
  const fields =
    index === undefined ? [] : Object.keys((JSON.parse(new TextDecoder().decode((await h.store.leaf(index))!.bytes)) as { commitments?: object }).commitments ?? {}).sort();
  return h.ledger.submit({
    command: { kind: "erasure", body: { targetId, reasonCode, fields } },
    actor: ACTORS.admin,
    idempotencyKey: scopedIdempotencyKey(ACTORS.admin.official, key),
    requestHash: requestHash("POST", erasurePathOf(targetId), { reasonCode }),
  });
}

async function refusesErasure(h: Harness, targetId: string, rule: RuleName, kind: ViolationKind): Promise<void> {
  const before = await h.snapshot();
  const e = await rejection(erase(h, targetId));
  expect(e, String(e)).to.be.instanceOf(RuleViolation);
  expect({ rule: (e as RuleViolation).rule, kind: (e as RuleViolation).kind }).to.deep.equal({ rule, kind });
  expect(await h.snapshot(), "nothing appended").to.deep.equal(before);
}

describe("Erasure, in the record layer", () => {
  let h: Harness;
  let prg: string;
  let app: string;
  beforeEach(async () => {
    h = await Harness.open();
    prg = await h.programme();
    const recorded = await h.submit(ACTORS.clerkA, "application", applicationRequest(prg), "app-key");
    expect(recorded.status).to.equal(201);
    app = recorded.body.id;
  });

  describe("when an application's private values are erased", () => {
    let accepted: Accepted;
    let commitmentsBefore: Record<string, string>;
    beforeEach(async () => {
      const leaf = (await h.store.leaf((await h.store.indexOf(app))!))!;
      commitmentsBefore = (JSON.parse(new TextDecoder().decode(leaf.bytes)) as { commitments: Record<string, string> }).commitments;
      expect(await h.store.openings(app)).to.not.equal(undefined);
      accepted = await erase(h, app, "retention-expired");
    });

    it("appends an erasure entry naming the target, the reason, the official and the fields, with no commitments", () => {
      const e = accepted.body.entry;
      expect(accepted.status).to.equal(201);
      expect(e.kind).to.equal("erasure");
      expect(e.id).to.match(/^era_[0-9a-f]{24}$/);
      expect(e.refs).to.deep.equal([app]);
      expect(e.body).to.deep.equal({ targetId: app, reasonCode: "retention-expired", fields: ["bankAccount", "contactPerson", "phone"] });
      expect(e.actor).to.deep.equal(ACTORS.admin);
      expect(e).to.not.have.property("commitments");
    });

    it("deletes the openings in the same commit, and keeps the target's leaf and commitments", async () => {
      expect(await h.store.openings(app)).to.equal(undefined);
      const leaf = (await h.store.leaf((await h.store.indexOf(app))!))!;
      expect((JSON.parse(new TextDecoder().decode(leaf.bytes)) as { commitments: unknown }).commitments).to.deep.equal(commitmentsBefore);
    });

    it("marks the target erased in the state, with the erasure's id and fields", async () => {
      const marker = await h.store.state(`erased:${app}`);
      expect(marker).to.deep.include({ kind: "erasure", id: accepted.body.id, targetId: app, reasonCode: "retention-expired" });
      expect(await h.state(accepted.body.id, "erasure")).to.deep.include({ targetId: app });
    });

    it("files the erasure under the target's enterprise and programme", async () => {
      const creditCode = (await h.state(app, "application")).creditCode;
      const idx = accepted.body.leafIndex;
      expect(await h.store.indexed({ name: "enterprise", value: creditCode })).to.include(idx);
      expect(await h.store.indexed({ name: "programme", value: prg })).to.include(idx);
      expect(await h.store.indexed({ name: "kind", value: "erasure" })).to.deep.equal([idx]);
    });

    it("scrubs the request hash of the idempotency record that recorded the application, keeping its public response", async () => {
      const record = (await h.store.idempotency(scopedIdempotencyKey(ACTORS.clerkA.official, "app-key")))!;
      expect(record.requestHash).to.equal(ERASED_REQUEST_HASH);
      expect((record.body as { id: string }).id).to.equal(app);
    });

    it("refuses a retry of the application with its old key (IdempotencyConflict), never recording it twice", async () => {
      const before = await h.snapshot();
      const e = await rejection(h.submit(ACTORS.clerkA, "application", applicationRequest(prg), "app-key"));
      expect(e).to.be.instanceOf(IdempotencyConflict);
      expect((e as Error).message).to.contain("erased");
      expect(await h.snapshot()).to.deep.equal(before);
    });

    it("refuses a second erasure as a conflict (erasure-once), appending nothing", async () => {
      await refusesErasure(h, app, "erasure-once", "conflict");
    });

    it("refuses erasing the erasure entry itself (erasure-target-private)", async () => {
      await refusesErasure(h, accepted.body.id, "erasure-target-private", "invalid");
    });
  });

  describe("when the target has no private values", () => {
    it("refuses a programme as invalid (erasure-target-private), appending nothing", async () => {
      await refusesErasure(h, prg, "erasure-target-private", "invalid");
    });
  });

  describe("when the target does not exist", () => {
    it("refuses it as invalid (reference-exists), appending nothing", async () => {
      await refusesErasure(h, "app_000000000000000000000000", "reference-exists", "invalid");
    });
  });

  describe("a payout and a correction with private replacements", () => {
    it("are erased one entry at a time, each keeping the other's openings", async () => {
      const dec = await h.decision(app);
      const pay = await h.payout(dec);
      const cor = await h.record(ACTORS.approverC, "correction", {
        targetId: pay,
        reasonCode: "superseded",
        reasonText: "流水号更正",
        replacement: { private: { bankTransactionRef: "TX-CORRECTED-1" } },
      });
      const e = await erase(h, cor, "purpose-fulfilled");
      expect(e.body.entry.body["fields"]).to.deep.equal(["bankTransactionRef"]);
      expect(await h.store.openings(cor)).to.equal(undefined);
      const kept = (await h.store.openings(pay))!;
      expect(opens(JSON.parse(new TextDecoder().decode((await h.store.leaf((await h.store.indexOf(pay))!))!.bytes)).commitments.bankTransactionRef, kept["bankTransactionRef"]!)).to.equal(true);
    });
  });
});

describe("the auditor's replay of erasure entries", () => {
  const C = "ab".repeat(32);
  const id = (prefix: string, n: number) => `${prefix}_${n.toString(16).padStart(24, "0")}`;
  type E = { v: 1; id: string; kind: string; recordedAt: string; actor: { official: string; agency: string; role: string }; refs: string[]; body: Record<string, unknown>; commitments?: Record<string, string> };
  const at = "2026-03-10T02:00:00Z";
  const admin = { official: "admin", agency: "市财政局", role: "admin" };
  const prg: E = { v: 1, id: id("prg", 1), kind: "programme", recordedAt: at, actor: admin, refs: [], body: { code: "P", agency: "市财政局", budgetFen: "100", fourEyesThresholdFen: "50", opensOn: "2026-01-01", closesOn: "2026-12-31" } };
  const app: E = {
    v: 1,
    id: id("app", 1),
    kind: "application",
    recordedAt: at,
    actor: { official: "clerk", agency: "市财政局", role: "clerk" },
    refs: [prg.id],
    body: { programmeId: prg.id, creditCode: "X", requestedFen: "10" },
    commitments: { phone: C, bankAccount: C },
  };
  const era = (n: number, targetId: string, over: Partial<E> = {}, body: Record<string, unknown> = {}): E => ({
    v: 1,
    id: id("era", n),
    kind: "erasure",
    recordedAt: at,
    actor: admin,
    refs: [targetId],
    body: { targetId, reasonCode: "data-subject-request", fields: ["bankAccount", "phone"], ...body },
    ...over,
  });
  const rules = (entries: E[]) => checkEntries(entries).violations.map((v) => [v.rule, v.entryId]);

  it("finds a sound erasure, and marks its target erased", () => {
    const { violations, replay } = checkEntries([prg, app, era(1, app.id)]);
    expect(violations).to.deep.equal([]);
    expect(replay.isErased(app.id)).to.equal(true);
    expect(replay.isErased(prg.id)).to.equal(false);
  });

  it("reports an entry erased twice", () => {
    expect(rules([prg, app, era(1, app.id), era(2, app.id)])).to.deep.equal([["erasure-once", id("era", 2)]]);
  });

  it("reports a target that is unknown, later, or without commitments", () => {
    expect(rules([prg, era(1, app.id), app])).to.deep.equal([["reference-exists", id("era", 1)]]);
    expect(rules([prg, era(1, prg.id, {}, { fields: [] })])).to.deep.equal([["erasure-target-private", id("era", 1)]]);
  });

  it("reports fields that are not the target's committed fields", () => {
    expect(rules([prg, app, era(1, app.id, {}, { fields: ["phone"] })])).to.deep.equal([["erasure-fields", id("era", 1)]]);
  });

  it("reports a malformed body: unknown reason, extra field, refs not [targetId]", () => {
    expect(rules([prg, app, era(1, app.id, {}, { reasonCode: "because" })])).to.deep.equal([["entry-malformed", id("era", 1)]]);
    expect(rules([prg, app, era(1, app.id, {}, { note: "张三" })])).to.deep.equal([["entry-malformed", id("era", 1)]]);
    expect(rules([prg, app, era(1, app.id, { refs: [] })])).to.deep.equal([["refs-match-body", id("era", 1)]]);
  });

  it("reports an erasure that carries commitments", () => {
    expect(rules([prg, app, era(1, app.id, { commitments: { x: C } })])).to.deep.equal([["erasure-fields", id("era", 1)]]);
  });
});
