/**
 * The log core's synchronous SHA-256 (service/log/crypto-node.ts) hashes
 * short inputs in one call of node:crypto's one-shot digest, through a
 * shared scratch buffer; long ones stream. Both must give createHash's
 * answer for every split of the input, and no call may see another's bytes.
 */
import { createHash } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { hashChildren, hashLeaf, sha256, toHex } from "../../service/log";
import { sha256Tagged } from "../../service/log/crypto-node";
import { fcAssert } from "../helpers/fc";

function reference(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });

describe("synchronous SHA-256 of the log core", () => {
  it("equals createHash for any parts, short and long (streamed past 64 KiB)", () => {
    fcAssert(
      fc.property(fc.array(fc.oneof(bytes(100), bytes(3000), fc.constant(new Uint8Array(70_000).fill(7))), { maxLength: 4 }), (parts) => {
        expect(toHex(sha256(...parts))).to.equal(reference(...parts));
      }),
      { scale: 0.5 },
    );
  });

  it("tags a leaf with 0x00 and a node with 0x01 (RFC 6962), as sha256Tagged", () => {
    fcAssert(
      fc.property(bytes(2000), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (d, l, r) => {
        expect(toHex(hashLeaf(d))).to.equal(reference(Uint8Array.of(0), d));
        expect(toHex(hashChildren(l, r))).to.equal(reference(Uint8Array.of(1), l, r));
        expect(toHex(sha256Tagged(9, d))).to.equal(reference(Uint8Array.of(9), d));
        expect(toHex(sha256Tagged(9, d, l))).to.equal(reference(Uint8Array.of(9), d, l));
      }),
    );
  });

  it("hands out digests that later calls do not overwrite (the scratch buffer is reused, the digest is not)", () => {
    const a = sha256(new Uint8Array(10).fill(1));
    const keep = toHex(a);
    const b = hashLeaf(new Uint8Array(5000).fill(2));
    sha256(new Uint8Array(10).fill(3));
    expect(toHex(a)).to.equal(keep);
    expect(a.buffer).to.not.equal(b.buffer);
    expect(a.length).to.equal(32);
  });
});
