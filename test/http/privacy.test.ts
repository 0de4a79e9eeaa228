/**
 * Privacy: private values (contacts, phone numbers, bank accounts, bank
 * transaction references) and the salts of their commitments must never
 * appear in any public response. The test records entries with distinctive
 * private values, including private replacements in corrections, then
 * crawls every public route, and checks the crawl covers every public GET
 * path in the OpenAPI document.
 */
import { expect } from "chai";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import { signCheckpoint, toHex } from "../../service/log";
import { TileQueries } from "../../service/queries/tiles";
import { MemoryStore } from "../../service/store/memory";
import { ORIGIN, createWorld, creditCode, get, payoutBody, programmeBody, record, applicationBody, decisionBody, type World } from "./helpers";

const PRIVATE = {
  contactPerson: "隐私联系人王五",
  contactAscii: "Private Contact Zhang Qx7",
  phone: "+86 139 7777 1234",
  phone2: "010-6688 9911",
  bankAccount: "6222999988887777666",
  bankAccount2: "6217000011112222333",
  correctedAccount: "6228480000000000123",
  txnRef: "PRIV-TXN-REF-8f3a91",
  txnRef2: "PRIV-TXN-REF-77c0de",
  correctedTxnRef: "PRIV-TXN-CORRECTED-5b2e",
} as const;

/** The forms a string could take in a response: as is, and with non-ASCII escaped as JSON \u sequences. */
function forms(s: string): string[] {
  const escaped = s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped === s ? [s] : [s, escaped];
}

/** A hex salt, also as upper-case hex and as base64 / base64url of its bytes. */
function saltForms(hex: string): string[] {
  const b = Buffer.from(hex, "hex");
  return [hex, hex.toUpperCase(), b.toString("base64").replace(/=+$/, ""), b.toString("base64url")];
}

