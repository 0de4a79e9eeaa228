/**
 * The WebAssembly SHA-256 lanes (scripts/lib/audit/sha256-lanes.ts) against
 * node:crypto: tagged messages of every length that matters to the padding
 * (0, the 55/56 and 63/64 block boundaries, several blocks), lanes of one
 * group finishing at different blocks, counts that leave a group short; node
 * pairs against hashChildren; and the committed module against its generator.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { hashChildren, hashLeaf } from "../../service/log";
import { DESCRIPTOR_SIZE, HEAP_BASE, Sha256Lanes, Sha256LanesError } from "../../scripts/lib/audit/sha256-lanes";
import { SHA256_LANES_WASM_BASE64 } from "../../scripts/lib/audit/sha256-lanes.wasm";
import { assembleSha256Lanes, GENERATED_FILE, generatedSource } from "../../scripts/gen-sha256-lanes";
import { fcAssert } from "../helpers/fc";

const BOUNDARY_LENGTHS = [0, 1, 54, 55, 56, 62, 63, 64, 65, 118, 119, 120, 126, 127, 128, 129, 183, 184, 490, 491, 502, 503];
const COUNTS = [1, 2, 3, 4, 5, 7, 8, 9, 13];

function sha256Tagged(tag: number, msg: Uint8Array): Buffer {
  return createHash("sha256").update(Uint8Array.of(tag)).update(msg).digest();
}

/**
 * Hashes `messages` with the lanes: written at `gap`-spaced addresses (a
 * message's first block is read from the byte before it, which holds
 * garbage), digests written in the order `order` gives. Returns them in
 * message order.
 */
function laneHashes(lanes: Sha256Lanes, tag: number, messages: readonly Uint8Array[], gaps: readonly number[] = [], order?: readonly number[]): Buffer[] {
  const total = messages.reduce((s, m) => s + m.length + 8, 0);
  const descAt = HEAP_BASE;
  const outAt = descAt + DESCRIPTOR_SIZE * messages.length;
  let at = outAt + 32 * messages.length + 1;
  lanes.reserve(at + total + 64 * (gaps.length + 1) - HEAP_BASE);
  const mem = lanes.bytes;
  const words = lanes.words;
  mem.fill(0xa5, outAt + 32 * messages.length, at + total);
  const seq = order ?? messages.map((_, i) => i);
  seq.forEach((i, slot) => {
    at += gaps[slot % Math.max(1, gaps.length)] ?? 0;
    mem.set(messages[i]!, at);
    const d = (descAt + DESCRIPTOR_SIZE * slot) / 4;
    words[d] = at;
    words[d + 1] = messages[i]!.length;
    words[d + 2] = outAt + 32 * i;
    at += messages[i]!.length;
  });
  lanes.hashTagged(tag, descAt, messages.length);
  return messages.map((_, i) => Buffer.from(mem.subarray(outAt + 32 * i, outAt + 32 * (i + 1))));
}

function bytes(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 131 + i * 29 + (i >> 3)) & 0xff;
  return b;
}

