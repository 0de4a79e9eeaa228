/**
 * The browser twin of ./crypto-node.ts (scripts/build-web.ts aliases one to
 * the other). Browsers have no synchronous SHA-256 or Ed25519, so the
 * synchronous API of the log core throws here; the portal calls the *Async
 * functions, which run on WebCrypto (./crypto-web.ts). Same exports as
 * ./crypto-node.ts, with the key type left opaque.
 */
import { LogArgumentError } from "./errors";

function unavailable(what: string): never {
  throw new LogArgumentError(`${what} needs node:crypto, which a browser does not have: use the log core's *Async functions (WebCrypto)`);
}

type KeyObject = object;

export function sha256(..._parts: Uint8Array[]): Uint8Array {
  return unavailable("synchronous SHA-256");
}

export function sha256Tagged(_tag: number, _a: Uint8Array, _b?: Uint8Array): Uint8Array {
  return unavailable("synchronous SHA-256");
}

export function ed25519PublicKey(_raw: Uint8Array): KeyObject {
  return unavailable("a synchronous Ed25519 key");
}

export function ed25519KeyPairFromSeed(_seed: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  return unavailable("Ed25519 signing");
}

export function ed25519Sign(_privateKey: KeyObject, _message: Uint8Array): Uint8Array {
  return unavailable("Ed25519 signing");
}

export function ed25519Verify(_key: KeyObject, _message: Uint8Array, _signature: Uint8Array): boolean {
  return unavailable("synchronous Ed25519 verification");
}

export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}
