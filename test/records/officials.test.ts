/**
 * Officials are one person per canonical id (service/format/officials.ts):
 * ids differing only in case, width or Unicode composition are the same
 * official for every separation-of-duty rule, and entries record the
 * canonical id with the display name beside it.
 */
import { expect } from "chai";
import { officialId, sameOfficial } from "../../service/format/officials";
import type { Actor } from "../../service/records/entry";
import { checkEntries } from "../../scripts/lib/audit";
import { applicationRequest, confirmationRequest, decisionRequest, Harness, payoutRequest } from "../helpers/ledger-fixtures";

describe("Official ids", () => {
  describe("the canonical form", () => {
    it("folds case: Dual-1 and dual-1 are one official", () => {
      expect(officialId("Dual-1")).to.equal("dual-1");
      expect(sameOfficial("Dual-1", "dual-1")).to.equal(true);
      expect(sameOfficial("DUAL-1", "dual-1")).to.equal(true);
    });

    it("folds full-width forms, composition, ß and final sigma", () => {
      expect(officialId("Ｄｕａｌ－１")).to.equal("dual-1");
      expect(officialId("Jose\u0301")).to.equal(officialId("JOS\u00c9"));
      expect(officialId("Strauß")).to.equal(officialId("STRAUSS"));
      expect(officialId("ΟΔΟΣ")).to.equal(officialId("οδοσ"));
    });

    it("keeps different ids apart", () => {
      expect(sameOfficial("dual-1", "dual-2")).to.equal(false);
      expect(sameOfficial("李明", "李朋")).to.equal(false);
    });

    it("is idempotent", () => {
      for (const s of ["Dual-1", "Ｄｕａｌ－１", "Strauß", "ΟΔΟΣ", "İstanbul", "李明"]) expect(officialId(officialId(s))).to.equal(officialId(s));
    });
  });

  describe("in the rules", () => {
    const clerk: Actor = { official: "Dual-1", agency: "市工信局", role: "clerk" };
    const approver: Actor = { official: "dual-1", agency: "市工信局", role: "approver" };
    const payer: Actor = { official: "Pay.Er", agency: "市财政局", role: "payer" };
    const payerAsApprover: Actor = { official: "ＰＡＹ.ＥＲ", agency: "市财政局", role: "approver" };
    const other: Actor = { official: "approver.other", name: "王五", agency: "市工信局", role: "approver" };

    it("refuses a decision by an id differing only in case from the application's recorder", async () => {
      const h = await Harness.open();
      const prg = await h.programme();
      const app = await h.record(clerk, "application", applicationRequest(prg));
      await h.refuses(approver, "decision", decisionRequest(app), "decider-not-recorder", "invalid");
    });

    it("refuses a confirmation by an id differing only in case and width from the payout's recorder", async () => {
      const h = await Harness.open();
      const { decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "1" } });
      const pay = await h.record(payer, "payout", payoutRequest(decisionId));
      await h.refuses(payerAsApprover, "confirmation", confirmationRequest(pay), "confirmer-not-recorder", "invalid");
    });

    it("records the canonical id in the entry, and the display name beside it when given", async () => {
      const h = await Harness.open();
      const prg = await h.programme();
      const appRes = await h.submit(clerk, "application", applicationRequest(prg));
      expect(appRes.body.entry.actor).to.deep.equal({ official: "dual-1", agency: "市工信局", role: "clerk" });
      const decRes = await h.submit(other, "decision", decisionRequest(appRes.body.id));
      expect(decRes.body.entry.actor).to.deep.equal({ official: "approver.other", name: "王五", agency: "市工信局", role: "approver" });
    });

    it("lets the checker find a self-confirmation written under another case", () => {
      const id = (prefix: string) => `${prefix}_${"0".repeat(23)}1`;
      const entry = (kind: string, official: string, role: string, ref: string | null, body: Record<string, unknown>) => ({
        v: 1,
        id: id(kind === "confirmation" ? "cnf" : kind.slice(0, 3).replace("pro", "prg")),
        kind,
        recordedAt: "2026-03-10T02:00:00Z",
        actor: { official, agency: "市工信局", role },
        refs: ref === null ? [] : [ref],
        body,
      });
      const entries = [
        entry("programme", "admin", "admin", null, { code: "P", agency: "市工信局", budgetFen: "100", fourEyesThresholdFen: "1", opensOn: "2026-01-01", closesOn: "2026-12-31" }),
        entry("application", "clerk", "clerk", id("prg"), { programmeId: id("prg"), creditCode: "X", requestedFen: "10" }),
        entry("decision", "approver", "approver", id("app"), { applicationId: id("app"), outcome: "approved", approvedFen: "10" }),
        entry("payout", "Pay.Er", "payer", id("dec"), { decisionId: id("dec"), amountFen: "10", paidOn: "2026-03-10", needsConfirmation: true }),
        entry("confirmation", "pay.er", "approver", id("pay"), { payoutId: id("pay") }),
      ];
      expect(checkEntries(entries).violations.map((v) => [v.rule, v.entryId])).to.deep.equal([["confirmer-not-recorder", id("cnf")]]);
    });
  });
});
