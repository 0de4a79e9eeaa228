/**
 * Four-eyes that cannot be split: the rule in the record layer, the pure
 * auditor's replay over public entries (scripts/lib/audit/invariants.ts), and a
 * fast-check property that random sequences of applications, decisions,
 * payouts, confirmations and corrections never leave an application paid at
 * or past the threshold without a second official's confirmation, with the
 * checker agreeing with the rules on every sequence.
 */
import { expect } from "chai";
import fc from "fast-check";
import { payoutNeedsConfirmation } from "../../service/format/accountability";
import { checkEntries } from "../../scripts/lib/audit";
import { decodeEntry } from "../../service/log";
import { RuleViolation } from "../../service/records/rules";
import { fcParams } from "../helpers/fc";
import {
  ACTORS,
  applicationRequest,
  confirmationRequest,
  correctionRequest,
  creditCode,
  decisionRequest,
  Harness,
  payoutRequest,
  programmeRequest,
} from "../helpers/ledger-fixtures";

type Entry = { id: string; kind: string; recordedAt: string; actor: { official: string; agency: string; role: string }; refs: string[]; body: Record<string, unknown> };

async function entriesOf(h: Harness): Promise<Entry[]> {
  return (await h.store.leaves(0, h.ledger.size)).map((l) => decodeEntry(l.bytes) as unknown as Entry);
}

/** Violations as [rule, entry id]. */
function violations(entries: readonly unknown[]): [string, string][] {
  return checkEntries(entries).violations.map((v) => [v.rule, v.entryId]);
}

