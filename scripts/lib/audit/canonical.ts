/**
 * Parsing a leaf and proving it is the RFC 8785 (JCS) canonical form of the
 * entry it holds, without re-encoding the entry in the common case.
 *
 * The proof is a single scan of the bytes ({@link scanCanonical}) that
 * checks the form JCS gives every token: no whitespace between tokens,
 * object keys strictly ascending, strings escaped exactly as JCS escapes
 * them (`\"`, `\\`, `\b \f \n \r \t`, `\u00xx` in lowercase for other control
 * characters, everything else raw), integers written in shortest form. With
 * JSON.parse accepting the same text, that is exactly what `canonicalBytes`
 * (service/log) would write for the parsed value. The scan answers only
 * "proved" or "not proved": whatever it does not prove (a fraction, an
 * exponent, a long integer, a key outside ASCII, an odd escape, deep
 * nesting, or a leaf that is simply not canonical) goes to `canonicalBytes`
 * itself, which stays the one definition of canonical. The leaf bytes must
 * be valid UTF-8, so text and bytes are one another's exact encoding.
 */
import { isUtf8 } from "node:buffer";
import { canonicalBytes, EncodingError, MAX_NESTING_DEPTH } from "../../../service/log";
import { Token, type TapeWriter } from "./tape";

export type LeafParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A string read from a leaf's bytes one char per byte (Latin-1), as the
 * text it encodes. The audit reads proven leaves that way (./tape.ts): it
 * costs a tenth of UTF-8 decoding, and gives the same JSON structure, keys,
 * numbers, literals and ASCII text, because every byte of a multi-byte UTF-8
 * sequence is 0x80 or above and so never JSON syntax, a quote or a
 * backslash. Only non-ASCII text differs, holding its UTF-8 bytes (checked
 * valid); this turns it back into text.
 */
export function textOfBytes(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, "latin1").toString("utf8") : s;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(b: number): boolean {
  return b >= ZERO && b <= NINE;
}

function isLowerHex(b: number): boolean {
  return isDigit(b) || (b >= 0x61 && b <= 0x66);
}

function hexValue(b: number): number {
  return b <= NINE ? b - ZERO : b - 0x61 + 10;
}

/**
 * Whether `b[start, end)` is, token for token, in JCS canonical form (see
 * the module comment). It checks the whole JSON grammar of what it accepts
 * (every token, separator and bracket), so `true` also means the text is
 * JSON, and, with the bytes valid UTF-8, is exactly what `canonicalBytes`
 * writes for its value; `false` proves nothing (the caller then asks
 * `canonicalBytes`). Given a tape, it appends each token it accepts (see
 * ./tape.ts); after `false` the tape holds a partial leaf, to be truncated.
 * Requires nothing of the input; never throws.
 */
