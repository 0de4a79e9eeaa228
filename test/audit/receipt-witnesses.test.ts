/**
 * Receipts and witnesses: the receipt routes cite the published checkpoint,
 * whose note carries the witnesses' cosignatures, and the receipt checker
 * (`npm run verify -- --receipt … --witness-policy …`) verifies such a
 * receipt fully offline when a quorum of trusted witnesses cosigned it, says
 * who vouched, and counts no cosignature from a key outside the policy.
 * No chain is used anywhere here: the CLI is never given --rpc.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { AnchoringInfo } from "../../service/http/receipts";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import { Ledger } from "../../service/ledger/ledger";
import { rootAt } from "../../service/ledger/proofs";
import { cosignCheckpoint, cosignerKeyOf, noteKeyFromSeed, parseSignerKey, signCheckpoint, splitSignedNote, toHex, verifyReceipt, parseVerifierKey, type Receipt } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import type { ReceiptReport } from "../../scripts/lib/audit";
import { createWorld, get, ORIGIN as HTTP_ORIGIN, type World } from "../http/helpers";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { recordScenario, tempDir, verifyCli } from "./helpers";

const witness = (name: string, byte: number) => parseSignerKey(noteKeyFromSeed(name, new Uint8Array(32).fill(byte)).signerKey);
const W1 = witness("w1.audit.example.gov", 71);
const W2 = witness("w2.finance.example.gov", 72);
const W3 = witness("w3.university.example.edu", 73);
/** Same name as W2, another key: an impersonator. */
const FAKE_W2 = witness("w2.finance.example.gov", 74);
const T = 1_780_000_000;

