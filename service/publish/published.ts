/**
 * Which checkpoint the log publishes at `/tlog/checkpoint` (and in a static
 * copy): the newest one anchored on the chain, as the anchorer last read it
 * back from the chain (`Anchorer.anchored`, the checkpoint /v1/chain and
 * receipts cite). Never the ledger's latest head: a reader of the tiles only
 * ever sees a tree the chain has already committed to.
 *
 * Nothing is published before the first anchoring, nor when the service runs
 * without a chain (LEDGER_CHAIN=off): the routes then answer 404.
 *
 * Witnesses. A {@link CosignedCheckpoints} stage, when given, sits after the
 * chain: it is handed the newest anchored checkpoint and returns the newest
 * checkpoint at or below it that the witness policy has cosigned (its note
 * carrying the cosignature lines), or null while none has a quorum. Without
 * one, the anchored checkpoint is published as it is.
 */
import type { PublishedCheckpoint } from "../queries/tiles";

export type { PublishedCheckpoint } from "../queries/tiles";

/** What the anchorer tells about the last anchored checkpoint (service/chain/state.ts AnchoredCheckpoint). */
export interface AnchoredSource {
  readonly anchored: { readonly size: number; readonly signedCheckpoint: string } | null;
}

/** The witness policy's gate (WitnessCosigner in ./witnesses.ts, when LEDGER_WITNESS_POLICY_FILE is set). */
export interface CosignedCheckpoints {
  /**
   * The newest checkpoint of size ≤ anchored.size that the policy's quorum
   * has cosigned, with the cosignatures in its note; null while none has.
   */
  cosigned(anchored: PublishedCheckpoint): Promise<PublishedCheckpoint | null>;
}

/** The published-checkpoint function for the read model: anchored, then cosigned when a policy is given. */
export function publishedCheckpoint(chain: AnchoredSource | undefined, witnesses?: CosignedCheckpoints): () => Promise<PublishedCheckpoint | null> {
  return async () => {
    const a = chain?.anchored ?? null;
    if (a === null) return null;
    const anchored: PublishedCheckpoint = { size: a.size, note: a.signedCheckpoint };
    return witnesses === undefined ? anchored : witnesses.cosigned(anchored);
  };
}
