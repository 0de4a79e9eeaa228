/**
 * Reading the service's public API: entries page by page, the signed
 * checkpoint, the log key, and proofs (as a {@link ProofOracle}). Nothing the
 * service says is trusted: every answer is checked against the chain or the
 * replayed tree by the audit. A service that cannot be reached, or answers
 * outside its protocol, is an AuditError (exit code 2), not a finding.
 */
import { fromHex, HASH_SIZE } from "../../../service/log";
import { AuditError, messageOf } from "./errors";
import type { EntrySource, LeafBatch, ProofOracle, PublishedCheckpoint } from "./sources";

/** The service's largest page of /v1/log/entries. */
export const SERVICE_PAGE = 1000;

export interface ServiceClientOptions {
  readonly timeoutMs?: number;
  /** For tests: a fetch to use instead of the global one. */
  readonly fetch?: typeof fetch;
}

export class ServiceClient {
  readonly base: string;
  private readonly _fetch: typeof fetch;
  private readonly _timeoutMs: number;

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
  }

  private async _get(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await this._fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(this._timeoutMs) });
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `cannot reach the service at ${this.base}: ${messageOf(cause)}`, { cause });
    }
    if (!res.ok) {
      let detail = "";
      try {
        const p = (await res.json()) as { detail?: unknown };
        if (typeof p.detail === "string") detail = `: ${p.detail}`;
      } catch {
        // no problem+json body
      }
      throw new AuditError(res.status === 404 ? "PROTOCOL" : "UNREACHABLE", `GET ${path} answered HTTP ${res.status}${detail}`);
    }
    return res;
  }

  async json(path: string): Promise<unknown> {
    const res = await this._get(path);
    try {
      return (await res.json()) as unknown;
    } catch (cause) {
      throw new AuditError("PROTOCOL", `GET ${path} did not answer JSON`, { cause });
    }
  }

  async text(path: string): Promise<string> {
    return (await this._get(path)).text();
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
      if (e instanceof AuditError && e.code === "PROTOCOL") return null;
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
    const texts = new Array<string>(n);
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
      texts[i] = item.leaf;
      shown[i] = item.entry;
    }
    return { treeSize: body.treeSize, batch: { length: n, indices, data: Buffer.concat(parts, at), starts, ends, texts, shown } };
  }

  /**
   * Streams entries [0, until) page by page, the next page requested while
   * the current one is processed. Stops early when the service has fewer.
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
