/**
 * C2SP signed notes (c2sp.org/signed-note@v1) with Ed25519 keys in the
 * golang.org/x/mod/sumdb/note string format.
 *
 * - A signed note is its text (ending in a newline), a blank line, then one or
 *   more lines `— <key name> <base64(4-byte key ID ‖ signature)>`.
 * - Verifier key `<name>+<hex8 key ID>+<base64(0x01 ‖ public key)>`, signer
 *   key `PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 ‖ seed)>`, key ID =
 *   SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian.
 *
 * Everything that parses (notes, key strings) treats its input as
 * attacker-controlled: any malformed input throws a {@link CheckpointError}
 * with a code, never a stray TypeError or RangeError. Keys are passed in,
 * never read from files; nothing here does I/O or reads a clock.
 *
 * The cryptographic checks (key IDs, signatures) are written once as
 * generators of {@link Step}s (./steps.ts): the synchronous functions run them
 * with node:crypto, the *Async ones (openNoteAsync, parseVerifierKeyAsync,
 * ed25519KeyIdAsync) with WebCrypto, for the browser, with the same results
 * and errors. Signing and key generation are Node-only.
 *
 * The checkpoint body that goes inside a note is ./checkpoint.ts. Exports
 * marked "within the log core" are for that module and are not re-exported
 * from ./index.ts.
 */
import type { KeyObject } from "node:crypto";
import { ed25519KeyPairFromSeed, ed25519PublicKey, ed25519Sign, ed25519Verify as nodeEd25519Verify, randomBytes } from "./crypto-node";
import { importEd25519PublicKey } from "./crypto-web";
import { CheckpointError, type CheckpointErrorCode } from "./errors";
import { equalBytes } from "./hash";
import { withNodeCrypto, withWebCrypto } from "./perform";
import type { Steps } from "./steps";

/**
 * Largest signed note (text and signatures, in UTF-8 bytes) we parse or emit.
 * The signed-note spec asks verifiers to accept at least 16 signatures and
 * warns that post-quantum ones approach 5 kB; 1 MiB leaves room for
 * {@link MAX_SIGNATURES} of those while bounding the work an attacker can cause.
 */
export const MAX_NOTE_SIZE = 1 << 20;

/** Most signature lines a note may carry, counting duplicates and unknown keys (as golang.org/x/mod/sumdb/note). */
export const MAX_SIGNATURES = 100;

/** Signature type identifier byte for Ed25519 (c2sp.org/signed-note). */
export const ED25519_SIGNATURE_TYPE = 0x01;

/** Prefix of every signature line: EM DASH (U+2014), SPACE. */
export const SIGNATURE_LINE_PREFIX = "\u2014 ";

/** How every signer key string starts. Within the log core. */
export const SIGNER_KEY_PREFIX = "PRIVATE+KEY+";
// Sizes, within the log core.
export const ED25519_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;
export const KEY_ID_SIZE = 4;
/** Longest key string parsed; real ones are well under 200 characters. */
export const MAX_KEY_STRING = 4096;

const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as text, so decoding never changes which bytes are signed.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** ASCII control characters other than newline: signed notes must not contain them (this also rules out CR). */
const CONTROL_CHAR = /[\u0000-\u0009\u000B-\u001F]/;
/** Unicode White_Space: exactly the characters Go's unicode.IsSpace reports, which sumdb/note forbids in key names. */
const UNICODE_SPACE = /\p{White_Space}/u;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX8 = /^[0-9a-fA-F]{8}$/;

// ---------------------------------------------------------------------------
// ---------------------------------------------------------------------------
// Types

/** A parsed Ed25519 verifier key. Build it with {@link parseVerifierKey}. */
export interface NoteVerifier {
  readonly name: string;
  /** uint32 key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ publicKey)[:4], big-endian. */
  readonly keyId: number;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The same key as a node:crypto KeyObject. */
  readonly key: KeyObject;
}

/** A parsed Ed25519 verifier key for WebCrypto. Build it with {@link parseVerifierKeyAsync}. */
export interface WebNoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  /** The same key as a WebCrypto CryptoKey (usage: verify). */
  readonly key: CryptoKey;
}

