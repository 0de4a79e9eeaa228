/**
 * readVerifierKeyArg (service/log/key-arg.ts), the one reader of a verifier
 * key given on a command line: the key itself or a file holding it; a signer
 * key, a missing or unreadable file and a malformed key are refused with a
 * typed error whose message never repeats key material.
 */
import { expect } from "chai";
import { KeyArgumentError, noteKeyFromSeed, readVerifierKeyArg, type KeyArgumentErrorCode } from "../../service/log";
import { LOG, ORIGIN } from "./note-keys";

const KEYS = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(1));
const SEED_B64 = KEYS.signerKey.split("+").pop()!;

/** A reader over an in-memory directory; a missing path throws ENOENT as node:fs does. */
function files(entries: Record<string, string | Error>): (path: string) => string {
  return (path) => {
    const v = entries[path];
    if (v === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
    if (v instanceof Error) throw v;
    return v;
  };
}

function refusal(arg: string, read: (path: string) => string, code: KeyArgumentErrorCode): KeyArgumentError {
  let thrown: unknown;
  try {
    readVerifierKeyArg(arg, read);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${arg} to be refused`).to.be.instanceOf(KeyArgumentError);
  const e = thrown as KeyArgumentError;
  expect(e.code).to.equal(code);
  expect(e.message).not.to.include(SEED_B64);
  expect(e.message).not.to.include("PRIVATE+KEY");
  return e;
}

describe("readVerifierKeyArg: a verifier key given on a command line", () => {
  it("parses a key string, without looking for a file", () => {
    const v = readVerifierKeyArg(` ${KEYS.verifierKey}\n`, () => expect.fail("read a file"));
    expect(v.keyId).to.equal(LOG.verifier.keyId);
    expect(v.name).to.equal(ORIGIN);
  });

  it("reads a file holding the key, as curl saves it", () => {
    const v = readVerifierKeyArg("log.vkey", files({ "log.vkey": `${KEYS.verifierKey}\n` }));
    expect(v.keyId).to.equal(LOG.verifier.keyId);
  });

  it("refuses a missing file, naming it", () => {
    const e = refusal("missing.vkey", files({}), "NOT_KEY_OR_FILE");
    expect(e.message).to.equal("neither a verifier key (<name>+<key id>+<base64>) nor a file: missing.vkey");
  });

  it("refuses a file it cannot read, naming it and why", () => {
    const denied = Object.assign(new Error("EACCES: permission denied, open 'log.vkey'"), { code: "EACCES" });
    const e = refusal("log.vkey", files({ "log.vkey": denied }), "UNREADABLE");
    expect(e.message).to.include("log.vkey").and.include("permission denied");
    expect(e.cause).to.equal(denied);
  });

  it("refuses a file holding a signer key, saying to give the verifier key", () => {
    const e = refusal("log.key", files({ "log.key": `${KEYS.signerKey}\n` }), "SIGNER_KEY");
    expect(e.message).to.equal("log.key holds a signer (private) key; give the verifier key");
  });

  it("refuses a signer key given as the value, without repeating it", () => {
    const e = refusal(KEYS.signerKey, () => expect.fail("read a file"), "SIGNER_KEY");
    expect(e.message).to.include("signer (private) key; give the verifier key");
  });

  it("does not repeat a value that may be a mistyped key when it is not a file either", () => {
    const e = refusal(`${ORIGIN}+${SEED_B64}`, files({}), "NOT_KEY_OR_FILE");
    expect(e.message).not.to.include(ORIGIN);
  });

  it("refuses an empty file", () => {
    expect(refusal("log.vkey", files({ "log.vkey": "\n" }), "KEY_INVALID").message).to.equal("the file log.vkey is empty; give the verifier key");
  });

  it("refuses a malformed key, given or in a file, keeping the parser's error as the cause", () => {
    const bad = KEYS.verifierKey.slice(0, -6);
    expect(refusal(bad, () => expect.fail("read a file"), "KEY_INVALID").message).to.match(/^malformed verifier key/);
    const e = refusal("log.vkey", files({ "log.vkey": bad }), "KEY_INVALID");
    expect(e.message).to.match(/^log\.vkey: malformed verifier key/);
    expect((e.cause as { code?: string }).code).to.equal("KEY_INVALID");
  });
});
