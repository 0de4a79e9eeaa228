/**
 * The business rules (service/records/rules.ts), driven through the real
 * sequencer over the memory store, with every body parsed by its request
 * schema first as the HTTP layer does. Each rule has a case it accepts and a
 * case it refuses; every refusal asserts the rule's name and status and that
 * nothing was appended (ledger size and root, store commits and head).
 *
 * The last block is a fast-check property: random sequences of plausible
 * commands, submitted in concurrent groups, never break the ledger's money
 * invariants as recorded in the derived state.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Ledger } from "../../service/ledger/ledger";
import { encodeEntry, hashLeaf, MemoryTree } from "../../service/log";
import { opens, type Opening } from "../../service/records/entry";
import { regionType, REGION_TYPES, type RegionType } from "../../service/records/identifiers";
import { RuleViolation } from "../../service/records/rules";
import type { DecisionState, PayoutState } from "../../service/records/state";
import { fcParams } from "../helpers/fc";
import {
  ACTORS,
  APPLICATION_PRIVATE,
  applicationRequest,
  confirmationRequest,
  correctionRequest,
  creditCode,
  decisionRequest,
  Harness,
  InvalidRequestBody,
  PAYOUT_REF,
  payoutRequest,
  programmeRequest,
  REGIONS,
  rejection,
} from "../helpers/ledger-fixtures";

/** "an application's enterpriseName", "a payout's private.bankTransactionRef". */
function fieldsLabel(kind: string, replacement: Record<string, unknown>): string {
  const fields = Object.keys(replacement).flatMap((k) => (k === "private" ? Object.keys(replacement[k] as object).map((p) => `private.${p}`) : [k]));
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}'s ${fields.join(", ")}`;
}

/** A well-formed entry id that names nothing. */
const MISSING = { prg: "prg_000000000000000000000000", app: "app_000000000000000000000000", dec: "dec_000000000000000000000000" };

const utf8 = new TextDecoder();

