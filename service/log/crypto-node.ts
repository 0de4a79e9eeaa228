/**
 * The log core's only use of node:crypto: synchronous SHA-256 and Ed25519.
 *
 * This module is the boundary between the pure log code and Node. The
 * browser bundle (scripts/build-web.ts) aliases it to ./crypto-node.browser.ts,
 * whose functions throw, so the portal never pulls in node:crypto: in a
 * browser the *Async functions of the log core run on WebCrypto instead
 * (./crypto-web.ts). Keep this file small and keep both files' exports equal.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes as nodeRandomBytes, sign, verify, type KeyObject } from "node:crypto";
import { assertInvariant } from "./errors";

/** SHA-256 of the concatenated parts. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  // Copy out of the Buffer pool so callers get a plain, unshared Uint8Array.
  return new Uint8Array(h.digest());
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
