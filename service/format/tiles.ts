/**
 * The tile layout of the log's Merkle tree (after C2SP tlog-tiles): pure
 * maths, no I/O.
 *
 * The leaves are grouped in tiles of {@link TILE_WIDTH} = 256. A tile holds
 * the nodes of the {@link TILE_HEIGHT} = 8 levels of its perfect subtree
 * below the top: 256 leaf hashes, then 128, …, 2 (510 hashes,
 * {@link TILE_HASHES}). Its top node, of level 8, is not in it. In a tile
 * record the hashes go level by level, left to right; {@link tileHashOffset}
 * gives a node's place there.
 *
 * {@link tilePath} encodes a tile's C2SP address (`tile/<L>/<N>[.p/<W>]`),
 * for the published tiles. Note the two layouts differ: a C2SP tile of level
 * L holds only the 256 hashes of tree level 8·L, where our record of a tile
 * holds every level of its subtree.
 */

/** Levels of nodes stored per tile: levels 0 to TILE_HEIGHT − 1. */
export const TILE_HEIGHT = 8;
/** Leaves per tile, and hashes in a full C2SP tile: 2^TILE_HEIGHT. */
export const TILE_WIDTH = 1 << TILE_HEIGHT;
/** Hashes in a tile record: 256 + 128 + … + 2. */
export const TILE_HASHES = 2 * TILE_WIDTH - 2;

/** A node of the tree: `level` 0 is the leaves, `index` counts from the left within its level. */
export interface TreeNode {
  readonly level: number;
  readonly index: number;
}

/** The tile a node lies in. Requires 0 ≤ node.level < TILE_HEIGHT. */
export function tileOf(node: TreeNode): number {
  return Math.floor(node.index / (TILE_WIDTH >> node.level));
}

/** Index, in hashes, of the first node of `level` in a tile record. Requires 0 ≤ level < TILE_HEIGHT. */
export function tileLevelStart(level: number): number {
  return 2 * TILE_WIDTH - ((2 * TILE_WIDTH) >> level);
}

/** Index, in hashes, of a node inside its tile's record. Requires 0 ≤ node.level < TILE_HEIGHT. */
export function tileHashOffset(node: TreeNode): number {
  return tileLevelStart(node.level) + (node.index - tileOf(node) * (TILE_WIDTH >> node.level));
}

/** The number of complete tiles in a tree of `size` leaves. */
export function completeTiles(size: number): number {
  return Math.floor(size / TILE_WIDTH);
}

/** Every node of levels 0 to TILE_HEIGHT − 1 of tile `t`, in record order. */
export function tileNodes(t: number): TreeNode[] {
  const nodes: TreeNode[] = [];
  for (let level = 0; level < TILE_HEIGHT; level++) {
    const width = TILE_WIDTH >> level;
    for (let j = 0; j < width; j++) nodes.push({ level, index: t * width + j });
  }
  return nodes;
}

/** The nodes of levels 0 to TILE_HEIGHT − 1 that exist in the incomplete last tile of a tree of `size` leaves, in record order. */
export function partialTileNodes(size: number): TreeNode[] {
  const t = completeTiles(size);
  const nodes: TreeNode[] = [];
  for (let level = 0; level < TILE_HEIGHT; level++) {
    const width = TILE_WIDTH >> level;
    for (let index = t * width; index < Math.floor(size / 2 ** level); index++) nodes.push({ level, index });
  }
  return nodes;
}

/** A malformed tile coordinate: the caller's mistake. */
export class TileCoordinateError extends RangeError {
  override readonly name = "TileCoordinateError";
}