/** A parsed Ed25519 signer key. Build it with {@link parseSignerKey}. Holds private key material. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** Raw 32-byte Ed25519 public key derived from the seed. */
  readonly publicKey: Uint8Array;
  /** The private key as a node:crypto KeyObject. */
  readonly privateKey: KeyObject;
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The base64 field of the line, as written: base64(key ID ‖ signature). */
  readonly base64: string;
}

/** A note whose signatures have been checked. */
export interface OpenedNote {
  /** The signed text, including its final newline but not the separating blank line. */
  readonly text: string;
  /** Signatures from the given verifiers, all verified; one per key, in note order; never empty. */
  readonly signatures: readonly NoteSignature[];
  /** Signatures from keys not among the verifiers: ignored, not verified; identical lines listed once. */
  readonly unverifiedSignatures: readonly NoteSignature[];
}

// ---------------------------------------------------------------------------
// Small helpers

function fail(code: CheckpointErrorCode, message: string): never {
  throw new CheckpointError(code, message);
}

const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALUES = new Map<string, number>([...B64_ALPHABET].map((c, i) => [c, i]));

/** Standard padded base64 (RFC 4648 §4). Plain code, not Buffer, so it runs in a browser too. Within the log core. */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64_ALPHABET[n >>> 18]! + B64_ALPHABET[(n >>> 12) & 63]! + B64_ALPHABET[(n >>> 6) & 63]! + B64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64_ALPHABET[n >>> 18]! + B64_ALPHABET[(n >>> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64_ALPHABET[n >>> 18]! + B64_ALPHABET[(n >>> 12) & 63]! + B64_ALPHABET[(n >>> 6) & 63]! + "=";
  }
  return out;
}

/**
 * Strict standard base64: alphabet, padding and zero trailing bits are all
 * checked, so each byte string has exactly one accepted encoding.
 * (A lenient decoder would skip junk and accept URL-safe input.) Within the log core.
 */
export function fromBase64(s: string): Uint8Array | undefined {
  if (!BASE64.test(s)) return undefined;
  const body = s.replace(/=+$/, "");
  const bytes = new Uint8Array(Math.floor((body.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const c of body) {
    acc = ((acc << 6) | B64_VALUES.get(c)!) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (acc >>> bits) & 0xff;
    }
  }
  // Re-encoding catches non-zero trailing bits ("AB==" is not canonical for [0x00]).
  return toBase64(bytes) === s ? bytes : undefined;
}

/** Concatenation of byte strings. Within the log core. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A uint32 as 4 big-endian bytes. Within the log core. */
export function uint32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** The big-endian uint32 at the start of `b` (at least 4 bytes). Within the log core. */
export function readUint32be(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

/** A key ID as 8 lowercase hex digits. Within the log core. */
export function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** Go's strings.Cut-like split (within the log core) at the first `sep`; `after` is "" when `sep` is absent. */
export function chop(s: string, sep: string): [before: string, after: string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + sep.length)];
}

function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** Whether `s` can be one line of note text: non-empty, no newline, no control character, valid Unicode. Within the log core. */
export function isNoteLine(s: unknown): s is string {
  return typeof s === "string" && s !== "" && !s.includes("\n") && !CONTROL_CHAR.test(s) && !hasLoneSurrogate(s);
}

/**
 * Whether `name` is a valid key name: non-empty, valid Unicode, no Unicode
 * space, no '+'. Control characters are refused too, since no note may carry them.
 */
export function isValidKeyName(name: unknown): name is string {
  return (
    typeof name === "string" &&
    name !== "" &&
    !hasLoneSurrogate(name) &&
    !UNICODE_SPACE.test(name) &&
    !name.includes("+") &&
    !CONTROL_CHAR.test(name)
  );
}

/** SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4] as a big-endian uint32: the key ID of signed-note and tlog-cosignature. Within the log core. */
export function* keyIdSteps(name: string, publicKey: Uint8Array, type = ED25519_SIGNATURE_TYPE): Steps<number, never> {
  const digest = (yield { op: "sha256", parts: [utf8.encode(name), Uint8Array.of(0x0a, type), publicKey] }) as Uint8Array;
  return readUint32be(digest.subarray(0, KEY_ID_SIZE));
}

