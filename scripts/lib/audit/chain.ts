/**
 * What the audit reads from the chain: LedgerAnchor's checkpoints. The only
 * thing the auditor trusts.
 *
 * {@link ChainReader} is the seam: anchorChainReader (./chain-rpc.ts) reads a
 * real contract over JSON-RPC (or Hardhat's in-process network in tests),
 * MemoryChainReader (./memory-chain.ts) serves a list for benchmarks and
 * tests.
 */
import { toHex } from "../../../service/log";

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

export function rootHex(root: Uint8Array): string {
  return `0x${toHex(root)}`;
}