describe("Business rules, applied by the sequencer", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await Harness.open();
  });

  describe("a refusal", () => {
    it("carries the kind conflict when the ledger's state refuses the request", async () => {
      await h.programme({ code: "TAKEN" });
      const v = await h.refuses(ACTORS.admin, "programme", programmeRequest({ code: "TAKEN" }), "programme-code-unique", "conflict");
      expect(v.kind).to.equal("conflict");
    });

    it("carries the kind invalid when the request can never be valid as sent", async () => {
      const body = programmeRequest({ opensOn: "2026-05-02", closesOn: "2026-05-01" });
      const v = await h.refuses(ACTORS.admin, "programme", body, "programme-dates-ordered", "invalid");
      expect(v.kind).to.equal("invalid");
    });
  });

  describe("a programme", () => {
    describe("with a code not yet in use", () => {
      it("is recorded, with its totals at zero", async () => {
        const id = await h.programme({ code: "FRESH-1" });
        const prg = await h.state(id, "programme");
        expect(prg).to.include({ code: "FRESH-1", approvedFen: "0", paidFen: "0", applications: 0, revoked: false });
        expect(h.ledger.size).to.equal(1);
      });
    });

    describe("with a code already in use", () => {
      it("is refused by programme-code-unique (a conflict)", async () => {
        await h.programme({ code: "TAKEN" });
        await h.refuses(ACTORS.admin, "programme", programmeRequest({ code: "TAKEN" }), "programme-code-unique", "conflict");
      });

      it("is refused even when the first programme has been revoked", async () => {
        const id = await h.programme({ code: "TAKEN" });
        await h.correction(id, "revoked");
        await h.refuses(ACTORS.admin, "programme", programmeRequest({ code: "TAKEN" }), "programme-code-unique", "conflict");
      });
    });

    describe("that opens and closes on the same day", () => {
      it("is recorded", async () => {
        await h.programme({ opensOn: "2026-05-01", closesOn: "2026-05-01" });
      });
    });

    describe("that opens after it closes", () => {
      it("is refused by programme-dates-ordered (invalid)", async () => {
        const body = programmeRequest({ opensOn: "2026-05-02", closesOn: "2026-05-01" });
        await h.refuses(ACTORS.admin, "programme", body, "programme-dates-ordered", "invalid");
      });
    });

    describe("with a budget of one fen", () => {
      it("is recorded", async () => {
        const id = await h.programme({ budgetFen: "1" });
        expect((await h.state(id, "programme")).budgetFen).to.equal("1");
      });
    });

    describe("with a budget of zero", () => {
      it("is refused by programme-budget-positive (invalid)", async () => {
        await h.refuses(ACTORS.admin, "programme", programmeRequest({ budgetFen: "0" }), "programme-budget-positive", "invalid");
      });
    });
  });

  describe("an application", () => {
    let programmeId: string;
    beforeEach(async () => {
      programmeId = await h.programme();
    });

    describe("for an open programme", () => {
      it("is recorded and counted in the programme's total and its region's tally", async () => {
        const id = await h.application(programmeId, { region: REGIONS.rural });
        const app = await h.state(id, "application");
        expect(app).to.include({ programmeId, recordedBy: ACTORS.clerkA.official, decisionId: null, revoked: false });
        const prg = await h.state(programmeId, "programme");
        expect(prg.applications).to.equal(1);
        expect(prg.byRegion["rural-county"].applications).to.equal(1);
        expect(prg.byRegion["urban-district"].applications).to.equal(0);
      });
    });

    describe("for a programme that does not exist", () => {
      it("is refused by reference-exists (invalid)", async () => {
        await h.refuses(ACTORS.clerkA, "application", applicationRequest(MISSING.prg), "reference-exists", "invalid");
      });
    });

    describe("whose programmeId names an entry of another kind", () => {
      it("is refused by reference-kind (invalid)", async () => {
        const appId = await h.application(programmeId);
        await h.refuses(ACTORS.clerkA, "application", applicationRequest(appId), "reference-kind", "invalid");
      });
    });

    describe("for a programme closing on 2026-11-30 (a date in UTC+8)", () => {
      let closing: string;
      beforeEach(async () => {
        closing = await h.programme({ closesOn: "2026-11-30" });
      });

      it("is accepted at 2026-11-30T15:59:59Z, 23:59:59 on the closing day in China", async () => {
        h.clock.set("2026-11-30T15:59:59Z");
        await h.application(closing);
      });

      it("is refused by programme-open (invalid) at 2026-11-30T16:00:00Z, midnight of 1 December in China", async () => {
        h.clock.set("2026-11-30T16:00:00Z");
        await h.refuses(ACTORS.clerkA, "application", applicationRequest(closing), "programme-open", "invalid");
      });
    });

    describe("for a programme opening on 2026-04-01", () => {
      let opening: string;
      beforeEach(async () => {
        opening = await h.programme({ opensOn: "2026-04-01" });
      });

      it("is refused by programme-open (invalid) at 2026-03-31T15:59:59.999Z, still 31 March in China", async () => {
        h.clock.set("2026-03-31T15:59:59.999Z");
        await h.refuses(ACTORS.clerkA, "application", applicationRequest(opening), "programme-open", "invalid");
      });

      it("is accepted at 2026-03-31T16:00:00Z, midnight of 1 April in China", async () => {
        h.clock.set("2026-03-31T16:00:00Z");
        await h.application(opening);
      });
    });

    describe("requesting zero fen", () => {
      it("is refused by amount-positive (invalid)", async () => {
        await h.refuses(ACTORS.clerkA, "application", applicationRequest(programmeId, { requestedFen: "0" }), "amount-positive", "invalid");
      });
    });

    describe("for a revoked programme", () => {
      it("is refused by entry-revoked (a conflict)", async () => {
        await h.correction(programmeId, "revoked");
        await h.refuses(ACTORS.clerkA, "application", applicationRequest(programmeId), "entry-revoked", "conflict");
      });
    });

    describe("with private contact details", () => {
      it("keeps every private value and every salt out of the log entry's bytes", async () => {
        const a = await h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId));
        const stored = await h.store.leaf(a.body.leafIndex);
        const bytes = encodeEntry(a.body.entry);
        expect(stored?.bytes).to.deep.equal(bytes);
        const text = utf8.decode(bytes);
        const openings = await h.store.openings(a.body.id);
        expect(Object.keys(openings ?? {}).sort()).to.deep.equal(["bankAccount", "contactPerson", "phone"]);
        for (const [field, opening] of Object.entries(openings ?? {})) {
          expect(opening.value).to.equal(APPLICATION_PRIVATE[field as keyof typeof APPLICATION_PRIVATE]);
          expect(text, field).to.not.include(opening.value);
          expect(text, `${field} salt`).to.not.include(opening.salt);
        }
        expect(a.body.entry.body).to.not.have.property("private");
      });

      it("stores openings that open the entry's commitments, and only those", async () => {
        const a = await h.submit(ACTORS.clerkA, "application", applicationRequest(programmeId));
        const commitments = a.body.entry.commitments ?? {};
        const openings = (await h.store.openings(a.body.id)) ?? {};
        expect(Object.keys(commitments).sort()).to.deep.equal(Object.keys(openings).sort());
        for (const [field, c] of Object.entries(commitments)) {
          const opening = openings[field];
          expect(opening, field).to.not.equal(undefined);
          expect(opens(c, opening!), field).to.equal(true);
          expect(opens(c, { ...opening!, value: `${opening!.value}0` }), `${field} with another value`).to.equal(false);
        }
        expect(commitments["bankAccount"]).to.not.equal(commitments["phone"]);
      });
    });
  });

  describe("a decision", () => {
    let programmeId: string;
    let applicationId: string;
    beforeEach(async () => {
      programmeId = await h.programme();
      applicationId = await h.application(programmeId, { requestedFen: "3000000" });
    });

    describe("on a pending application, by another official than its recorder", () => {
      it("is recorded and adds the approved amount to the programme and the region", async () => {
        const id = await h.decision(applicationId, { approvedFen: "2500000" });
        expect((await h.state(applicationId, "application")).decisionId).to.equal(id);
        const prg = await h.state(programmeId, "programme");
        expect(prg.approvedFen).to.equal("2500000");
        expect(prg.byRegion["urban-district"].approvedFen).to.equal("2500000");
      });
    });

    describe("on an application that already has a decision", () => {
      it("is refused by application-pending (a conflict)", async () => {
        await h.decision(applicationId);
        await h.refuses(ACTORS.approverD, "decision", decisionRequest(applicationId), "application-pending", "conflict");
      });
    });

    describe("on an application that does not exist", () => {
      it("is refused by reference-exists (invalid)", async () => {
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(MISSING.app), "reference-exists", "invalid");
      });
    });

    describe("whose applicationId names a programme", () => {
      it("is refused by reference-kind (invalid)", async () => {
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(programmeId), "reference-kind", "invalid");
      });
    });

    describe("on a revoked application", () => {
      it("is refused by entry-revoked (a conflict)", async () => {
        await h.correction(applicationId, "revoked");
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(applicationId), "entry-revoked", "conflict");
      });
    });

    describe("by the official who recorded the application", () => {
      it("is refused by decider-not-recorder (invalid), even with an approver token", async () => {
        await h.refuses(ACTORS.approverA, "decision", decisionRequest(applicationId), "decider-not-recorder", "invalid");
      });
    });

    describe("approving exactly the amount requested", () => {
      it("is recorded", async () => {
        await h.decision(applicationId, { approvedFen: "3000000" });
      });
    });

    describe("approving one fen more than requested", () => {
      it("is refused by approved-within-requested (invalid)", async () => {
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(applicationId, { approvedFen: "3000001" }), "approved-within-requested", "invalid");
      });
    });

    describe("approving zero fen", () => {
      it("is refused by amount-positive (invalid)", async () => {
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(applicationId, { approvedFen: "0" }), "amount-positive", "invalid");
      });
    });

    describe("rejecting with approvedFen \"0\"", () => {
      it("is recorded and approves nothing", async () => {
        await h.decision(applicationId, { outcome: "rejected", approvedFen: "0", reason: "不符合条件" });
        expect((await h.state(programmeId, "programme")).approvedFen).to.equal("0");
      });
    });

    describe("rejecting with a non-zero approvedFen", () => {
      it("is refused by rejection-approves-nothing (invalid)", async () => {
        const body = decisionRequest(applicationId, { outcome: "rejected", approvedFen: "1" });
        await h.refuses(ACTORS.approverC, "decision", body, "rejection-approves-nothing", "invalid");
      });
    });

    describe("against a programme budget of 1000 fen with 600 already approved", () => {
      let small: string;
      let second: string;
      beforeEach(async () => {
        small = await h.programme({ budgetFen: "1000" });
        const first = await h.application(small, { requestedFen: "600" });
        await h.decision(first, { approvedFen: "600" });
        second = await h.application(small, { requestedFen: "900", creditCode: creditCode(2) });
      });

      it("accepts approving 400, exactly the budget", async () => {
        await h.decision(second, { approvedFen: "400" });
        expect((await h.state(small, "programme")).approvedFen).to.equal("1000");
      });

      it("refuses approving 401, one fen over, by budget-not-exceeded (409), and the total stays 600", async () => {
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(second, { approvedFen: "401" }), "budget-not-exceeded", "conflict");
        expect((await h.state(small, "programme")).approvedFen).to.equal("600");
        expect((await h.state(second, "application")).decisionId).to.equal(null);
      });
    });

    describe("after the application's earlier decision was revoked", () => {
      it("frees that decision's budget and lets the application be decided again", async () => {
        const small = await h.programme({ budgetFen: "1000" });
        const first = await h.application(small, { requestedFen: "1000" });
        const other = await h.application(small, { requestedFen: "1000", creditCode: creditCode(2) });
        const d1 = await h.decision(first, { approvedFen: "1000" });
        await h.refuses(ACTORS.approverC, "decision", decisionRequest(other, { approvedFen: "1" }), "budget-not-exceeded", "conflict");

        await h.correction(d1, "revoked");
        expect((await h.state(small, "programme")).approvedFen).to.equal("0");
        expect((await h.state(small, "programme")).byRegion["urban-district"].approvedFen).to.equal("0");
        expect((await h.state(first, "application")).decisionId).to.equal(null);

        await h.decision(other, { approvedFen: "700" });
        const d2 = await h.decision(first, { approvedFen: "300" }, ACTORS.approverD);
        const app = await h.state(first, "application");
        expect(app.decisionId).to.equal(d2);
        expect(app.decisions).to.deep.equal([d1, d2]);
        expect((await h.state(small, "programme")).approvedFen).to.equal("1000");
      });
    });
  });

  describe("a payout", () => {
    let programmeId: string;
    let decisionId: string;
    beforeEach(async () => {
      // Four-eyes from 10 000 yuan; 30 000 yuan approved.
      ({ programmeId, decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "1000000" } }));
    });

    describe("under a decision approving less than the four-eyes threshold", () => {
      it("is effective at once: paid totals of decision, programme and region grow", async () => {
        ({ programmeId, decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "3000001" } }));
        const a = await h.submit(ACTORS.payerE, "payout", payoutRequest(decisionId, { amountFen: "999999" }));
        expect(a.body.entry.body["needsConfirmation"]).to.equal(false);
        const dec = await h.state(decisionId, "decision");
        expect(dec).to.include({ committedFen: "999999", paidFen: "999999" });
        const prg = await h.state(programmeId, "programme");
        expect(prg.paidFen).to.equal("999999");
        expect(prg.byRegion["urban-district"].paidFen).to.equal("999999");
      });
    });

    describe("under a decision approving exactly the four-eyes threshold, however small the payout", () => {
      it("awaits confirmation: committed grows, paid totals do not", async () => {
        ({ programmeId, decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "3000000" } }));
        const a = await h.submit(ACTORS.payerE, "payout", payoutRequest(decisionId, { amountFen: "1" }));
        expect(a.body.entry.body["needsConfirmation"]).to.equal(true);
        expect(await h.state(a.body.id, "payout")).to.include({ needsConfirmation: true, confirmationId: null });
        expect(await h.state(decisionId, "decision")).to.include({ committedFen: "1", paidFen: "0" });
        const prg = await h.state(programmeId, "programme");
        expect(prg.paidFen).to.equal("0");
        expect(prg.byRegion["urban-district"].paidFen).to.equal("0");
      });
    });

    describe("whose cumulative total reaches exactly the approved amount", () => {
      it("is recorded", async () => {
        await h.payout(decisionId, { amountFen: "999999" });
        await h.payout(decisionId, { amountFen: "999999" });
        await h.payout(decisionId, { amountFen: "1000002" });
        expect(await h.state(decisionId, "decision")).to.include({ committedFen: "3000000" });
      });
    });

    describe("whose cumulative total would pass the approved amount by one fen", () => {
      it("is refused by payout-within-approved (a conflict)", async () => {
        await h.payout(decisionId, { amountFen: "999999" });
        await h.payout(decisionId, { amountFen: "999999" });
        await h.refuses(ACTORS.payerF, "payout", payoutRequest(decisionId, { amountFen: "1000003" }), "payout-within-approved", "conflict");
      });

      it("is refused counting payouts still awaiting confirmation", async () => {
        await h.payout(decisionId, { amountFen: "2000000" });
        expect((await h.state(decisionId, "decision")).paidFen).to.equal("0");
        await h.refuses(ACTORS.payerF, "payout", payoutRequest(decisionId, { amountFen: "1000001" }), "payout-within-approved", "conflict");
      });
    });

    describe("of zero fen", () => {
      it("is refused by amount-positive (invalid)", async () => {
        await h.refuses(ACTORS.payerE, "payout", payoutRequest(decisionId, { amountFen: "0" }), "amount-positive", "invalid");
      });
    });

    describe("on a rejected decision", () => {
      it("is refused by decision-approved (a conflict)", async () => {
        const app = await h.application(programmeId, { creditCode: creditCode(3) });
        const rejected = await h.decision(app, { outcome: "rejected", approvedFen: "0" });
        await h.refuses(ACTORS.payerE, "payout", payoutRequest(rejected), "decision-approved", "conflict");
      });
    });

    describe("on a revoked decision", () => {
      it("is refused by entry-revoked (a conflict)", async () => {
        await h.correction(decisionId, "revoked");
        await h.refuses(ACTORS.payerE, "payout", payoutRequest(decisionId), "entry-revoked", "conflict");
      });
    });

    describe("on a decision that does not exist", () => {
      it("is refused by reference-exists (invalid)", async () => {
        await h.refuses(ACTORS.payerE, "payout", payoutRequest(MISSING.dec), "reference-exists", "invalid");
      });
    });

    describe("whose decisionId names a programme", () => {
      it("is refused by reference-kind (invalid)", async () => {
        await h.refuses(ACTORS.payerE, "payout", payoutRequest(programmeId), "reference-kind", "invalid");
      });
    });

    describe("dated today in China", () => {
      it("is recorded", async () => {
        await h.payout(decisionId, { paidOn: "2026-03-10" });
      });

      it("is recorded for 11 March from 2026-03-10T16:00:00Z on", async () => {
        h.clock.set("2026-03-10T16:00:00Z");
        await h.payout(decisionId, { paidOn: "2026-03-11" });
      });
    });

    describe("dated tomorrow in China", () => {
      it("is refused by payout-date-not-future (invalid)", async () => {
        h.clock.set("2026-03-10T15:59:59Z");
        await h.refuses(ACTORS.payerE, "payout", payoutRequest(decisionId, { paidOn: "2026-03-11" }), "payout-date-not-future", "invalid");
      });
    });

    describe("with a bank transaction reference", () => {
      it("commits the reference and keeps it and its salt out of the log", async () => {
        const a = await h.submit(ACTORS.payerE, "payout", payoutRequest(decisionId));
        const text = utf8.decode((await h.store.leaf(a.body.leafIndex))!.bytes);
        const opening = (await h.store.openings(a.body.id))?.["bankTransactionRef"];
        expect(opening?.value).to.equal(PAYOUT_REF);
        expect(text).to.not.include(PAYOUT_REF);
        expect(text).to.not.include(opening!.salt);
        expect(opens(a.body.entry.commitments!["bankTransactionRef"]!, opening!)).to.equal(true);
      });
    });
  });

  describe("a confirmation", () => {
    let programmeId: string;
    let decisionId: string;
    let pending: string;
    beforeEach(async () => {
      ({ programmeId, decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "1000000" } }));
      pending = await h.payout(decisionId, { amountFen: "1500000" }, ACTORS.payerE);
    });

    describe("by a second official", () => {
      it("makes the payout effective: paid totals update only now", async () => {
        expect((await h.state(decisionId, "decision")).paidFen).to.equal("0");
        const cnf = await h.confirmation(pending, ACTORS.approverD);
        expect((await h.state(pending, "payout")).confirmationId).to.equal(cnf);
        expect(await h.state(decisionId, "decision")).to.include({ committedFen: "1500000", paidFen: "1500000" });
        const prg = await h.state(programmeId, "programme");
        expect(prg.paidFen).to.equal("1500000");
        expect(prg.byRegion["urban-district"].paidFen).to.equal("1500000");
      });

      it("may come from the approver who made the decision", async () => {
        await h.confirmation(pending, ACTORS.approverC);
      });
    });

    describe("by the official who recorded the payout", () => {
      it("is refused by confirmer-not-recorder (invalid), and the payout stays unpaid", async () => {
        await h.refuses(ACTORS.approverE, "confirmation", confirmationRequest(pending), "confirmer-not-recorder", "invalid");
        expect((await h.state(decisionId, "decision")).paidFen).to.equal("0");
      });
    });

    describe("of a payout already confirmed", () => {
      it("is refused by payout-needs-confirmation (a conflict)", async () => {
        await h.confirmation(pending, ACTORS.approverD);
        await h.refuses(ACTORS.approverC, "confirmation", confirmationRequest(pending), "payout-needs-confirmation", "conflict");
      });
    });

    describe("of a payout under a decision below the threshold", () => {
      it("is refused by payout-needs-confirmation (a conflict)", async () => {
        const app = await h.application(programmeId, { creditCode: creditCode(4) });
        const below = await h.decision(app, { approvedFen: "999999" });
        const small = await h.payout(below, { amountFen: "999999" });
        await h.refuses(ACTORS.approverD, "confirmation", confirmationRequest(small), "payout-needs-confirmation", "conflict");
      });
    });

    describe("of a revoked payout", () => {
      it("is refused by entry-revoked (a conflict)", async () => {
        await h.correction(pending, "revoked");
        await h.refuses(ACTORS.approverD, "confirmation", confirmationRequest(pending), "entry-revoked", "conflict");
      });
    });

    describe("whose payoutId names a decision", () => {
      it("is refused by reference-kind (invalid)", async () => {
        await h.refuses(ACTORS.approverD, "confirmation", confirmationRequest(decisionId), "reference-kind", "invalid");
      });
    });
  });

  describe("a correction", () => {
    // One of each kind: programme (four-eyes from 10 000 yuan), application,
    // approved decision (30 000 yuan, so every payout needs confirmation), a
    // payout confirmed at once, a second confirmed payout, a correction.
    let ids: { programme: string; application: string; decision: string; payout: string; confirmed: string; confirmation: string; correction: string };
    beforeEach(async () => {
      const { programmeId, applicationId, decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "1000000" } });
      const payout = await h.payout(decisionId, { amountFen: "500000" });
      await h.confirmation(payout);
      const confirmed = await h.payout(decisionId, { amountFen: "1000000" }, ACTORS.payerF);
      const confirmation = await h.confirmation(confirmed);
      const correction = await h.correction(decisionId, "data-entry-error", { replacement: { reason: "符合申报条件（更正）" } });
      ids = { programme: programmeId, application: applicationId, decision: decisionId, payout, confirmed, confirmation, correction };
    });

    describe("of an entry that does not exist", () => {
      it("is refused by reference-exists (invalid)", async () => {
        await h.refuses(ACTORS.approverD, "correction", correctionRequest(MISSING.app, "revoked"), "reference-exists", "invalid");
      });
    });

    describe("replacing values", () => {
      const allowed: [keyof typeof ids, Record<string, unknown>][] = [
        ["programme", { name: "中小企业数字化转型专项补贴" }],
        ["programme", { agency: "市经济和信息化局" }],
        ["programme", { policyDocument: { sha256: "cd".repeat(32), url: "https://www.gov.cn/zhengce/content/2026-02/01/content_0000002.htm" } }],
        ["application", { enterpriseName: "北京示例信息科技有限公司" }],
        ["application", { region: REGIONS.countyCity }],
        ["application", { private: { contactPerson: "联系人乙" } }],
        ["application", { private: { phone: "010-6512 3456" } }],
        ["application", { private: { bankAccount: "6228480000111122" } }],
        ["decision", { reason: "经复审符合条件" }],
        ["payout", { paidOn: "2026-03-08" }],
        ["payout", { private: { bankTransactionRef: "ICBC-TXN-CORRECTED" } }],
      ];
      for (const [kind, replacement] of allowed)
        describe(`of ${fieldsLabel(kind, replacement)}`, () => {
          it("is recorded, for data-entry-error and for superseded", async () => {
            await h.correction(ids[kind], "data-entry-error", { replacement });
            await h.correction(ids[kind], "superseded", { replacement }, ACTORS.approverC);
          });
        });

      const refused: [keyof typeof ids, Record<string, unknown>][] = [
        ["programme", { region: REGIONS.rural }],
        ["programme", { reason: "x" }],
        ["application", { reason: "x" }],
        ["application", { name: "x" }],
        ["application", { paidOn: "2026-03-08" }],
        ["application", { private: { bankTransactionRef: "x" } }],
        ["decision", { enterpriseName: "x" }],
        ["decision", { private: { phone: "010-6512 3456" } }],
        ["payout", { region: REGIONS.rural }],
        ["payout", { private: { bankAccount: "6228480000111122" } }],
        ["confirmation", { reason: "x" }],
        ["correction", { reason: "x" }],
      ];
      for (const [kind, replacement] of refused)
        describe(`of ${fieldsLabel(kind, replacement)}`, () => {
          it("is refused by correction-fields (invalid)", async () => {
            await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids[kind], "data-entry-error", { replacement }), "correction-fields", "invalid");
          });
        });

      describe("that change nothing: an empty private object", () => {
        // The schema refuses it before the ledger sees it (the HTTP layer answers 400),
        // alone or next to a real change, so no `"commitments": {}` reaches the log.
        for (const replacement of [{ private: {} }, { enterpriseName: "北京示例信息科技有限公司", private: {} }])
          it(`is refused by the schema: ${JSON.stringify(replacement)}`, async () => {
            const before = await h.snapshot();
            const body = correctionRequest(ids.application, "data-entry-error", { replacement });
            const e = await rejection(h.submit(ACTORS.approverD, "correction", body));
            expect(e).to.be.instanceOf(InvalidRequestBody);
            expect(String(e)).to.include("private replacement must change at least one field");
            expect(await h.snapshot(), "nothing appended").to.deep.equal(before);
          });
      });

      describe("of an application's enterpriseName, in the derived state", () => {
        it("changes the derived state and records the correction on the application", async () => {
          const cor = await h.correction(ids.application, "data-entry-error", { replacement: { enterpriseName: "北京示例信息科技有限公司" } });
          const app = await h.state(ids.application, "application");
          expect(app.enterpriseName).to.equal("北京示例信息科技有限公司");
          expect(app.corrections).to.deep.equal([cor]);
        });
      });

      describe("of a payout's date in the future", () => {
        it("is refused by payout-date-not-future (invalid)", async () => {
          const body = correctionRequest(ids.payout, "data-entry-error", { replacement: { paidOn: "2026-03-11" } });
          await h.refuses(ACTORS.approverD, "correction", body, "payout-date-not-future", "invalid");
        });
      });

      describe("of a revoked entry", () => {
        it("is refused by entry-revoked (a conflict)", async () => {
          const app = await h.application(ids.programme, { creditCode: creditCode(5) });
          await h.correction(app, "revoked");
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(app, "superseded", { replacement: { enterpriseName: "x" } }), "entry-revoked", "conflict");
        });
      });

      describe("of private values", () => {
        it("commits the new values in the correction entry and keeps them and their salts out of the log", async () => {
          const replacement = { enterpriseName: "北京示例信息科技有限公司", private: { bankAccount: "6228480000111122", phone: "010-6512 3456" } };
          const a = await h.submit(ACTORS.approverD, "correction", correctionRequest(ids.application, "data-entry-error", { replacement }));
          const text = utf8.decode((await h.store.leaf(a.body.leafIndex))!.bytes);
          expect(a.body.entry.body["replacement"]).to.deep.equal({ enterpriseName: "北京示例信息科技有限公司" });
          const openings = (await h.store.openings(a.body.id)) ?? {};
          expect(Object.keys(openings).sort()).to.deep.equal(["bankAccount", "phone"]);
          for (const [field, o] of Object.entries<Opening>(openings)) {
            expect(text).to.not.include(o.value);
            expect(text).to.not.include(o.salt);
            expect(opens(a.body.entry.commitments![field]!, o), field).to.equal(true);
          }
        });
      });
    });

    describe("with reason data-entry-error but no replacement", () => {
      it("is refused by correction-fields (invalid)", async () => {
        await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.application, "data-entry-error"), "correction-fields", "invalid");
      });
    });

    describe("with reason superseded but no replacement", () => {
      it("is refused by correction-fields (invalid)", async () => {
        await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.decision, "superseded"), "correction-fields", "invalid");
      });
    });

    describe("revoking, with replacement values", () => {
      it("is refused by correction-fields (invalid)", async () => {
        const body = correctionRequest(ids.payout, "revoked", { replacement: { paidOn: "2026-03-08" } });
        await h.refuses(ACTORS.approverD, "correction", body, "correction-fields", "invalid");
      });
    });

    describe("with clawbackFen but another reason", () => {
      it("is refused by correction-fields (invalid)", async () => {
        const body = correctionRequest(ids.decision, "superseded", { replacement: { reason: "x" }, clawbackFen: "1" });
        await h.refuses(ACTORS.approverD, "correction", body, "correction-fields", "invalid");
      });
    });

    describe("clawing back", () => {
      describe("without clawbackFen", () => {
        it("is refused by correction-fields (invalid)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.payout, "clawback"), "correction-fields", "invalid");
        });
      });

      describe("the whole of an effective payout", () => {
        it("is recorded, and takes the amount off committed and paid totals", async () => {
          await h.correction(ids.payout, "clawback", { clawbackFen: "500000" });
          expect(await h.state(ids.payout, "payout")).to.include({ clawedBackFen: "500000" });
          expect(await h.state(ids.decision, "decision")).to.include({ committedFen: "1000000", paidFen: "1000000" });
          const prg = await h.state(ids.programme, "programme");
          expect(prg.paidFen).to.equal("1000000");
          expect(prg.byRegion["urban-district"].paidFen).to.equal("1000000");
        });
      });

      describe("of a confirmed payout, in two parts", () => {
        it("accepts up to what is left and refuses one fen more by clawback-within-paid (409)", async () => {
          await h.correction(ids.confirmed, "clawback", { clawbackFen: "600000" });
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.confirmed, "clawback", { clawbackFen: "400001" }), "clawback-within-paid", "conflict");
          await h.correction(ids.confirmed, "clawback", { clawbackFen: "400000" });
          expect(await h.state(ids.decision, "decision")).to.include({ committedFen: "500000", paidFen: "500000" });
        });
      });

      describe("more than was paid", () => {
        it("is refused by clawback-within-paid (a conflict)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.payout, "clawback", { clawbackFen: "500001" }), "clawback-within-paid", "conflict");
        });
      });

      describe("a payout still awaiting confirmation", () => {
        it("is refused by clawback-within-paid (a conflict): nothing has been paid yet", async () => {
          const pending = await h.payout(ids.decision, { amountFen: "1000000" });
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(pending, "clawback", { clawbackFen: "1" }), "clawback-within-paid", "conflict");
        });
      });

      describe("zero fen", () => {
        it("is refused by amount-positive (invalid)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.payout, "clawback", { clawbackFen: "0" }), "amount-positive", "invalid");
        });
      });

      describe("from a decision", () => {
        it("is refused by reference-kind (invalid)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.decision, "clawback", { clawbackFen: "1" }), "reference-kind", "invalid");
        });
      });

      describe("and paying again", () => {
        it("lets the decision pay out what was clawed back", async () => {
          await h.refuses(ACTORS.payerE, "payout", payoutRequest(ids.decision, { amountFen: "1500001" }), "payout-within-approved", "conflict");
          await h.correction(ids.payout, "clawback", { clawbackFen: "1" });
          await h.payout(ids.decision, { amountFen: "1500001" });
          expect((await h.state(ids.decision, "decision")).committedFen).to.equal("3000000");
        });
      });
    });

    describe("revoking", () => {
      describe("a payout with money still paid out", () => {
        it("is refused by revocation-allowed (a conflict)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.payout, "revoked"), "revocation-allowed", "conflict");
        });
      });

      describe("a payout clawed back in full", () => {
        it("is recorded and leaves the decision's totals as the clawback left them", async () => {
          await h.correction(ids.payout, "clawback", { clawbackFen: "500000" });
          await h.correction(ids.payout, "revoked");
          expect((await h.state(ids.payout, "payout")).revoked).to.equal(true);
          expect(await h.state(ids.decision, "decision")).to.include({ committedFen: "1000000", paidFen: "1000000" });
        });
      });

      describe("a payout awaiting confirmation", () => {
        it("is recorded and frees its amount from the decision's committed total", async () => {
          const pending = await h.payout(ids.decision, { amountFen: "1500000" });
          expect((await h.state(ids.decision, "decision")).committedFen).to.equal("3000000");
          await h.correction(pending, "revoked");
          expect(await h.state(ids.decision, "decision")).to.include({ committedFen: "1500000", paidFen: "1500000" });
        });
      });

      describe("a decision with payouts", () => {
        it("is refused by revocation-allowed (a conflict)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.decision, "revoked"), "revocation-allowed", "conflict");
        });
      });

      describe("a decision whose payouts were all clawed back and revoked", () => {
        it("is recorded and takes its approval off the programme and region totals", async () => {
          for (const [pay, fen] of [[ids.payout, "500000"], [ids.confirmed, "1000000"]] as const) {
            await h.correction(pay, "clawback", { clawbackFen: fen });
            await h.correction(pay, "revoked");
          }
          await h.correction(ids.decision, "revoked");
          const prg = await h.state(ids.programme, "programme");
          expect(prg).to.include({ approvedFen: "0", paidFen: "0" });
          expect(prg.byRegion["urban-district"]).to.deep.equal({ applications: 1, approvedFen: "0", paidFen: "0" });
        });
      });

      describe("an application with a decision", () => {
        it("is refused by revocation-allowed (a conflict)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.application, "revoked"), "revocation-allowed", "conflict");
        });
      });

      describe("an application without a decision", () => {
        it("is recorded and no longer counted", async () => {
          const app = await h.application(ids.programme, { creditCode: creditCode(7), region: REGIONS.rural });
          expect((await h.state(ids.programme, "programme")).applications).to.equal(2);
          await h.correction(app, "revoked");
          const prg = await h.state(ids.programme, "programme");
          expect(prg.applications).to.equal(1);
          expect(prg.byRegion["rural-county"].applications).to.equal(0);
        });
      });

      describe("an application whose decision was revoked", () => {
        it("is recorded", async () => {
          const app = await h.application(ids.programme, { creditCode: creditCode(8) });
          const dec = await h.decision(app, { outcome: "rejected", approvedFen: "0" });
          await h.correction(dec, "revoked");
          await h.correction(app, "revoked");
        });
      });

      describe("a programme with live applications", () => {
        it("is refused by revocation-allowed (a conflict)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.programme, "revoked"), "revocation-allowed", "conflict");
        });
      });

      describe("a programme whose applications were all revoked", () => {
        it("is recorded", async () => {
          const prg = await h.programme();
          const app = await h.application(prg);
          await h.correction(app, "revoked");
          await h.correction(prg, "revoked");
          expect((await h.state(prg, "programme")).revoked).to.equal(true);
        });
      });

      describe("a confirmation", () => {
        it("is refused by revocation-allowed (invalid)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.confirmation, "revoked"), "revocation-allowed", "invalid");
        });
      });

      describe("a correction", () => {
        it("is refused by revocation-allowed (invalid)", async () => {
          await h.refuses(ACTORS.approverD, "correction", correctionRequest(ids.correction, "revoked"), "revocation-allowed", "invalid");
        });
      });

      describe("an entry already revoked", () => {
        it("is refused by entry-revoked (a conflict)", async () => {
          const app = await h.application(ids.programme, { creditCode: creditCode(9) });
          await h.correction(app, "revoked");
          await h.refuses(ACTORS.approverC, "correction", correctionRequest(app, "revoked"), "entry-revoked", "conflict");
        });
      });
    });

    describe("moving an application to another region", () => {
      it("moves its count, approved and paid amounts between the region tallies", async () => {
        const before = await h.state(ids.programme, "programme");
        expect(before.byRegion["urban-district"]).to.deep.equal({ applications: 1, approvedFen: "3000000", paidFen: "1500000" });
        await h.correction(ids.application, "data-entry-error", { replacement: { region: REGIONS.rural } });
        const after = await h.state(ids.programme, "programme");
        expect(after.byRegion["urban-district"]).to.deep.equal({ applications: 0, approvedFen: "0", paidFen: "0" });
        expect(after.byRegion["rural-county"]).to.deep.equal({ applications: 1, approvedFen: "3000000", paidFen: "1500000" });
        expect(after.byRegion["county-level-city"]).to.deep.equal({ applications: 0, approvedFen: "0", paidFen: "0" });
        expect({ approvedFen: after.approvedFen, paidFen: after.paidFen }).to.deep.equal({ approvedFen: "3000000", paidFen: "1500000" });
      });

      it("books later payouts and clawbacks to the new region", async () => {
        await h.correction(ids.application, "data-entry-error", { replacement: { region: REGIONS.countyCity } });
        await h.confirmation(await h.payout(ids.decision, { amountFen: "100000" }));
        await h.correction(ids.payout, "clawback", { clawbackFen: "200000" });
        const prg = await h.state(ids.programme, "programme");
        expect(prg.byRegion["county-level-city"].paidFen).to.equal("1400000");
        expect(prg.byRegion["urban-district"].paidFen).to.equal("0");
      });
    });
  });

  describe("the ledger's money invariants", () => {
    it("hold after any sequence of commands, submitted in concurrent groups", async function () {
      this.timeout(600_000);
      const totals = { accepted: 0, refused: 0, payouts: 0, confirmations: 0, clawbacks: 0, revocations: 0, decisions: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(actionArb, { minLength: 1, maxLength: 4 }), { minLength: 6, maxLength: 24, size: "max" }), async (groups) => {
          const w = await InvariantWorld.open();
          for (const group of groups) await w.run(group, totals);
          await w.checkInvariants();
        }),
        fcParams({ scale: 0.2 }),
      );
      // The generator must reach the interesting rules, or the property says little.
      expect(totals.decisions, JSON.stringify(totals)).to.be.above(0);
      expect(totals.payouts, JSON.stringify(totals)).to.be.above(0);
      expect(totals.confirmations, JSON.stringify(totals)).to.be.above(0);
      expect(totals.clawbacks, JSON.stringify(totals)).to.be.above(0);
      expect(totals.revocations, JSON.stringify(totals)).to.be.above(0);
      expect(totals.refused, JSON.stringify(totals)).to.be.above(0);
    });
  });
});

