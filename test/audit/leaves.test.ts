/**
 * The audit's per-leaf work (scripts/lib/audit/leaves.ts), at its input:
 * leaf bytes in, a reading out. A leaf is accepted only when it is the log
 * core's canonical encoding of what it parses to, and then only as a
 * version-1 entry; near misses of every field the replay reads are refused
 * with a message naming the field. The tree it builds is the plain recursive
 * reference's, at every wanted size.
 */
import { expect } from "chai";
import fc from "fast-check";
import { canonicalBytes, decodeEntry, encodeEntry, toHex } from "../../service/log";
import { Ledger } from "../../service/ledger/ledger";
import { MemoryStore } from "../../service/store/memory";
import { checkBatch, TreeBuilder } from "../../scripts/lib/audit/leaves";
import { readLeaf } from "../../scripts/lib/audit/in-memory";
import type { LeafBatch } from "../../scripts/lib/audit/sources";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { fcAssert } from "../helpers/fc";
import { leafHash, mth } from "../../scripts/lib/rfc6962-reference";
import { recordScenario } from "./helpers";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
/** Whether readLeaf takes the bytes as canonical JSON (the entry itself may still be malformed). */
const canonical = (b: Uint8Array) => readLeaf(b).encoding === null;

type Json = Record<string, unknown>;

/** A copy of `e` with the value at `path` set (undefined: the key removed). */
function withValue(e: Json, path: readonly (string | number)[], v: unknown): Json {
  const copy = structuredClone(e);
  let o = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (v === undefined && Array.isArray(o)) o.splice(Number(last), 1);
  else if (v === undefined) delete o[last];
  else o[last] = v;
  return copy;
}

