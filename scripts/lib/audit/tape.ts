/**
 * A tape of a leaf's JSON tokens, written by the canonical-form scan
 * (./canonical.ts) and read in place by the entry reader (./entries.ts), so
 * that a leaf the scan proved canonical is never handed to JSON.parse.
 *
 * Why: parsing is the audit's largest cost. JSON.parse builds every object
 * and string of a leaf (the enterprise name, every commitment, the reason
 * text); the entry reader needs a dozen short fields of it. The scan already
 * walks every byte in a worker thread; recording where each token lies
 * costs it little, and reading a field from the tape costs one string slice.
 *
 * The layout, three int32 per token, in document order:
 *
 *   OBJECT | ARRAY   byte offset of the bracket, index of the token after its last descendant
 *   KEY              byte range of the key's text, between the quotes (ASCII, no escapes: the scan proved it)
 *   STRING           byte range between the quotes; STRING_ESCAPED when it holds a backslash escape
 *   NUMBER           byte range (a canonical integer of at most 15 digits)
 *   TRUE | FALSE | NULL
 *
 * An object's tokens are its keys, each followed by its value's tokens. Byte
 * offsets are into the batch's data; token indices into the batch's tape.
 * Pure: no I/O, no state beyond the arrays.
 */

export const Token = {
  OBJECT: 1,
  ARRAY: 2,
  KEY: 3,
  STRING: 4,
  STRING_ESCAPED: 5,
  NUMBER: 6,
  TRUE: 7,
  FALSE: 8,
  NULL: 9,
} as const;
export type Token = (typeof Token)[keyof typeof Token];

/** A growable tape that a scan writes (see the module comment). */
export class TapeWriter {
  private _t = new Int32Array(3 * 4096);
  private _n = 0;

  /** Tokens written so far. */
  get length(): number {
    return this._n;
  }

  push(type: Token, a: number, b: number): number {
    const at = this._n * 3;
    if (at + 3 > this._t.length) {
      const bigger = new Int32Array(this._t.length * 2);
      bigger.set(this._t);
      this._t = bigger;
    }
    this._t[at] = type;
    this._t[at + 1] = a;
    this._t[at + 2] = b;
    return this._n++;
  }

  /** Sets where a container's tokens end (the index after its last descendant). */
  close(container: number): void {
    this._t[container * 3 + 2] = this._n;
  }

  /** Drops every token from `length` on (a leaf the scan did not prove keeps no tokens). */
  truncate(length: number): void {
    this._n = length;
  }

  /** The tokens written, as a copy that owns its buffer (to transfer to another thread). */
  finish(): Int32Array {
    return this._t.slice(0, this._n * 3);
  }
}

/** A JSON value as the entry reader sees it: scalars as themselves, containers as views. */
export type JsonValue = string | number | boolean | null | JsonFields | readonly JsonValue[];

/** An object of a leaf: its keys, and the value at each. */
export interface JsonFields {
  /** The value of `key`; undefined when the object has no such key. */
  get(key: string): JsonValue | undefined;
  keys(): readonly string[];
  /** How many keys the object has. */
  size(): number;
  /** Calls `f` with each key and its value, in order. */
  each(f: (key: string, value: JsonValue) => void): void;
}

/** A parsed JSON object (JSON.parse's output) as {@link JsonFields}. */
export class ParsedFields implements JsonFields {
  constructor(private readonly _o: Record<string, unknown>) {}

  get(key: string): JsonValue | undefined {
    return Object.hasOwn(this._o, key) ? fromParsed(this._o[key]) : undefined;
  }

  keys(): readonly string[] {
    return Object.keys(this._o);
  }

  size(): number {
    return Object.keys(this._o).length;
  }

  each(f: (key: string, value: JsonValue) => void): void {
    for (const k of Object.keys(this._o)) f(k, fromParsed(this._o[k]));
  }
}

/** A parsed JSON value as a {@link JsonValue}. */
export function fromParsed(v: unknown): JsonValue {
  if (Array.isArray(v)) return v.map(fromParsed);
  if (typeof v === "object" && v !== null) return new ParsedFields(v as Record<string, unknown>);
  return v as JsonValue;
}

/**
 * The tokens of one batch with the bytes they point into, read one leaf at
 * a time: {@link Tape.leaf} decodes the leaf's bytes once, one char per byte
 * (see textOfBytes in ./canonical.ts), and values are cut from
 * that string. A value kept may keep the leaf's string alive (V8 slices long
 * strings), never the batch's.
 */
