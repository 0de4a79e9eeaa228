/**
 * Erasure through the API: POST /v1/entries/{id}/erasure, its refusals, its
 * idempotency, what the views show afterwards ("erased, commitments kept",
 * never "no private values"), that every entry still verifies, that an
 * enterprise receipt fetched before still verifies offline, and that the
 * erased values appear in no response, public or private, afterwards.
 */
import { expect } from "chai";
import { erasurePathOf } from "../../service/http/admin";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import { hashLeaf, MemoryTree, signCheckpoint, toHex, verifyReceipt, type Receipt } from "../../service/log";
import { ERASED_REQUEST_HASH } from "../../service/store/store";
import { ORIGIN, applicationBody, createWorld, creditCode, decisionBody, expectProblem, get, payoutBody, post, programmeBody, record, type World } from "./helpers";

const SECRET = { contactPerson: "待删除联系人赵六", phone: "+86 135 4444 9876", bankAccount: "6222111122223333444" } as const;
const KEPT = { contactPerson: "保留联系人钱七", phone: "+86 137 5555 0001", bankAccount: "6217555566667777888" } as const;

/** The forms a string could take in a response: as is, and with non-ASCII escaped as JSON \u sequences. */
function forms(s: string): string[] {
  const escaped = s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped === s ? [s] : [s, escaped];
}

