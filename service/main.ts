/**
 * The service entry point: the only place that reads the environment,
 * opens the data directory and listens. Everything it wires together can be
 * built without it (createApp, Ledger.open, LevelStore.open) for tests.
 */
import type { Server } from "node:http";
import pino from "pino";
import { loadConfig, ConfigError, type Config } from "./config";
import { createApp } from "./http/app";
import { CheckpointSigner } from "./ledger/checkpoints";
import { Ledger, systemClock } from "./ledger/ledger";
import { loadOrCreateLogKey, KeyFileError } from "./keys";
import { LevelStore } from "./store/level";
import { StoreLockedError } from "./store/store";
import { createToken } from "./auth/tokens";

export interface RunningService {
  readonly url: string;
  readonly server: Server;
  readonly ledger: Ledger;
  readonly verifierKey: string;
  /** Set when no token existed yet and a first admin token was created; printed once, never logged. */
  readonly firstAdminToken: string | undefined;
  close(): Promise<void>;
}

/** Opens the store, keys and ledger, and listens. Throws on any start-up failure. */
export async function startService(config: Config, logger = pino({ level: config.logLevel })): Promise<RunningService> {
  const store = await LevelStore.open(config.dataDir);
  try {
    const key = await loadOrCreateLogKey(config.logKeyFile, config.origin);
    if (key.created) logger.info({ file: config.logKeyFile }, "created a new log signing key");
    const ledger = await Ledger.open({ store, clock: systemClock });
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
      health: async () => ({ ok: true, treeSize: ledger.size }),
      config: { bodyLimit: config.bodyLimit, rateLimit: config.rateLimit },
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.once("error", reject);
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
      async close() {
        clearInterval(expiry);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections?.();
        await ledger.close();
        await store.close();
      },
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`subsidy-ledger: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = pino({ level: config.logLevel });
  let service: RunningService;
  try {
    service = await startService(config, logger);
  } catch (e) {
    if (e instanceof StoreLockedError || e instanceof KeyFileError) {
      process.stderr.write(`subsidy-ledger: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const lines = [
    "",
    `subsidy-ledger is running on ${service.url}`,
    `  API:        ${service.url}/v1/health   (OpenAPI: ${service.url}/v1/openapi.json)`,
    `  data:       ${config.dataDir}   (tree size ${service.ledger.size})`,
    `  log key:    ${service.verifierKey}`,
  ];
  if (service.firstAdminToken)
    lines.push(`  first admin token (shown once; create more with npm run admin -- token create):`, `    ${service.firstAdminToken}`);
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
  main().catch((e: unknown) => {
    process.stderr.write(`subsidy-ledger: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
