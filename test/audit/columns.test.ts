/**
 * The replay's compact storage (scripts/lib/audit/columns.ts): ids found
 * again exactly, across growth, kinds kept apart; int64 columns that keep
 * any bigint exactly. And the replay on it, with totals beyond int64.
 */
import { expect } from "chai";
import fc from "fast-check";
import { EntryColumns, FenColumn, KIND_NAMES, kindOfId } from "../../scripts/lib/audit/columns";
import { InvariantReplay, type AuditEntry } from "../../scripts/lib/audit";
import { fcAssert } from "../helpers/fc";

const PREFIXES = ["prg_", "app_", "dec_", "pay_", "cnf_", "cor_"];
const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/);
const anId = fc.tuple(fc.constantFrom(...PREFIXES), hex24).map(([p, h]) => p + h);

describe("EntryColumns", () => {
  it("finds every id added at its slot, and no other, through several growths", () => {
    fcAssert(
      fc.property(fc.uniqueArray(anId, { minLength: 1, maxLength: 3000 }), fc.array(anId, { maxLength: 50 }), (ids, others) => {
        const c = new EntryColumns(4);
        ids.forEach((id, i) => expect(c.add(id)).to.equal(i));
        ids.forEach((id, i) => {
          expect(c.slotOf(id)).to.equal(i);
          expect(c.id(i)).to.equal(id);
        });
        const known = new Set(ids);
        for (const o of others) if (!known.has(o)) expect(c.slotOf(o)).to.equal(-1);
      }),
      { scale: 0.2 },
    );
  });

  it("keeps ids with the same digits but another kind apart", () => {
    const c = new EntryColumns();
    const digits = "0123456789abcdef01234567";
    const slots = PREFIXES.map((p) => c.add(p + digits));
    expect(PREFIXES.map((p) => c.slotOf(p + digits))).to.deep.equal(slots);
    expect(c.kindName(slots[2]!)).to.equal("decision");
  });

  it("keeps per-slot columns across growth, and numbers officials once each", () => {
    const c = new EntryColumns(2);
    for (let i = 0; i < 100; i++) {
      const s = c.add(`pay_${i.toString(16).padStart(24, "0")}`);
      c.link[s] = i - 1;
      c.who[s] = c.official(`official-${i % 3}`);
      c.amount.set(s, BigInt(i) * 10n ** 15n);
    }
    for (let i = 0; i < 100; i++) {
      expect(c.link[i]).to.equal(i - 1);
      expect(c.who[i]).to.equal(i % 3); // numbered in order of first appearance
      expect(c.amount.get(i)).to.equal(BigInt(i) * 10n ** 15n);
      expect(c.other[i]).to.equal(-1);
    }
    expect(c.official("official-2")).to.equal(2);
    expect(c.official("official-3")).to.equal(3);
  });
});

describe("kindOfId", () => {
  it("names the kind of each prefix, and none for near misses", () => {
    PREFIXES.forEach((p, k) => expect(KIND_NAMES[kindOfId(`${p}${"0".repeat(24)}`)], p).to.equal(["programme", "application", "decision", "payout", "confirmation", "correction"][k]));
    for (const id of ["prg-0", "PRG_0", "pr_0", "xyz_0", "", "p", "ąpp_0", "\u0170rg_0", "aƀp_0", "prgg_0"]) expect(kindOfId(id), id).to.equal(0);
  });
});

describe("FenColumn", () => {
  it("reads back every bigint exactly, int64 or not, and after overwriting", () => {
    fcAssert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })), { maxLength: 40 }), (writes) => {
        const col = new FenColumn(10);
        const want = new Map<number, bigint>();
        for (const [i, v] of writes) {
          col.set(i, v);
          want.set(i, v);
        }
        for (let i = 0; i < 10; i++) expect(col.get(i)).to.equal(want.get(i) ?? 0n);
      }),
    );
  });

  it("keeps int64's own minimum, the value that marks the side map", () => {
    const col = new FenColumn(2);
    col.set(0, -(2n ** 63n));
    expect(col.get(0)).to.equal(-(2n ** 63n));
    col.set(0, 5n);
    expect(col.get(0)).to.equal(5n);
  });
});

describe("the invariant replay, with totals beyond int64", () => {
  const base = { recordedAt: "2026-03-01T02:00:00Z", recordedMs: Date.parse("2026-03-01T02:00:00Z"), committed: [] as string[], agency: "市工业和信息化局" };
  const id = (p: string, n: number) => `${p}${n.toString(16).padStart(24, "0")}`;
  const big = 10n ** 18n - 1n;

  it("still reports each payout past the approval with its exact running total", () => {
    const r = new InvariantReplay();
    const seen: string[] = [];
    const apply = (e: AuditEntry) => r.apply(e, (rule, message) => seen.push(`${rule}: ${message}`));
    apply({ ...base, kind: "programme", id: id("prg_", 1), official: "admin", role: "admin", refs: [], code: "P", programmeAgency: "市工业和信息化局", maxPerEnterpriseFen: null, budgetFen: String(big), fourEyesThresholdFen: String(big + 1n), opensOn: "2026-01-01", closesOn: "2026-12-31" });
    apply({ ...base, kind: "application", id: id("app_", 1), official: "clerk", role: "clerk", refs: [id("prg_", 1)], programmeId: id("prg_", 1), creditCode: "X", requestedFen: String(big) });
    apply({ ...base, kind: "decision", id: id("dec_", 1), official: "approver", role: "approver", refs: [id("app_", 1)], applicationId: id("app_", 1), outcome: "approved", approvedFen: String(big) });
    for (let k = 1; k <= 12; k++)
      apply({ ...base, kind: "payout", id: id("pay_", k), official: "payer", role: "payer", refs: [id("dec_", 1)], decisionId: id("dec_", 1), amountFen: String(big - 1n), paidOn: "2026-03-01", needsConfirmation: false });
    expect(seen).to.have.length(11);
    // 12 payouts of 10^18 - 2: past int64's 9.22e18 from the tenth on, still exact.
    expect(seen[10]).to.equal(`payout-within-approved: payouts on decision ${id("dec_", 1)} total ${12n * (big - 1n)} of ${big} approved`);
    expect(r.totals().paidFen).to.equal(String(12n * (big - 1n)));
  });
});
