import { expect } from "chai";
import { createHash, createPublicKey, verify as nodeVerify } from "node:crypto";
import {
  CheckpointError,
  cosignCheckpoint,
  cosignerKeyOf,
  encodeCosignerKey,
  formatCheckpoint,
  parseCosignerKey,
  parseCosignerKeyAsync,
  signCheckpoint,
  verifyCheckpoint,
  verifyCosignatures,
  verifyCosignaturesAsync,
} from "../../service/log";
import { expectCode, LOG, ORIGIN, STRANGER, WITNESS } from "./note-keys";

const ROOT = new Uint8Array(32).fill(7);
const BODY = formatCheckpoint({ origin: ORIGIN, size: 20852163, rootHash: ROOT, extensions: [] });
const SIGNED = signCheckpoint({ origin: ORIGIN, size: 20852163, rootHash: ROOT, extensions: [] }, LOG.signer);
const W_VKEY = cosignerKeyOf(WITNESS.signer);
const W = parseCosignerKey(W_VKEY);

/** An SPKI DER wrapper for a raw Ed25519 public key, written out here rather than taken from the code under test. */
function rawEd25519Key(raw: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]), format: "der", type: "spki" });
}

describe("cosignature/v1 (c2sp.org/tlog-cosignature)", () => {
  describe("a cosigner key", () => {
    it("has key ID SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4], computed here independently", () => {
      const id = createHash("sha256").update(Buffer.concat([Buffer.from(WITNESS.signer.name + "\n"), Buffer.of(0x04), WITNESS.signer.publicKey])).digest().subarray(0, 4);
      expect(W.keyId).to.equal(id.readUInt32BE(0));
      expect(W_VKEY).to.equal(`${WITNESS.signer.name}+${id.toString("hex")}+${Buffer.concat([Buffer.of(0x04), WITNESS.signer.publicKey]).toString("base64")}`);
      // Not the note key ID: the type byte differs.
      expect(W.keyId).to.not.equal(WITNESS.signer.keyId);
    });
    it("refuses a note verifier key (type 0x01) where a cosigner key is wanted", () => {
      expectCode(() => parseCosignerKey(encodeCosignerKey("w", WITNESS.signer.publicKey).replace(/\+[^+]*$/, "+" + Buffer.concat([Buffer.of(1), WITNESS.signer.publicKey]).toString("base64"))), "KEY_INVALID");
    });
    it("refuses a key ID that does not match", () => {
      const [name, , key] = W_VKEY.split("+");
      expectCode(() => parseCosignerKey(`${name}+00000000+${key}`), "KEY_INVALID");
    });
    it("parses the same with WebCrypto", async () => {
      const w = await parseCosignerKeyAsync(W_VKEY);
      expect(w.keyId).to.equal(W.keyId);
    });
  });

  describe("a cosignature made by cosignCheckpoint", () => {
    const line = cosignCheckpoint(BODY, WITNESS.signer, 1679315147);

    it("signs exactly the bytes the spec gives, checked with node:crypto alone", () => {
      expect(line.startsWith(`— ${WITNESS.signer.name} `)).to.equal(true);
      expect(line.endsWith("\n")).to.equal(true);
      const raw = Buffer.from(line.slice(`— ${WITNESS.signer.name} `.length, -1), "base64");
      expect(raw.length).to.equal(4 + 8 + 64);
      expect(raw.readUInt32BE(0)).to.equal(W.keyId);
      expect(raw.readBigUInt64BE(4)).to.equal(1679315147n);
      const expected = Buffer.from("cosignature/v1\n" + "time 1679315147\n" + `${ORIGIN}\n` + "20852163\n" + `${Buffer.from(ROOT).toString("base64")}\n`, "utf8");
      expect(nodeVerify(null, expected, rawEd25519Key(WITNESS.signer.publicKey), raw.subarray(12))).to.equal(true);
      // The same signature does not cover the checkpoint without the header (no cross-protocol reuse).
      expect(nodeVerify(null, Buffer.from(BODY), rawEd25519Key(WITNESS.signer.publicKey), raw.subarray(12))).to.equal(false);
    });

    it("verifies on the log-signed note, and the log signature still verifies beside it", async () => {
      const note = SIGNED + line;
      const got = verifyCosignatures(note, [W]);
      expect(got.cosignatures.map((c) => [c.name, c.timestamp])).to.deep.equal([[WITNESS.signer.name, 1679315147]]);
      expect(verifyCheckpoint(note, LOG.verifier).size).to.equal(20852163);
      const web = await verifyCosignaturesAsync(note, [await parseCosignerKeyAsync(W_VKEY)]);
      expect(web).to.deep.equal(got);
    });

    it("is ignored, not refused, when its cosigner is not trusted", () => {
      const stranger = parseCosignerKey(cosignerKeyOf(STRANGER.signer));
      expect(verifyCosignatures(SIGNED + line, [stranger]).cosignatures).to.deep.equal([]);
    });

    it("refuses the note when a trusted cosigner's signature is altered", () => {
      const b = Buffer.from(line.slice(`— ${WITNESS.signer.name} `.length, -1), "base64");
      b[b.length - 1]! ^= 1;
      expectCode(() => verifyCosignatures(SIGNED + `— ${WITNESS.signer.name} ${b.toString("base64")}\n`, [W]), "SIGNATURE_INVALID");
    });

    it("refuses the note when the timestamp is altered (it is signed)", () => {
      const b = Buffer.from(line.slice(`— ${WITNESS.signer.name} `.length, -1), "base64");
      b.writeBigUInt64BE(1679315148n, 4);
      expectCode(() => verifyCosignatures(SIGNED + `— ${WITNESS.signer.name} ${b.toString("base64")}\n`, [W]), "SIGNATURE_INVALID");
    });

    it("refuses a cosignature dated after notAfter", () => {
      expectCode(() => verifyCosignatures(SIGNED + line, [W], { notAfter: 1679315146 }), "TIMESTAMP_INVALID");
      expect(verifyCosignatures(SIGNED + line, [W], { notAfter: 1679315147 }).cosignatures).to.have.length(1);
    });

    it("does not verify over another checkpoint", () => {
      const other = signCheckpoint({ origin: ORIGIN, size: 20852164, rootHash: ROOT, extensions: [] }, LOG.signer);
      expectCode(() => verifyCosignatures(other + line, [W]), "SIGNATURE_INVALID");
    });
  });

  describe("cosignCheckpoint's arguments", () => {
    it("refuses a fractional or negative timestamp", () => {
      expectCode(() => cosignCheckpoint(BODY, WITNESS.signer, 1.5), "TIMESTAMP_INVALID");
      expectCode(() => cosignCheckpoint(BODY, WITNESS.signer, -1), "TIMESTAMP_INVALID");
    });
    it("refuses text that is not a checkpoint", () => {
      expect(() => cosignCheckpoint("hello\n", WITNESS.signer, 1)).to.throw(CheckpointError);
    });
  });
});
