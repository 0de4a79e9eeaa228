/**
 * Every business rule, reached over HTTP: each refusal is a 409 or 422
 * problem naming the rule in `rule`, and appends nothing. The table is a
 * Record over RuleName, so the compiler fails this file when a rule is added
 * without a case here.
 */
import { expect } from "chai";
import type { RuleName } from "../../service/records/rules";
import {
  applicationBody,
  approvedApplication,
  createWorld,
  decisionBody,
  expectProblem,
  payoutBody,
  post,
  programmeBody,
  record,
  type Holder,
  type World,
} from "./helpers";
import { registerAgencies } from "./agencies-fixture";

interface Attempt {
  readonly path: string;
  readonly as: Holder;
  readonly body: Record<string, unknown>;
  /** A token other than the holder's (an agency official's), when given. */
  readonly token?: string;
}

interface RuleCase {
  readonly status: 403 | 409 | 422;
  /** Records what the rule needs, returns the request it must refuse. */
  readonly setup: (w: World) => Promise<Attempt>;
}

const NO_SUCH_APP = `app_${"0".repeat(24)}`;

async function programmeAndApplication(w: World, programme: Record<string, unknown> = {}): Promise<{ prg: string; app: string }> {
  const prg = await record(w, "/v1/programmes", "admin", programmeBody(programme));
  const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
  return { prg, app };
}

const RULES: Readonly<Record<RuleName, RuleCase>> = {
  "agency-code-valid": {
    status: 422,
    setup: async () => ({ path: "/v1/agencies", as: "admin", body: { code: "110100-FGW", name: "北京市辖区（不是一级政府）" } }),
  },
  "agency-code-unique": {
    status: 409,
    setup: async (w) => {
      await registerAgencies(w);
      return { path: "/v1/agencies", as: "admin", body: { code: "110000-JXJ", name: "北京市经济和信息化局" } };
    },
  },
  "agency-parent": {
    status: 422,
    setup: async (w) => {
      await registerAgencies(w);
      // 正定县's parent is 石家庄市's agency, not the province's.
      return { path: "/v1/agencies", as: "admin", body: { code: "130123-CZJ", name: "正定县财政局", parent: "130000-FGW" } };
    },
  },
  "agency-exists": {
    status: 422,
    setup: async () => ({ path: "/v1/programmes", as: "admin", body: programmeBody({ agency: "110000-FGW" }) }),
  },
  "agency-deployment-admin": {
    status: 403,
    setup: async (w) => {
      const a = await registerAgencies(w);
      return { path: "/v1/agencies", as: "admin", token: a.tokens["130000-FGW"].admin, body: { code: "130100-CZJ", name: "石家庄市财政局", parent: "130000-FGW" } };
    },
  },
  "agency-scope": {
    status: 403,
    setup: async (w) => {
      const a = await registerAgencies(w);
      const prg = await record(w, "/v1/programmes", "admin", programmeBody({ agency: "110000-JXJ" }));
      return { path: "/v1/applications", as: "clerk", token: a.tokens["130123-FGW"].clerk, body: applicationBody(prg) };
    },
  },
  "delegation-changes": {
    status: 409,
    setup: async (w) => {
      await registerAgencies(w);
      return { path: "/v1/delegations", as: "admin", body: { from: "110000-JXJ", to: "130123-FGW", granted: false } };
    },
  },
  "erasure-target-private": {
    status: 422,
    setup: async (w) => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      return { path: `/v1/entries/${prg}/erasure`, as: "admin", body: { reasonCode: "retention-expired" } };
    },
  },
  "erasure-once": {
    status: 409,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      await record(w, `/v1/entries/${app}/erasure`, "admin", { reasonCode: "data-subject-request" });
      return { path: `/v1/entries/${app}/erasure`, as: "admin", body: { reasonCode: "data-subject-request" } };
    },
  },
  "programme-code-unique": {
    status: 409,
    setup: async (w) => {
      await record(w, "/v1/programmes", "admin", programmeBody({ code: "DUP-1" }));
      return { path: "/v1/programmes", as: "admin", body: programmeBody({ code: "DUP-1" }) };
    },
  },
  "programme-dates-ordered": {
    status: 422,
    setup: async () => ({ path: "/v1/programmes", as: "admin", body: programmeBody({ opensOn: "2026-12-31", closesOn: "2026-01-01" }) }),
  },
  "programme-budget-positive": {
    status: 422,
    setup: async () => ({ path: "/v1/programmes", as: "admin", body: programmeBody({ budgetFen: "0" }) }),
  },
  "reference-exists": {
    status: 422,
    setup: async () => ({ path: "/v1/decisions", as: "approver", body: decisionBody(NO_SUCH_APP) }),
  },
  "reference-kind": {
    status: 422,
    setup: async (w) => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      return { path: "/v1/decisions", as: "approver", body: decisionBody(prg) };
    },
  },
  "programme-open": {
    status: 422,
    setup: async (w) => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody({ opensOn: "2026-01-01", closesOn: "2026-03-09" }));
      return { path: "/v1/applications", as: "clerk", body: applicationBody(prg) };
    },
  },
  "amount-positive": {
    status: 422,
    setup: async (w) => {
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      return { path: "/v1/applications", as: "clerk", body: applicationBody(prg, { requestedFen: "0" }) };
    },
  },
  "application-pending": {
    status: 409,
    setup: async (w) => {
      const { applicationId } = await approvedApplication(w);
      return { path: "/v1/decisions", as: "approver2", body: decisionBody(applicationId) };
    },
  },
  "decider-not-recorder": {
    status: 422,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      return { path: "/v1/decisions", as: "approverWhoIsClerk", body: decisionBody(app) };
    },
  },
  "approved-within-requested": {
    status: 422,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      return { path: "/v1/decisions", as: "approver", body: decisionBody(app, { approvedFen: "3000001" }) };
    },
  },
  "rejection-approves-nothing": {
    status: 422,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      return { path: "/v1/decisions", as: "approver", body: decisionBody(app, { outcome: "rejected", approvedFen: "100" }) };
    },
  },
  "budget-not-exceeded": {
    status: 409,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w, { budgetFen: "2000000" });
      return { path: "/v1/decisions", as: "approver", body: decisionBody(app, { approvedFen: "2000001" }) };
    },
  },
  "enterprise-cap-not-exceeded": {
    status: 409,
    setup: async (w) => {
      // Two applications of one enterprise: 20 000 yuan approved on the first leaves 10 000 of the 30 000 cap.
      const { prg, app } = await programmeAndApplication(w, { maxPerEnterpriseFen: "3000000" });
      await record(w, "/v1/decisions", "approver", decisionBody(app, { approvedFen: "2000000" }));
      const second = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      return { path: "/v1/decisions", as: "approver", body: decisionBody(second, { approvedFen: "1000001" }) };
    },
  },
  "decision-approved": {
    status: 409,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      const dec = await record(w, "/v1/decisions", "approver", decisionBody(app, { outcome: "rejected", approvedFen: "0" }));
      return { path: "/v1/payouts", as: "payer", body: payoutBody(dec) };
    },
  },
  "payout-within-approved": {
    status: 409,
    setup: async (w) => {
      const { decisionId } = await approvedApplication(w, { decision: { approvedFen: "1000000" } });
      await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "600000" }));
      return { path: "/v1/payouts", as: "payer", body: payoutBody(decisionId, { amountFen: "400001" }) };
    },
  },
  "payout-date-not-future": {
    status: 422,
    setup: async (w) => {
      const { decisionId } = await approvedApplication(w);
      // 2026-03-10T02:00Z is 10:00 on 2026-03-10 in China Standard Time.
      return { path: "/v1/payouts", as: "payer", body: payoutBody(decisionId, { paidOn: "2026-03-11" }) };
    },
  },
  "payout-needs-confirmation": {
    status: 409,
    setup: async (w) => {
      const { decisionId } = await approvedApplication(w, { programme: { fourEyesThresholdFen: "5000000" } });
      const pay = await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "100000" }));
      return { path: "/v1/confirmations", as: "approver", body: { payoutId: pay } };
    },
  },
  "confirmer-not-recorder": {
    status: 422,
    setup: async (w) => {
      const { decisionId } = await approvedApplication(w, { programme: { fourEyesThresholdFen: "100000" } });
      const pay = await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "100000" }));
      return { path: "/v1/confirmations", as: "approverWhoIsPayer", body: { payoutId: pay } };
    },
  },
  "clawback-within-paid": {
    status: 409,
    setup: async (w) => {
      const { decisionId } = await approvedApplication(w);
      const pay = await record(w, "/v1/payouts", "payer", payoutBody(decisionId, { amountFen: "100000" }));
      return { path: "/v1/corrections", as: "approver", body: { targetId: pay, reasonCode: "clawback", reasonText: "追回", clawbackFen: "100001" } };
    },
  },
  "correction-fields": {
    status: 422,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      return { path: "/v1/corrections", as: "approver", body: { targetId: app, reasonCode: "data-entry-error", reasonText: "录入错误" } };
    },
  },
  "revocation-allowed": {
    status: 409,
    setup: async (w) => {
      const { applicationId } = await approvedApplication(w);
      return { path: "/v1/corrections", as: "approver", body: { targetId: applicationId, reasonCode: "revoked", reasonText: "撤销" } };
    },
  },
  "entry-revoked": {
    status: 409,
    setup: async (w) => {
      const { app } = await programmeAndApplication(w);
      await record(w, "/v1/corrections", "approver", { targetId: app, reasonCode: "revoked", reasonText: "撤销" });
      return { path: "/v1/decisions", as: "approver", body: decisionBody(app) };
    },
  },
};

