/**
 * Entries proven in the leaf worker (entry-facts.ts) against the entry
 * reader (entries.ts): a leaf the worker proves must read to exactly the
 * entry the reader gives, and a leaf the reader refuses must never be
 * proven (so its message still comes from the reader). Checked on a
 * recorded ledger, on near misses of every field the worker checks, and on
 * whole audits, whose reports must not depend on how many entries the
 * worker proves (nor on the balancing between threads, balance.ts).
 */
import { expect } from "chai";
import fc from "fast-check";
import { canonicalBytes, CompactRange, decodeEntry } from "../../service/log";
import { Ledger } from "../../service/ledger/ledger";
import { MemoryStore } from "../../service/store/memory";
import { runAudit, type AuditReport } from "../../scripts/lib/audit";
import { FactsShare } from "../../scripts/lib/audit/balance";
import { precheckLeaves, readLeaf, type LeafReading } from "../../scripts/lib/audit/leaves";
import type { EntrySource, LeafBatch } from "../../scripts/lib/audit/sources";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { fcAssert } from "../helpers/fc";
import { recordScenario } from "./helpers";

type Json = Record<string, unknown>;

/** Leaves laid out as an export's lines, `[i,<leaf>]`, in one buffer. */
function batchOf(leaves: readonly Uint8Array[], first = 0): LeafBatch {
  const parts: Buffer[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  leaves.forEach((leaf, k) => {
    const head = Buffer.from(`[${first + k},`);
    parts.push(head, Buffer.from(leaf), Buffer.from("]\n"));
    starts.push((at += head.length));
    ends.push((at += leaf.length));
    at += 2;
  });
  return {
    length: leaves.length,
    indices: Float64Array.from(leaves, (_, k) => first + k),
    data: Buffer.concat(parts),
    starts: Uint32Array.from(starts),
    ends: Uint32Array.from(ends),
  };
}

const fresh = (): LeafReading => ({ entry: null, encoding: null, malformed: null, shownMismatch: false });

/** The leaf read with the worker's facts (fast), and without (the reader alone); and whether the worker proved it. */
function readBoth(leaf: Uint8Array): { fast: LeafReading; slow: LeafReading; proven: boolean } {
  const batch = batchOf([leaf]);
  const withFacts = precheckLeaves(batch, new CompactRange(), [], { i: 0 }, undefined, undefined, 1);
  const without = precheckLeaves(batch, new CompactRange(), [], { i: 0 }, undefined, undefined, 0);
  expect(without.facts.kinds[0]).to.equal(0);
  return { fast: readLeaf(batch, withFacts, 0, fresh()), slow: readLeaf(batch, without, 0, fresh(), undefined, false), proven: withFacts.facts.kinds[0] !== 0 };
}

/** Reads `entry` both ways, expects the same, and answers whether the worker proved it. */
function agree(entry: unknown): boolean {
  const leaf = canonicalBytes(entry);
  const { fast, slow, proven } = readBoth(leaf);
  expect(fast, JSON.stringify(entry)).to.deep.equal(slow);
  if (slow.entry === null) expect(proven, `a leaf the reader refuses is not proven: ${JSON.stringify(entry)}`).to.equal(false);
  return proven;
}

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

function valueAt(e: Json, path: readonly (string | number)[]): unknown {
  let o: unknown = e;
  for (const k of path) o = (o as Record<string | number, unknown> | undefined)?.[k];
  return o;
}

describe("entries proven in the leaf worker", () => {
  let entries: Json[];
  let leaves: Uint8Array[];
  /** One entry of each kind the worker covers. */
  let base: Record<"application" | "decision" | "payout" | "confirmation", Json>;

  before(async () => {
    const store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date().toISOString()), randomBytes: seededRandomBytes(41) });
    await recordScenario(ledger);
    leaves = (await store.leaves(0, ledger.size)).map((l) => l.bytes);
    entries = leaves.map((l) => decodeEntry(l) as Json);
    const of = (kind: string) => entries.find((e) => e.kind === kind)!;
    base = { application: of("application"), decision: of("decision"), payout: of("payout"), confirmation: of("confirmation") };
    // Both outcomes and both confirmation flags occur in the scenario.
    expect(entries.some((e) => (e.body as Json).outcome === "rejected")).to.equal(true);
    expect(entries.some((e) => (e.body as Json).needsConfirmation === true)).to.equal(true);
  });

  it("proves every application, decision, payout and confirmation of a recorded ledger, reading it as the reader does", () => {
    for (const e of entries) {
      const proven = agree(e);
      expect(proven, String(e.kind)).to.equal(["application", "decision", "payout", "confirmation"].includes(e.kind as string));
    }
  });

  it("proves a whole batch at once, or its first `facts` leaves, the main thread proving the rest", () => {
    const batch = batchOf(leaves);
    const some = 5;
    const pre = precheckLeaves(batch, new CompactRange(), [], { i: 0 }, undefined, undefined, some);
    const all = precheckLeaves(batch, new CompactRange(), [], { i: 0 });
    expect(pre.facts.done).to.equal(some);
    for (let i = some; i < leaves.length; i++) expect(pre.facts.kinds[i], `leaf ${i}`).to.equal(0);
    for (let i = 0; i < leaves.length; i++) {
      const alone = readBoth(leaves[i]!).slow;
      expect(readLeaf(batch, pre, i, fresh()), `leaf ${i}`).to.deep.equal(alone);
      expect(readLeaf(batch, all, i, fresh()), `leaf ${i}`).to.deep.equal(alone);
      // What the main thread proved, it proved as the worker does.
      expect(pre.facts.kinds[i], `leaf ${i}`).to.equal(all.facts.kinds[i]);
    }
    expect(Array.from(pre.facts.at)).to.deep.equal(Array.from(all.facts.at));
    expect(Array.from(pre.facts.fen)).to.deep.equal(Array.from(all.facts.fen));
  });

  it("keeps non-ASCII officials as text, and proves them", () => {
    expect(agree(withValue(base.application, ["actor", "official"], "审批员-张三"))).to.equal(true);
    const { fast } = readBoth(canonicalBytes(withValue(base.payout, ["actor", "official"], "出纳·李四")));
    expect(fast.entry?.official).to.equal("出纳·李四");
  });

  it("leaves near misses of every field to the reader, which gives the same message", () => {
    const id = String(base.application.id);
    const hex = id.slice(4);
    const ts = String(base.application.recordedAt);
    const cases: [keyof typeof base, (string | number)[], unknown][] = [
      // ids: wrong prefix for the kind, case, length, alphabet, separator
      ["application", ["id"], `prg_${hex}`],
      ["application", ["id"], `app_${hex.toUpperCase()}`],
      ["application", ["id"], `app_${hex.slice(1)}`],
      ["application", ["id"], `app_${hex}0`],
      ["application", ["id"], `app_${hex.slice(1)}g`],
      ["application", ["id"], `app-${hex}`],
      ["application", ["id"], `xyz_${hex}`],
      ["application", ["body", "programmeId"], `xyz_${hex}`],
      ["application", ["body", "programmeId"], `prg_${hex.slice(1)}é`],
      ["decision", ["body", "applicationId"], 12],
      ["confirmation", ["body", "payoutId"], undefined],
      // fen amounts
      ["application", ["body", "requestedFen"], "0123"],
      ["application", ["body", "requestedFen"], "-5"],
      ["application", ["body", "requestedFen"], "1".repeat(19)],
      ["application", ["body", "requestedFen"], "9".repeat(18)],
      ["application", ["body", "requestedFen"], "0"],
      ["application", ["body", "requestedFen"], ""],
      ["application", ["body", "requestedFen"], "1.5"],
      ["application", ["body", "requestedFen"], "１２"],
      ["application", ["body", "requestedFen"], 500],
      ["decision", ["body", "approvedFen"], undefined],
      // timestamps and dates
      ["application", ["recordedAt"], ts.replace("T", " ")],
      ["application", ["recordedAt"], ts.slice(0, 19) + "Z"],
      ["application", ["recordedAt"], ts.slice(0, 19) + ".1234567891Z"],
      ["application", ["recordedAt"], ts.slice(0, 19) + ".123456789Z"],
      ["application", ["recordedAt"], ts.slice(0, 19) + ".Z"],
      ["application", ["recordedAt"], ts.slice(0, 19)],
      ["application", ["recordedAt"], ts.slice(0, 11) + "24:00:00Z"],
      ["application", ["recordedAt"], ts.slice(0, 11) + "24:00:01Z"],
      ["application", ["recordedAt"], ts.slice(0, 17) + "60Z"],
      ["application", ["recordedAt"], "2026-13-01T00:00:00Z"],
      ["application", ["recordedAt"], "2026-02-30T00:00:00Z"],
      ["application", ["recordedAt"], ts.slice(0, 5) + "٠" + ts.slice(6)],
      ["payout", ["body", "paidOn"], "2026-02-30"],
      ["payout", ["body", "paidOn"], "2026-13-01"],
      ["payout", ["body", "paidOn"], "2026-1-01"],
      ["payout", ["body", "paidOn"], "2026-01-01T00:00:00Z"],
      // actor, refs, commitments, the envelope
      ["application", ["actor", "official"], ""],
      ["application", ["actor", "official"], 'a"b\\c'],
      ["application", ["actor", "agency"], ""],
      ["application", ["actor", "agency"], "a\nb"],
      ["application", ["actor", "role"], "clerks"],
      ["application", ["actor", "role"], undefined],
      ["application", ["actor", "extra"], 1],
      ["application", ["refs"], []],
      ["application", ["refs"], [id, id]],
      ["application", ["refs"], [`prg_${hex}`]],
      ["application", ["refs"], ["nope"]],
      ["application", ["refs"], [[String((base.application.body as Json).programmeId)]]],
      ["application", ["refs"], "none"],
      ["application", ["commitments"], {}],
      ["application", ["commitments"], { phone: "a".repeat(63) }],
      ["application", ["commitments"], { phone: "A".repeat(64) }],
      ["application", ["commitments"], { phone: "a".repeat(63) + "é" }],
      ["application", ["commitments"], []],
      ["application", ["commitments"], undefined],
      ["application", ["v"], 2],
      ["application", ["v"], "1"],
      ["application", ["kind"], "payout"],
      ["application", ["extra"], 1],
      ["application", ["body"], []],
      ["decision", ["body", "outcome"], "approve"],
      ["decision", ["body", "outcome"], "rejected"],
      ["payout", ["body", "needsConfirmation"], "true"],
      ["payout", ["body", "needsConfirmation"], true],
      ["payout", ["body", "needsConfirmation"], false],
    ];
    let proven = 0;
    let refused = 0;
    for (const [kind, path, v] of cases) {
      const e = withValue(base[kind], path, v);
      if (agree(e)) proven++;
      if (readBoth(canonicalBytes(e)).slow.entry === null) refused++;
    }
    // The list holds both: what the worker proves, and what the reader refuses.
    expect(proven).to.be.greaterThan(5);
    expect(refused).to.be.greaterThan(40);
  });

  it("agrees with the reader on random near misses of any field it reads", () => {
    const paths: [keyof typeof base, (string | number)[]][] = [
      ["application", ["id"]],
      ["application", ["recordedAt"]],
      ["application", ["actor", "official"]],
      ["application", ["actor", "role"]],
      ["application", ["refs", 0]],
      ["application", ["body", "programmeId"]],
      ["application", ["body", "requestedFen"]],
      ["application", ["kind"]],
      ["decision", ["body", "outcome"]],
      ["decision", ["body", "approvedFen"]],
      ["payout", ["body", "paidOn"]],
      ["payout", ["body", "amountFen"]],
      ["payout", ["body", "needsConfirmation"]],
      ["confirmation", ["body", "payoutId"]],
      ["confirmation", ["id"]],
    ];
    const chars = [..."0123456789abcdefABCDEFgz_-:.TZ é中\"\\\n\u0000"];
    const edit = fc.record({ at: fc.nat(), op: fc.constantFrom("set", "insert", "delete"), ch: fc.constantFrom(...chars) });
    const mutate = (s: string, edits: { at: number; op: string; ch: string }[]) =>
      edits.reduce((x, { at, op, ch }) => {
        const p = x.length === 0 ? 0 : at % (x.length + (op === "insert" ? 1 : 0));
        return op === "set" ? x.slice(0, p) + ch + x.slice(p + 1) : op === "insert" ? x.slice(0, p) + ch + x.slice(p) : x.slice(0, p) + x.slice(p + 1);
      }, s);
    fcAssert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(
          { weight: 6, arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => ({ edits })) },
          { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.constant(undefined)).map((value) => ({ value })) },
        ),
        ([kind, path], change) => {
          const e = base[kind];
          const old = valueAt(e, path);
          const v = "edits" in change ? (typeof old === "string" ? mutate(old, change.edits) : old) : change.value;
          agree(withValue(e, path, v));
        },
      ),
      { scale: 4 },
    );
  });

  describe("in a whole audit", () => {
    /** An export-like source over `leaves`, in batches of 7. */
    const sourceOf = (list: readonly Uint8Array[]): EntrySource => ({
      kind: "export",
      description: "test leaves",
      published: [],
      async *leaves() {
        for (let k = 0; k < list.length; k += 7) yield batchOf(list.slice(k, k + 7), k);
      },
      close: async () => {},
    });
    const strip = (r: AuditReport) => ({ ...r, startedAt: "", durationMs: 0 });

    it("gives the same report whatever share of the entries the worker proves, in one thread or two", async () => {
      // The ledger, then copies with malformed fields and broken rules (a duplicate id, a payout beyond its decision).
      const app = entries.find((e) => e.kind === "application")!;
      const pay = entries.find((e) => e.kind === "payout")!;
      const extra = [
        withValue(app, ["body", "requestedFen"], "0123"),
        withValue(app, ["recordedAt"], "2026-13-01T00:00:00Z"),
        withValue(app, ["actor", "official"], "审批员-张三"),
        app,
        withValue(withValue(pay, ["id"], `pay_${"f".repeat(24)}`), ["body", "amountFen"], "999999999999"),
      ].map((e) => canonicalBytes(e));
      const list = [...leaves, ...extra];
      const reports: AuditReport[] = [];
      for (const options of [{}, { factsShare: 0 }, { factsShare: 0.5 }, { workers: 1 }, { workers: 1, factsShare: 0 }])
        reports.push(strip(await runAudit({ source: sourceOf(list), chain: null, verifiers: [], now: () => Date.parse("2100-01-01"), ...options })));
      expect(reports[0]!.discrepancies.byKind).to.include.keys("entry-malformed", "duplicate-id", "invariant");
      for (const r of reports.slice(1)) expect(r).to.deep.equal(reports[0]);
    });
  });
});

