/**
 * Chain settings, read from the environment once at start-up and validated,
 * in the same style as service/config.ts; service/settings.ts validates both
 * schemas together (nothing else reads process.env).
 *
 * With no LEDGER_RPC_URL the service runs a local anvil under the data
 * directory (see local-chain.ts). With one, LEDGER_CHAIN_ID and
 * LEDGER_ANCHOR_ADDRESS are required too.
 */
import path from "node:path";
import { z } from "zod";
import { ConfigError, wholeNumber } from "../config";
import { parseFailpoints, type Failpoints } from "./failpoints";
import { DEFAULT_EVERY_ENTRIES, DEFAULT_EVERY_MS } from "./cadence";

const PositiveInt = wholeNumber(1);
const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address: 0x and 40 hex digits");
function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/**
 * One http(s) URL, or several separated by commas: the endpoints of one chain's
 * nodes, used in turn when one cannot be reached (client.ts FailoverJsonRpc).
 * A URL's own commas must be percent-encoded. Messages name an endpoint by its
 * position, never by its text, which may carry credentials.
 */
const RpcUrls = z.string().superRefine((s, ctx) => {
  const urls = s.split(",").map((u) => u.trim());
  const several = urls.length > 1;
  urls.forEach((u, i) => {
    const which = several ? `endpoint ${i + 1} of ${urls.length}` : "the value";
    if (u === "") ctx.addIssue({ code: "custom", message: `${which} is empty (a comma-separated list of http(s) URLs, no empty items)` });
    else if (!isHttpUrl(u)) ctx.addIssue({ code: "custom", message: `${which} is not an http(s) URL` });
    else if (urls.indexOf(u) !== i) ctx.addIssue({ code: "custom", message: `${which} repeats endpoint ${urls.indexOf(u) + 1}` });
  });
});

/** The URLs of a LEDGER_RPC_URL that {@link RpcUrls} accepted. */
export function splitRpcUrls(value: string): string[] {
  return value.split(",").map((u) => u.trim());
}

/**
 * The anchorer's defaults, here once: the LEDGER_ANCHOR_* settings below
 * default to them, and so does an Anchorer constructed without them.
 */
export const ANCHOR_DEFAULTS = { maxInFlight: 8, pollMs: 250, confirmations: 1, replaceAfterMs: 60_000 } as const;

/** Each setting with its default and one line of help, which --help prints (see service/config.ts). */
export const ChainEnvSchema = z.object({
  LEDGER_RPC_URL: RpcUrls.optional().describe(
    "JSON-RPC endpoint of the chain (Besu, GoQuorum, ...), or several nodes' endpoints separated by commas, used in turn when one is unreachable; unset: run a local anvil under the data directory",
  ),
  LEDGER_CHAIN_ID: PositiveInt.optional().describe("the chain's id (required with LEDGER_RPC_URL)"),
  LEDGER_ANCHOR_ADDRESS: Address.optional().describe("the LedgerAnchor contract's address (required with LEDGER_RPC_URL)"),
  LEDGER_ANCHOR_FROM_BLOCK: wholeNumber(0).default(0).describe("the contract's deployment block: where event searches start (with LEDGER_RPC_URL)"),
  LEDGER_RECORDER_KEY_FILE: z.string().min(1).optional().describe("recorder key file (default <data dir>/keys/recorder.key)"),
  LEDGER_ANCHOR_EVERY_ENTRIES: PositiveInt.default(DEFAULT_EVERY_ENTRIES).describe("send a checkpoint once this many entries are not covered by one sent (a fast stream: full checkpoints, several per block)"),
  LEDGER_ANCHOR_EVERY_MS: PositiveInt.default(DEFAULT_EVERY_MS).describe(
    "or once the oldest such entry has waited this long (a slow trickle: checkpoints grow for this long, so the anchor's fixed gas is shared); below LEDGER_ANCHOR_MAX_DELAY_MS / 2",
  ),
  LEDGER_ANCHOR_MAX_IN_FLIGHT: PositiveInt.default(ANCHOR_DEFAULTS.maxInFlight).describe("most anchor transactions in flight at once (consecutive nonces); 1 waits for each before sending the next"),
  LEDGER_ANCHOR_POLL_MS: PositiveInt.default(ANCHOR_DEFAULTS.pollMs).describe("how often to ask the node for the oldest anchor's receipt"),
  LEDGER_ANCHOR_CONFIRMATIONS: PositiveInt.default(ANCHOR_DEFAULTS.confirmations).describe("blocks (the including one counted) an anchor needs to count as done; 1 for QBFT/IBFT's immediate finality"),
  LEDGER_ANCHOR_REPLACE_AFTER_MS: PositiveInt.default(ANCHOR_DEFAULTS.replaceAfterMs).describe("replace an anchor transaction not mined after this long"),
  LEDGER_ANCHOR_MAX_GAS_PRICE_WEI: z.string().regex(/^[0-9]+$/, "a decimal number of wei").optional().describe("never pay more than this gas price (wei, decimal)"),
  LEDGER_ANCHOR_MAX_DELAY_MS: PositiveInt.default(300_000).describe("health turns bad when an entry has waited longer than this for its anchor"),
  LEDGER_LOCAL_CHAIN_REDEPLOY: z.enum(["0", "1"]).default("0").describe("1: on the local chain, deploy a new contract if the recorded one is gone"),
  LEDGER_LOCAL_CHAIN_SINGLE_REPLICA: z
    .enum(["0", "1"])
    .default("0")
    .describe(
      "1: with LEDGER_DATABASE_URL and no LEDGER_RPC_URL, anchor on this replica's private local anvil anyway (a one-replica trial: a second replica would anchor on a chain of its own); 0 refuses that start",
    ),
  LEDGER_FAILPOINTS: z.string().optional().describe("crash tests only: kill the process at these anchoring steps"),
});

