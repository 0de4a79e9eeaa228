/**
 * The operators' metrics (GET /metrics), when a token or an address asks for
 * them: the ledger's size and halt, leadership, anchoring lag, the published
 * checkpoint and the witnesses, read at each scrape.
 */
import type { Ledger } from "../ledger/ledger";
import { ServiceMetrics, type MetricSources } from "../metrics/metrics";
import type { WitnessPolicy } from "../format/witness-policy";
import type { Anchoring } from "./anchoring";
import type { Publishing } from "./publishing";

export interface ServiceMetricsOptions {
  readonly ledger: Ledger;
  readonly anchoring: Pick<Anchoring, "view" | "client" | "leaderStatus">;
  readonly publishing: Pick<Publishing, "publishedPoint" | "witnessStatus">;
  readonly policy: WitnessPolicy | null;
}

/** The metrics and the watch of the chain's client; call `unwatch` when the service stops. */
export function startMetrics(o: ServiceMetricsOptions): { readonly metrics: ServiceMetrics; unwatch(): void } {
  const { ledger, policy } = o;
  const anchors = o.anchoring.view;
  const sources: MetricSources = {
    treeSize: () => ledger.size,
    recordingHalted: () => ledger.halted !== null,
    isLeader: () => o.anchoring.leaderStatus().leader,
    ...(anchors === undefined
      ? {}
      : {
          anchoring: async () => {
            const st = await anchors.status();
            const lagMs = st.oldestUnanchoredAt === null ? 0 : Math.max(0, Date.now() - Date.parse(st.oldestUnanchoredAt));
            return { anchoredSize: st.anchoredSize, lagEntries: st.lagEntries, lagSeconds: lagMs / 1000, fatal: st.fatal !== null };
          },
          // What /tlog/checkpoint serves: the witnessed checkpoint with a policy, else the anchored one.
          published: () => (policy !== null ? o.publishing.publishedPoint() : anchors.anchored),
        }),
    // Only the leader runs the witness stage; a follower reports no witnesses.
    ...(policy === null ? {} : { witnesses: () => o.publishing.witnessStatus() ?? { witnesses: [], blocked: false } }),
  };
  const metrics = new ServiceMetrics(sources);
  const client = o.anchoring.client;
  const unwatch = client === undefined ? () => {} : metrics.watchChain(client);
  return { metrics, unwatch };
}
