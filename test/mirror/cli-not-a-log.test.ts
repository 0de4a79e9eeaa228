/**
 * `npm run mirror` pointed at something that is not a published log (the
 * service's root, its API, a web page, an empty directory) says so and names
 * what --tlog should be, instead of leaving a bare 404 or a signature error.
 */
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import { TLOG_KEYS } from "../tlog/fixture";
import { entry, memoryLog, mirror, readerTiles, serve, tlogApp, type Served } from "./helpers";


describe("npm run mirror given a --tlog that is not a published log", function () {
  this.timeout(120_000);
  let site: Served;
  let dir: string;
  before(async function () {
    // A service whose log is under /tlog, and a web page at /page that answers HTML for any path.
    const app = express();
    app.use(tlogApp(readerTiles(memoryLog(Array.from({ length: 10 }, (_, i) => entry(i)), 10))));
    app.get(/^\/page(\/.*)?$/, (_req, res) => void res.type("html").send("<!doctype html><html><body>hello</body></html>\n"));
    site = await serve(app);
  });
  after(async function () {
    await site?.close();
  });
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-mirror-not-a-log-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });
  const run = (tlog: string) => mirror(["--tlog", tlog, "--dir", path.join(dir, "copy"), "--log-key", TLOG_KEYS.verifierKey, "--once"]);

  describe("when it is the service's root", function () {
    it("fails (exit 1) with one line naming the /tlog prefix to use", async function () {
      const r = await run(`${site.url}/`);
      expect(r.code).to.equal(1);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.contain(`does not look like a published log`);
      expect(r.stderr).to.contain(`give --tlog the log's /tlog prefix, for a subsidy-ledger service ${site.url}/tlog`);
    });
  });
  describe("when it is a web page", function () {
    it("refuses (exit 3) with one line saying it is not a published log", async function () {
      const r = await run(`${site.url}/page`);
      expect(r.code).to.equal(3);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.contain("SIGNATURE_INVALID");
      expect(r.stderr).to.contain(`${site.url}/page/checkpoint must be a checkpoint signed by the log key`);
    });
  });
  describe("when it is a directory without a checkpoint", function () {
    it("fails (exit 1) naming the kind of directory to give", async function () {
      await writeFile(path.join(dir, "README"), "not a log\n");
      const r = await run(dir);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain("a directory written by npm run publish or by another mirror");
    });
  });
  describe("when it is the log itself", function () {
    it("syncs without a hint", async function () {
      const r = await run(`${site.url}/tlog`);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.equal("");
    });
  });
});
