/**
 * Chain anchoring, wired: the recorder key, the chain (a configured node, or
 * a local anvil with LedgerAnchor deployed once), the client and the
 * anchorer. The service calls {@link startChain} after opening the ledger and
 * forwards the ledger's commits to `anchorer.notify()`:
 *
 *   let anchorer: Anchorer | undefined;
 *   const ledger = await Ledger.open({ store, clock, onCommit: () => anchorer?.notify() });
 *   const chain = await startChain({ config: loadChainConfig(process.env, dataDir), dataDir, ledger, store, ... });
 *   anchorer = chain.anchorer;
 *
 * Start-up fails on configuration errors (wrong chain id, no contract at the
 * address, a lost local chain without the redeploy flag). A configured node
 * that is merely unreachable does not stop the service: the anchorer keeps
 * retrying in the background while entries are accepted.
 */
import path from "node:path";
import type { Logger } from "pino";
import type { NoteSigner } from "../log";
import type { LedgerStore } from "../store/store";
import { Anchorer } from "./anchorer";
import { ChainClient, ChainError, FailoverJsonRpc, HttpJsonRpc, type Eip1193Provider } from "./client";
import type { ChainConfig } from "./config";
import { anvilDevAccount, chainFiles, deployOnce, startLocalChain, type LocalChain } from "./local-chain";
import { crashingFailpoint } from "./failpoints";
import { loadOrCreateRecorderKey } from "./recorder-key";
import { FileAnchorStateStore, type AnchorStateStore } from "./state";

export { Anchorer, type AnchorStatus } from "./anchorer";
export { ChainClient, ChainError } from "./client";
export { loadChainConfig, type ChainConfig } from "./config";

export interface StartChainOptions {
  readonly config: ChainConfig;
  readonly dataDir: string;
  /** The log's durable head; `halt` (the Ledger's) is called when anchoring stops for good, so nothing more is recorded. */
  readonly ledger: { readonly size: number; root(): Uint8Array; halt?(rule: string, message: string): void };
  readonly store: LedgerStore;
  readonly noteSigner: NoteSigner;
  readonly origin: string;
  readonly logger: Logger;
}

export interface ChainConnection {
  readonly client: ChainClient;
  readonly recorderAddress: string;
  /** The block the contract was deployed in (or the configured first block): where its events start. */
  readonly fromBlock: number;
  /** The local anvil, when no chain is configured. */
  readonly local: LocalChain | undefined;
  /** A new anchorer (not started) recording its state in `stateStore`; `ledger` defaults to the one given to connectChain. */
  newAnchorer(stateStore: AnchorStateStore, ledger?: StartChainOptions["ledger"]): Anchorer;
  /** Stops the local chain (which then writes its state); stop every anchorer first. */
  close(): Promise<void>;
}

export interface RunningChain {
  readonly anchorer: Anchorer;
  readonly client: ChainClient;
  readonly recorderAddress: string;
  /** The block the contract was deployed in (or the configured first block): where its events start. */
  readonly fromBlock: number;
  /** The local anvil, when no chain is configured. */
  readonly local: LocalChain | undefined;
  /** Stops the anchorer, then the local chain (which then writes its state). */
  close(): Promise<void>;
}

/** How long a start waits for the anchorer's first look at the chain. */
const FIRST_RECOVERY_WAIT_MS = 5_000;

/**
 * The chain without an anchorer: the recorder key, the chain (local anvil
 * with LedgerAnchor deployed once, or a configured node) and the client.
 * Anchorers are made with {@link ChainConnection.newAnchorer}: one for the
 * life of a single process ({@link startChain}), or one per leadership term
 * among replicas (service/leader).
 */