describe("the balance of entry proving between the threads", () => {
  it("gives the worker more when the main thread took longer, less when the worker did, within [0, 1]", () => {
    const s = new FactsShare(0.5);
    s.observe(3, 1);
    expect(s.share).to.be.greaterThan(0.5);
    const up = s.share;
    s.observe(1, 3);
    s.observe(1, 3);
    expect(s.share).to.be.lessThan(up);
    for (let k = 0; k < 100; k++) s.observe(0, 5);
    expect(s.share).to.equal(0);
    expect(s.of(1000)).to.equal(0);
    for (let k = 0; k < 100; k++) s.observe(5, 0);
    expect(s.share).to.equal(1);
    expect(s.of(1000)).to.equal(1000);
    s.observe(0, 0); // nothing measured: no change
    expect(s.share).to.equal(1);
  });

  it("settles where the threads take equal time, for any costs", () => {
    fcAssert(
      fc.property(fc.double({ min: 0.5, max: 10, noNaN: true }), fc.double({ min: 0.5, max: 10, noNaN: true }), fc.double({ min: 0.5, max: 10, noNaN: true }), (base, read, prove) => {
        // Main: base + what it reads itself; worker: base + what it proves (cheaper or dearer per leaf).
        const s = new FactsShare(1);
        for (let k = 0; k < 400; k++) s.observe(base + (1 - s.share) * read, 5 + s.share * prove);
        const main = base + (1 - s.share) * read;
        const worker = 5 + s.share * prove;
        if (s.share > 0 && s.share < 1) expect(Math.abs(main - worker)).to.be.lessThan(0.05 * (main + worker));
        else if (s.share === 0) expect(main).to.be.at.most(worker * 1.05);
        else expect(main).to.be.at.least(worker * 0.95);
      }),
    );
  });
});
