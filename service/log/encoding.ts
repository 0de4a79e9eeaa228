/**
 * Canonical entry encoding: RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * The same logical entry always yields the same bytes, so the same leaf hash,
 * whoever encodes it (service, auditor, browser). Values JCS cannot represent
 * are rejected with an {@link EncodingError} naming the offending path, rather
 * than being silently dropped or coerced as JSON.stringify would.
 */
import { EncodingError } from "./errors";
import { equalBytes, hashLeaf } from "./hash";

/** The entry format this library writes. Bumped when the entry schema changes incompatibly. */
export const ENTRY_FORMAT_VERSION = 1;

/** Any value JCS can encode. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A log entry: a JSON object carrying its format version in `v`. The static
 * type only requires `v`; that the rest is JSON JCS can encode is checked at
 * run time, so typed records (with readonly arrays and nested interfaces) can
 * be passed as they are.
 */
export interface LogEntry {
  readonly v: number;
}

/** A decoded entry: its fields are plain JSON values. */
export type DecodedEntry = LogEntry & { readonly [key: string]: JsonValue };

/**
 * How deep arrays and objects may nest. Both this check and the encoder
 * recurse, so deeper input (a few kilobytes of "[[[[…" is enough) would
 * otherwise overflow the stack with a RangeError instead of an EncodingError.
 */
