/**
 * The HTTP app of one service, built from what the other start-up steps
 * opened: the ledger and read model, tokens and access codes, the anchoring
 * side, the published log, the metrics, and /v1/health.
 */
import type { Logger } from "pino";
import type { Config } from "../config";
import { createApp } from "../http/app";
import { Tokens } from "../http/tokens";
import { systemClock } from "../clock";
import { CheckpointSigner } from "../ledger/checkpoints";
import type { Ledger } from "../ledger/ledger";
import type { ServiceMetrics } from "../metrics/metrics";
import { witnessesHealthy } from "../publish/witnesses";
import type { WitnessPolicy } from "../format/witness-policy";
import { Queries } from "../queries/queries";
import type { Anchoring } from "./anchoring";
import type { ServiceKeys } from "./keys";
import type { Publishing } from "./publishing";
import type { OpenedStore } from "./store";

export interface ServiceAppOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly opened: OpenedStore;
  readonly ledger: Ledger;
  readonly keys: ServiceKeys;
  readonly anchoring: Anchoring;
  readonly publishing: Publishing;
  readonly policy: WitnessPolicy | null;
  readonly metrics: ServiceMetrics | undefined;
  /** Serve GET /metrics on the public port behind this token (when metrics are not on their own address). */
  readonly metricsToken: string | undefined;
}

/**
 * /v1/health: ok while nothing anchoring-fatal happened, no entry waited
 * past the anchoring delay, the witnesses are healthy and the synchronous
 * standby keeps up; with which replica leads.
 */
function health(o: ServiceAppOptions): () => Promise<Record<string, unknown> & { ok: boolean }> {
  const { ledger, anchoring } = o;
  const { maxDelayMs, view } = anchoring;
  return async () => {
    const db = o.opened.replication?.health();
    const dbHealth = db === undefined ? {} : { replication: db };
    const leader = anchoring.leaderStatus();
    if (view === undefined) return { ok: db?.ok ?? true, treeSize: ledger.size, anchoring: "off", leader, ...dbHealth };
    const st = await view.status();
    const waitedMs = st.oldestUnanchoredAt === null ? 0 : Date.now() - Date.parse(st.oldestUnanchoredAt);
    const witnesses = o.publishing.witnessStatus();
    return {
      ok: st.fatal === null && waitedMs <= maxDelayMs && (witnesses === undefined || witnessesHealthy(witnesses)) && (db?.ok ?? true),
      treeSize: ledger.size,
      anchoring: {
        anchoredSize: st.anchoredSize,
        lagEntries: st.lagEntries,
        oldestUnanchoredAt: st.oldestUnanchoredAt,
        lagSeconds: Math.round(waitedMs / 1000),
        maxDelaySeconds: Math.round(maxDelayMs / 1000),
        lastError: st.lastError,
        fatal: st.fatal,
      },
      ...(witnesses === undefined ? {} : { witnesses }),
      ...dbHealth,
      leader,
    };
  };
}

export function serviceApp(o: ServiceAppOptions): ReturnType<typeof createApp> {
  const { config, ledger, keys, metrics, anchoring } = o;
  const { store, shared } = o.opened;
  const checkpoints = new CheckpointSigner(ledger, keys.logKey.signer, config.origin);
  const receipts = o.publishing.receipts;
  return createApp({
    ledger,
    queries: new Queries({ store, size: () => ledger.size }),
    tokens: new Tokens(store, systemClock),
    logger: o.logger,
    signedCheckpoint: async () => checkpoints.latest(),
    health: health(o),
    config: { bodyLimit: config.bodyLimit, rateLimit: config.rateLimit, trustProxy: config.trustProxy },
    logKey: keys.logKey.verifierKey,
    accessCodes: keys.accessCodes,
    ...(receipts !== undefined ? { anchoring: receipts } : {}),
    tiles: o.publishing.tiles,
    ...(metrics !== undefined ? { metrics } : {}),
    ...(metrics !== undefined && o.metricsToken !== undefined ? { metricsToken: o.metricsToken } : {}),
    ...(shared ? { rateLimitCounters: shared } : {}),
    // The portal at /. Visitors' browsers read checkpoints from the chain itself at LEDGER_PUBLIC_RPC_URL,
    // or, with the local anvil, at its loopback URL (reachable from browsers on this machine).
    portal: {
      ...(config.publicRpcUrl !== undefined ? { rpcUrl: config.publicRpcUrl } : anchoring.chain?.local !== undefined ? { rpcUrl: anchoring.chain.local.url } : {}),
      // The keys the page's verification trusts, served at /portal/trust: the log key and the witness policy.
      logKey: keys.logKey.verifierKey,
      witnessPolicy: o.policy,
    },
  });
}