describe("Four-eyes that cannot be split", () => {
  describe("the rule", () => {
    it("needs a confirmation exactly when the decision approves at or above the threshold", () => {
      expect(payoutNeedsConfirmation("4999999", "5000000")).to.equal(false);
      expect(payoutNeedsConfirmation("5000000", "5000000")).to.equal(true);
      expect(payoutNeedsConfirmation(6000000n, 5000000n)).to.equal(true);
      expect(payoutNeedsConfirmation("0", "0")).to.equal(true);
    });
  });

  describe("6 000 000 fen approved under a 5 000 000 fen threshold, paid as two payouts of 3 000 000", () => {
    let h: Harness;
    let ids: { programmeId: string; applicationId: string; decisionId: string };
    let first: string;
    let second: string;
    beforeEach(async () => {
      h = await Harness.open();
      ids = await h.approved({
        programme: { fourEyesThresholdFen: "5000000" },
        application: { requestedFen: "6000000" },
        decision: { approvedFen: "6000000" },
      });
      first = await h.payout(ids.decisionId, { amountFen: "3000000" });
      second = await h.payout(ids.decisionId, { amountFen: "3000000" }, ACTORS.payerF);
    });

    it("marks both payouts as needing confirmation, and counts neither as paid", async () => {
      for (const id of [first, second]) expect(await h.state(id, "payout")).to.include({ needsConfirmation: true, confirmationId: null });
      expect(await h.state(ids.decisionId, "decision")).to.include({ committedFen: "6000000", paidFen: "0" });
      expect((await h.state(ids.programmeId, "programme")).paidFen).to.equal("0");
    });

    it("refuses a confirmation by the official who recorded the payout, under another token", async () => {
      await h.refuses(ACTORS.approverE, "confirmation", confirmationRequest(first), "confirmer-not-recorder", "invalid");
    });

    it("counts each payout as paid once another official confirms it", async () => {
      await h.confirmation(first, ACTORS.approverD);
      expect((await h.state(ids.decisionId, "decision")).paidFen).to.equal("3000000");
      await h.confirmation(second, ACTORS.approverE);
      expect((await h.state(ids.decisionId, "decision")).paidFen).to.equal("6000000");
    });

    describe("the checker over its public entries", () => {
      it("finds nothing as recorded", async () => {
        await h.confirmation(first, ACTORS.approverD);
        await h.confirmation(second, ACTORS.approverC);
        expect(violations(await entriesOf(h))).to.deep.equal([]);
      });

      it("reports each payout marked as needing no confirmation, which would take the application to the threshold unconfirmed", async () => {
        const entries = (await entriesOf(h)).map((e) => (e.kind === "payout" ? { ...e, body: { ...e.body, needsConfirmation: false } } : e));
        // The replay counts neither as paid: under an approval at or above the threshold only a confirmed payout is paid.
        expect(violations(entries)).to.deep.equal([
          ["four-eyes-threshold", first],
          ["four-eyes-threshold", second],
        ]);
      });

      it("reports a confirmation by the payout's own recorder", async () => {
        const entries = await entriesOf(h);
        const last = entries[entries.length - 1]!;
        const fake = { v: 1, id: "cnf_000000000000000000000001", kind: "confirmation", recordedAt: last.recordedAt, actor: { ...ACTORS.payerE, role: "approver" }, refs: [first], body: { payoutId: first } };
        expect(violations([...entries, fake])).to.deep.equal([["confirmer-not-recorder", fake.id]]);
      });

      it("reports a second confirmation of the same payout", async () => {
        const cnf = await h.confirmation(first, ACTORS.approverD);
        const entries = await entriesOf(h);
        const again = { ...entries.find((e) => e.id === cnf)!, id: "cnf_000000000000000000000002" };
        expect(violations([...entries, again])).to.deep.equal([["payout-needs-confirmation", again.id]]);
      });

      it("reports an entry it cannot read instead of throwing", () => {
        expect(violations([{ id: "prg_1", kind: "programme", actor: { official: "a" }, body: { fourEyesThresholdFen: "-1" } }])).to.deep.equal([["entry-malformed", "prg_1"]]);
        expect(violations([{ id: "pay_1", kind: "payout", actor: { official: "a" }, body: { decisionId: "dec_x" } }])).to.deep.equal([["entry-malformed", "pay_1"]]);
      });
    });
  });

  describe("a decision below the threshold", () => {
    it("pays out without confirmation, and can never reach the threshold", async () => {
      const h = await Harness.open();
      const { decisionId } = await h.approved({ programme: { fourEyesThresholdFen: "5000000" }, application: { requestedFen: "6000000" }, decision: { approvedFen: "4999999" } });
      const pay = await h.payout(decisionId, { amountFen: "4999999" });
      expect(await h.state(pay, "payout")).to.include({ needsConfirmation: false });
      await h.refuses(ACTORS.payerE, "payout", payoutRequest(decisionId, { amountFen: "1" }), "payout-within-approved", "conflict");
      expect(violations(await entriesOf(h))).to.deep.equal([]);
    });
  });

  describe("a programme with a per-enterprise cap of 5 000 000 fen", () => {
    let h: Harness;
    let programmeId: string;
    let first: string;
    beforeEach(async () => {
      h = await Harness.open();
      programmeId = await h.programme({ maxPerEnterpriseFen: "5000000" });
      const app = await h.application(programmeId, { requestedFen: "6000000" });
      first = await h.decision(app, { approvedFen: "3000000" });
    });

    it("refuses an approval that takes one enterprise past the cap over its applications, with enterprise-cap-not-exceeded (a conflict)", async () => {
      const app = await h.application(programmeId, { requestedFen: "6000000" });
      await h.refuses(ACTORS.approverC, "decision", decisionRequest(app, { approvedFen: "2000001" }), "enterprise-cap-not-exceeded", "conflict");
      await h.decision(app, { approvedFen: "2000000" });
    });

    it("counts each enterprise on its own", async () => {
      const app = await h.application(programmeId, { requestedFen: "6000000", creditCode: creditCode(2) });
      await h.decision(app, { approvedFen: "5000000" });
    });

    it("frees the cap when a decision is revoked", async () => {
      const app = await h.application(programmeId, { requestedFen: "6000000" });
      await h.correction(first, "revoked");
      await h.decision(app, { approvedFen: "5000000" });
    });

    it("does not count rejections", async () => {
      const app = await h.application(programmeId, { requestedFen: "6000000" });
      await h.decision(app, { outcome: "rejected", approvedFen: "0" });
      const third = await h.application(programmeId, { requestedFen: "6000000" });
      await h.decision(third, { approvedFen: "2000000" });
    });

    it("shows the cap in the public programme entry", async () => {
      const prg = (await entriesOf(h)).find((e) => e.id === programmeId)!;
      expect(prg.body["maxPerEnterpriseFen"]).to.equal("5000000");
    });

    it("is reported by the checker when an entry breaks it, and not as recorded", async () => {
      const app = await h.application(programmeId, { requestedFen: "6000000" });
      const second = await h.decision(app, { approvedFen: "2000000" });
      const entries = await entriesOf(h);
      expect(violations(entries)).to.deep.equal([]);
      const edited = entries.map((e) => (e.id === second ? { ...e, body: { ...e.body, approvedFen: "2000001" } } : e));
      expect(violations(edited)).to.deep.equal([["enterprise-cap-not-exceeded", second]]);
    });

    it("refuses a cap of zero with amount-positive (invalid)", async () => {
      await h.refuses(ACTORS.admin, "programme", programmeRequest({ maxPerEnterpriseFen: "0" }), "amount-positive", "invalid");
    });
  });

  describe("random sequences of applications, decisions, payouts, confirmations and corrections", () => {
    type Action =
      | { t: "application"; programme: number; requested: number; enterprise: number }
      | { t: "decision"; application: number; approver: number; pct: number; approve: boolean; recent?: boolean }
      | { t: "payout"; decision: number; payer: number; pct: number }
      | { t: "confirmation"; payout: number; approver: number }
      | { t: "clawback"; payout: number; pct: number }
      | { t: "revoke"; kind: "payout" | "decision" | "application"; i: number };
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ t: fc.constant("application" as const), programme: fc.nat(1), requested: fc.integer({ min: 1, max: 1200 }), enterprise: fc.nat(3) }),
      fc.record({ t: fc.constant("application" as const), programme: fc.constant(1), requested: fc.integer({ min: 400, max: 1200 }), enterprise: fc.nat(1) }),
      fc.record({ t: fc.constant("decision" as const), application: fc.nat(20), approver: fc.nat(2), pct: fc.integer({ min: 1, max: 100 }), approve: fc.boolean() }),
      // Approvals of one of the latest applications, mostly still pending, so enterprises run into the cap.
      fc.record({ t: fc.constant("decision" as const), application: fc.nat(1), approver: fc.nat(1), pct: fc.integer({ min: 50, max: 100 }), approve: fc.constant(true), recent: fc.constant(true) }),
      fc.record({ t: fc.constant("payout" as const), decision: fc.nat(20), payer: fc.nat(1), pct: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ t: fc.constant("payout" as const), decision: fc.nat(20), payer: fc.nat(1), pct: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ t: fc.constant("confirmation" as const), payout: fc.nat(20), approver: fc.nat(2) }),
      fc.record({ t: fc.constant("clawback" as const), payout: fc.nat(20), pct: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ t: fc.constant("revoke" as const), kind: fc.constantFrom("payout" as const, "decision" as const, "application" as const), i: fc.nat(20) }),
    );
    const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);
    const pctOf = (fen: string, pct: number) => String(((BigInt(fen) * BigInt(pct)) / 100n) || 1n);

    it("never leave an application paid at or past the threshold unconfirmed, and the checker agrees with the rules", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 10, maxLength: 40 }), async (actions) => {
          const h = await Harness.open();
          // Thresholds inside the range of amounts, so decisions fall on both sides.
          // The second has a per-enterprise cap that a few approvals of one enterprise reach.
          const programmes = [
            await h.programme({ budgetFen: "100000", fourEyesThresholdFen: "500" }),
            await h.programme({ budgetFen: "100000", fourEyesThresholdFen: "900", maxPerEnterpriseFen: "800" }),
          ];
          const thresholdOf = new Map([[programmes[0]!, 500n], [programmes[1]!, 900n]]);
          const ids = { application: [] as string[], decision: [] as string[], payout: [] as string[] };
          for (const a of actions) {
            let req: { actor: (typeof ACTORS)[keyof typeof ACTORS]; kind: "application" | "decision" | "payout" | "confirmation" | "correction"; body: Record<string, unknown> } | undefined;
            switch (a.t) {
              case "application":
                req = { actor: ACTORS.clerkA, kind: "application", body: applicationRequest(programmes[a.programme]!, { requestedFen: String(a.requested), creditCode: creditCode(a.enterprise + 1) }) };
                break;
              case "decision": {
                const app = a.recent === true ? ids.application[ids.application.length - 1 - (a.application % Math.max(1, ids.application.length))] : pick(ids.application, a.application);
                if (app === undefined) break;
                const requested = (await h.state(app, "application")).requestedFen;
                const body = decisionRequest(app, a.approve ? { approvedFen: pctOf(requested, a.pct) } : { outcome: "rejected", approvedFen: "0" });
                req = { actor: [ACTORS.approverC, ACTORS.approverD, ACTORS.approverA][a.approver]!, kind: "decision", body };
                break;
              }
              case "payout": {
                const dec = pick(ids.decision, a.decision);
                if (dec === undefined) break;
                const approved = (await h.state(dec, "decision")).approvedFen;
                req = { actor: a.payer === 0 ? ACTORS.payerE : ACTORS.payerF, kind: "payout", body: payoutRequest(dec, { amountFen: pctOf(approved === "0" ? "100" : approved, a.pct) }) };
                break;
              }
              case "confirmation": {
                const pay = pick(ids.payout, a.payout);
                if (pay === undefined) break;
                // approverE is payer E: a self-confirmation whenever E recorded the payout.
                req = { actor: [ACTORS.approverC, ACTORS.approverD, ACTORS.approverE][a.approver]!, kind: "confirmation", body: confirmationRequest(pay) };
                break;
              }
              case "clawback": {
                const pay = pick(ids.payout, a.payout);
                if (pay === undefined) break;
                const amount = (await h.state(pay, "payout")).amountFen;
                req = { actor: ACTORS.approverD, kind: "correction", body: correctionRequest(pay, "clawback", { clawbackFen: pctOf(amount, a.pct) }) };
                break;
              }
              case "revoke": {
                const target = pick(ids[a.kind], a.i);
                if (target === undefined) break;
                req = { actor: ACTORS.approverC, kind: "correction", body: correctionRequest(target, "revoked") };
                break;
              }
            }
            if (req === undefined) continue;
            try {
              const res = await h.submit(req.actor, req.kind, req.body);
              const { id, kind } = res.body;
              if (kind === "application" || kind === "decision" || kind === "payout") ids[kind].push(id);
            } catch (e) {
              if (!(e instanceof RuleViolation)) throw e;
            }
          }

          const entries = await entriesOf(h);
          // The checker finds nothing in what the rules accepted.
          const { violations: found, replay } = checkEntries(entries);
          expect(found).to.deep.equal([]);

          // The invariant, from the derived state and the confirmation entries: an application paid
          // at or past its threshold has every effective payout confirmed by another official.
          const confirmer = new Map(entries.filter((e) => e.kind === "confirmation").map((e) => [e.body["payoutId"] as string, e.actor.official]));
          // The per-enterprise cap, from the derived state: live approvals per enterprise in the capped programme.
          const perEnterprise = new Map<string, bigint>();
          for (const decId of ids.decision) {
            const d = await h.state(decId, "decision");
            if (d.revoked || d.outcome !== "approved" || d.programmeId !== programmes[1]) continue;
            const key = (await h.state(d.applicationId, "application")).creditCode;
            perEnterprise.set(key, (perEnterprise.get(key) ?? 0n) + BigInt(d.approvedFen));
          }
          for (const [enterprise, approved] of perEnterprise) expect(approved <= 800n, `${enterprise}: ${approved}`).to.equal(true);

          for (const appId of ids.application) {
            const app = await h.state(appId, "application");
            const decisions = await Promise.all(app.decisions.map((d) => h.state(d, "decision")));
            const paid = decisions.reduce((s, d) => s + BigInt(d.paidFen), 0n);
            // The checker arrives at the service's paid amount from public entries alone.
            expect(replay.paidFen(appId), appId).to.equal(paid);
            if (paid < thresholdOf.get(app.programmeId)!) continue;
            for (const d of decisions)
              for (const payId of d.payouts) {
                const p = await h.state(payId, "payout");
                // Not paid: awaiting confirmation, or wholly clawed back.
                if ((p.needsConfirmation && p.confirmationId === null) || p.amountFen === p.clawedBackFen) continue;
                expect(p.confirmationId, `payout ${payId} of ${appId}, paid ${paid}`).to.not.equal(null);
                expect(confirmer.get(payId)).to.not.equal(p.recordedBy);
              }
          }
        }),
        fcParams({ scale: 0.3 }),
      );
    });
  });
});
