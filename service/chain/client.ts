/**
 * A small client for the LedgerAnchor contract over plain Ethereum JSON-RPC.
 *
 * It assumes as little as possible of the node, so it works the same against
 * Hyperledger Besu (QBFT, often with a zero gas price), GoQuorum, a Hardhat
 * node, anvil, or Hardhat's in-process network:
 * - transactions are legacy (type 0), with the gas price from `eth_gasPrice`
 *   (zero allowed), an explicit nonce and an explicit chain id (EIP-155);
 *   nothing relies on EIP-1559 fee fields or on the node holding keys;
 * - the gas limit comes from `eth_estimateGas` plus headroom;
 * - it speaks EIP-1193 (`request({ method, params })`), which Hardhat's
 *   provider implements and {@link HttpJsonRpc} implements over fetch.
 *
 * LedgerAnchor's checkpoint views are read with the one contract reader
 * (service/format/anchor.ts, `AnchorReader`) over this client's retrying
 * transport; transactions, the role and pause views and events are encoded
 * and decoded with the TypeChain LedgerAnchor interface.
 * Transient failures (the node unreachable, timeouts, HTTP 429/5xx, JSON-RPC
 * internal errors) are retried a bounded number of times with exponential
 * backoff and jitter; everything else surfaces at once as a {@link ChainError}
 * whose `code` says what happened. Sending a raw transaction is safe to retry:
 * a node that already has it answers "already known", which counts as success.
 */
import { getAddress, keccak256, type BaseWallet, type Interface, type Result } from "ethers";
import type { LedgerAnchorInterface } from "../../.cache/typechain/contracts/LedgerAnchor";
import { ledgerAnchorArtifacts } from "./contract";
import { CodedError } from "../log/errors";
import { systemClock, type Clock } from "../clock";
import { AnchorReader, AnchorReadError, httpProvider, type AnchorCheckpoint, type BlockTag, type Eip1193Provider } from "../format/anchor";

// ---------------------------------------------------------------------------
// Transport

export type { Eip1193Provider };

/** An error answer from a JSON-RPC node, shaped like EIP-1193's ProviderRpcError. */
export class JsonRpcError extends Error {
  override readonly name = "JsonRpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/**
 * JSON-RPC 2.0 over HTTP(S): the one transport of service/format/anchor.ts
 * ({@link httpProvider}, which sends credentials in the URL as HTTP Basic
 * authentication), with a per-request timeout (default 15 s), its errors
 * turned into what {@link EvmRpc} retries and classifies: no answer, a
 * timeout or HTTP 429/5xx → ChainError UNAVAILABLE; the node's JSON-RPC error
 * → {@link JsonRpcError} (code, message, data); an answer that is not
 * JSON-RPC → BAD_RESPONSE, or RPC for an HTTP error status without JSON.
 * Messages never show the URL: it may carry credentials or a key in its path.
 */
export class HttpJsonRpc implements Eip1193Provider {
  private readonly _provider: Eip1193Provider;

  constructor(url: string, options: { readonly timeoutMs?: number } = {}) {
    if (!URL.canParse(url)) throw new ChainError("RPC", "the RPC URL is not a valid URL");
    if (!/^https?:$/.test(new URL(url).protocol)) throw new ChainError("RPC", "the RPC URL must be http or https");
    this._provider = httpProvider(url, (u, init) => fetch(u, init), { timeoutMs: options.timeoutMs ?? 15_000 });
  }

