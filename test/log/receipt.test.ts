import { expect } from "chai";
import {
  canonicalBytes,
  CheckpointError,
  commitmentOf,
  fromHex,
  hashLeaf,
  MemoryTree,
  noteKeyFromSeed,
  opensCommitment,
  opensCommitmentAsync,
  parseReceipt,
  parseSignerKey,
  parseVerifierKey,
  RECEIPT_FORMAT,
  RECEIPT_VERSION,
  ReceiptError,
  signCheckpoint,
  toHex,
  VerificationError,
  verifyReceipt,
  type Receipt,
  type ReceiptErrorCode,
} from "../../service/log";

const ORIGIN = "receipts.test.example/log";
const KEY = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(3));
const OTHER_KEY = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(4));
const VERIFIER = parseVerifierKey(KEY.verifierKey);
const SALT = "ab".repeat(32);

function entryAt(i: number): Receipt["entry"] {
  return {
    v: 1,
    id: `entry-${i}`,
    kind: "application",
    recordedAt: "2026-03-10T02:00:00.000Z",
    actor: { official: "clerk.li", agency: "市工信局", role: "clerk" },
    refs: ["programme-0"],
    body: { enterpriseName: `企业 ${i}`, amountFen: String(100_000 + i) },
    commitments: { phone: commitmentOf(`1380000${String(i).padStart(4, "0")}`, fromHex(SALT)) },
  };
}

/** A receipt for leaf `index` of a `size`-leaf log, signed with `signer`, as the service builds it. */
function receiptFor(index: number, size: number, signerKey = KEY.signerKey, withOpenings = true): Receipt {
  const entries = Array.from({ length: size }, (_, i) => entryAt(i));
  const tree = new MemoryTree(entries.map((e) => hashLeaf(canonicalBytes(e))));
  const checkpoint = signCheckpoint({ origin: ORIGIN, size, rootHash: tree.root(), extensions: [] }, parseSignerKey(signerKey));
  return {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION,
    entry: entries[index]!,
    leafIndex: index,
    checkpoint,
    inclusionProof: tree.inclusionProof(index).map(toHex),
    anchor: { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3", checkpointIndex: 2, txHash: `0x${"12".repeat(32)}`, blockNumber: 9, anchoredAt: "2026-03-10T02:00:01Z" },
    logKey: KEY.verifierKey,
    ...(withOpenings ? { openings: { phone: { value: `1380000${String(index).padStart(4, "0")}`, salt: SALT } } } : {}),
  };
}

function clone(r: Receipt): Record<string, unknown> {
  return JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
}

function expectReceiptError(fn: () => unknown, code: ReceiptErrorCode, path?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "should have thrown").to.be.instanceOf(ReceiptError);
  expect((thrown as ReceiptError).code).to.equal(code);
  if (path !== undefined) expect((thrown as ReceiptError).path).to.equal(path);
}

