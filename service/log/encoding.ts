/**
 * Canonical entry encoding: RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * The same logical entry always yields the same bytes, so the same leaf hash,
 * whoever encodes it (service, auditor, browser). Values JCS cannot represent
 * are rejected with an {@link EncodingError} naming the offending path, rather
 * than being silently dropped or coerced as JSON.stringify would.
 */
import canonicalize from "canonicalize";
import { EncodingError } from "./errors";
import { hashLeaf } from "./hash";

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

function check(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case "string":
      if (LONE_SURROGATE.test(value)) throw new EncodingError("LONE_SURROGATE", "string holds a lone UTF-16 surrogate", path);
      return;
    case "number":
      if (!Number.isFinite(value)) throw new EncodingError("NON_FINITE_NUMBER", `${value} has no JSON form`, path);
      return;
    case "boolean":
      return;
    case "undefined":
      throw new EncodingError("UNDEFINED_VALUE", "undefined has no JSON form", path);
    case "object":
      break;
    default:
      throw new EncodingError("NOT_JSON_VALUE", `a ${typeof value} has no JSON form`, path);
  }
  if (value === null) return;
  if (ancestors.has(value)) throw new EncodingError("NOT_JSON_VALUE", "value contains a cycle", path);
  // `ancestors` holds exactly the arrays and objects enclosing this one.
  if (ancestors.size >= MAX_NESTING_DEPTH)
    throw new EncodingError("NOT_JSON_VALUE", `value nests more than ${MAX_NESTING_DEPTH} arrays or objects deep`, path);
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new EncodingError("UNDEFINED_VALUE", "array has a hole", `${path}[${i}]`);
      check(value[i], `${path}[${i}]`, ancestors);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw new EncodingError("NON_PLAIN_OBJECT", `a ${(value as object).constructor?.name ?? "non-plain"} object has no canonical JSON form`, path);
    if (Object.getOwnPropertySymbols(value).length > 0) throw new EncodingError("NOT_JSON_VALUE", "symbol keys have no JSON form", path);
    for (const [k, v] of Object.entries(value)) {
      if (LONE_SURROGATE.test(k)) throw new EncodingError("LONE_SURROGATE", "key holds a lone UTF-16 surrogate", path);
      check(v, `${path}.${k}`, ancestors);
    }
  }
  ancestors.delete(value);
}

/** Throws EncodingError unless `value` is a JSON value JCS can encode exactly. */
export function assertJsonValue(value: unknown): asserts value is JsonValue {
  check(value, "$", new Set());
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The RFC 8785 canonical UTF-8 bytes of a JSON value. */
export function canonicalBytes(value: unknown): Uint8Array {
  assertJsonValue(value);
  const text = canonicalize(value);
  if (text === undefined) throw new EncodingError("NOT_JSON_VALUE", "value has no JSON form", "$");
  return utf8.encode(text);
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
  assertJsonValue(parsed);
  const again = canonicalBytes(parsed);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i]))
    throw new EncodingError("NOT_JSON_VALUE", "entry bytes are JSON but not in RFC 8785 canonical form", "$");
  return parsed as DecodedEntry;
}