describe("readLeaf", () => {
  describe("when the leaf is canonical JSON", () => {
    it("accepts Chinese text, escapes JCS writes itself, and integer keys ordered as strings", () => {
      expect(canonical(canonicalBytes({ v: 1, id: "app_0123456789abcdef01234567", body: { name: "北京示例科技有限公司", n: 12, ok: true, x: null } }))).to.equal(true);
      expect(canonical(canonicalBytes({ a: "tab\there\u0001" }))).to.equal(true);
      expect(canonical(bytes('{"10":1,"9":2}'))).to.equal(true);
    });

    it("reads a JSON value that is not an entry as malformed, not as an encoding fault", () => {
      const r = readLeaf(bytes('{"a":1}'));
      expect(r).to.deep.include({ entry: null, encoding: null });
      expect(r.malformed).to.match(/version/);
    });
  });

  describe("when the leaf is not canonical JSON", () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ["whitespace", bytes('{"a": 1}'), /not in RFC 8785 canonical form/],
      ["unsorted keys", bytes('{"b":1,"a":2}'), /canonical form/],
      ["integer keys in numeric order", bytes('{"9":2,"10":1}'), /canonical form/],
      ["an escaped character JCS writes raw", bytes('{"a":"\\u00e9"}'), /canonical form/],
      ["an escaped solidus", bytes('{"a":"\\/"}'), /canonical form/],
      ["a lone surrogate", bytes('{"a":"\\ud800"}'), /canonical form/],
      ["a non-shortest number", bytes('{"a":1.0}'), /canonical form/],
      ["an exponent JCS does not write", bytes('{"a":1e2}'), /canonical form/],
      ["a duplicate key", bytes('{"a":1,"a":1}'), /canonical form/],
      ["a byte-order mark", bytes('\ufeff{"a":1}'), /not JSON/],
      ["a trailing newline", bytes('{"a":1}\n'), /canonical form/],
      ["invalid UTF-8", Uint8Array.of(0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d), /not valid UTF-8/],
      ["not JSON", bytes("{a:1}"), /not JSON/],
    ];
    for (const [what, leaf, reason] of cases)
      it(`refuses ${what}, saying why`, () => {
        const r = readLeaf(leaf);
        expect(r.entry).to.equal(null);
        expect(r.encoding).to.match(reason);
      });
  });

  it("agrees with canonicalBytes on any JSON value, whatever form it is written in", () => {
    fcAssert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, "\t"), (value, space) => {
        const c = canonicalBytes(value);
        expect(canonical(c), "canonical form accepted").to.equal(true);
        const written = bytes(JSON.stringify(value, null, space));
        expect(canonical(written), "another form refused").to.equal(Buffer.from(written).equals(Buffer.from(c)));
      }),
    );
  });

  it("refuses one-character mutations of canonical texts exactly when canonicalBytes would write them otherwise", () => {
    const inserts = [" ", "\n", "\\/", "0", "-", ",", '"', "\\u00e9", "\\u001F", "\\u0009", "1.0", "e5", "[", "]", "{", "}", ":", "\\"];
    fcAssert(
      fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom(...inserts), fc.boolean(), (value, at, insert, replace) => {
        const text = Buffer.from(canonicalBytes(value)).toString("utf8");
        const p = at % (text.length + 1);
        const mutated = bytes(text.slice(0, p) + insert + text.slice(replace ? p + 1 : p));
        let same = false;
        try {
          same = Buffer.from(canonicalBytes(JSON.parse(Buffer.from(mutated).toString("utf8")))).equals(Buffer.from(mutated));
        } catch {
          same = false;
        }
        expect(canonical(mutated), Buffer.from(mutated).toString("utf8")).to.equal(same);
      }),
    );
  });

  describe("near misses of the entry format", () => {
    let base: Record<"application" | "decision" | "payout" | "confirmation", Json>;
    let entries: Json[];

    before(async () => {
      const store = new MemoryStore();
      const ledger = await Ledger.open({ store, clock: new FakeClock(new Date().toISOString()), randomBytes: seededRandomBytes(41) });
      await recordScenario(ledger);
      entries = (await store.leaves(0, ledger.size)).map((l) => decodeEntry(l.bytes) as Json);
      const of = (kind: string) => entries.find((e) => e.kind === kind)!;
      base = { application: of("application"), decision: of("decision"), payout: of("payout"), confirmation: of("confirmation") };
    });

    it("reads every entry of a recorded ledger, with its kind, id and amounts", () => {
      for (const e of entries) {
        const r = readLeaf(encodeEntry(e as never));
        expect(r.malformed, JSON.stringify(e)).to.equal(null);
        expect(r.entry).to.include({ kind: e.kind, id: e.id, recordedAt: e.recordedAt });
      }
      const pay = readLeaf(encodeEntry(base.payout as never)).entry;
      expect(pay?.kind === "payout" && pay.amountFen).to.equal(String((base.payout.body as Json).amountFen));
    });

    it("keeps non-ASCII officials as text", () => {
      expect(readLeaf(canonicalBytes(withValue(base.payout, ["actor", "official"], "出纳·李四"))).entry?.official).to.equal("出纳·李四");
    });

    it("refuses each near miss of a field the replay reads, naming the field, and accepts what is still well-formed", () => {
      const id = String(base.application.id);
      const hex = id.slice(4);
      const ts = String(base.application.recordedAt);
      const OK = null;
      const idMsg = /^\$\.id must be an entry id$/;
      const fenMsg = (f: string) => new RegExp(`^\\$\\.body\\.${f} must be an amount in fen`);
      const tsMsg = /^\$\.recordedAt must be an RFC 3339 UTC timestamp$/;
      const dateMsg = /^\$\.body\.paidOn must be a date YYYY-MM-DD$/;
      const refsMsg = /^\$\.refs must be a list of entry ids$/;
      const hexMsg = /^\$\.commitments\.phone must be 64 hex digits$/;
      const cases: [keyof typeof base, (string | number)[], unknown, RegExp | null][] = [
        // ids: wrong prefix for the kind, case, length, alphabet, separator
        ["application", ["id"], `prg_${hex}`, /^\$\.id must be the id of a app entry$/],
        ["application", ["id"], `app_${hex.toUpperCase()}`, idMsg],
        ["application", ["id"], `app_${hex.slice(1)}`, idMsg],
        ["application", ["id"], `app_${hex}0`, idMsg],
        ["application", ["id"], `app_${hex.slice(1)}g`, idMsg],
        ["application", ["id"], `app-${hex}`, idMsg],
        ["application", ["id"], `xyz_${hex}`, idMsg],
        ["application", ["body", "programmeId"], `xyz_${hex}`, /^\$\.body\.programmeId must be an entry id$/],
        ["application", ["body", "programmeId"], `prg_${hex.slice(1)}é`, /^\$\.body\.programmeId must be an entry id$/],
        ["decision", ["body", "applicationId"], 12, /^\$\.body\.applicationId must be an entry id$/],
        ["confirmation", ["body", "payoutId"], undefined, /^\$\.body\.payoutId must be an entry id$/],
        // fen amounts
        ["application", ["body", "requestedFen"], "0123", fenMsg("requestedFen")],
        ["application", ["body", "requestedFen"], "-5", fenMsg("requestedFen")],
        ["application", ["body", "requestedFen"], "1".repeat(19), fenMsg("requestedFen")],
        ["application", ["body", "requestedFen"], "9".repeat(18), OK],
        ["application", ["body", "requestedFen"], "0", OK],
        ["application", ["body", "requestedFen"], "", fenMsg("requestedFen")],
        ["application", ["body", "requestedFen"], "1.5", fenMsg("requestedFen")],
        ["application", ["body", "requestedFen"], "１２", fenMsg("requestedFen")],
        ["application", ["body", "requestedFen"], 500, fenMsg("requestedFen")],
        ["decision", ["body", "approvedFen"], undefined, fenMsg("approvedFen")],
        // timestamps and dates (as Date.parse reads them: hour 24:00:00 and 30 February are taken)
        ["application", ["recordedAt"], ts.replace("T", " "), tsMsg],
        ["application", ["recordedAt"], ts.slice(0, 19) + "Z", OK],
        ["application", ["recordedAt"], ts.slice(0, 19) + ".1234567891Z", tsMsg],
        ["application", ["recordedAt"], ts.slice(0, 19) + ".123456789Z", OK],
        ["application", ["recordedAt"], ts.slice(0, 19) + ".Z", tsMsg],
        ["application", ["recordedAt"], ts.slice(0, 19), tsMsg],
        ["application", ["recordedAt"], ts.slice(0, 11) + "24:00:00Z", OK],
        ["application", ["recordedAt"], ts.slice(0, 11) + "24:00:01Z", tsMsg],
        ["application", ["recordedAt"], ts.slice(0, 17) + "60Z", tsMsg],
        ["application", ["recordedAt"], "2026-13-01T00:00:00Z", tsMsg],
        ["application", ["recordedAt"], "2026-02-30T00:00:00Z", OK],
        ["application", ["recordedAt"], ts.slice(0, 5) + "٠" + ts.slice(6), tsMsg],
        ["payout", ["body", "paidOn"], "2026-02-30", OK],
        ["payout", ["body", "paidOn"], "2026-13-01", dateMsg],
        ["payout", ["body", "paidOn"], "2026-1-01", dateMsg],
        ["payout", ["body", "paidOn"], "2026-01-01T00:00:00Z", dateMsg],
        // actor, refs, commitments, the envelope
        ["application", ["actor", "official"], "", /^\$\.actor\.official must be a non-empty string$/],
        ["application", ["actor", "official"], 'a"b\\c', OK],
        ["application", ["actor", "agency"], "", /^\$\.actor\.agency must be a non-empty string$/],
        ["application", ["actor", "agency"], "a\nb", OK],
        ["application", ["actor", "role"], "clerks", /^\$\.actor\.role is not a role$/],
        ["application", ["actor", "role"], undefined, /^\$\.actor\.role is not a role$/],
        ["application", ["actor", "extra"], 1, OK],
        ["application", ["refs"], [], OK],
        ["application", ["refs"], [id, id], OK],
        ["application", ["refs"], [`prg_${hex}`], OK],
        ["application", ["refs"], ["nope"], refsMsg],
        ["application", ["refs"], [[String((base.application.body as Json).programmeId)]], refsMsg],
        ["application", ["refs"], "none", refsMsg],
        ["application", ["commitments"], {}, OK],
        ["application", ["commitments"], { phone: "a".repeat(63) }, hexMsg],
        ["application", ["commitments"], { phone: "A".repeat(64) }, hexMsg],
        ["application", ["commitments"], { phone: "a".repeat(63) + "é" }, hexMsg],
        ["application", ["commitments"], [], /^\$\.commitments must be an object$/],
        ["application", ["commitments"], undefined, OK],
        ["application", ["v"], 2, /^unknown entry format version 2$/],
        ["application", ["v"], "1", /^unknown entry format version "1"$/],
        ["application", ["kind"], "payout", /^\$\.id must be the id of a pay entry$/],
        ["application", ["extra"], 1, /^unknown field "extra"$/],
        ["application", ["body"], [], /^\$\.body must be an object$/],
        ["decision", ["body", "outcome"], "approve", /^\$\.body\.outcome must be approved or rejected$/],
        ["decision", ["body", "outcome"], "rejected", OK],
        ["payout", ["body", "needsConfirmation"], "true", /^\$\.body\.needsConfirmation must be true or false$/],
        ["payout", ["body", "needsConfirmation"], true, OK],
        ["payout", ["body", "needsConfirmation"], false, OK],
      ];
      for (const [kind, path, v, want] of cases) {
        const r = readLeaf(canonicalBytes(withValue(base[kind], path, v)));
        const what = `${kind} ${path.join(".")} = ${JSON.stringify(v)}`;
        expect(r.encoding, what).to.equal(null);
        if (want === OK) {
          expect(r.malformed, what).to.equal(null);
          expect(r.entry?.kind, what).to.equal(kind);
        } else {
          expect(r.entry, what).to.equal(null);
          expect(r.malformed, what).to.match(want);
        }
      }
    });
  });

  describe("with the entry the service shows beside the leaf", () => {
    it("says whether it is the entry the leaf encodes", () => {
      const e = { v: 1, a: "x" };
      expect(readLeaf(canonicalBytes(e), e).shownMismatch).to.equal(false);
      expect(readLeaf(canonicalBytes(e), { ...e, a: "y" }).shownMismatch).to.equal(true);
    });
  });
});

