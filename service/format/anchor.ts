/**
 * LedgerAnchor's public views, and reading them over JSON-RPC: the one
 * contract reader of the portal, the auditor and the service (whose client,
 * service/chain/client.ts, keeps TypeChain for sending transactions), and
 * the one JSON-RPC transport over HTTP, which that client adapts to its
 * retries and error codes.
 *
 * The codec is ABI encoding written out for four views, so the browser
 * bundle carries no ethers:
 *   checkpointCount() → uint256
 *   checkpointAt(uint256) → (uint64 treeSize, uint64 timestamp, bytes32 rootHash)
 *   latestCheckpoint() → the same tuple (all zeros before the first anchor)
 *   isAnchored(uint64 treeSize, bytes32 rootHash) → bool
 * test/web/chain.test.ts checks the selectors and the tuple's order
 * against the compiled ABI.
 *
 * The reader talks to an EIP-1193-style provider (`request({ method,
 * params })`): a browser wallet, Hardhat's provider, or {@link httpProvider}
 * over a `fetch` the caller passes in (this module does no I/O of its own).
 */

import { CodedError } from "../log";

export const SELECTOR_CHECKPOINT_COUNT = "0x1f618cd2";
export const SELECTOR_CHECKPOINT_AT = "0xff9536db";
export const SELECTOR_LATEST_CHECKPOINT = "0x907c0f92";
export const SELECTOR_IS_ANCHORED = "0x15c32167";

/** One checkpoint as LedgerAnchor holds it. */
export interface AnchorCheckpoint {
  readonly treeSize: number;
  /** Block time of the anchoring, seconds since the epoch. */
  readonly timestamp: number;
  /** 0x and 64 lowercase hex digits. */
  readonly rootHex: string;
}

export type AnchorReadCode =
  /** No complete answer: the node could not be reached, timed out, the answer's body broke off (`status` set), or it answered HTTP 429 or 5xx (`status` set). */
  | "TRANSPORT"
  /** The node refused: a JSON-RPC error (`rpc` set), or an HTTP error status with a body that is not JSON (`rpc` unset). */
  | "RPC_ERROR"
  /** The answer is not JSON-RPC, or not the view's ABI encoding. */
  | "BAD_ANSWER";

/** The JSON-RPC error object a node answered, with the fields that were of the right type. */
export interface RpcErrorObject {
  readonly code?: number;
  readonly message?: string;
  readonly data?: unknown;
}

/**
 * A view that could not be read: the node was unreachable, refused, or
 * answered what is not the view's ABI encoding. From {@link httpProvider},
 * `status` is the HTTP status whenever an answer came, and `rpc` the node's
 * JSON-RPC error, so a caller can classify without parsing messages.
 */
export class AnchorReadError extends CodedError<AnchorReadCode> {
  override readonly name = "AnchorReadError";
  readonly status: number | undefined;
  readonly rpc: RpcErrorObject | undefined;
  constructor(code: AnchorReadCode, message: string, options: { cause?: unknown; status?: number; rpc?: RpcErrorObject } = {}) {
    super(code, message, "cause" in options ? { cause: options.cause } : undefined);
    this.status = options.status;
    this.rpc = options.rpc;
  }
}

const HEX_ANSWER = /^0x(?:[0-9a-fA-F]{64})*$/;
const ROOT_HEX = /^0x[0-9a-f]{64}$/;

function words(hex: unknown, count: number, what: string): bigint[] {
  if (typeof hex !== "string" || !HEX_ANSWER.test(hex) || hex.length < 2 + 64 * count)
    throw new AnchorReadError("BAD_ANSWER", `${what}: the answer is not ${count} ABI words`);
  return Array.from({ length: count }, (_, i) => BigInt(`0x${hex.slice(2 + 64 * i, 2 + 64 * (i + 1))}`));
}

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new AnchorReadError("BAD_ANSWER", `${what} is beyond 2^53`);
  return Number(n);
}

const word = (n: number | bigint) => BigInt(n).toString(16).padStart(64, "0");

export function encodeCheckpointCount(): string {
  return SELECTOR_CHECKPOINT_COUNT;
}

