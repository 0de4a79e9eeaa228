/**
 * Ed25519 witness cosignatures, `cosignature/v1` (c2sp.org/tlog-cosignature).
 *
 * - A cosignature is a signed-note signature line on a checkpoint:
 *   `— <cosigner name> base64(key ID ‖ u64 timestamp ‖ Ed25519 signature)`,
 *   the timestamp in POSIX seconds, big-endian.
 * - The signed message is `cosignature/v1\n`, `time <timestamp>\n`, then the
 *   whole checkpoint body (with its final newline, without signature lines).
 * - Key ID = SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]; a cosigner's
 *   verifier key (vkey) is `<name>+<hex8 key ID>+<base64(0x04 ‖ public key)>`.
 *   A cosigner signs with an ordinary note signer key (type 0x01, see
 *   ./note.ts), as golang transparency-dev/formats does, so one key file
 *   format serves both; its cosigner key ID differs from its note key ID.
 *
 * Everything that parses treats its input as attacker-controlled and throws a
 * {@link CheckpointError} with a code. The checks are written once as
 * {@link Steps} and run with node:crypto (sync) or WebCrypto (*Async), as in
 * ./note.ts. Signing is Node-only. No I/O, no clock: the caller passes the time.
 */
import type { KeyObject } from "node:crypto";
import { parseCheckpoint } from "./checkpoint";
import { ed25519PublicKey, ed25519Sign } from "./crypto-node";
import { CheckpointError, type CheckpointErrorCode } from "./errors";
import { equalBytes } from "./hash";
import {
  concatBytes,
  ED25519_KEY_SIZE,
  ED25519_SIGNATURE_SIZE,
  hex8,
  isValidKeyName,
  KEY_ID_SIZE,
  keyIdSteps,
  noteString,
  publicKeySteps,
  signatureSteps,
  SIGNATURE_LINE_PREFIX,
  splitSignedNote,
  toBase64,
  uint32be,
  withNodeKey,
  withWebKey,
  type NoteSigner,
} from "./note";
import { withNodeCrypto, withWebCrypto } from "./perform";
import type { Steps } from "./steps";

/** Key type byte of an Ed25519 cosignature/v1 cosigner (c2sp.org/tlog-cosignature). */
export const COSIGNATURE_V1_TYPE = 0x04;

/** First line of every cosignature/v1 signed message: domain separation. */
export const COSIGNATURE_V1_HEADER = "cosignature/v1\n";

/** Largest timestamp the spec allows, 2^63 − 1; we also need it to be a safe integer (below 2^53). */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;
const TIMESTAMP_SIZE = 8;
/** Bytes of a cosignature/v1 line's base64 field: key ID, timestamp, signature. */
const COSIGNATURE_SIZE = KEY_ID_SIZE + TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE;

const utf8 = new TextEncoder();

function fail(code: CheckpointErrorCode, message: string): never {
  throw new CheckpointError(code, message);
}

/** A parsed cosigner verifier key. Build it with {@link parseCosignerKey}. */
export interface CosignerVerifier {
  readonly name: string;
  /** SHA-256(name ‖ 0x0A ‖ 0x04 ‖ publicKey)[:4], big-endian. */
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly key: KeyObject;
}

/** A parsed cosigner verifier key for WebCrypto. Build it with {@link parseCosignerKeyAsync}. */
export interface WebCosignerVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly key: CryptoKey;
}

/** One cosignature that verified. */
export interface VerifiedCosignature {
  readonly name: string;
  readonly keyId: number;
  /** POSIX seconds at which the cosigner signed. */
  readonly timestamp: number;
  /** The base64 field of the line, as written. */
  readonly base64: string;
}

/** The cosigned text and the cosignatures from the given cosigners that verified. */
export interface CheckedCosignatures {
  readonly text: string;
  /** One per cosigner key, in note order; empty if none of `cosigners` cosigned. */
  readonly cosignatures: readonly VerifiedCosignature[];
}

function isTimestamp(t: unknown): t is number {
  return typeof t === "number" && Number.isSafeInteger(t) && t >= 0 && t <= MAX_TIMESTAMP;
}