  async request(args: { readonly method: string; readonly params?: readonly unknown[] }): Promise<unknown> {
    try {
      return await this._provider.request({ method: args.method, params: args.params ?? [] });
    } catch (e) {
      throw e instanceof AnchorReadError ? httpFailure(args.method, e) : e;
    }
  }
}

/**
 * What {@link httpProvider}'s error means to the service, from its code and fields alone.
 * The cause kept is the transport's own (a fetch error), never `e`: its message shows the node's URL,
 * whose path or query may hold an API key, and logged errors print their causes.
 */
function httpFailure(method: string, e: AnchorReadError): Error {
  const { status, rpc } = e;
  const cause = { cause: e.cause };
  switch (e.code) {
    case "TRANSPORT":
      if (status === undefined) return new ChainError("UNAVAILABLE", `${method}: cannot reach the node (${describeCause(e.cause)})`, cause);
      if (status === 429 || status >= 500) return new ChainError("UNAVAILABLE", `${method}: the node answered HTTP ${status}`, cause);
      return new ChainError("UNAVAILABLE", `${method}: the connection failed while reading the answer`, cause);
    case "RPC_ERROR":
      // A missing code is read as an internal error (-32603), which the client retries.
      if (rpc !== undefined) return new JsonRpcError(rpc.code ?? -32603, rpc.message ?? "unknown error", rpc.data);
      return new ChainError("RPC", `${method}: the node answered HTTP ${status} with a body that is not JSON`, cause);
    case "BAD_ANSWER":
      return new ChainError("BAD_RESPONSE", `${method}: the node answered HTTP ${status} with what is not a JSON-RPC answer`, cause);
  }
}

/** A short reason for a failed fetch: the system error code when there is one; never the URL. */
function describeCause(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === "TimeoutError" || e.name === "AbortError") return "timed out";
    const code = (e as { cause?: { code?: unknown } }).cause?.code;
    if (typeof code === "string") return code;
    return e.message.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>");
  }
  return "unknown error";
}

/**
 * Several JSON-RPC endpoints of one chain (the nodes of a QBFT network, say),
 * used one at a time. Every request goes to the endpoint that answered last;
 * when that one cannot be reached (ChainError UNAVAILABLE: refused, timed out,
 * HTTP 429/5xx) the same request is tried at once on the next, which then
 * stays in use. Any answer, an error answer included, is the chain's and is
 * returned as it is. Only when every endpoint is unreachable does the request
 * fail, with the last endpoint's error.
 *
 * Nothing here can clash nonces: the anchorer signs with nonces it keeps
 * itself, a transaction sent twice through two nodes is the same bytes (the
 * second node answers "already known" or pools the same transaction), and
 * recovery decides from the contract and the account nonce, which all nodes
 * of the chain agree on once a block is final.
 */
export class FailoverJsonRpc implements Eip1193Provider {
  private _current = 0;

  constructor(
    private readonly _endpoints: readonly Eip1193Provider[],
    /** Told when requests move to another endpoint (0-based indices); must not throw. */
    private readonly _onSwitch?: (from: number, to: number, error: ChainError) => void,
  ) {
    if (_endpoints.length === 0) throw new RangeError("FailoverJsonRpc needs at least one endpoint");
  }

  /** Index of the endpoint requests go to now. */
  get current(): number {
    return this._current;
  }

  async request(args: { readonly method: string; readonly params?: readonly unknown[] }): Promise<unknown> {
    const n = this._endpoints.length;
    const first = this._current;
    let last: ChainError | undefined;
    for (let tried = 0; tried < n; tried++) {
      const i = (first + tried) % n;
      try {
        const result = await this._endpoints[i]!.request(args);
        if (i !== this._current && last !== undefined) {
          const from = this._current;
          this._current = i;
          this._onSwitch?.(from, i, last);
        }
        return result;
      } catch (e) {
        if (!(e instanceof ChainError && e.code === "UNAVAILABLE")) throw e;
        last = e;
      }
    }
    throw n === 1 ? last! : new ChainError("UNAVAILABLE", `all ${n} RPC endpoints are unreachable; the last said: ${last!.message}`, { cause: last });
  }
}

// ---------------------------------------------------------------------------
// Errors

export type ChainErrorCode =
  /** The node could not be reached, timed out, or answered 429/5xx or an internal error; retried, then surfaced. */
  | "UNAVAILABLE"
  /** The node answered an error the client does not classify further. */
  | "RPC"
  /** A call or gas estimate reverted; `revert` holds the decoded custom error when the ABI knows it. */
  | "REVERTED"
  /** The nonce was already used by a mined transaction. */
  | "NONCE_TOO_LOW"
  /** A transaction with this nonce is already pooled and the new one does not pay enough more to replace it. */
  | "UNDERPRICED"
  /** The sender cannot pay gas × price + value. */
  | "INSUFFICIENT_FUNDS"
  /** The node is on another chain than configured. */
  | "CHAIN_MISMATCH"
  /** No contract code at the configured address. */
  | "NO_CONTRACT"
  /** The node answered something malformed. */
  | "BAD_RESPONSE";