export function decodeCheckpointCount(answer: unknown): number {
  return safe(words(answer, 1, "checkpointCount")[0]!, "checkpointCount");
}

/** Requires 0 ≤ index (a safe integer). */
export function encodeCheckpointAt(index: number): string {
  return SELECTOR_CHECKPOINT_AT + word(index);
}

export function decodeCheckpoint(answer: unknown, what = "checkpointAt"): AnchorCheckpoint {
  const [size, time, root] = words(answer, 3, what);
  if (size! >= 2n ** 64n || time! >= 2n ** 64n) throw new AnchorReadError("BAD_ANSWER", `${what}: a uint64 field holds more than 64 bits`);
  return { treeSize: safe(size!, `${what} treeSize`), timestamp: safe(time!, `${what} timestamp`), rootHex: `0x${word(root!)}` };
}

export function encodeLatestCheckpoint(): string {
  return SELECTOR_LATEST_CHECKPOINT;
}

/** Requires 0 ≤ treeSize < 2^64 and `rootHex` 0x and 64 lowercase hex digits. */
export function encodeIsAnchored(treeSize: number, rootHex: string): string {
  if (!ROOT_HEX.test(rootHex)) throw new RangeError("isAnchored: the root must be 0x and 64 lowercase hex digits");
  return SELECTOR_IS_ANCHORED + word(treeSize) + rootHex.slice(2);
}

export function decodeIsAnchored(answer: unknown): boolean {
  const [b] = words(answer, 1, "isAnchored");
  if (b! > 1n) throw new AnchorReadError("BAD_ANSWER", "isAnchored: the answer is not a bool");
  return b === 1n;
}

/** The EIP-1193 request function: all the reader needs of a provider, and the one provider type of the project (the service's client speaks it too). */
export interface Eip1193Provider {
  request(args: { readonly method: string; readonly params?: readonly unknown[] }): Promise<unknown>;
}

/** The part of `fetch` the HTTP provider uses (the browser's, Node's, or a test's). */
export type FetchLike = (url: string, init: { method: "POST"; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export interface HttpProviderOptions {
  /** Abort each request after this many milliseconds. */
  readonly timeoutMs?: number;
}

/** The provider: `shown` is its URL as messages show it, without credentials. */
export type HttpProvider = Eip1193Provider & { readonly shown: string };

const transientStatus = (status: number) => status === 429 || status >= 500;

/**
 * An EIP-1193 provider over JSON-RPC on HTTP. Credentials in the URL
 * (`https://user:pass@node`) are sent as HTTP Basic authentication, since
 * fetch refuses a URL that carries them, and are never shown in a message.
 * Errors are {@link AnchorReadError}: TRANSPORT when no complete answer came
 * or the node answered HTTP 429/5xx; RPC_ERROR for the node's own refusal
 * (with `rpc`, the JSON-RPC error object); BAD_ANSWER for an answer that is
 * not JSON-RPC. Every error after an answer came carries its HTTP `status`.
 */
export function httpProvider(rpcUrl: string, fetchFn: FetchLike, options: HttpProviderOptions = {}): HttpProvider {
  let id = 0;
  let [url, authorization] = [rpcUrl, undefined as string | undefined];
  const u = URL.canParse(rpcUrl) ? new URL(rpcUrl) : null;
  if (u !== null && (u.username !== "" || u.password !== "")) {
    const pair = new TextEncoder().encode(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`);
    authorization = `Basic ${btoa(String.fromCharCode(...pair))}`;
    u.username = u.password = "";
    url = u.toString();
  }
  const shown = url;
  return {
    shown,
    async request({ method, params = [] }) {
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await fetchFn(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(authorization !== undefined ? { authorization } : {}) },
          body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
          ...(options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
        });
      } catch (e) {
        throw new AnchorReadError("TRANSPORT", `cannot reach the RPC node at ${shown}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      const { status } = res;
      let body: unknown;
      let notJson: SyntaxError | undefined;
      try {
        body = await res.json();
      } catch (e) {
        // Fetch's json() rejects with a SyntaxError for a body that is not JSON; anything else is the body breaking off.
        if (!(e instanceof SyntaxError))
          throw new AnchorReadError("TRANSPORT", `the answer of the RPC node at ${shown} broke off: ${e instanceof Error ? e.message : String(e)}`, { cause: e, status });
        notJson = e;
      }
      if (transientStatus(status)) throw new AnchorReadError("TRANSPORT", `the RPC node at ${shown} answered HTTP ${status}`, { status });
      if (notJson !== undefined) {
        const ok = status >= 200 && status < 300;
        throw new AnchorReadError(ok ? "BAD_ANSWER" : "RPC_ERROR", `the RPC node at ${shown} answered HTTP ${status} without JSON`, { cause: notJson, status });
      }
      if (typeof body !== "object" || body === null || Array.isArray(body))
        throw new AnchorReadError("BAD_ANSWER", `the RPC node at ${shown} answered ${method} with what is not a JSON-RPC object`, { status });
      const b = body as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } | null };
      // A null error is no error: some nodes send "error": null beside the result.
      if (b.error !== undefined && b.error !== null) {
        const o = typeof b.error === "object" ? b.error : {};
        const rpc: RpcErrorObject = {
          ...(typeof o.code === "number" ? { code: o.code } : {}),
          ...(typeof o.message === "string" ? { message: o.message } : {}),
          ...("data" in o ? { data: o.data } : {}),
        };
        throw new AnchorReadError("RPC_ERROR", `the RPC node at ${shown} refused ${method}: ${rpc.message ?? "no message"}`, { status, rpc });
      }
      if (!("result" in b)) throw new AnchorReadError("BAD_ANSWER", `the RPC node at ${shown} answered ${method} with neither result nor error`, { status });
      return b.result;
    },
  };
}

