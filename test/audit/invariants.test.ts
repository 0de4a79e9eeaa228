/**
 * The audit's own replay of the business invariants, on the public entries
 * of a ledger recorded through the real Ledger: clean as recorded; each
 * rule broken by editing the entries is reported at the entry that breaks it.
 */
import { expect } from "chai";
import { Ledger } from "../../service/ledger/ledger";
import { decodeEntry } from "../../service/log";
import { MemoryStore } from "../../service/store/memory";
import { InvariantReplay, readEntry } from "../../scripts/lib/audit";
import { FakeClock, seededRandomBytes } from "../helpers/ledger-fixtures";
import { recordScenario } from "./helpers";

type Entry = { id: string; kind: string; actor: { official: string; agency: string; role: string }; refs: string[]; body: Record<string, unknown>; [k: string]: unknown };

describe("the invariant replay", () => {
  let clean: Entry[];
  let ids: Record<string, string>;
  let store: MemoryStore;

  before(async () => {
    store = new MemoryStore();
    const ledger = await Ledger.open({ store, clock: new FakeClock(new Date().toISOString()), randomBytes: seededRandomBytes(21) });
    ({ ids } = await recordScenario(ledger));
    clean = (await store.leaves(0, ledger.size)).map((l) => decodeEntry(l.bytes) as unknown as Entry);
  });

  /** Every violation as [rule, entry id]. */
  function replay(entries: Entry[]): [string, string][] {
    const r = new InvariantReplay();
    const out: [string, string][] = [];
    for (const e of entries) {
      const entry = readEntry(e);
      r.apply(entry, (rule) => out.push([rule, entry.id]));
    }
    return out;
  }

  /** A deep copy of the ledger with `edit` applied to the entry `id`. */
  function edited(id: string, edit: (e: Entry) => void): Entry[] {
    const copy = structuredClone(clean);
    const e = copy.find((x) => x.id === id);
    if (e === undefined) throw new Error(`no entry ${id}`);
    edit(e);
    return copy;
  }

  it("finds nothing in the ledger as recorded", () => {
    expect(replay(clean)).to.deep.equal([]);
  });

  it("arrives at the service's own approved and paid totals, from the public entries alone", async () => {
    const r = new InvariantReplay();
    for (const e of clean) r.apply(readEntry(e), () => expect.fail("no violation expected"));
    let approved = 0n;
    let paid = 0n;
    for (const id of [ids.p1!, ids.p2!]) {
      const doc = (await store.state(`e:${id}`)) as { approvedFen: string; paidFen: string };
      approved += BigInt(doc.approvedFen);
      paid += BigInt(doc.paidFen);
    }
    expect(r.totals()).to.include({ programmes: 2, approvedFen: approved.toString(), paidFen: paid.toString() });
  });

  it("approved ≤ budget per programme: an approval past the budget", () => {
    const entries = edited(ids.p2!, (e) => (e.body.budgetFen = "6000000"));
    // dec4 approves 5 000 000; dec6a 2 000 000 more; revoked; dec6b 1 500 000 more.
    expect(replay(entries)).to.deep.equal([
      ["budget-not-exceeded", ids.dec6a],
      ["budget-not-exceeded", ids.dec6b],
    ]);
  });

  it("paid ≤ approved per decision: a payout past the approval", () => {
    expect(replay(edited(ids.pay1b!, (e) => (e.body.amountFen = "2000001")))).to.deep.equal([["payout-within-approved", ids.pay1b]]);
  });

  describe("four eyes on large payouts", () => {
    it("a payout at the threshold not marked for confirmation", () => {
      expect(replay(edited(ids.pay2!, (e) => (e.body.needsConfirmation = false)))).to.deep.equal([["four-eyes-threshold", ids.pay2]]);
    });

    it("a confirmation by the official who recorded the payout", () => {
      expect(replay(edited(ids.cnf2!, (e) => (e.actor.official = "payer.e.sun")))).to.deep.equal([["confirmer-not-recorder", ids.cnf2]]);
    });

    it("a second confirmation of the same payout", () => {
      const entries = structuredClone(clean);
      const cnf = entries.find((e) => e.id === ids.cnf2)!;
      entries.push({ ...structuredClone(cnf), id: "cnf_0123456789abcdef01234567", actor: { ...cnf.actor, official: "approver.d.qian" } });
      expect(replay(entries)).to.deep.equal([["payout-needs-confirmation", "cnf_0123456789abcdef01234567"]]);
    });
  });

  it("the decider is not the recorder", () => {
    expect(replay(edited(ids.dec1!, (e) => (e.actor.official = "clerk.a.li")))).to.deep.equal([["decider-not-recorder", ids.dec1]]);
  });

  describe("corrections reference existing entries", () => {
    it("a correction of an entry that does not exist", () => {
      const ghost = "app_ffffffffffffffffffffffff";
      const entries = edited(ids.cor5a!, (e) => {
        e.body.targetId = ghost;
        e.refs = [ghost];
      });
      expect(replay(entries)).to.deep.equal([["reference-exists", ids.cor5a]]);
    });

    it("a correction placed before the entry it corrects", () => {
      const entries = structuredClone(clean);
      const i = entries.findIndex((e) => e.id === ids.corP1);
      const [cor] = entries.splice(i, 1);
      entries.unshift(cor!);
      expect(replay(entries)).to.deep.equal([["reference-exists", ids.corP1]]);
    });

    it("a correction or an erasure that names itself: no entry is earlier than itself (and the replay does not loop on it)", () => {
      for (const id of [ids.cor5a!, ids.corP1!]) {
        const entries = edited(id, (e) => {
          e.body.targetId = id;
          e.refs = [id];
        });
        expect(replay(entries), id).to.deep.equal([["reference-exists", id]]);
      }
      const era = { v: 1, id: "era_000000000000000000000001", kind: "erasure", recordedAt: clean[clean.length - 1]!.recordedAt, actor: { official: "admin.wang", agency: "110000-FIN", role: "admin" } };
      const self = { ...era, refs: [era.id], body: { targetId: era.id, reasonCode: "data-subject-request", fields: ["phone"] } };
      expect(replay([...clean, self])).to.deep.equal([["reference-exists", era.id]]);
    });
  });

  it("a deleted application leaves its decision referring to nothing", () => {
    const entries = clean.filter((e) => e.id !== ids.app3);
    expect(replay(entries)).to.deep.equal([["reference-exists", ids.dec3]]);
  });

  it("a clawback of more than was paid", () => {
    expect(replay(edited(ids.claw4a!, (e) => (e.body.clawbackFen = "2000001")))).to.deep.equal([["clawback-within-paid", ids.claw4a]]);
  });

  it("a revocation of a payout still paid", () => {
    const entries = edited(ids.rev4b!, (e) => {
      e.body.targetId = ids.pay1a;
      e.refs = [ids.pay1a!];
    });
    expect(replay(entries)).to.deep.equal([["revocation-allowed", ids.rev4b]]);
  });

  it("a payout recorded by a clerk", () => {
    expect(replay(edited(ids.pay1a!, (e) => (e.actor.role = "clerk")))).to.deep.equal([["role-may-record", ids.pay1a]]);
  });

  it("refs that do not name what the body refers to", () => {
    expect(replay(edited(ids.pay1a!, (e) => (e.refs = [ids.dec2!])))).to.deep.equal([["refs-match-body", ids.pay1a]]);
  });

  it("a second decision on an application already decided", () => {
    const entries = structuredClone(clean);
    const dec = entries.find((e) => e.id === ids.dec3)!;
    entries.push({ ...structuredClone(dec), id: "dec_0123456789abcdef01234567" });
    expect(replay(entries)).to.deep.equal([["application-pending", "dec_0123456789abcdef01234567"]]);
  });

  describe("erasures", () => {
    /** An erasure of `target` as the route records it: its committed field names, no commitments of its own. */
    function erasureOf(target: Entry, n: number, fields = Object.keys((target.commitments as object | undefined) ?? {}).sort()): Entry {
      return {
        v: 1,
        id: `era_${n.toString(16).padStart(24, "0")}`,
        kind: "erasure",
        recordedAt: clean[clean.length - 1]!.recordedAt,
        actor: { official: "admin.wang", agency: "110000-FIN", role: "admin" },
        refs: [target.id],
        body: { targetId: target.id, reasonCode: "data-subject-request", fields },
      };
    }
    const app = () => clean.find((e) => e.id === ids.app1)!;

    it("finds nothing in an erasure of an entry with private values, its fields named", () => {
      expect(Object.keys(app().commitments as object)).to.not.be.empty;
      expect(replay([...clean, erasureOf(app(), 1)])).to.deep.equal([]);
    });

    it("reports a second erasure of the same entry", () => {
      expect(replay([...clean, erasureOf(app(), 1), erasureOf(app(), 2)])).to.deep.equal([["erasure-once", "era_000000000000000000000002"]]);
    });

    it("reports an erasure of an entry that has no private values", () => {
      const dec = clean.find((e) => e.id === ids.dec1)!;
      expect(replay([...clean, erasureOf(dec, 1)])).to.deep.equal([["erasure-target-private", "era_000000000000000000000001"]]);
    });

    it("reports an erasure whose fields are not the target's committed fields", () => {
      expect(replay([...clean, erasureOf(app(), 1, ["phone"])])).to.deep.equal([["erasure-fields", "era_000000000000000000000001"]]);
    });

    it("reports an erasure of an entry that does not exist", () => {
      const ghost = { ...app(), id: "app_ffffffffffffffffffffffff" };
      expect(replay([...clean, erasureOf(ghost, 1)])).to.deep.equal([["reference-exists", "era_000000000000000000000001"]]);
    });
  });

  describe("agencies and delegations", () => {
    const at = () => clean[clean.length - 1]!.recordedAt;
    const admin = { official: "admin.wang", agency: "110000-FIN", role: "admin" };
    const agency = (n: number, code: string, parent?: [string, string]): Entry => ({
      v: 1,
      id: `agy_${n.toString(16).padStart(24, "0")}`,
      kind: "agency",
      recordedAt: at(),
      actor: admin,
      refs: parent === undefined ? [] : [parent[1]],
      body: parent === undefined ? { code, name: "北京市发展和改革委员会" } : { code, name: "东城区发展和改革委员会", parent: parent[0] },
    });
    const delegation = (n: number, from: Entry, to: Entry, granted = true): Entry => ({
      v: 1,
      id: `dlg_${n.toString(16).padStart(24, "0")}`,
      kind: "delegation",
      recordedAt: at(),
      actor: admin,
      refs: [from.id, to.id],
      body: { from: from.body.code, to: to.body.code, granted },
    });
    let bj: Entry;
    let dc: Entry;
    before(() => {
      bj = agency(1, "110000-FGW");
      dc = agency(2, "110101-FGW", ["110000-FGW", bj.id]);
    });

    it("finds nothing in agencies registered under their parents, and a delegation granted then withdrawn", () => {
      expect(replay([...clean, bj, dc, delegation(1, bj, dc), delegation(2, bj, dc, false)])).to.deep.equal([]);
    });

    it("reports an agency code registered twice", () => {
      expect(replay([...clean, bj, { ...agency(3, "110000-FGW") }])).to.deep.equal([["agency-code-unique", "agy_000000000000000000000003"]]);
    });

    it("reports an agency whose parent is not registered", () => {
      const orphan = agency(4, "110102-FGW", ["110000-JXW", `agy_${"f".repeat(24)}`]);
      expect(replay([...clean, bj, orphan])).to.deep.include(["agency-exists", orphan.id]);
    });

    it("reports a delegation that changes nothing", () => {
      expect(replay([...clean, bj, dc, delegation(1, bj, dc), delegation(2, bj, dc)])).to.deep.equal([["delegation-changes", "dlg_000000000000000000000002"]]);
    });
  });
});
