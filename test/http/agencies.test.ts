/**
 * Agencies through the API: registration by the deployment-wide admin, the
 * recording rule (officials record only into their own agency's programmes,
 * or those of agencies that delegated to them), delegation and its
 * withdrawal, and programmes from before agencies existed.
 */
import { expect } from "chai";
import request from "supertest";
import { applicationBody, createWorld, decisionBody, expectProblem, get, payoutBody, post, programmeBody, record, type World } from "./helpers";
import { registerAgencies, type AgencyTokens } from "./agencies-fixture";

async function idOf(res: { status: number; body: { id?: string } }): Promise<string> {
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body.id!;
}

/** A programme of `agency`, recorded by that agency's admin. */
async function programmeOf(w: World, a: AgencyTokens, agency: keyof AgencyTokens["tokens"], code: string): Promise<string> {
  return idOf(await post(w, "/v1/programmes", a.tokens[agency].admin, programmeBody({ agency, code })));
}

function expectScope(res: Parameters<typeof expectProblem>[0]): void {
  const problem = expectProblem(res, 403);
  expect(problem["rule"]).to.equal("agency-scope");
}

describe("HTTP API, agencies", () => {
  describe("when the deployment-wide admin registers agencies", () => {
    it("records each as an agency entry naming its parent", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const res = await post(w, "/v1/agencies", w.tokens.admin, { code: "130123-CZJ", name: "正定县财政局", parent: "130100-FGW" });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.id).to.match(/^agy_[0-9a-f]{24}$/);
      expect(res.body.entry.kind).to.equal("agency");
      expect(res.body.entry.body).to.deep.equal({ code: "130123-CZJ", name: "正定县财政局", parent: "130100-FGW" });
      expect(res.body.entry.refs).to.deep.equal([a.ids["130100-FGW"]]);
    });

    it("refuses a county agency without a parent, and a province agency with one", async () => {
      const w = await createWorld();
      await registerAgencies(w);
      const size = w.ledger.size;
      expect(expectProblem(await post(w, "/v1/agencies", w.tokens.admin, { code: "130123-CZJ", name: "正定县财政局" }), 422)["rule"]).to.equal("agency-parent");
      expect(expectProblem(await post(w, "/v1/agencies", w.tokens.admin, { code: "120000-FGW", name: "天津市发改委", parent: "110000-JXJ" }), 422)["rule"]).to.equal(
        "agency-parent",
      );
      expect(w.ledger.size).to.equal(size);
    });

    it("refuses a code that is not an agency code with 400, before any rule", async () => {
      const w = await createWorld();
      const res = await post(w, "/v1/agencies", w.tokens.admin, { code: "北京市发改委", name: "北京市发改委" });
      expectProblem(res, 400);
      expect(w.ledger.size).to.equal(0);
    });
  });

  describe("when two agencies each have an admin, clerk, approver and payer", () => {
    it("lets each record the whole chain into its own programme", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      for (const agency of ["130123-FGW", "110000-JXJ"] as const) {
        const t = a.tokens[agency];
        const prg = await programmeOf(w, a, agency, `P-${agency}`);
        const app = await idOf(await post(w, "/v1/applications", t.clerk, applicationBody(prg)));
        const dec = await idOf(await post(w, "/v1/decisions", t.approver, decisionBody(app)));
        const pay = await post(w, "/v1/payouts", t.payer, payoutBody(dec));
        expect(pay.status, JSON.stringify(pay.body)).to.equal(201);
        expect(pay.body.entry.actor.agency).to.equal(agency);
      }
    });

    it("refuses (403 agency-scope) a clerk, approver or payer of one in the other's programme, and appends nothing", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const bj = a.tokens["110000-JXJ"];
      const zd = a.tokens["130123-FGW"];
      const prg = await programmeOf(w, a, "110000-JXJ", "BJ-1");
      const size0 = w.ledger.size;
      expectScope(await post(w, "/v1/applications", zd.clerk, applicationBody(prg)));
      const app = await idOf(await post(w, "/v1/applications", bj.clerk, applicationBody(prg)));
      const size1 = w.ledger.size;
      expectScope(await post(w, "/v1/decisions", zd.approver, decisionBody(app)));
      const dec = await idOf(await post(w, "/v1/decisions", bj.approver, decisionBody(app)));
      const size2 = w.ledger.size;
      expectScope(await post(w, "/v1/payouts", zd.payer, payoutBody(dec)));
      expectScope(await post(w, "/v1/corrections", zd.approver, { targetId: app, reasonCode: "data-entry-error", reasonText: "改名", replacement: { enterpriseName: "某公司" } }));
      expectScope(await post(w, `/v1/entries/${app}/erasure`, zd.admin, { reasonCode: "data-subject-request" }));
      expect(w.ledger.size).to.equal(size2);
      expect(size1).to.equal(size0 + 1);
    });

    it("refuses an agency admin a programme of another agency, or of free text", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      expectScope(await post(w, "/v1/programmes", a.tokens["130123-FGW"].admin, programmeBody({ agency: "110000-JXJ" })));
      expectScope(await post(w, "/v1/programmes", a.tokens["130123-FGW"].admin, programmeBody({ agency: "正定县发改局" })));
    });

    it("refuses a parent agency's officials too: the province does not record into the county's programmes", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const prg = await programmeOf(w, a, "130123-FGW", "ZD-1");
      expectScope(await post(w, "/v1/applications", a.tokens["130000-FGW"].clerk, applicationBody(prg)));
    });

    it("lets the deployment-wide admin record into any agency's programme", async () => {
      const w = await createWorld();
      await registerAgencies(w);
      const res = await post(w, "/v1/programmes", w.tokens.admin, programmeBody({ agency: "130123-FGW" }));
      expect(res.status).to.equal(201);
    });
  });

  describe("when an agency delegates to another", () => {
    it("lets the delegate's officials record into its programmes until it withdraws", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const prg = await programmeOf(w, a, "110000-JXJ", "BJ-2");
      const zd = a.tokens["130123-FGW"];
      const granted = await post(w, "/v1/delegations", a.tokens["110000-JXJ"].admin, { from: "110000-JXJ", to: "130123-FGW", granted: true });
      expect(granted.status, JSON.stringify(granted.body)).to.equal(201);
      expect(granted.body.entry.refs).to.deep.equal([a.ids["110000-JXJ"], a.ids["130123-FGW"]]);
      await idOf(await post(w, "/v1/applications", zd.clerk, applicationBody(prg)));
      // Delegation is one way.
      const own = await programmeOf(w, a, "130123-FGW", "ZD-2");
      expectScope(await post(w, "/v1/applications", a.tokens["110000-JXJ"].clerk, applicationBody(own)));
      await idOf(await post(w, "/v1/delegations", a.tokens["110000-JXJ"].admin, { from: "110000-JXJ", to: "130123-FGW", granted: false }));
      expectScope(await post(w, "/v1/applications", zd.clerk, applicationBody(prg)));
    });

    it("refuses (403) a delegation of another agency's programmes", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      expectScope(await post(w, "/v1/delegations", a.tokens["130123-FGW"].admin, { from: "110000-JXJ", to: "130123-FGW", granted: true }));
    });
  });

  describe("when a programme was recorded before agencies existed (free-text agency)", () => {
    it("keeps recording into it as before for officials of unregistered agencies", async () => {
      const w = await createWorld();
      await registerAgencies(w);
      const prg = await record(w, "/v1/programmes", "admin", programmeBody({ agency: "市工信局" }));
      await record(w, "/v1/applications", "clerk", applicationBody(prg));
    });

    it("refuses officials of a registered agency until an approver of it moves the programme into it by a correction", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const prg = await record(w, "/v1/programmes", "admin", programmeBody({ agency: "北京市经信局" }));
      const bj = a.tokens["110000-JXJ"];
      expectScope(await post(w, "/v1/applications", bj.clerk, applicationBody(prg)));
      // Another agency cannot move it into a third one.
      expectScope(await post(w, "/v1/corrections", bj.approver, { targetId: prg, reasonCode: "data-entry-error", reasonText: "归属", replacement: { agency: "130123-FGW" } }));
      await idOf(await post(w, "/v1/corrections", bj.approver, { targetId: prg, reasonCode: "data-entry-error", reasonText: "归属北京市经信局", replacement: { agency: "110000-JXJ" } }));
      await idOf(await post(w, "/v1/applications", bj.clerk, applicationBody(prg)));
      // Now it is separated: the legacy clerk is refused.
      expectScope(await post(w, "/v1/applications", w.tokens.clerk, applicationBody(prg)));
    });
  });

  describe("when an agency admin manages tokens", () => {
    it("creates tokens of its own agency only (403 agency-scope otherwise)", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const admin = a.tokens["130123-FGW"].admin;
      const own = await post(w, "/v1/admin/tokens", admin, { official: "clerk.new", agency: "130123-FGW", role: "clerk" }, null);
      expect(own.status, JSON.stringify(own.body)).to.equal(201);
      const other = expectProblem(await post(w, "/v1/admin/tokens", admin, { official: "clerk.x", agency: "110000-JXJ", role: "clerk" }, null), 403);
      expect(other["rule"]).to.equal("agency-scope");
      expectProblem(await post(w, "/v1/admin/tokens", admin, { official: "root", agency: "部署管理员", role: "admin" }, null), 403);
    });

    it("lists only its own agency's tokens, while the deployment-wide admin lists all", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const mine = await get(w, "/v1/admin/tokens", a.tokens["110000-JXJ"].admin);
      expect(mine.status).to.equal(200);
      const agencies = new Set((mine.body.tokens as { agency: string }[]).map((t) => t.agency));
      expect([...agencies]).to.deep.equal(["110000-JXJ"]);
      expect(mine.body.tokens).to.have.length(4);
      const all = await get(w, "/v1/admin/tokens", w.tokens.admin);
      expect(all.body.tokens.length).to.be.greaterThan(16);
    });

    it("revokes its own agency's tokens only", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const list = (await get(w, "/v1/admin/tokens", w.tokens.admin)).body.tokens as { id: string; agency: string; role: string }[];
      const bjClerk = list.find((t) => t.agency === "110000-JXJ" && t.role === "clerk")!;
      const zdClerk = list.find((t) => t.agency === "130123-FGW" && t.role === "clerk")!;
      const admin = a.tokens["130123-FGW"].admin;
      const refused = await request(w.server).delete(`/v1/admin/tokens/${bjClerk.id}`).set("Authorization", `Bearer ${admin}`);
      expect(expectProblem(refused, 403)["rule"]).to.equal("agency-scope");
      const ok = await request(w.server).delete(`/v1/admin/tokens/${zdClerk.id}`).set("Authorization", `Bearer ${admin}`);
      expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
      expect(ok.body.revokedAt).to.be.a("string");
    });

    it("lets the deployment-wide admin create a token for an agency code not yet registered, which is scoped once the agency is", async () => {
      const w = await createWorld();
      const a = await registerAgencies(w);
      const created = await post(w, "/v1/admin/tokens", w.tokens.admin, { official: "c2", agency: "130100-CZJ", role: "clerk" }, null);
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const early = created.body.token as string;
      const bj = await programmeOf(w, a, "110000-JXJ", "BJ-T");
      const legacy = await record(w, "/v1/programmes", "admin", programmeBody({ agency: "石家庄市财政局", code: "SJZ-OLD" }));
      await idOf(await post(w, "/v1/applications", early, applicationBody(legacy)));
      expectScope(await post(w, "/v1/applications", early, applicationBody(bj)));
      await record(w, "/v1/agencies", "admin", { code: "130100-CZJ", name: "石家庄市财政局", parent: "130000-FGW" });
      expectScope(await post(w, "/v1/applications", early, applicationBody(legacy)));
    });
  });

  describe("when the public filters programmes and totals by agency and region", () => {
    async function scene(w: World): Promise<AgencyTokens> {
      const a = await registerAgencies(w);
      const zd = await programmeOf(w, a, "130123-FGW", "ZD-F");
      const bj = await programmeOf(w, a, "110000-JXJ", "BJ-F");
      // 正定县 (rural county of 石家庄市), 长安区 (urban district of 石家庄市), 东城区 (Beijing, no prefecture).
      for (const [prg, t, region, fen] of [
        [zd, a.tokens["130123-FGW"], "130123", "100000"],
        [zd, a.tokens["130123-FGW"], "130102", "200000"],
        [bj, a.tokens["110000-JXJ"], "110101", "400000"],
      ] as const) {
        const app = await idOf(await post(w, "/v1/applications", t.clerk, applicationBody(prg, { region, requestedFen: fen })));
        await idOf(await post(w, "/v1/decisions", t.approver, decisionBody(app, { approvedFen: fen })));
      }
      return a;
    }

    it("lists the programmes of one agency, or of agencies in one region", async () => {
      const w = await createWorld();
      await scene(w);
      const byAgency = await get(w, "/v1/programmes?agency=110000-JXJ");
      expect(byAgency.status).to.equal(200);
      expect(byAgency.body.programmes.map((p: { code: string }) => p.code)).to.deep.equal(["BJ-F"]);
      const hebei = await get(w, "/v1/programmes?region=130000");
      expect(hebei.body.programmes.map((p: { code: string }) => p.code)).to.deep.equal(["ZD-F"]);
      const shijiazhuang = await get(w, "/v1/programmes?region=130100");
      expect(shijiazhuang.body.programmes).to.have.length(1);
      expect((await get(w, "/v1/programmes?region=130102")).body.programmes).to.have.length(0);
    });

    it("totals applications in a region, with 城乡均衡 per prefecture named from the pinned table", async () => {
      const w = await createWorld();
      await scene(w);
      const all = await get(w, "/v1/totals");
      expect(all.status).to.equal(200);
      expect(all.body).to.include({ programmes: 2, applications: 3, approvedFen: "700000", complete: true });
      const sjz = all.body.byPrefecture.find((p: { prefecture: { code: string } }) => p.prefecture.code === "130100");
      expect(sjz.prefecture.name).to.equal("石家庄市");
      expect(sjz.province).to.deep.equal({ code: "130000", name: "河北省" });
      expect(sjz.byRegion["rural-county"]).to.deep.equal({ applications: 1, approvedFen: "100000", paidFen: "0" });
      expect(sjz.byRegion["urban-district"]).to.deep.equal({ applications: 1, approvedFen: "200000", paidFen: "0" });
      const beijing = all.body.byPrefecture.find((p: { prefecture: { code: string } }) => p.prefecture.code === "110000");
      expect(beijing.prefecture.name).to.equal("北京市");
      const county = await get(w, "/v1/totals?region=130123");
      expect(county.body).to.include({ applications: 1, approvedFen: "100000" });
      const agency = await get(w, "/v1/totals?agency=110000-JXJ&region=130000");
      expect(agency.body).to.include({ programmes: 1, applications: 0, approvedFen: "0" });
    });

    it("lists registered agencies with their divisions' names", async () => {
      const w = await createWorld();
      await registerAgencies(w);
      const res = await get(w, "/v1/agencies");
      expect(res.status).to.equal(200);
      const zd = res.body.agencies.find((x: { code: string }) => x.code === "130123-FGW");
      expect(zd.parent).to.equal("130100-FGW");
      expect(zd.division).to.deep.equal({ code: "130123", name: "正定县", level: "county", province: { code: "130000", name: "河北省" }, prefecture: { code: "130100", name: "石家庄市" } });
    });

    it("refuses (400) a region that is no division and an unknown parameter", async () => {
      const w = await createWorld();
      expectProblem(await get(w, "/v1/totals?region=110100"), 400);
      expectProblem(await get(w, "/v1/programmes?region=abc"), 400);
      expectProblem(await get(w, "/v1/totals?province=110000"), 400);
    });
  });
});
