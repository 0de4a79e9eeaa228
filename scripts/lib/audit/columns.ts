/**
 * Compact storage for the invariant replay (./invariants.ts): what it keeps
 * of every earlier entry, in typed arrays instead of one object and one id
 * string per entry.
 *
 * A full audit must remember every entry it has seen (a correction may name
 * any earlier one, and an id must not come twice), so its memory grows with
 * the log: here a fixed few dozen bytes an entry (the id's 96 bits and kind,
 * one slot of fixed-width columns, and a share of an open-addressing table
 * from id to slot). Amounts are int64 fen, exact (an entry's own amounts are at most 18
 * digits); a running total a broken log pushes outside int64 is kept exactly
 * in a side map ({@link FenColumn}).
 */
import { LEDGER_KINDS, ID_PREFIX, officialId } from "../../../service/format";

/** Entry kinds as stored (0 is "no entry"), in the order of service/format's LEDGER_KINDS. */
export const Kind = { programme: 1, application: 2, decision: 3, payout: 4, confirmation: 5, correction: 6, erasure: 7, agency: 8, delegation: 9 } as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];
export const KIND_NAMES = ["", ...LEDGER_KINDS] as const;
const PREFIXES = ["", ...LEDGER_KINDS.map((k) => `${ID_PREFIX[k]}_`)];
const KIND_BY_PREFIX = new Map(PREFIXES.map((p, k) => [p, k] as const).filter(([, k]) => k !== 0));

/** The kind an id's prefix names (0 for none). Every id stored was checked whole when its entry was read. */
export function kindOfId(id: string): number {
  return KIND_BY_PREFIX.get(id.slice(0, 4)) ?? 0;
}

/** Per-slot flags. */
export const Flag = {
  REVOKED: 1,
  /** Decision: approved (else rejected). */
  APPROVED: 2,
  /** Payout: under a decision at or above the four-eyes threshold. */
  NEEDS_CONFIRMATION: 4,
  /** An entry with commitments whose private values were erased. */
  ERASED: 8,
} as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A column of int64 fen; a value outside int64 is kept in a side map, marked in the column by int64's minimum. */
export class FenColumn {
  private _a: BigInt64Array;
  private readonly _big = new Map<number, bigint>();

  constructor(capacity: number) {
    this._a = new BigInt64Array(capacity);
  }

  get(i: number): bigint {
    const v = this._a[i]!;
    return v === INT64_MIN ? this._big.get(i)! : v;
  }

  set(i: number, v: bigint): void {
    const fits = v > INT64_MIN && v <= INT64_MAX;
    this._a[i] = fits ? v : INT64_MIN;
    if (!fits) this._big.set(i, v);
    else if (this._big.size > 0) this._big.delete(i);
  }

  grow(capacity: number): void {
    const a = new BigInt64Array(capacity);
    a.set(this._a);
    this._a = a;
  }
}

