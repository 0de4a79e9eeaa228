/**
 * A receipt's anchor claim checked on the chain: the one check the portal
 * (service/web/verify.ts) and the auditor (scripts/lib/audit/receipt-check.ts)
 * both render, so neither can read a contract the other would refuse.
 *
 * The claim says LedgerAnchor `contract` on chain `chainId` holds (size, root)
 * at `checkpointIndex`. The contract that is read is the one the caller trusts
 * (the reader's `address`), never the one the receipt names: a receipt that
 * names another contract, or another chain than the node serves, is refused
 * before anything else is read, since a log operator can deploy a contract of
 * their own holding whatever checkpoint they like.
 *
 * Pure: the reader is passed in and does all the I/O; a read that fails
 * throws what the reader threw, so the caller says the chain could not be read.
 */
import type { AnchorCheckpoint, AnchorReader } from "./anchor";

/** What a receipt says LedgerAnchor holds (service/log's `ReceiptCheck.chainClaim`). */
export interface AnchorClaim {
  readonly chainId: number;
  /** The contract the receipt names, 0x and 40 hex digits (any case). */
  readonly contract: string;
  readonly checkpointIndex: number;
  /** The signed checkpoint's tree size and root (0x and 64 hex digits). */
  readonly size: number;
  readonly rootHex: string;
}

/**
 * The views the check reads: an {@link AnchorReader}, or anything answering
 * as one. `address` is the contract it reads, which the check takes as the
 * trusted one: build it on the contract you trust, not the receipt's.
 */
export type AnchorViews = Pick<AnchorReader, "address" | "chainId" | "checkpointCount" | "checkpointAt" | "isAnchored">;

/**
 * The verdicts, with the auditor's words for each in `detail`:
 * - "anchored": `checkpointAt(checkpointIndex)` is (size, root) (ok);
 * - "anchored-elsewhere": the contract holds (size, root), but not at the index claimed (ok; `notice` says so);
 * - "other-chain": the node serves another chain than the claim names;
 * - "other-contract": the claim names another contract than the trusted one;
 * - "not-anchored": the trusted contract does not hold (size, root) at all.
 */
export type AnchorClaimResult =
  | { readonly ok: true; readonly verdict: "anchored"; readonly chainId: number; readonly checkpoint: AnchorCheckpoint; readonly detail: string }
  | {
      readonly ok: true;
      readonly verdict: "anchored-elsewhere";
      readonly chainId: number;
      /** What the contract holds at the index claimed; null when it holds fewer checkpoints. */
      readonly atIndex: AnchorCheckpoint | null;
      readonly detail: string;
      readonly notice: string;
    }
  | { readonly ok: false; readonly verdict: "other-chain"; readonly chainId: number; readonly detail: string }
  | { readonly ok: false; readonly verdict: "other-contract"; readonly chainId: number; readonly trustedContract: string; readonly detail: string }
  | {
      readonly ok: false;
      readonly verdict: "not-anchored";
      readonly chainId: number;
      /** How many checkpoints the contract holds. */
      readonly count: number;
      /** What the contract holds at the index claimed; null when it holds fewer checkpoints. */
      readonly atIndex: AnchorCheckpoint | null;
      readonly detail: string;
    };

/**
 * Checks `claim` against the contract `reader` reads: the node's chain id,
 * then the contract's address, then the checkpoint at the claimed index, and
 * failing that whether (size, root) is anchored at all. Throws only what the
 * reader throws.
 */
export async function checkAnchorClaim(reader: AnchorViews, claim: AnchorClaim): Promise<AnchorClaimResult> {
  const chainId = await reader.chainId();
  const other = otherAnchor(claim, chainId, reader.address);
  if (other !== null) return other;
  const rootHex = claim.rootHex.toLowerCase();
  const count = await reader.checkpointCount();
  let atIndex: AnchorCheckpoint | null = null;
  if (claim.checkpointIndex < count) {
    atIndex = await reader.checkpointAt(claim.checkpointIndex);
    if (atIndex.treeSize === claim.size && atIndex.rootHex.toLowerCase() === rootHex)
      return {
        ok: true,
        verdict: "anchored",
        chainId,
        checkpoint: atIndex,
        detail: `checkpoint ${claim.checkpointIndex} of ${claim.contract} on chain ${chainId} anchors size ${claim.size} with this root (block time ${new Date(atIndex.timestamp * 1000).toISOString()})`,
      };
  }
  if (await reader.isAnchored(claim.size, rootHex))
    return {
      ok: true,
      verdict: "anchored-elsewhere",
      chainId,
      atIndex,
      detail: `${claim.contract} on chain ${chainId} anchors size ${claim.size} with this root`,
      notice: `the checkpoint is anchored, but not at index ${claim.checkpointIndex} as the receipt says`,
    };
  return {
    ok: false,
    verdict: "not-anchored",
    chainId,
    count,
    atIndex,
    detail:
      atIndex !== null
        ? `checkpoint ${claim.checkpointIndex} on the chain is not this checkpoint, and no anchored checkpoint has size ${claim.size} with this root`
        : `the contract holds ${count} checkpoints, none of them size ${claim.size} with this root`,
  };
}

/**
 * The refusal of a claim that names another chain than `chainId` or another
 * contract than `contract` (compared without regard to case), or null when
 * it names these. {@link checkAnchorClaim} asks it first, with the chain the
 * node serves and the contract it reads; it is exported for a caller that
 * has only someone's word for the chain, so the same claim is refused there.
 */
export function otherAnchor(claim: Pick<AnchorClaim, "chainId" | "contract">, chainId: number, contract: string): Extract<AnchorClaimResult, { verdict: "other-chain" | "other-contract" }> | null {
  if (chainId !== claim.chainId) return { ok: false, verdict: "other-chain", chainId, detail: `the receipt names chain ${claim.chainId}, but the RPC node serves chain ${chainId}` };
  if (contract.toLowerCase() !== claim.contract.toLowerCase())
    return { ok: false, verdict: "other-contract", chainId, trustedContract: contract, detail: `the receipt names contract ${claim.contract}, but the contract given is ${contract}` };
  return null;
}
