/**
 * Reading the service's public API: entries page by page, the signed
 * checkpoint, the log key, and proofs (as a {@link ProofOracle}). Nothing the
 * service says is trusted: every answer is checked against the chain or the
 * replayed tree by the audit. A service that cannot be reached, or answers
 * outside its protocol, is an AuditError (exit code 2), not a finding.
 */
import { canonicalBytes, equalBytes, fromHex, HASH_SIZE } from "../../../service/log";
import { AuditError, messageOf } from "./errors";
import type { EntrySource, LeafBatch, ProofOracle, PublishedCheckpoint, SourceProblem } from "./sources";

/**
 * The page size asked of /v1/log/entries: the service's largest
 * (MAX_PAGE in service/http/params.ts), so that an audit of n entries
 * reads about n / 1000 pages. A service that caps pages lower is followed
 * page by page from where each answer ends.
 */
export const SERVICE_PAGE = 1000;

/** How long one request keeps being retried by default before the audit stops, incomplete. */
export const DEFAULT_RETRY_FOR_MS = 300_000;
/** The longest single wait: a longer Retry-After is cut to it (and the request tried again). */
const MAX_WAIT_MS = 60_000;
/** Backoff after a failure that names no wait: 0.5 s, doubling, at most this. */
const MAX_BACKOFF_MS = 15_000;

