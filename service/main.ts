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
import { adminTokenCommand, checkDataDir, clearFirstAdminTokenPending, DataDirError, makeCreatedFilesPrivate } from "./data-dir";
import type { StartingServer } from "./http/server";
import { metricsOnlyApp } from "./http/metrics";
import { systemClock } from "./clock";
import { Ledger } from "./ledger/ledger";
import { readWitnessPolicyFile, WitnessPolicyFileError } from "./publish/witnesses";
import { describeQuorum, type WitnessPolicy } from "./format/witness-policy";
import { loadOrCreateLogKey, KeyFileError } from "./keys";
import { StoreLockedError, StoreUnavailableError } from "./store/store";
import type { ChainConfig, ChainConnection, RunningChain } from "./chain";
import { localChainProblem } from "./chain/config";
import type { LeaderConfig } from "./leader/config";
import type { LeaderStatus } from "./leader/replicas";
import { AccessCodeKeyError } from "./auth/access-codes";
import { demoSummaryLines, loadDemoIntoDataDir, DemoError, type DemoDataDirResult } from "./demo";
import type { ServiceMetrics } from "./metrics/metrics";
import { readMetricsToken, type MetricsConfig } from "./metrics/config";
import { SecretFileError } from "./secret-file";
import { MAX_DEMO_WITNESSES, startDemoNetwork, type DemoNetwork, type RunningDemoMirror } from "./demo/network";
import { bindServers, CLOSE_GRACE_MS, listenFirst, listenMetricsFirst, ListenError, type BoundServers } from "./startup/servers";
import { expireIdempotencyHourly, openCheckedStore, storeDescription, type OpenedStore } from "./startup/store";
import { openKeys } from "./startup/keys";
import { startAnchoring, type Anchoring } from "./startup/anchoring";
import { setUpPublishing, type Publishing, type WitnessTiming } from "./startup/publishing";
import { startMetrics } from "./startup/metrics";
import { ensureFirstAdminToken } from "./startup/admin-token";
import { serviceApp } from "./startup/app";

export { listenFirst, listenMetricsFirst, ListenError } from "./startup/servers";
export { openStore, storeDescription } from "./startup/store";

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
  /** The anchoring side, unless started without a chain, or with PostgreSQL (where the leader's anchorer changes with each term). */
  readonly chain: RunningChain | undefined;
  /** Where GET /metrics is served: on `url` (behind its token), on its own address, or undefined when it is off. */
  readonly metricsUrl: string | undefined;
  /** The chain anchored on, either way (undefined without a chain). */
  readonly anchoredOn: Pick<ChainConnection, "client" | "recorderAddress" | "local"> | undefined;
  /** Whether this replica leads (always, with LevelDB), the leader's id and the term's epoch (null without a lease). */
  leaderStatus(): LeaderStatus;
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
  readonly witnessing?: WitnessTiming;
  /**
   * GET /metrics: behind `token` on the public port, or on its own `address` (behind the token too, if set).
   * Absent, or neither set: not served. main reads the token file before binding, to exit 2 on a bad one.
   */
  readonly metrics?: { readonly token: string | undefined; readonly address: MetricsConfig["address"] };
  /** A server already listening on the metrics address ({@link listenMetricsFirst}); by default bound here. */
  readonly metricsListening?: StartingServer;
  /** Leadership among PostgreSQL replicas (loadSettings' `leader`); default lease 5 s and a generated replica id. Unused with LevelDB. */
  readonly leader?: LeaderConfig;
}

/**
 * Binds the port (unless `options.listening` is given), then creates or
 * opens the data directory, the store, keys, ledger and chain, and serves
 * the app. Throws on any start-up failure, having closed what it opened.
 */