export interface DecodedRevert {
  /** The custom error's name, e.g. "LedgerAnchorNotExtending", "EnforcedPause", "AccessControlUnauthorizedAccount". */
  readonly name: string;
  /** Its arguments, as strings. */
  readonly args: readonly string[];
}

export class ChainError extends CodedError<ChainErrorCode> {
  override readonly name = "ChainError";
  constructor(
    code: ChainErrorCode,
    message: string,
    options: { cause?: unknown; rpcCode?: number; revert?: DecodedRevert } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.rpcCode = options.rpcCode;
    this.revert = options.revert;
  }
  readonly rpcCode: number | undefined;
  readonly revert: DecodedRevert | undefined;
}

/** Whether an error is worth retrying: the node was unreachable or overloaded, not a definite answer. */
export function isTransient(e: unknown): boolean {
  return e instanceof ChainError && e.code === "UNAVAILABLE";
}

// JSON-RPC codes that mean "try again" (EIP-1474: internal error, resource unavailable, limit exceeded).
const TRANSIENT_RPC_CODES = new Set([-32603, -32002, -32005]);

// Node-specific texts for the send outcomes that matter (geth/GoQuorum, Besu, anvil, Hardhat).
const ALREADY_KNOWN = /already known|known transaction|already imported|already in (the )?(tx ?)?pool|alreadyknown/i;
const NONCE_TOO_LOW = /nonce too low|nonce is too low|nonce_too_low|nonce has already been used|oldnonce|expected nonce to be/i;
const UNDERPRICED = /underpriced|replacement transaction|gas price below|too low for the next block|fee too low/i;
const INSUFFICIENT_FUNDS = /insufficient funds|upfront cost exceeds|doesn't have enough funds|not enough funds|insufficient balance/i;
const REVERT_TEXT = /revert/i;

function rpcFields(e: unknown): { code: number | undefined; message: string; data: unknown } {
  if (typeof e !== "object" || e === null) return { code: undefined, message: String(e), data: undefined };
  const o = e as { code?: unknown; message?: unknown; data?: unknown; error?: unknown };
  // Some wrappers nest the node's error one level down.
  if (o.code === undefined && typeof o.error === "object" && o.error !== null) return rpcFields(o.error);
  return { code: typeof o.code === "number" ? o.code : undefined, message: typeof o.message === "string" ? o.message : String(e), data: o.data };
}

/** The revert data in a JSON-RPC error, if any: `data` as hex, or `data.data` (some nodes nest it). */
function revertData(data: unknown): string | undefined {
  if (typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data)) return data;
  if (typeof data === "object" && data !== null) {
    const inner = (data as { data?: unknown }).data;
    if (typeof inner === "string" && /^0x[0-9a-fA-F]*$/.test(inner)) return inner;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Retries

export interface RetryPolicy {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Backoff before retry number `attempt` (1 for the first retry): exponential,
 * capped, with "equal jitter" (half fixed, half random) so many clients that
 * failed together spread out without any retry coming immediately.
 */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/**
 * Runs `op`, retrying while `retryable(error)` up to `policy.attempts` tries in all.
 * `onRetry` hears of every failed try that will be retried, so a caller can
 * report an outage while the retries are still running.
 */
export async function withRetry<T>(
  op: () => Promise<T>,
  policy: RetryPolicy,
  retryable: (e: unknown) => boolean,
  sleep: (ms: number) => Promise<void>,
  random: () => number,
  onRetry?: (e: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (attempt >= policy.attempts || !retryable(e)) throw e;
      onRetry?.(e, attempt);
      await sleep(backoffDelay(attempt, policy, random));
    }
  }
}

// ---------------------------------------------------------------------------
// Values

export interface ChainLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: number;
  readonly transactionHash: string;
}

export interface ChainReceipt {
  readonly transactionHash: string;
  readonly status: 0 | 1;
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly gasUsed: bigint;
  readonly contractAddress: string | null;
  readonly logs: readonly ChainLog[];
}

export interface AnchoredEvent {
  readonly index: number;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly blockNumber: number;
  readonly transactionHash: string;
}

/** A legacy transaction, fully specified. `to` null deploys a contract. */
export interface LegacyTx {
  readonly to: string | null;
  readonly data: string;
  readonly nonce: number;
  readonly gasLimit: bigint;
  readonly gasPrice: bigint;
  readonly value?: bigint;
}