/** A copy of `a` with room for `capacity`, the new room filled with `fill`. */
function grown<T extends Uint8Array | Uint16Array | Int32Array | Uint32Array>(a: T, capacity: number, make: new (n: number) => T, fill = 0): T {
  const b = new make(capacity);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/**
 * The entries seen so far, one slot each in log order: the id (96 bits and
 * kind), an open-addressing index from id to slot, and per-slot columns the
 * replay reads and writes by name. Ids must be well-formed (prefix, `_`, 24
 * lowercase hex digits): service/format's entry reader checks every id.
 */
export class EntryColumns {
  size = 0;
  /** Per slot: the id's three 32-bit words and its kind, side by side so a lookup reads one cache line. */
  private _idw = new Uint32Array(0);
  /** The index: slot + 1 per bucket, 0 for empty; a power of two, at most half full. */
  private _buckets = new Int32Array(0);
  kind = new Uint8Array(0);
  /** Bit flags, see {@link Flag}. */
  flags = new Uint8Array(0);
  /** The slot this entry depends on: application → programme, decision → application, payout → decision; -1 for none. */
  link = new Int32Array(0);
  /** Application: its decision's slot; payout: its confirmation's slot; -1 for none. */
  other = new Int32Array(0);
  /** Application, payout: the official who recorded it (an index into `officials`). */
  who = new Int32Array(0);
  /** An entry with commitments: its committed field names (an index into `fieldSets`, 1 on); 0 for none. */
  fieldSet = new Uint16Array(0);
  /** Application: requested; decision: approvedFen; payout: amount. */
  readonly amount = new FenColumn(0);
  /** Decision: committed (payouts net of clawbacks, unconfirmed included); payout: clawed back. */
  readonly running = new FenColumn(0);
  /** Officials numbered by canonical id (service/format officialId), and the number of each name as recorded. */
  private readonly _officialIds = new Map<string, number>();
  private readonly _officials = new Map<string, number>();
  /** Distinct sets of committed field names, sorted and joined by ","; index 0 is "no commitments". */
  readonly fieldSets: string[] = [""];
  private readonly _fieldSets = new Map<string, number>();

  constructor(private _capacity = 1024) {
    this._grow(_capacity);
  }

  /** The slot of the entry with this well-formed id, or -1. */
  slotOf(id: string): number {
    const w = idWords(id);
    const mask = this._buckets.length - 1;
    for (let b = hash(w) & mask; ; b = (b + 1) & mask) {
      const s = this._buckets[b]! - 1;
      if (s < 0 || (this._idw[s * 4] === w[0] && this._idw[s * 4 + 1] === w[1] && this._idw[s * 4 + 2] === w[2] && this._idw[s * 4 + 3] === w[3])) return s;
    }
  }

  /** Adds an entry whose well-formed id is not there yet; answers its slot. */
  add(id: string): number {
    if (this.size === this._capacity) this._grow();
    const s = this.size++;
    this._idw.set(idWords(id), s * 4);
    this.kind[s] = this._idw[s * 4 + 3]!;
    this._index(s);
    return s;
  }

  /** The id of the entry at `slot`, as written. */
  id(slot: number): string {
    const w = this._idw;
    return PREFIXES[this.kind[slot]!]! + hex8(w[slot * 4]!) + hex8(w[slot * 4 + 1]!) + hex8(w[slot * 4 + 2]!);
  }

  kindName(slot: number): (typeof KIND_NAMES)[number] {
    return KIND_NAMES[this.kind[slot]!]!;
  }

  /** One number per distinct official: names with the same canonical id (service/format officialId) are one. */
  official(name: string): number {
    let n = this._officials.get(name);
    if (n === undefined) {
      const id = officialId(name);
      n = this._officialIds.get(id) ?? this._officialIds.size;
      this._officialIds.set(id, n);
      this._officials.set(name, n);
    }
    return n;
  }

  /** Files the committed field names of the entry at `slot`; entries share few distinct sets (0xffff: one of too many). */
  setFields(slot: number, fields: readonly string[]): void {
    const key = [...fields].sort().join(",");
    let n = this._fieldSets.get(key);
    if (n === undefined && this.fieldSets.length < 0xffff) this._fieldSets.set(key, (n = this.fieldSets.push(key) - 1));
    this.fieldSet[slot] = n ?? 0xffff;
  }

  private _index(s: number): void {
    const mask = this._buckets.length - 1;
    let b = hash(this._idw, s * 4) & mask;
    while (this._buckets[b] !== 0) b = (b + 1) & mask;
    this._buckets[b] = s + 1;
  }

  /** Makes room for `capacity` slots (the constructor's first allocation too). */
  private _grow(capacity = this._capacity * 2): void {
    const c = (this._capacity = capacity);
    this._idw = grown(this._idw, c * 4, Uint32Array);
    this.kind = grown(this.kind, c, Uint8Array);
    this.flags = grown(this.flags, c, Uint8Array);
    this.link = grown(this.link, c, Int32Array, -1);
    this.other = grown(this.other, c, Int32Array, -1);
    this.who = grown(this.who, c, Int32Array);
    this.fieldSet = grown(this.fieldSet, c, Uint16Array);
    for (const col of [this.amount, this.running]) col.grow(c);
    this._buckets = new Int32Array(c * 2);
    for (let s = 0; s < this.size; s++) this._index(s);
  }

}

/** An id's 24 hex digits as three 32-bit words, and its kind: reused, as one id is looked up, then added. */
const WORDS = new Uint32Array(4);

function idWords(id: string): Uint32Array {
  for (let k = 0; k < 3; k++) {
    let w = 0;
    for (let i = 4 + 8 * k; i < 12 + 8 * k; i++) w = (w << 4) | HEX_DIGIT[id.charCodeAt(i) & 0x7f]!;
    WORDS[k] = w >>> 0;
  }
  WORDS[3] = kindOfId(id);
  return WORDS;
}

/** Hex digit values by char code (lowercase, as ids are written). */
const HEX_DIGIT = new Uint8Array(128);
for (let i = 0; i < 16; i++) HEX_DIGIT["0123456789abcdef".charCodeAt(i)] = i;

/** The hash of an id's words w[at, at + 4). */
function hash(w: Uint32Array, at = 0): number {
  let h = Math.imul(w[at]! ^ w[at + 3]!, 0x9e3779b1);
  h = Math.imul(h ^ w[at + 1]! ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ w[at + 2]! ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hex8(w: number): string {
  return w.toString(16).padStart(8, "0");
}
