/**
 * The service entry point: the only place that reads the environment,
 * opens the data directory and listens. Everything it wires together can be
 * built without it (createApp, Ledger.open, LevelStore.open) for tests.
 */
import type { Server } from "node:http";
import { setFlagsFromString } from "node:v8";
import pino from "pino";
import { loadConfig, ConfigError, type Config } from "./config";
import { createApp } from "./http/app";
import { createAppServer } from "./http/server";
import { CheckpointSigner } from "./ledger/checkpoints";
import { Ledger, systemClock } from "./ledger/ledger";
import { loadOrCreateLogKey, KeyFileError } from "./keys";
import { LevelStore } from "./store/level";
import { StoreLockedError } from "./store/store";
import { createToken } from "./auth/tokens";
import { loadChainConfig, startChain, type ChainConfig, type RunningChain } from "./chain";
import { loadOrCreateAccessCodes, AccessCodeKeyError } from "./auth/access-codes";
import type { AnchoringInfo } from "./http/receipts";
import { demoSummaryLines, loadDemoIntoDataDir, DemoError, type DemoDataDirResult } from "./demo";

/** What the receipt routes need to know of the anchoring side. */
function anchoringInfo(chain: RunningChain, everyMs: number): AnchoringInfo {
  const { chainId, address } = chain.client;
  return {
    chainId,
    contract: address,
    fromBlock: chain.fromBlock,
    retryAfterSeconds: Math.max(1, Math.ceil(everyMs / 1000)),
    anchored() {
      const a = chain.anchorer.anchored;
      return a === null ? null : { ...a, chainId, contract: address };
    },
  };
}

export interface RunningService {
  readonly url: string;
  readonly server: Server;
  readonly ledger: Ledger;
  readonly verifierKey: string;
  /** Set when no token existed yet and a first admin token was created; printed once, never logged. */
  readonly firstAdminToken: string | undefined;
  /** The anchoring side, unless started without a chain. */
  readonly chain: RunningChain | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Chain settings (see service/chain/config.ts); false runs the ledger without anchoring, for tests. */
  readonly chain: ChainConfig | false;
}