describe("HTTP API, erasure of private values", () => {
  let w: World;
  let anchored: AnchoredPoint | null;
  let prg: string;
  let app: string;
  let other: string;
  let pay: string;
  let receiptBefore: Receipt;
  let salts: string[];
  const appKey = "application-to-erase";

  /** Anchors the current tree, so receipts cover every entry. */
  function anchorNow(index: number): void {
    const size = w.ledger.size;
    const rootHash = w.ledger.root();
    anchored = {
      chainId: 31337,
      contract: `0x${"11".repeat(20)}`,
      size,
      rootHex: `0x${toHex(rootHash)}`,
      checkpointIndex: index,
      txHash: null,
      blockNumber: null,
      anchoredAt: "2026-03-10T02:00:00Z",
      signedCheckpoint: signCheckpoint({ origin: ORIGIN, size, rootHash, extensions: [] }, w.noteSigner),
    };
  }

  before(async () => {
    anchored = null;
    w = await createWorld({
      anchoring: { chainId: 31337, contract: `0x${"11".repeat(20)}`, fromBlock: 0, retryAfterSeconds: 1, anchored: () => anchored, cited: () => anchored },
    });
    prg = await record(w, "/v1/programmes", "admin", programmeBody());
    const created = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(prg, { private: SECRET }), appKey);
    expect(created.status).to.equal(201);
    app = created.body.id;
    other = await record(w, "/v1/applications", "clerk", applicationBody(prg, { creditCode: creditCode(2), private: KEPT }));
    pay = await record(w, "/v1/payouts", "payer", payoutBody(await record(w, "/v1/decisions", "approver", decisionBody(other))));
    anchorNow(0);
    const res = await get(w, `/v1/entries/${app}/receipt/private`).set("X-Access-Code", w.accessCodes.codeFor(app));
    expect(res.status, res.text).to.equal(200);
    receiptBefore = res.body as Receipt;
    salts = Object.values(receiptBefore.openings ?? {}).map((o) => o.salt);
    expect(salts).to.have.length(3);
  });

  describe("before the erasure", () => {
    it("shows the entry's private values as present, and a programme's as none", async () => {
      expect((await get(w, `/v1/entries/${app}/private`, w.tokens.admin)).body).to.deep.include({ privateValues: "present", erasure: null });
      expect((await get(w, `/v1/entries/${prg}/private`, w.tokens.admin)).body).to.deep.include({ privateValues: "none", openings: null, erasure: null });
      expect((await get(w, `/v1/entries/${app}`)).body.erasure).to.equal(null);
    });
  });

  describe("a refused erasure", () => {
    const cases: { desc: string; path: () => string; body: unknown; status: number; rule?: string }[] = [
      { desc: "of an unknown entry is 404", path: () => erasurePathOf(`app_${"0".repeat(24)}`), body: { reasonCode: "data-subject-request" }, status: 404 },
      { desc: "of a malformed id is 400", path: () => erasurePathOf("app_nope"), body: { reasonCode: "data-subject-request" }, status: 400 },
      { desc: "with an unknown reason is 400", path: () => erasurePathOf(app), body: { reasonCode: "because-i-said-so" }, status: 400 },
      { desc: "without a reason is 400", path: () => erasurePathOf(app), body: {}, status: 400 },
      { desc: "with free text beside the reason is 400", path: () => erasurePathOf(app), body: { reasonCode: "data-subject-request", note: "赵六来电要求删除" }, status: 400 },
      { desc: "of an entry without private values is 422", path: () => erasurePathOf(prg), body: { reasonCode: "retention-expired" }, status: 422, rule: "erasure-target-private" },
    ];
    for (const c of cases) {
      it(`${c.desc} problem+json, and appends nothing`, async () => {
        const before = w.ledger.size;
        const problem = expectProblem(await post(w, c.path(), w.tokens.admin, c.body), c.status);
        if (c.rule !== undefined) expect(problem["rule"]).to.equal(c.rule);
        expect(w.ledger.size).to.equal(before);
        expect((await get(w, `/v1/entries/${app}/private`, w.tokens.admin)).body.privateValues).to.equal("present");
      });
    }

    it("without an Idempotency-Key is 400, and appends nothing", async () => {
      const before = w.ledger.size;
      expectProblem(await post(w, erasurePathOf(app), w.tokens.admin, { reasonCode: "data-subject-request" }, null), 400);
      expect(w.ledger.size).to.equal(before);
    });
  });

  describe("the erasure", () => {
    let res: Awaited<ReturnType<typeof post>>;
    let sizeAfter: number;
    before(async () => {
      res = await post(w, erasurePathOf(app), w.tokens.admin, { reasonCode: "data-subject-request" }, "erase-1");
      sizeAfter = w.ledger.size;
    });

    it("is 201 with the erasure entry, naming the target, the reason, the official and the fields, and no personal data", () => {
      expect(res.status, res.text).to.equal(201);
      expect(res.headers["location"]).to.equal(`/v1/entries/${res.body.id}`);
      const e = res.body.entry;
      expect(e.kind).to.equal("erasure");
      expect(e.refs).to.deep.equal([app]);
      expect(e.body).to.deep.equal({ targetId: app, reasonCode: "data-subject-request", fields: ["bankAccount", "contactPerson", "phone"] });
      expect(e.actor.role).to.equal("admin");
      expect(e).to.not.have.property("commitments");
      for (const v of Object.values(SECRET)) for (const f of forms(v)) expect(res.text).to.not.contain(f);
    });

    it("is replayed for the same key and body, appending nothing", async () => {
      const again = await post(w, erasurePathOf(app), w.tokens.admin, { reasonCode: "data-subject-request" }, "erase-1");
      expect(again.status).to.equal(201);
      expect(again.headers["idempotent-replayed"]).to.equal("true");
      expect(again.body.id).to.equal(res.body.id);
      expect(w.ledger.size).to.equal(sizeAfter);
    });

    it("is 422 for the same key with another reason, appending nothing", async () => {
      expectProblem(await post(w, erasurePathOf(app), w.tokens.admin, { reasonCode: "retention-expired" }, "erase-1"), 422);
      expect(w.ledger.size).to.equal(sizeAfter);
    });

    it("is 409 (erasure-once) when asked again with a new key, appending nothing", async () => {
      const problem = expectProblem(await post(w, erasurePathOf(app), w.tokens.admin, { reasonCode: "data-subject-request" }), 409);
      expect(problem["rule"]).to.equal("erasure-once");
      expect(w.ledger.size).to.equal(sizeAfter);
    });

    it("is 422 (erasure-target-private) for the erasure entry itself", async () => {
      expect(expectProblem(await post(w, erasurePathOf(res.body.id), w.tokens.admin, { reasonCode: "data-subject-request" }), 422)["rule"]).to.equal("erasure-target-private");
      expect(w.ledger.size).to.equal(sizeAfter);
    });

    describe("afterwards", () => {
      it("the entry view shows the erasure: erased, commitments kept", async () => {
        const view = (await get(w, `/v1/entries/${app}`)).body;
        expect(view.erasure).to.deep.equal({ id: res.body.id, reasonCode: "data-subject-request", recordedAt: res.body.entry.recordedAt, fields: ["bankAccount", "contactPerson", "phone"] });
        expect(Object.keys(view.entry.commitments).sort()).to.deep.equal(["bankAccount", "contactPerson", "phone"]);
        expect(view.revoked).to.equal(false);
        expect((await get(w, `/v1/entries/${other}`)).body.erasure).to.equal(null);
      });

      it("the erasure entry belongs to the erased entry's application", async () => {
        const view = (await get(w, `/v1/entries/${res.body.id}`)).body;
        expect(view.belongsTo).to.deep.include({ kind: "application", id: app });
        const enterprise = (await get(w, `/v1/enterprises/${creditCode(1)}`)).body as { entries: { entry: { id: string } }[] };
        expect(enterprise.entries.map((e) => e.entry.id)).to.include(res.body.id);
      });

      it("the private view says erased, distinct from none, with no openings", async () => {
        const body = (await get(w, `/v1/entries/${app}/private`, w.tokens.admin)).body;
        expect(body).to.deep.include({ privateValues: "erased", openings: null });
        expect(body.erasure.id).to.equal(res.body.id);
        expect((await get(w, `/v1/entries/${prg}/private`, w.tokens.admin)).body.privateValues).to.equal("none");
        expect((await get(w, `/v1/entries/${other}/private`, w.tokens.admin)).body.privateValues).to.equal("present");
      });

      it("the enterprise receipt has no openings, says erased in Private-Values, and still verifies", async () => {
        anchorNow(1);
        const r = await get(w, `/v1/entries/${app}/receipt/private`).set("X-Access-Code", w.accessCodes.codeFor(app));
        expect(r.status).to.equal(200);
        expect(r.headers["private-values"]).to.equal(`erased; erasure=${res.body.id}`);
        expect(r.body).to.not.have.property("openings");
        expect(() => verifyReceipt(r.body as Receipt, { verifiers: w.verifier })).to.not.throw();
        const kept = await get(w, `/v1/entries/${other}/receipt/private`).set("X-Access-Code", w.accessCodes.codeFor(other));
        expect(kept.headers["private-values"]).to.equal("present");
        const none = await get(w, `/v1/entries/${prg}/receipt/private`, w.tokens.admin);
        expect(none.headers["private-values"]).to.equal("none");
      });

      it("the receipt the enterprise fetched before still verifies offline with its own openings", () => {
        const result = verifyReceipt(receiptBefore, { verifiers: w.verifier });
        expect(result).to.be.ok;
        expect(Object.keys(receiptBefore.openings!).sort()).to.deep.equal(["bankAccount", "contactPerson", "phone"]);
        expect(receiptBefore.openings!["phone"]!.value).to.equal(SECRET.phone);
      });

      it("every entry, the erased one included, still hashes into the log's root", async () => {
        const tree = new MemoryTree();
        const size = w.ledger.size;
        for (const leaf of await w.store.leaves(0, size)) tree.append(hashLeaf(leaf.bytes));
        expect(toHex(tree.root(size))).to.equal(toHex(w.ledger.root()));
        const inclusion = await get(w, `/v1/log/proof/inclusion?index=${(await w.store.indexOf(app))!}`);
        expect(inclusion.status).to.equal(200);
      });

      it("the store holds no opening and the application's idempotency record no request hash", async () => {
        expect(await w.store.openings(app)).to.equal(undefined);
        expect(await w.store.openings(other)).to.not.equal(undefined);
        const created = await post(w, "/v1/applications", w.tokens.clerk, applicationBody(prg, { private: SECRET }), appKey);
        expect(expectProblem(created, 422)["detail"]).to.contain("erased");
        expect(w.ledger.size).to.equal(sizeAfter);
        expect(ERASED_REQUEST_HASH).to.equal("erased");
      });

      it("no response, public or private, holds an erased value or salt", async () => {
        anchorNow(2);
        const admin = w.tokens.admin;
        const size = w.ledger.size;
        const ids = [prg, app, other, pay, res.body.id];
        const urls: [string, string | null][] = [];
        for (const id of ids)
          urls.push([`/v1/entries/${id}`, null], [`/v1/entries/${id}/receipt`, null], [`/v1/entries/${id}/private`, admin], [`/v1/entries/${id}/receipt/private`, admin]);
        urls.push([`/v1/enterprises/${creditCode(1)}`, null], [`/v1/log/entries?start=0&end=${size}`, null], [`/v1/programmes/${prg}`, null]);
        const secrets = [...Object.values(SECRET).flatMap(forms), ...salts];
        const leaks: string[] = [];
        for (const [url, token] of urls) {
          const r = await get(w, url, token);
          expect(r.status, url).to.equal(200);
          for (const s of secrets) if (r.text.includes(s)) leaks.push(`${url} leaks ${s}`);
        }
        const viaCode = await get(w, `/v1/entries/${app}/receipt/private`).set("X-Access-Code", w.accessCodes.codeFor(app));
        for (const s of secrets) if (viaCode.text.includes(s)) leaks.push(`the enterprise receipt leaks ${s}`);
        expect(leaks).to.deep.equal([]);
        // The search can find values: the other application's are still served.
        expect((await get(w, `/v1/entries/${other}/private`, admin)).text).to.contain(KEPT.bankAccount);
      });
    });
  });
});