export interface SignedTx {
  readonly raw: string;
  /** keccak256 of the raw bytes: known before the transaction is broadcast. */
  readonly hash: string;
}

/** What signs transactions: an ethers Wallet (never a node-held account). */
export type TxSigner = Pick<BaseWallet, "address" | "signTransaction">;

const HEX_QUANTITY = /^0x(?:0|[1-9a-fA-F][0-9a-fA-F]*)$/;
const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})*$/;
const HASH32 = /^0x[0-9a-fA-F]{64}$/;

function quantity(v: unknown, what: string): bigint {
  // Some nodes pad quantities with leading zeros; accept any hex digits.
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]+$/.test(v)) throw new ChainError("BAD_RESPONSE", `${what} is not a hex quantity`);
  return BigInt(v);
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChainError("BAD_RESPONSE", `${what} ${v} exceeds 2^53 - 1`);
  return Number(v);
}

function hexData(v: unknown, what: string): string {
  if (typeof v !== "string" || !HEX_DATA.test(v)) throw new ChainError("BAD_RESPONSE", `${what} is not hex data`);
  return v.toLowerCase();
}

function hash32(v: unknown, what: string): string {
  if (typeof v !== "string" || !HASH32.test(v)) throw new ChainError("BAD_RESPONSE", `${what} is not a 32-byte hash`);
  return v.toLowerCase();
}

function toQuantity(n: bigint | number): string {
  return `0x${BigInt(n).toString(16)}`;
}

// ---------------------------------------------------------------------------
// The client

type ViewName = "hasRole" | "RECORDER_ROLE" | "PAUSER_ROLE" | "paused";

export interface EvmRpcOptions {
  readonly transport: Eip1193Provider;
  /** The chain id the node must report; transactions are signed for it. */
  readonly chainId: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Paces retries and receipt polls (only its sleep is used); injected for tests, default systemClock. */
  readonly clock?: Pick<Clock, "sleep">;
  /** Injected for tests; defaults to Math.random. */
  readonly random?: () => number;
}

export interface ChainClientOptions extends EvmRpcOptions {
  /** The LedgerAnchor contract. */
  readonly address: string;
}

/**
 * Plain JSON-RPC: reads, legacy transactions, receipts. Reverts are decoded
 * with the LedgerAnchor ABI (which includes the AccessControl and Pausable
 * errors), the only contract this project talks to.
 */
export class EvmRpc {
  readonly chainId: number;
  private readonly _transport: Eip1193Provider;
  protected readonly _iface: LedgerAnchorInterface;
  private readonly _retry: RetryPolicy;
  protected readonly _sleep: (ms: number) => Promise<void>;
  private readonly _random: () => number;
  private readonly _retryListeners = new Set<(method: string, error: ChainError) => void>();

  constructor(options: EvmRpcOptions) {
    this._transport = options.transport;
    if (!Number.isSafeInteger(options.chainId) || options.chainId <= 0) throw new RangeError("chainId must be a positive integer");
    this.chainId = options.chainId;
    this._iface = ledgerAnchorArtifacts().iface;
    this._retry = { ...DEFAULT_RETRY, ...options.retry };
    const clock = options.clock ?? systemClock;
    this._sleep = (ms) => clock.sleep(ms);
    this._random = options.random ?? Math.random;
  }

  get iface(): LedgerAnchorInterface {
    return this._iface;
  }

  /** One JSON-RPC call, retried on transient failures; any failure becomes a ChainError. */
  async rpc(method: string, params: readonly unknown[] = []): Promise<unknown> {
    return withRetry(() => this._once(method, params), this._retry, isTransient, this._sleep, this._random, (e) => this._tellRetry(method, e));
  }

  /**
   * Calls `listener` for every transient failure that is about to be retried
   * (the final failure is thrown to the caller instead). Returns the unsubscribe
   * function. A listener that throws is ignored: it must not change the call.
   */
  onRetry(listener: (method: string, error: ChainError) => void): () => void {
    this._retryListeners.add(listener);
    return () => this._retryListeners.delete(listener);
  }

  private _tellRetry(method: string, e: unknown): void {
    if (!(e instanceof ChainError)) return;
    for (const l of this._retryListeners) {
      try {
        l(method, e);
      } catch {
        // A listener's fault must not turn into an RPC failure.
      }
    }
  }

