/** A {@link ChainReader} over checkpoints held in memory: for benchmarks and tests. */
import { equalBytes } from "../../../service/log";
import type { AnchoredCheckpoint, ChainReader } from "./chain";

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

