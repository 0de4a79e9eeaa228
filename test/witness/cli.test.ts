import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeVerifierKey, parseCosignerKey, verifyCosignatures } from "../../service/log";
import { LOG, ORIGIN } from "../log/note-keys";
import { ToyLog } from "./helpers";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts/witness.ts");
const NODE_ARGS = ["-r", "ts-node/register/transpile-only", SCRIPT];
const LOG_ARG = `${ORIGIN}=${encodeVerifierKey(ORIGIN, LOG.verifier.publicKey)}`;

function cli(args: string[]) {
  return spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, encoding: "utf8" });
}

/** Starts the witness, resolves with its port once it logs "witness listening", and the output so far. */
function serve(args: string[]): Promise<{ port: number; vkey: string; output: () => string; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.includes('"witness listening"'));
      if (line !== undefined) {
        child.stdout.off("data", onData);
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        const rec = JSON.parse(line) as { port: number; vkey: string };
        resolve({
          port: rec.port,
          vkey: rec.vkey,
          output: () => out,
          stop: () =>
            new Promise<void>((r) => {
              child.on("exit", () => r());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => reject(new Error(`witness exited ${code}: ${out}`)));
  });
}

describe("npm run witness", () => {
  describe("--generate-key", () => {
    it("creates an owner-only key file, prints its cosigner vkey, and never overwrites it", () => {
      const dir = mkdtempSync(path.join(tmpdir(), "witness-cli-"));
      const key = path.join(dir, "witness.key");
      const r = cli(["--generate-key", "--name", "w1.audit.example.gov", "--key-file", key]);
      expect(r.status).to.equal(0);
      const vkey = r.stdout.trim();
      expect(parseCosignerKey(vkey).name).to.equal("w1.audit.example.gov");
      expect(statSync(key).mode & 0o777).to.equal(0o600);
      expect(readFileSync(key, "utf8")).to.match(/^PRIVATE\+KEY\+w1\.audit\.example\.gov\+/);
      expect(r.stdout).to.not.include("PRIVATE");
      const again = cli(["--generate-key", "--name", "w1.audit.example.gov", "--key-file", key]);
      expect(again.status).to.equal(2);
      expect(again.stderr).to.include("already exists");
    });
  });

  describe("serving", () => {
    it("refuses a key file others can read, without printing the key", () => {
      const dir = mkdtempSync(path.join(tmpdir(), "witness-cli-"));
      const key = path.join(dir, "witness.key");
      cli(["--generate-key", "--name", "w1.example", "--key-file", key]);
      chmodSync(key, 0o644);
      const r = cli(["--key-file", key, "--state-dir", path.join(dir, "state"), "--port", "0", "--log", LOG_ARG]);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.include("accessible to others");
      expect(r.stderr + r.stdout).to.not.include("PRIVATE");
    });

    it("cosigns over HTTP, never logs the key, and keeps its state across a restart", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "witness-cli-"));
      const key = path.join(dir, "witness.key");
      const vkey = cli(["--generate-key", "--name", "w1.example", "--key-file", key]).stdout.trim();
      const args = ["--key-file", key, "--state-dir", path.join(dir, "state"), "--port", "0", "--log", LOG_ARG];
      const log = new ToyLog(ORIGIN, LOG.signer).grow(9);

      const first = await serve(args);
      try {
        expect(first.vkey).to.equal(vkey);
        const res = await fetch(`http://127.0.0.1:${first.port}/add-checkpoint`, { method: "POST", body: log.request(0) });
        expect(res.status).to.equal(200);
        expect(verifyCosignatures(log.checkpoint() + (await res.text()), [parseCosignerKey(vkey)]).cosignatures).to.have.length(1);
      } finally {
        await first.stop();
      }
      expect(first.output()).to.not.include("PRIVATE");
      expect(first.output()).to.not.include(readFileSync(key, "utf8").trim().split("+").pop()!);

      const second = await serve(args);
      try {
        const res = await fetch(`http://127.0.0.1:${second.port}/add-checkpoint`, { method: "POST", body: log.request(0) });
        expect(res.status).to.equal(409);
        expect(await res.text()).to.equal("9\n");
      } finally {
        await second.stop();
      }
    });
  });
});
