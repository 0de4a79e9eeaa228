/**
 * The service entry point: the only place that reads the environment,
 * opens the data directory and listens. Everything it wires together can be
 * built without it (createApp, Ledger.open, LevelStore.open, PostgresStore.open) for tests.
 */
import type { Server } from "node:http";
import { setFlagsFromString } from "node:v8";
import { Command, CommanderError } from "commander";
import pino from "pino";
import { ConfigError, type Config } from "./config";
import { loadSettings, settingsHelp } from "./settings";
import {
  adminTokenCommand,
  checkDataDir,
  clearFirstAdminTokenPending,
  DataDirError,
  firstAdminTokenPending,
  makeCreatedFilesPrivate,
  markFirstAdminTokenPending,
  openDataDir,
} from "./data-dir";
import { createApp } from "./http/app";
import { closeServer, createStartingServer, type StartingServer } from "./http/server";
import { Tokens } from "./http/tokens";
import { CheckpointSigner } from "./ledger/checkpoints";
import { systemClock } from "./clock";
import { Ledger } from "./ledger/ledger";
import { Queries } from "./queries/queries";
import { TileQueries } from "./queries/tiles";
import { publishedCheckpoint } from "./publish/published";
import { ContinuousPublisher } from "./publish/continuous";
import { readWitnessPolicyFile, WitnessCosigner, witnessesHealthy, WitnessPolicyFileError, type WitnessingOptions } from "./publish/witnesses";
import type { WitnessPolicy } from "./format/witness-policy";
import { consistencyProof } from "./ledger/proofs";
import { loadOrCreateLogKey, KeyFileError } from "./keys";
import { LevelStore } from "./store/level";
import { describeDatabaseUrl, PostgresStore } from "./store/postgres";
import { StoreLockedError, StoreUnavailableError, type LedgerStore } from "./store/store";
import { createToken } from "./auth/tokens";
import { startChain, type ChainConfig, type RunningChain } from "./chain";
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
  /** Call once firstAdminToken has been printed: until then, the data directory records it as never shown. */
  firstAdminTokenShown(): Promise<void>;
  /** True when a previous start created the first admin token but died before printing it (see data-dir.ts). */
  readonly adminTokenNeverShown: boolean;
  /** The anchoring side, unless started without a chain. */
  readonly chain: RunningChain | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Chain settings (see service/chain/config.ts); false runs the ledger without anchoring, for tests. */
  readonly chain: ChainConfig | false;
  /** A server already listening on the configured port ({@link listenFirst}); by default startService binds one first. */
  readonly listening?: StartingServer;
  /**
   * The witness policy, already read (main reads it before binding, to exit 2 on a bad file); null: none.
   * Absent: read from config.witnessPolicyFile here.
   */
  readonly witnessPolicy?: WitnessPolicy | null;
  /** Timing of the witness submissions (tests shorten it). */
  readonly witnessing?: Pick<WitnessingOptions, "everyMs" | "backoffMinMs" | "backoffMaxMs" | "alarmRetryMs" | "timeoutMs">;
}

/** The configured port could not be bound. The message is the one line to print. */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/** Requests in flight get this long to finish when the service stops; then their connections are closed. */
const CLOSE_GRACE_MS = 2000;

/**
 * Binds the configured port, answering 503 "starting" until the app is
 * served. Called before anything durable is created (data directory, keys,
 * chain, first admin token), so that a taken port fails a first start
 * having created nothing. Throws ListenError.
 */