export const MAX_NESTING_DEPTH = 256;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` holds no lone surrogate: the runtime's own check where it has one (Node 20, current browsers), a regular expression in older browsers. */
const wellFormed: (s: string) => boolean = "isWellFormed" in String.prototype ? (s) => s.isWellFormed() : (s) => !LONE_SURROGATE.test(s);

/** Characters JSON must escape in a string; a string without them is written between quotes as it is. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** A well-formed string in JSON form, as ECMAScript's JSON.stringify writes it (RFC 8785 §3.2.2.2). */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** Keys written by {@link Canonicalizer}, as `"key":`: only well-formed keys go in. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 512;

/**
 * Checks and encodes in one walk: every value is refused exactly as RFC 8785
 * requires (lone surrogates, non-finite numbers, undefined, holes, cycles,
 * non-plain objects, symbol keys, nesting past {@link MAX_NESTING_DEPTH}), and
 * what passes is written in canonical form: object keys sorted by UTF-16 code
 * units, strings and numbers as ECMAScript's JSON serialisation writes them
 * (which is how RFC 8785 defines them). `keys` is the path to `value`, kept
 * as a stack so that a path string is built only for an error.
 */
class Canonicalizer {
  private readonly _keys: (string | number)[] = [];
  /** The arrays and objects enclosing the value being encoded, outermost first (at most MAX_NESTING_DEPTH, and entries nest a few deep). */
  private readonly _ancestors: object[] = [];

  encode(value: unknown): string {
    switch (typeof value) {
      case "string":
        if (!wellFormed(value)) throw this._error("LONE_SURROGATE", "string holds a lone UTF-16 surrogate");
        return quote(value);
      case "number":
        if (!Number.isFinite(value)) throw this._error("NON_FINITE_NUMBER", `${value} has no JSON form`);
        // Number::toString, as JSON.stringify writes a finite number (RFC 8785 §3.2.2.3); -0 becomes "0".
        return String(value);
      case "boolean":
        return value ? "true" : "false";
      case "undefined":
        throw this._error("UNDEFINED_VALUE", "undefined has no JSON form");
      case "object":
        break;
      default:
        throw this._error("NOT_JSON_VALUE", `a ${typeof value} has no JSON form`);
    }
    if (value === null) return "null";
    if (this._ancestors.includes(value)) throw this._error("NOT_JSON_VALUE", "value contains a cycle");
    if (this._ancestors.length >= MAX_NESTING_DEPTH) throw this._error("NOT_JSON_VALUE", `value nests more than ${MAX_NESTING_DEPTH} arrays or objects deep`);
    this._ancestors.push(value);
    const text = Array.isArray(value) ? this._array(value) : this._object(value);
    this._ancestors.pop();
    return text;
  }

  private _array(value: readonly unknown[]): string {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      this._keys.push(i);
      if (!(i in value)) throw this._error("UNDEFINED_VALUE", "array has a hole");
      out += (i === 0 ? "" : ",") + this.encode(value[i]);
      this._keys.pop();
    }
    return out + "]";
  }

  private _object(value: object): string {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw this._error("NON_PLAIN_OBJECT", `a ${value.constructor?.name ?? "non-plain"} object has no canonical JSON form`);
    if (Object.getOwnPropertySymbols(value).length > 0) throw this._error("NOT_JSON_VALUE", "symbol keys have no JSON form");
    const keys = Object.keys(value).sort();
    let out = "{";
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const key = this._key(k);
      this._keys.push(k);
      out += (i === 0 ? "" : ",") + key + this.encode((value as Record<string, unknown>)[k]);
      this._keys.pop();
    }
    return out + "}";
  }

  /** `"key":` for a key; entries repeat their keys, so the few hundred most recent are kept written. */
  private _key(k: string): string {
    let q = quotedKeys.get(k);
    if (q === undefined) {
      if (!wellFormed(k)) throw this._error("LONE_SURROGATE", "key holds a lone UTF-16 surrogate");
      q = quote(k) + ":";
      if (quotedKeys.size >= QUOTED_KEYS_MAX) quotedKeys.clear();
      quotedKeys.set(k, q);
    }
    return q;
  }

  private _error(code: ConstructorParameters<typeof EncodingError>[0], message: string): EncodingError {
    // A key's error names the object holding it, as a value's names the value.
    let path = "$";
    for (const k of this._keys) path += typeof k === "number" ? `[${k}]` : `.${k}`;
    return new EncodingError(code, message, path);
  }
}

/** Throws EncodingError unless `value` is a JSON value JCS can encode exactly. */
export function assertJsonValue(value: unknown): asserts value is JsonValue {
  new Canonicalizer().encode(value);
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The RFC 8785 canonical form of a JSON value, as a string. It is always
 * well-formed UTF-16 (lone surrogates are refused), so its UTF-8 encoding is
 * {@link canonicalBytes}, and it equals the UTF-8 decoding of some bytes
 * exactly when those bytes are valid UTF-8 and equal canonicalBytes.
 */
export function canonicalText(value: unknown): string {
  return new Canonicalizer().encode(value);
}

/**
 * Whether `text`, which JSON.parse read as `value`, is certainly already its
 * RFC 8785 form: JSON.stringify writes strings and numbers as RFC 8785 does,
 * so it is when that matches `text` and every object's keys come in strictly
 * ascending UTF-16 order. False is no verdict: then compare with
 * {@link canonicalText}, which also says why a value has no canonical form
 * (a `\u` escape may hide a lone surrogate; deep nesting is its to refuse).
 */
export function isCanonicalText(value: unknown, text: string): boolean {
  return !text.includes("\\u") && keysAscending(value, 0) && JSON.stringify(value) === text;
}

function keysAscending(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (depth >= MAX_NESTING_DEPTH) return false;
  if (Array.isArray(value)) return value.every((v) => keysAscending(v, depth + 1));
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if ((i > 0 && !(keys[i - 1]! < keys[i]!)) || !keysAscending((value as Record<string, unknown>)[keys[i]!], depth + 1)) return false;
  }
  return true;
}

/** The RFC 8785 canonical UTF-8 bytes of a JSON value. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalText(value));
}

function assertEntry(entry: unknown): asserts entry is LogEntry {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry))
    throw new EncodingError("NOT_JSON_VALUE", "an entry must be a JSON object", "$");
  const v = (entry as { v?: unknown }).v;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
    throw new EncodingError("MISSING_VERSION", "an entry must carry its format version as a positive integer `v`", "$.v");
}

/** The canonical bytes of a log entry (the leaf data). */
export function encodeEntry(entry: LogEntry): Uint8Array {
  assertEntry(entry);
  return canonicalBytes(entry);
}

/** The RFC 6962 leaf hash of a log entry. */
export function entryLeafHash(entry: LogEntry): Uint8Array {
  return hashLeaf(encodeEntry(entry));
}

/**
 * Parses leaf data back into an entry, and checks that the bytes are exactly
 * the canonical encoding (so a re-encoded entry hashes to the same leaf).
 */
export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  let text: string;
  let parsed: unknown;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    throw new EncodingError("INVALID_UTF8", "entry bytes are not valid UTF-8", "$");
  }
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EncodingError("NOT_JSON_VALUE", "entry bytes are not JSON", "$");
  }
  assertEntry(parsed);
  if (!equalBytes(canonicalBytes(parsed), bytes))
    throw new EncodingError("NOT_JSON_VALUE", "entry bytes are JSON but not in RFC 8785 canonical form", "$");
  return parsed as DecodedEntry;
}
