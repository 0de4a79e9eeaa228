/**
 * A flat file of complete tiles beside the LevelDB tables: a read cache of
 * the 0x0b tile records of {@link LevelStore}, which stay the source of truth.
 *
 * Why. LevelDB memory-maps its table files, and every page a read touches
 * counts in the process's RSS until the table is closed. Random inclusion
 * proofs touch every tile record sooner or later (about 64 MiB per million
 * entries). Read with pread from this file instead, tiles live in the OS page
 * cache, which the kernel shares and reclaims and which is not the process's
 * memory.
 *
 * Layout. Record t (one per complete tile) is at byte t × RECORD_SIZE: the
 * tile's 510 hashes exactly as in its 0x0b record, then SHA-256(u64 t ‖ those
 * hashes). Records are written after the LevelDB batch that completed the
 * tile is durable, without fsync: the file is never trusted. A record is
 * served only if its check hash matches (a torn write, a hole or a zeroed
 * page after a crash fails it) and its two level-7 hashes hash to the tile's
 * level-8 node as stored in LevelDB (a record left over from another log
 * fails it). Anything else reads as missing, and the store reads the tile
 * from LevelDB and writes the record again. So a lost, stale or damaged file
 * costs speed, never correctness, and deleting it is always safe.
 *
 * Errors of this file (no space, a read-only directory) are swallowed: the
 * store then reads tiles from LevelDB as before.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { equalBytes, hashChildren, HASH_SIZE } from "../log";

/** Hashes in a tile: levels 0..7 of 256 leaves (256 + 128 + … + 2). */
export const TILE_HASH_COUNT = 510;
const HASHES_SIZE = TILE_HASH_COUNT * HASH_SIZE;
/** Bytes per record: the hashes and their check hash. */
export const RECORD_SIZE = HASHES_SIZE + HASH_SIZE;
/** Offsets of the tile's two level-7 hashes (its last two). */
const LEVEL7_LEFT = (TILE_HASH_COUNT - 2) * HASH_SIZE;
const LEVEL7_RIGHT = (TILE_HASH_COUNT - 1) * HASH_SIZE;

function checkHash(t: number, hashes: Uint8Array): Buffer {
  const index = Buffer.alloc(8);
  index.writeUIntBE(t, 2, 6);
  return createHash("sha256").update(index).update(hashes).digest();
}

export class TileFile {
  private constructor(
    private _fd: number | undefined,
    readonly path: string,
  ) {}

  /**
   * Opens (creating if missing, mode 0600) the file and drops any record at
   * or beyond `completeTiles`: those belong to a longer log than the one
   * stored (a restored or rolled-back database). Returns a TileFile that
   * reads nothing and writes nothing when the file cannot be opened.
   */
  static open(path: string, completeTiles: number): TileFile {
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
      if (fstatSync(fd).size > completeTiles * RECORD_SIZE) ftruncateSync(fd, completeTiles * RECORD_SIZE);
    } catch {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    }
    return new TileFile(fd, path);
  }

  /** True when the file is open (reads and writes may succeed). */
  get usable(): boolean {
    return this._fd !== undefined;
  }

  /** Whole records the file has room for (whether they check out or not); 0 when unusable. */
  get records(): number {
    if (this._fd === undefined) return 0;
    try {
      return Math.floor(fstatSync(this._fd).size / RECORD_SIZE);
    } catch {
      return 0;
    }
  }

  /**
   * The 510 hashes of complete tile `t`, or undefined unless the record is
   * whole, its check hash matches, and its level-7 hashes hash to `tileRoot`
   * (the tile's level-8 node, from the store).
   */
  read(t: number, tileRoot: Uint8Array | undefined): Uint8Array | undefined {
    if (this._fd === undefined || tileRoot === undefined) return undefined;
    const buf = Buffer.allocUnsafe(RECORD_SIZE);
    try {
      if (readSync(this._fd, buf, 0, RECORD_SIZE, t * RECORD_SIZE) !== RECORD_SIZE) return undefined;
    } catch {
      return undefined;
    }
    const hashes = new Uint8Array(buf.buffer, buf.byteOffset, HASHES_SIZE);
    if (!equalBytes(checkHash(t, hashes), buf.subarray(HASHES_SIZE))) return undefined;
    const root = hashChildren(hashes.subarray(LEVEL7_LEFT, LEVEL7_LEFT + HASH_SIZE), hashes.subarray(LEVEL7_RIGHT, LEVEL7_RIGHT + HASH_SIZE));
    return equalBytes(root, tileRoot) ? hashes : undefined;
  }

  /** Writes the record of tile `t` (its 510 hashes, as in the 0x0b record); best effort, never throws. */
  write(t: number, hashes: Uint8Array): void {
    if (this._fd === undefined || hashes.length !== HASHES_SIZE) return;
    const record = Buffer.allocUnsafe(RECORD_SIZE);
    record.set(hashes, 0);
    checkHash(t, hashes).copy(record, HASHES_SIZE);
    try {
      writeSync(this._fd, record, 0, RECORD_SIZE, t * RECORD_SIZE);
    } catch {
      // A cache: the tile stays readable from LevelDB.
    }
  }

  close(): void {
    if (this._fd === undefined) return;
    const fd = this._fd;
    this._fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Nothing was promised about this file.
    }
  }
}