describe("SHA-256 in WebAssembly lanes", () => {
  const lanes = Sha256Lanes.create();

  describe("tagged messages", () => {
    for (const len of BOUNDARY_LENGTHS)
      it(`hashes ${len}-byte messages as node:crypto does, 1 to 13 at a time`, () => {
        for (const count of COUNTS) {
          const msgs = Array.from({ length: count }, (_, i) => bytes(len, i + count));
          const got = laneHashes(lanes, 0, msgs, [1, 0, 3]);
          msgs.forEach((m, i) => expect(got[i]!.toString("hex"), `count ${count}, message ${i}`).to.equal(sha256Tagged(0, m).toString("hex")));
        }
      });

    it("hashes a group whose lanes end at different blocks (every boundary length beside every other)", () => {
      const msgs = BOUNDARY_LENGTHS.flatMap((a, i) => BOUNDARY_LENGTHS.map((b, j) => (j % 2 === 0 ? bytes(a, i) : bytes(b, j + 100))));
      const got = laneHashes(lanes, 0, msgs);
      msgs.forEach((m, i) => expect(got[i]!.toString("hex"), `message ${i} (${m.length} bytes)`).to.equal(sha256Tagged(0, m).toString("hex")));
    });

    it("matches hashLeaf for tag 0 and node:crypto for any tag, on random lengths, gaps, counts and digest orders", () => {
      const message = fc.oneof(fc.constantFrom(...BOUNDARY_LENGTHS).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })), fc.uint8Array({ maxLength: 600 }));
      fcAssert(
        fc.property(
          fc.array(message, { maxLength: 11 }),
          fc.array(fc.nat(70), { maxLength: 4 }),
          fc.integer({ min: 0, max: 255 }),
          fc.boolean(),
          (msgs, gaps, tag, reversed) => {
            const order = msgs.map((_, i) => (reversed ? msgs.length - 1 - i : i));
            const got = laneHashes(lanes, tag, msgs, gaps, order);
            msgs.forEach((m, i) => {
              const want = tag === 0 ? Buffer.from(hashLeaf(m)) : sha256Tagged(tag, m);
              expect(got[i]!.toString("hex"), `message ${i} (${m.length} bytes)`).to.equal(want.toString("hex"));
            });
          },
        ),
        { scale: 0.5 },
      );
    });

    it("hashes nothing, and writes nothing, for a count of 0", () => {
      const mem = lanes.bytes;
      mem.fill(7, HEAP_BASE, HEAP_BASE + 64);
      lanes.hashLeaves(HEAP_BASE, 0);
      expect(Array.from(mem.subarray(HEAP_BASE, HEAP_BASE + 64)).every((b) => b === 7)).to.equal(true);
    });
  });

  describe("node pairs", () => {
    it("match hashChildren for 0 to 13 pairs, wherever they lie", () => {
      fcAssert(
        fc.property(fc.array(fc.uint8Array({ minLength: 64, maxLength: 64 }), { maxLength: 13 }), fc.nat(100), (pairs, offset) => {
          const from = HEAP_BASE + 1 + offset;
          const to = from + 64 * pairs.length + offset;
          lanes.reserve(to + 32 * pairs.length - HEAP_BASE);
          pairs.forEach((p, j) => lanes.bytes.set(p, from + 64 * j));
          lanes.hashNodes(from, pairs.length, to);
          pairs.forEach((p, j) =>
            expect(Buffer.from(lanes.bytes.subarray(to + 32 * j, to + 32 * j + 32)).toString("hex"), `pair ${j}`).to.equal(
              Buffer.from(hashChildren(p.subarray(0, 32), p.subarray(32))).toString("hex"),
            ),
          );
        }),
      );
    });

    it("refuse a buffer that is not a view of their memory, and addresses outside the heap", () => {
      expect(() => lanes.nodePairs(new Uint8Array(256), 0, 1, 128)).to.throw(Sha256LanesError, /not a view/);
      expect(() => lanes.hashNodes(HEAP_BASE - 64, 1, HEAP_BASE + 128)).to.throw(Sha256LanesError, /not in the heap/);
      expect(() => lanes.hashNodes(HEAP_BASE, 1, lanes.bytes.length - 16)).to.throw(Sha256LanesError, /not in the heap/);
      expect(() => lanes.hashLeaves(lanes.bytes.length - 12, 2)).to.throw(Sha256LanesError, /not in the heap/);
    });
  });

  describe("the committed module", () => {
    it("is what scripts/lib/audit/sha256-lanes-wat.ts generates (run `npm run gen:sha256-lanes`)", async () => {
      const wasm = await assembleSha256Lanes();
      expect(Buffer.from(wasm).toString("base64") === SHA256_LANES_WASM_BASE64, "sha256-lanes.wasm.ts is stale").to.equal(true);
      expect(readFileSync(GENERATED_FILE, "utf8")).to.equal(generatedSource(wasm));
    });
  });
});
