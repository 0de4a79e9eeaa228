/**
 * Building receipts (see service/log/receipt.ts for the format): an entry,
 * its inclusion proof to the latest anchored checkpoint, that checkpoint's
 * signed note and where it was anchored. Every receipt is verified with the
 * log core before it is returned, so a bug here fails loudly instead of
 * handing an enterprise a receipt that will not verify.
 */
import {
  LogInvariantError,
  parseVerifierKey,
  RECEIPT_FORMAT,
  RECEIPT_VERSION,
  toHex,
  verifyReceipt,
  type JsonValue,
  type Receipt,
} from "../log";
import type { Openings } from "../records/entry";
import { inclusionProof, type NodeReader } from "./proofs";

/** A checkpoint known to be anchored, and where. */
export interface AnchoredPoint {
  readonly chainId: number;
  readonly contract: string;
  readonly size: number;
  /** 0x and 64 lowercase hex digits. */
  readonly rootHex: string;
  readonly checkpointIndex: number;
  readonly txHash: string | null;
  readonly blockNumber: number | null;
  /** RFC 3339. */
  readonly anchoredAt: string;
  /** C2SP signed note of (size, root). */
  readonly signedCheckpoint: string;
}

/** The entry is not covered by an anchored checkpoint yet; try again after the next anchor. */
export class NotYetAnchored extends Error {
  override readonly name = "NotYetAnchored";
  constructor(
    readonly leafIndex: number,
    readonly anchoredSize: number,
  ) {
    super(`entry ${leafIndex} is not under an anchored checkpoint yet (anchored size ${anchoredSize})`);
  }
}

export interface ReceiptInput {
  readonly store: NodeReader;
  /** The ledger's current size (proof nodes exist up to it). */
  readonly treeSize: number;
  readonly leafIndex: number;
  /** The public entry, exactly the leaf data parsed. */
  readonly entry: { readonly v: number; readonly [key: string]: JsonValue };
  /** The latest anchored checkpoint, or null when none is. */
  readonly anchored: AnchoredPoint | null;
  /** The log's C2SP verifier key. */
  readonly logKey: string;
  /** Private values and salts: only for the enterprise receipt. */
  readonly openings?: Openings;
}

/**
 * Assembles and self-checks a receipt. Throws NotYetAnchored when no anchored
 * checkpoint covers the entry, and LogInvariantError if the receipt it built
 * does not verify (a bug or a damaged store).
 */
export async function buildReceipt(input: ReceiptInput): Promise<Receipt> {
  const { anchored, leafIndex } = input;
  if (anchored === null || anchored.size <= leafIndex) throw new NotYetAnchored(leafIndex, anchored?.size ?? 0);
  const { root, proof } = await inclusionProof(input.store, leafIndex, anchored.size, input.treeSize);
  if (`0x${toHex(root)}` !== anchored.rootHex.toLowerCase())
    throw new LogInvariantError(`the store's root at size ${anchored.size} is not the anchored root ${anchored.rootHex}`);
  const receipt: Receipt = {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION,
    entry: input.entry,
    leafIndex,
    checkpoint: anchored.signedCheckpoint,
    inclusionProof: proof.map(toHex),
    anchor: {
      chainId: anchored.chainId,
      contract: anchored.contract,
      checkpointIndex: anchored.checkpointIndex,
      txHash: anchored.txHash,
      blockNumber: anchored.blockNumber,
      anchoredAt: anchored.anchoredAt,
    },
    logKey: input.logKey,
    ...(input.openings !== undefined ? { openings: input.openings } : {}),
  };
  try {
    verifyReceipt(receipt, { verifiers: parseVerifierKey(input.logKey) });
  } catch (cause) {
    throw new LogInvariantError(`the receipt built for entry ${leafIndex} does not verify: ${String(cause)}`);
  }
  return receipt;
}