  private async _once(method: string, params: readonly unknown[]): Promise<unknown> {
    try {
      return await this._transport.request({ method, params });
    } catch (e) {
      throw this._classify(method, e);
    }
  }

  private _classify(method: string, e: unknown): ChainError {
    if (e instanceof ChainError) return e;
    const { code, message, data } = rpcFields(e);
    const short = message.length > 300 ? `${message.slice(0, 300)}…` : message;
    const revert = revertData(data);
    // Only calls and estimates execute; a send is refused or accepted, never reverted.
    // Hardhat's in-process provider throws reverts without a JSON-RPC code but with the revert data.
    if (method !== "eth_sendRawTransaction" && (revert !== undefined || code === 3 || REVERT_TEXT.test(message))) {
      const decoded = revert === undefined ? undefined : this._decodeRevert(revert);
      const why = decoded !== undefined ? `${decoded.name}(${decoded.args.join(", ")})` : revert !== undefined ? `revert data ${revert.slice(0, 74)}` : short;
      return new ChainError("REVERTED", `${method} reverted: ${why}`, { cause: e, rpcCode: code, ...(decoded !== undefined ? { revert: decoded } : {}) });
    }
    if (code === undefined) {
      // No JSON-RPC code and no revert: a transport failure (connection refused, socket reset).
      return new ChainError("UNAVAILABLE", `${method}: ${short}`, { cause: e });
    }
    if (method === "eth_sendRawTransaction") {
      if (NONCE_TOO_LOW.test(message)) return new ChainError("NONCE_TOO_LOW", `${method}: ${short}`, { cause: e, rpcCode: code });
      if (INSUFFICIENT_FUNDS.test(message)) return new ChainError("INSUFFICIENT_FUNDS", `${method}: ${short}`, { cause: e, rpcCode: code });
      if (UNDERPRICED.test(message)) return new ChainError("UNDERPRICED", `${method}: ${short}`, { cause: e, rpcCode: code });
    }
    if (TRANSIENT_RPC_CODES.has(code) && !ALREADY_KNOWN.test(message)) return new ChainError("UNAVAILABLE", `${method}: ${short}`, { cause: e, rpcCode: code });
    return new ChainError("RPC", `${method}: ${short}`, { cause: e, rpcCode: code });
  }

  private _decodeRevert(data: string): DecodedRevert | undefined {
    try {
      const parsed = this._iface.parseError(data);
      if (parsed === null) return undefined;
      return { name: parsed.name, args: parsed.args.map((a: unknown) => String(a)) };
    } catch {
      return undefined;
    }
  }

  // -- plain reads -----------------------------------------------------------

  async getChainId(): Promise<number> {
    return safeNumber(quantity(await this.rpc("eth_chainId"), "eth_chainId"), "chain id");
  }

  async blockNumber(): Promise<number> {
    return safeNumber(quantity(await this.rpc("eth_blockNumber"), "eth_blockNumber"), "block number");
  }

  async getCode(address: string, block: BlockTag = "latest"): Promise<string> {
    return hexData(await this.rpc("eth_getCode", [getAddress(address), typeof block === "number" ? toQuantity(block) : block]), "eth_getCode");
  }

  async getBalance(address: string): Promise<bigint> {
    return quantity(await this.rpc("eth_getBalance", [getAddress(address), "latest"]), "eth_getBalance");
  }

  /** The node's gas price suggestion; zero on free-gas networks. */
  async gasPrice(): Promise<bigint> {
    return quantity(await this.rpc("eth_gasPrice"), "eth_gasPrice");
  }

  /** The latest block's base fee; 0 when the block has none (a chain without EIP-1559). */
  async latestBaseFee(): Promise<bigint> {
    const block = await this.rpc("eth_getBlockByNumber", ["latest", false]);
    if (typeof block !== "object" || block === null) throw new ChainError("BAD_RESPONSE", "eth_getBlockByNumber: not an object");
    const fee = (block as Record<string, unknown>)["baseFeePerGas"];
    return fee === undefined || fee === null ? 0n : quantity(fee, "baseFeePerGas");
  }

  /** Transactions sent by `address`: mined ones ("latest"), or mined and pooled ("pending"). */
  async getTransactionCount(address: string, tag: "latest" | "pending"): Promise<number> {
    return safeNumber(quantity(await this.rpc("eth_getTransactionCount", [getAddress(address), tag]), "eth_getTransactionCount"), "nonce");
  }