/** The Ed25519 key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ publicKey)[:4] as a big-endian uint32. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  return withNodeCrypto(keyIdSteps(name, publicKey));
}

/** {@link ed25519KeyId} with WebCrypto. */
export function ed25519KeyIdAsync(name: string, publicKey: Uint8Array): Promise<number> {
  return withWebCrypto(keyIdSteps(name, publicKey));
}

/** Ed25519 verification as a step (within the log core): false, without asking, for a signature of the wrong length. */
export function* signatureSteps<K>(key: K, message: Uint8Array, signature: Uint8Array): Steps<boolean, K> {
  if (signature.length !== ED25519_SIGNATURE_SIZE) return false;
  return (yield { op: "ed25519", key, message, signature }) as boolean;
}

/** Ed25519 verification with node:crypto that answers false, never throws, for a malformed signature. */
function ed25519Verify(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  return withNodeCrypto(signatureSteps(key, message, signature));
}

/**
 * Validates note input and returns it as a string. Accepts a string (must be
 * well-formed UTF-16) or UTF-8 bytes (must be valid UTF-8). Either way it must
 * fit {@link MAX_NOTE_SIZE} and hold no ASCII control character but newline.
 * Within the log core.
 */
export function noteString(input: unknown, what: string): string {
  let text: string;
  if (typeof input === "string") {
    // UTF-8 is never shorter than the UTF-16 code unit count, so this bound is safe.
    if (input.length > MAX_NOTE_SIZE) fail("TOO_LARGE", `${what} exceeds ${MAX_NOTE_SIZE} bytes`);
    if (hasLoneSurrogate(input)) fail("ENCODING_INVALID", `${what} is not valid Unicode (lone surrogate)`);
    text = input;
    if (utf8.encode(text).length > MAX_NOTE_SIZE) fail("TOO_LARGE", `${what} exceeds ${MAX_NOTE_SIZE} bytes`);
  } else if (input instanceof Uint8Array) {
    if (input.length > MAX_NOTE_SIZE) fail("TOO_LARGE", `${what} exceeds ${MAX_NOTE_SIZE} bytes`);
    try {
      text = utf8Strict.decode(input);
    } catch {
      fail("ENCODING_INVALID", `${what} is not valid UTF-8`);
    }
  } else {
    fail("MALFORMED", `${what} must be a string or UTF-8 bytes`);
  }
  if (CONTROL_CHAR.test(text)) fail("ENCODING_INVALID", `${what} contains an ASCII control character other than newline`);
  return text;
}

// ---------------------------------------------------------------------------
// Keys

/**
 * Encodes a verifier key string `<name>+<hex8 key ID>+<base64(0x01 ‖ publicKey)>`
 * for a raw 32-byte Ed25519 public key. Throws CheckpointError KEY_INVALID for
 * an invalid name or a key of the wrong length.
 */
export function encodeVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) fail("KEY_INVALID", "key name must be non-empty, without spaces, '+' or control characters");
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_SIZE) fail("KEY_INVALID", "Ed25519 public key must be 32 bytes");
  const id = ed25519KeyId(name, publicKey);
  return `${name}+${hex8(id)}+${toBase64(concatBytes(Uint8Array.of(ED25519_SIGNATURE_TYPE), publicKey))}`;
}

/**
 * The signer and verifier key strings for a 32-byte Ed25519 seed (the RFC 8032
 * private key). Deterministic; {@link generateNoteKey} calls it with a random seed.
 * Throws CheckpointError KEY_INVALID for an invalid name or seed.
 */
export function noteKeyFromSeed(name: string, seed: Uint8Array): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) fail("KEY_INVALID", "key name must be non-empty, without spaces, '+' or control characters");
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_KEY_SIZE) fail("KEY_INVALID", "Ed25519 seed must be 32 bytes");
  const { publicKey } = ed25519KeyPairFromSeed(seed);
  const id = ed25519KeyId(name, publicKey);
  return {
    signerKey: `${SIGNER_KEY_PREFIX}${name}+${hex8(id)}+${toBase64(concatBytes(Uint8Array.of(ED25519_SIGNATURE_TYPE), seed))}`,
    verifierKey: encodeVerifierKey(name, publicKey),
  };
}

/**
 * A fresh Ed25519 note key pair named `name`. The signer key is secret.
 * Throws CheckpointError KEY_INVALID for an invalid name.
 */
