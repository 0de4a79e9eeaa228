/**
 * The static copy (service/publish/static-dir.ts) and the directory and HTTP
 * readers (service/format/log-reader.ts): what is written, that it reads back
 * as the same log, that full tiles are never rewritten, that a kill mid-write
 * leaves no torn file, and that a bad checkpoint is refused.
 */
import { expect } from "chai";
import { fork } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpLogReader, LogReadError, rootFromTiles, type LogReader } from "../../service/format/log-reader";
import { parseEntryBundle, resourcePath, resourcesForSize } from "../../service/format/tiles";
import { equalBytes, generateNoteKey, parseVerifierKey, toHex } from "../../service/log";
import { PublishError, StaticLogDir } from "../../service/publish/static-dir";
import { tileQueriesReader } from "../../service/publish/continuous";
import { createWorld, type World } from "../http/helpers";
import { leafData } from "../store/contract";
import { TLOG_KEYS, TLOG_ORIGIN, tlogFixture, type TlogFixture } from "../tlog/fixture";

async function files(dir: string, sub = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, sub), { withFileTypes: true })) {
    const rel = sub === "" ? e.name : `${sub}/${e.name}`;
    if (e.isDirectory()) out.push(...(await files(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe("the static copy of the published log", function () {
  this.timeout(120_000);
  let fx: TlogFixture;
  let source: LogReader;
  let dir: string;

  before(async function () {
    fx = await tlogFixture(3000);
    source = tileQueriesReader(fx.tiles);
  });
  after(async function () {
    await fx?.cleanup();
  });
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), "ledger-static-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  describe("written once", function () {
    it("holds the checkpoint and exactly the tiles and bundles of its tree, which read back as the same log", async function () {
      fx.publish(700);
      const d = await StaticLogDir.open(dir);
      const r = await d.publish(source, { verifiers: parseVerifierKey(TLOG_KEYS.verifierKey), origin: TLOG_ORIGIN });
      expect(r).to.deep.include({ size: 700, previousSize: 0, skipped: 0 });
      const want = ["checkpoint", ...resourcesForSize(700).map(resourcePath)].sort();
      expect((await files(dir)).filter((f) => !f.startsWith(".tmp"))).to.deep.equal(want);
      expect(want).to.include.members(["tile/0/000", "tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2", "tile/entries/002.p/188"]);
      expect(await readFile(join(dir, "checkpoint"), "utf8")).to.equal(fx.published()!.note);
      expect(toHex(await rootFromTiles(d.reader(), 700))).to.equal(toHex(fx.tree.root(700)));
      const bundle = parseEntryBundle(await d.reader().readEntryBundle(2, 188), 188);
      expect(equalBytes(bundle[187]!, leafData(699).bytes)).to.equal(true);
      expect((await stat(join(dir, "tile/0/000"))).mode & 0o777).to.equal(0o644);
    });
  });

  describe("written again as the log grows", function () {
    it("adds the new tiles and checkpoint, and never rewrites a full tile", async function () {
      fx.publish(700);
      const d = await StaticLogDir.open(dir);
      await d.publish(source);
      const full = await stat(join(dir, "tile/0/001"));
      fx.publish(2900);
      const r = await d.publish(source);
      expect(r.previousSize).to.equal(700);
      const again = await stat(join(dir, "tile/0/001"));
      expect([again.ino, again.mtimeMs]).to.deep.equal([full.ino, full.mtimeMs]);
      expect(await readFile(join(dir, "checkpoint"), "utf8")).to.equal(fx.published()!.note);
      expect(toHex(await rootFromTiles(d.reader(), 2900))).to.equal(toHex(fx.tree.root(2900)));
      // The partial tiles of the older checkpoint stay, for readers that hold it.
      expect(await files(dir)).to.include.members(["tile/0/002.p/188", "tile/0/011.p/84"]);
    });

    it("refuses to replace a full tile that differs, writing no checkpoint", async function () {
      fx.publish(600);
      const d = await StaticLogDir.open(dir);
      await d.publish(source);
      const before = await readFile(join(dir, "checkpoint"), "utf8");
      await writeFile(join(dir, "tile/0/002"), new Uint8Array(8192));
      fx.publish(2000);
      // The file exists, so it is skipped, and then the root does not match: refused, the old checkpoint kept.
      const e = await d.publish(source).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).to.be.instanceOf(PublishError).with.property("code", "ROOT_MISMATCH");
      expect(await readFile(join(dir, "checkpoint"), "utf8")).to.equal(before);
    });
  });

  describe("when an entry in the directory was changed", function () {
    it("names the entry and writes no checkpoint", async function () {
      fx.publish(600);
      const d = await StaticLogDir.open(dir);
      await d.publish(source);
      // A partial bundle the next checkpoint still reads: tile/entries/002.p/88 (entries 512 to 599).
      const file = join(dir, "tile/entries/002.p/88");
      const bytes = await readFile(file);
      bytes[10]! ^= 1;
      await writeFile(file, bytes);
      const e = await d.publish(source, {}).then(
        () => undefined,
        (err: unknown) => err,
      );
      // Same checkpoint again: its partial bundle is re-checked, as every resource of a new size beyond the old full tiles is.
      expect(e).to.be.instanceOf(PublishError).with.property("message").that.matches(/entry 512 /);
    });
  });

  describe("when the checkpoint is bad", function () {
    it("refuses a smaller checkpoint than the directory's, and one under another key", async function () {
      fx.publish(900);
      const d = await StaticLogDir.open(dir);
      await d.publish(source);
      fx.publish(800);
      const shrunk = await d.publish(source).catch((err: unknown) => err);
      expect(shrunk).to.be.instanceOf(PublishError).with.property("code", "SHRUNK");
      fx.publish(1000);
      const other = parseVerifierKey(generateNoteKey(TLOG_ORIGIN).verifierKey);
      const forged = await d.publish(source, { verifiers: other }).catch((err: unknown) => err);
      expect(forged).to.be.instanceOf(PublishError).with.property("code", "CHECKPOINT_INVALID");
      expect((await readFile(join(dir, "checkpoint"), "utf8")).split("\n")[1]).to.equal("900");
    });
  });

  describe("when the writer dies mid-write", function () {
    it("leaves no torn file and no new checkpoint; the next run removes the leftovers and completes", async function () {
      fx.publish(600);
      const d = await StaticLogDir.open(dir);
      await d.publish(source);
      fx.publish(2900);
      let moved = 0;
      const crash = new Error("killed");
      const died = await d
        .publish(source, {
          beforeRename: () => {
            if (++moved === 5) throw crash;
          },
        })
        .catch((err: unknown) => err);
      expect(died).to.equal(crash);
      // Every tile present is whole; the checkpoint is the old one.
      for (const f of (await files(dir)).filter((x) => x.startsWith("tile/") && !x.startsWith("tile/entries"))) {
        const width = f.includes(".p/") ? Number(f.split(".p/")[1]) : 256;
        expect((await stat(join(dir, f))).size, f).to.equal(width * 32);
      }
      expect((await readFile(join(dir, "checkpoint"), "utf8")).split("\n")[1]).to.equal("600");
      const reopened = await StaticLogDir.open(dir);
      expect(await readdir(join(dir, ".tmp"))).to.deep.equal([]);
      await reopened.publish(source);
      expect(toHex(await rootFromTiles(reopened.reader(), 2900))).to.equal(toHex(fx.tree.root(2900)));
    });

    it("after a real kill -9 of a process publishing as fast as it can, holds only whole files and a checkpoint its tiles hash to", async function () {
      const stores = await mkdtemp(join(tmpdir(), "ledger-static-child-"));
      try {
        const child = fork(join(__dirname, "static-writer-child.ts"), [dir, stores], { execArgv: ["-r", "ts-node/register/transpile-only"], stdio: "ignore" });
        // Kill once it has published a few checkpoints, mid-way through another.
        for (let i = 0; i < 600; i++) {
          const cp = await readFile(join(dir, "checkpoint"), "utf8").catch(() => "");
          if (cp !== "" && Number(cp.split("\n")[1]) >= 1000) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
        for (const f of (await files(dir)).filter((x) => x.startsWith("tile/") && !x.startsWith("tile/entries"))) {
          const width = f.includes(".p/") ? Number(f.split(".p/")[1]) : 256;
          expect((await stat(join(dir, f))).size, f).to.equal(width * 32);
        }
        const d = await StaticLogDir.open(dir);
        expect(await readdir(join(dir, ".tmp"))).to.deep.equal([]);
        const size = await d.size();
        expect(size).to.be.at.least(1000);
        expect(toHex(await rootFromTiles(d.reader(), size))).to.equal(toHex(fx.tree.root(size)));
      } finally {
        await rm(stores, { recursive: true, force: true });
      }
    });
  });

  describe("the HTTP reader", function () {
    let w: World;
    let prefix: string;
    before(async function () {
      w = await createWorld({ tiles: fx.tiles });
      await new Promise<void>((done) => w.server.listen(0, "127.0.0.1", done));
      prefix = `http://127.0.0.1:${(w.server.address() as AddressInfo).port}/tlog`;
    });
    after(async function () {
      await new Promise((done) => w.server.close(done));
    });

    it("reads the same log the service serves, and a directory copy written from it has the same root", async function () {
      fx.publish(2500);
      const http = httpLogReader(prefix, fetch);
      expect(new TextDecoder().decode(await http.readCheckpoint())).to.equal(fx.published()!.note);
      for (const size of [1, 255, 256, 257, 2500]) expect(toHex(await rootFromTiles(http, size)), `size ${size}`).to.equal(toHex(fx.tree.root(size)));
      const d = await StaticLogDir.open(dir);
      await d.publish(http);
      expect(toHex(await rootFromTiles(d.reader(), 2500))).to.equal(toHex(fx.tree.root(2500)));
    });

    it("says NOT_FOUND past the published tree, UNAVAILABLE when nothing listens, MALFORMED for a tile of the wrong length", async function () {
      fx.publish(300);
      const http = httpLogReader(prefix, fetch);
      expect(await http.readTile(0, 1, 256).catch((e: unknown) => e)).to.be.instanceOf(LogReadError).with.property("code", "NOT_FOUND");
      const down = httpLogReader("http://127.0.0.1:1/tlog", fetch);
      expect(await down.readCheckpoint().catch((e: unknown) => e)).to.be.instanceOf(LogReadError).with.property("code", "UNAVAILABLE");
      const short = httpLogReader(prefix, async () => ({ status: 200, arrayBuffer: async () => new ArrayBuffer(31) }));
      expect(await short.readTile(0, 0, 1).catch((e: unknown) => e)).to.be.instanceOf(LogReadError).with.property("code", "MALFORMED");
    });
  });
});