export interface ServiceClientOptions {
  /** Per attempt. */
  readonly timeoutMs?: number;
  /** How long one request may keep being retried (from its first attempt) before the audit stops as incomplete. */
  readonly retryForMs?: number;
  /** Told of every wait before a retry (the CLI prints it on stderr). */
  readonly onWait?: (message: string) => void;
  /** For tests: a fetch to use instead of the global one. */
  readonly fetch?: typeof fetch;
  /** For tests: how to wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** A failure worth trying again: the service or the path to it may recover. */
class Transient extends Error {
  constructor(
    message: string,
    /** What the service asked us to wait (Retry-After), in ms, if it said. */
    readonly waitMs: number | null,
  ) {
    super(message);
  }
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; null when absent or unreadable. */
function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const t = header.trim();
  if (/^[0-9]{1,9}$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** Whether `shown` (the service's `entry` beside a leaf) is the entry the leaf bytes encode. */
export function showsLeaf(shown: unknown, bytes: Uint8Array): boolean {
  try {
    return equalBytes(canonicalBytes(shown), bytes);
  } catch {
    return false;
  }
}

export class ServiceClient {
  readonly base: string;
  private readonly _fetch: typeof fetch;
  private readonly _timeoutMs: number;
  private readonly _retryForMs: number;
  private readonly _onWait: (message: string) => void;
  private readonly _sleep: (ms: number) => Promise<void>;
  private readonly _now: () => number;
  /** Whether the service has answered at all (before that, a refused connection is a wrong URL, not an outage). */
  private _reached = false;
  /** A 429's Retry-After holds back every request, not only the one that got it. */
  private _pausedUntil = 0;
  /** Requests made, each attempt counted (for the report and the tests). */
  requests = 0;

  constructor(baseUrl: string, options: ServiceClientOptions = {}) {
    let u: URL;
    try {
      u = new URL(baseUrl);
    } catch {
      throw new AuditError("USAGE", `--service ${JSON.stringify(baseUrl)} is not a URL`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new AuditError("USAGE", "--service must be an http or https URL");
    this.base = u.toString().replace(/\/+$/, "");
    this._fetch = options.fetch ?? fetch;
    this._timeoutMs = options.timeoutMs ?? 30_000;
    this._retryForMs = options.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    this._onWait = options.onWait ?? (() => {});
    this._sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this._now = options.now ?? Date.now;
  }

  /**
   * GET `path` and read its body with `read`, retrying what may pass: a
   * refused or reset connection, a timeout, HTTP 429 and 5xx, a body cut
   * short or not JSON. A 429 or 503 is retried after its Retry-After (at
   * most a minute a wait), anything else after a doubling backoff. Chosen:
   * one deadline per request (`retryForMs` from its first attempt) rather
   * than a count of attempts, so that a rate limit's minute-long window is
   * waited out but a dead service stops the audit in bounded time. When it
   * passes, the audit stops (AuditError UNREACHABLE, exit 2, "incomplete"):
   * a transport failure is never a finding. Any other 4xx is the service's
   * answer (REFUSED), not retried.
   */
  private async _request<T>(path: string, read: (res: Response) => Promise<T>): Promise<T> {
    const first = this._now();
    for (let attempt = 1; ; attempt++) {
      const pause = this._pausedUntil - this._now();
      if (pause > 0) await this._sleep(pause);
      let failure: Transient;
      try {
        return await this._attempt(path, read);
      } catch (e) {
        if (!(e instanceof Transient)) throw e;
        failure = e;
      }
      const backoff = Math.min(500 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      const wait = Math.min(failure.waitMs ?? backoff, MAX_WAIT_MS);
      const spent = this._now() - first;
      if (spent + wait > this._retryForMs)
        throw new AuditError(
          "UNREACHABLE",
          `GET ${path} at ${this.base} kept failing for ${Math.round(spent / 1000)} s over ${attempt} attempts (last: ${failure.message}); stopped without a verdict`,
        );
      if (failure.waitMs !== null) this._pausedUntil = Math.max(this._pausedUntil, this._now() + wait);
      this._onWait(`GET ${path}: ${failure.message}; retrying in ${(wait / 1000).toFixed(1)} s${failure.waitMs !== null ? " (as Retry-After asks)" : ""} (attempt ${attempt + 1})`);
      await this._sleep(wait);
    }
  }

  private async _attempt<T>(path: string, read: (res: Response) => Promise<T>): Promise<T> {
    this.requests++;
    let res: Response;
    try {
      res = await this._fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(this._timeoutMs) });
    } catch (cause) {
      // Before the service ever answered, a failed connection is most likely a wrong URL: say so at once.
      if (!this._reached) throw new AuditError("UNREACHABLE", `cannot reach the service at ${this.base}: ${messageOf(cause)}`, { cause });
      throw new Transient(`no answer (${messageOf(cause)})`, null);
    }
    this._reached = true;
    if (!res.ok) {
      let detail = "";
      try {
        const p = (await res.json()) as { detail?: unknown };
        if (typeof p.detail === "string") detail = `: ${p.detail}`;
      } catch {
        // no problem+json body
      }
      if (res.status === 429 || res.status >= 500)
        throw new Transient(`HTTP ${res.status}${res.status === 429 ? " (rate limited)" : ""}`, retryAfterMs(res.headers.get("retry-after"), this._now()));
      throw new AuditError("REFUSED", `GET ${path} answered HTTP ${res.status}${detail}`);
    }
    try {
      return await read(res);
    } catch (e) {
      if (e instanceof AuditError) throw e;
      // A body cut short by a reset, or JSON that does not parse: the transport's fault until shown otherwise.
      throw new Transient(`the answer was cut short or is not JSON (${messageOf(e)})`, null);
    }
  }

  json(path: string): Promise<unknown> {
    return this._request(path, async (res) => (await res.json()) as unknown);
  }

  text(path: string): Promise<string> {
    return this._request(path, (res) => res.text());
  }

  /** The service's current signed checkpoint (C2SP signed note). */
  checkpoint(): Promise<string> {
    return this.text("/v1/log/checkpoint");
  }

  /** The log key the service publishes (to be compared with a trusted copy). */
  async logKey(): Promise<string> {
    return (await this.text("/v1/log/key")).trim();
  }

  /** Where the service says it is anchored (used only when the auditor gave no --contract). */
  async chainInfo(): Promise<{ chainId: number; contract: string } | null> {
    let body: unknown;
    try {
      body = await this.json("/v1/chain");
    } catch (e) {
      if (e instanceof AuditError && e.code === "REFUSED") return null;
      throw e;
    }
    const b = body as { chainId?: unknown; contract?: unknown };
    if (typeof b.chainId !== "number" || typeof b.contract !== "string") throw new AuditError("PROTOCOL", "GET /v1/chain answered without chainId and contract");
    return { chainId: b.chainId, contract: b.contract };
  }

  /** One page of entries [start, end), as the service answers it. */
  async entriesPage(start: number, end: number): Promise<{ treeSize: number; batch: LeafBatch }> {
    const path = `/v1/log/entries?start=${start}&end=${end}`;
    const body = (await this.json(path)) as { treeSize?: unknown; entries?: unknown };
    if (typeof body.treeSize !== "number" || !Array.isArray(body.entries)) throw new AuditError("PROTOCOL", `GET ${path} answered without treeSize and entries`);
    const n = body.entries.length;
    const parts: Buffer[] = [];
    const indices = new Array<number>(n);
    const starts = new Array<number>(n);
    const ends = new Array<number>(n);
    const shown = new Array<unknown>(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const item = body.entries[i] as { leafIndex?: unknown; leaf?: unknown; entry?: unknown };
      if (typeof item !== "object" || item === null || typeof item.leafIndex !== "number" || typeof item.leaf !== "string")
        throw new AuditError("PROTOCOL", `GET ${path}: item ${i} has no leafIndex and leaf`);
      const bytes = Buffer.from(item.leaf, "utf8");
      parts.push(bytes);
      indices[i] = item.leafIndex;
      starts[i] = at;
      at += bytes.length;
      ends[i] = at;
      shown[i] = item.entry;
    }
    const data = Buffer.concat(parts, at);
    // The entry shown beside a canonical leaf must be the one the leaf encodes.
    const check = (_: Uint8Array, faults: readonly (string | null)[]): SourceProblem[] =>
      indices.flatMap((index, i) =>
        faults[i] === null && shown[i] !== undefined && !showsLeaf(shown[i], data.subarray(starts[i]!, ends[i]!))
          ? [{ kind: "record-mismatch" as const, message: `leaf ${index}: the entry the service shows is not the entry in the leaf it serves`, leafIndex: index }]
          : [],
      );
    return { treeSize: body.treeSize, batch: { length: n, indices, data, starts, ends, check } };
  }

  /**
   * Streams entries [0, until) page by page, the next page requested while
   * the current one is processed. Stops early when the service has fewer.
   * Pages are as large as the service allows (SERVICE_PAGE).
   */
  async *entries(until: number, pageSize = SERVICE_PAGE): AsyncGenerator<LeafBatch> {
    let start = 0;
    let pending = until > 0 ? this.entriesPage(0, Math.min(until, pageSize)) : undefined;
    while (pending !== undefined) {
      const { treeSize, batch } = await pending;
      const reached = start + batch.length;
      const more = batch.length > 0 && reached < until && reached < treeSize;
      pending = more ? this.entriesPage(reached, Math.min(until, reached + pageSize)) : undefined;
      // A failed prefetch must not become an unhandled rejection while this page is processed.
      pending?.catch(() => {});
      if (batch.length > 0) yield batch;
      start = reached;
    }
  }

  /** The service as a proof oracle: proofs it serves are checked by the caller against chain roots. */
  oracle(): ProofOracle {
    const hashes = (x: unknown, what: string): Uint8Array[] => {
      if (!Array.isArray(x)) throw new AuditError("PROTOCOL", `${what} has no proof array`);
      return x.map((h) => {
        const b = typeof h === "string" && /^[0-9a-f]{64}$/.test(h) ? fromHex(h) : undefined;
        if (b === undefined || b.length !== HASH_SIZE) throw new AuditError("PROTOCOL", `${what} holds a malformed hash`);
        return b;
      });
    };
    return {
      description: `the service at ${this.base}`,
      inclusionProof: async (index, size) => {
        const path = `/v1/log/proof/inclusion?index=${index}&size=${size}`;
        return hashes(((await this.json(path)) as { proof?: unknown }).proof, path);
      },
      consistencyProof: async (size1, size2) => {
        const path = `/v1/log/proof/consistency?from=${size1}&to=${size2}`;
        return hashes(((await this.json(path)) as { proof?: unknown }).proof, path);
      },
    };
  }
}

/**
 * The service as an entry source: its current signed checkpoint is fetched
 * when the source is opened (a published checkpoint, checked for split
 * view), its entries are paged, and its proofs serve to locate damage.
 */
export class ServiceSource implements EntrySource {
  readonly kind = "service";
  readonly description: string;
  readonly published: readonly PublishedCheckpoint[];
  readonly oracle: ProofOracle;

  private constructor(
    readonly client: ServiceClient,
    /** The signed checkpoint the service showed when the audit began. */
    readonly checkpointNote: string,
  ) {
    this.description = `the service at ${client.base}`;
    this.published = [{ label: "the service", note: checkpointNote }];
    this.oracle = client.oracle();
  }

  static async open(client: ServiceClient): Promise<ServiceSource> {
    return new ServiceSource(client, await client.checkpoint());
  }

  leaves(until: number): AsyncIterable<LeafBatch> {
    return this.client.entries(until);
  }

  async close(): Promise<void> {}
}
