/**
 * GET /v1/enterprises/:creditCode/feed.atom: the enterprise's Atom feed,
 * read back with a strict XML parser as a feed reader would, after each new
 * record; only public fields, correct escaping, stable ids.
 */
import { expect } from "chai";
import { erasurePathOf } from "../../service/http/admin";
import { EMPTY_FEED_UPDATED, enterpriseFeedXml, xmlEscape } from "../../service/format/atom";
import { APPLICATION_PRIVATE, PAYOUT_REF, confirmationRequest, correctionRequest } from "../helpers/ledger-fixtures";
import { child, childrenNamed, parseXml, XmlError, type XmlElement } from "../helpers/xml";
import {
  applicationBody,
  createWorld,
  creditCode,
  decisionBody,
  expectProblem,
  get,
  ORIGIN,
  payoutBody,
  post,
  programmeBody,
  record,
  type World,
} from "./helpers";

const ATOM = "http://www.w3.org/2005/Atom";

async function feedOf(w: World, code: string): Promise<{ feed: XmlElement; text: string }> {
  const res = await get(w, `/v1/enterprises/${code}/feed.atom`);
  expect(res.status, res.text).to.equal(200);
  expect(res.headers["content-type"]).to.equal("application/atom+xml; charset=utf-8");
  const text = res.text;
  const feed = parseXml(text);
  expect(feed.name).to.equal("feed");
  expect(feed.attrs["xmlns"]).to.equal(ATOM);
  return { feed, text };
}

const entriesOf = (feed: XmlElement) => childrenNamed(feed, "entry");
const hrefs = (e: XmlElement) => Object.fromEntries(childrenNamed(e, "link").map((l) => [l.attrs["rel"] ?? "alternate", l.attrs["href"]]));