export async function startService(config: Config, logger = pino({ level: config.logLevel }), options: StartOptions): Promise<RunningService> {
  if (options.chain !== false) {
    const problem = localChainProblem(options.chain, config.databaseUrl !== undefined);
    if (problem !== undefined) throw new ConfigError(`invalid configuration: ${problem}`);
  }
  const policy = options.witnessPolicy !== undefined ? options.witnessPolicy : config.witnessPolicyFile === undefined ? null : await readWitnessPolicyFile(config.witnessPolicyFile);
  // Refuse a directory others can read before binding anything; create it only once the port is ours.
  await checkDataDir(config.dataDir);
  const metricsToken = options.metrics?.token;
  const bound = await bindServers(config, { listening: options.listening, metricsListening: options.metricsListening, metricsAddress: options.metrics?.address, metricsToken });
  const parts: Parts = { servers: bound };
  const { servers } = parts;
  try {
    const opened = (parts.opened = await openCheckedStore(config, logger));
    const { store } = opened;
    const keys = await openKeys(config, store, opened.shared, logger);
    // The ledger's commits reach the anchorer, and its timings the metrics, once those exist.
    const ledger = (parts.ledger = await Ledger.open({
      store,
      clock: systemClock,
      onCommit: () => parts.anchoring?.notifyCommit(),
      observer: { committed: (n, seconds) => parts.metrics?.metrics.ledger.committed(n, seconds), commitFailed: () => parts.metrics?.metrics.ledger.commitFailed() },
    }));
    const anchoring = (parts.anchoring = await startAnchoring({ config, chain: options.chain, leader: options.leader, ledger, store, noteSigner: keys.logKey.signer, logger }));
    const publishing = (parts.publishing = setUpPublishing({ config, policy, witnessing: options.witnessing, anchoring, store, ledger, verifierKey: keys.logKey.verifierKey, logger }));
    await anchoring.lead(publishing.stages);
    const metrics = servers.metricsListening !== undefined || metricsToken !== undefined ? (parts.metrics = startMetrics({ ledger, anchoring, publishing, policy })).metrics : undefined;
    const admin = await ensureFirstAdminToken(store, config.dataDir, logger);
    // GET /metrics on the public port only when it has no address of its own.
    const app = serviceApp({ config, logger, opened, ledger, keys, anchoring, publishing, policy, metrics, metricsToken: servers.metricsListening === undefined ? metricsToken : undefined });
    const metricsApp =
      metrics === undefined || servers.metricsListening === undefined ? undefined : metricsOnlyApp({ metrics, ...(metricsToken !== undefined ? { token: metricsToken } : {}) });
    const { url, metricsUrl } = servers.serve(app, metricsApp);
    parts.stopExpiry = expireIdempotencyHourly(store, config.idempotencyHours, logger);
    return {
      url,
      server: servers.listening.server,
      ledger,
      verifierKey: keys.logKey.verifierKey,
      ...admin,
      async firstAdminTokenShown() {
        await clearFirstAdminTokenPending(config.dataDir);
      },
      chain: anchoring.chain,
      metricsUrl,
      anchoredOn: anchoring.chain ?? anchoring.connection,
      leaderStatus: anchoring.leaderStatus,
      close: () => shutDown(parts, CLOSE_GRACE_MS),
    };
  } catch (e) {
    await shutDown(parts, 0);
    throw e;
  }
}

/** What a start has opened so far: all of it once the service runs. */
interface Parts {
  readonly servers: BoundServers;
  opened?: OpenedStore;
  ledger?: Ledger;
  anchoring?: Anchoring;
  publishing?: Publishing;
  metrics?: { readonly metrics: ServiceMetrics; unwatch(): void };
  stopExpiry?: () => void;
}

/**
 * Closes what `parts` holds, for a running service and a failed start alike:
 * first no more requests (those in flight get `graceMs`), then this
 * replica's term ends (its stages stopped, the lease released) before the
 * ledger drains, and the chain and the store close last.
 */
async function shutDown(parts: Parts, graceMs: number): Promise<void> {
  parts.stopExpiry?.();
  parts.metrics?.unwatch();
  await parts.servers.close(graceMs);
  await parts.anchoring?.endTerm();
  await parts.publishing?.stages.stop();
  await parts.ledger?.close();
  await parts.anchoring?.close();
  await parts.opened?.close();
}

