/**
 * The C2SP tlog-tiles resource layout (service/format/tiles.ts): paths both
 * ways, which tiles a tree of a given size has (the spec's own 70,000 example),
 * and the entry-bundle and hash-tile encodings.
 */
import { expect } from "chai";
import {
  encodeEntryBundle,
  entriesPath,
  parseEntryBundle,
  parseHashTile,
  parseResourcePath,
  resourcePath,
  resourcesForSize,
  TileCoordinateError,
  TileFormatError,
  widthAt,
} from "../../service/format/tiles";

describe("the tlog-tiles resource layout", function () {
  describe("a tile path", function () {
    it("parses the spec's example index 1234067 as x001/x234/067, at any level, full or partial", function () {
      expect(parseResourcePath("tile/0/x001/x234/067")).to.deep.equal({ level: 0, index: 1234067, width: 256 });
      expect(parseResourcePath("tile/5/x001/x234/067.p/8")).to.deep.equal({ level: 5, index: 1234067, width: 8 });
      expect(parseResourcePath("tile/entries/x001/x234/067.p/255")).to.deep.equal({ level: "entries", index: 1234067, width: 255 });
      expect(parseResourcePath("tile/63/000")).to.deep.equal({ level: 63, index: 0, width: 256 });
    });

    it("round-trips with resourcePath for every kind of resource", function () {
      for (const r of [
        { level: 0, index: 0, width: 256 },
        { level: 1, index: 999, width: 1 },
        { level: 2, index: 1000, width: 17 },
        { level: "entries" as const, index: 273, width: 112 },
        { level: "entries" as const, index: Number.MAX_SAFE_INTEGER, width: 256 },
      ])
        expect(parseResourcePath(resourcePath(r))).to.deep.equal(r);
      expect(entriesPath(1234067, 3)).to.equal("tile/entries/x001/x234/067.p/3");
    });

    describe("when it is not canonical or not a tile", function () {
      for (const bad of [
        "tile/0/1",
        "tile/0/0001",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/0/x000/001",
        "tile/0/001/234",
        "tile/0/x001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/01",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000/",
        "tile/entries/abc",
        "tile/entries",
        "tile/0",
        "tiles/0/000",
        "tile/0/x1000/000",
        "tile/0/x009/x007/x199/x254/x740/x992/000",
        `tile/0/${"x001/".repeat(100)}000`,
      ])
        it(`refuses ${bad.length > 40 ? `${bad.slice(0, 40)}…` : bad} with a TileCoordinateError`, function () {
          expect(() => parseResourcePath(bad)).to.throw(TileCoordinateError);
        });
    });
  });

  describe("the tiles of a tree", function () {
    it("are, for the spec's 70,000 leaves: 273 full level-0 tiles, one of width 112, one full level-1 tile, one of width 17 and one level-2 tile of width 1", function () {
      const hash = resourcesForSize(70_000).filter((r) => r.level !== "entries");
      const of = (level: number) => hash.filter((r) => r.level === level);
      expect(of(0).filter((r) => r.width === 256)).to.have.length(273);
      expect(of(0).filter((r) => r.width !== 256)).to.deep.equal([{ level: 0, index: 273, width: 112 }]);
      expect(of(1)).to.deep.equal([
        { level: 1, index: 0, width: 256 },
        { level: 1, index: 1, width: 17 },
      ]);
      expect(of(2)).to.deep.equal([{ level: 2, index: 0, width: 1 }]);
      expect(hash).to.have.length(273 + 1 + 2 + 1);
    });

    it("are, for 256 leaves, one full level-0 tile and a level-1 tile of width 1, as the spec says", function () {
      expect(resourcesForSize(256)).to.deep.equal([
        { level: 0, index: 0, width: 256 },
        { level: 1, index: 0, width: 1 },
        { level: "entries", index: 0, width: 256 },
      ]);
    });

    it("are none for the empty tree (empty tiles are never served)", function () {
      expect(resourcesForSize(0)).to.deep.equal([]);
      expect(widthAt(0, 0, 0)).to.equal(0);
    });

    it("leave out the full tiles an earlier size already had, but not its partial ones", function () {
      const later = resourcesForSize(70_000, 600);
      expect(later.filter((r) => r.level === 0)[0]).to.deep.equal({ level: 0, index: 2, width: 256 });
      expect(later.filter((r) => r.level === 1)).to.deep.equal([
        { level: 1, index: 0, width: 256 },
        { level: 1, index: 1, width: 17 },
      ]);
    });

    it("give each tile its width at a size, and 0 past the right edge, even at levels where 256^L overflows a double's integers", function () {
      expect(widthAt(0, 273, 70_000)).to.equal(112);
      expect(widthAt(0, 272, 70_000)).to.equal(256);
      expect(widthAt("entries", 274, 70_000)).to.equal(0);
      expect(widthAt(63, 0, Number.MAX_SAFE_INTEGER)).to.equal(0);
      expect(widthAt(6, 0, Number.MAX_SAFE_INTEGER)).to.equal(31);
      expect(widthAt(6, 0, 2 ** 53)).to.equal(32);
    });
  });

  describe("an entry bundle", function () {
    it("is each entry as a big-endian uint16 length and its bytes, and parses back", function () {
      const entries = [Uint8Array.of(), Uint8Array.of(0xab), new Uint8Array(300).fill(7)];
      const b = encodeEntryBundle(entries);
      expect([...b.subarray(0, 5)]).to.deep.equal([0, 0, 0, 1, 0xab]);
      expect([...b.subarray(5, 7)]).to.deep.equal([0x01, 0x2c]);
      expect(parseEntryBundle(b, 3).map((e) => [...e])).to.deep.equal(entries.map((e) => [...e]));
    });

    it("refuses an entry longer than 65535 bytes", function () {
      expect(() => encodeEntryBundle([new Uint8Array(65536)])).to.throw(TileCoordinateError);
    });

    it("does not parse when cut short, with trailing bytes or with the wrong count", function () {
      const b = encodeEntryBundle([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
      expect(() => parseEntryBundle(b.subarray(0, b.length - 1), 2)).to.throw(TileFormatError);
      expect(() => parseEntryBundle(Uint8Array.of(...b, 0), 2)).to.throw(TileFormatError);
      expect(() => parseEntryBundle(b, 3)).to.throw(TileFormatError);
    });
  });

  describe("a hash tile", function () {
    it("splits into 32-byte hashes, and refuses any other length", function () {
      expect(parseHashTile(new Uint8Array(64), 2)).to.have.length(2);
      expect(() => parseHashTile(new Uint8Array(65), 2)).to.throw(TileFormatError);
      expect(() => parseHashTile(new Uint8Array(64), 3)).to.throw(TileFormatError);
    });
  });
});