export function generateNoteKey(name: string): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) fail("KEY_INVALID", "key name must be non-empty, without spaces, '+' or control characters");
  return noteKeyFromSeed(name, randomBytes(ED25519_KEY_SIZE));
}

/**
 * Splits `<hex8>+<base64(type ‖ 32 bytes)>` into key ID and raw key; undefined
 * if malformed or of another type byte. Within the log core.
 */
export function parseKeyIdAndKey(rest: string, type = ED25519_SIGNATURE_TYPE): { keyId: number; raw: Uint8Array } | undefined {
  const [idHex, keyB64] = chop(rest, "+");
  if (!HEX8.test(idHex)) return undefined;
  const key = fromBase64(keyB64);
  if (key === undefined || key.length !== 1 + ED25519_KEY_SIZE || key[0] !== type) return undefined;
  return { keyId: parseInt(idHex, 16), raw: key.slice(1) };
}

/** A parsed Ed25519 public key string: its name, key ID and raw key. */
interface ParsedKey {
  readonly name: string;
  readonly keyId: number;
  readonly raw: Uint8Array;
}

/**
 * The checks of a public key string `<name>+<hex8 key ID>+<base64(type ‖ key)>`
 * of signature `type` (0x01 note signatures, 0x04 cosignature/v1), up to
 * (not including) making a key object of it. `what` names the key in errors.
 * Within the log core.
 */
export function* publicKeySteps(vkey: string, type: number, what: string): Steps<ParsedKey, never> {
  if (typeof vkey !== "string" || vkey.length > MAX_KEY_STRING) fail("KEY_INVALID", `${what} must be a short string`);
  const [name, rest] = chop(vkey, "+");
  const parsed = parseKeyIdAndKey(rest, type);
  if (!isValidKeyName(name) || parsed === undefined)
    fail("KEY_INVALID", `malformed ${what} (want <name>+<hex8 key ID>+<base64 of 0x0${type} and a 32-byte Ed25519 key>)`);
  if ((yield* keyIdSteps(name, parsed.raw, type)) !== parsed.keyId) fail("KEY_INVALID", `${what} ID does not match its name and public key`);
  return { name, keyId: parsed.keyId, raw: parsed.raw };
}

/** A parsed key with a node:crypto key object. Throws CheckpointError KEY_INVALID for a key Ed25519 refuses. Within the log core. */
export function withNodeKey(p: ParsedKey): ParsedKey & { readonly publicKey: Uint8Array; readonly key: KeyObject } {
  let key: KeyObject;
  try {
    key = ed25519PublicKey(p.raw);
  } catch (cause) {
    throw new CheckpointError("KEY_INVALID", "not a usable Ed25519 public key", { cause });
  }
  return Object.freeze({ name: p.name, keyId: p.keyId, raw: p.raw, publicKey: p.raw, key });
}

/** {@link withNodeKey} with WebCrypto. Within the log core. */
export async function withWebKey(p: ParsedKey): Promise<ParsedKey & { readonly publicKey: Uint8Array; readonly key: CryptoKey }> {
  let key: CryptoKey;
  try {
    key = await importEd25519PublicKey(p.raw);
  } catch (cause) {
    throw new CheckpointError("KEY_INVALID", "not a usable Ed25519 public key", { cause });
  }
  return Object.freeze({ name: p.name, keyId: p.keyId, raw: p.raw, publicKey: p.raw, key });
}

/**
 * Parses a verifier key string `<name>+<hex8 key ID>+<base64(0x01 ‖ public key)>`.
 * The key ID must match the name and key. Only Ed25519 (type 0x01) is accepted.
 * Throws CheckpointError KEY_INVALID for anything else.
 */
export function parseVerifierKey(verifierKey: string): NoteVerifier {
  const { name, keyId, publicKey, key } = withNodeKey(withNodeCrypto(publicKeySteps(verifierKey, ED25519_SIGNATURE_TYPE, "verifier key")));
  return Object.freeze({ name, keyId, publicKey, key });
}

/** {@link parseVerifierKey} with WebCrypto: the key becomes a CryptoKey. Rejects with the same CheckpointError. */
export async function parseVerifierKeyAsync(verifierKey: string): Promise<WebNoteVerifier> {
  const { name, keyId, publicKey, key } = await withWebKey(await withWebCrypto(publicKeySteps(verifierKey, ED25519_SIGNATURE_TYPE, "verifier key")));
  return Object.freeze({ name, keyId, publicKey, key });
}