describe("HTTP API, privacy", () => {
  let w: World;
  const ids: string[] = [];
  const secrets: string[] = [];
  let crawled: { url: string; status: number; text: string }[] = [];

  before(async () => {
    // Anchoring on, faked: every checkpoint the test asks for is "anchored", so the receipt routes answer.
    let anchored: AnchoredPoint | null = null;
    // The published log (/tlog/) serves the same anchored checkpoint, and the tiles and entry bundles under it.
    const store = new MemoryStore();
    const tiles = new TileQueries({ store, published: async () => (anchored === null ? null : { size: anchored.size, note: anchored.signedCheckpoint }) });
    w = await createWorld({
      store,
      tiles,
      anchoring: { chainId: 31337, contract: `0x${"11".repeat(20)}`, fromBlock: 0, retryAfterSeconds: 1, anchored: () => anchored, cited: () => anchored },
    });
    const rec = async (path: string, holder: Parameters<typeof record>[2], body: unknown) => {
      const id = await record(w, path, holder, body);
      ids.push(id);
      return id;
    };
    const prg = await rec("/v1/programmes", "admin", programmeBody({ fourEyesThresholdFen: "1000000" }));
    const app1 = await rec(
      "/v1/applications",
      "clerk",
      applicationBody(prg, { private: { contactPerson: PRIVATE.contactPerson, phone: PRIVATE.phone, bankAccount: PRIVATE.bankAccount } }),
    );
    const app2 = await rec(
      "/v1/applications",
      "clerk",
      applicationBody(prg, {
        creditCode: creditCode(2),
        region: "130123",
        private: { contactPerson: PRIVATE.contactAscii, phone: PRIVATE.phone2, bankAccount: PRIVATE.bankAccount2 },
      }),
    );
    const dec1 = await rec("/v1/decisions", "approver", decisionBody(app1));
    const pay1 = await rec("/v1/payouts", "payer", payoutBody(dec1, { amountFen: "2000000", private: { bankTransactionRef: PRIVATE.txnRef } }));
    await rec("/v1/confirmations", "approver2", { payoutId: pay1 });
    const pay2 = await rec("/v1/payouts", "payer", payoutBody(dec1, { amountFen: "500000", private: { bankTransactionRef: PRIVATE.txnRef2 } }));
    // Under a decision at or above the threshold this payout too is paid, and can be clawed back, only once confirmed.
    await rec("/v1/confirmations", "approver2", { payoutId: pay2 });
    await rec("/v1/corrections", "approver", {
      targetId: app1,
      reasonCode: "data-entry-error",
      reasonText: "银行账号录入错误",
      replacement: { enterpriseName: "北京示例科技股份有限公司", private: { bankAccount: PRIVATE.correctedAccount } },
    });
    await rec("/v1/corrections", "approver", {
      targetId: pay2,
      reasonCode: "superseded",
      reasonText: "银行流水号更正",
      replacement: { private: { bankTransactionRef: PRIVATE.correctedTxnRef } },
    });
    await rec("/v1/corrections", "approver", { targetId: pay2, reasonCode: "clawback", reasonText: "部分追回", clawbackFen: "100000" });
    await rec("/v1/decisions", "approver", decisionBody(app2, { outcome: "rejected", approvedFen: "0" }));

    // The openings the service holds, read as an admin: every private value and salt.
    for (const id of ids) {
      const res = await get(w, `/v1/entries/${id}/private`, w.tokens.admin);
      expect(res.status).to.equal(200);
      for (const o of Object.values((res.body.openings ?? {}) as Record<string, { value: string; salt: string }>)) {
        secrets.push(...forms(o.value), ...saltForms(o.salt));
      }
    }

    const size = w.ledger.size;
    const rootHash = w.ledger.root();
    anchored = {
      chainId: 31337,
      contract: `0x${"11".repeat(20)}`,
      size,
      rootHex: `0x${toHex(rootHash)}`,
      checkpointIndex: 0,
      txHash: null,
      blockNumber: null,
      anchoredAt: "2026-03-10T02:00:00Z",
      signedCheckpoint: signCheckpoint({ origin: ORIGIN, size, rootHash, extensions: [] }, w.noteSigner),
    };

    // Crawl every public route.
    const urls = ["/v1/health", "/v1/openapi.json", "/v1/log/checkpoint", "/v1/programmes", "/v1/programmes?limit=1", "/v1/agencies", "/v1/totals", "/v1/totals?region=110000", `/v1/programmes/${prg}`];
    for (const id of ids) urls.push(`/v1/entries/${id}`, `/v1/entries/${id}/receipt`);
    urls.push("/v1/log/key", "/v1/chain", "/tlog/checkpoint", `/tlog/tile/0/000.p/${size}`, `/tlog/tile/entries/000.p/${size}`);
    for (const cc of [creditCode(1), creditCode(2)]) {
      urls.push(`/v1/enterprises/${cc}`, `/v1/enterprises/${cc}/feed.atom`);
      for (let after = 0; after < size; after++) urls.push(`/v1/enterprises/${cc}?after=${after}&limit=1`);
    }
    urls.push(`/v1/log/entries?start=0&end=${size}`, "/v1/log/entries");
    for (let i = 0; i < size; i++) urls.push(`/v1/log/entries?start=${i}&end=${i + 1}`, `/v1/log/proof/inclusion?index=${i}`);
    for (let from = 0; from <= size; from++) for (let to = from; to <= size; to++) urls.push(`/v1/log/proof/consistency?from=${from}&to=${to}`);
    // Error answers are public responses too.
    urls.push(`/v1/entries/app_${"0".repeat(24)}`, "/v1/entries/bad", `/v1/enterprises/${creditCode(1).slice(0, 17)}X`, "/v1/nope", `/v1/log/proof/inclusion?index=${size}`);
    crawled = [];
    for (const url of urls) {
      // Tiles and bundles are bytes: read every response whole, as text, so the search below sees them too.
      const res = await get(w, url)
        .set("Accept-Encoding", "identity")
        .buffer(true)
        .parse((r, done) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => done(null, Buffer.concat(chunks)));
        });
      crawled.push({ url, status: res.status, text: (res.body as Buffer).toString("utf8") });
    }
  });

  describe("the set-up", () => {
    it("holds every distinctive private value off-log, so the search below can find them", () => {
      for (const value of Object.values(PRIVATE)) expect(secrets, value).to.include(value);
      // 8 entries with private values: 2 applications × 3, 2 payouts × 1, 2 corrections × 1.
      expect(secrets.filter((s) => /^[0-9a-f]{64}$/.test(s))).to.have.length(10);
    });

    it("crawled successfully and found the public data", () => {
      const ok = crawled.filter((c) => c.status === 200);
      expect(ok.length).to.be.greaterThan(100);
      const all = crawled.map((c) => c.text).join("\n");
      expect(all).to.contain("北京示例科技股份有限公司");
      expect(all).to.contain("银行账号录入错误");
      expect(all).to.contain("commitments");
    });
  });

  describe("every public response", () => {
    it("contains no private value and no salt", () => {
      const leaks = crawled.flatMap((c) => secrets.filter((s) => c.text.includes(s)).map((s) => `${c.url} leaks ${s}`));
      expect(leaks).to.deep.equal([]);
    });

    it("contains no `private` field and no `openings`", () => {
      for (const c of crawled) {
        if (c.url === "/v1/openapi.json") continue; // the document describes the private block of the request schemas
        expect(c.text, c.url).to.not.match(/"private"\s*:/);
        expect(c.text, c.url).to.not.contain('"openings"');
        expect(c.text, c.url).to.not.contain('"salt"');
      }
    });
  });

  describe("the crawl", () => {
    it("covers every public GET path in the OpenAPI document", async () => {
      const doc = (await get(w, "/v1/openapi.json")).body as { paths: Record<string, Record<string, { security?: unknown }>> };
      const publicGets = Object.entries(doc.paths)
        .filter(([, ops]) => ops["get"] !== undefined && ops["get"].security === undefined)
        .map(([p]) => p);
      expect(publicGets.length).to.be.greaterThan(8);
      for (const template of publicGets) {
        // `{path}` (the tiles' route) spans several segments; any other parameter is one.
        const re = new RegExp(`^${template.replace("{path}", "[^?]+").replace(/\{[^}]+\}/g, "[^/?]+")}(\\?|$)`);
        expect(
          crawled.some((c) => c.status === 200 && re.test(c.url)),
          `no successful crawl of ${template}`,
        ).to.equal(true);
      }
    });
  });

  describe("the admin private route, for contrast", () => {
    it("does show the values, so the search would have found a leak", async () => {
      const res = await get(w, `/v1/entries/${ids[1]}/private`, w.tokens.approver);
      expect(res.text).to.contain(PRIVATE.bankAccount);
    });
  });
});
