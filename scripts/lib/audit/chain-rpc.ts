/**
 * {@link ChainReader} for a deployed LedgerAnchor, through the one contract
 * reader the portal uses too (service/format/anchor.ts): over JSON-RPC on
 * HTTP for the CLI ({@link connectChain}), or any EIP-1193 provider
 * (Hardhat's in-process network in tests). Only views are called.
 */
import { AnchorReader, AnchorReadError, httpProvider, type Eip1193Provider } from "../../../service/format";
import { fromHex, toHex } from "../../../service/log";
import type { AnchoredCheckpoint, ChainReader } from "./chain";
import { AuditError, messageOf } from "./errors";

export class RpcChainReader implements ChainReader {
  private readonly _reader: AnchorReader;

  constructor(
    provider: Eip1193Provider,
    readonly address: string,
    readonly description = `LedgerAnchor at ${address}`,
  ) {
    this._reader = new AnchorReader(provider, address);
  }

  chainId(): Promise<number> {
    return this._call("eth_chainId", () => this._reader.chainId());
  }

  checkpointCount(): Promise<number> {
    return this._call("checkpointCount", () => this._reader.checkpointCount());
  }

  checkpointAt(index: number): Promise<AnchoredCheckpoint> {
    return this._call(`checkpointAt(${index})`, async () => {
      const c = await this._reader.checkpointAt(index);
      return { index, size: c.treeSize, root: fromHex(c.rootHex.slice(2)), timestamp: c.timestamp };
    });
  }

  isAnchored(size: number, root: Uint8Array): Promise<boolean> {
    return this._call("isAnchored", () => this._reader.isAnchored(size, `0x${toHex(root)}`));
  }

  /** Any failure to read is the node's or the path's: the audit stops, incomplete. */
  private async _call<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `reading ${what} from ${this.description} failed: ${messageOf(cause).split("\n")[0]}`, { cause });
    }
  }
}

/**
 * Connects to LedgerAnchor at `address` over JSON-RPC. Checks first, with a
 * timeout on every request, that the node answers and that there is code at
 * the address; throws AuditError (USAGE, UNREACHABLE, CHAIN_SETUP) otherwise.
 * Credentials in the URL are sent as HTTP Basic authentication and never shown.
 */
export async function connectChain(rpcUrl: string, address: string, options: { timeoutMs?: number; expectChainId?: number } = {}): Promise<RpcChainReader> {
  if (!URL.canParse(rpcUrl)) throw new AuditError("USAGE", "--rpc is not a valid URL");
  if (!/^https?:$/.test(new URL(rpcUrl).protocol)) throw new AuditError("USAGE", "--rpc must be an http or https URL");
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new AuditError("USAGE", `--contract ${JSON.stringify(address)} is not a 0x address`);
  const provider = httpProvider(rpcUrl, (u, init) => fetch(u, init), { timeoutMs: options.timeoutMs ?? 15_000 });
  const probe = new AnchorReader(provider, address);
  let chainId: number;
  let hasCode: boolean;
  try {
    chainId = await probe.chainId();
    hasCode = await probe.hasCode();
  } catch (cause) {
    if (cause instanceof AnchorReadError) throw new AuditError("UNREACHABLE", cause.message, { cause });
    throw cause;
  }
  if (options.expectChainId !== undefined && chainId !== options.expectChainId)
    throw new AuditError("CHAIN_SETUP", `the RPC node serves chain ${chainId}, not the expected chain ${options.expectChainId}`);
  if (!hasCode) throw new AuditError("CHAIN_SETUP", `there is no contract at ${address} on chain ${chainId} (${provider.shown})`);
  return new RpcChainReader(provider, address, `LedgerAnchor at ${address} on chain ${chainId} (${provider.shown})`);
}
