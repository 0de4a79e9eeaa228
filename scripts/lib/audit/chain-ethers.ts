/**
 * {@link ChainReader} for a deployed LedgerAnchor, with ethers v6: over
 * JSON-RPC for the CLI ({@link connectChain}), or on any ethers provider
 * (Hardhat's in-process network in tests). Only views are called, with a
 * minimal ABI, so no compiled artifacts are needed to audit.
 */
import { Contract, FetchRequest, JsonRpcProvider, type ContractRunner } from "ethers";
import { fromHex } from "../../../service/log";
import type { AnchoredCheckpoint, ChainReader } from "./chain";
import { AuditError, messageOf } from "./errors";

export const LEDGER_ANCHOR_VIEWS = [
  "function checkpointCount() view returns (uint256)",
  "function checkpointAt(uint256 index) view returns (tuple(uint64 treeSize, uint64 timestamp, bytes32 rootHash))",
  "function isAnchored(uint64 treeSize, bytes32 rootHash) view returns (bool)",
] as const;

/** A runner that can also answer eth_chainId (any ethers Provider). */
export type ChainRunner = ContractRunner & { getNetwork(): Promise<{ chainId: bigint }> };

export class EthersChainReader implements ChainReader {
  private readonly _contract: Contract;

  constructor(
    private readonly _runner: ChainRunner,
    readonly address: string,
    readonly description = `LedgerAnchor at ${address}`,
  ) {
    this._contract = new Contract(address, LEDGER_ANCHOR_VIEWS, _runner);
  }

  async chainId(): Promise<number> {
    return this._call("eth_chainId", async () => Number((await this._runner.getNetwork()).chainId));
  }

  async checkpointCount(): Promise<number> {
    return this._call("checkpointCount", async () => Number((await this._contract.getFunction("checkpointCount")()) as bigint));
  }

  async checkpointAt(index: number): Promise<AnchoredCheckpoint> {
    return this._call(`checkpointAt(${index})`, async () => {
      const c = (await this._contract.getFunction("checkpointAt")(index)) as { treeSize: bigint; timestamp: bigint; rootHash: string };
      return { index, size: Number(c.treeSize), root: fromHex(c.rootHash), timestamp: Number(c.timestamp) };
    });
  }

  async isAnchored(size: number, root: Uint8Array): Promise<boolean> {
    return this._call("isAnchored", async () => (await this._contract.getFunction("isAnchored")(size, root)) as boolean);
  }

  private async _call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `reading ${what} from ${this.description} failed: ${messageOf(cause).split("\n")[0]}`, { cause });
    }
  }
}

/** The URL without credentials, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}

async function rpc(url: URL, auth: string | undefined, method: string, params: unknown[], timeoutMs: number): Promise<unknown> {
  const shown = redactUrl(url.toString());
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth !== undefined ? { authorization: auth } : {}) },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new AuditError("UNREACHABLE", `cannot reach the RPC node at ${shown}: ${messageOf(cause)}`, { cause });
  }
  let body: { result?: unknown; error?: { message?: string } };
  try {
    body = (await res.json()) as typeof body;
  } catch (cause) {
    throw new AuditError("UNREACHABLE", `the RPC node at ${shown} answered HTTP ${res.status} without JSON`, { cause });
  }
  if (body.error !== undefined || !("result" in body))
    throw new AuditError("UNREACHABLE", `the RPC node at ${shown} refused ${method}: ${body.error?.message ?? "no result"}`);
  return body.result;
}

/**
 * Connects to LedgerAnchor at `address` over JSON-RPC. Checks first, with
 * plain requests and a timeout, that the node answers and that there is
 * code at the address; throws AuditError (UNREACHABLE, CHAIN_SETUP) otherwise.
 * Credentials in the URL are sent as HTTP Basic authentication and never shown.
 */
export async function connectChain(rpcUrl: string, address: string, options: { timeoutMs?: number; expectChainId?: number } = {}): Promise<EthersChainReader> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw new AuditError("USAGE", "--rpc is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new AuditError("USAGE", "--rpc must be an http or https URL");
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new AuditError("USAGE", `--contract ${JSON.stringify(address)} is not a 0x address`);
  let auth: string | undefined;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  if (user !== "" || pass !== "") {
    auth = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  const chainId = Number(BigInt(String(await rpc(url, auth, "eth_chainId", [], timeoutMs))));
  if (options.expectChainId !== undefined && chainId !== options.expectChainId)
    throw new AuditError("CHAIN_SETUP", `the RPC node serves chain ${chainId}, not the expected chain ${options.expectChainId}`);
  const code = await rpc(url, auth, "eth_getCode", [address, "latest"], timeoutMs);
  if (typeof code !== "string" || code === "0x" || code === "0x0")
    throw new AuditError("CHAIN_SETUP", `there is no contract at ${address} on chain ${chainId} (${redactUrl(rpcUrl)})`);
  const req = new FetchRequest(url.toString());
  req.timeout = timeoutMs;
  if (auth !== undefined) req.setCredentials(user, pass);
  const provider = new JsonRpcProvider(req, chainId, { staticNetwork: true });
  return new EthersChainReader(provider, address, `LedgerAnchor at ${address} on chain ${chainId} (${redactUrl(rpcUrl)})`);
}