  // -- transactions ----------------------------------------------------------

  /** eth_estimateGas; throws ChainError REVERTED (with the decoded custom error) if the call would revert. */
  async estimateGas(tx: { readonly from: string; readonly to: string | null; readonly data: string; readonly value?: bigint }): Promise<bigint> {
    const call: Record<string, string> = { from: getAddress(tx.from), data: tx.data };
    if (tx.to !== null) call["to"] = getAddress(tx.to);
    if (tx.value !== undefined && tx.value !== 0n) call["value"] = toQuantity(tx.value);
    return quantity(await this.rpc("eth_estimateGas", [call]), "eth_estimateGas");
  }

  /** Signs a legacy (type 0) transaction for this chain. Deterministic: the same fields give the same bytes and hash. */
  async sign(signer: TxSigner, tx: LegacyTx): Promise<SignedTx> {
    const raw = await signer.signTransaction({
      type: 0,
      chainId: BigInt(this.chainId),
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value ?? 0n,
      gasLimit: tx.gasLimit,
      gasPrice: tx.gasPrice,
    });
    return { raw, hash: keccak256(raw) };
  }

  /**
   * Broadcasts a signed transaction and returns its hash. A node that already
   * holds it ("already known") counts as success. Throws ChainError
   * NONCE_TOO_LOW, UNDERPRICED, INSUFFICIENT_FUNDS, UNAVAILABLE or RPC.
   */
  async sendRaw(signed: SignedTx): Promise<string> {
    try {
      const hash = await this.rpc("eth_sendRawTransaction", [signed.raw]);
      if (typeof hash === "string" && HASH32.test(hash) && hash.toLowerCase() !== signed.hash.toLowerCase())
        throw new ChainError("BAD_RESPONSE", `the node reports hash ${hash} for a transaction whose hash is ${signed.hash}`);
      return signed.hash;
    } catch (e) {
      if (e instanceof ChainError && e.code === "RPC" && ALREADY_KNOWN.test(e.message)) return signed.hash;
      throw e;
    }
  }

  async getReceipt(hash: string): Promise<ChainReceipt | null> {
    const r = await this.rpc("eth_getTransactionReceipt", [hash]);
    if (r === null || r === undefined) return null;
    if (typeof r !== "object") throw new ChainError("BAD_RESPONSE", "eth_getTransactionReceipt: not an object");
    const o = r as Record<string, unknown>;
    // A receipt without a block is a pooled transaction on some nodes.
    if (o["blockNumber"] === null || o["blockNumber"] === undefined) return null;
    const status = quantity(o["status"], "receipt status");
    const logs = Array.isArray(o["logs"]) ? (o["logs"] as unknown[]).map((l) => this._parseLog(l)) : [];
    return {
      transactionHash: hash32(o["transactionHash"], "receipt transactionHash"),
      status: status === 1n ? 1 : 0,
      blockNumber: safeNumber(quantity(o["blockNumber"], "receipt blockNumber"), "block number"),
      blockHash: hash32(o["blockHash"], "receipt blockHash"),
      gasUsed: quantity(o["gasUsed"], "receipt gasUsed"),
      contractAddress: typeof o["contractAddress"] === "string" ? getAddress(o["contractAddress"]) : null,
      logs,
    };
  }

  protected _parseLog(l: unknown): ChainLog {
    if (typeof l !== "object" || l === null) throw new ChainError("BAD_RESPONSE", "a log is not an object");
    const o = l as Record<string, unknown>;
    if (typeof o["address"] !== "string" || !Array.isArray(o["topics"])) throw new ChainError("BAD_RESPONSE", "a log lacks address or topics");
    return {
      address: getAddress(o["address"]),
      topics: (o["topics"] as unknown[]).map((t) => hash32(t, "log topic")),
      data: hexData(o["data"], "log data"),
      blockNumber: safeNumber(quantity(o["blockNumber"], "log blockNumber"), "block number"),
      transactionHash: hash32(o["transactionHash"], "log transactionHash"),
    };
  }

  /** Confirmations of a block: 1 when it is the head, 0 if the head is behind it. */
  async confirmations(blockNumber: number): Promise<number> {
    return Math.max(0, (await this.blockNumber()) - blockNumber + 1);
  }

