/**
 * What the audit reads from the chain: LedgerAnchor's checkpoints. The only
 * thing the auditor trusts.
 *
 * {@link ChainReader} is the seam: {@link RpcChainReader}
 * (./chain-rpc.ts) reads a real contract over JSON-RPC (or Hardhat's
 * in-process network in tests), {@link MemoryChainReader} serves a list for
 * benchmarks and unit tests.
 */
import { equalBytes, toHex } from "../../../service/log";

/** One checkpoint as LedgerAnchor holds it. */
export interface AnchoredCheckpoint {
  /** Position in the contract's list, 0 for the first. */
  readonly index: number;
  readonly size: number;
  /** RFC 6962 root, 32 bytes. */
  readonly root: Uint8Array;
  /** Block time of the anchoring, seconds since the epoch. */
  readonly timestamp: number;
}

export interface ChainReader {
  /** For the report: where the checkpoints come from. */
  readonly description: string;
  chainId(): Promise<number>;
  checkpointCount(): Promise<number>;
  checkpointAt(index: number): Promise<AnchoredCheckpoint>;
  isAnchored(size: number, root: Uint8Array): Promise<boolean>;
}

/** Reads every checkpoint, `concurrency` reads at a time, in order. */
export async function readCheckpoints(chain: ChainReader, concurrency = 16): Promise<AnchoredCheckpoint[]> {
  const count = await chain.checkpointCount();
  const out: AnchoredCheckpoint[] = new Array<AnchoredCheckpoint>(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++;
      out[i] = await chain.checkpointAt(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}

/** A chain held in memory: for benchmarks and tests. */
export class MemoryChainReader implements ChainReader {
  readonly description: string;
  private readonly _checkpoints: AnchoredCheckpoint[];

  constructor(
    checkpoints: readonly { size: number; root: Uint8Array; timestamp: number }[],
    private readonly _chainId = 31337,
  ) {
    this._checkpoints = checkpoints.map((c, index) => ({ index, size: c.size, root: c.root, timestamp: c.timestamp }));
    this.description = `in-memory chain (${checkpoints.length} checkpoints)`;
  }

  async chainId(): Promise<number> {
    return this._chainId;
  }

  async checkpointCount(): Promise<number> {
    return this._checkpoints.length;
  }

  async checkpointAt(index: number): Promise<AnchoredCheckpoint> {
    const c = this._checkpoints[index];
    if (c === undefined) throw new RangeError(`no checkpoint ${index}`);
    return c;
  }

  async isAnchored(size: number, root: Uint8Array): Promise<boolean> {
    return this._checkpoints.some((c) => c.size === size && equalBytes(c.root, root));
  }
}

export function rootHex(root: Uint8Array): string {
  return `0x${toHex(root)}`;
}
