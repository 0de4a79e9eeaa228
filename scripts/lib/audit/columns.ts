/**
 * Compact storage for the invariant replay (./invariants.ts): what it keeps
 * of every earlier entry, in typed arrays instead of one object and one id
 * string per entry.
 *
 * A full audit must remember every entry it has seen (a correction may name
 * any earlier one, and an id must not come twice), so its memory grows with
 * the log. Held as objects in a Map keyed by id strings, that cost about
 * 200 bytes an entry and most of the audit's garbage-collection time; here
 * it is about 65: the id's 96 bits and kind, one slot of fixed-width
 * columns, and a share of an open-addressing table from id to slot.
 *
 * Amounts are int64 fen, exact: an entry's own amounts are at most 18
 * digits (checked by ./entries.ts); a running total pushed outside int64 by
 * a (broken) log is kept exactly in a side map ({@link FenColumn}).
 */
import { LEDGER_KINDS as ENTRY_KINDS, ID_PREFIX, officialId } from "../../../service/format";

/** Entry kinds as stored (0 is "no entry"), in service/format's order of LEDGER_KINDS (every kind the service records). */
export const Kind = { programme: 1, application: 2, decision: 3, payout: 4, confirmation: 5, correction: 6, erasure: 7, agency: 8, delegation: 9 } as const;
export type KindCode = (typeof Kind)[keyof typeof Kind];
export const KIND_NAMES = ["", ...ENTRY_KINDS] as const;
const PREFIXES = ["", ...ENTRY_KINDS.map((k) => `${ID_PREFIX[k]}_`)];

/**
 * The kinds by their prefix's three letters, as one number (see prefixCode):
 * no string cut and no pattern match per lookup, since every id stored was
 * checked when its entry was read (service/format's kindOfId checks the whole id).
 */
const prefixCode = (s: string) => (s.charCodeAt(0) << 16) | (s.charCodeAt(1) << 8) | s.charCodeAt(2);
const KIND_BY_PREFIX = new Map(PREFIXES.map((p, k) => [prefixCode(p), k] as const).filter(([, k]) => k !== 0));

