/** `npm run publish` (scripts/publish.ts): copies a running service's /tlog/ into a directory; exit codes 0, 1, 2. */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { dirLogReader, rootFromTiles } from "../../service/format/log-reader";
import { generateNoteKey, toHex } from "../../service/log";
import { createWorld, type World } from "../http/helpers";
import { TLOG_KEYS, TLOG_ORIGIN, tlogFixture, type TlogFixture } from "../tlog/fixture";

const ROOT = resolve(__dirname, "../..");

function publish(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/publish.ts", ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}

describe("npm run publish", function () {
  this.timeout(120_000);
  let fx: TlogFixture;
  let w: World;
  let prefix: string;
  let dir: string;

  before(async function () {
    fx = await tlogFixture(1000);
    fx.publish(1000);
    w = await createWorld({ tiles: fx.tiles });
    await new Promise<void>((ok) => w.server.listen(0, "127.0.0.1", ok));
    prefix = `http://127.0.0.1:${(w.server.address() as AddressInfo).port}/tlog`;
    dir = await mkdtemp(join(tmpdir(), "ledger-publish-cli-"));
  });
  after(async function () {
    await new Promise((ok) => w?.server.close(ok));
    await fx?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it("copies the published log, checked against the log key, and exits 0", async function () {
    const r = await publish(["--dir", dir, "--from", prefix, "--log-key", TLOG_KEYS.verifierKey]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^published size 1000 \(was 0\)/);
    expect(await readFile(join(dir, "checkpoint"), "utf8")).to.equal(fx.published()!.note);
    expect(toHex(await rootFromTiles(dirLogReader(dir, (p) => readFile(p)), 1000))).to.equal(toHex(fx.tree.root(1000)));
  });

  it("exits 1, keeping the copy, for a checkpoint under another key", async function () {
    const r = await publish(["--dir", dir, "--from", prefix, "--log-key", generateNoteKey(TLOG_ORIGIN).verifierKey]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/CHECKPOINT_INVALID/);
    expect(await readFile(join(dir, "checkpoint"), "utf8")).to.equal(fx.published()!.note);
  });

  it("takes --log-key as a file holding the key, as curl saves it", async function () {
    const keyFile = join(dir, "..", `${dir.split("/").pop()!}.vkey`);
    await writeFile(keyFile, `${TLOG_KEYS.verifierKey}\n`);
    try {
      const r = await publish(["--dir", dir, "--from", prefix, "--log-key", keyFile]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^published size 1000 \(was 1000\)/);
    } finally {
      await rm(keyFile, { force: true });
    }
  });

  it("exits 1 naming the /tlog prefix when --from is the service's root", async function () {
    const r = await publish(["--dir", dir, "--from", prefix.replace(/\/tlog$/, ""), "--log-key", TLOG_KEYS.verifierKey]);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.contain("does not look like a published log").and.contain("/tlog prefix");
  });

  it("exits 2 without --dir", async function () {
    expect((await publish(["--from", prefix])).code).to.equal(2);
  });
});
