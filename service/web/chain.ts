/**
 * The portal's reads of LedgerAnchor, straight from a chain's JSON-RPC
 * endpoint, so a checkpoint is checked without trusting the service. The
 * codec and the transport are the auditor's too (service/format/anchor.ts).
 */
import { AnchorReader, httpProvider } from "../format";

export interface ChainCheckpoint {
  readonly index: number;
  readonly size: number;
  /** Block time, seconds since the epoch. */
  readonly timestamp: number;
  /** 0x and 64 lowercase hex digits. */
  readonly rootHex: string;
}

/** LedgerAnchor at `contract`, read through the JSON-RPC endpoint at `url`. */
export function anchorReader(url: string, contract: string): AnchorReader {
  return new AnchorReader(httpProvider(url, (u, init) => fetch(u, init)), contract);
}

export async function checkpointCount(url: string, contract: string): Promise<number> {
  return anchorReader(url, contract).checkpointCount();
}

export async function checkpointAt(url: string, contract: string, index: number): Promise<ChainCheckpoint> {
  const c = await anchorReader(url, contract).checkpointAt(index);
  return { index, size: c.treeSize, timestamp: c.timestamp, rootHex: c.rootHex };
}