export function scanCanonical(b: Uint8Array, start: number, end: number, tape?: TapeWriter): boolean {
  // The open containers, `depth` of them (scratch reused by every call: a leaf's scan allocates nothing).
  const stack = OPEN; // its opening bracket
  const tokens = OPEN_TOKEN; // its token on the tape
  const keyStart = KEY_START; // for an object, where its last key's bytes are, to compare the next with
  const keyEnd = KEY_END;
  let depth = 0;
  let i = start;
  let expectValue = true;
  while (i < end) {
    const c = b[i]!;
    if (expectValue) {
      if (c === LBRACE || c === LBRACKET) {
        if (depth >= MAX_NESTING_DEPTH - 1) return false;
        const token = tape?.push(c === LBRACE ? Token.OBJECT : Token.ARRAY, i, 0) ?? 0;
        stack[depth] = c;
        tokens[depth] = token;
        keyStart[depth] = -1;
        keyEnd[depth] = -1;
        depth++;
        i++;
        if (i < end && b[i] === (c === LBRACE ? RBRACE : RBRACKET)) {
          depth--;
          tape?.close(token);
          i++;
          expectValue = false;
          continue;
        }
        if (c === LBRACE) {
          // A key must follow.
          const k = scanString(b, i, end, true);
          if (k < 0 || k >= end || b[k] !== COLON) return false;
          tape?.push(Token.KEY, i + 1, k - 1);
          keyStart[depth - 1] = i;
          keyEnd[depth - 1] = k;
          i = k + 1;
        }
        continue; // expectValue stays true
      }
      if (c === QUOTE) {
        const s = scanString(b, i, end, false);
        if (s < 0) return false;
        tape?.push(escaped ? Token.STRING_ESCAPED : Token.STRING, i + 1, s - 1);
        i = s;
      } else if (c === MINUS || isDigit(c)) {
        let j = i;
        if (c === MINUS) j++;
        const digitsFrom = j;
        while (j < end && isDigit(b[j]!)) j++;
        const digits = j - digitsFrom;
        // Shortest integers only: no leading zero, no -0, at most 15 digits (exact in a double).
        if (digits === 0 || digits > 15 || (b[digitsFrom] === ZERO && (digits > 1 || c === MINUS))) return false;
        tape?.push(Token.NUMBER, i, j);
        i = j;
      } else if (c === 0x74 /* t */) {
        if (!(b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65)) return false;
        tape?.push(Token.TRUE, i, i + 4);
        i += 4;
      } else if (c === 0x66 /* f */) {
        if (!(b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65)) return false;
        tape?.push(Token.FALSE, i, i + 5);
        i += 5;
      } else if (c === 0x6e /* n */) {
        if (!(b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c)) return false;
        tape?.push(Token.NULL, i, i + 4);
        i += 4;
      } else return false;
      expectValue = false;
      continue;
    }
    // After a value: a comma, or the end of the innermost container, or the end of the text.
    const top = depth - 1;
    if (top < 0) return false; // something after the top-level value
    const open = stack[top]!;
    if (c === COMMA) {
      i++;
      if (open === LBRACE) {
        const k = scanString(b, i, end, true);
        if (k < 0 || k >= end || b[k] !== COLON) return false;
        if (!keyAfter(b, keyStart[top]!, keyEnd[top]!, i, k)) return false;
        tape?.push(Token.KEY, i + 1, k - 1);
        keyStart[top] = i;
        keyEnd[top] = k;
        i = k + 1;
      }
      expectValue = true;
      continue;
    }
    if (c === (open === LBRACE ? RBRACE : RBRACKET)) {
      depth--;
      tape?.close(tokens[depth]!);
      i++;
      continue; // still after a value
    }
    return false;
  }
  return !expectValue && depth === 0;
}

const OPEN = new Int32Array(MAX_NESTING_DEPTH);
const OPEN_TOKEN = new Int32Array(MAX_NESTING_DEPTH);
const KEY_START = new Int32Array(MAX_NESTING_DEPTH);
const KEY_END = new Int32Array(MAX_NESTING_DEPTH);

/** Per byte value, 1 where a string's scan must stop and look: a control character, the quote and the backslash. */
const SPECIAL_IN_STRING = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) SPECIAL_IN_STRING[c] = 1;
SPECIAL_IN_STRING[QUOTE] = 1;
SPECIAL_IN_STRING[BACKSLASH] = 1;
/** The same for a key, which must be ASCII as well. */
const SPECIAL_IN_KEY = SPECIAL_IN_STRING.slice();
SPECIAL_IN_KEY.fill(1, 0x80);

/** Whether the string {@link scanString} last accepted holds an escape. */
let escaped = false;

/**
 * Scans a string token starting at the quote `b[i]`; returns the index after
 * its closing quote, or -1 if it is not in canonical form. A key must be
 * ASCII without escapes (so byte order is JCS's UTF-16 order).
 */
