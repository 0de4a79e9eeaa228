/**
 * The operators' metrics, in Prometheus's text format (prom-client), kept in
 * a registry of their own so nothing else in the process (a library using
 * prom-client's global registry) can add to or read from what /metrics shows.
 *
 * Two kinds of metric:
 * - events, counted as they happen through the observers this class hands
 *   out (the sequencer's commits, HTTP requests, rate-limit refusals, the
 *   chain client's retried RPC failures);
 * - state, read from {@link MetricSources} at each scrape (tree size,
 *   anchoring, the published checkpoint, witnesses, leadership), so a
 *   scrape never shows a value older than itself.
 *
 * Labels take values from small fixed sets only (route patterns, limiter
 * names, error codes, method names), never from request data, so a client
 * cannot grow the label set.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { LedgerObserver } from "../ledger/ledger";

/** The anchoring side as a scrape sees it; see the anchorer's status(). */
export interface AnchoringSnapshot {
  /** Entries covered by the latest anchored checkpoint. */
  readonly anchoredSize: number;
  /** Entries not covered by it yet. */
  readonly lagEntries: number;
  /** How long the oldest of those has waited, in seconds (0 when none waits). */
  readonly lagSeconds: number;
  /** Anchoring stopped for a reason a human must look at. */
  readonly fatal: boolean;
}

/** The checkpoint the log publishes (/tlog/checkpoint, cited by receipts). */
export interface PublishedSnapshot {
  readonly size: number;
  /** RFC 3339: when the chain recorded it (its block time). */
  readonly anchoredAt: string;
}

/** Witnessing as a scrape sees it; see WitnessCosigner.status(). */
export interface WitnessSnapshot {
  readonly witnesses: readonly { readonly name: string; readonly lagEntries: number; readonly alarm: string | null }[];
  readonly blocked: boolean;
}

/** What the state metrics are read from, at each scrape. */
export interface MetricSources {
  /** The durable tree size. */
  treeSize(): number;
  /** Whether recording is halted (the ledger refuses every submission). */
  recordingHalted(): boolean;
  /**
   * Whether this process is the leader: the one that sequences and anchors.
   * A single-process service always is ({@link singleProcessLeader}); a
   * service with leader election reports its election's answer here.
   */
  isLeader(): boolean;
  /** Absent when the service runs without a chain: the anchoring and checkpoint metrics are then not exported. */
  anchoring?(): Promise<AnchoringSnapshot>;
  /** The published checkpoint, or null while none is; with {@link anchoring} only. */
  published?(): PublishedSnapshot | null;
  /** Absent when no witness policy is set: the witness metrics are then not exported. */
  witnesses?(): WitnessSnapshot;
  /** Seconds since the Unix epoch (default Date.now). */
  now?(): number;
}

/**
 * LEADER STATUS. The single-process service is always its own leader. A
 * service with leader election passes its own leaderStatus() as
 * MetricSources.isLeader instead of this (service/main.ts wires it).
 */
export const singleProcessLeader = (): boolean => true;

/** The rate limiters of the HTTP app, as labelled in `ledger_rate_limited_total`. */
export type LimiterName = "public" | "admin" | "tlog";

/** Route label of a request no route matched (404s, static portal assets). */
export const NO_ROUTE = "none";

/** The HTTP methods Node's parser accepts that the API uses; others are counted as "other". */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

export class ServiceMetrics {
  /** prom-client's registry of this service's metrics; /metrics serves its text. */
  readonly registry = new Registry();
  private readonly _httpRequests: Counter<"method" | "route" | "status">;
  private readonly _httpSeconds: Histogram<"method" | "route">;
  private readonly _rateLimited: Counter<"limiter">;
  private readonly _rpcErrors: Counter<"kind" | "method">;
  private readonly _batchEntries: Histogram;
  private readonly _commitSeconds: Histogram;
  private readonly _commitFailures: Counter;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const nowSeconds = () => (sources.now ? sources.now() : Date.now() / 1000);

    new Gauge({
      name: "ledger_tree_size",
      help: "Entries in the log's durable tree.",
      registers,
      collect() {
        this.set(sources.treeSize());
      },
    });
    new Gauge({
      name: "ledger_recording_halted",
      help: "1 while recording is halted (every submission is refused), else 0.",
      registers,
      collect() {
        this.set(sources.recordingHalted() ? 1 : 0);
      },
    });
    new Gauge({
      name: "ledger_leader",
      help: "1 when this process is the leader (it sequences and anchors), else 0.",
      registers,
      collect() {
        this.set(sources.isLeader() ? 1 : 0);
      },
    });

