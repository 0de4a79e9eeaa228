/**
 * `npm run witness` and `npm run mirror` run their process in place of npm's
 * shell (`exec` in package.json), so stopping the npm process a user started
 * in the background (`kill $!` in a script) stops the witness or the mirror
 * too, instead of leaving it holding its port.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { generateWitnessKey } from "../../service/witness/server";
import { encodeVerifierKey } from "../../service/log";
import { LOG, ORIGIN } from "../log/note-keys";

const ROOT = path.resolve(__dirname, "../..");

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

/** Runs `npm run -s <script> -- args`; resolves once a stdout line matches `ready`, with its match. */
function npmRun(script: string, args: string[], ready: RegExp) {
  const child = spawn("npm", ["run", "-s", script, "--", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const match = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m !== null) resolve(m);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => reject(new Error(`npm run ${script} exited ${code}: ${out}`)));
  });
  return { child, match, exited };
}

describe("npm run witness and npm run mirror started in the background", function () {
  this.timeout(120_000);

  describe("when the npm process is sent SIGTERM", function () {
    it("the witness stops and frees its port", async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "witness-npm-"));
      const key = path.join(dir, "w.key");
      await generateWitnessKey(key, "w1.example");
      const run = npmRun("witness", ["--key-file", key, "--state-dir", path.join(dir, "state"), "--port", "0", "--log", `${ORIGIN}=${encodeVerifierKey(ORIGIN, LOG.verifier.publicKey)}`], /"port":(\d+)/);
      const port = Number((await run.match)[1]);
      expect(await listening(port)).to.equal(true);
      run.child.kill("SIGTERM");
      await run.exited;
      await new Promise((r) => setTimeout(r, 1000));
      expect(await listening(port), "the witness still listens after npm was stopped").to.equal(false);
    });

    it("the mirror stops serving and frees its port", async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "mirror-npm-"));
      const run = npmRun(
        "mirror",
        ["--tlog", path.join(dir, "nothing"), "--dir", path.join(dir, "copy"), "--log-key", encodeVerifierKey(ORIGIN, LOG.verifier.publicKey), "--serve", "0", "--interval", "60"],
        /serving the mirror at http:\/\/127\.0\.0\.1:(\d+)/,
      );
      const port = Number((await run.match)[1]);
      expect(await listening(port)).to.equal(true);
      run.child.kill("SIGTERM");
      await run.exited;
      await new Promise((r) => setTimeout(r, 1000));
      expect(await listening(port), "the mirror still listens after npm was stopped").to.equal(false);
    });
  });
});