function scanString(b: Uint8Array, i: number, end: number, key: boolean): number {
  if (b[i] !== QUOTE) return -1;
  escaped = false;
  // Bytes that need a closer look: in keys, also every byte of 0x80 or more.
  const special = key ? SPECIAL_IN_KEY : SPECIAL_IN_STRING;
  let j = i + 1;
  while (j < end) {
    const c = b[j]!;
    if (special[c] === 0) {
      j++;
      continue;
    }
    if (c === QUOTE) return j + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      if (key) return -1;
      escaped = true;
      const e = b[j + 1];
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
        continue;
      }
      // \u00xx, lowercase, only for a control character that has no short escape.
      if (e !== 0x75 || b[j + 2] !== ZERO || b[j + 3] !== ZERO) return -1;
      const h = b[j + 4]!;
      const l = b[j + 5]!;
      if (!(h === ZERO || h === 0x31) || !isLowerHex(l)) return -1;
      const code = hexValue(h) * 16 + hexValue(l);
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      j += 6;
      continue;
    }
    if (key && c >= 0x80) return -1;
    j++;
  }
  return -1;
}

/** Whether the key b[s2, e2) sorts strictly after b[s1, e1) (both quoted, ASCII, no escapes). */
function keyAfter(b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  const n1 = e1 - s1 - 2;
  const n2 = e2 - s2 - 2;
  const n = Math.min(n1, n2);
  for (let k = 1; k <= n; k++) {
    const x = b[s1 + k]!;
    const y = b[s2 + k]!;
    if (x !== y) return y > x;
  }
  return n2 > n1;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What can be known of a leaf from its bytes alone (cheap; done off the main thread). */
export const LeafCheck = {
  NOT_UTF8: 0,
  /** Valid UTF-8; the scan did not prove it canonical (the slow path decides). */
  UNPROVEN: 1,
  /** Valid UTF-8, and canonical if it parses as JSON. */
  PROVEN: 2,
} as const;
export type LeafCheck = (typeof LeafCheck)[keyof typeof LeafCheck];

/**
 * UTF-8 validity and the canonical-form scan of `b[start, end)`. Given a
 * tape, a proven leaf's tokens are appended to it (./tape.ts); any other
 * leaf leaves it as it was. `knownUtf8`: the caller has checked bytes that
 * include these (a whole batch: a valid whole cut at ASCII bytes is valid
 * in every piece).
 */
export function precheckLeaf(b: Uint8Array, start = 0, end = b.length, tape?: TapeWriter, knownUtf8 = false): LeafCheck {
  if (!knownUtf8 && !isUtf8(start === 0 && end === b.length ? b : b.subarray(start, end))) return LeafCheck.NOT_UTF8;
  const before = tape?.length ?? 0;
  if (scanCanonical(b, start, end, tape)) return LeafCheck.PROVEN;
  tape?.truncate(before);
  return LeafCheck.UNPROVEN;
}

/**
 * Parses a prechecked leaf and finishes the proof that it is the canonical
 * encoding of what it parses to. Never throws for bad input. (The audit
 * reads a proven leaf from its tape instead, unparsed: see ./tape.ts.)
 */
export function finishLeaf(bytes: Uint8Array, check: LeafCheck, textIfKnown?: string): LeafParse {
  if (check === LeafCheck.NOT_UTF8) return { ok: false, reason: "the leaf bytes are not valid UTF-8" };
  const text = textIfKnown ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "the leaf is not JSON" };
  }
  if (check === LeafCheck.PROVEN) return { ok: true, value };
  // Not proved by the scan: the log core decides.
  let canonical: Uint8Array;
  try {
    canonical = canonicalBytes(value);
  } catch (e) {
    return { ok: false, reason: e instanceof EncodingError ? `the leaf has no canonical form: ${e.message}` : "the leaf has no canonical form" };
  }
  if (!sameBytes(canonical, bytes)) return { ok: false, reason: "the leaf is JSON but not in RFC 8785 canonical form" };
  return { ok: true, value };
}

/**
 * Parses leaf bytes and checks they are the canonical encoding of what they
 * parse to. Never throws for bad input: the reason is returned.
 */
export function parseCanonicalLeaf(bytes: Uint8Array, textIfKnown?: string): LeafParse {
  return finishLeaf(bytes, precheckLeaf(bytes), textIfKnown);
}
