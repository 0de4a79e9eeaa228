/**
 * The tile layout (service/format/tiles.ts): where each node of levels 0–7
 * lies in its tile's record, which nodes the incomplete last tile holds, and
 * the C2SP tlog-tiles path encoding, checked against the spec's examples.
 */
import { expect } from "chai";
import {
  completeTiles,
  partialTileNodes,
  tileHashOffset,
  tileIndexPath,
  tileLevelStart,
  tileNodes,
  tileOf,
  tilePath,
  TileCoordinateError,
  TILE_HASHES,
  TILE_HEIGHT,
  TILE_WIDTH,
} from "../../service/format/tiles";

describe("the tile layout", function () {
  describe("a tile", function () {
    it("spans 256 leaves and holds 510 hashes of 8 levels", function () {
      expect([TILE_WIDTH, TILE_HEIGHT, TILE_HASHES]).to.deep.equal([256, 8, 510]);
      expect(tileNodes(0)).to.have.length(TILE_HASHES);
    });

    it("lists its nodes level by level, left to right, so each node's offset is its place in that list", function () {
      for (const t of [0, 1, 7, 1000]) {
        const nodes = tileNodes(t);
        expect(nodes.map(tileOf), `tiles of tile ${t}'s nodes`).to.deep.equal(nodes.map(() => t));
        expect(nodes.map(tileHashOffset), `offsets in tile ${t}`).to.deep.equal(nodes.map((_, i) => i));
        expect(nodes[0]).to.deep.equal({ level: 0, index: t * 256 });
        expect(nodes[TILE_HASHES - 1]).to.deep.equal({ level: 7, index: t * 2 + 1 });
      }
    });

    it("starts each level where the levels below it end", function () {
      expect([0, 1, 2, 7].map(tileLevelStart)).to.deep.equal([0, 256, 384, 508]);
    });
  });

  describe("a tree of n leaves", function () {
    it("has ⌊n / 256⌋ complete tiles", function () {
      expect([0, 255, 256, 257, 70_000].map(completeTiles)).to.deep.equal([0, 0, 1, 1, 273]);
    });

    it("has in its incomplete last tile exactly the nodes of levels 0–7 that the tree has completed past the complete tiles", function () {
      for (const n of [0, 1, 2, 3, 255, 256, 257, 300, 511, 512, 70_000]) {
        const want: { level: number; index: number }[] = [];
        for (let level = 0; level < 8; level++)
          for (let index = completeTiles(n) * (256 >> level); index < Math.floor(n / 2 ** level); index++) want.push({ level, index });
        expect(partialTileNodes(n), `size ${n}`).to.deep.equal(want);
      }
      expect(partialTileNodes(256)).to.deep.equal([]);
      expect(partialTileNodes(3)).to.deep.equal([
        { level: 0, index: 0 },
        { level: 0, index: 1 },
        { level: 0, index: 2 },
        { level: 1, index: 0 },
      ]);
    });
  });

  describe("C2SP tile paths", function () {
    it("encode the spec's example index 1234067 as x001/x234/067", function () {
      expect(tileIndexPath(1234067)).to.equal("x001/x234/067");
      expect(tilePath(0, 1234067)).to.equal("tile/0/x001/x234/067");
    });

    it("pad small indexes to three digits with no x", function () {
      expect(tileIndexPath(0)).to.equal("000");
      expect(tileIndexPath(7)).to.equal("007");
      expect(tileIndexPath(999)).to.equal("999");
      expect(tileIndexPath(1000)).to.equal("x001/000");
    });

    it("name a partial tile with .p/<width>, as the spec's tree of 70,000 leaves needs", function () {
      // 273 full level-0 tiles, a partial one of width 112, one full level-1 tile, a partial one of width 17, and a level-2 tile of width 1.
      expect(tilePath(0, 272)).to.equal("tile/0/272");
      expect(tilePath(0, 273, 112)).to.equal("tile/0/273.p/112");
      expect(tilePath(1, 0)).to.equal("tile/1/000");
      expect(tilePath(1, 1, 17)).to.equal("tile/1/001.p/17");
      expect(tilePath(2, 0, 1)).to.equal("tile/2/000.p/1");
    });

    describe("when a coordinate is out of range", function () {
      for (const [what, f] of [
        ["a level above 63", () => tilePath(64, 0)],
        ["a negative level", () => tilePath(-1, 0)],
        ["a fractional index", () => tilePath(0, 1.5)],
        ["a negative index", () => tilePath(0, -1)],
        ["an index past 2^53", () => tilePath(0, 2 ** 53)],
        ["a width of 0", () => tilePath(0, 0, 0)],
        ["a width above 256", () => tilePath(0, 0, 257)],
      ] as const)
        it(`throws TileCoordinateError for ${what}`, function () {
          expect(f).to.throw(TileCoordinateError);
        });
    });
  });
});
