/**
 * The LevelDB layout of {@link LevelStore} (./level.ts): how each table's
 * keys and its fixed-layout values are encoded. Pure functions, no I/O.
 *
 * Every key starts with a one-byte table tag, so each table is a contiguous,
 * ordered key range. `u64` is an 8-byte big-endian unsigned integer (so byte
 * order is numeric order), `str` is UTF-8, `u8`/`u16` are big-endian length
 * prefixes.
 *
 *   tag   key after the tag                          value
 *   0x01  "head"                                     u64 size ‖ compact range hashes (32 bytes each, left to right)
 *   0x02  u8 level ‖ u64 index                       32-byte node hash (level 0 = leaf hashes)
 *   0x03  u64 leaf index                             u16 len ‖ id ‖ u16 len ‖ recordedAt ‖ leaf bytes (the rest)
 *   0x04  str entry id                               u64 leaf index
 *   0x05  str state key                              JSON state doc
 *   0x06  u8 len ‖ name ‖ u16 len ‖ value ‖ u64 idx  empty (secondary index, scanned in order)
 *   0x07  str entry id                               JSON openings
 *   0x08  str scoped idempotency key                 JSON idempotency record
 *   0x09  str createdAt ‖ 0x00 ‖ str scoped key      empty (expiry order)
 *   0x0a  str token hash                             JSON token record
 *   0x0b  u64 tile index                             the 510 hashes of levels 0–7 of a complete tile (service/format/tiles.ts)
 *   0x0c  str application entry id                   JSON number: its access-code generation
 *
 * The length prefixes in 0x06 keep (name, value) pairs apart: ("enterprise",
 * "91") never scans into ("enterprise", "911"). In 0x09 the createdAt comes
 * first and unprefixed, so a range scan below {@link idempotencyExpiryBound}
 * is exactly the records created before the cutoff (string order; RFC 3339
 * UTC times never contain NUL).
 */
import { HASH_SIZE, rangeNodes, type NodeId } from "../log";
import type { IndexRef } from "../records/rules";
import type { StoredLeaf, TreeHead } from "./store";

type Bytes = Uint8Array;

export const T_META = 0x01;
export const T_NODE = 0x02;
export const T_LEAF = 0x03;
export const T_ID = 0x04;
export const T_STATE = 0x05;
export const T_INDEX = 0x06;
export const T_OPENINGS = 0x07;
export const T_IDEM = 0x08;
export const T_IDEM_BY_TIME = 0x09;
export const T_TOKEN = 0x0a;
export const T_TILE = 0x0b;
export const T_ACCESS_CODE = 0x0c;

/** UTF-8 bytes. Buffer.from, not TextEncoder: it carves short strings out of a shared pool instead of allocating a new ArrayBuffer each, and every store operation encodes keys. */
export const utf8 = (s: string): Bytes => Buffer.from(s, "utf8");
/** Strict UTF-8 decoding: malformed bytes throw. */
export const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export function concat(...parts: Bytes[]): Bytes {
  return Buffer.concat(parts);
}

/** Requires 0 ≤ n < 2^53 (a safe integer). */
export function u64(n: number): Bytes {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, Math.floor(n / 2 ** 32));
  v.setUint32(4, n % 2 ** 32);
  return out;
}

export function readU64(b: Bytes, offset = 0): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(offset) * 2 ** 32 + v.getUint32(offset + 4);
}

/** The largest u64, as the upper bound of a scan. */
export const U64_MAX_BYTES = new Uint8Array(8).fill(0xff);

/** Throws RangeError when `n` does not fit in two bytes. */
function u16(n: number, what: string): Bytes {
  if (n > 0xffff) throw new RangeError(`${what} is longer than 65535 bytes`);
  return Uint8Array.of(n >>> 8, n & 0xff);
}

export function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** `tag ‖ UTF-8(s)`: the key of the string-keyed tables (0x04, 0x05, 0x07, 0x08, 0x0a). */
export function strKey(tag: number, s: string): Bytes {
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(s, "utf8"));
  out[0] = tag;
  out.write(s, 1, "utf8");
  return out;
}

/** The whole key range of one table. */
export const tableRange = (tag: number): { gte: Bytes; lt: Bytes } => ({ gte: Uint8Array.of(tag), lt: Uint8Array.of(tag + 1) });

export const HEAD_KEY = strKey(T_META, "head");
export const nodeKeyBytes = (id: NodeId): Bytes => concat(Uint8Array.of(T_NODE, id.level), u64(id.index));
/** The key range of the 0x02 nodes of one level. */
export const nodeLevelRange = (level: number): { gte: Bytes; lt: Bytes } => ({ gte: Uint8Array.of(T_NODE, level), lt: Uint8Array.of(T_NODE, level + 1) });
/** The index of a 0x02 node key. */
export const nodeIndexOfKey = (k: Bytes): number => readU64(k, 2);
export const leafKey = (index: number): Bytes => concat(Uint8Array.of(T_LEAF), u64(index));
export const tileKey = (t: number): Bytes => concat(Uint8Array.of(T_TILE), u64(t));
/** The leaf index of a 0x03 key, or the tile index of a 0x0b key. */
export const u64OfKey = (k: Bytes): number => readU64(k, 1);

