/**
 * Reads LedgerAnchor directly from a chain's JSON-RPC endpoint, so the
 * portal can check a checkpoint without trusting the service. Two view
 * calls, ABI-encoded by hand (no ethers in the browser bundle):
 *   checkpointCount() → uint256
 *   checkpointAt(uint256) → (uint64 treeSize, uint64 timestamp, bytes32 rootHash)
 * test/web/chain.test.ts checks the selectors against the compiled ABI.
 */
export const SELECTOR_CHECKPOINT_COUNT = "0x1f618cd2";
export const SELECTOR_CHECKPOINT_AT = "0xff9536db";

export interface ChainCheckpoint {
  readonly index: number;
  readonly size: number;
  /** Block time, seconds since the epoch. */
  readonly timestamp: number;
  /** 0x and 64 lowercase hex digits. */
  readonly rootHex: string;
}

export class ChainReadError extends Error {
  override readonly name = "ChainReadError";
}

let rpcId = 0;

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }) });
  } catch (e) {
    throw new ChainReadError(`${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) throw new ChainReadError(`${url}: HTTP ${res.status}`);
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error !== undefined) throw new ChainReadError(`${method}: ${body.error.message ?? "error"}`);
  return body.result;
}

function word(hex: string, i: number): bigint {
  const w = hex.slice(2 + 64 * i, 2 + 64 * (i + 1));
  if (w.length !== 64 || !/^[0-9a-fA-F]{64}$/.test(w)) throw new ChainReadError("the contract's answer is too short");
  return BigInt(`0x${w}`);
}

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChainReadError(`${what} is beyond 2^53`);
  return Number(n);
}

async function call(url: string, contract: string, data: string): Promise<string> {
  const r = await rpc(url, "eth_call", [{ to: contract, data }, "latest"]);
  if (typeof r !== "string" || !/^0x[0-9a-fA-F]*$/.test(r)) throw new ChainReadError("eth_call did not return hex");
  return r;
}

export async function chainId(url: string): Promise<number> {
  const r = await rpc(url, "eth_chainId", []);
  if (typeof r !== "string") throw new ChainReadError("eth_chainId did not return hex");
  return safe(BigInt(r), "chain id");
}

export async function checkpointCount(url: string, contract: string): Promise<number> {
  return safe(word(await call(url, contract, SELECTOR_CHECKPOINT_COUNT), 0), "checkpoint count");
}

export async function checkpointAt(url: string, contract: string, index: number): Promise<ChainCheckpoint> {
  const arg = BigInt(index).toString(16).padStart(64, "0");
  const out = await call(url, contract, SELECTOR_CHECKPOINT_AT + arg);
  return {
    index,
    size: safe(word(out, 0), "tree size"),
    timestamp: safe(word(out, 1), "timestamp"),
    rootHex: `0x${word(out, 2).toString(16).padStart(64, "0")}`,
  };
}