/**
 * The C2SP tlog-tiles path of a tile: `tile/<L>/<N>`, plus `.p/<W>` for a
 * partial tile. `<N>` is written in zero-padded groups of three digits, all
 * but the last prefixed with `x` (index 1234067 is `x001/x234/067`).
 * Requires 0 ≤ level ≤ 63, index a non-negative safe integer, and
 * 1 ≤ width ≤ 256 (256, the default, is a full tile); throws
 * {@link TileCoordinateError} otherwise.
 */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  if (!(Number.isInteger(level) && level >= 0 && level <= 63)) throw new TileCoordinateError(`tile level ${level} is not an integer from 0 to 63`);
  if (!(Number.isInteger(width) && width >= 1 && width <= TILE_WIDTH))
    throw new TileCoordinateError(`tile width ${width} is not an integer from 1 to ${TILE_WIDTH}`);
  return `tile/${level}/${tileIndexPath(index)}${width === TILE_WIDTH ? "" : `.p/${width}`}`;
}

/** The `<N>` part of a C2SP tile path. Requires a non-negative safe integer; throws {@link TileCoordinateError} otherwise. */
export function tileIndexPath(index: number): string {
  if (!(Number.isSafeInteger(index) && index >= 0)) throw new TileCoordinateError(`tile index ${index} is not a non-negative safe integer`);
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, "0"));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/** The `tile/entries/<N>[.p/<W>]` path of an entry bundle. Same requirements and errors as {@link tilePath}. */
export function entriesPath(index: number, width: number = TILE_WIDTH): string {
  if (!(Number.isInteger(width) && width >= 1 && width <= TILE_WIDTH))
    throw new TileCoordinateError(`tile width ${width} is not an integer from 1 to ${TILE_WIDTH}`);
  return `tile/entries/${tileIndexPath(index)}${width === TILE_WIDTH ? "" : `.p/${width}`}`;
}

/** A resource of a tiled log, below its prefix: a hash tile of `level`, or (level "entries") an entry bundle. */
export interface TlogResource {
  readonly level: number | "entries";
  readonly index: number;
  /** 1 to 256; 256 is a full tile. */
  readonly width: number;
}

/** The path of a resource below the log's prefix (`tile/…`). */
export function resourcePath(r: TlogResource): string {
  return r.level === "entries" ? entriesPath(r.index, r.width) : tilePath(r.level, r.index, r.width);
}

const LEVEL_PART = /^(0|[1-9][0-9]?)$/;
const WIDTH_PART = /^[1-9][0-9]{0,2}$/;

/**
 * Parses a tile or entry-bundle path below the log's prefix, such as
 * `tile/0/x001/234.p/17` or `tile/entries/000`. Only the canonical form is
 * accepted, so each resource has exactly one path: `<L>` 0 to 63 without
 * leading zeroes, `<N>` as {@link tileIndexPath} writes it (no extra `x000/`
 * groups), `<W>` 1 to 255 without leading zeroes. Throws
 * {@link TileCoordinateError} for anything else.
 */
export function parseResourcePath(path: string): TlogResource {
  const bad = (why: string) => new TileCoordinateError(`${JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path)} is not a tile path: ${why}`);
  if (path.length > 200) throw bad("too long");
  const parts = path.split("/");
  if (parts[0] !== "tile" || parts.length < 3) throw bad("expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]");
  let level: number | "entries";
  if (parts[1] === "entries") level = "entries";
  else if (LEVEL_PART.test(parts[1]!) && Number(parts[1]) <= 63) level = Number(parts[1]);
  else throw bad("the level is not an integer from 0 to 63");
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  const last = rest[rest.length - 1]!;
  if (rest.length >= 2 && last !== "" && rest[rest.length - 2]!.endsWith(".p")) {
    if (!WIDTH_PART.test(last) || Number(last) > TILE_WIDTH - 1) throw bad("the partial width is not an integer from 1 to 255");
    width = Number(last);
    rest = rest.slice(0, -1);
    rest[rest.length - 1] = rest[rest.length - 1]!.slice(0, -2);
  }
  if (rest.length > 6) throw bad("the index has too many groups");
  let index = 0;
  rest.forEach((g, i) => {
    const digits = i < rest.length - 1 ? (g.startsWith("x") ? g.slice(1) : "") : g;
    if (!/^[0-9]{3}$/.test(digits)) throw bad("the index is not in zero-padded groups of three digits, all but the last prefixed with x");
    index = index * 1000 + Number(digits);
  });
  if (!Number.isSafeInteger(index)) throw bad("the index is too large");
  if (tileIndexPath(index) !== rest.join("/")) throw bad("the index has superfluous x000 groups");
  return { level, index, width };
}