/**
 * The prefix of every 0x06 key of (name, value). Throws RangeError for a name
 * longer than 255 bytes or a value longer than 65535: such a pair is never stored.
 */
export function indexPrefix(ref: IndexRef): Bytes {
  const name = utf8(ref.name);
  const value = utf8(ref.value);
  if (name.length > 0xff) throw new RangeError("index name is longer than 255 bytes");
  return concat(Uint8Array.of(T_INDEX, name.length), name, u16(value.length, "index value"), value);
}

const isIndexName = (s: string): s is IndexRef["name"] => s === "enterprise" || s === "programme" || s === "kind";

/** The (name, value) and leaf index of a 0x06 key; the inverse of {@link indexPrefix} followed by u64(leaf). */
export function decodeIndexKey(k: Bytes): { ref: IndexRef; leaf: number } {
  const nameLen = k[1]!;
  const name = fromUtf8.decode(k.subarray(2, 2 + nameLen));
  const at = 2 + nameLen;
  const valueLen = (k[at]! << 8) | k[at + 1]!;
  const value = fromUtf8.decode(k.subarray(at + 2, at + 2 + valueLen));
  if (at + 2 + valueLen + 8 !== k.length) throw new RangeError(`index key of ${k.length} bytes is malformed`);
  if (!isIndexName(name)) throw new RangeError(`index key names an unknown index ${JSON.stringify(name)}`);
  return { ref: { name, value }, leaf: leafIndexOfIndexKey(k) };
}

/** The leaf index at the end of a 0x06 key. */
export const leafIndexOfIndexKey = (k: Bytes): number => readU64(k, k.length - 8);

export const idempotencyTimeKey = (createdAt: string, scopedKey: string): Bytes =>
  concat(Uint8Array.of(T_IDEM_BY_TIME), utf8(createdAt), Uint8Array.of(0), utf8(scopedKey));

/** Every 0x09 key below this one is of a record created before `cutoff`. */
export const idempotencyExpiryBound = (cutoff: string): Bytes => concat(Uint8Array.of(T_IDEM_BY_TIME), utf8(cutoff), Uint8Array.of(0));

/** The scoped idempotency key a 0x09 key names. */
export const scopedKeyOfTimeKey = (k: Bytes): string => fromUtf8.decode(k.subarray(k.indexOf(0) + 1));

/** JSON values (state docs, openings, idempotency and token records). Throws TypeError for a value JSON cannot hold. */
export function json(value: unknown): Bytes {
  const s = JSON.stringify(value);
  if (typeof s !== "string") throw new TypeError("value is not JSON-serialisable");
  return utf8(s);
}

export const parseJson = <T>(b: Bytes): T => JSON.parse(fromUtf8.decode(b)) as T;

/** A plain Uint8Array view (classic-level hands back Buffers). */
export const view = (b: Bytes): Bytes => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** The 0x03 value of a leaf. Throws RangeError for an id or recordedAt longer than 65535 bytes. */
export function encodeLeaf(leaf: StoredLeaf): Bytes {
  const id = utf8(leaf.id);
  const at = utf8(leaf.recordedAt);
  return concat(u16(id.length, "entry id"), id, u16(at.length, "recordedAt"), at, leaf.bytes);
}

export function decodeLeaf(index: number, b: Bytes): StoredLeaf {
  const idLen = (b[0]! << 8) | b[1]!;
  const id = fromUtf8.decode(b.subarray(2, 2 + idLen));
  const o = 2 + idLen;
  const atLen = (b[o]! << 8) | b[o + 1]!;
  const recordedAt = fromUtf8.decode(b.subarray(o + 2, o + 2 + atLen));
  return { index, id, recordedAt, bytes: view(b.subarray(o + 2 + atLen)) };
}

export function encodeHead(head: TreeHead): Bytes {
  return concat(u64(head.size), ...head.compact);
}

/** Throws unless the record is a well-formed head (see {@link checkHead}). */
export function decodeHead(b: Bytes): TreeHead {
  if (b.length < 8 || (b.length - 8) % HASH_SIZE !== 0) throw new Error(`head record has a bad length ${b.length}`);
  const size = readU64(b);
  const compact: Bytes[] = [];
  for (let o = 8; o < b.length; o += HASH_SIZE) compact.push(new Uint8Array(b.subarray(o, o + HASH_SIZE)));
  checkHead({ size, compact });
  return { size, compact };
}

/** Throws unless `compact` has exactly the hashes of planRoot(size), 32 bytes each. */
export function checkHead(head: TreeHead): void {
  if (!isIndex(head.size)) throw new Error(`head size ${String(head.size)} is not a non-negative safe integer`);
  const want = rangeNodes(0, head.size).length;
  if (head.compact.length !== want) throw new Error(`a head of size ${head.size} has ${want} compact hashes, got ${head.compact.length}`);
  if (head.compact.some((h) => h.length !== HASH_SIZE)) throw new Error("compact range hashes must be 32 bytes");
}