/** What the command line asks for: run (with or without the demo), or exit with a code (help shown, or a usage error). */
export type Arguments =
  | { readonly run: true; readonly demo: boolean; readonly network?: { readonly witnesses: number; readonly mirror: boolean } }
  | { readonly run: false; readonly exitCode: 0 | 2 };

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
    .option("--witnesses <n>", `with --demo: also run n local witnesses (1 to ${MAX_DEMO_WITNESSES}) and publish only what a majority cosigned`)
    .option("--mirror", "with --demo --witnesses: also run a verified mirror of the published log")
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
  const o = program.opts<{ demo?: boolean; witnesses?: string; mirror?: boolean }>();
  if (o.witnesses === undefined && o.mirror !== true) return { run: true, demo: o.demo === true };
  const usage = (why: string) => {
    err(`subsidy-ledger: ${why} (see --help)\n`);
    return { run: false, exitCode: 2 } as const;
  };
  if (o.demo !== true) return usage("--witnesses and --mirror go with --demo");
  if (o.witnesses === undefined) return usage("--mirror goes with --witnesses <n>: the mirror checks the witnesses' cosignatures");
  const n = Number(o.witnesses);
  if (!/^[0-9]+$/.test(o.witnesses) || n < 1 || n > MAX_DEMO_WITNESSES) return usage(`--witnesses ${JSON.stringify(o.witnesses)}: a number from 1 to ${MAX_DEMO_WITNESSES}`);
  return { run: true, demo: true, network: { witnesses: n, mirror: o.mirror === true } };
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
  let metricsConfig: MetricsConfig;
  let leaderConfig: LeaderConfig;
  try {
    ({ config, chain: chainConfig, metrics: metricsConfig, leader: leaderConfig } = loadSettings(process.env));
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

  let metricsToken: string | undefined;
  try {
    metricsToken = await readMetricsToken(metricsConfig);
  } catch (e) {
    if (e instanceof SecretFileError) fail(e.message, 2);
    throw e;
  }

  let listening: StartingServer;
  let metricsListening: StartingServer | undefined;
  try {
    // Refuse a data directory others can read, then bind the ports: all before anything is created.
    await checkDataDir(config.dataDir);
    listening = await listenFirst(config);
    if (metricsConfig.address !== undefined) metricsListening = await listenMetricsFirst(metricsConfig.address, config.http);
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
  // --witnesses n [--mirror] (npm run demo -- --witnesses 3 --mirror): local witnesses, and a mirror; see service/demo/network.ts.
  let network: DemoNetwork | undefined;
  if (args.network !== undefined) {
    if (config.witnessPolicyFile !== undefined) fail("--witnesses: LEDGER_WITNESS_POLICY_FILE is set; the demo writes its own policy for its witnesses", 2);
    if (chainConfig === false) fail("--witnesses: witnesses cosign anchored checkpoints; run the demo with the chain on", 2);
    const logKey = await loadOrCreateLogKey(config.logKeyFile, config.origin);
    network = await startDemoNetwork({ dataDir: config.dataDir, origin: config.origin, logVerifierKey: logKey.verifierKey, witnesses: args.network.witnesses, logger });
    witnessPolicy = network.policy;
  }
  try {
    service = await startService(config, logger, {
      chain: chainConfig,
      listening,
      witnessPolicy,
      leader: leaderConfig,
      metrics: { token: metricsToken, address: metricsConfig.address },
      ...(metricsListening !== undefined ? { metricsListening } : {}),
    });
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
    service.anchoredOn
      ? `  chain:      ${service.anchoredOn.local ? "local anvil (state under the data directory)" : "configured node"}, contract ${service.anchoredOn.client.address}, recorder ${service.anchoredOn.recorderAddress}`
      : "  chain:      off (LEDGER_CHAIN=off): entries are not anchored",
    witnessPolicy === null
      ? "  witnesses:  no witnesses configured (set LEDGER_WITNESS_POLICY_FILE to publish only checkpoints a witness quorum cosigned)"
      : `  witnesses:  ${witnessPolicy.witnesses.map((w) => w.name).join(", ")} (quorum ${witnessPolicy.quorum}: ${describeQuorum(witnessPolicy)}); status in /v1/health`,
    service.metricsUrl === undefined
      ? "  metrics:    off (set LEDGER_METRICS_TOKEN or LEDGER_METRICS_ADDRESS to serve GET /metrics)"
      : `  metrics:    ${service.metricsUrl}${metricsToken !== undefined ? " (Authorization: Bearer <LEDGER_METRICS_TOKEN>)" : ""}`,
  ];
  if (config.databaseUrl !== undefined) {
    const l = service.leaderStatus();
    lines.push(`  replica:    ${l.replicaId}, ${l.leader ? `the leader (epoch ${l.epoch})` : `follows ${l.leaderId ?? "(no leader yet)"}`}: one replica anchors and publishes; /v1/health says which`);
  }
  const rpcUrl = service.anchoredOn?.local?.url ?? (chainConfig === false ? undefined : chainConfig.remote?.rpcUrl);
  if (service.anchoredOn && rpcUrl !== undefined)
    lines.push(
      `  audit:      npm run verify -- --service ${service.url} --rpc ${rpcUrl} --contract ${service.anchoredOn.client.address} --log-key '${service.verifierKey}'`,
    );
  if (service.firstAdminToken)
    lines.push(`  first admin token (shown once; create more with npm run admin -- token create):`, `    ${service.firstAdminToken}`);
  if (service.adminTokenNeverShown)
    lines.push(
      `  admin token: none was ever shown for this data directory (an earlier first start stopped before printing it).`,
      `    To get one, stop the service and run: ${adminTokenCommand(config.dataDir)}`,
    );
  if (demo) lines.push(...demoSummaryLines(demo, service.url));
  if (network !== undefined) {
    const mirror: RunningDemoMirror | undefined = args.run && args.network?.mirror === true ? await network.startMirror(service.url) : undefined;
    lines.push(...network.lines(mirror, service.chain && rpcUrl !== undefined ? { rpcUrl, contract: service.chain.client.address } : undefined));
  }
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
  // reclaims, and keep young objects alive meanwhile. Off, per-request objects are allocated
  // young and die in cheap scavenges (`npm run bench:api` measures memory and CPU per entry).
  setFlagsFromString("--no-allocation-site-pretenuring");
  main().catch((e: unknown) => {
    process.stderr.write(`subsidy-ledger: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
