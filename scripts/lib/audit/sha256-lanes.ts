/**
 * Many SHA-256 hashes per call, four at a time in the lanes of WebAssembly
 * SIMD (./sha256-lanes-wat.ts generates the module; the assembled binary is
 * ./sha256-lanes.wasm.ts). node:crypto's one-shot hash costs about 2 µs a
 * call whatever the length, nearly all of it per-call cost; here a batch of
 * leaves, or a level of the tree, is one call, so a hash costs about its
 * compression. Only the audit uses it, for RFC 6962 leaf and node hashes.
 *
 * No allocation per hash: the caller writes messages and descriptors into
 * the module's memory (from {@link HEAP_BASE} on, grown with
 * {@link Sha256Lanes.reserve}) and reads the digests from it.
 */
import { HASH_SIZE, LEAF_PREFIX, NODE_PREFIX } from "../../../service/log";
import { HEAP_BASE } from "./sha256-lanes-wat";
import { SHA256_LANES_WASM_BASE64 } from "./sha256-lanes.wasm";

export { HEAP_BASE };

/** Bytes of one message descriptor: address, length, digest address (three i32). */
export const DESCRIPTOR_SIZE = 12;

/** Misuse of {@link Sha256Lanes}: an address outside the memory, or a buffer that is not a view of it. */
export class Sha256LanesError extends Error {
  override readonly name = "Sha256LanesError";
}

interface Exports {
  readonly memory: WebAssembly.Memory;
  tagged(desc: number, count: number, tag: number): void;
  pairs(from: number, count: number, to: number, tag: number): void;
}

let compiled: WebAssembly.Module | undefined;

const PAGE = 65536;

/** One instance of the module: its memory and the two hash functions over it. */
export class Sha256Lanes {
  private _bytes: Uint8Array;
  private _words: Int32Array;

  private constructor(private readonly _x: Exports) {
    this._bytes = new Uint8Array(_x.memory.buffer);
    this._words = new Int32Array(_x.memory.buffer);
  }

  /** A new instance. The module is compiled once per thread (synchronously: it is about 55 kB). */
  static create(): Sha256Lanes {
    compiled ??= new WebAssembly.Module(Buffer.from(SHA256_LANES_WASM_BASE64, "base64"));
    return new Sha256Lanes(new WebAssembly.Instance(compiled, {}).exports as unknown as Exports);
  }

  /** The whole memory, bytes. Taken again after {@link reserve}: growing replaces the buffer. */
  get bytes(): Uint8Array {
    return this._bytes;
  }

  /** The whole memory, i32 (for descriptors: byte address / 4). */
  get words(): Int32Array {
    return this._words;
  }

  /** Makes memory [HEAP_BASE, HEAP_BASE + bytes) usable. Views taken before may be stale after this. */
  reserve(bytes: number): void {
    const need = HEAP_BASE + bytes;
    const have = this._x.memory.buffer.byteLength;
    if (need <= have) return;
    if (need > 2 ** 31) throw new Sha256LanesError(`cannot reserve ${bytes} bytes`);
    this._x.memory.grow(Math.ceil((need - have) / PAGE));
    this._bytes = new Uint8Array(this._x.memory.buffer);
    this._words = new Int32Array(this._x.memory.buffer);
  }

  /**
   * SHA-256(tag ‖ message) of `count` messages, each described at
   * desc + 12·i by (address ≥ 1, length, digest address). Messages in order
   * of their block count waste fewer lanes (a group of four takes as many
   * blocks as its longest).
   */
  hashTagged(tag: number, desc: number, count: number): void {
    this._check(desc, count * DESCRIPTOR_SIZE);
    this._x.tagged(desc, count, tag);
  }

  /** RFC 6962 leaf hashes (tag 0) of `count` messages described at `desc`: see {@link hashTagged}. */
  hashLeaves(desc: number, count: number): void {
    this.hashTagged(LEAF_PREFIX, desc, count);
  }

  /**
   * RFC 6962 node hashes: SHA-256(0x01 ‖ left ‖ right) of the `count` 64-byte
   * pairs at `from` (≥ 1), the digests at `to`, 32 bytes each. The two
   * regions must not overlap.
   */
  hashNodes(from: number, count: number, to: number): void {
    if (from < 1) throw new Sha256LanesError("pairs must start at address 1 or later");
    this._check(from, count * 2 * HASH_SIZE);
    this._check(to, count * HASH_SIZE);
    this._x.pairs(from, count, to, NODE_PREFIX);
  }

  /**
   * {@link hashNodes} over a view of this memory, in the form
   * CompactRange.extendMany takes (offsets relative to the view).
   */
  readonly nodePairs = (buf: Uint8Array, from: number, count: number, to: number): void => {
    if (buf.buffer !== this._x.memory.buffer) throw new Sha256LanesError("the buffer is not a view of this instance's memory (or it has grown since)");
    this.hashNodes(buf.byteOffset + from, count, buf.byteOffset + to);
  };

  private _check(at: number, bytes: number): void {
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(bytes) || at < HEAP_BASE || bytes < 0 || at + bytes > this._bytes.length)
      throw new Sha256LanesError(`[${at}, ${at + bytes}) is not in the heap [${HEAP_BASE}, ${this._bytes.length})`);
  }
}