describe("HTTP API, business rules", () => {
  for (const [rule, c] of Object.entries(RULES) as [RuleName, RuleCase][]) {
    describe(`when a request breaks ${rule}`, () => {
      it(`answers ${c.status} problem+json with rule "${rule}" and appends nothing`, async () => {
        const w = await createWorld();
        const attempt = await c.setup(w);
        const size = w.ledger.size;
        const res = await post(w, attempt.path, attempt.token ?? w.tokens[attempt.as], attempt.body);
        const problem = expectProblem(res, c.status);
        expect(problem["rule"]).to.equal(rule);
        expect(problem["type"]).to.equal(`urn:subsidy-ledger:rule:${rule}`);
        expect(problem["detail"]).to.be.a("string").that.is.not.empty;
        expect(w.ledger.size).to.equal(size);
      });
    });
  }

  describe("when a refused request is fixed and retried with the same key", () => {
    it("records it: a refusal does not burn the key", async () => {
      const w = await createWorld();
      const prg = await record(w, "/v1/programmes", "admin", programmeBody({ budgetFen: "1000000" }));
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg, { requestedFen: "2000000" }));
      const key = "decide-once";
      expectProblem(await post(w, "/v1/decisions", w.tokens.approver, decisionBody(app, { approvedFen: "2000000" }), key), 409);
      const ok = await post(w, "/v1/decisions", w.tokens.approver, decisionBody(app, { approvedFen: "1000000" }), key);
      expect(ok.status).to.equal(201);
    });
  });
});
