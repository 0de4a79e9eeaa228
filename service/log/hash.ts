/**
 * RFC 6962 / RFC 9162 §2.1.1 hashing with SHA-256.
 *
 * leaf  = SHA-256(0x00 ‖ data)
 * node  = SHA-256(0x01 ‖ left ‖ right)
 * empty = SHA-256("")
 *
 * The domain-separation prefixes stop a leaf from being passed off as an
 * interior node (second-preimage attack). Pairs are never sorted: order is
 * what makes consistency proofs possible.
 *
 * The synchronous functions use node:crypto (through ./crypto-node.ts, which
 * the browser bundle replaces); the *Async ones use WebCrypto and run in a
 * browser as well as in Node.
 */
import { sha256Tagged } from "./crypto-node";
import { sha256Async } from "./crypto-web";
import { assertArgument } from "./errors";

export { sha256 } from "./crypto-node";
export { sha256Async } from "./crypto-web";

export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;
export const HASH_SIZE = 32;

const LEAF_PREFIX_BYTES = Uint8Array.of(LEAF_PREFIX);
const NODE_PREFIX_BYTES = Uint8Array.of(NODE_PREFIX);

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const HEX_VALUES = new Map<string, number>();
for (let i = 0; i < 256; i++) {
  HEX_VALUES.set(HEX_PAIRS[i]!, i);
  HEX_VALUES.set(HEX_PAIRS[i]!.toUpperCase(), i);
  HEX_VALUES.set(HEX_PAIRS[i]![0]!.toUpperCase() + HEX_PAIRS[i]![1]!, i);
  HEX_VALUES.set(HEX_PAIRS[i]![0]! + HEX_PAIRS[i]![1]!.toUpperCase(), i);
}

/**
 * The root of the empty tree: SHA-256 of the empty string. A constant, so
 * that loading this module hashes nothing (a browser has no synchronous
 * SHA-256); test/log/async.test.ts checks it against sha256().
 */
export const EMPTY_ROOT: Uint8Array = fromHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

/** MTH({d}) = SHA-256(0x00 ‖ d). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return sha256Tagged(LEAF_PREFIX, data);
}

/** SHA-256(0x01 ‖ left ‖ right). Requires both to be 32 bytes. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertArgument(left.length === HASH_SIZE && right.length === HASH_SIZE, "child hashes must be 32 bytes");
  return sha256Tagged(NODE_PREFIX, left, right);
}

/** {@link hashLeaf} with WebCrypto. */
export function hashLeafAsync(data: Uint8Array): Promise<Uint8Array> {
  return sha256Async(LEAF_PREFIX_BYTES, data);
}

/** {@link hashChildren} with WebCrypto. Requires both to be 32 bytes (LogArgumentError). */
export async function hashChildrenAsync(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  assertArgument(left.length === HASH_SIZE && right.length === HASH_SIZE, "child hashes must be 32 bytes");
  return sha256Async(NODE_PREFIX_BYTES, left, right);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lowercase hex. Table-driven: this runs several times per recorded entry. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX_PAIRS[b[i]!]!;
  return s;
}

/** Parses lowercase or uppercase hex, with an optional 0x prefix. */
export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  assertArgument(h.length % 2 === 0, "invalid hex string");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) {
    const v = HEX_VALUES.get(h.slice(2 * i, 2 * i + 2));
    assertArgument(v !== undefined, "invalid hex string");
    out[i] = v;
  }
  return out;
}