/** The cosigner key ID of a 32-byte Ed25519 public key under `name`. */
export function cosignerKeyId(name: string, publicKey: Uint8Array): number {
  if (!isValidKeyName(name)) fail("KEY_INVALID", "key name must be non-empty, without spaces, '+' or control characters");
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_SIZE) fail("KEY_INVALID", "Ed25519 public key must be 32 bytes");
  return withNodeCrypto(keyIdSteps(name, publicKey, COSIGNATURE_V1_TYPE));
}

/** The cosigner vkey `<name>+<hex8 key ID>+<base64(0x04 ‖ publicKey)>`. Throws CheckpointError KEY_INVALID for a bad name or key. */
export function encodeCosignerKey(name: string, publicKey: Uint8Array): string {
  const id = cosignerKeyId(name, publicKey);
  return `${name}+${hex8(id)}+${toBase64(concatBytes(Uint8Array.of(COSIGNATURE_V1_TYPE), publicKey))}`;
}

/** The cosigner vkey that verifies cosignatures made by `signer` (a note signer key from parseSignerKey). */
export function cosignerKeyOf(signer: NoteSigner): string {
  return encodeCosignerKey(signer.name, signer.publicKey);
}

/**
 * Parses a cosigner vkey `<name>+<hex8 key ID>+<base64(0x04 ‖ public key)>`.
 * Only Ed25519 cosignature/v1 (type 0x04) is accepted, and the key ID must
 * match. Throws CheckpointError KEY_INVALID otherwise.
 */
export function parseCosignerKey(vkey: string): CosignerVerifier {
  const { name, keyId, publicKey, key } = withNodeKey(withNodeCrypto(publicKeySteps(vkey, COSIGNATURE_V1_TYPE, "cosigner key")));
  return Object.freeze({ name, keyId, publicKey, key });
}

/** {@link parseCosignerKey} with WebCrypto. Rejects with the same CheckpointError. */
export async function parseCosignerKeyAsync(vkey: string): Promise<WebCosignerVerifier> {
  const { name, keyId, publicKey, key } = await withWebKey(await withWebCrypto(publicKeySteps(vkey, COSIGNATURE_V1_TYPE, "cosigner key")));
  return Object.freeze({ name, keyId, publicKey, key });
}

/**
 * The cosignature/v1 signed message: `cosignature/v1\ntime <timestamp>\n`
 * then the checkpoint body. Requires a timestamp that is a safe non-negative
 * integer (TIMESTAMP_INVALID) and body text that is a valid note text ending
 * in a newline (MALFORMED, ENCODING_INVALID, TOO_LARGE).
 */
export function cosignatureV1Message(timestamp: number, checkpointText: string): Uint8Array {
  if (!isTimestamp(timestamp)) fail("TIMESTAMP_INVALID", "timestamp must be a non-negative safe integer of POSIX seconds");
  const body = noteString(checkpointText, "cosigned text");
  if (!body.endsWith("\n")) fail("MALFORMED", "cosigned text must end with a newline");
  return utf8.encode(`${COSIGNATURE_V1_HEADER}time ${timestamp}\n${body}`);
}

function uint64be(n: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_SIZE);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function readUint64be(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0);
}

/**
 * Cosigns a checkpoint body with `signer` (a note signer key from
 * parseSignerKey) at `timestamp` (POSIX seconds) and returns the cosignature
 * line, ending in a newline. The body must parse as a checkpoint. Throws
 * CheckpointError otherwise; the signature is verified before returning.
 */
export function cosignCheckpoint(checkpointText: string, signer: NoteSigner, timestamp: number): string {
  parseCheckpoint(checkpointText);
  const message = cosignatureV1Message(timestamp, checkpointText);
  if (typeof signer !== "object" || signer === null || !isValidKeyName(signer.name) || !(signer.publicKey instanceof Uint8Array))
    fail("KEY_INVALID", "signer must come from parseSignerKey");
  const keyId = cosignerKeyId(signer.name, signer.publicKey);
  let signature: Uint8Array;
  try {
    signature = ed25519Sign(signer.privateKey, message);
  } catch (cause) {
    throw new CheckpointError("KEY_INVALID", `cosigner ${signer.name} cannot make an Ed25519 signature`, { cause });
  }
  // A hand-built signer whose public key does not match its private key fails here, not at a verifier.
  let ok = false;
  try {
    ok = withNodeCrypto(signatureSteps(ed25519PublicKey(signer.publicKey), message, signature));
  } catch {
    ok = false;
  }
  if (!ok) fail("KEY_INVALID", `cosigner ${signer.name} does not match its public key`);
  return `${SIGNATURE_LINE_PREFIX}${signer.name} ${toBase64(concatBytes(uint32be(keyId), uint64be(timestamp), signature))}\n`;
}