/**
 * Parses a signer key string `PRIVATE+KEY+<name>+<hex8 key ID>+<base64(0x01 ‖ seed)>`.
 * The key ID must match the name and the public key derived from the seed.
 * Throws CheckpointError KEY_INVALID otherwise; the message never echoes key material.
 */
export function parseSignerKey(signerKey: string): NoteSigner {
  if (typeof signerKey !== "string" || signerKey.length > MAX_KEY_STRING) fail("KEY_INVALID", "signer key must be a short string");
  if (!signerKey.startsWith(SIGNER_KEY_PREFIX)) fail("KEY_INVALID", `signer key must start with ${SIGNER_KEY_PREFIX}`);
  const [name, rest] = chop(signerKey.slice(SIGNER_KEY_PREFIX.length), "+");
  const parsed = parseKeyIdAndKey(rest);
  if (!isValidKeyName(name) || parsed === undefined) fail("KEY_INVALID", "malformed signer key (want PRIVATE+KEY+<name>+<hex8 key ID>+<base64 of 0x01 and a 32-byte seed>)");
  let pair: { privateKey: KeyObject; publicKey: Uint8Array };
  try {
    pair = ed25519KeyPairFromSeed(parsed.raw);
  } catch (cause) {
    throw new CheckpointError("KEY_INVALID", "not a usable Ed25519 seed", { cause });
  }
  // The key ID commits to the public key, which we only have after deriving it.
  if (ed25519KeyId(name, pair.publicKey) !== parsed.keyId) fail("KEY_INVALID", "signer key ID does not match its name and derived public key");
  return Object.freeze({ name, keyId: parsed.keyId, publicKey: pair.publicKey, privateKey: pair.privateKey });
}

// ---------------------------------------------------------------------------
// Signed notes

function idOf(name: string, keyId: number): string {
  return `${name}+${hex8(keyId)}`;
}