/**
 * The width of resource (level, index) in a tree of `size` leaves: 256 for a
 * full tile, 1 to 255 for the partial tile at the right edge, 0 when the tree
 * has none of its hashes. Level "entries" is level 0. Requires a safe integer
 * size ≥ 0 and index ≥ 0.
 */
export function widthAt(level: number | "entries", index: number, size: number): number {
  const l = level === "entries" ? 0 : level;
  // Hashes of level 8·l in the tree: floor(size / 256^l), in BigInt since 256^l overflows past l = 6.
  const hashes = BigInt(size) / BigInt(TILE_WIDTH) ** BigInt(l);
  const left = hashes - BigInt(index) * BigInt(TILE_WIDTH);
  if (left <= 0n) return 0;
  return left >= BigInt(TILE_WIDTH) ? TILE_WIDTH : Number(left);
}

/**
 * Every resource a tree of `size` leaves publishes, in the order a writer
 * should write them: for each level from 0, its full tiles then its partial
 * one; then the entry bundles, full then partial. Tiles before `fromSize`'s
 * full tiles are left out (they were published already and never change).
 */
export function resourcesForSize(size: number, fromSize = 0): TlogResource[] {
  const out: TlogResource[] = [];
  const levels: (number | "entries")[] = [];
  for (let l = 0; widthAt(l, 0, size) > 0; l++) levels.push(l);
  levels.push("entries");
  for (const level of levels) {
    if (widthAt(level, 0, size) === 0) continue;
    const l = level === "entries" ? 0 : level;
    const perTile = BigInt(TILE_WIDTH) ** BigInt(l + 1);
    const full = Number(BigInt(size) / perTile);
    const first = Number(BigInt(fromSize) / perTile);
    for (let n = first; n < full; n++) out.push({ level, index: n, width: TILE_WIDTH });
    const w = widthAt(level, full, size);
    if (w > 0) out.push({ level, index: full, width: w });
  }
  return out;
}

/** Encodes an entry bundle: each entry as a big-endian uint16 length and its bytes. Throws TileCoordinateError for an entry longer than 65535 bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new TileCoordinateError(`an entry of ${e.length} bytes does not fit an entry bundle's 16-bit length`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const e of entries) {
    out[o] = e.length >>> 8;
    out[o + 1] = e.length & 0xff;
    out.set(e, o + 2);
    o += 2 + e.length;
  }
  return out;
}

/** A tile or bundle whose bytes do not parse: the publisher's fault, or damage in transit. */
export class TileFormatError extends Error {
  override readonly name = "TileFormatError";
}

/** Splits an entry bundle into its entries (views into `bytes`). Throws {@link TileFormatError} unless it holds exactly `width` whole entries. */
export function parseEntryBundle(bytes: Uint8Array, width: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 2 > bytes.length) throw new TileFormatError(`entry bundle: a length prefix is cut short at byte ${o}`);
    const len = (bytes[o]! << 8) | bytes[o + 1]!;
    if (o + 2 + len > bytes.length) throw new TileFormatError(`entry bundle: entry ${out.length} of ${len} bytes runs past the end`);
    out.push(bytes.subarray(o + 2, o + 2 + len));
    o += 2 + len;
  }
  if (out.length !== width) throw new TileFormatError(`entry bundle: ${out.length} entries, expected ${width}`);
  return out;
}

/** Splits a hash tile into its 32-byte hashes (views). Throws {@link TileFormatError} unless it is exactly `width` hashes. */
export function parseHashTile(bytes: Uint8Array, width: number): Uint8Array[] {
  if (bytes.length !== width * 32) throw new TileFormatError(`hash tile: ${bytes.length} bytes, expected ${width} hashes (${width * 32} bytes)`);
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += 32) out.push(bytes.subarray(o, o + 32));
  return out;
}
