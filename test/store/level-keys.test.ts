/**
 * The LevelDB key layout (service/store/level-keys.ts): byte order is the
 * order the store scans in, index pairs never run into each other, the
 * expiry bound splits records by creation time, and the fixed-layout values
 * decode to what was encoded.
 */
import { expect } from "chai";
import { Buffer } from "node:buffer";
import {
  decodeHead,
  decodeIndexKey,
  decodeLeaf,
  encodeHead,
  encodeLeaf,
  idempotencyExpiryBound,
  idempotencyTimeKey,
  indexPrefix,
  leafIndexOfIndexKey,
  leafKey,
  nodeKeyBytes,
  readU64,
  scopedKeyOfTimeKey,
  u64,
  u64OfKey,
  concat,
} from "../../service/store/level-keys";

const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

describe("the LevelDB key layout", function () {
  describe("u64", function () {
    it("sorts bytewise in numeric order and reads back", function () {
      const ns = [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
      for (const n of ns) expect(readU64(u64(n))).to.equal(n);
      for (let i = 1; i < ns.length; i++) expect(cmp(u64(ns[i - 1]!), u64(ns[i]!))).to.equal(-1);
    });
  });

  describe("leaf and node keys", function () {
    it("order leaves by index, and nodes by level then index", function () {
      expect(cmp(leafKey(9), leafKey(10))).to.equal(-1);
      expect(u64OfKey(leafKey(1234))).to.equal(1234);
      expect(cmp(nodeKeyBytes({ level: 0, index: 2 ** 40 }), nodeKeyBytes({ level: 1, index: 0 }))).to.equal(-1);
    });
  });

  describe("secondary index keys", function () {
    it("keep (enterprise, 91) apart from (enterprise, 911)", function () {
      const short = indexPrefix({ name: "enterprise", value: "91" });
      const long = indexPrefix({ name: "enterprise", value: "911" });
      const k = concat(long, u64(0));
      expect(Buffer.from(k.subarray(0, short.length)).equals(Buffer.from(short))).to.equal(false);
      expect(leafIndexOfIndexKey(concat(short, u64(77)))).to.equal(77);
    });

    it("decode back to the (name, value) and leaf they were made of", function () {
      const ref = { name: "enterprise", value: "91110101000000007X 企业" } as const;
      expect(decodeIndexKey(concat(indexPrefix(ref), u64(2 ** 40 + 3)))).to.deep.equal({ ref, leaf: 2 ** 40 + 3 });
    });

    it("refuse, when decoded, a key with trailing bytes or an unknown index name", function () {
      const k = concat(indexPrefix({ name: "kind", value: "payout" }), u64(1));
      expect(() => decodeIndexKey(concat(k, Uint8Array.of(0)))).to.throw(RangeError);
      const unknown = concat(Uint8Array.of(0x06, 3), Buffer.from("abc"), Uint8Array.of(0, 1), Buffer.from("v"), u64(1));
      expect(() => decodeIndexKey(unknown)).to.throw(RangeError, /unknown index/);
    });

    it("refuse a value too long to be stored with a RangeError", function () {
      expect(() => indexPrefix({ name: "enterprise", value: "x".repeat(70_000) })).to.throw(RangeError);
    });
  });

  describe("idempotency expiry keys", function () {
    it("put every record created before the cutoff below the bound, and none at or after it", function () {
      const bound = idempotencyExpiryBound("2026-03-10T02:00:00.000Z");
      expect(cmp(idempotencyTimeKey("2026-03-10T01:59:59.999Z", "tok\u0000zzz"), bound)).to.equal(-1);
      expect(cmp(idempotencyTimeKey("2026-03-10T02:00:00.000Z", "a"), bound)).to.equal(1);
      expect(cmp(idempotencyTimeKey("2026-03-10T02:00:00.001Z", "a"), bound)).to.equal(1);
    });

    it("name the scoped key they expire", function () {
      expect(scopedKeyOfTimeKey(idempotencyTimeKey("2026-03-10T02:00:00.000Z", "tok_1\u0000key"))).to.equal("tok_1\u0000key");
    });
  });

  describe("values", function () {
    it("decode a leaf to what was encoded", function () {
      const leaf = { index: 5, id: "app_0123", recordedAt: "2026-03-10T02:00:00.000Z", bytes: new TextEncoder().encode('{"v":1}') };
      const back = decodeLeaf(5, encodeLeaf(leaf));
      expect({ ...back, bytes: Buffer.from(back.bytes).toString() }).to.deep.equal({ ...leaf, bytes: '{"v":1}' });
    });

    it("decode a head to what was encoded, and refuse one with the wrong number of hashes", function () {
      const head = { size: 3, compact: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)] };
      expect(decodeHead(encodeHead(head))).to.deep.equal(head);
      expect(() => decodeHead(encodeHead({ size: 4, compact: head.compact }))).to.throw(/compact hashes/);
    });
  });
});