export interface ChainConfig {
  /** Undefined: the local anvil. */
  readonly remote:
    | {
        /** The first endpoint. */
        readonly rpcUrl: string;
        /** Every endpoint, in the order given (rpcUrl first); absent means rpcUrl alone. */
        readonly rpcUrls?: readonly string[];
        readonly chainId: number;
        readonly address: string;
        readonly fromBlock: number;
      }
    | undefined;
  readonly recorderKeyFile: string;
  readonly everyEntries: number;
  readonly everyMs: number;
  readonly maxInFlight: number;
  readonly pollMs: number;
  readonly confirmations: number;
  readonly replaceAfterMs: number;
  readonly maxGasPrice: bigint | undefined;
  readonly maxDelayMs: number;
  readonly redeployLocal: boolean;
  /** LEDGER_LOCAL_CHAIN_SINGLE_REPLICA=1: the operator accepts a private local chain beside a shared database (see {@link localChainProblem}). */
  readonly localChainSingleReplica: boolean;
  /** Empty unless LEDGER_FAILPOINTS is set (crash tests). */
  readonly failpoints: Failpoints;
}

/** Parses the chain settings; throws ConfigError naming every bad variable on one line. */
export function loadChainConfig(env: NodeJS.ProcessEnv, dataDir: string): ChainConfig {
  const parsed = ChainEnvSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  const failpoints = parseFailpoints(env.LEDGER_FAILPOINTS);
  problems.push(...failpoints.problems);
  if (parsed.success && parsed.data.LEDGER_RPC_URL !== undefined) {
    if (parsed.data.LEDGER_CHAIN_ID === undefined) problems.push("LEDGER_CHAIN_ID: required with LEDGER_RPC_URL");
    if (parsed.data.LEDGER_ANCHOR_ADDRESS === undefined) problems.push("LEDGER_ANCHOR_ADDRESS: required with LEDGER_RPC_URL");
    if (env.LEDGER_LOCAL_CHAIN_REDEPLOY !== undefined) problems.push("LEDGER_LOCAL_CHAIN_REDEPLOY: only for the local chain, not with LEDGER_RPC_URL");
    if (env.LEDGER_LOCAL_CHAIN_SINGLE_REPLICA !== undefined) problems.push("LEDGER_LOCAL_CHAIN_SINGLE_REPLICA: only for the local chain, not with LEDGER_RPC_URL");
  } else if (parsed.success) {
    // The settings of a configured node, given without its URL, would be ignored while a local
    // anvil runs instead: most likely LEDGER_RPC_URL was forgotten or misspelt.
    for (const name of ["LEDGER_CHAIN_ID", "LEDGER_ANCHOR_ADDRESS", "LEDGER_ANCHOR_FROM_BLOCK"] as const)
      if (env[name] !== undefined) problems.push(`${name}: only with LEDGER_RPC_URL (unset, so a local anvil would run and this would be ignored)`);
  }
  // An entry waits up to EVERY_MS to be sent, then a block period or more to be mined: a cadence taking half
  // the health limit or more would turn health red in normal operation, at the first slow block.
  if (parsed.success && parsed.data.LEDGER_ANCHOR_EVERY_MS * 2 > parsed.data.LEDGER_ANCHOR_MAX_DELAY_MS)
    problems.push(
      `LEDGER_ANCHOR_EVERY_MS: ${parsed.data.LEDGER_ANCHOR_EVERY_MS} ms is more than half of LEDGER_ANCHOR_MAX_DELAY_MS (${parsed.data.LEDGER_ANCHOR_MAX_DELAY_MS} ms), so health would turn bad while entries wait for their regular anchor`,
    );
  if (!parsed.success || problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  const e = parsed.data;
  return {
    remote:
      e.LEDGER_RPC_URL === undefined
        ? undefined
        : { rpcUrl: splitRpcUrls(e.LEDGER_RPC_URL)[0]!, rpcUrls: splitRpcUrls(e.LEDGER_RPC_URL), chainId: e.LEDGER_CHAIN_ID!, address: e.LEDGER_ANCHOR_ADDRESS!, fromBlock: e.LEDGER_ANCHOR_FROM_BLOCK },
    recorderKeyFile: path.resolve(e.LEDGER_RECORDER_KEY_FILE ?? path.join(dataDir, "keys", "recorder.key")),
    everyEntries: e.LEDGER_ANCHOR_EVERY_ENTRIES,
    everyMs: e.LEDGER_ANCHOR_EVERY_MS,
    maxInFlight: e.LEDGER_ANCHOR_MAX_IN_FLIGHT,
    pollMs: e.LEDGER_ANCHOR_POLL_MS,
    confirmations: e.LEDGER_ANCHOR_CONFIRMATIONS,
    replaceAfterMs: e.LEDGER_ANCHOR_REPLACE_AFTER_MS,
    maxGasPrice: e.LEDGER_ANCHOR_MAX_GAS_PRICE_WEI === undefined ? undefined : BigInt(e.LEDGER_ANCHOR_MAX_GAS_PRICE_WEI),
    maxDelayMs: e.LEDGER_ANCHOR_MAX_DELAY_MS,
    redeployLocal: e.LEDGER_LOCAL_CHAIN_REDEPLOY === "1",
    localChainSingleReplica: e.LEDGER_LOCAL_CHAIN_SINGLE_REPLICA === "1",
    failpoints: failpoints.failpoints,
  };
}

/**
 * Why a store shared by replicas (LEDGER_DATABASE_URL) cannot anchor on the
 * local chain, or undefined when it can. Each replica would start a private
 * anvil under its own data directory, so after a failover the new leader
 * would anchor on a different chain than the last: the checkpoints would be
 * split over chains no auditor is told of. Only an explicit one-replica
 * trial (LEDGER_LOCAL_CHAIN_SINGLE_REPLICA=1) may do it.
 */
export function localChainProblem(chain: ChainConfig, sharedStore: boolean): string | undefined {
  if (!sharedStore || chain.remote !== undefined || chain.localChainSingleReplica) return undefined;
  return (
    "LEDGER_DATABASE_URL without LEDGER_RPC_URL: every replica would anchor on a private local chain of its own, and after a failover the new leader on another chain than the last; " +
    "set LEDGER_RPC_URL, LEDGER_CHAIN_ID and LEDGER_ANCHOR_ADDRESS to a chain all replicas share (or LEDGER_CHAIN=off; or LEDGER_LOCAL_CHAIN_SINGLE_REPLICA=1 for a one-replica trial)"
  );
}
