/**
 * The {@link ChainReader} of a deployed LedgerAnchor, through the one contract
 * reader the portal uses too (service/format/anchor.ts): over JSON-RPC on
 * HTTP for the CLI ({@link connectChain}), or any EIP-1193 provider
 * (Hardhat's in-process network in tests). Only views are called.
 */
import { AnchorReader, AnchorReadError, httpProvider, type Eip1193Provider } from "../../../service/format";
import { fromHex, toHex } from "../../../service/log";
import type { ChainReader } from "./chain";
import { AuditError, messageOf } from "./errors";

/** LedgerAnchor at `address` as the audit reads it. Any failure to read is the node's or the path's: the audit stops, incomplete. */
export function anchorChainReader(provider: Eip1193Provider, address: string, description = `LedgerAnchor at ${address}`): ChainReader {
  const reader = new AnchorReader(provider, address);
  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `reading ${what} from ${description} failed: ${messageOf(cause).split("\n")[0]}`, { cause });
    }
  };
  return {
    description,
    chainId: () => call("eth_chainId", () => reader.chainId()),
    checkpointCount: () => call("checkpointCount", () => reader.checkpointCount()),
    checkpointAt: (index) =>
      call(`checkpointAt(${index})`, async () => {
        const c = await reader.checkpointAt(index);
        return { index, size: c.treeSize, root: fromHex(c.rootHex.slice(2)), timestamp: c.timestamp };
      }),
    isAnchored: (size, root) => call("isAnchored", () => reader.isAnchored(size, `0x${toHex(root)}`)),
  };
}

/**
 * Connects to LedgerAnchor at `address` over JSON-RPC. Checks first, with a
 * timeout on every request, that the node answers and that there is code at
 * the address; throws AuditError (USAGE, UNREACHABLE, CHAIN_SETUP) otherwise.
 * Credentials in the URL are sent as HTTP Basic authentication and never shown.
 */
export async function connectChain(rpcUrl: string, address: string, options: { timeoutMs?: number; expectChainId?: number } = {}): Promise<ChainReader> {
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
  return anchorChainReader(provider, address, `LedgerAnchor at ${address} on chain ${chainId} (${provider.shown})`);
}
