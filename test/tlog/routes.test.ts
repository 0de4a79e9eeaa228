/**
 * The /tlog/ routes (service/http/tlog.ts over service/queries/tiles.ts): the
 * C2SP tlog-tiles checkpoint, hash tiles and entry bundles of a LevelDB store
 * of the spec's example size, 70,000 leaves, checked against a MemoryTree of
 * the same leaves; caching headers; bad paths; the published size as bound.
 */
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { parseEntryBundle, parseHashTile } from "../../service/format/tiles";
import { equalBytes, hashLeaf, toHex } from "../../service/log";
import { createWorld, expectProblem, type World } from "../http/helpers";
import { leafData } from "../store/contract";
import { tlogFixture, type TlogFixture } from "./fixture";

const IMMUTABLE = "public, max-age=31536000, immutable";

function bytesOf(res: request.Response): Uint8Array {
  expect(Buffer.isBuffer(res.body), "body is bytes").to.equal(true);
  return new Uint8Array(res.body as Buffer);
}

/** supertest buffers application/octet-stream only when asked. */
const getBytes = (w: World, path: string) =>
  request(w.server)
    .get(path)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => cb(null, Buffer.concat(chunks)));
    });

describe("the published log under /tlog/", function () {
  this.timeout(120_000);
  let fx: TlogFixture;
  let w: World;

  before(async function () {
    fx = await tlogFixture(70_000);
    w = await createWorld({ tiles: fx.tiles });
  });
  after(async function () {
    if (w?.server.listening) await new Promise((done) => w.server.close(done));
    await fx?.cleanup();
  });
  /** The port of w's server, listening on first use (for fetch, which decodes gzip itself). */
  async function port(): Promise<number> {
    if (!w.server.listening) await new Promise<void>((done) => w.server.listen(0, "127.0.0.1", done));
    return (w.server.address() as AddressInfo).port;
  }
  beforeEach(function () {
    fx.publish(70_000);
  });

  describe("before any checkpoint is published", function () {
    it("answers 404 problem+json for the checkpoint and for every tile", async function () {
      fx.publish(null);
      expect(expectProblem(await request(w.server).get("/tlog/checkpoint"), 404)["detail"]).to.match(/anchored/).and.match(/cosigned by its quorum; \/v1\/health says what it waits for/);
      expectProblem(await request(w.server).get("/tlog/tile/0/000"), 404);
      expectProblem(await request(w.server).get("/tlog/tile/entries/000.p/1"), 404);
    });
  });

  describe("the checkpoint", function () {
    it("is the published note, as text/plain; charset=utf-8, cached for seconds only", async function () {
      const res = await request(w.server).get("/tlog/checkpoint");
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.equal("text/plain; charset=utf-8");
      expect(res.headers["cache-control"]).to.equal("public, max-age=5");
      expect(res.headers["access-control-allow-origin"]).to.equal("*");
      expect(res.text).to.equal(fx.published()!.note);
      expect(res.text.split("\n").slice(0, 2)).to.deep.equal(["ledger.test.example/log", "70000"]);
    });
  });

  describe("a full level-0 tile", function () {
    it("is the 256 leaf hashes, 8,192 bytes of application/octet-stream, immutable for a year", async function () {
      const res = await getBytes(w, "/tlog/tile/0/272");
      expect(res.status).to.equal(200);
      expect(res.headers["content-type"]).to.equal("application/octet-stream");
      expect(res.headers["cache-control"]).to.equal(IMMUTABLE);
      const hashes = parseHashTile(bytesOf(res), 256);
      hashes.forEach((h, i) => expect(toHex(h)).to.equal(toHex(fx.tree.leafHash(272 * 256 + i))));
    });
  });

  describe("the tiles of higher levels", function () {
    it("hold the Merkle tree hashes of whole tiles below: the full level-1 tile, the level-1 tile of width 17, the level-2 tile of width 1", async function () {
      const one = parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/1/000")), 256);
      one.forEach((h, i) => expect(toHex(h)).to.equal(toHex(fx.tree.node({ level: 8, index: i }))));
      const res = await getBytes(w, "/tlog/tile/1/001.p/17");
      expect(res.headers["cache-control"]).to.equal("public, max-age=5");
      parseHashTile(bytesOf(res), 17).forEach((h, i) => expect(toHex(h)).to.equal(toHex(fx.tree.node({ level: 8, index: 256 + i }))));
      const two = parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/2/000.p/1")), 1);
      expect(toHex(two[0]!)).to.equal(toHex(fx.tree.node({ level: 16, index: 0 })));
    });
  });

  describe("a partial level-0 tile", function () {
    it("is served at the published width (112) and at any narrower one, never wider", async function () {
      parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/0/273.p/112")), 112).forEach((h, i) =>
        expect(toHex(h)).to.equal(toHex(fx.tree.leafHash(273 * 256 + i))),
      );
      expect(parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/0/273.p/5")), 5)).to.have.length(5);
      expectProblem(await request(w.server).get("/tlog/tile/0/273.p/113"), 404);
      expectProblem(await request(w.server).get("/tlog/tile/0/273"), 404);
      expectProblem(await request(w.server).get("/tlog/tile/0/274.p/1"), 404);
      expectProblem(await request(w.server).get("/tlog/tile/3/000.p/1"), 404);
    });
  });

  describe("an entry bundle", function () {
    it("holds each leaf's public bytes, uint16-length-prefixed, which hash to the level-0 tile's hashes", async function () {
      const res = await getBytes(w, "/tlog/tile/entries/001");
      expect(res.headers["content-type"]).to.equal("application/octet-stream");
      expect(res.headers["cache-control"]).to.equal(IMMUTABLE);
      const entries = parseEntryBundle(bytesOf(res), 256);
      const tile = parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/0/001")), 256);
      entries.forEach((e, i) => {
        expect(Buffer.from(e).equals(Buffer.from(leafData(256 + i).bytes))).to.equal(true);
        expect(equalBytes(hashLeaf(e), tile[i]!)).to.equal(true);
      });
    });

    it("is sent gzipped to a client that accepts gzip, as is, to one that does not; hash tiles never are", async function () {
      const raw = await getBytes(w, "/tlog/tile/entries/002").set("Accept-Encoding", "identity");
      expect(raw.headers["content-encoding"]).to.equal(undefined);
      expect(raw.headers["vary"]).to.match(/Accept-Encoding/);
      const zipped = await fetch(`http://127.0.0.1:${await port()}/tlog/tile/entries/002`, { headers: { "accept-encoding": "gzip" } });
      expect(zipped.headers.get("content-encoding")).to.equal("gzip");
      expect(Buffer.from(await zipped.arrayBuffer()).equals(Buffer.from(bytesOf(raw)))).to.equal(true);
      const again = await getBytes(w, "/tlog/tile/entries/002").set("Accept-Encoding", "gzip");
      expect(again.headers["content-encoding"]).to.equal("gzip");
      expect(Buffer.from(bytesOf(again)).equals(Buffer.from(bytesOf(raw)))).to.equal(true);
      const tile = await getBytes(w, "/tlog/tile/0/002").set("Accept-Encoding", "gzip");
      expect(tile.headers["content-encoding"]).to.equal(undefined);
    });

    it("is partial at the right edge", async function () {
      const res = await getBytes(w, "/tlog/tile/entries/273.p/112");
      expect(res.headers["cache-control"]).to.equal("public, max-age=5");
      const entries = parseEntryBundle(bytesOf(res), 112);
      expect(Buffer.from(entries[111]!).equals(Buffer.from(leafData(69_999).bytes))).to.equal(true);
    });
  });

  describe("when the store holds more than is published", function () {
    it("serves nothing past the published size: the tiles stop where the published checkpoint's tree does", async function () {
      fx.publish(300);
      expect((await request(w.server).get("/tlog/checkpoint")).text.split("\n")[1]).to.equal("300");
      expect((await getBytes(w, "/tlog/tile/0/000")).status).to.equal(200);
      expect(parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/0/001.p/44")), 44)).to.have.length(44);
      expectProblem(await request(w.server).get("/tlog/tile/0/001"), 404);
      expectProblem(await request(w.server).get("/tlog/tile/0/001.p/45"), 404);
      expectProblem(await request(w.server).get("/tlog/tile/entries/001.p/45"), 404);
      expect(parseHashTile(bytesOf(await getBytes(w, "/tlog/tile/1/000.p/1")), 1)).to.have.length(1);
      expectProblem(await request(w.server).get("/tlog/tile/1/000.p/2"), 404);
    });
  });

  describe("a malformed path", function () {
    for (const path of [
      "/tlog/tile/0/1",
      "/tlog/tile/00/000",
      "/tlog/tile/64/000",
      "/tlog/tile/0/x000/001",
      "/tlog/tile/0/000.p/0",
      "/tlog/tile/0/000.p/256",
      "/tlog/tile/entries/abc",
      "/tlog/tile/0/%2e%2e/000",
      "/tlog/tile/0/000%00",
      `/tlog/tile/0/${"x999/".repeat(500)}000`,
    ])
      it(`is a 400 problem, not a 500: ${path.length > 40 ? `${path.slice(0, 40)}…` : path}`, async function () {
        expect(expectProblem(await request(w.server).get(path), 400)["type"]).to.match(/bad-tile-path$/);
      });

    for (const path of ["/tlog/tile", "/tlog/", "/tlog/checkpoint/", "/tlog/tiles/0/000", "/tlog/CHECKPOINT"])
      it(`is a 404 problem when it is no resource at all: ${path}`, async function () {
        expectProblem(await request(w.server).get(path), 404);
      });
  });

  describe("its request log", function () {
    it("keeps successful reads at debug level, so a polling mirror does not flood the service's log, and failures at info", async function () {
      const fresh = await createWorld({ tiles: fx.tiles });
      expect((await request(fresh.server).get("/tlog/checkpoint")).status).to.equal(200);
      expectProblem(await request(fresh.server).get("/tlog/tile/9/000"), 404);
      const lines = fresh.logLines.map((l) => JSON.parse(l) as { msg: string; url: string; level: number }).filter((l) => l.msg === "request");
      expect(lines.map((l) => [l.url, l.level])).to.deep.equal([
        ["/tlog/checkpoint", 20],
        ["/tlog/tile/9/000", 30],
      ]);
    });
  });

  describe("its rate limit", function () {
    it("is its own: /tlog/ runs out at its limit while the API's budget is untouched, and the other way round", async function () {
      const limited = await createWorld({ tiles: fx.tiles, config: { rateLimit: { publicPerMinute: 2, adminPerMinute: 100, tlogPerMinute: 3 } } });
      for (let i = 0; i < 3; i++) expect((await request(limited.server).get("/tlog/checkpoint")).status).to.equal(200);
      expect(expectProblem(await request(limited.server).get("/tlog/tile/0/000"), 429)["detail"]).to.match(/\/tlog\/ rate limit is 3/);
      expect((await request(limited.server).get("/v1/health")).status).to.equal(200);
      expect((await request(limited.server).get("/v1/health")).status).to.equal(200);
      expectProblem(await request(limited.server).get("/v1/health"), 429);
    });
  });
});
