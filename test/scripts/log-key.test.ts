/**
 * `--log-key <vkey|file>` on every command that takes the log's verifier key
 * (mirror, publish, admin rebuild-from-mirror, verify) reads it with the one
 * reader of the log core: a key string and a key file are taken; a file
 * holding the signer (private) key, the signer key itself and a missing file
 * are usage errors (exit 2) in the same words, never repeating the key.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { noteKeyFromSeed } from "../../service/log";
import { runVerify } from "../../scripts/verify";
import { runAdmin } from "../helpers/admin-cli";

const ROOT = path.resolve(__dirname, "../..");
const KEYS = noteKeyFromSeed("ledger.example.gov/subsidies", new Uint8Array(32).fill(7));
const SEED_B64 = KEYS.signerKey.split("+").pop()!;
const SIGNER_REFUSED = "holds a signer (private) key; give the verifier key";
const MISSING = "neither a verifier key (<name>+<key id>+<base64>) nor a file";

function script(file: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ["-r", "ts-node/register/transpile-only", file, ...args], { cwd: ROOT }, (err, _stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stderr }),
    );
  });
}

async function verify(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const code = await runVerify(args, {
    stdout: () => {},
    stderr: (s) => void (stderr += s),
    stderrIsTty: false,
    connectChain: () => Promise.reject(new Error("test: no chain")),
  });
  return { code, stderr };
}

describe("--log-key on every command that takes the log's key", function () {
  this.timeout(120_000);
  let dir: string;
  let vkeyFile: string;
  let signerFile: string;
  let missing: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-log-key-"));
    vkeyFile = path.join(dir, "log.vkey");
    signerFile = path.join(dir, "log.key");
    missing = path.join(dir, "nothing.vkey");
    await writeFile(vkeyFile, `${KEYS.verifierKey}\n`);
    await writeFile(signerFile, `${KEYS.signerKey}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Exit 2 with `prefix` `--option: ` then `words`, and no key material. */
  function refused(r: { code: number; stderr: string }, prefix: string, words: string): void {
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.include(prefix).and.include(words);
    expect(r.stderr).not.to.include(SEED_B64);
  }

  describe("npm run mirror", () => {
    const mirror = (key: string) => script("scripts/mirror.ts", ["--tlog", path.join(dir, "no-log"), "--dir", path.join(dir, "copy"), "--log-key", key, "--once"]);
    it("refuses a file holding the signer key", async () => refused(await mirror(signerFile), "mirror: --log-key: ", `${signerFile} ${SIGNER_REFUSED}`));
    it("refuses a missing file, naming it", async () => refused(await mirror(missing), "mirror: --log-key: ", `${MISSING}: ${missing}`));
    it("takes a file holding the verifier key (and goes on to the log, absent here: exit 1)", async () => {
      const r = await mirror(vkeyFile);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include("does not look like a published log").and.not.include("--log-key");
    });
  });

  describe("npm run publish", () => {
    const publish = (...key: string[]) => script("scripts/publish.ts", ["--from", "http://127.0.0.1:1/tlog", "--dir", path.join(dir, "published"), ...key]);
    it("refuses a file holding the signer key, given to --log-key or --log-key-file", async () => {
      refused(await publish("--log-key", signerFile), "publish: --log-key: ", `${signerFile} ${SIGNER_REFUSED}`);
      refused(await publish("--log-key-file", signerFile), "publish: --log-key-file: ", `${signerFile} ${SIGNER_REFUSED}`);
    });
    it("refuses a missing file, naming it", async () => refused(await publish("--log-key", missing), "publish: --log-key: ", `${MISSING}: ${missing}`));
    it("takes a key string (and goes on to the log, unreachable here: exit 1)", async () => {
      const r = await publish("--log-key", KEYS.verifierKey);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include("UNAVAILABLE").and.not.include("--log-key");
    });
  });

  describe("npm run admin -- rebuild-from-mirror", () => {
    const admin = async (key: string) => {
      const r = await runAdmin(["--data-dir", path.join(dir, "data"), "rebuild-from-mirror", "--from", path.join(dir, "no-mirror"), "--log-key", key]);
      return { code: r.code, stderr: r.err };
    };
    it("refuses a file holding the signer key", async () => refused(await admin(signerFile), "--log-key: ", `${signerFile} ${SIGNER_REFUSED}`));
    it("refuses a missing file, naming it", async () => refused(await admin(missing), "--log-key: ", `${MISSING}: ${missing}`));
  });

  describe("npm run verify", () => {
    const audit = (key: string) => verify(["--export", path.join(dir, "no-export.jsonl"), "--rpc", "http://127.0.0.1:1", "--log-key", key]);
    it("refuses a file holding the signer key", async () => refused(await audit(signerFile), "verify: --log-key: ", `${signerFile} ${SIGNER_REFUSED}`));
    it("refuses the signer key itself without printing it", async () => refused(await audit(KEYS.signerKey), "verify: --log-key: ", SIGNER_REFUSED));
    it("refuses a missing file, naming it", async () => refused(await audit(missing), "verify: --log-key: ", `${MISSING}: ${missing}`));
  });
});
