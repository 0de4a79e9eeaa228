/**
 * Interop: Go's golang.org/x/mod/sumdb/tlog and sumdb/note, an independent
 * implementation, read our /tlog/ over HTTP (test/tlog/go/tilecheck): they
 * open our checkpoint note, recompute the tree hash from our tiles and prove
 * entries from our bundles into it. Go is required (Debian's golang-go and
 * golang-golang-x-mod-dev, installed by .ci/run): without it this test fails.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { generateNoteKey } from "../../service/log";
import type { TileQueries } from "../../service/queries/tiles";
import { createWorld, type World } from "../http/helpers";
import { TLOG_KEYS, tlogFixture, type TlogFixture } from "./fixture";

const run = promisify(execFile);
const SOURCE = resolve(__dirname, "go/tilecheck");

/** Builds tilecheck in GOPATH mode against /usr/share/gocode; returns the binary's path. */
export async function buildTilecheck(outDir: string): Promise<string> {
  const bin = join(outDir, "tilecheck");
  const env = { ...process.env, GO111MODULE: "off", GOPATH: `${outDir}/gopath:/usr/share/gocode`, GOCACHE: join(tmpdir(), "subsidy-ledger-gocache"), GOFLAGS: "" };
  try {
    await run("go", ["build", "-o", bin, "."], { cwd: SOURCE, env });
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string };
    if (err.code === "ENOENT") throw new Error("go is not installed: apt-get install golang-go golang-golang-x-mod-dev (as .ci/run does)");
    throw new Error(`go build failed: ${err.stderr ?? String(e)}`);
  }
  return bin;
}

async function listen(w: World): Promise<string> {
  await new Promise<void>((done) => w.server.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(w.server.address() as AddressInfo).port}/tlog`;
}

describe("Go's x/mod sumdb/tlog and sumdb/note reading our /tlog/", function () {
  this.timeout(300_000);
  let out: string;
  let bin: string;
  let fx: TlogFixture;
  const servers: World[] = [];

  before(async function () {
    out = await mkdtemp(join(tmpdir(), "ledger-go-"));
    bin = await buildTilecheck(out);
    fx = await tlogFixture(70_000);
  });
  after(async function () {
    for (const w of servers) await new Promise((done) => w.server.close(done));
    await fx?.cleanup();
    if (out) await rm(out, { recursive: true, force: true });
  });

  async function serve(tiles: Pick<TileQueries, "checkpoint" | "resource">): Promise<string> {
    const w = await createWorld({ tiles });
    servers.push(w);
    return listen(w);
  }

  for (const size of [70_000, 65_536, 256, 1]) {
    it(`verify the checkpoint note, recompute the tree hash from the tiles and prove entries, at size ${size}`, async function () {
      fx.publish(size);
      const prefix = await serve(fx.tiles);
      const { stdout } = await run(bin, [prefix, TLOG_KEYS.verifierKey]);
      const got = JSON.parse(stdout) as { origin: string; size: number; root: string; proved: number[] };
      expect(got).to.deep.equal({
        origin: "ledger.test.example/log",
        size,
        root: Buffer.from(fx.tree.root(size)).toString("hex"),
        proved: [0, Math.floor(size / 2), size - 1],
      });
    });
  }

  describe("when something is wrong", function () {
    it("fails note.Open for a checkpoint under another key", async function () {
      fx.publish(70_000);
      const prefix = await serve(fx.tiles);
      const other = generateNoteKey("ledger.test.example/log");
      const e = await run(bin, [prefix, other.verifierKey]).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(e?.code).to.equal(1);
      expect(e?.stderr).to.match(/note\.Open/);
    });

    it("fails to authenticate a hash tile with one bit flipped", async function () {
      fx.publish(70_000);
      const prefix = await serve({
        checkpoint: () => fx.tiles.checkpoint(),
        async resource(r) {
          const b = await fx.tiles.resource(r);
          if (b === undefined || !(r.level === 0 && r.index === 273)) return b;
          const bad = new Uint8Array(b);
          bad[40]! ^= 1;
          return bad;
        },
      });
      const e = await run(bin, [prefix, TLOG_KEYS.verifierKey]).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(e?.code).to.equal(1);
      expect(e?.stderr).to.match(/tilecheck:/);
    });
  });
});
