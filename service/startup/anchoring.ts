/**
 * The chain and who anchors on it. With LevelDB this process is the only one
 * and anchors for its whole life (startChain). With PostgreSQL every replica
 * connects to the chain, and the leadership loop (service/leader) gives the
 * anchorer, and the publishing stages, to one replica at a time.
 */
import type { Logger } from "pino";
import type { Config } from "../config";
import { connectChain, startChain, type ChainConfig, type ChainConnection, type RunningChain } from "../chain";
import type { ChainClient } from "../chain/client";
import type { NoteSigner } from "../log";
import type { Ledger } from "../ledger/ledger";
import { loadLeaderConfig, type LeaderConfig } from "../leader/config";
import { openReplicas, type AnchorView, type LeaderStages, type LeaderStatus, type Replicas } from "../leader/replicas";
import type { AnchoringInfo } from "../http/receipts";
import type { AnchoredPoint } from "../ledger/receipts";
import type { LedgerStore } from "../store/store";

/**
 * What the receipt routes need to know of the anchoring side. Receipts cite
 * the anchored checkpoint, which is what is published without a witness
 * policy; with one, setUpPublishing has them cite the cosigned one instead.
 */
export function anchoringInfo(chain: { readonly client: Pick<ChainClient, "chainId" | "address">; readonly fromBlock: number }, view: Pick<AnchorView, "anchored">, everyMs: number): AnchoringInfo {
  const { chainId, address } = chain.client;
  function anchored(): AnchoredPoint | null {
    const a = view.anchored;
    return a === null ? null : { ...a, chainId, contract: address };
  }
  return { chainId, contract: address, fromBlock: chain.fromBlock, retryAfterSeconds: Math.max(1, Math.ceil(everyMs / 1000)), anchored, cited: anchored };
}

export interface AnchoringOptions {
  readonly config: Config;
  /** false: LEDGER_CHAIN=off. */
  readonly chain: ChainConfig | false;
  /** Leadership among PostgreSQL replicas; default lease 5 s and a generated replica id. */
  readonly leader: LeaderConfig | undefined;
  readonly ledger: Ledger;
  readonly store: LedgerStore;
  readonly noteSigner: NoteSigner;
  readonly logger: Logger;
}

/** The anchoring side of one service process. */
export interface Anchoring {
  /** The single process's chain and anchorer (LevelDB). */
  readonly chain: RunningChain | undefined;
  /** The chain every replica connects to (PostgreSQL); the leader's anchorer changes with each term. */
  readonly connection: ChainConnection | undefined;
  /** The leadership loop (PostgreSQL). */
  readonly replicas: Replicas | undefined;
  /** What the receipt routes are told; undefined without a chain. */
  readonly info: AnchoringInfo | undefined;
  /** The anchored checkpoint and status health reads: the own anchorer, or the record the leader keeps. */
  readonly view: AnchorView | undefined;
  /** Health turns bad once an entry waited longer than this for its anchor (0 without a chain). */
  readonly maxDelayMs: number;
  /** The chain's client, either way. */
  readonly client: ChainClient | undefined;
  /** Forward each ledger commit: the anchorer then looks at once. */
  notifyCommit(): void;
  leaderStatus(): LeaderStatus;
  /** Starts `stages` now (LevelDB), or in every term this replica leads (PostgreSQL). */
  lead(stages: LeaderStages): Promise<void>;
  /** Ends this replica's term, if it leads: its stages stopped, the lease released. */
  endTerm(): Promise<void>;
  /** Stops the anchorer and the local chain; call after the ledger closed. */
  close(): Promise<void>;
}

/**
 * Connects to the chain (or starts the local one) and, with PostgreSQL,
 * joins the leadership loop. Throws having closed what it opened.
 */
export async function startAnchoring(o: AnchoringOptions): Promise<Anchoring> {
  const { config, ledger, store, logger } = o;
  let chain: RunningChain | undefined;
  let connection: ChainConnection | undefined;
  let replicas: Replicas | undefined;
  let info: AnchoringInfo | undefined;
  let view: AnchorView | undefined;
  try {
    if (o.chain !== false) {
      const chainOptions = { config: o.chain, dataDir: config.dataDir, ledger, store, noteSigner: o.noteSigner, origin: config.origin, logger };
      if (config.databaseUrl === undefined) {
        chain = await startChain(chainOptions);
        view = chain.anchorer;
        info = anchoringInfo(chain, view, o.chain.everyMs);
      } else {
        if (o.chain.remote === undefined)
          logger.warn("LEDGER_LOCAL_CHAIN_SINGLE_REPLICA=1: anchoring on this replica's private local chain; run no other replica on this database");
        connection = await connectChain(chainOptions);
      }
    }
    if (config.databaseUrl !== undefined) {
      // Without settings, the defaults LEDGER_LEADER_LEASE_MS and LEDGER_REPLICA_ID document.
      const leader = o.leader ?? loadLeaderConfig({});
      replicas = await openReplicas({ databaseUrl: config.databaseUrl, leader, connection, store, halt: (rule, message) => ledger.halt(rule, message), logger });
      if (connection !== undefined && replicas.anchoring !== undefined) {
        view = replicas.anchoring;
        info = anchoringInfo(connection, view, o.chain === false ? 1000 : o.chain.everyMs);
      }
    }
  } catch (e) {
    await replicas?.close();
    await chain?.close();
    await connection?.close();
    throw e;
  }
  const replicaId = o.leader?.replicaId ?? "single";
  return {
    chain,
    connection,
    replicas,
    info,
    view,
    maxDelayMs: o.chain === false ? 0 : o.chain.maxDelayMs,
    client: (chain ?? connection)?.client,
    notifyCommit() {
      chain?.anchorer.notify();
      replicas?.notifyCommit();
    },
    leaderStatus: () => replicas?.leaderStatus() ?? { leader: true, epoch: null, leaderId: replicaId, replicaId },
    lead: (stages) => (replicas === undefined ? stages.start() : replicas.lead(stages)),
    async endTerm() {
      await replicas?.close();
    },
    async close() {
      await chain?.close();
      await connection?.close();
    },
  };
}