describe("receipts", function () {
  describe("a receipt as the service builds it", function () {
    for (const [index, size] of [
      [0, 1],
      [5, 13],
      [12, 13],
      [31, 64],
    ] as const)
      it(`verifies for leaf ${index} of ${size}, and names the checkpoint the chain must hold`, function () {
        const r = receiptFor(index, size);
        const check = verifyReceipt(r, { verifiers: VERIFIER });
        expect(check.checkpoint.size).to.equal(size);
        expect(check.opened).to.deep.equal(["phone"]);
        expect(check.selfKeyed).to.equal(false);
        expect(check.chainClaim).to.deep.equal({
          chainId: 31337,
          contract: r.anchor.contract,
          checkpointIndex: 2,
          size,
          rootHex: `0x${toHex(check.checkpoint.rootHash)}`,
        });
        expect(toHex(check.leafHash)).to.equal(toHex(hashLeaf(canonicalBytes(r.entry))));
      });

    it("verifies from its JSON text too", function () {
      expect(verifyReceipt(JSON.stringify(receiptFor(3, 8)), { verifiers: VERIFIER }).opened).to.deep.equal(["phone"]);
    });

    it("verifies without openings (the public receipt)", function () {
      expect(verifyReceipt(receiptFor(3, 8, KEY.signerKey, false), { verifiers: VERIFIER }).opened).to.deep.equal([]);
    });
  });

  describe("when a proof element in the middle is altered", function () {
    it("throws a VerificationError with both roots, for every position of the proof", function () {
      const r = receiptFor(21, 64);
      expect(r.inclusionProof.length).to.equal(6);
      for (let k = 0; k < r.inclusionProof.length; k++) {
        const bad = clone(r) as { inclusionProof: string[] };
        const bytes = fromHex(bad.inclusionProof[k]!);
        bytes[7] = bytes[7]! ^ 0x01;
        bad.inclusionProof[k] = toHex(bytes);
        let thrown: unknown;
        try {
          verifyReceipt(bad, { verifiers: VERIFIER });
        } catch (e) {
          thrown = e;
        }
        expect(thrown, `proof element ${k}`).to.be.instanceOf(VerificationError);
        expect((thrown as VerificationError).code).to.equal("ROOT_MISMATCH");
        expect((thrown as VerificationError).detail.calculated).to.not.deep.equal((thrown as VerificationError).detail.expected);
      }
    });
  });

  describe("when the entry was changed", function () {
    it("throws ROOT_MISMATCH: the leaf hash no longer leads to the root", function () {
      const bad = clone(receiptFor(4, 9)) as { entry: { body: { amountFen: string } } };
      bad.entry.body.amountFen = "999999999";
      expect(() => verifyReceipt(bad, { verifiers: VERIFIER })).to.throw(VerificationError).with.property("code", "ROOT_MISMATCH");
    });

    it("throws when the leaf index is moved", function () {
      const bad = { ...receiptFor(4, 9), leafIndex: 5 };
      expect(() => verifyReceipt(bad, { verifiers: VERIFIER })).to.throw(VerificationError);
    });
  });

  describe("when the checkpoint is signed with another key", function () {
    it("throws a CheckpointError against the trusted key", function () {
      const r = receiptFor(2, 5, OTHER_KEY.signerKey);
      expect(() => verifyReceipt(r, { verifiers: VERIFIER })).to.throw(CheckpointError);
    });

    it("still fails when the receipt carries the other key: the caller's key decides", function () {
      const r = { ...receiptFor(2, 5, OTHER_KEY.signerKey), logKey: OTHER_KEY.verifierKey };
      expect(() => verifyReceipt(r, { verifiers: VERIFIER })).to.throw(CheckpointError);
      expect(verifyReceipt(r, { trustReceiptKey: true }).selfKeyed).to.equal(true);
    });
  });

  describe("when no trusted key is given", function () {
    it("throws NO_TRUSTED_KEY unless the receipt's own key is allowed", function () {
      expectReceiptError(() => verifyReceipt(receiptFor(1, 2)), "NO_TRUSTED_KEY");
    });
  });

  describe("when a private value does not match its commitment", function () {
    it("throws COMMITMENT_MISMATCH naming the field", function () {
      const bad = clone(receiptFor(1, 4)) as { openings: { phone: { value: string } } };
      bad.openings.phone.value = "13999999999";
      expectReceiptError(() => verifyReceipt(bad, { verifiers: VERIFIER }), "COMMITMENT_MISMATCH", "/openings/phone");
    });

    it("throws COMMITMENT_MISMATCH for another salt", function () {
      const bad = clone(receiptFor(1, 4)) as { openings: { phone: { salt: string } } };
      bad.openings.phone.salt = "cd".repeat(32);
      expectReceiptError(() => verifyReceipt(bad, { verifiers: VERIFIER }), "COMMITMENT_MISMATCH");
    });

    it("throws OPENING_WITHOUT_COMMITMENT for a field the entry never committed to", function () {
      const bad = clone(receiptFor(1, 4)) as { openings: Record<string, unknown> };
      bad.openings["bankAccount"] = { value: "6222000000000000", salt: SALT };
      expectReceiptError(() => verifyReceipt(bad, { verifiers: VERIFIER }), "OPENING_WITHOUT_COMMITMENT", "/openings/bankAccount");
    });
  });

  describe("parseReceipt", function () {
    const good = () => clone(receiptFor(3, 8));
    const table: [string, (r: Record<string, any>) => unknown, ReceiptErrorCode, string][] = [
      ["not an object", () => [1, 2], "RECEIPT_MALFORMED", ""],
      ["another format", (r) => ({ ...r, format: "sigstore.bundle" }), "RECEIPT_FORMAT_UNKNOWN", "/format"],
      ["a future version", (r) => ({ ...r, version: 2 }), "RECEIPT_VERSION_UNSUPPORTED", "/version"],
      ["an unknown field", (r) => ({ ...r, extra: true }), "RECEIPT_MALFORMED", "/extra"],
      ["a fractional leaf index", (r) => ({ ...r, leafIndex: 1.5 }), "RECEIPT_MALFORMED", "/leafIndex"],
      ["a negative leaf index", (r) => ({ ...r, leafIndex: -1 }), "RECEIPT_MALFORMED", "/leafIndex"],
      ["a proof hash in uppercase", (r) => ({ ...r, inclusionProof: [r.inclusionProof[0].toUpperCase()] }), "RECEIPT_MALFORMED", "/inclusionProof/0"],
      ["a short proof hash", (r) => ({ ...r, inclusionProof: ["ab"] }), "RECEIPT_MALFORMED", "/inclusionProof/0"],
      ["a proof that is not an array", (r) => ({ ...r, inclusionProof: "ab" }), "RECEIPT_MALFORMED", "/inclusionProof"],
      ["a proof longer than any tree needs", (r) => ({ ...r, inclusionProof: Array(54).fill("00".repeat(32)) }), "RECEIPT_MALFORMED", "/inclusionProof"],
      ["an entry without v", (r) => ({ ...r, entry: { id: "x" } }), "RECEIPT_MALFORMED", "/entry/v"],
      ["a checkpoint that is not text", (r) => ({ ...r, checkpoint: 5 }), "RECEIPT_MALFORMED", "/checkpoint"],
      ["a contract that is not an address", (r) => ({ ...r, anchor: { ...r.anchor, contract: "0x12" } }), "RECEIPT_MALFORMED", "/anchor/contract"],
      ["a zero chain id", (r) => ({ ...r, anchor: { ...r.anchor, chainId: 0 } }), "RECEIPT_MALFORMED", "/anchor/chainId"],
      ["an anchor time with an offset", (r) => ({ ...r, anchor: { ...r.anchor, anchoredAt: "2026-03-10T10:00:01+08:00" } }), "RECEIPT_MALFORMED", "/anchor/anchoredAt"],
      ["an unknown anchor field", (r) => ({ ...r, anchor: { ...r.anchor, gas: 1 } }), "RECEIPT_MALFORMED", "/anchor/gas"],
      ["an opening without a value", (r) => ({ ...r, openings: { phone: { salt: SALT } } }), "RECEIPT_MALFORMED", "/openings/phone/value"],
      ["an opening with a short salt", (r) => ({ ...r, openings: { phone: { value: "1", salt: "ab" } } }), "RECEIPT_MALFORMED", "/openings/phone/salt"],
    ];
    for (const [desc, mutate, code, path] of table)
      it(`throws ${code} for ${desc}`, function () {
        expectReceiptError(() => parseReceipt(mutate(good())), code, path);
      });

    it("throws RECEIPT_MALFORMED for text that is not JSON", function () {
      expectReceiptError(() => parseReceipt("{ not json"), "RECEIPT_MALFORMED");
    });

    it("accepts a good receipt unchanged", function () {
      expect(parseReceipt(good())).to.deep.equal(good());
    });
  });

  describe("commitments", function () {
    it("open with the right value and salt only", function () {
      const c = commitmentOf("13800001234", fromHex(SALT));
      expect(opensCommitment(c, { value: "13800001234", salt: SALT })).to.equal(true);
      expect(opensCommitment(c, { value: "13800001235", salt: SALT })).to.equal(false);
      expect(opensCommitment(c, { value: "13800001234", salt: "cd".repeat(32) })).to.equal(false);
      expect(opensCommitment(c.toUpperCase(), { value: "13800001234", salt: SALT })).to.equal(false);
      expect(opensCommitment(c, { value: "13800001234", salt: SALT.toUpperCase() })).to.equal(false);
    });

    it("answer the same with WebCrypto as with node:crypto, malformed input included", async function () {
      const c = commitmentOf("13800001234", fromHex(SALT));
      const cases: [unknown, { value: unknown; salt: unknown }][] = [
        [c, { value: "13800001234", salt: SALT }],
        [c, { value: "13800001235", salt: SALT }],
        [c, { value: "13800001234", salt: "cd".repeat(32) }],
        [c.toUpperCase(), { value: "13800001234", salt: SALT }],
        [c, { value: "13800001234", salt: "ab" }],
        [c, { value: Number.NaN, salt: SALT }],
        [42, { value: "13800001234", salt: SALT }],
        [c, null as unknown as { value: unknown; salt: unknown }],
      ];
      const sync = cases.map(([k, o]) => opensCommitment(k, o as never));
      const asyncAnswers = await Promise.all(cases.map(([k, o]) => opensCommitmentAsync(k, o as never)));
      expect(asyncAnswers).to.deep.equal(sync);
      expect(sync).to.deep.equal([true, false, false, false, false, false, false, false]);
    });

    it("are SHA-256(salt ‖ JCS(value)), not of the raw value", function () {
      // JCS of a string is its JSON form, quotes included.
      const { createHash } = require("node:crypto") as typeof import("node:crypto");
      const want = createHash("sha256").update(fromHex(SALT)).update('"a\\u0001"').digest("hex");
      expect(commitmentOf("a\u0001", fromHex(SALT))).to.equal(want);
    });
  });
});