export class Tape {
  private _text = "";
  private _offset = 0;

  constructor(
    private readonly _data: Buffer,
    private readonly _t: Int32Array,
  ) {}

  /** Reads the leaf at bytes [start, end) of the data from now on; answers its root value. */
  leaf(root: number, start: number, end: number): JsonValue {
    this.load(start, end);
    return this.value(root);
  }

  /** Reads the leaf at bytes [start, end) of the data from now on (decoded once, see the class comment). */
  load(start: number, end: number): void {
    this._text = this._data.toString("latin1", start, end);
    this._offset = start;
  }

  /** The text of bytes [a, b) of the leaf loaded, one char per byte. */
  cut(a: number, b: number): string {
    return this._text.slice(a - this._offset, b - this._offset);
  }

  type(token: number): number {
    return this._t[token * 3]!;
  }

  /** The index of the token after `token` and all its descendants. */
  next(token: number): number {
    const type = this._t[token * 3]!;
    return type === Token.OBJECT || type === Token.ARRAY ? this._t[token * 3 + 2]! : token + 1;
  }

  /** The value at `token`, containers as views. */
  value(token: number): JsonValue {
    const t = this._t;
    const at = token * 3;
    switch (t[at]) {
      case Token.OBJECT:
        return new TapeFields(this, token);
      case Token.ARRAY: {
        const out: JsonValue[] = [];
        const end = t[at + 2]!;
        for (let k = token + 1; k < end; k = this.next(k)) out.push(this.value(k));
        return out;
      }
      case Token.STRING:
        // One char per byte (Latin-1): see textOfBytes in ./canonical.ts.
        return this.cut(t[at + 1]!, t[at + 2]!);
      case Token.STRING_ESCAPED:
        return JSON.parse(this.cut(t[at + 1]! - 1, t[at + 2]! + 1)) as string;
      case Token.NUMBER:
        return Number(this.cut(t[at + 1]!, t[at + 2]!));
      case Token.TRUE:
        return true;
      case Token.FALSE:
        return false;
      case Token.NULL:
        return null;
      default:
        throw new Error(`no value at token ${token} of the tape (type ${t[at]})`);
    }
  }

  /** Whether the key at `token` is `key` (ASCII). */
  keyIs(token: number, key: string): boolean {
    const at = token * 3;
    const s = this._t[at + 1]!;
    return this._t[at + 2]! - s === key.length && this._text.startsWith(key, s - this._offset);
  }

  keyText(token: number): string {
    return this.cut(this._t[token * 3 + 1]!, this._t[token * 3 + 2]!);
  }

  /** The keys of the object at `token`, in order. */
  keyTexts(token: number): string[] {
    const end = this._t[token * 3 + 2]!;
    const out: string[] = [];
    for (let k = token + 1; k < end; k = this.next(k + 1)) out.push(this.keyText(k));
    return out;
  }

  /** The end of the object at `token` (the index after its last token). */
  end(token: number): number {
    return this._t[token * 3 + 2]!;
  }
}

/** An object on a tape, as {@link JsonFields}. */
export class TapeFields implements JsonFields {
  /** Where the last key found is: the next lookup starts there, as fields are mostly read in a fixed order. */
  private _last: number;

  constructor(
    private readonly _tape: Tape,
    private readonly _token: number,
  ) {
    this._last = _token + 1;
  }

  get(key: string): JsonValue | undefined {
    const tape = this._tape;
    const first = this._token + 1;
    const end = tape.end(this._token);
    if (first >= end) return undefined;
    // Each key once, from the last one found round to it again.
    let k = this._last;
    do {
      if (tape.keyIs(k, key)) {
        this._last = k;
        return tape.value(k + 1);
      }
      k = tape.next(k + 1);
      if (k >= end) k = first;
    } while (k !== this._last);
    return undefined;
  }

  keys(): readonly string[] {
    const tape = this._tape;
    const end = tape.end(this._token);
    const out: string[] = [];
    for (let k = this._token + 1; k < end; k = tape.next(k + 1)) out.push(tape.keyText(k));
    return out;
  }

  size(): number {
    const tape = this._tape;
    const end = tape.end(this._token);
    let n = 0;
    for (let k = this._token + 1; k < end; k = tape.next(k + 1)) n++;
    return n;
  }

  each(f: (key: string, value: JsonValue) => void): void {
    const tape = this._tape;
    const end = tape.end(this._token);
    for (let k = this._token + 1; k < end; k = tape.next(k + 1)) f(tape.keyText(k), tape.value(k + 1));
  }
}