/** Where a view is read: the latest block, or a block number (a confirmed block, say). */
export type BlockTag = "latest" | number;

const blockParam = (block: BlockTag) => (block === "latest" ? block : `0x${block.toString(16)}`);

/** LedgerAnchor's views at `address`, read through `provider`, at the latest block unless a view is given another. */
export class AnchorReader {
  constructor(
    private readonly _provider: Eip1193Provider,
    readonly address: string,
  ) {}

  /** A provider's own error is kept as the cause, so a caller that wrapped the provider can take it back. */
  private async _call(data: string, what: string, block: BlockTag): Promise<unknown> {
    try {
      return await this._provider.request({ method: "eth_call", params: [{ to: this.address, data }, blockParam(block)] });
    } catch (e) {
      if (e instanceof AnchorReadError) throw e;
      throw new AnchorReadError("RPC_ERROR", `${what}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`, { cause: e });
    }
  }

  async chainId(): Promise<number> {
    const r = await this._provider.request({ method: "eth_chainId" });
    if (typeof r !== "string" || !/^0x[0-9a-fA-F]+$/.test(r)) throw new AnchorReadError("BAD_ANSWER", "eth_chainId did not return a hex number");
    return safe(BigInt(r), "chain id");
  }

  /** Whether there is code at the address (a contract, not an empty account). */
  async hasCode(): Promise<boolean> {
    const code = await this._provider.request({ method: "eth_getCode", params: [this.address, "latest"] });
    return typeof code === "string" && code !== "0x" && code !== "0x0";
  }

  async checkpointCount(block: BlockTag = "latest"): Promise<number> {
    return decodeCheckpointCount(await this._call(encodeCheckpointCount(), "checkpointCount", block));
  }

  /** Reverts (LedgerAnchorCheckpointOutOfRange) when `index` ≥ checkpointCount. */
  async checkpointAt(index: number, block: BlockTag = "latest"): Promise<AnchorCheckpoint> {
    return decodeCheckpoint(await this._call(encodeCheckpointAt(index), `checkpointAt(${index})`, block));
  }

  /** The latest checkpoint; treeSize 0 and a zero root before the first anchor. */
  async latestCheckpoint(block: BlockTag = "latest"): Promise<AnchorCheckpoint> {
    return decodeCheckpoint(await this._call(encodeLatestCheckpoint(), "latestCheckpoint", block), "latestCheckpoint");
  }

  async isAnchored(treeSize: number, rootHex: string, block: BlockTag = "latest"): Promise<boolean> {
    return decodeIsAnchored(await this._call(encodeIsAnchored(treeSize, rootHex), "isAnchored", block));
  }
}
