/**
 * `npm run mirror` (scripts/mirror.ts) as a process: killed with SIGKILL in
 * the middle of a sync, it resumes to the same root; --serve answers what
 * upstream answers; a fork exits 3 with one line; no log key is a usage error.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import { checkTiles, dirLogReader, rootFromTiles } from "../../service/format/log-reader";
import { parseVerifierKey, toHex } from "../../service/log";
import { Mirror } from "../../service/mirror/mirror";
import { TLOG_KEYS, tlogFixture, type TlogFixture } from "../tlog/fixture";
import { entry, memoryLog, mirror, MIRROR_ARGS as ARGS, MIRROR_ROOT as ROOT, readerTiles, serve, tlogApp, type Served } from "./helpers";


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("npm run mirror", function () {
  this.timeout(180_000);
  const N = 20_000;
  let fx: TlogFixture;
  let up: Served;
  let dir: string;
  let bundleDelayMs = 0;
  before(async function () {
    fx = await tlogFixture(N, 2000);
    fx.publish(N);
    const app = express();
    app.use((req, _res, next) => void (req.path.startsWith("/tlog/tile/entries/") && bundleDelayMs > 0 ? setTimeout(next, bundleDelayMs) : next()));
    app.use(tlogApp(fx.tiles));
    up = await serve(app);
  });
  after(async function () {
    await up?.close();
    await fx?.cleanup();
  });
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-mirror-cli-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to run without --log-key (exit 2)", async function () {
    const r = await mirror(["--tlog", `${up.url}/tlog`, "--dir", dir, "--once"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--log-key is required/);
  });

  it("killed with SIGKILL in the middle of a sync, resumes to the same root", async function () {
    bundleDelayMs = 150;
    const child = spawn(process.execPath, [...ARGS, "--tlog", `${up.url}/tlog`, "--dir", dir, "--log-key", TLOG_KEYS.verifierKey, "--once"], {
      cwd: ROOT,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      for (let i = 0; i < 3000 && !existsSync(path.join(dir, "tile", "entries", "004")); i++) await sleep(5);
      child.kill("SIGKILL");
      expect(await exited, "killed, not finished").to.equal(null);
    } finally {
      bundleDelayMs = 0;
    }
    expect(existsSync(path.join(dir, "checkpoint")), "no mirror checkpoint before its tiles are all written").to.equal(false);
    expect(existsSync(path.join(dir, "checkpoints", String(N))), "the pending checkpoint was kept").to.equal(true);
    expect(existsSync(path.join(dir, "tile", "entries", "077")), "the sync was cut short").to.equal(false);

    const r = await mirror(["--tlog", `${up.url}/tlog`, "--dir", dir, "--log-key", TLOG_KEYS.verifierKey, "--once"]);
    expect(r.code, r.stderr).to.equal(0);
    const copy = dirLogReader(dir, (p) => readFile(p));
    await checkTiles(copy, N);
    expect(toHex(await rootFromTiles(copy, N))).to.equal(toHex(fx.tree.root(N)));
    expect(await readFile(path.join(dir, "checkpoint"), "utf8")).to.equal(fx.published()!.note);
  });

  describe("with --serve", function () {
    let child: ChildProcess;
    let url: string;
    let d: string;
    before(async function () {
      d = await mkdtemp(path.join(tmpdir(), "ledger-mirror-serve-"));
      child = spawn(
        process.execPath,
        [...ARGS, "--tlog", `${up.url}/tlog`, "--dir", d, "--log-key", TLOG_KEYS.verifierKey, "--serve", "0", "--interval", "3600"],
        {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "inherit"],
        }
      );
      url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /serving the mirror at (http:\/\/\S+)\/tlog\//.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`mirror exited ${code}: ${out}`)));
      });
    });
    after(async function () {
      if (child !== undefined && child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(d, { recursive: true, force: true });
    });

    for (const p of [
      "checkpoint",
      "tile/0/000",
      "tile/0/078.p/32",
      "tile/0/078.p/5",
      "tile/1/000.p/78",
      "tile/1/000.p/3",
      "tile/entries/000",
      "tile/entries/078.p/32",
      "tile/entries/078.p/7",
    ])
      it(`answers /tlog/${p} with upstream's bytes and caching headers`, async function () {
        for (const encoding of ["identity", "gzip"]) {
          const [a, b] = await Promise.all([
            fetch(`${up.url}/tlog/${p}`, { headers: { "accept-encoding": encoding } }),
            fetch(`${url}/tlog/${p}`, { headers: { "accept-encoding": encoding } }),
          ]);
          expect(b.status).to.equal(200);
          expect(Buffer.from(await b.arrayBuffer()).equals(Buffer.from(await a.arrayBuffer()))).to.equal(true);
          for (const h of ["cache-control", "content-type", "content-encoding", "access-control-allow-origin", "vary"])
            expect(b.headers.get(h), h).to.equal(a.headers.get(h));
        }
      });

    it("answers 400 for a path that is not a tile's and 404 past its checkpoint, as upstream does", async function () {
      for (const [p, status] of [
        ["tile/0/0001", 400],
        ["tile/0/079", 404],
        ["tile/entries/078.p/33", 404],
      ] as const) {
        const [a, b] = await Promise.all([fetch(`${up.url}/tlog/${p}`), fetch(`${url}/tlog/${p}`)]);
        expect([a.status, b.status]).to.deep.equal([status, status]);
        expect(b.headers.get("content-type")).to.match(/^application\/problem\+json/);
      }
    });
  });

  it("as a daemon, follows the log, then on a fork logs ALARM, stops syncing and keeps serving the old copy", async function () {
    const main = Array.from({ length: 900 }, (_, i) => entry(i));
    const fork = main.map((e, i) => (i < 500 ? e : entry(i, "fork")));
    let current = readerTiles(memoryLog(main, 600));
    const switchable = await serve(tlogApp({ checkpoint: () => current.checkpoint(), resource: (r) => current.resource(r) }));
    const child = spawn(
      process.execPath,
      [...ARGS, "--tlog", `${switchable.url}/tlog`, "--dir", dir, "--log-key", TLOG_KEYS.verifierKey, "--serve", "0", "--interval", "0.2"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      }
    );
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 600 && !ok(); i++) await sleep(50);
      expect(ok(), `${what}; stdout: ${out}; stderr: ${err}`).to.equal(true);
    };
    try {
      await until("serving", () => /serving the mirror at http/.test(out));
      const url = /serving the mirror at (http:\/\/\S+)\/tlog\//.exec(out)![1]!;
      current = readerTiles(memoryLog(main, 800));
      await until("followed to 800", () => /mirrored size 800 \(was 600\)/.test(out));
      current = readerTiles(memoryLog(fork, 900));
      await until("alarm", () => /ALARM: FORKED: the log forked/.test(err));
      await until("stopped syncing", () => /syncing stops/.test(err));
      expect(await (await fetch(`${url}/tlog/checkpoint`)).text()).to.equal(memoryLog(main, 800).note);
      const status = (await (await fetch(`${url}/mirror/status`)).json()) as { size: number; alarm: string };
      expect(status.size).to.equal(800);
      expect(status.alarm).to.match(/^FORKED/);
    } finally {
      child.kill("SIGTERM");
      await switchable.close();
    }
  });

  it("exits 3 with one line, keeping its copy, when the log forks", async function () {
    const main = Array.from({ length: 900 }, (_, i) => entry(i));
    const fork = main.map((e, i) => (i < 500 ? e : entry(i, "fork")));
    await (await Mirror.open(dir, { verifier: parseVerifierKey(TLOG_KEYS.verifierKey) })).sync(memoryLog(main, 600));
    const forked = await serve(tlogApp(readerTiles(memoryLog(fork, 900))));
    try {
      const r = await mirror(["--tlog", `${forked.url}/tlog`, "--dir", dir, "--log-key", TLOG_KEYS.verifierKey, "--once"]);
      expect(r.code).to.equal(3);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.match(/REFUSED, the copy is kept \(size 600\): FORKED: the log forked/);
      expect(await readFile(path.join(dir, "checkpoint"), "utf8")).to.equal(memoryLog(main, 600).note);
    } finally {
      await forked.close();
    }
  });
});