describe("the enterprise's Atom feed", function () {
  describe("the strict XML reader the tests use", function () {
    it("refuses what is not well-formed", function () {
      for (const bad of [
        "<feed><a></feed>",
        "<feed>a & b</feed>",
        "<feed>&nbsp;</feed>",
        "<feed a=1/>",
        '<feed a="1" a="2"/>',
        "<feed/><feed/>",
        "<feed>\u0001</feed>",
        "<feed>",
        '<feed a="<"/>',
      ])
        expect(() => parseXml(bad), bad).to.throw(XmlError);
      expect(parseXml('<?xml version="1.0" encoding="utf-8"?>\n<a x="&lt;&amp;">t&#x4e2d;<b/></a>\n')).to.deep.include({ name: "a", attrs: { x: "<&" }, text: "t中" });
    });
  });

  describe("for an enterprise with records", function () {
    let w: World;
    let ids: { applicationId: string; decisionId: string };
    const code = creditCode(1);

    before(async function () {
      w = await createWorld();
      // A payout of 10 000 yuan is above this threshold, so it needs a confirmation.
      const programmeId = await record(w, "/v1/programmes", "admin", programmeBody({ fourEyesThresholdFen: "500000" }));
      const applicationId = await record(w, "/v1/applications", "clerk", applicationBody(programmeId));
      const decisionId = await record(w, "/v1/decisions", "approver", decisionBody(applicationId));
      // Another enterprise's application: never in this feed.
      await record(w, "/v1/applications", "clerk", applicationBody(programmeId, { creditCode: creditCode(2), enterpriseName: "别家公司" }));
      ids = { applicationId, decisionId };
    });

    it("lists its entries newest first, each with a stable id, a title, dates and links to its portal page and receipt", async function () {
      const { feed } = await feedOf(w, code);
      expect(child(feed, "id").text).to.equal(`urn:subsidy-ledger:feed:${encodeURIComponent(ORIGIN)}:enterprise:${code}`);
      expect(child(feed, "title").text).to.contain("北京示例科技有限公司").and.contain(code);
      expect(child(child(feed, "author"), "name").text).to.equal(ORIGIN);
      const entries = entriesOf(feed);
      expect(entries.map((e) => child(e, "id").text)).to.deep.equal([ids.decisionId, ids.applicationId].map((id) => `urn:subsidy-ledger:entry:${encodeURIComponent(ORIGIN)}:${id}`));
      expect(child(entries[0]!, "title").text).to.equal("审批决定 Decision: 批准 approved ¥30,000.00");
      expect(child(entries[1]!, "title").text).to.equal("申请 Application: ¥30,000.00");
      expect(hrefs(entries[0]!)).to.deep.equal({ alternate: `/#/entry/${ids.decisionId}`, related: `/v1/entries/${ids.decisionId}/receipt` });
      const decision = (await get(w, `/v1/entries/${ids.decisionId}`)).body as { entry: { recordedAt: string } };
      expect(child(entries[0]!, "updated").text).to.equal(decision.entry.recordedAt);
      expect(child(feed, "updated").text).to.equal(decision.entry.recordedAt);
      expect(child(entries[0]!, "category").attrs["term"]).to.equal("decision");
      expect(child(entries[1]!, "summary").text).to.contain("北京示例科技有限公司");
    });

    it("shows a new payout as its newest entry once it is recorded, then its confirmation, correction and erasure", async function () {
      const before = await feedOf(w, code);
      const payoutId = await record(w, "/v1/payouts", "payer", payoutBody(ids.decisionId));
      const { feed } = await feedOf(w, code);
      expect(child(feed, "id").text).to.equal(child(before.feed, "id").text);
      const entries = entriesOf(feed);
      expect(entries).to.have.length(entriesOf(before.feed).length + 1);
      expect(child(entries[0]!, "id").text).to.equal(`urn:subsidy-ledger:entry:${encodeURIComponent(ORIGIN)}:${payoutId}`);
      expect(child(entries[0]!, "title").text).to.equal("拨付 Payout: ¥10,000.00");
      expect(hrefs(entries[0]!)["related"]).to.equal(`/v1/entries/${payoutId}/receipt`);

      const confirmationId = await record(w, "/v1/confirmations", "approver", confirmationRequest(payoutId));
      const correctionId = await record(w, "/v1/corrections", "approver", correctionRequest(payoutId, "data-entry-error", { replacement: { paidOn: "2026-03-08" } }));
      const erasure = await post(w, erasurePathOf(ids.applicationId), w.tokens.admin, { reasonCode: "data-subject-request" });
      expect(erasure.status, erasure.text).to.equal(201);
      const after = entriesOf((await feedOf(w, code)).feed);
      expect(after.slice(0, 4).map((e) => child(e, "category").attrs["term"])).to.deep.equal(["erasure", "correction", "confirmation", "payout"]);
      expect(child(after[2]!, "id").text).to.contain(confirmationId);
      expect(child(after[1]!, "id").text).to.contain(correctionId);
      expect(child(after[0]!, "title").text).to.equal("个人信息删除 Erasure: data-subject-request");
    });

    it("never carries a private value or a salt", async function () {
      const { text } = await feedOf(w, code);
      for (const v of [...Object.values(APPLICATION_PRIVATE), PAYOUT_REF]) expect(text).to.not.contain(v);
      const openings = await w.store.openings(ids.applicationId);
      for (const o of Object.values(openings ?? {})) {
        const opening = o as { value?: unknown; salt?: unknown };
        if (typeof opening.salt === "string") expect(text).to.not.contain(opening.salt);
      }
      // The erasure names the erased fields (public); their values and the commitments never appear.
      expect(text).to.not.match(/salt|commitment/);
    });
  });

  describe("for a valid credit code nothing was recorded about", function () {
    it("is an empty feed, not a 404, so a reader can subscribe before the first record", async function () {
      const w = await createWorld();
      const { feed } = await feedOf(w, creditCode(3));
      expect(entriesOf(feed)).to.have.length(0);
      expect(child(feed, "updated").text).to.equal(EMPTY_FEED_UPDATED);
    });
  });

  describe("for an invalid credit code", function () {
    it("is a 400 problem", async function () {
      const w = await createWorld();
      for (const bad of ["nope", "91110000000000000X", `${creditCode(1)}x`]) {
        const body = expectProblem(await get(w, `/v1/enterprises/${bad}/feed.atom`), 400);
        expect(String(body["type"])).to.match(/validation|invalid/);
      }
    });
  });

  describe("escaping", function () {
    it("keeps markup characters in public text as text, and drops characters XML cannot carry", function () {
      const tricky = `A&B <Co> "X" 'Y' ]]> \u0001`;
      const xml = enterpriseFeedXml({
        origin: "o.example/log",
        creditCode: creditCode(1),
        entries: [{ id: "app_" + "0".repeat(24), kind: "application", recordedAt: "2026-03-10T02:00:00.000Z", actor: { agency: tricky }, body: { enterpriseName: tricky, requestedFen: "1" } }],
      });
      const feed = parseXml(xml);
      expect(child(feed, "title").text).to.contain(`A&B <Co> "X" 'Y' ]]> `);
      expect(child(entriesOf(feed)[0]!, "summary").text).to.contain(`记录机关 recorded by: A&B <Co> "X" 'Y' ]]> `);
      expect(xmlEscape("\u0001\uFFFE")).to.equal("");
    });
  });
});
