/**
 * Receipt mode: receipts downloaded from the API (the receipt routes over a
 * store anchored on LedgerAnchor on Hardhat's network) verify, offline and
 * on the chain; an altered middle proof element (tamper 8) and an altered
 * private value (tamper 9) are caught, each check reported on its own.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { AnchoringInfo } from "../../service/http/receipts";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import { Ledger } from "../../service/ledger/ledger";
import { rootAt } from "../../service/ledger/proofs";
import { signCheckpoint, toHex, type Receipt } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import { checkReceipt, MemoryChainReader, type ReceiptReport } from "../../scripts/lib/audit";
import { createWorld, get, ORIGIN as HTTP_ORIGIN, type World } from "../http/helpers";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { deployAnchor, recordScenario, tempDir, verifyCli } from "./helpers";

describe("receipt mode", function () {
  let w: World;
  let ids: Record<string, string>;
  let chain: Awaited<ReturnType<typeof deployAnchor>>;
  let tmp: { dir: string; remove: () => Promise<void> };

  before(async () => {
    const store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date(Date.now() - 60_000).toISOString()), randomBytes: seededRandomBytes(11) });
    ({ ids } = await recordScenario(ledger));
    const size = ledger.size;
    await ledger.close();
    chain = await deployAnchor();
    await chain.anchor(store, 9);
    await chain.anchor(store, size);
    const root = await rootAt(store, size);
    let world: World | undefined;
    const point = (): AnchoredPoint => ({
      chainId: 31337,
      contract: chain.address,
      size,
      rootHex: `0x${toHex(root)}`,
      checkpointIndex: 1,
      txHash: null,
      blockNumber: null,
      anchoredAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      signedCheckpoint: signCheckpoint({ origin: HTTP_ORIGIN, size, rootHash: root, extensions: [] }, world!.noteSigner),
    });
    const anchoring: AnchoringInfo = { chainId: 31337, contract: chain.address, fromBlock: 0, retryAfterSeconds: 1, anchored: point, cited: point };
    w = world = await createWorld({ store, anchoring });
    tmp = await tempDir();
  });
  after(async () => tmp.remove());

  async function publicReceipt(id: string): Promise<Receipt> {
    const res = await get(w, `/v1/entries/${id}/receipt`);
    expect(res.status, res.text).to.equal(200);
    return res.body as Receipt;
  }

  async function privateReceipt(id: string): Promise<Receipt> {
    const res = await get(w, `/v1/entries/${id}/receipt/private`, w.tokens.admin);
    expect(res.status, res.text).to.equal(200);
    return res.body as Receipt;
  }

  async function saved(receipt: unknown): Promise<string> {
    const file = path.join(tmp.dir, `receipt-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(receipt));
    return file;
  }

  const failed = (r: ReceiptReport) => r.checks.filter((c) => c.ok === false).map((c) => c.check);

  describe("a receipt downloaded from the API", () => {
    it("verifies offline and on the chain (exit 0)", async () => {
      const file = await saved(await publicReceipt(ids.pay2!));
      const r = await verifyCli(["--receipt", file, "--log-key", w.logKey, "--rpc", "http://x.invalid", "--contract", chain.address, "--json"], chain.reader);
      expect(r.code, r.out).to.equal(0);
      const report = JSON.parse(r.out) as ReceiptReport;
      expect(report.checks.map((c) => [c.check, c.ok])).to.deep.equal([
        ["format", true],
        ["signature", true],
        ["inclusion", true],
        ["commitments", null],
        ["chain", true],
      ]);
      expect(report.entry).to.deep.include({ id: ids.pay2, kind: "payout" });
      expect(report.verdict).to.equal("verified");
      expect(report.trust).to.deep.equal({ key: "given", chain: "given contract", notChecked: [] });
    });

    it("says RECEIPT VERIFIED in text only with the trusted key and the given contract", async () => {
      const file = await saved(await publicReceipt(ids.pay2!));
      const r = await verifyCli(["--receipt", file, "--log-key", w.logKey, "--rpc", "http://x.invalid", "--contract", chain.address], chain.reader);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/^RECEIPT VERIFIED: signed with the trusted log key and anchored on the contract given\n/);
      expect(r.out).not.to.include("Not checked");
    });

    it("with its private values, proves each against its commitment", async () => {
      const report = await checkReceipt(await privateReceipt(ids.app1!), { verifiers: [w.verifier], chain: null });
      expect(report.ok).to.equal(true);
      expect(report.openings).to.deep.equal(["bankAccount", "contactPerson", "phone"]);
    });

    it("without --log-key, is checked with its own key and says so", async () => {
      const file = await saved(await publicReceipt(ids.dec1!));
      const r = await verifyCli(["--receipt", file]);
      expect(r.out).to.include("from the receipt itself").and.include("compare it with a copy you trust");
    });
  });

  describe("when the receipt is checked against less than both trust anchors", () => {
    it("alone (no --log-key, no chain), is not called valid: exit 3, and says what was not checked", async () => {
      const file = await saved(await publicReceipt(ids.dec1!));
      const r = await verifyCli(["--receipt", file]);
      expect(r.code).to.equal(3);
      expect(r.out).to.match(/^RECEIPT CONSISTENT, NOT VERIFIED AGAINST ANY TRUSTED KEY OR CHAIN\n/);
      expect(r.out).not.to.match(/VALID|RECEIPT VERIFIED/);
      expect(r.out).to.include("Not checked").and.include("give --log-key").and.include("give --rpc and --contract");
      const json = await verifyCli(["--receipt", file, "--json"]);
      expect(json.code).to.equal(3);
      const report = JSON.parse(json.out) as ReceiptReport;
      expect(report).to.deep.include({ ok: true, verdict: "unverified" });
      expect(report.trust).to.deep.include({ key: "receipt", chain: "not read" });
    });

    it("with the trusted key and no chain: its own verdict, exit 4", async () => {
      const file = await saved(await publicReceipt(ids.dec1!));
      const r = await verifyCli(["--receipt", file, "--log-key", w.logKey]);
      expect(r.code).to.equal(4);
      expect(r.out).to.match(/^RECEIPT SIGNED WITH THE TRUSTED LOG KEY, NOT VERIFIED ON THE CHAIN\n/);
      expect((JSON.parse((await verifyCli(["--receipt", file, "--log-key", w.logKey, "--json"])).out) as ReceiptReport).verdict).to.equal("trusted-key-only");
    });

    it("with the trusted key and the chain read at the contract the receipt names (no --contract): exit 4", async () => {
      const file = await saved(await publicReceipt(ids.dec1!));
      const r = await verifyCli(["--receipt", file, "--log-key", w.logKey, "--rpc", "http://x.invalid", "--json"], chain.reader);
      expect(r.code).to.equal(4);
      const report = JSON.parse(r.out) as ReceiptReport;
      expect(report.verdict).to.equal("trusted-key-only");
      expect(report.trust.chain).to.equal("contract named by the receipt");
      expect(report.trust.notChecked.join(" ")).to.include("give --contract");
    });

    it("on the given contract without a trusted key: exit 4", async () => {
      const file = await saved(await publicReceipt(ids.dec1!));
      const r = await verifyCli(["--receipt", file, "--rpc", "http://x.invalid", "--contract", chain.address], chain.reader);
      expect(r.code).to.equal(4);
      expect(r.out).to.match(/^RECEIPT ANCHORED ON THE CONTRACT GIVEN, SIGNATURE NOT CHECKED WITH A TRUSTED KEY\n/);
    });

    it("an invalid receipt is INVALID (exit 1) whatever the anchors", async () => {
      const receipt = await publicReceipt(ids.dec2!);
      const file = await saved({ ...receipt, entry: { ...receipt.entry, id: "dec_000000000000000000000000" } });
      const r = await verifyCli(["--receipt", file]);
      expect(r.code).to.equal(1);
      expect(r.out).to.match(/^RECEIPT INVALID\n/);
    });

    it("--help documents the verdicts and their exit codes", async () => {
      const r = await verifyCli(["--help"]);
      expect(r.code).to.equal(0);
      expect(r.out).to.include("RECEIPT CONSISTENT, NOT VERIFIED AGAINST ANY TRUSTED KEY OR CHAIN").and.include("(exit 3)").and.include("(exit 4)");
      // The help text is wrapped for a terminal: compare it as words.
      expect(r.out.replace(/\s+/g, " ")).to.include("3 a receipt checked against nothing trusted, 4 a receipt checked against one trust anchor only");
    });
  });

  describe("when one middle element of the inclusion proof is altered (tamper 8)", () => {
    it("fails the inclusion check (exit 1), and only that check", async () => {
      const receipt = await publicReceipt(ids.app1!);
      const proof = [...receipt.inclusionProof];
      expect(proof.length).to.be.greaterThanOrEqual(3);
      const mid = Math.floor(proof.length / 2);
      proof[mid] = proof[mid]!.slice(0, 10) + (proof[mid]![10] === "0" ? "1" : "0") + proof[mid]!.slice(11);
      const file = await saved({ ...receipt, inclusionProof: proof });
      const r = await verifyCli(["--receipt", file, "--log-key", w.logKey, "--rpc", "http://x.invalid", "--contract", chain.address, "--json"], chain.reader);
      expect(r.code).to.equal(1);
      const report = JSON.parse(r.out) as ReceiptReport;
      expect(failed(report)).to.deep.equal(["inclusion"]);
      expect(report.checks.find((c) => c.check === "inclusion")!.detail).to.include("ROOT_MISMATCH");
    });

    it("fails whichever element is altered, first, middle or last", async () => {
      const receipt = await publicReceipt(ids.pay6!);
      for (let i = 0; i < receipt.inclusionProof.length; i++) {
        const proof = [...receipt.inclusionProof];
        proof[i] = "00".repeat(32);
        const report = await checkReceipt({ ...receipt, inclusionProof: proof }, { verifiers: [w.verifier], chain: null });
        expect(failed(report), `element ${i}`).to.deep.equal(["inclusion"]);
      }
    });
  });

  describe("when a private value is changed against its commitment (tamper 9)", () => {
    it("fails the commitments check, naming the field (exit 1)", async () => {
      const receipt = await privateReceipt(ids.app2!);
      const openings = { ...receipt.openings!, phone: { ...receipt.openings!.phone!, value: "+86 138 0000 0001" } };
      const file = await saved({ ...receipt, openings });
      const r = await verifyCli(["--receipt", file, "--log-key", w.logKey, "--json"]);
      expect(r.code).to.equal(1);
      const report = JSON.parse(r.out) as ReceiptReport;
      expect(report.checks.filter((c) => c.ok === false).map((c) => c.detail)).to.deep.equal(["phone: the value and salt do not hash to the entry's commitment"]);
      expect(report.openings).to.deep.equal(["bankAccount", "contactPerson"]);
    });
  });

  describe("other failures", () => {
    it("a checkpoint the chain does not hold fails the chain check", async () => {
      const receipt = await publicReceipt(ids.app1!);
      const empty = new MemoryChainReader([]);
      const report = await checkReceipt(receipt, { verifiers: [w.verifier], chain: empty });
      expect(failed(report)).to.deep.equal(["chain"]);
    });

    it("a receipt for another chain fails the chain check", async () => {
      const receipt = await publicReceipt(ids.app1!);
      const report = await checkReceipt({ ...receipt, anchor: { ...receipt.anchor, chainId: 1 } }, { verifiers: [w.verifier], chain: chain.reader });
      expect(failed(report)).to.deep.equal(["chain"]);
    });

    it("an altered entry fails the inclusion check", async () => {
      const receipt = await publicReceipt(ids.dec2!);
      const entry = { ...receipt.entry, body: { ...(receipt.entry.body as object), approvedFen: "9000000" } };
      expect(failed(await checkReceipt({ ...receipt, entry }, { verifiers: [w.verifier], chain: null }))).to.deep.equal(["inclusion"]);
    });

    it("a file that is not a receipt fails the format check (exit 1); a missing file exits 2", async () => {
      const file = await saved({ format: "something-else" });
      expect((await verifyCli(["--receipt", file])).code).to.equal(1);
      expect((await verifyCli(["--receipt", path.join(tmp.dir, "missing.json")])).code).to.equal(2);
    });
  });
});
