/**
 * `npm run witness -- --log …` (parseLogOptions): the log to witness is given
 * as origin=vkey, as the vkey alone, or as the file `curl …/v1/log/key`
 * saves; an empty or malformed key says where the log's key is found; a
 * signer key or a missing file is refused in words that say what to give.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeVerifierKey, noteKeyFromSeed } from "../../service/log";
import { parseLogOptions, WitnessConfigError } from "../../service/witness/server";
import { LOG, ORIGIN } from "../log/note-keys";

const VKEY = encodeVerifierKey(ORIGIN, LOG.verifier.publicKey);

function refusal(values: string[]): WitnessConfigError {
  try {
    parseLogOptions(values);
  } catch (e) {
    expect(e).to.be.instanceOf(WitnessConfigError);
    return e as WitnessConfigError;
  }
  expect.fail(`expected ${JSON.stringify(values)} to be refused`);
}

describe("the witness's --log option", () => {
  describe("when given origin=vkey", () => {
    it("trusts the key for that origin", () => {
      const logs = parseLogOptions([`${ORIGIN}=${VKEY}`]);
      expect([...logs.keys()]).to.deep.equal([ORIGIN]);
      expect(logs.get(ORIGIN)![0]!.name).to.equal(ORIGIN);
    });
  });
  describe("when given the vkey alone", () => {
    it("takes the origin from the key's name", () => {
      const logs = parseLogOptions([VKEY]);
      expect([...logs.keys()]).to.deep.equal([ORIGIN]);
    });
  });
  describe("when given a file holding the vkey, as curl saves it", () => {
    it("reads it and takes the origin from the key's name", () => {
      const file = path.join(mkdtempSync(path.join(tmpdir(), "witness-log-")), "log.vkey");
      writeFileSync(file, `${VKEY}\n`);
      const logs = parseLogOptions([file]);
      expect([...logs.keys()]).to.deep.equal([ORIGIN]);
      expect(logs.get(ORIGIN)![0]!.keyId).to.equal(LOG.verifier.keyId);
    });
  });
  describe("when the key is empty, as when the service was not running to give it", () => {
    for (const value of ["=", `${ORIGIN}=`, ""])
      it(`refuses ${JSON.stringify(value)}, saying where the log's key is found`, () => {
        expect(refusal([value]).message).to.contain("GET /v1/log/key");
      });
  });
  describe("when the key is malformed", () => {
    it("refuses it, naming the value and where the key is found", () => {
      const e = refusal([`${ORIGIN}=${VKEY.slice(0, -6)}`]);
      expect(e.message).to.contain(ORIGIN).and.contain("GET /v1/log/key");
    });
  });
  describe("when given the log's signer (private) key, or a file holding it", () => {
    const { signerKey } = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(1));
    const file = path.join(mkdtempSync(path.join(tmpdir(), "witness-log-")), "log.key");
    writeFileSync(file, `${signerKey}\n`);
    for (const value of [file, signerKey, `${ORIGIN}=${signerKey}`])
      it(`refuses ${value === file ? "the file" : value === signerKey ? "the key" : "origin=key"}, saying to give the verifier key and not repeating the key`, () => {
        const e = refusal([value]);
        expect(e.message).to.contain("holds a signer (private) key; give the verifier key").and.contain("GET /v1/log/key");
        expect(e.message).not.to.contain(signerKey.split("+").pop()!);
        if (value === file) expect(e.message).to.contain(file);
      });
  });
  describe("when given a file that does not exist", () => {
    it("refuses it, naming the file", () => {
      const missing = path.join(tmpdir(), "no-such-dir-for-witness", "log.vkey");
      expect(refusal([missing]).message).to.contain(`neither a verifier key (<name>+<key id>+<base64>) nor a file: ${missing}`);
    });
  });
  describe("when given origin=file", () => {
    it("reads the key from the file for that origin", () => {
      const file = path.join(mkdtempSync(path.join(tmpdir(), "witness-log-")), "log.vkey");
      writeFileSync(file, `${VKEY}\n`);
      const logs = parseLogOptions([`other.example/log=${file}`]);
      expect(logs.get("other.example/log")![0]!.keyId).to.equal(LOG.verifier.keyId);
    });
  });
  describe("when no --log is given", () => {
    it("refuses, saying how to give one", () => {
      expect(refusal([]).message).to.contain("--log");
    });
  });
});
