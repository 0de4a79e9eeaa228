/**
 * The tape the canonical-form scan writes, and the entry reader on it: what
 * the audit reads from a tape must be exactly what it reads from the parsed
 * leaf, for the ledger's own entries and for any canonical JSON.
 */
import { expect } from "chai";
import fc from "fast-check";
import { canonicalBytes, CompactRange, decodeEntry } from "../../service/log";
import { Ledger } from "../../service/ledger/ledger";
import { MemoryStore } from "../../service/store/memory";
import { readEntry, MalformedEntry } from "../../scripts/lib/audit";
import { LeafCheck, precheckLeaf, textOfBytes } from "../../scripts/lib/audit/canonical";
import { readEntryFields, timestampMs } from "../../scripts/lib/audit/entries";
import { Tape, TapeWriter, type JsonValue } from "../../scripts/lib/audit/tape";
import { precheckLeaves } from "../../scripts/lib/audit/leaves";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { fcAssert } from "../helpers/fc";
import { recordScenario } from "./helpers";

/** A tape value as plain JSON, objects materialised in full. */
function plain(v: JsonValue): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null && "each" in v) {
    const o: Record<string, unknown> = {};
    v.each((k, x) => (o[k] = plain(x)));
    return o;
  }
  return v;
}

/** Scans `leaf` (placed after some other bytes, as in a batch) onto a tape; the root value, or null if not proven. */
function onTape(leaf: Uint8Array): JsonValue | null {
  const data = Buffer.concat([Buffer.from("[12,"), leaf, Buffer.from("]\n")]);
  const w = new TapeWriter();
  w.push(9, 0, 0); // a token of an earlier leaf: roots need not be at 0
  const root = w.length;
  if (precheckLeaf(data, 4, 4 + leaf.length, w) !== LeafCheck.PROVEN) {
    expect(w.length, "an unproven leaf leaves no tokens").to.equal(root);
    return null;
  }
  return new Tape(data, w.finish()).leaf(root, 4, 4 + leaf.length);
}

/** JSON.parse of the leaf read one char per byte: what a tape's strings hold. */
const bytewise = (leaf: Uint8Array) => JSON.parse(Buffer.from(leaf).toString("latin1")) as unknown;

describe("the token tape", () => {
  it("holds what JSON.parse gives, strings one char per byte, for any JSON the scan proves canonical", () => {
    // What ledger entries are made of: integers, any text, ASCII keys, nesting.
    const { json } = fc.letrec((tie) => ({
      json: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.string({ unit: "binary" }),
        fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("json"), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: "grapheme-ascii", maxLength: 6 }), tie("json"), { maxKeys: 5 }),
      ),
    }));
    let proven = 0;
    let runs = 0;
    fcAssert(
      fc.property(json, (v) => {
        runs++;
        const leaf = canonicalBytes(v);
        const t = onTape(leaf);
        if (t === null) return; // e.g. a lone surrogate the scan leaves to canonicalBytes
        proven++;
        expect(plain(t)).to.deep.equal(bytewise(leaf));
      }),
    );
    expect(proven, "most such values are proven (keys with escapes are not), so the property says something").to.be.greaterThan(runs * 0.5);
  });

  it("gives escaped strings, Chinese text and nested containers back exactly", () => {
    const v = { a: ["x\"y\\z\n\u0001", { b: null, c: [true, false, -12] }], name: "北京示例科技有限公司", z: {} };
    const leaf = canonicalBytes(v);
    const t = onTape(leaf);
    expect(t).to.not.equal(null);
    const got = plain(t!) as { a: unknown; name: string };
    expect(got).to.deep.equal(bytewise(leaf));
    expect(got.a).to.deep.equal(v.a);
    expect(textOfBytes(got.name)).to.equal("北京示例科技有限公司");
  });

  it("leaves no tokens for a leaf the scan does not prove", () => {
    expect(onTape(Buffer.from('{"b":1,"a":2}'))).to.equal(null);
    expect(onTape(Buffer.from('{"a":1.5}'))).to.equal(null);
  });
});