export async function listenFirst(config: Config): Promise<StartingServer> {
  const starting = createStartingServer(config.http);
  try {
    await new Promise<void>((resolve, reject) => {
      starting.server.once("error", reject);
      starting.server.listen(config.port, config.host, () => {
        starting.server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = `port ${config.port} on ${config.host}`;
    throw new ListenError(
      code === "EADDRINUSE"
        ? `${where} is already in use (set PORT or HOST to use another)`
        : code === "EACCES"
          ? `${where} needs privileges this user lacks (use a port above 1023)`
          : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
            ? `cannot listen on ${config.host}: not an address of this machine`
            : `cannot listen on ${where}: ${code ?? (e as Error).message}`,
    );
  }
  return starting;
}

/**
 * The store LEDGER_DATABASE_URL selects: PostgreSQL when it is set, else
 * LevelDB in the data directory. Either way one service process at a time
 * (StoreLockedError for a second), until replicas are supported. The data directory is created and checked
 * either way: the key files, the anchoring state and the first-admin-token
 * marker stay there.
 */
export function openStore(config: Config): Promise<LedgerStore> {
  return config.databaseUrl === undefined ? LevelStore.open(config.dataDir) : PostgresStore.open(config.databaseUrl, { exclusive: true });
}

/** Where the ledger's entries are, for the start-up banner: never the database URL itself, which may hold a password. */
export function storeDescription(config: Config): string {
  return config.databaseUrl === undefined ? config.dataDir : `${describeDatabaseUrl(config.databaseUrl)} (keys in ${config.dataDir})`;
}

/**
 * Binds the port (unless `options.listening` is given), then creates or
 * opens the data directory, the store, keys, ledger and chain, and serves
 * the app. Throws on any start-up failure, having closed what it opened.
 */
export async function startService(config: Config, logger = pino({ level: config.logLevel }), options: StartOptions): Promise<RunningService> {
  const policy = options.witnessPolicy !== undefined ? options.witnessPolicy : config.witnessPolicyFile === undefined ? null : await readWitnessPolicyFile(config.witnessPolicyFile);
  // Refuse a directory others can read before binding anything; create it only once the port is ours.
  await checkDataDir(config.dataDir);
  const listening = options.listening ?? (await listenFirst(config));
  const server = listening.server;
  let opened: LedgerStore | undefined;
  let chain: RunningChain | undefined;
  let tlogCopy: ContinuousPublisher | undefined;
  let cosigner: WitnessCosigner | undefined;
  try {
    await openDataDir(config.dataDir);
    const store = (opened = await openStore(config));
    const key = await loadOrCreateLogKey(config.logKeyFile, config.origin);
    if (key.created) logger.info({ file: config.logKeyFile }, "created a new log signing key");
    const access = await loadOrCreateAccessCodes(config.accessCodeKeyFile, { generations: store });
    if (access.created) logger.info({ file: config.accessCodeKeyFile }, "created a new access-code key");
    const ledger = await Ledger.open({ store, clock: systemClock, onCommit: () => chain?.anchorer.notify() });
    let anchoring: AnchoringInfo | undefined;
    if (options.chain !== false) {
      chain = await startChain({ config: options.chain, dataDir: config.dataDir, ledger, store, noteSigner: key.signer, origin: config.origin, logger });
      anchoring = anchoringInfo(chain, options.chain.everyMs);
    }
    const maxDelayMs = options.chain === false ? 0 : options.chain.maxDelayMs;
    const checkpoints = new CheckpointSigner(ledger, key.signer, config.origin);
    // What /tlog/ publishes: the anchorer's anchored checkpoint (nothing without a chain), and with a witness
    // policy the newest one its quorum cosigned (service/publish/published.ts); receipts cite the same one.
    if (policy === null) logger.info("no witnesses configured (LEDGER_WITNESS_POLICY_FILE unset): anchored checkpoints are published as they are");
    else if (anchoring === undefined) logger.warn("a witness policy is configured but the chain is off: nothing is anchored, so nothing is submitted or published");
    else {
      const anchoredPoint = anchoring.anchored.bind(anchoring);
      cosigner = WitnessCosigner.start({
        policy,
        anchored: anchoredPoint,
        proof: async (a, b) => (await consistencyProof(store, a, b, ledger.size)).proof,
        logger: logger.child({ component: "witnesses" }),
        ...options.witnessing,
      });
      const c = cosigner;
      anchoring = { ...anchoring, anchored: anchoredPoint, published: () => c.publishedPoint() };
      logger.info({ witnesses: policy.witnesses.map((w) => w.name), quorum: policy.quorum }, "witnesses configured: checkpoints are published once the quorum cosigns them");
    }
    const tiles = new TileQueries({ store, published: publishedCheckpoint(chain?.anchorer, cosigner) });
    if (config.tlogDir !== undefined) tlogCopy = await ContinuousPublisher.start({ dir: config.tlogDir, tiles, logger });

    let firstAdminToken: string | undefined;
    let adminTokenNeverShown = false;
    if ((await store.tokens()).length === 0) {
      // Durably "pending" before the token exists, cleared once main has printed it: a start that dies
      // in between leaves a directory that says how to get an admin token instead of none at all.
      await markFirstAdminTokenPending(config.dataDir);
      const created = await createToken(store, systemClock, { official: "admin", agency: "local", role: "admin" });
      firstAdminToken = created.token;
    } else adminTokenNeverShown = await firstAdminTokenPending(config.dataDir);

    const app = createApp({
      ledger,
      queries: new Queries({ store, size: () => ledger.size }),
      tokens: new Tokens(store, systemClock),
      logger,
      signedCheckpoint: async () => checkpoints.latest(),
      health: async () => {
        if (chain === undefined) return { ok: true, treeSize: ledger.size, anchoring: "off" };
        const st = await chain.anchorer.status();
        const waitedMs = st.oldestUnanchoredAt === null ? 0 : Date.now() - Date.parse(st.oldestUnanchoredAt);
        const witnesses = cosigner?.status();
        return {
          ok: st.fatal === null && waitedMs <= maxDelayMs && (witnesses === undefined || witnessesHealthy(witnesses)),
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
          ...(witnesses === undefined ? {} : { witnesses }),
        };
      },
      config: { bodyLimit: config.bodyLimit, rateLimit: config.rateLimit, trustProxy: config.trustProxy },
      logKey: key.verifierKey,
      accessCodes: access.codes,
      ...(anchoring !== undefined ? { anchoring } : {}),
      tiles,
      // The portal at /. Visitors' browsers read checkpoints from the chain itself at LEDGER_PUBLIC_RPC_URL,
      // or, with the local anvil, at its loopback URL (reachable from browsers on this machine).
      portal: {
        ...(config.publicRpcUrl !== undefined ? { rpcUrl: config.publicRpcUrl } : chain?.local !== undefined ? { rpcUrl: chain.local.url } : {}),
        // The keys the page's verification trusts, served at /portal/trust: the log key and the witness policy.
        logKey: key.verifierKey,
        witnessPolicy: policy,
      },
    });
    listening.serve(app);
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
      adminTokenNeverShown,
      async firstAdminTokenShown() {
        await clearFirstAdminTokenPending(config.dataDir);
      },
      chain,
      async close() {
        clearInterval(expiry);
        await closeServer(server, CLOSE_GRACE_MS);
        await tlogCopy?.close();
        await cosigner?.close();
        await ledger.close();
        await chain?.close();
        await store.close();
      },
    };
  } catch (e) {
    await tlogCopy?.close();
    await cosigner?.close();
    await chain?.close();
    await opened?.close();
    await closeServer(server, 0);
    throw e;
  }
}

/** What the command line asks for: run (with or without the demo), or exit with a code (help shown, or a usage error). */
export type Arguments = { readonly run: true; readonly demo: boolean } | { readonly run: false; readonly exitCode: 0 | 2 };

/**
 * Parses the command line (argv without node and the script). --help prints
 * the usage and every environment setting with its default (settingsHelp)
 * to `out`; an unknown option or any other argument writes one line to
 * `err` and asks for exit 2.
 */
export function parseArguments(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Arguments {
  const program = new Command("subsidy-ledger")
    .usage("[--demo]   (npm start -- [options], or npm run demo)")
    .description("Runs the ledger service: the API and portal on HOST:PORT, the data in LEDGER_DATA_DIR, anchored on a chain.")
    .option("--demo", "first load the demo history into the data directory (what npm run demo does)")
    .helpOption("-h, --help", "print this help and exit")
    .addHelpText("after", "\n" + settingsHelp())
    .showSuggestionAfterError(false)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({
      writeOut: out,
      writeErr: out,
      outputError: (s) => err(`subsidy-ledger: ${s.trim().replace(/^error: /, "")} (see --help)\n`),
    });
  try {
    program.parse([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return { run: false, exitCode: e.code === "commander.helpDisplayed" ? 0 : 2 };
    throw e;
  }
  return { run: true, demo: program.opts<{ demo?: boolean }>().demo === true };
}

/** Writes `message` as the one line a failed start prints, and exits with `code`. */
function fail(message: string, code: 1 | 2): never {
  process.stderr.write(`subsidy-ledger: ${message}\n`);
  process.exit(code);
}

/** How long a stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  const args = parseArguments(
    process.argv.slice(2),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  );
  if (!args.run) process.exit(args.exitCode);
  let config: Config;
  let chainConfig: ChainConfig | false;
  try {
    ({ config, chain: chainConfig } = loadSettings(process.env));
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
  // Everything this process creates (data directory, LevelDB, keys, the local chain's files) is private to its user.
  makeCreatedFilesPrivate();
  const logger = pino({ level: config.logLevel });

  // SIGTERM or SIGINT stops the service cleanly: at once once it runs, or as soon as start-up is done.
  let service: RunningService | undefined;
  let stoppingSince: number | undefined;
  let closing = false;
  const closeAndExit = (running: RunningService) => {
    if (closing) return;
    closing = true;
    running.close().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C in a terminal reaches this process twice: from the terminal (the whole process group)
      // and forwarded by npm, which passes SIGINT and SIGTERM on to its script. A repeat within a
      // second is that same request; a later one means "now": exit without finishing the shutdown.
      if (Date.now() - stoppingSince < 1000) return;
      logger.warn({ signal }, "second signal: exiting without finishing the shutdown");
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, service === undefined ? "shutting down once start-up is done" : "shutting down");
    // Requests get CLOSE_GRACE_MS; the rest (ledger, chain, store) is local. Past the deadline, exit anyway.
    setTimeout(() => {
      logger.error({ deadlineMs: STOP_DEADLINE_MS }, "shutdown did not finish in time; exiting");
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    if (service !== undefined) closeAndExit(service);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  let witnessPolicy: WitnessPolicy | null = null;
  try {
    if (config.witnessPolicyFile !== undefined) witnessPolicy = await readWitnessPolicyFile(config.witnessPolicyFile);
  } catch (e) {
    if (e instanceof WitnessPolicyFileError) fail(e.message, 2);
    throw e;
  }

  let listening: StartingServer;
  try {
    // Refuse a data directory others can read, then bind the port: both before anything is created.
    await checkDataDir(config.dataDir);
    listening = await listenFirst(config);
  } catch (e) {
    if (e instanceof DataDirError || e instanceof ListenError) fail(e.message, 1);
    throw e;
  }
  // --demo (npm run demo): load the demo history into the data directory first; see service/demo.
  let demo: DemoDataDirResult | undefined;
  if (args.demo) {
    if (config.databaseUrl !== undefined) fail("--demo: the demo loads into a LevelDB data directory; unset LEDGER_DATABASE_URL to run it", 2);
    try {
      demo = await loadDemoIntoDataDir(config.dataDir);
    } catch (e) {
      if (e instanceof DemoError || e instanceof StoreLockedError || e instanceof DataDirError) fail(`--demo: ${e.message}`, 1);
      throw e;
    }
  }
  try {
    service = await startService(config, logger, { chain: chainConfig, listening, witnessPolicy });
  } catch (e) {
    if (
      e instanceof StoreLockedError ||
      e instanceof StoreUnavailableError ||
      e instanceof KeyFileError ||
      e instanceof AccessCodeKeyError ||
      e instanceof DataDirError
    )
      fail(e.message, 1);
    throw e;
  }
  const lines = [
    "",
    `subsidy-ledger is running on ${service.url}`,
    `  portal:     ${service.url}/`,
    `  API:        ${service.url}/v1/health   (OpenAPI: ${service.url}/v1/openapi.json)`,
    `  data:       ${storeDescription(config)}   (tree size ${service.ledger.size})`,
    `  log key:    ${service.verifierKey}`,
    service.chain
      ? `  chain:      ${service.chain.local ? "local anvil (state under the data directory)" : "configured node"}, contract ${service.chain.client.address}, recorder ${service.chain.recorderAddress}`
      : "  chain:      off (LEDGER_CHAIN=off): entries are not anchored",
    witnessPolicy === null
      ? "  witnesses:  no witnesses configured (set LEDGER_WITNESS_POLICY_FILE to publish only checkpoints a witness quorum cosigned)"
      : `  witnesses:  ${witnessPolicy.witnesses.map((w) => w.name).join(", ")} (quorum ${witnessPolicy.quorum}); status in /v1/health`,
  ];
  const rpcUrl = service.chain?.local?.url ?? (chainConfig === false ? undefined : chainConfig.remote?.rpcUrl);
  if (service.chain && rpcUrl !== undefined)
    lines.push(
      `  audit:      npm run verify -- --service ${service.url} --rpc ${rpcUrl} --contract ${service.chain.client.address} --log-key '${service.verifierKey}'`,
    );
  if (service.firstAdminToken)
    lines.push(`  first admin token (shown once; create more with npm run admin -- token create):`, `    ${service.firstAdminToken}`);
  if (service.adminTokenNeverShown)
    lines.push(
      `  admin token: none was ever shown for this data directory (an earlier first start stopped before printing it).`,
      `    To get one, stop the service and run: ${adminTokenCommand(config.dataDir)}`,
    );
  if (demo) lines.push(...demoSummaryLines(demo, service.url));
  process.stdout.write(lines.join("\n") + "\n\n");
  if (service.firstAdminToken) await service.firstAdminTokenShown();

  // A signal that came during start-up: stop now that the banner (and any first token) is out.
  if (stoppingSince !== undefined) closeAndExit(service);
}

if (require.main === module) {
  // Allocation-site pretenuring off, before the service allocates anything of its own. Under
  // load, requests wait for a group commit long enough for their objects to survive scavenges;
  // with pretenuring V8 then allocates every later object of those sites (per-request ones)
  // straight in the old generation, where they die as garbage that only a full collection
  // reclaims, and keep young objects alive meanwhile. Off, the service holds less memory and
  // spends less CPU per entry under `npm run bench:api` (README, Performance).
  setFlagsFromString("--no-allocation-site-pretenuring");
  main().catch((e: unknown) => {
    process.stderr.write(`subsidy-ledger: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