interface AnyCosigner<K> {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  readonly key: K;
}

function* verifyCosignaturesSteps<K>(
  signedNote: string | Uint8Array,
  cosigners: readonly AnyCosigner<K>[],
  notAfter: number | undefined,
): Steps<CheckedCosignatures, K> {
  if (!Array.isArray(cosigners)) fail("KEY_INVALID", "cosigners must be an array");
  if (notAfter !== undefined && !isTimestamp(notAfter)) fail("TIMESTAMP_INVALID", "notAfter must be a non-negative safe integer");
  const known = new Map<string, AnyCosigner<K>>();
  for (const c of cosigners) {
    if (typeof c !== "object" || c === null || !isValidKeyName(c.name) || typeof c.keyId !== "number" || !(c.publicKey instanceof Uint8Array))
      fail("KEY_INVALID", "cosigners must come from parseCosignerKey");
    const id = `${c.name}+${hex8(c.keyId)}`;
    const prior = known.get(id);
    if (prior !== undefined && !equalBytes(prior.publicKey, c.publicKey)) fail("KEY_INVALID", `two different cosigner keys share name and key ID ${id}`);
    known.set(id, c);
  }
  const { text, signatures } = splitSignedNote(signedNote);
  const cosignatures: VerifiedCosignature[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const id = `${sig.name}+${hex8(sig.keyId)}`;
    const cosigner = known.get(id);
    if (cosigner === undefined) continue; // the log's own signature, or a key we do not trust
    // sig.signature is everything after the key ID: timestamp and Ed25519 signature.
    if (sig.signature.length !== COSIGNATURE_SIZE - KEY_ID_SIZE) fail("SIGNATURE_INVALID", `cosignature by ${id} has the wrong length`);
    const ts = readUint64be(sig.signature.subarray(0, TIMESTAMP_SIZE));
    if (ts > BigInt(MAX_TIMESTAMP)) fail("TIMESTAMP_INVALID", `cosignature by ${id} has a timestamp beyond 2^53 - 1`);
    const timestamp = Number(ts);
    if (notAfter !== undefined && timestamp > notAfter) fail("TIMESTAMP_INVALID", `cosignature by ${id} is dated ${timestamp}, after ${notAfter}`);
    const message = cosignatureV1Message(timestamp, text);
    if (!(yield* signatureSteps(cosigner.key, message, sig.signature.subarray(TIMESTAMP_SIZE))))
      fail("SIGNATURE_INVALID", `cosignature by known cosigner ${id} does not verify`);
    if (!seen.has(id)) {
      seen.add(id);
      cosignatures.push({ name: sig.name, keyId: sig.keyId, timestamp, base64: sig.base64 });
    }
  }
  return { text, cosignatures };
}

/**
 * Checks the cosignatures on a signed checkpoint against `cosigners`:
 * - a line whose name and key ID match a cosigner must verify as
 *   cosignature/v1 over the note's text, else the whole note is refused
 *   (SIGNATURE_INVALID), as signed-note verifiers do for a known key;
 * - other lines (the log's signature, unknown witnesses) are ignored;
 * - with `notAfter`, a cosignature dated later is refused (TIMESTAMP_INVALID).
 * Does not check the log's own signature (use verifyCheckpoint) and does not
 * require any cosignature: the result may be empty, and a quorum decides.
 * Throws CheckpointError for a malformed note or bad arguments.
 */
export function verifyCosignatures(
  signedNote: string | Uint8Array,
  cosigners: readonly CosignerVerifier[],
  options: { notAfter?: number } = {},
): CheckedCosignatures {
  return withNodeCrypto(verifyCosignaturesSteps(signedNote, cosigners, options.notAfter));
}

/** {@link verifyCosignatures} with WebCrypto, for cosigners from {@link parseCosignerKeyAsync}. */
export function verifyCosignaturesAsync(
  signedNote: string | Uint8Array,
  cosigners: readonly WebCosignerVerifier[],
  options: { notAfter?: number } = {},
): Promise<CheckedCosignatures> {
  return withWebCrypto(verifyCosignaturesSteps(signedNote, cosigners, options.notAfter));
}
