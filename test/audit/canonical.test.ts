/**
 * The audit's canonical-leaf check: its fast path (no re-encoding) must
 * accept exactly what the log core's canonicalBytes produces, nothing else.
 */
import { expect } from "chai";
import fc from "fast-check";
import { canonicalBytes, encodeEntry } from "../../service/log";
import { parseCanonicalLeaf } from "../../scripts/lib/audit";
import { scanCanonical } from "../../scripts/lib/audit/canonical";
import { fcAssert } from "../helpers/fc";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

describe("parseCanonicalLeaf", () => {
  describe("when the leaf is canonical", () => {
    it("accepts an entry with Chinese text and gives back the parsed value", () => {
      const entry = { v: 1, id: "app_0123456789abcdef01234567", body: { name: "北京示例科技有限公司", n: 12, ok: true, x: null } };
      const r = parseCanonicalLeaf(encodeEntry(entry));
      expect(r.ok).to.equal(true);
      expect(r.ok && r.value).to.deep.equal(entry);
    });

    it("accepts escapes JCS writes itself (a control character)", () => {
      expect(parseCanonicalLeaf(canonicalBytes({ a: "tab\there\u0001" })).ok).to.equal(true);
    });

    it("accepts keys that are integers, ordered as strings", () => {
      expect(parseCanonicalLeaf(bytes('{"10":1,"9":2}')).ok).to.equal(true);
    });
  });

  describe("when the leaf is not canonical", () => {
    const cases: [string, Uint8Array][] = [
      ["whitespace", bytes('{"a": 1}')],
      ["unsorted keys", bytes('{"b":1,"a":2}')],
      ["integer keys in numeric order", bytes('{"9":2,"10":1}')],
      ["an escaped character JCS writes raw", bytes('{"a":"\\u00e9"}')],
      ["an escaped solidus", bytes('{"a":"\\/"}')],
      ["a lone surrogate", bytes('{"a":"\\ud800"}')],
      ["a non-shortest number", bytes('{"a":1.0}')],
      ["an exponent JCS does not write", bytes('{"a":1e2}')],
      ["a duplicate key", bytes('{"a":1,"a":1}')],
      ["a byte-order mark", bytes('\ufeff{"a":1}')],
      ["a trailing newline", bytes('{"a":1}\n')],
      ["invalid UTF-8", Uint8Array.of(0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d)],
      ["not JSON", bytes("{a:1}")],
    ];
    for (const [what, leaf] of cases)
      it(`refuses ${what}`, () => {
        expect(parseCanonicalLeaf(leaf).ok).to.equal(false);
      });
  });

  describe("the scan that proves canonical form without re-encoding", () => {
    /** Soundness: whenever the scan says canonical and the text parses, canonicalBytes agrees. */
    function sound(text: Uint8Array): void {
      let value: unknown;
      try {
        value = JSON.parse(Buffer.from(text).toString("utf8"));
      } catch {
        return;
      }
      let canonical: Uint8Array | undefined;
      try {
        canonical = canonicalBytes(value);
      } catch {
        canonical = undefined;
      }
      const same = canonical !== undefined && Buffer.from(canonical).equals(Buffer.from(text));
      if (scanCanonical(text, 0, text.length)) expect(same, Buffer.from(text).toString("utf8")).to.equal(true);
      expect(parseCanonicalLeaf(text).ok).to.equal(same);
    }

    it("proves the ledger's own entries canonical", () => {
      const leaf = canonicalBytes({ v: 1, id: "pay_0123456789abcdef01234567", body: { amountFen: "100", needsConfirmation: false, n: -12 }, refs: ["x"] });
      expect(scanCanonical(leaf, 0, leaf.length)).to.equal(true);
    });

    it("never proves a text that canonicalBytes would write otherwise (one-byte mutations of canonical texts)", () => {
      const inserts = [" ", "\n", "\\/", "0", "-", ",", '"', "\\u00e9", "\\u001F", "\\u0009", "1.0", "e5", "[", "]", "{", "}", ":", "\\"];
      fcAssert(
        fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom(...inserts), fc.boolean(), (value, at, insert, replace) => {
          const text = Buffer.from(canonicalBytes(value)).toString("utf8");
          const p = at % (text.length + 1);
          sound(bytes(text.slice(0, p) + insert + text.slice(replace ? p + 1 : p)));
        }),
      );
    });

    it("never proves a JSON text written in another form (any value, any key order, any spacing)", () => {
      fcAssert(
        fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, "\t"), (value, space) => sound(bytes(JSON.stringify(value, null, space)))),
      );
    });
  });

  it("agrees with canonicalBytes on any JSON value, whatever key order it is written in", () => {
    fcAssert(
      fc.property(fc.jsonValue(), (value) => {
        const canonical = canonicalBytes(value);
        expect(parseCanonicalLeaf(canonical).ok, "canonical form accepted").to.equal(true);
        const written = bytes(JSON.stringify(value));
        const same = Buffer.from(written).equals(Buffer.from(canonical));
        expect(parseCanonicalLeaf(written).ok, "another form refused").to.equal(same);
      }),
    );
  });
});
