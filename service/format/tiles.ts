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
