/**
 * What /tlog/ publishes and who produces it. Without a witness policy the
 * anchored checkpoint is published as it is; with one, the newest checkpoint
 * a quorum cosigned, which receipts cite too (service/publish/published.ts).
 * The witness cosigner and the static tile copy are leader-only stages: run
 * for the process's life with LevelDB, for each term with PostgreSQL.
 */
import type { Logger } from "pino";
import type { Config } from "../config";
import type { Ledger } from "../ledger/ledger";
import { consistencyProof } from "../ledger/proofs";
import type { AnchoredPoint } from "../ledger/receipts";
import type { AnchoringInfo } from "../http/receipts";
import { ContinuousPublisher } from "../publish/continuous";
import { publishedCheckpoint, type PublishedCheckpoint } from "../publish/published";
import { persistenceIn, WitnessCosigner, type WitnessingOptions, type WitnessingStatus } from "../publish/witnesses";
import type { WitnessPolicy } from "../format/witness-policy";
import { TileQueries } from "../queries/tiles";
import type { LedgerStore } from "../store/store";
import type { Anchoring } from "./anchoring";

/** Timing of the witness submissions (tests shorten it). */
export type WitnessTiming = Pick<WitnessingOptions, "everyMs" | "backoffMinMs" | "backoffMaxMs" | "alarmRetryMs" | "timeoutMs">;

export interface PublishingOptions {
  readonly config: Config;
  readonly policy: WitnessPolicy | null;
  readonly witnessing: WitnessTiming | undefined;
  readonly anchoring: Pick<Anchoring, "info" | "view" | "replicas">;
  readonly store: LedgerStore;
  readonly ledger: Ledger;
  readonly verifierKey: string;
  readonly logger: Logger;
}

export interface Publishing {
  /** The tiles and checkpoint /tlog/ serves. */
  readonly tiles: TileQueries;
  /** What the receipt routes are told: the anchoring side's, plus the published checkpoint with a witness policy. */
  readonly receipts: AnchoringInfo | undefined;
  /** With a policy, the newest checkpoint a quorum cosigned: this process's cosigner's, or (replicas) the one the leader saved. */
  publishedPoint(): AnchoredPoint | null;
  /** The cosigner's status while this process runs it (the leader); undefined otherwise. */
  witnessStatus(): WitnessingStatus | undefined;
  /** The leader-only stages, for {@link Anchoring.lead}. */
  readonly stages: { start(): Promise<void>; stop(): Promise<void>; publishedPoint(): AnchoredPoint | null };
}

/**
 * `info` with receipts citing `published` (the newest checkpoint a witness
 * quorum cosigned) instead of the anchored checkpoint; `anchored()` is still
 * the chain's, for /v1/chain and the cosigner.
 */
export function citingPublished(info: AnchoringInfo, published: () => AnchoredPoint | null): AnchoringInfo {
  return { ...info, anchored: info.anchored.bind(info), cited: published };
}

export function setUpPublishing(o: PublishingOptions): Publishing {
  const { config, policy, store, ledger, logger } = o;
  const { view, replicas } = o.anchoring;
  let receipts = o.anchoring.info;
  let tlogCopy: ContinuousPublisher | undefined;
  let cosigner: WitnessCosigner | undefined;
  if (policy === null) logger.info("no witnesses configured (LEDGER_WITNESS_POLICY_FILE unset): anchored checkpoints are published as they are");
  else if (receipts === undefined) logger.warn("a witness policy is configured but the chain is off: nothing is anchored, so nothing is submitted or published");
  else {
    receipts = citingPublished(receipts, () => publishedPoint());
    logger.info({ witnesses: policy.witnesses.map((w) => w.name), quorum: policy.quorum }, "witnesses configured: checkpoints are published once the quorum cosigns them");
  }
  const anchored = receipts;
  function publishedPoint(): AnchoredPoint | null {
    const own = cosigner?.publishedPoint() ?? null;
    const shared = replicas?.published() ?? null;
    return own === null || (shared !== null && shared.size > own.size) ? shared : own;
  }
  const cosigned =
    policy === null
      ? undefined
      : {
          cosigned: async (a: PublishedCheckpoint) => {
            const p = publishedPoint();
            return p === null || p.size > a.size ? null : { size: p.size, note: p.signedCheckpoint };
          },
        };
  const tiles = new TileQueries({ store, published: publishedCheckpoint(view, cosigned) });
  return {
    tiles,
    receipts,
    publishedPoint,
    witnessStatus: () => cosigner?.status(),
    stages: {
      async start() {
        if (policy !== null && anchored !== undefined)
          // The newest cosigned checkpoint is kept in the data directory, so a restart publishes it again at once.
          cosigner = await WitnessCosigner.open(
            {
              policy,
              anchored: anchored.anchored,
              // An anchored size is in the store; with replicas, this process's Ledger may not have seen it yet.
              proof: async (a, b) => (await consistencyProof(store, a, b, Math.max(b, ledger.size))).proof,
              logger: logger.child({ component: "witnesses" }),
              ...o.witnessing,
            },
            persistenceIn(config.dataDir, { verifierKey: o.verifierKey, origin: config.origin }, { chainId: anchored.chainId, address: anchored.contract }),
          );
        if (config.tlogDir !== undefined) tlogCopy = await ContinuousPublisher.start({ dir: config.tlogDir, tiles, logger });
      },
      async stop() {
        const [t, c] = [tlogCopy, cosigner];
        [tlogCopy, cosigner] = [undefined, undefined];
        await t?.close();
        await c?.close();
      },
      publishedPoint: () => cosigner?.publishedPoint() ?? null,
    },
  };
}
