/**
 * Four-eyes through the API: a 6 000 000 fen approval under a 5 000 000 fen
 * threshold paid as two payouts of 3 000 000 shows nothing paid until a
 * second official confirms each payout, and the payer cannot confirm their
 * own payout under an approver token.
 */
import { expect } from "chai";
import { checkEntries } from "../../scripts/lib/audit";
import { approvedApplication, createWorld, expectProblem, get, payoutBody, post, record, type World } from "./helpers";

describe("Four-eyes through the API", () => {
  describe("an approval of 6 000 000 fen under a 5 000 000 fen threshold, paid as two payouts of 3 000 000", () => {
    let w: World;
    let ids: { programmeId: string; applicationId: string; decisionId: string };
    let payouts: string[];
    beforeEach(async () => {
      w = await createWorld();
      ids = await approvedApplication(w, {
        programme: { fourEyesThresholdFen: "5000000" },
        application: { requestedFen: "6000000" },
        decision: { approvedFen: "6000000" },
      });
      payouts = [];
      for (const payer of ["payer", "payer2"] as const) {
        const res = await post(w, "/v1/payouts", w.tokens[payer], payoutBody(ids.decisionId, { amountFen: "3000000" }));
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        expect(res.body.entry.body.needsConfirmation).to.equal(true);
        payouts.push(res.body.id as string);
      }
    });

    async function status(): Promise<{ status: string; paid: string }> {
      const res = await get(w, `/v1/entries/${ids.applicationId}`);
      expect(res.status).to.equal(200);
      const prg = await get(w, `/v1/programmes/${ids.programmeId}`);
      return { status: res.body.belongsTo.status as string, paid: prg.body.paidFen as string };
    }

    it("shows the application approved, not paid, and nothing paid in the programme", async () => {
      expect(await status()).to.deep.equal({ status: "approved", paid: "0" });
    });

    it("refuses the payer's own confirmation under an approver token with 422 confirmer-not-recorder", async () => {
      const res = await post(w, "/v1/confirmations", w.tokens.approverWhoIsPayer, { payoutId: payouts[0] });
      expect(expectProblem(res, 422)["rule"]).to.equal("confirmer-not-recorder");
    });

    it("shows the application paid once another official confirms both payouts, and the public entries check clean", async () => {
      await record(w, "/v1/confirmations", "approver2", { payoutId: payouts[0] });
      expect(await status()).to.deep.equal({ status: "partially-paid", paid: "3000000" });
      await record(w, "/v1/confirmations", "approverWhoIsPayer", { payoutId: payouts[1] });
      expect(await status()).to.deep.equal({ status: "paid", paid: "6000000" });
      const log = await get(w, `/v1/log/entries?start=0&end=${w.ledger.size}`);
      expect(log.status, JSON.stringify(log.body)).to.equal(200);
      expect(checkEntries(log.body.entries.map((e: { entry: unknown }) => e.entry)).violations).to.deep.equal([]);
    });
  });
});