    const anchoring = sources.anchoring;
    if (anchoring !== undefined) {
      // One status read per scrape, shared by the anchoring gauges (prom-client collects them in turn).
      let pending: Promise<AnchoringSnapshot> | undefined;
      const snapshot = (): Promise<AnchoringSnapshot> => {
        pending ??= anchoring().finally(() => {
          pending = undefined;
        });
        return pending;
      };
      const gauge = (name: string, help: string, pick: (s: AnchoringSnapshot) => number) =>
        new Gauge({
          name,
          help,
          registers,
          async collect() {
            this.set(pick(await snapshot()));
          },
        });
      gauge("ledger_anchored_size", "Entries covered by the latest checkpoint anchored on the chain.", (s) => s.anchoredSize);
      gauge("ledger_anchoring_lag_entries", "Entries not yet covered by an anchored checkpoint.", (s) => s.lagEntries);
      gauge("ledger_anchoring_lag_seconds", "How long the oldest entry not yet anchored has waited (0 when none waits).", (s) => s.lagSeconds);
      gauge("ledger_anchoring_fatal", "1 when anchoring stopped for a reason a human must look at, else 0.", (s) => (s.fatal ? 1 : 0));
      const published = sources.published ?? (() => null);
      new Gauge({
        name: "ledger_checkpoint_size",
        help: "Size of the published checkpoint (/tlog/checkpoint); 0 while none is published.",
        registers,
        collect() {
          this.set(published()?.size ?? 0);
        },
      });
      new Gauge({
        name: "ledger_checkpoint_age_seconds",
        help: "Seconds since the published checkpoint was anchored (its block time); NaN while none is published.",
        registers,
        collect() {
          const p = published();
          this.set(p === null ? Number.NaN : Math.max(0, nowSeconds() - Date.parse(p.anchoredAt) / 1000));
        },
      });
    }

    const witnesses = sources.witnesses;
    if (witnesses !== undefined) {
      new Gauge({
        name: "ledger_witness_lag_entries",
        help: "Anchored entries a witness has not cosigned yet, per witness of the policy.",
        labelNames: ["witness"] as const,
        registers,
        collect() {
          for (const w of witnesses().witnesses) this.set({ witness: w.name }, w.lagEntries);
        },
      });
      new Gauge({
        name: "ledger_witness_alarm",
        help: "1 while a witness reports a split view or refuses our proofs (a human must look), else 0.",
        labelNames: ["witness"] as const,
        registers,
        collect() {
          for (const w of witnesses().witnesses) this.set({ witness: w.name }, w.alarm === null ? 0 : 1);
        },
      });
      new Gauge({
        name: "ledger_witness_quorum_blocked",
        help: "1 while the witnesses that are not failing cannot make the quorum (publishing is stuck), else 0.",
        registers,
        collect() {
          this.set(witnesses().blocked ? 1 : 0);
        },
      });
    }

    this._batchEntries = new Histogram({
      name: "ledger_batch_entries",
      help: "Entries appended per durable commit of the sequencer.",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    this._commitSeconds = new Histogram({
      name: "ledger_commit_seconds",
      help: "Time the store took to commit one batch durably.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this._commitFailures = new Counter({ name: "ledger_commit_failures_total", help: "Batches the store failed to commit (their requests failed).", registers });
    this._httpRequests = new Counter({
      name: "ledger_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    });
    this._httpSeconds = new Histogram({
      name: "ledger_http_request_seconds",
      help: "Time from a request's arrival to the end of its response, by method and route pattern.",
      labelNames: ["method", "route"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this._rateLimited = new Counter({
      name: "ledger_rate_limited_total",
      help: "Requests refused with 429 by a rate limiter, by limiter.",
      labelNames: ["limiter"] as const,
      registers,
    });
    this._rpcErrors = new Counter({
      name: "ledger_rpc_errors_total",
      help: "Failed chain JSON-RPC calls that were retried, by error kind and JSON-RPC method.",
      labelNames: ["kind", "method"] as const,
      registers,
    });
  }

  /** The sequencer's observer (LedgerOptions.observer). */
  readonly ledger: LedgerObserver = {
    committed: (entries, seconds) => {
      this._batchEntries.observe(entries);
      this._commitSeconds.observe(seconds);
    },
    commitFailed: () => this._commitFailures.inc(),
  };

  /** Counts one answered HTTP request; `route` is the matched route's pattern, or {@link NO_ROUTE}. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const m = METHODS.has(method) ? method : "other";
    this._httpRequests.inc({ method: m, route, status: String(status) });
    this._httpSeconds.observe({ method: m, route }, seconds);
  }

  /** Counts one request a rate limiter refused. */
  rateLimited(limiter: LimiterName): void {
    this._rateLimited.inc({ limiter });
  }

  /**
   * Counts the chain client's retried failures (ChainClient.onRetry) by the
   * error's code and the JSON-RPC method. Returns the unsubscribe function.
   */
  watchChain(client: { onRetry(listener: (method: string, error: { readonly code: string }) => void): () => void }): () => void {
    return client.onRetry((method, error) => this._rpcErrors.inc({ kind: error.code, method: /^[a-z]+_[A-Za-z]+$/.test(method) ? method : "other" }));
  }

  /** The metrics in Prometheus's text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
