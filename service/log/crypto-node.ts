/**
 * The log core's only use of node:crypto: synchronous SHA-256 and Ed25519.
 *
 * This module is the boundary between the pure log code and Node. The
 * browser bundle (scripts/build-web.ts) aliases it to ./crypto-node.browser.ts,
 * whose functions throw, so the portal never pulls in node:crypto: in a
 * browser the *Async functions of the log core run on WebCrypto instead
 * (./crypto-web.ts). Keep this file small and keep both files' exports equal.
 */
import * as nodeCrypto from "node:crypto";
import { createHash, createPrivateKey, createPublicKey, randomBytes as nodeRandomBytes, sign, verify, type KeyObject } from "node:crypto";
import { assertInvariant } from "./errors";

/**
 * node:crypto's one-shot digest (Node >= 20.12): cheaper per call than
 * createHash/update/digest, whose per-call cost dominates hashing the short
 * inputs of a Merkle tree (an audit hashes two per entry).
 */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: "buffer") => Buffer }).hash;

/** Parts up to this size in all are copied into one buffer and hashed in one call. */
const ONE_SHOT_MAX = 64 * 1024;
let scratch = new Uint8Array(1024);
/** A node's input, 0x01 ‖ left ‖ right, is always this long: its view of the scratch buffer is kept. */
const NODE_INPUT = 65;
let nodeView = scratch.subarray(0, NODE_INPUT);

function grow(n: number): void {
  scratch = new Uint8Array(Math.min(ONE_SHOT_MAX, Math.max(n, scratch.length * 2)));
  nodeView = scratch.subarray(0, NODE_INPUT);
}

/** SHA-256 of the concatenated parts. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  if (oneShot === undefined || n > ONE_SHOT_MAX) {
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    // Copy out of the Buffer pool so callers get a plain, unshared Uint8Array.
    return new Uint8Array(h.digest());
  }
  if (n > scratch.length) grow(n);
  let at = 0;
  for (const p of parts) {
    scratch.set(p, at);
    at += p.length;
  }
  // The digest comes back in a Buffer of its own (not the pool's), 32 bytes.
  const d = oneShot("sha256", scratch.subarray(0, n), "buffer");
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * SHA-256(tag ‖ a ‖ b): the leaf and node hashes of the tree, the hottest
 * calls of an audit, without {@link sha256}'s argument list.
 */
export function sha256Tagged(tag: number, a: Uint8Array, b?: Uint8Array): Uint8Array {
  const n = 1 + a.length + (b === undefined ? 0 : b.length);
  if (oneShot === undefined || n > ONE_SHOT_MAX) return b === undefined ? sha256(Uint8Array.of(tag), a) : sha256(Uint8Array.of(tag), a, b);
  if (n > scratch.length) grow(n);
  scratch[0] = tag;
  scratch.set(a, 1);
  if (b !== undefined) scratch.set(b, 1 + a.length);
  const d = oneShot("sha256", n === NODE_INPUT ? nodeView : scratch.subarray(0, n), "buffer");
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

// DER prefixes that wrap a raw 32-byte Ed25519 key (RFC 8410): PKCS#8 for the
// seed, SubjectPublicKeyInfo for the public key. node:crypto has no raw import.
const PKCS8_ED25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const SPKI_ED25519_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
const ED25519_KEY_SIZE = 32;

function withPrefix(prefix: Uint8Array, raw: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + raw.length);
  out.set(prefix, 0);
  out.set(raw, prefix.length);
  return out;
}

/** A raw 32-byte Ed25519 public key as a KeyObject. Throws if node:crypto refuses it. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: withPrefix(SPKI_ED25519_PREFIX, raw), format: "der", type: "spki" });
}

/** Wraps a 32-byte seed as a private KeyObject and derives the raw public key. Throws if node:crypto refuses it. */
export function ed25519KeyPairFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  const privateKey = createPrivateKey({ key: withPrefix(PKCS8_ED25519_PREFIX, seed), format: "der", type: "pkcs8" });
  const spki = new Uint8Array(createPublicKey(privateKey).export({ format: "der", type: "spki" }));
  assertInvariant(
    spki.length === SPKI_ED25519_PREFIX.length + ED25519_KEY_SIZE && SPKI_ED25519_PREFIX.every((b, i) => spki[i] === b),
    "node:crypto exported an unexpected Ed25519 SubjectPublicKeyInfo",
  );
  return { privateKey, publicKey: spki.slice(SPKI_ED25519_PREFIX.length) };
}

/** An Ed25519 signature of `message`. Throws if the key cannot sign. */
export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKey));
}

/** Ed25519 verification that answers false, never throws. */
export function ed25519Verify(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** `n` bytes from the CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}