describe("receipts with witness cosignatures", function () {
  let w: World;
  let ids: Record<string, string>;
  let tmp: { dir: string; remove: () => Promise<void> };
  let plain: string;
  let policyFile: string;

  before(async () => {
    const store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date(Date.now() - 60_000).toISOString()), randomBytes: seededRandomBytes(12) });
    ({ ids } = await recordScenario(ledger));
    const size = ledger.size;
    await ledger.close();
    const root = await rootAt(store, size);
    let world: World | undefined;
    const point = (note: string): AnchoredPoint => ({
      chainId: 31337,
      contract: `0x${"22".repeat(20)}`,
      size,
      rootHex: `0x${toHex(root)}`,
      checkpointIndex: 0,
      txHash: null,
      blockNumber: null,
      anchoredAt: "2026-01-01T00:00:00Z",
      signedCheckpoint: note,
    });
    const signed = () => signCheckpoint({ origin: HTTP_ORIGIN, size, rootHash: root, extensions: [] }, world!.noteSigner);
    const anchoring: AnchoringInfo = {
      chainId: 31337,
      contract: `0x${"22".repeat(20)}`,
      fromBlock: 0,
      retryAfterSeconds: 1,
      anchored: () => point(signed()),
      // What the witness stage publishes: the log's note with W1's and W2's cosignatures.
      cited: () => {
        const note = signed();
        const text = splitSignedNote(note).text;
        return point(note + cosignCheckpoint(text, W1, T) + cosignCheckpoint(text, W2, T));
      },
    };
    w = world = await createWorld({ store, anchoring });
    plain = signed();
    tmp = await tempDir();
    policyFile = path.join(tmp.dir, "policy");
    await writeFile(
      policyFile,
      `witness w1 ${cosignerKeyOf(W1)} http://127.0.0.1:7001\nwitness w2 ${cosignerKeyOf(W2)} http://127.0.0.1:7002\nwitness w3 ${cosignerKeyOf(W3)} http://127.0.0.1:7003\ngroup two-of-three 2 w1 w2 w3\nquorum two-of-three\n`,
    );
  });
  after(async () => tmp.remove());

  async function receipt(): Promise<Receipt> {
    const res = await get(w, `/v1/entries/${ids.pay2!}/receipt`);
    expect(res.status, res.text).to.equal(200);
    return res.body as Receipt;
  }
  async function saved(r: unknown): Promise<string> {
    const file = path.join(tmp.dir, `receipt-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(r));
    return file;
  }
  /** The receipt with its checkpoint's cosignature lines replaced. */
  function withCosignatures(r: Receipt, ...lines: string[]): Receipt {
    return { ...r, checkpoint: plain + lines.join("") };
  }
  const text = () => splitSignedNote(plain).text;
  const check = async (file: string, extra: string[] = ["--witness-policy", policyFile]) => {
    const run = await verifyCli(["--receipt", file, "--log-key", w.logKey, ...extra, "--json"]);
    return { code: run.code, report: JSON.parse(run.out) as ReceiptReport, err: run.err };
  };

  describe("the receipt route", () => {
    it("cites the published checkpoint, cosignatures and all, and the receipt is still version 1 and verifies with the log key alone", async () => {
      const r = await receipt();
      expect(r.version).to.equal(1);
      expect(r.checkpoint.startsWith(plain)).to.equal(true);
      expect(splitSignedNote(r.checkpoint).signatures).to.have.length(3);
      expect(verifyReceipt(r, { verifiers: parseVerifierKey(w.logKey) }).checkpoint.size).to.be.greaterThan(0);
    });
  });

  describe("given --witness-policy and --log-key, with no chain", () => {
    it("verifies a receipt cosigned by a quorum (exit 0, its own verdict) and names the witnesses who vouched", async () => {
      const { code, report } = await check(await saved(await receipt()));
      expect(code).to.equal(0);
      expect(report.verdict).to.equal("verified-by-witnesses");
      expect(report.witnesses).to.deep.equal({ quorum: "two-of-three", vouched: ["w1", "w2"], satisfied: true, ignoredLines: 0 });
      expect(report.checks.find((c) => c.check === "witnesses")).to.deep.include({ ok: true });
      expect(report.checks.find((c) => c.check === "chain")).to.deep.include({ ok: null });
      const human = await verifyCli(["--receipt", await saved(await receipt()), "--log-key", w.logKey, "--witness-policy", policyFile]);
      expect(human.code).to.equal(0);
      expect(human.out.split("\n")[0]).to.match(/^RECEIPT VERIFIED BY LOG KEY AND WITNESS QUORUM/);
      expect(human.out).to.contain("vouched by w1, w2: quorum two-of-three met");
    });

    it("does not count cosignatures from keys outside the policy, even under a policy witness's name", async () => {
      const r = withCosignatures(await receipt(), cosignCheckpoint(text(), W1, T), cosignCheckpoint(text(), FAKE_W2, T));
      const { code, report } = await check(await saved(r));
      expect(code).to.equal(4);
      expect(report.verdict).to.equal("trusted-key-only");
      expect(report.witnesses).to.deep.equal({ quorum: "two-of-three", vouched: ["w1"], satisfied: false, ignoredLines: 1 });
      expect(report.notices.join("\n")).to.contain("count for nothing");
    });

    it("finds a receipt invalid when a policy witness's cosignature does not verify (exit 1)", async () => {
      const good = cosignCheckpoint(text(), W2, T);
      // W1's line with one bit of its Ed25519 signature flipped.
      const forged = cosignCheckpoint(text(), W1, T).replace(/ (\S+)\n$/, (_m, b64: string) => {
        const bytes = Buffer.from(b64, "base64");
        bytes[bytes.length - 1]! ^= 1;
        return ` ${bytes.toString("base64")}\n`;
      });
      const { code, report } = await check(await saved(withCosignatures(await receipt(), forged, good)));
      expect(code).to.equal(1);
      expect(report.verdict).to.equal("invalid");
      expect(report.checks.filter((c) => c.ok === false).map((c) => c.check)).to.deep.equal(["witnesses"]);
    });

    it("leaves a receipt without cosignatures to the chain, as before (exit 4 without --rpc)", async () => {
      const { code, report } = await check(await saved(withCosignatures(await receipt())));
      expect(code).to.equal(4);
      expect(report.verdict).to.equal("trusted-key-only");
      expect(report.witnesses!.vouched).to.deep.equal([]);
    });
  });

  describe("without a trusted log key", () => {
    it("is not verified by witnesses alone (exit 3)", async () => {
      const run = await verifyCli(["--receipt", await saved(await receipt()), "--witness-policy", policyFile, "--json"]);
      expect(run.code).to.equal(3);
      expect((JSON.parse(run.out) as ReceiptReport).verdict).to.equal("unverified");
    });
  });

  describe("without --witness-policy", () => {
    it("ignores the cosignatures: a cosigned receipt verifies as before (exit 4 without a chain)", async () => {
      const { code, report } = await check(await saved(await receipt()), []);
      expect(code).to.equal(4);
      expect(report.witnesses).to.equal(null);
    });
  });

  describe("with a bad --witness-policy", () => {
    it("stops with a usage error naming the file (exit 2)", async () => {
      const bad = path.join(tmp.dir, "bad-policy");
      await writeFile(bad, "witness w1 nonsense\n");
      const run = await verifyCli(["--receipt", await saved(await receipt()), "--log-key", w.logKey, "--witness-policy", bad]);
      expect(run.code).to.equal(2);
      expect(run.err).to.contain(`--witness-policy ${bad}: `);
    });
  });
});