/** Leaves laid in one buffer (null: a record with no index). */
function batchOf(leaves: readonly (Uint8Array | null)[], first: number): LeafBatch {
  const parts = leaves.map((l) => Buffer.from(l ?? new Uint8Array(3)));
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    starts.push(at);
    at += p.length;
  }
  return {
    length: leaves.length,
    indices: Float64Array.from(leaves.map((l, k) => (l === null ? NaN : first + k))),
    data: Buffer.concat(parts),
    starts: Uint32Array.from(starts),
    ends: Uint32Array.from(starts.map((s, k) => s + parts[k]!.length)),
  };
}

describe("checkBatch and TreeBuilder", () => {
  it("give the reference's leaf hashes, and its roots at every wanted size a batch reaches, over random batches and unindexed records", () => {
    const leaf = fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 10, arbitrary: fc.uint8Array({ maxLength: 80 }) });
    fcAssert(
      fc.property(fc.array(fc.array(leaf, { maxLength: 30 }), { minLength: 1, maxLength: 4 }), fc.uniqueArray(fc.nat(100), { maxLength: 20 }), (batches, wantedRaw) => {
        const wanted = [...wantedRaw].sort((a, b) => a - b);
        const tree = new TreeBuilder(wanted);
        const all: Uint8Array[] = [];
        for (const leaves of batches) {
          const batch = batchOf(leaves, all.length);
          const { hashes } = checkBatch(batch);
          const step = tree.add(batch.indices, hashes);
          const reached: number[] = [];
          leaves.forEach((l, k) => {
            if (l === null) {
              expect(toHex(hashes.subarray(32 * k, 32 * k + 32))).to.equal("00".repeat(32));
              return;
            }
            all.push(l);
            expect(toHex(hashes.subarray(32 * k, 32 * k + 32))).to.equal(toHex(leafHash(l)));
            if (wanted.includes(all.length)) reached.push(all.length);
          });
          expect(step.sizes).to.deep.equal(reached);
          step.sizes.forEach((s, k) => expect(toHex(step.roots[k]!), `root at ${s}`).to.equal(toHex(mth(all.slice(0, s)))));
        }
        expect(tree.size).to.equal(all.length);
        expect(toHex(tree.root())).to.equal(toHex(mth(all)));
      }),
      { scale: 0.3 },
    );
  });
});