export async function connectChain(options: StartChainOptions): Promise<ChainConnection> {
  const { config, dataDir, logger } = options;
  const log = logger.child({ component: "chain" });
  const { key, created } = await loadOrCreateRecorderKey(config.recorderKeyFile);
  if (created) log.info({ file: config.recorderKeyFile, recorder: key.address }, "created a new recorder key");

  let local: LocalChain | undefined;
  let transport: Eip1193Provider;
  let address: string;
  let chainId: number;
  let fromBlock: number;
  if (config.remote === undefined) {
    local = await startLocalChain({ dataDir, logger, supervise: true });
    try {
      transport = local.transport();
      const deployment = await deployOnce({
        dataDir,
        transport,
        deployer: anvilDevAccount(),
        recorder: key.address,
        redeploy: config.redeployLocal,
        redeployHint: "restart with LEDGER_LOCAL_CHAIN_REDEPLOY=1",
        awaitDurable: () => local!.awaitDump(),
        logger,
      });
      ({ address, chainId, deployBlock: fromBlock } = deployment);
    } catch (e) {
      await local.stop();
      throw e;
    }
  } else {
    const urls = config.remote.rpcUrls ?? [config.remote.rpcUrl];
    transport =
      urls.length === 1
        ? new HttpJsonRpc(urls[0]!)
        : new FailoverJsonRpc(
            urls.map((u) => new HttpJsonRpc(u)),
            // Endpoints are named by position: a URL may carry credentials.
            (from, to, error) =>
              log.warn(
                {
                  from: from + 1,
                  to: to + 1,
                  endpoints: urls.length,
                  reason: error.message,
                },
                `RPC endpoint ${from + 1} is unreachable; using endpoint ${to + 1}`
              )
          );
    ({ address, chainId, fromBlock } = config.remote);
  }

  const client = new ChainClient({ transport, address, chainId });
  try {
    await client.verify();
    const role = await client.role("RECORDER_ROLE");
    if (!(await client.hasRole(role, key.address)))
      log.error({ recorder: key.address, contract: address }, "the recorder lacks RECORDER_ROLE: anchoring waits until an admin grants it");
  } catch (e) {
    if (!(e instanceof ChainError && e.code === "UNAVAILABLE")) {
      await local?.stop();
      throw e;
    }
    log.warn({ contract: address }, "the chain is unreachable at start; the anchorer will keep trying");
  }

  const failpoint = crashingFailpoint(config.failpoints);
  if (failpoint !== undefined)
    log.warn(
      { failpoints: Object.fromEntries(config.failpoints) },
      "LEDGER_FAILPOINTS is set: the process will SIGKILL itself at these anchoring steps (crash tests only)"
    );
  const newAnchorer = (stateStore: AnchorStateStore, ledger: StartChainOptions["ledger"] = options.ledger): Anchorer =>
    new Anchorer({
      ledger,
      store: options.store,
      chain: client,
      recorder: key,
      stateStore,
      noteSigner: options.noteSigner,
      origin: options.origin,
      logger,
      recordedAtOf: async (i) => (await options.store.leaf(i))?.recordedAt,
      everyEntries: config.everyEntries,
      everyMs: config.everyMs,
      maxInFlight: config.maxInFlight,
      pollMs: config.pollMs,
      confirmations: config.confirmations,
      replaceAfterMs: config.replaceAfterMs,
      ...(config.maxGasPrice !== undefined ? { maxGasPrice: config.maxGasPrice } : {}),
      fromBlock,
      ...(failpoint !== undefined ? { failpoint } : {}),
      // A log that has split from the chain, or fallen behind it, must not grow: new entries would form a
      // branch the chain never sees. Recording stays refused until an operator has resolved it and restarted.
      onFatal: (e) => ledger.halt?.(e.code === "SPLIT" ? "anchoring-split-view" : "anchoring-chain-ahead", `recording is stopped: ${e.message}`),
    });
  return {
    client,
    recorderAddress: key.address,
    fromBlock,
    local,
    newAnchorer,
    async close() {
      await local?.stop();
    },
  };
}

/**
 * {@link connectChain}, then one anchorer over the state file in the data
 * directory, started: the single-process service (LevelDB).
 */
export async function startChain(options: StartChainOptions): Promise<RunningChain> {
  const connection = await connectChain(options);
  const anchorer = connection.newAnchorer(new FileAnchorStateStore(path.join(chainFiles(options.dataDir).dir, "anchor-state.json")));
  await startAnchorer(connection, anchorer, options.logger);
  const { client, recorderAddress, fromBlock, local } = connection;
  return {
    anchorer,
    client,
    recorderAddress,
    fromBlock,
    local,
    async close() {
      await anchorer.stop();
      await connection.close();
    },
  };
}

/**
 * Starts `anchorer` and waits (a bounded time) for its first comparison of
 * the record with the chain. Returns a function that stops listening to the
 * local chain's restarts (call it when the anchorer stops).
 */
export async function startAnchorer(connection: ChainConnection, anchorer: Anchorer, logger: Logger): Promise<() => void> {
  const { local, client } = connection;
  anchorer.start();
  // A restarted local chain may have lost its newest blocks: compare the record with it again.
  const unsubscribe = local?.onRestart(() => anchorer.recheck()) ?? (() => {});
  // Let the first recovery compare the record with the chain before the service takes writes, so a
  // split view known at start refuses the first write too; a chain that is slow to answer does not hold up the start.
  await Promise.race([anchorer.firstRecovery(), new Promise<void>((resolve) => setTimeout(resolve, FIRST_RECOVERY_WAIT_MS).unref())]);
  const fields = { contract: client.address, chainId: client.chainId, recorder: connection.recorderAddress, local: local !== undefined };
  logger.child({ component: "chain" }).info(fields, "anchoring started");
  return unsubscribe;
}