// ---------------------------------------------------------------- the property's world

/**
 * One step of a random history. Indexes pick among the ids accepted so far
 * (modulo their number). Amounts are percentages of the referenced entry's
 * amount (read from its state), so most commands are plausible while some
 * still overshoot: 0 % and over 100 % reach the refusing side of the rules.
 */
type Action =
  | { t: "application"; programme: number; requested: number; region: number; clerk: number }
  | { t: "decision"; application: number; approve: boolean; pct: number; approver: number }
  | { t: "payout"; decision: number; pct: number; payer: number }
  | { t: "confirmation"; payout: number; approver: number }
  | { t: "clawback"; payout: number; pct: number }
  | { t: "revoke"; kind: "programme" | "application" | "decision" | "payout"; i: number }
  | { t: "region"; application: number; region: number };

const ix = fc.nat({ max: 50 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("application" as const), programme: fc.nat({ max: 1 }), requested: fc.integer({ min: 1, max: 800 }), region: fc.nat({ max: 2 }), clerk: fc.nat({ max: 1 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("decision" as const), application: ix, approve: fc.constantFrom(true, true, true, false), pct: fc.integer({ min: 0, max: 110 }), approver: fc.constantFrom(0, 0, 1, 1, 2) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("payout" as const), decision: ix, pct: fc.integer({ min: 1, max: 110 }), payer: fc.nat({ max: 1 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("confirmation" as const), payout: ix, approver: fc.nat({ max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("clawback" as const), payout: ix, pct: fc.integer({ min: 1, max: 110 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("revoke" as const), kind: fc.constantFrom("programme" as const, "application" as const, "decision" as const, "payout" as const), i: ix }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("region" as const), application: ix, region: fc.nat({ max: 2 }) }) },
);

const KIND_COUNTERS: Readonly<Record<string, string>> = { decision: "decisions", payout: "payouts", confirmation: "confirmations" };

const REGION_LIST = [REGIONS.urban, REGIONS.rural, REGIONS.countyCity] as const;
const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);
/** pct % of a fen amount, rounded down, at least 1 unless pct is 0. */
const percentOf = (fen: string, pct: number): string => {
  const v = (BigInt(fen) * BigInt(pct)) / 100n;
  return String(pct > 0 && v === 0n ? 1n : v);
};

type Actor = (typeof ACTORS)[keyof typeof ACTORS];
type Request = { actor: Actor; kind: "application" | "decision" | "payout" | "confirmation" | "correction"; body: Record<string, unknown> };

/**
 * Two programmes (budgets 1000 and 700 fen; four-eyes from 150 fen and from
 * 0 fen, so every payout of the second needs confirmation), three pending
 * applications, and lists of the ids accepted so far, which later actions
 * pick from.
 */
class InvariantWorld {
  private readonly ids = { programme: [] as string[], application: [] as string[], decision: [] as string[], payout: [] as string[] };
  private credit = 0;

  private constructor(private readonly h: Harness) {}

  static async open(): Promise<InvariantWorld> {
    const w = new InvariantWorld(await Harness.open());
    w.ids.programme.push(await w.h.programme({ budgetFen: "1000", fourEyesThresholdFen: "150" }));
    w.ids.programme.push(await w.h.programme({ budgetFen: "700", fourEyesThresholdFen: "0" }));
    // A few pending applications, so that decisions have something to refer to from the first step.
    for (const [i, region] of REGION_LIST.entries()) {
      w.credit += 1;
      const body = { requestedFen: String(300 + 100 * i), region, creditCode: creditCode(w.credit) };
      w.ids.application.push(await w.h.application(w.ids.programme[i % 2]!, body, i % 2 === 0 ? ACTORS.clerkA : ACTORS.clerkB));
    }
    return w;
  }

  /** The request an action stands for, or undefined when it has nothing to refer to yet. */
  private async request(a: Action): Promise<Request | undefined> {
    const h = this.h;
    switch (a.t) {
      case "application": {
        this.credit += 1;
        const programmeId = pick(this.ids.programme, a.programme)!;
        const body = applicationRequest(programmeId, { requestedFen: String(a.requested), region: REGION_LIST[a.region]!, creditCode: creditCode(this.credit) });
        return { actor: a.clerk === 0 ? ACTORS.clerkA : ACTORS.clerkB, kind: "application", body };
      }
      case "decision": {
        const app = pick(this.ids.application, a.application);
        if (app === undefined) return undefined;
        const requested = (await h.state(app, "application")).requestedFen;
        const body = decisionRequest(app, a.approve ? { approvedFen: percentOf(requested, a.pct) } : { outcome: "rejected", approvedFen: "0" });
        return { actor: [ACTORS.approverC, ACTORS.approverD, ACTORS.approverA][a.approver]!, kind: "decision", body };
      }
      case "payout": {
        const dec = pick(this.ids.decision, a.decision);
        if (dec === undefined) return undefined;
        const approved = (await h.state(dec, "decision")).approvedFen;
        return { actor: a.payer === 0 ? ACTORS.payerE : ACTORS.payerF, kind: "payout", body: payoutRequest(dec, { amountFen: percentOf(approved === "0" ? "100" : approved, a.pct) }) };
      }
      case "confirmation": {
        const pay = pick(this.ids.payout, a.payout);
        if (pay === undefined) return undefined;
        return { actor: [ACTORS.approverC, ACTORS.approverD, ACTORS.approverE][a.approver]!, kind: "confirmation", body: confirmationRequest(pay) };
      }
      case "clawback": {
        const pay = pick(this.ids.payout, a.payout);
        if (pay === undefined) return undefined;
        const amount = (await h.state(pay, "payout")).amountFen;
        return { actor: ACTORS.approverD, kind: "correction", body: correctionRequest(pay, "clawback", { clawbackFen: percentOf(amount, a.pct) }) };
      }
      case "revoke": {
        const target = pick(this.ids[a.kind], a.i);
        if (target === undefined) return undefined;
        return { actor: ACTORS.approverC, kind: "correction", body: correctionRequest(target, "revoked") };
      }
      case "region": {
        const app = pick(this.ids.application, a.application);
        if (app === undefined) return undefined;
        return { actor: ACTORS.approverC, kind: "correction", body: correctionRequest(app, "data-entry-error", { replacement: { region: REGION_LIST[a.region]! } }) };
      }
    }
  }

  /** Submits a group concurrently; every outcome must be an acceptance or a RuleViolation. */
  async run(group: readonly Action[], totals: Record<string, number>): Promise<void> {
    const requests: { a: Action; r: Request | undefined }[] = [];
    for (const a of group) requests.push({ a, r: await this.request(a) });
    const results = await Promise.allSettled(requests.map(({ r }) => (r === undefined ? Promise.resolve(undefined) : this.h.submit(r.actor, r.kind, r.body))));
    results.forEach((res, i) => {
      const { a } = requests[i]!;
      if (res.status === "rejected") {
        if (!(res.reason instanceof RuleViolation)) throw res.reason;
        totals["refused"]! += 1;
        return;
      }
      if (res.value === undefined) return;
      totals["accepted"]! += 1;
      const { id, kind } = res.value.body;
      if (kind === "application" || kind === "decision" || kind === "payout") this.ids[kind].push(id);
      const counter = KIND_COUNTERS[kind];
      if (counter !== undefined) totals[counter]! += 1;
      if (a.t === "clawback") totals["clawbacks"]! += 1;
      if (a.t === "revoke") totals["revocations"]! += 1;
    });
  }

  /** Recomputes every total from the entries' own state and compares. */
  async checkInvariants(): Promise<void> {
    const h = this.h;
    const big = (s: string) => BigInt(s);
    const decisions = await Promise.all(this.ids.decision.map((id) => h.state(id, "decision")));
    const payouts = await Promise.all(this.ids.payout.map((id) => h.state(id, "payout")));
    const applications = await Promise.all(this.ids.application.map((id) => h.state(id, "application")));

    for (const d of decisions) {
      const msg = JSON.stringify(d);
      // The stated invariants: paid ≤ committed ≤ approved.
      expect(big(d.paidFen) <= big(d.committedFen), `paid ≤ committed: ${msg}`).to.equal(true);
      expect(big(d.committedFen) <= big(d.approvedFen), `committed ≤ approved: ${msg}`).to.equal(true);
      expect(big(d.paidFen) <= big(d.approvedFen), `paid ≤ approved: ${msg}`).to.equal(true);
      // And the totals agree with the decision's payouts.
      const mine = payouts.filter((p) => p.decisionId === d.id && !p.revoked);
      const outstanding = (p: PayoutState) => big(p.amountFen) - big(p.clawedBackFen);
      const effective = (p: PayoutState) => !p.needsConfirmation || p.confirmationId !== null;
      expect(big(d.committedFen), `committed = Σ live payouts: ${msg}`).to.equal(mine.reduce((s, p) => s + outstanding(p), 0n));
      expect(big(d.paidFen), `paid = Σ effective payouts: ${msg}`).to.equal(mine.filter(effective).reduce((s, p) => s + outstanding(p), 0n));
      if (d.revoked) expect(d.committedFen, `revoked decision owes nothing: ${msg}`).to.equal("0");
    }
    for (const p of payouts) {
      expect(big(p.clawedBackFen) <= big(p.amountFen), JSON.stringify(p)).to.equal(true);
      if (p.needsConfirmation && p.confirmationId === null) expect(p.clawedBackFen, JSON.stringify(p)).to.equal("0");
    }

    for (const id of this.ids.programme) {
      const prg = await h.state(id, "programme");
      const msg = JSON.stringify(prg);
      expect(big(prg.approvedFen) <= big(prg.budgetFen), `approved ≤ budget: ${msg}`).to.equal(true);
      const live = (d: DecisionState) => d.programmeId === id && !d.revoked && d.outcome === "approved";
      expect(big(prg.approvedFen), `approved = Σ live approvals: ${msg}`).to.equal(decisions.filter(live).reduce((s, d) => s + big(d.approvedFen), 0n));
      expect(big(prg.paidFen), `paid = Σ decisions' paid: ${msg}`).to.equal(decisions.filter((d) => d.programmeId === id).reduce((s, d) => s + big(d.paidFen), 0n));

      // Region tallies, recomputed from each live application's current region and decision.
      const expected = Object.fromEntries(REGION_TYPES.map((r) => [r, { applications: 0, approvedFen: 0n, paidFen: 0n }])) as Record<RegionType, { applications: number; approvedFen: bigint; paidFen: bigint }>;
      for (const app of applications.filter((a) => a.programmeId === id && !a.revoked)) {
        const tally = expected[regionType(app.region)];
        tally.applications += 1;
        const dec = decisions.find((d) => d.id === app.decisionId);
        if (dec !== undefined && dec.outcome === "approved") tally.approvedFen += big(dec.approvedFen);
        if (dec !== undefined) tally.paidFen += big(dec.paidFen);
      }
      expect(prg.applications, msg).to.equal(applications.filter((a) => a.programmeId === id && !a.revoked).length);
      for (const r of REGION_TYPES) {
        const t = prg.byRegion[r];
        expect({ applications: t.applications, approvedFen: big(t.approvedFen), paidFen: big(t.paidFen) }, `${r}: ${msg}`).to.deep.equal(expected[r]);
      }
    }

    // The log: as many leaves as the ledger's size, and its root is the root of those leaves.
    const leaves = await h.store.leaves(0, h.ledger.size);
    expect(leaves.length).to.equal(h.ledger.size);
    expect(new MemoryTree(leaves.map((l) => hashLeaf(l.bytes))).root()).to.deep.equal(h.ledger.root());
    // And a ledger reopened over the store agrees.
    const reopened = await Ledger.open({ store: h.store });
    expect(reopened.root()).to.deep.equal(h.ledger.root());
  }
}