  /**
   * Signs and sends one transaction from `signer` with the pending nonce, the
   * node's gas price and an estimated gas limit plus `headroomPercent`, then
   * waits for its receipt. For set-up work (deploying, granting roles,
   * funding); the anchorer manages its own transactions. Throws if it reverts.
   */
  async sendAndWait(
    signer: TxSigner,
    tx: { readonly to: string | null; readonly data: string; readonly value?: bigint },
    options: { readonly headroomPercent?: number; readonly timeoutMs?: number; readonly pollMs?: number } = {},
  ): Promise<ChainReceipt> {
    const nonce = await this.getTransactionCount(signer.address, "pending");
    const gasPrice = await this.gasPrice();
    const estimate = await this.estimateGas({ from: signer.address, ...tx });
    const gasLimit = (estimate * BigInt(100 + (options.headroomPercent ?? 25))) / 100n;
    const signed = await this.sign(signer, { ...tx, nonce, gasLimit, gasPrice });
    await this.sendRaw(signed);
    const receipt = await this.waitForReceipt(signed.hash, options);
    if (receipt.status !== 1) throw new ChainError("REVERTED", `transaction ${signed.hash} reverted`);
    return receipt;
  }

  /** Polls for a receipt until `timeoutMs` (default 60 s). */
  async waitForReceipt(hash: string, options: { readonly timeoutMs?: number; readonly pollMs?: number } = {}): Promise<ChainReceipt> {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const r = await this.getReceipt(hash);
      if (r !== null) return r;
      if (Date.now() > deadline) throw new ChainError("UNAVAILABLE", `transaction ${hash} was not mined within ${options.timeoutMs ?? 60_000} ms`);
      await this._sleep(options.pollMs ?? 250);
    }
  }
}

/** The LedgerAnchor contract at one address, over {@link EvmRpc}. */
export class ChainClient extends EvmRpc {
  readonly address: string;
  private readonly _reader: AnchorReader;

  constructor(options: ChainClientOptions) {
    super(options);
    this.address = getAddress(options.address);
    this._reader = new AnchorReader({ request: ({ method, params = [] }) => this.rpc(method, params) }, this.address);
  }

  /** Checks that the node is on the configured chain and that the contract exists there. */
  async verify(): Promise<void> {
    const id = await this.getChainId();
    if (id !== this.chainId) throw new ChainError("CHAIN_MISMATCH", `the node is on chain ${id}, but chain ${this.chainId} is configured`);
    const code = await this.getCode(this.address);
    if (code === "0x") throw new ChainError("NO_CONTRACT", `there is no contract at ${this.address} on chain ${id}`);
  }

  // -- contract reads --------------------------------------------------------

  private async _call(data: string, block: BlockTag = "latest"): Promise<string> {
    const tag = typeof block === "number" ? toQuantity(block) : block;
    return hexData(await this.rpc("eth_call", [{ to: this.address, data }, tag]), "eth_call");
  }

  private _decode<R>(fn: ViewName, data: string, pick: (r: Result) => R): R {
    try {
      // Upcast: TypeChain's overloads take one literal name each, not a union of them.
      return pick((this._iface as Interface).decodeFunctionResult(fn, data));
    } catch (cause) {
      if (cause instanceof ChainError) throw cause;
      throw new ChainError("BAD_RESPONSE", `cannot decode the result of ${String(fn)} (is ${this.address} a LedgerAnchor?)`, { cause });
    }
  }

  /**
   * A checkpoint view through the one contract reader. The reader's transport
   * is {@link EvmRpc.rpc}, so its failures are already ChainErrors (retried,
   * classified: a revert is REVERTED) and are thrown as they are; an answer
   * that is not the view's ABI encoding is BAD_RESPONSE.
   */
  private async _view<T>(read: (reader: AnchorReader) => Promise<T>): Promise<T> {
    try {
      return await read(this._reader);
    } catch (e) {
      if (e instanceof AnchorReadError && e.cause instanceof ChainError) throw e.cause;
      if (e instanceof AnchorReadError) throw new ChainError("BAD_RESPONSE", `${e.message} (is ${this.address} a LedgerAnchor?)`, { cause: e });
      throw e;
    }
  }