/** The kind an id's prefix names (0 for none). */
export function kindOfId(id: string): number {
  // Three letters below 0x100 each make a distinct code; the underscore is checked apart.
  if (id.charCodeAt(3) !== 0x5f || id.charCodeAt(0) > 0xff || id.charCodeAt(1) > 0xff || id.charCodeAt(2) > 0xff) return 0;
  return KIND_BY_PREFIX.get(prefixCode(id)) ?? 0;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A column of int64 fen. A value outside int64 (only a running total of a
 * broken log can get there) is kept in a side map, marked in the column by
 * int64's minimum, so every value reads back exactly.
 */
export class FenColumn {
  private _a: BigInt64Array;
  private _big: Map<number, bigint> | null = null;

  constructor(capacity: number) {
    this._a = new BigInt64Array(capacity);
  }

  get(i: number): bigint {
    const v = this._a[i]!;
    return v === INT64_MIN && this._big !== null && this._big.has(i) ? this._big.get(i)! : v;
  }

  set(i: number, v: bigint): void {
    if (v > INT64_MIN && v <= INT64_MAX) {
      this._a[i] = v;
      this._big?.delete(i);
    } else {
      this._a[i] = INT64_MIN;
      (this._big ??= new Map()).set(i, v);
    }
  }

  grow(capacity: number): void {
    const a = new BigInt64Array(capacity);
    a.set(this._a);
    this._a = a;
  }
}

function grown<T extends Uint8Array | Uint16Array | Int32Array | Uint32Array>(a: T, capacity: number, make: (n: number) => T, fill?: number): T {
  const b = make(capacity);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

/**
 * The entries seen so far, one slot each in log order: the id (96 bits and
 * kind), an open-addressing index from id to slot, and per-slot columns the
 * replay reads and writes by name. Ids must be well-formed (prefix, `_`, 24
 * lowercase hex digits): ./entries.ts checks every id an entry carries.
 */
export class EntryColumns {
  size = 0;
  private _capacity: number;
  /** Per slot: the id's three 32-bit words and its kind, side by side so a lookup reads one cache line. */
  private _idw: Uint32Array;
  /** The index: slot + 1 per bucket, 0 for empty; a power of two, at most half full. */
  private _buckets: Int32Array;

  kind: Uint8Array;
  /** Bit flags, see {@link Flag}. */
  flags: Uint8Array;
  /** The slot this entry depends on: application → programme, decision → application, payout → decision; -1 for none. */
  link: Int32Array;
  /** Application: its decision's slot; payout: its confirmation's slot; -1 for none. */
  other: Int32Array;
  /** Application, payout: the official who recorded it (an index into `officials`). */
  who: Int32Array;
  /** An entry with commitments: its committed field names (an index into `fieldSets`, 1 on); 0 for none. */
  fieldSet: Uint16Array;
  /** Application: requested; decision: approvedFen; payout: amount. */
  readonly amount: FenColumn;
  /** Decision: committed (payouts net of clawbacks, unconfirmed included); payout: clawed back. */
  readonly running: FenColumn;
  /** Decision: paid (confirmed payouts net of clawbacks). */
  readonly paid: FenColumn;

  /** By the name as recorded, and by canonical id. */
  private readonly _officials = new Map<string, number>();
  private readonly _officialIds = new Map<string, number>();
  readonly officials: string[] = [];
  /** Distinct sets of committed field names, sorted and joined by ","; index 0 is "no commitments". */
  readonly fieldSets: string[] = [""];
  private readonly _fieldSets = new Map<string, number>();

  constructor(capacity = 1024) {
    this._capacity = capacity;
    this._idw = new Uint32Array(capacity * 4);
    this._buckets = new Int32Array(capacity * 2);
    this.kind = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.link = new Int32Array(capacity).fill(-1);
    this.other = new Int32Array(capacity).fill(-1);
    this.who = new Int32Array(capacity);
    this.fieldSet = new Uint16Array(capacity);
    this.amount = new FenColumn(capacity);
    this.running = new FenColumn(capacity);
    this.paid = new FenColumn(capacity);
  }

  /** The slot of the entry with this id, or -1. The id must be well-formed (./entries.ts checked it). */
  slotOf(id: string): number {
    this._words(id);
    const k = this._k;
    const w0 = this._w0;
    const w1 = this._w1;
    const w2 = this._w2;
    const mask = this._buckets.length - 1;
    for (let b = hash(w0, w1, w2, k) & mask; ; b = (b + 1) & mask) {
      const s = this._buckets[b]! - 1;
      if (s < 0) return -1;
      const at = s * 4;
      if (this._idw[at] === w0 && this._idw[at + 1] === w1 && this._idw[at + 2] === w2 && this._idw[at + 3] === k) return s;
    }
  }

  /** Adds an entry whose well-formed id (./entries.ts checked it) is not there yet; answers its slot. */
  add(id: string): number {
    if (this.size === this._capacity) this._grow();
    const s = this.size++;
    this._words(id);
    this.kind[s] = this._k;
    this._idw[s * 4] = this._w0;
    this._idw[s * 4 + 1] = this._w1;
    this._idw[s * 4 + 2] = this._w2;
    this._idw[s * 4 + 3] = this._k;
    this._index(s);
    return s;
  }

  // The last id taken apart: an entry is looked up, then added.
  private _id = "";
  private _k = 0;
  private _w0 = 0;
  private _w1 = 0;
  private _w2 = 0;

  private _words(id: string): void {
    if (id === this._id) return;
    this._k = kindOfId(id);
    this._w0 = hexWord(id, 4);
    this._w1 = hexWord(id, 12);
    this._w2 = hexWord(id, 20);
    this._id = id;
  }

  /** The id of the entry at `slot`, as written. */
  id(slot: number): string {
    const w = this._idw;
    return PREFIXES[this.kind[slot]!]! + hex8(w[slot * 4]!) + hex8(w[slot * 4 + 1]!) + hex8(w[slot * 4 + 2]!);
  }

  kindName(slot: number): (typeof KIND_NAMES)[number] {
    return KIND_NAMES[this.kind[slot]!]!;
  }

  /** One number per distinct official: officials recorded under ids with the same canonical form (service/format officialId) are one. */
  official(name: string): number {
    let n = this._officials.get(name);
    if (n === undefined) {
      const id = officialId(name);
      n = this._officialIds.get(id);
      if (n === undefined) {
        n = this.officials.length;
        this.officials.push(id);
        this._officialIds.set(id, n);
      }
      this._officials.set(name, n);
    }
    return n;
  }

  /** Files the committed field names of the entry at `slot`; entries share few distinct sets. */
  setFields(slot: number, fields: readonly string[]): void {
    const key = [...fields].sort().join(",");
    let n = this._fieldSets.get(key);
    if (n === undefined && this.fieldSets.length < 0xffff) {
      n = this.fieldSets.length;
      this.fieldSets.push(key);
      this._fieldSets.set(key, n);
    }
    this.fieldSet[slot] = n ?? 0xffff;
  }

  private _index(s: number): void {
    const mask = this._buckets.length - 1;
    let b = hash(this._idw[s * 4]!, this._idw[s * 4 + 1]!, this._idw[s * 4 + 2]!, this._idw[s * 4 + 3]!) & mask;
    while (this._buckets[b] !== 0) b = (b + 1) & mask;
    this._buckets[b] = s + 1;
  }

  private _grow(): void {
    const c = this._capacity * 2;
    this._idw = grown(this._idw, c * 4, (n) => new Uint32Array(n));
    this.kind = grown(this.kind, c, (n) => new Uint8Array(n));
    this.flags = grown(this.flags, c, (n) => new Uint8Array(n));
    this.link = grown(this.link, c, (n) => new Int32Array(n), -1);
    this.other = grown(this.other, c, (n) => new Int32Array(n), -1);
    this.who = grown(this.who, c, (n) => new Int32Array(n));
    this.fieldSet = grown(this.fieldSet, c, (n) => new Uint16Array(n));
    this.amount.grow(c);
    this.running.grow(c);
    this.paid.grow(c);
    this._capacity = c;
    this._buckets = new Int32Array(c * 2);
    for (let s = 0; s < this.size; s++) this._index(s);
  }
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

function hash(w0: number, w1: number, w2: number, k: number): number {
  let h = Math.imul(w0 ^ k, 0x9e3779b1);
  h = Math.imul(h ^ w1 ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ w2 ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hex digit values by char code (lowercase, as ids are written). */
const HEX_DIGIT = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_DIGIT[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX_DIGIT[0x61 + i] = 10 + i;

/** The 32-bit word of the 8 hex digits of `s` from `at` (well-formed: ./entries.ts checked the id). */
function hexWord(s: string, at: number): number {
  let w = 0;
  for (let i = at; i < at + 8; i++) w = (w << 4) | HEX_DIGIT[s.charCodeAt(i) & 0x7f]!;
  return w >>> 0;
}

function hex8(w: number): string {
  return w.toString(16).padStart(8, "0");
}