function asList<T>(x: T | readonly T[]): readonly T[] {
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

/** Node verifiers: made by parseVerifierKey (a KeyObject). */
function isVerifier(v: unknown): v is NoteVerifier {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Partial<NoteVerifier>;
  return isValidKeyName(o.name) && typeof o.keyId === "number" && o.publicKey instanceof Uint8Array && typeof o.key === "object" && o.key !== null;
}

/** WebCrypto verifiers: made by parseVerifierKeyAsync (a CryptoKey). */
function isWebVerifier(v: unknown): v is WebNoteVerifier {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Partial<WebNoteVerifier>;
  return isValidKeyName(o.name) && typeof o.keyId === "number" && o.publicKey instanceof Uint8Array && typeof CryptoKey === "function" && o.key instanceof CryptoKey;
}

/** What the note checks need of a verifier, whichever crypto runs them. Within the log core. */
export interface AnyVerifier<K> {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly key: K;
}

/** How verifiers of one kind are recognised, and named in errors. Within the log core. */
export interface VerifierKind<V> {
  readonly is: (v: unknown) => v is V;
  readonly parser: string;
}

export const NODE_VERIFIERS: VerifierKind<NoteVerifier> = { is: isVerifier, parser: "parseVerifierKey" };
export const WEB_VERIFIERS: VerifierKind<WebNoteVerifier> = { is: isWebVerifier, parser: "parseVerifierKeyAsync" };

function isSigner(s: unknown): s is NoteSigner {
  if (typeof s !== "object" || s === null) return false;
  const o = s as Partial<NoteSigner>;
  return isValidKeyName(o.name) && typeof o.keyId === "number" && o.publicKey instanceof Uint8Array && typeof o.privateKey === "object" && o.privateKey !== null;
}

/** Indexes verifiers by (name, key ID). The same key listed twice is fine; two different keys under one (name, key ID) are refused. */
function indexVerifiers<K, V extends AnyVerifier<K>>(verifiers: V | readonly V[], kind: VerifierKind<V>): Map<string, V> {
  const map = new Map<string, V>();
  for (const v of asList(verifiers)) {
    if (!kind.is(v)) fail("KEY_INVALID", `verifiers must come from ${kind.parser}`);
    const id = idOf(v.name, v.keyId);
    const prior = map.get(id);
    if (prior !== undefined && !equalBytes(prior.publicKey, v.publicKey)) fail("KEY_INVALID", `two different verifier keys share name and key ID ${id}`);
    map.set(id, v);
  }
  return map;
}

/** One signature line, parsed but not verified. Within the log core. */
export interface ParsedSignatureLine {
  readonly line: string;
  readonly name: string;
  readonly keyId: number;
  readonly base64: string;
  readonly signature: Uint8Array;
}

/** Parses one `— <name> <base64(key ID ‖ signature)>` line (without its newline). Within the log core. */
export function parseSignatureLine(line: string): ParsedSignatureLine {
  if (!line.startsWith(SIGNATURE_LINE_PREFIX)) fail("SIGNATURE_MALFORMED", "a line in the signature block does not start with an em dash and a space");
  const [name, b64] = chop(line.slice(SIGNATURE_LINE_PREFIX.length), " ");
  if (!isValidKeyName(name)) fail("SIGNATURE_MALFORMED", "signature line has an invalid key name");
  const raw = fromBase64(b64);
  // Key ID plus at least one byte of signature, as golang.org/x/mod/sumdb/note.
  if (raw === undefined || raw.length <= KEY_ID_SIZE) fail("SIGNATURE_MALFORMED", "signature is not base64 of a key ID and a signature");
  return { line, name, keyId: readUint32be(raw), base64: b64, signature: raw.slice(KEY_ID_SIZE) };
}

/** The text checks shared by signing: valid note text, ending in a newline. */
function noteText(text: unknown): string {
  if (typeof text !== "string") fail("MALFORMED", "note text must be a string");
  const checked = noteString(text, "note text");
  if (!checked.endsWith("\n")) fail("MALFORMED", "note text must end with a newline");
  return checked;
}

/**
 * Opens a signed note and checks its signatures against `verifiers`
 * (c2sp.org/signed-note):
 * - a signature whose key name and key ID both match a verifier is verified,
 *   and if any such signature fails the whole note is rejected
 *   (SIGNATURE_INVALID), even when another one verifies;
 * - signatures from other keys are ignored and listed as unverified;
 * - at least one signature from `verifiers` must verify, else SIGNATURE_MISSING.
 * A known key's repeated signature is verified but reported once.
 *
 * Throws CheckpointError: MALFORMED, ENCODING_INVALID or TOO_LARGE (more
 * than {@link MAX_SIGNATURES} signature lines or {@link MAX_NOTE_SIZE} bytes)
 * for the note's shape, SIGNATURE_MALFORMED for a bad signature line,
 * KEY_INVALID for a bad `verifiers` argument.
 */
export function openNote(signedNote: string | Uint8Array, verifiers: NoteVerifier | readonly NoteVerifier[]): OpenedNote {
  return withNodeCrypto(openNoteSteps(signedNote, verifiers, NODE_VERIFIERS));
}

/** {@link openNote} with WebCrypto, for verifiers from {@link parseVerifierKeyAsync}. Rejects with the same CheckpointError. */
export function openNoteAsync(signedNote: string | Uint8Array, verifiers: WebNoteVerifier | readonly WebNoteVerifier[]): Promise<OpenedNote> {
  return withWebCrypto(openNoteSteps(signedNote, verifiers, WEB_VERIFIERS));
}

/** The checks of {@link openNote} as steps, for either crypto. Within the log core. */
export function* openNoteSteps<K, V extends AnyVerifier<K>>(signedNote: string | Uint8Array, verifiers: V | readonly V[], kind: VerifierKind<V>): Steps<OpenedNote, K> {
  const known = indexVerifiers<K, V>(verifiers, kind);
  const { text, signatures: parsed } = splitSignedNote(signedNote);

  const message = utf8.encode(text);
  const signatures: NoteSignature[] = [];
  const unverifiedSignatures: NoteSignature[] = [];
  const verifiedIds = new Set<string>();
  const seenLines = new Set<string>();
  for (const sig of parsed) {
    const repeat = seenLines.has(sig.line);
    seenLines.add(sig.line);
    if (repeat) continue; // an identical line has been handled already
    const entry: NoteSignature = { name: sig.name, keyId: sig.keyId, base64: sig.base64 };
    const id = idOf(sig.name, sig.keyId);
    const verifier = known.get(id);
    if (verifier === undefined) {
      unverifiedSignatures.push(entry);
      continue;
    }
    if (!(yield* signatureSteps(verifier.key, message, sig.signature))) fail("SIGNATURE_INVALID", `signature by known key ${id} does not verify`);
    if (!verifiedIds.has(id)) {
      verifiedIds.add(id);
      signatures.push(entry);
    }
  }
  if (signatures.length === 0) fail("SIGNATURE_MISSING", "no signature from a known key");
  return { text, signatures, unverifiedSignatures };
}

/**
 * Splits a signed note into its text (to the last blank line, with its final
 * newline) and its parsed signature lines, checking nothing cryptographic.
 * Throws CheckpointError MALFORMED, ENCODING_INVALID, TOO_LARGE or
 * SIGNATURE_MALFORMED, as {@link openNote} does. Within the log core.
 */
export function splitSignedNote(signedNote: string | Uint8Array): { text: string; signatures: ParsedSignatureLine[] } {
  const msg = noteString(signedNote, "signed note");
  // The text runs to the last blank line; signatures follow it.
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) fail("MALFORMED", "signed note has no blank line before its signatures");
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block === "") fail("MALFORMED", "signed note has no signatures");
  if (!block.endsWith("\n")) fail("MALFORMED", "signed note must end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) fail("TOO_LARGE", `signed note has ${lines.length} signatures, more than ${MAX_SIGNATURES}`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

/** Whether `signature` verifies under the signer's own public key, and its key ID commits to that key. */
function signatureMatches(s: NoteSigner, message: Uint8Array, signature: Uint8Array): boolean {
  if (s.publicKey.length !== ED25519_KEY_SIZE || ed25519KeyId(s.name, s.publicKey) !== s.keyId) return false;
  let key: KeyObject;
  try {
    key = ed25519PublicKey(s.publicKey);
  } catch {
    return false;
  }
  return ed25519Verify(key, message, signature);
}

/**
 * Signs `text` with each of `signers` and returns the signed note: the text,
 * a blank line, one signature line per signer in the order given.
 *
 * Requires note text that ends in a newline, is well-formed Unicode, holds no
 * ASCII control character but newline (so no CR) and, with its signatures,
 * fits {@link MAX_NOTE_SIZE}; and one to {@link MAX_SIGNATURES} signers with
 * distinct (name, key ID). The text may contain blank lines (the signed-note
 * spec allows them; the signatures start after the last one). Throws
 * CheckpointError otherwise. Each signature is verified before returning.
 */
export function signNote(text: string, signers: NoteSigner | readonly NoteSigner[]): string {
  const body = noteText(text);
  const list = asList(signers);
  if (list.length === 0) fail("SIGNATURE_MISSING", "at least one signer is required");
  if (list.length > MAX_SIGNATURES) fail("TOO_LARGE", `more than ${MAX_SIGNATURES} signers`);
  const ids = new Set<string>();
  for (const s of list) {
    if (!isSigner(s)) fail("KEY_INVALID", "signers must come from parseSignerKey");
    const id = idOf(s.name, s.keyId);
    if (ids.has(id)) fail("KEY_INVALID", `signer ${id} is listed twice`);
    ids.add(id);
  }

  const message = utf8.encode(body);
  let out = body + "\n";
  for (const s of list) {
    let signature: Uint8Array;
    try {
      signature = ed25519Sign(s.privateKey, message);
    } catch (cause) {
      throw new CheckpointError("KEY_INVALID", `signer ${idOf(s.name, s.keyId)} cannot make an Ed25519 signature`, { cause });
    }
    // Check our own output: a hand-built signer whose key ID or public key does
    // not match its private key fails here, not later at a verifier.
    if (!signatureMatches(s, message, signature)) fail("KEY_INVALID", `signer ${idOf(s.name, s.keyId)} does not match its public key`);
    out += `${SIGNATURE_LINE_PREFIX}${s.name} ${toBase64(concatBytes(uint32be(s.keyId), signature))}\n`;
  }
  if (utf8.encode(out).length > MAX_NOTE_SIZE) fail("TOO_LARGE", `signed note would exceed ${MAX_NOTE_SIZE} bytes`);
  return out;
}

// ---------------------------------------------------------------------------
