/**
 * Recorded text, end to end: a name or reason holding a bidi override, a
 * zero-width character, a C1 control (and the rest of what
 * records/values.ts parsePlainText refuses) is a 400 naming the field, and
 * nothing is appended. Every field is covered by test/records/text-fields.test.ts;
 * these are a handful through the API.
 */
import { expect } from "chai";
import { listTokens } from "../../service/auth/tokens";
import type { MemoryStore } from "../../service/store/memory";
import { applicationBody, approvedApplication, createWorld, decisionBody, expectProblem, get, post, programmeBody, record, type Holder, type World } from "./helpers";

interface Case {
  readonly desc: string;
  readonly path: string;
  readonly as: Holder;
  readonly body: (ids: { programmeId: string; applicationId: string }) => unknown;
  /** The field `errors[].path` must name. */
  readonly field: string;
  readonly code: string;
}

const CASES: readonly Case[] = [
  { desc: "a programme name with a right-to-left override (U+202E)", path: "/v1/programmes", as: "admin", body: () => programmeBody({ name: "补贴\u202e0202" }), field: "/name", code: "TEXT_CHARACTER" },
  { desc: "an agency with a zero-width space (U+200B)", path: "/v1/programmes", as: "admin", body: () => programmeBody({ agency: "市工信\u200b局" }), field: "/agency", code: "TEXT_CHARACTER" },
  {
    desc: "a policy document URL with a right-to-left override",
    path: "/v1/programmes",
    as: "admin",
    body: () => programmeBody({ policyDocument: { sha256: "ab".repeat(32), url: "https://www.gov.cn/\u202etxt.exe" } }),
    field: "/policyDocument/url",
    code: "TEXT_CHARACTER",
  },
  { desc: "an enterprise name with a C1 control (U+0085)", path: "/v1/applications", as: "clerk", body: (ids) => applicationBody(ids.programmeId, { enterpriseName: "某某\u0085科技有限公司" }), field: "/enterpriseName", code: "TEXT_CHARACTER" },
  {
    desc: "a private contact person with a soft hyphen",
    path: "/v1/applications",
    as: "clerk",
    body: (ids) => applicationBody(ids.programmeId, { private: { contactPerson: "张\u00ad三", phone: "13800000000", bankAccount: "6222020200112233" } }),
    field: "/private/contactPerson",
    code: "TEXT_CHARACTER",
  },
  { desc: "a decision reason with a line feed", path: "/v1/decisions", as: "approver", body: (ids) => decisionBody(ids.applicationId, { reason: "符合\n条件" }), field: "/reason", code: "TEXT_CHARACTER" },
  { desc: "a decision reason not in NFC", path: "/v1/decisions", as: "approver", body: (ids) => decisionBody(ids.applicationId, { reason: "Cafe\u0301" }), field: "/reason", code: "TEXT_NOT_NFC" },
  {
    desc: "a correction's replacement name with a left-to-right isolate",
    path: "/v1/corrections",
    as: "approver",
    body: (ids) => ({ targetId: ids.applicationId, reasonCode: "data-entry-error", reasonText: "录入错误", replacement: { enterpriseName: "某某\u2066科技" } }),
    field: "/replacement/enterpriseName",
    code: "TEXT_CHARACTER",
  },
  {
    desc: "a batch record's programme name with a byte-order mark",
    path: "/v1/batch",
    as: "admin",
    body: () => ({ records: [{ kind: "programme", body: programmeBody() }, { kind: "programme", body: programmeBody({ name: "\ufeff补贴" }) }] }),
    field: "/records/1/body/name",
    code: "TEXT_CHARACTER",
  },
  { desc: "a token's official with a right-to-left override", path: "/v1/admin/tokens", as: "admin", body: () => ({ official: "li\u202egnaw", agency: "市工信局", role: "clerk" }), field: "/official", code: "TEXT_CHARACTER" },
  { desc: "a token's agency with a private-use character", path: "/v1/admin/tokens", as: "admin", body: () => ({ official: "li.wang", agency: "市工信局\ue000", role: "clerk" }), field: "/agency", code: "TEXT_CHARACTER" },
];

describe("HTTP API, recorded text", () => {
  let w: World;
  let ids: { programmeId: string; applicationId: string };
  before(async () => {
    w = await createWorld();
    ids = await approvedApplication(w);
  });

  for (const c of CASES) {
    describe(`with ${c.desc} on POST ${c.path}`, () => {
      it(`answers 400 naming ${c.field} (${c.code}), and appends nothing`, async () => {
        const store = w.store as MemoryStore;
        const size = w.ledger.size;
        const commits = store.commits;
        const tokens = (await listTokens(store)).length;
        const res = await post(w, c.path, w.tokens[c.as], c.body(ids), c.path === "/v1/admin/tokens" ? null : undefined);
        const problem = expectProblem(res, 400);
        const errors = problem["errors"] as { path: string; code: string; message: string }[];
        expect(errors.map((e) => [e.path, e.code])).to.deep.include([c.field, c.code]);
        expect(res.text, "the response does not echo the character").to.not.match(/[\u202e\u200b\u0085\u00ad\u2066\ufeff\ue000]/);
        expect(w.ledger.size, "tree size").to.equal(size);
        expect(store.commits, "commits").to.equal(commits);
        expect((await listTokens(store)).length, "tokens").to.equal(tokens);
      });
    });
  }

  describe("with legitimate Chinese text", () => {
    it("records it byte for byte: ideographs, CJK punctuation, full-width forms, middle dots and the ideographic space", async () => {
      const name = "“专精特新”·中小企业（第二批）：ＡＢＣ１２３　补贴、奖励！";
      const enterpriseName = "阿卜杜拉・买买提𠀀科技有限公司";
      const programmeId = await record(w, "/v1/programmes", "admin", programmeBody({ name }));
      const applicationId = await record(w, "/v1/applications", "clerk", applicationBody(programmeId, { enterpriseName }));
      const programme = await get(w, `/v1/entries/${programmeId}`);
      const application = await get(w, `/v1/entries/${applicationId}`);
      expect(JSON.stringify(programme.body)).to.include(JSON.stringify(name).slice(1, -1));
      expect(JSON.stringify(application.body)).to.include(JSON.stringify(enterpriseName).slice(1, -1));
    });
  });
});