/** Opens the store, keys and ledger, and listens. Throws on any start-up failure. */
export async function startService(config: Config, logger = pino({ level: config.logLevel }), options: StartOptions): Promise<RunningService> {
  const store = await LevelStore.open(config.dataDir);
  let chain: RunningChain | undefined;
  try {
    const key = await loadOrCreateLogKey(config.logKeyFile, config.origin);
    if (key.created) logger.info({ file: config.logKeyFile }, "created a new log signing key");
    const access = await loadOrCreateAccessCodes(config.accessCodeKeyFile);
    if (access.created) logger.info({ file: config.accessCodeKeyFile }, "created a new access-code key");
    const ledger = await Ledger.open({ store, clock: systemClock, onCommit: () => chain?.anchorer.notify() });
    let anchoring: AnchoringInfo | undefined;
    if (options.chain !== false) {
      chain = await startChain({ config: options.chain, dataDir: config.dataDir, ledger, store, noteSigner: key.signer, origin: config.origin, logger });
      anchoring = anchoringInfo(chain, options.chain.everyMs);
    }
    const maxDelayMs = options.chain === false ? 0 : options.chain.maxDelayMs;
    const checkpoints = new CheckpointSigner(ledger, key.signer, config.origin);

    let firstAdminToken: string | undefined;
    if ((await store.tokens()).length === 0) {
      const created = await createToken(store, systemClock, { official: "admin", agency: "local", role: "admin" });
      firstAdminToken = created.token;
    }

    const app = createApp({
      ledger,
      store,
      clock: systemClock,
      logger,
      signedCheckpoint: async () => checkpoints.latest(),
      health: async () => {
        if (chain === undefined) return { ok: true, treeSize: ledger.size, anchoring: "off" };
        const st = await chain.anchorer.status();
        const waitedMs = st.oldestUnanchoredAt === null ? 0 : Date.now() - Date.parse(st.oldestUnanchoredAt);
        return {
          ok: st.fatal === null && waitedMs <= maxDelayMs,
          treeSize: ledger.size,
          anchoring: {
            anchoredSize: st.anchoredSize,
            lagEntries: st.lagEntries,
            oldestUnanchoredAt: st.oldestUnanchoredAt,
            lagSeconds: Math.round(waitedMs / 1000),
            maxDelaySeconds: Math.round(maxDelayMs / 1000),
            lastError: st.lastError,
            fatal: st.fatal,
          },
        };
      },
      config: { bodyLimit: config.bodyLimit, rateLimit: config.rateLimit, trustProxy: config.trustProxy },
      logKey: key.verifierKey,
      accessCodes: access.codes,
      ...(anchoring !== undefined ? { anchoring } : {}),
      // The portal at /. Visitors' browsers read checkpoints from the chain itself at LEDGER_PUBLIC_RPC_URL,
      // or, with the local anvil, at its loopback URL (reachable from browsers on this machine).
      portal: config.publicRpcUrl !== undefined ? { rpcUrl: config.publicRpcUrl } : chain?.local !== undefined ? { rpcUrl: chain.local.url } : {},
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = createAppServer(app);
      s.once("error", reject);
      s.listen(config.port, config.host, () => resolve(s));
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : config.port;

    const expiry = setInterval(() => {
      const cutoff = new Date(Date.now() - config.idempotencyHours * 3600_000).toISOString();
      store.expireIdempotency(cutoff).catch((e: unknown) => logger.warn({ err: e }, "idempotency expiry failed"));
    }, 3600_000);
    expiry.unref();

    return {
      url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`,
      server,
      ledger,
      verifierKey: key.verifierKey,
      firstAdminToken,
      chain,
      async close() {
        clearInterval(expiry);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections?.();
        await ledger.close();
        await chain?.close();
        await store.close();
      },
    };
  } catch (e) {
    await chain?.close();
    await store.close();
    throw e;
  }
}

async function main(): Promise<void> {
  let config: Config;
  let chainConfig: ChainConfig | false;
  try {
    config = loadConfig();
    chainConfig = process.env.LEDGER_CHAIN === "off" ? false : loadChainConfig(process.env, config.dataDir);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`subsidy-ledger: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = pino({ level: config.logLevel });
  // --demo (npm run demo): load the demo history into the data directory first; see service/demo.
  let demo: DemoDataDirResult | undefined;
  if (process.argv.includes("--demo")) {
    try {
      demo = await loadDemoIntoDataDir(config.dataDir);
    } catch (e) {
      if (e instanceof DemoError || e instanceof StoreLockedError) {
        process.stderr.write(`subsidy-ledger: --demo: ${e.message}\n`);
        process.exit(1);
      }
      throw e;
    }
  }
  let service: RunningService;
  try {
    service = await startService(config, logger, { chain: chainConfig });
  } catch (e) {
    if (e instanceof StoreLockedError || e instanceof KeyFileError || e instanceof AccessCodeKeyError) {
      process.stderr.write(`subsidy-ledger: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const lines = [
    "",
    `subsidy-ledger is running on ${service.url}`,
    `  portal:     ${service.url}/`,
    `  API:        ${service.url}/v1/health   (OpenAPI: ${service.url}/v1/openapi.json)`,
    `  data:       ${config.dataDir}   (tree size ${service.ledger.size})`,
    `  log key:    ${service.verifierKey}`,
    service.chain
      ? `  chain:      ${service.chain.local ? "local anvil (state under the data directory)" : "configured node"}, contract ${service.chain.client.address}, recorder ${service.chain.recorderAddress}`
      : "  chain:      off (LEDGER_CHAIN=off): entries are not anchored",
  ];
  const rpcUrl = service.chain?.local?.url ?? (chainConfig === false ? undefined : chainConfig.remote?.rpcUrl);
  if (service.chain && rpcUrl !== undefined)
    lines.push(
      `  audit:      npm run verify -- --service ${service.url} --rpc ${rpcUrl} --contract ${service.chain.client.address} --log-key '${service.verifierKey}'`,
    );
  if (service.firstAdminToken)
    lines.push(`  first admin token (shown once; create more with npm run admin -- token create):`, `    ${service.firstAdminToken}`);
  if (demo) lines.push(...demoSummaryLines(demo, service.url));
  process.stdout.write(lines.join("\n") + "\n\n");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    service.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

if (require.main === module) {
  // Allocation-site pretenuring off, before the service allocates anything of its own. Under
  // load, requests wait for a group commit for up to a few hundred milliseconds, long enough for
  // their objects to survive scavenges; V8 then allocates every later object of those sites
  // (per-request ones) straight in the old generation, where they die as garbage that only a
  // full collection reclaims and that keeps young objects alive meanwhile. In bench:api at
  // 1,000,000 entries (README, Performance) the service held 252–255 MiB after the write phase
  // with it on, 199–233 MiB with it off (alternating runs), and spent more CPU per entry.
  setFlagsFromString("--no-allocation-site-pretenuring");
  main().catch((e: unknown) => {
    process.stderr.write(`subsidy-ledger: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