describe("the entry reader on a tape", () => {
  let leaves: Uint8Array[];

  before(async () => {
    const store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date().toISOString()), randomBytes: seededRandomBytes(33) });
    await recordScenario(ledger);
    leaves = (await store.leaves(0, ledger.size)).map((l) => l.bytes);
  });

  it("reads every entry of a recorded ledger as readEntry reads the parsed leaf", () => {
    expect(leaves.length).to.be.greaterThan(10);
    for (const leaf of leaves) {
      const t = onTape(leaf);
      expect(t, "the service writes canonical leaves").to.not.equal(null);
      expect(readEntryFields(t!, textOfBytes)).to.deep.equal(readEntry(decodeEntry(leaf)));
    }
  });

  it("keeps the official's name as text, not bytes", () => {
    const e = decodeEntry(leaves[1]!) as unknown as { actor: { official: string } };
    e.actor.official = "审批员-张三";
    const leaf = canonicalBytes(e);
    expect(readEntryFields(onTape(leaf)!, textOfBytes).official).to.equal("审批员-张三");
  });

  it("refuses on a tape what it refuses parsed, with the same message", () => {
    const base = decodeEntry(leaves[1]!) as Record<string, unknown>;
    const broken: Record<string, unknown>[] = [
      { ...base, extra: 1 },
      { ...base, v: 2 },
      { ...base, kind: "gift" },
      { ...base, id: "app_XYZ" },
      { ...base, recordedAt: "2026-01-01 00:00:00" },
      { ...base, refs: "none" },
      { ...base, body: [] },
      { ...base, commitments: { phone: "abc" } },
      // Near misses of the id and commitment formats.
      { ...base, id: String(base.id).slice(0, 4) + "0123456789ABCDEF01234567" },
      { ...base, id: String(base.id).slice(0, 4) + "0123456789abcdef0123456g" },
      { ...base, id: String(base.id).slice(0, 4) + "0123456789abcdef012345678" },
      { ...base, id: "xyz_0123456789abcdef01234567" },
      { ...base, id: "app-0123456789abcdef01234567" },
      { ...base, commitments: { phone: "a".repeat(63) } },
      { ...base, commitments: { phone: "A".repeat(64) } },
      { ...base, commitments: { phone: "g" + "a".repeat(63) } },
      { ...base, commitments: { phone: "a".repeat(63) + "\u00e9" } },
      { ...base, commitments: { phone: "a".repeat(62) + "\n0" } },
    ];
    const app = leaves.map((l) => decodeEntry(l) as Record<string, unknown>).find((e) => e.kind === "application")!;
    broken.push({ ...app, body: { ...(app.body as object), programmeId: "prg_0123456789abcdef0123456Z" } });
    for (const b of broken) {
      const leaf = canonicalBytes(b);
      let parsed = "";
      try {
        readEntry(decodeEntry(leaf));
      } catch (e) {
        parsed = (e as Error).message;
      }
      expect(parsed, JSON.stringify(b)).to.not.equal("");
      expect(() => readEntryFields(onTape(leaf)!, textOfBytes)).to.throw(MalformedEntry, parsed);
    }
  });
});

describe("timestampMs", () => {
  it("equals Date.parse for every timestamp the format admits, in any order", () => {
    const d2 = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
    const ts = fc
      .tuple(fc.integer({ min: 1970, max: 2200 }), d2(13), d2(32), d2(24), d2(60), d2(60), fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }))
      .map(([y, mo, d, h, mi, s, f]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f === undefined ? "" : `.${f}`}Z`);
    fcAssert(
      fc.property(fc.array(ts, { minLength: 1, maxLength: 5 }), (list) => {
        for (const s of list) expect(timestampMs(s), s).to.satisfy((ms: number) => Object.is(ms, Date.parse(s)));
      }),
    );
  });
});

describe("precheckLeaves' one UTF-8 check per batch", () => {
  const batchOf = (...leaves: Uint8Array[]) => {
    const data = Buffer.concat(leaves);
    const starts: number[] = [];
    const ends: number[] = [];
    let at = 0;
    for (const l of leaves) {
      starts.push(at);
      ends.push((at += l.length));
    }
    return { length: leaves.length, indices: Float64Array.from(leaves.map((_, i) => i)), data, starts: Uint32Array.from(starts), ends: Uint32Array.from(ends) };
  };

  it("still refuses two leaves that are valid UTF-8 only together (a character cut between them)", () => {
    // {"a":"中"} cut inside 中 (e4 b8 ad): the whole batch is valid UTF-8, neither leaf is.
    const a = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe4])]);
    const b = Buffer.concat([Buffer.from([0xb8, 0xad]), Buffer.from('"}')]);
    const pre = precheckLeaves(batchOf(a, b), new CompactRange(), [], { i: 0 });
    expect(Array.from(pre.checks)).to.deep.equal([LeafCheck.NOT_UTF8, LeafCheck.NOT_UTF8]);
  });

  it("proves leaves of a valid batch and refuses the one bad leaf of an invalid one", () => {
    const good = canonicalBytes({ name: "北京示例" });
    const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(Array.from(precheckLeaves(batchOf(good, good), new CompactRange(), [], { i: 0 }).checks)).to.deep.equal([LeafCheck.PROVEN, LeafCheck.PROVEN]);
    expect(Array.from(precheckLeaves(batchOf(good, bad, good), new CompactRange(), [], { i: 0 }).checks)).to.deep.equal([LeafCheck.PROVEN, LeafCheck.NOT_UTF8, LeafCheck.PROVEN]);
  });
});