  /** The latest checkpoint; tree size 0 and a zero root when none is anchored. */
  async latestCheckpoint(block: BlockTag = "latest"): Promise<AnchorCheckpoint> {
    return this._view((r) => r.latestCheckpoint(block));
  }

  async checkpointCount(block: BlockTag = "latest"): Promise<number> {
    return this._view((r) => r.checkpointCount(block));
  }

  /** ChainError REVERTED when `index` ≥ checkpointCount. */
  async checkpointAt(index: number, block: BlockTag = "latest"): Promise<AnchorCheckpoint> {
    return this._view((r) => r.checkpointAt(index, block));
  }

  /** Requires `rootHex` 0x and 64 lowercase hex digits. */
  async isAnchored(treeSize: number, rootHex: string, block: BlockTag = "latest"): Promise<boolean> {
    return this._view((r) => r.isAnchored(treeSize, rootHex, block));
  }

  async hasRole(role: string, account: string): Promise<boolean> {
    const data = await this._call(this._iface.encodeFunctionData("hasRole", [role, getAddress(account)]));
    return this._decode("hasRole", data, (r) => r[0] as boolean);
  }

  async role(name: "RECORDER_ROLE" | "PAUSER_ROLE"): Promise<string> {
    const data = await this._call(name === "RECORDER_ROLE" ? this._iface.encodeFunctionData(name) : this._iface.encodeFunctionData(name));
    return this._decode(name, data, (r) => (r[0] as string).toLowerCase());
  }

  async paused(): Promise<boolean> {
    const data = await this._call(this._iface.encodeFunctionData("paused"));
    return this._decode("paused", data, (r) => r[0] as boolean);
  }

  /**
   * The index of the anchored checkpoint of exactly `treeSize` leaves, or
   * undefined. Scans back from the newest, which is where the anchorer's
   * checkpoints are; sizes strictly increase, so it stops at the first smaller one.
   */
  async findCheckpointIndex(treeSize: number): Promise<number | undefined> {
    for (let i = (await this.checkpointCount()) - 1; i >= 0; i--) {
      const cp = await this.checkpointAt(i);
      if (cp.treeSize === treeSize) return i;
      if (cp.treeSize < treeSize) return undefined;
    }
    return undefined;
  }

  /** Calldata of `anchor(treeSize, rootHash, proof)`. */
  anchorCalldata(treeSize: number, rootHex: string, proofHex: readonly string[]): string {
    return this._iface.encodeFunctionData("anchor", [treeSize, rootHex, [...proofHex]]);
  }

  private _anchoredTopic(): string {
    return this._iface.getEvent("CheckpointAnchored").topicHash.toLowerCase();
  }

  /** The CheckpointAnchored events this contract emitted in `receipt`. */
  anchoredEvents(receipt: ChainReceipt): AnchoredEvent[] {
    return receipt.logs.filter((l) => l.address === this.address && l.topics[0] === this._anchoredTopic()).map((l) => this._anchoredEvent(l));
  }

  private _anchoredEvent(l: ChainLog): AnchoredEvent {
    try {
      const parsed = this._iface.decodeEventLog("CheckpointAnchored", l.data, [...l.topics]);
      return {
        index: safeNumber(parsed[0] as bigint, "checkpoint index"),
        treeSize: safeNumber(parsed[1] as bigint, "tree size"),
        rootHash: (parsed[2] as string).toLowerCase(),
        blockNumber: l.blockNumber,
        transactionHash: l.transactionHash,
      };
    } catch (cause) {
      throw new ChainError("BAD_RESPONSE", "cannot decode a CheckpointAnchored event", { cause });
    }
  }

  /** The CheckpointAnchored event of checkpoint `index`, searched from `fromBlock`; undefined if the node has no such log. */
  async findAnchoredEvent(index: number, fromBlock = 0): Promise<AnchoredEvent | undefined> {
    const indexTopic = `0x${index.toString(16).padStart(64, "0")}`;
    const logs = await this.rpc("eth_getLogs", [
      { address: this.address, topics: [this._anchoredTopic(), indexTopic], fromBlock: toQuantity(fromBlock), toBlock: "latest" },
    ]);
    if (!Array.isArray(logs)) throw new ChainError("BAD_RESPONSE", "eth_getLogs: not an array");
    const found = logs.map((l) => this._anchoredEvent(this._parseLog(l))).filter((e) => e.index === index);
    return found[found.length - 1];
  }
}
