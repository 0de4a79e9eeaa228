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
import { publishedCheckpoint, type PublishedCheckpoint } from "./publish/published";
import { ContinuousPublisher } from "./publish/continuous";
import { persistenceIn, readWitnessPolicyFile, WitnessCosigner, witnessesHealthy, WitnessPolicyFileError, type WitnessingOptions } from "./publish/witnesses";
import type { WitnessPolicy } from "./format/witness-policy";
import { consistencyProof } from "./ledger/proofs";
import { checkRecordedKeys, loadOrCreateLogKey, KeyFileError } from "./keys";
import { LevelStore } from "./store/level";
import { describeDatabaseUrl, PostgresStore } from "./store/postgres";
import { requireSyncStandby, SyncReplicationWatch } from "./store/postgres-ha";
import { StoreLockedError, StoreUnavailableError, type LedgerStore } from "./store/store";
import { createFirstAdminToken } from "./auth/tokens";
import { connectChain, startChain, type ChainConfig, type ChainConnection, type RunningChain } from "./chain";
import type { ChainClient } from "./chain/client";
import { localChainProblem } from "./chain/config";
import type { LeaderConfig } from "./leader/config";
import { openReplicas, type AnchorView, type LeaderStatus, type Replicas } from "./leader/replicas";
import { loadOrCreateAccessCodes, AccessCodeKeyError } from "./auth/access-codes";
import type { AnchoringInfo } from "./http/receipts";
import type { AnchoredPoint } from "./ledger/receipts";
import { demoSummaryLines, loadDemoIntoDataDir, DemoError, type DemoDataDirResult } from "./demo";
import { ServiceMetrics, singleProcessLeader, type MetricSources } from "./metrics/metrics";
import { readMetricsToken, type MetricsConfig } from "./metrics/config";
import { metricsOnlyApp } from "./http/metrics";
import { SecretFileError } from "./secret-file";
import { MAX_DEMO_WITNESSES, startDemoNetwork, type DemoNetwork, type RunningDemoMirror } from "./demo/network";

/** What the receipt routes need to know of the anchoring side. */
function anchoringInfo(chain: { readonly client: ChainClient; readonly fromBlock: number }, view: AnchorView, everyMs: number): AnchoringInfo {
  const { chainId, address } = chain.client;
  return {
    chainId,
    contract: address,
    fromBlock: chain.fromBlock,
    retryAfterSeconds: Math.max(1, Math.ceil(everyMs / 1000)),
    anchored() {
      const a = view.anchored;
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
  readonly witnessing?: Pick<WitnessingOptions, "everyMs" | "backoffMinMs" | "backoffMaxMs" | "alarmRetryMs" | "timeoutMs">;
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

/** Binds LEDGER_METRICS_ADDRESS as {@link listenFirst} binds the public port: before anything durable exists. Throws ListenError. */
export async function listenMetricsFirst(address: { readonly host: string; readonly port: number }, limits: Config["http"]): Promise<StartingServer> {
  const starting = createStartingServer(limits);
  try {
    await new Promise<void>((resolve, reject) => {
      starting.server.once("error", reject);
      starting.server.listen(address.port, address.host, () => {
        starting.server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ListenError(`cannot serve the metrics on ${address.host}:${address.port} (LEDGER_METRICS_ADDRESS): ${code ?? (e as Error).message}`);
  }
  return starting;
}

/** The URL of a listening server, as the banner shows it. */
function serverUrl(server: Server, host: string, fallbackPort: number): string {
  const a = server.address();
  const port = typeof a === "object" && a !== null ? a.port : fallbackPort;
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

/**
 * The store LEDGER_DATABASE_URL selects: PostgreSQL when it is set, else
 * LevelDB in the data directory. LevelDB admits one service process at a
 * time (StoreLockedError for a second); PostgreSQL admits several replicas,
 * one of which leads (service/leader). The data directory is created and checked
 * either way: the key files, the anchoring state and the first-admin-token
 * marker stay there.
 */
export function openStore(config: Config): Promise<LedgerStore> {
  return config.databaseUrl === undefined ? LevelStore.open(config.dataDir) : PostgresStore.open(config.databaseUrl);
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
  if (options.chain !== false) {
    const problem = localChainProblem(options.chain, config.databaseUrl !== undefined);
    if (problem !== undefined) throw new ConfigError(`invalid configuration: ${problem}`);
  }
  const policy = options.witnessPolicy !== undefined ? options.witnessPolicy : config.witnessPolicyFile === undefined ? null : await readWitnessPolicyFile(config.witnessPolicyFile);
  // Refuse a directory others can read before binding anything; create it only once the port is ours.
  await checkDataDir(config.dataDir);
  const listening = options.listening ?? (await listenFirst(config));
  const server = listening.server;
  const metricsAddress = options.metrics?.address;
  let metricsListening: StartingServer | undefined;
  try {
    metricsListening = options.metricsListening ?? (metricsAddress === undefined ? undefined : await listenMetricsFirst(metricsAddress, config.http));
  } catch (e) {
    await closeServer(server, 0);
    throw e;
  }
  const metricsToken = options.metrics?.token;
  let metrics: ServiceMetrics | undefined;
  let unwatchChain: (() => void) | undefined;
  let opened: LedgerStore | undefined;
  let chain: RunningChain | undefined;
  let connection: ChainConnection | undefined;
  let replicas: Replicas | undefined;
  // The leader-only publishers: started at once with LevelDB, and by each term this replica leads with PostgreSQL.
  let tlogCopy: ContinuousPublisher | undefined;
  let cosigner: WitnessCosigner | undefined;
  let replication: SyncReplicationWatch | undefined;
  const stopPublishers = async (): Promise<void> => {
    const [t, c] = [tlogCopy, cosigner];
    [tlogCopy, cosigner] = [undefined, undefined];
    await t?.close();
    await c?.close();
  };
  try {
    await openDataDir(config.dataDir);
    const store = (opened = await openStore(config));
    if (config.databaseUrl !== undefined) {
      // Before anything is signed or anchored: with a synchronous standby every commit, so every size
      // the ledger acknowledges, signs or anchors, is on the standby too (service/store/postgres-ha.ts).
      if (config.requireSyncStandby) await requireSyncStandby(config.databaseUrl);
      replication = SyncReplicationWatch.start({ url: config.databaseUrl, logger: logger.child({ component: "replication" }) });
    }
    const key = await loadOrCreateLogKey(config.logKeyFile, config.origin);
    if (key.created) logger.info({ file: config.logKeyFile }, "created a new log signing key");
    const shared = store instanceof PostgresStore ? store : undefined;
    const access = await loadOrCreateAccessCodes(config.accessCodeKeyFile, { generations: store, ...(shared ? { failureCounters: shared } : {}) });
    if (access.created) logger.info({ file: config.accessCodeKeyFile }, "created a new access-code key");
    // Replicas share one log, so they must share its keys: the database records them on first start.
    const keys = { logKey: key.verifierKey, accessCodeFingerprint: access.codes.fingerprint() };
    if (shared) checkRecordedKeys(await shared.recordKeys(keys), keys, config);
    const ledger = await Ledger.open({
      store,
      clock: systemClock,
      onCommit: () => {
        chain?.anchorer.notify();
        replicas?.notifyCommit();
      },
      observer: { committed: (n, seconds) => metrics?.ledger.committed(n, seconds), commitFailed: () => metrics?.ledger.commitFailed() },
    });
    let anchoring: AnchoringInfo | undefined;
    let view: AnchorView | undefined;
    if (options.chain !== false) {
      const chainOptions = { config: options.chain, dataDir: config.dataDir, ledger, store, noteSigner: key.signer, origin: config.origin, logger };
      if (config.databaseUrl === undefined) {
        chain = await startChain(chainOptions);
        view = chain.anchorer;
        anchoring = anchoringInfo(chain, view, options.chain.everyMs);
      } else connection = await connectChain(chainOptions);
    }
    if (config.databaseUrl !== undefined) {
      const leader = options.leader ?? { leaseMs: 5000, replicaId: `replica-${process.pid}-${Date.now().toString(36)}` };
      replicas = await openReplicas({ databaseUrl: config.databaseUrl, leader, connection, store, halt: (rule, message) => ledger.halt(rule, message), logger });
      if (connection !== undefined && replicas.anchoring !== undefined) {
        view = replicas.anchoring;
        anchoring = anchoringInfo(connection, view, options.chain === false ? 1000 : options.chain.everyMs);
      }
    }
    const maxDelayMs = options.chain === false ? 0 : options.chain.maxDelayMs;
    const checkpoints = new CheckpointSigner(ledger, key.signer, config.origin);
    // What /tlog/ publishes: the anchorer's anchored checkpoint (nothing without a chain), and with a witness
    // policy the newest one its quorum cosigned (service/publish/published.ts); receipts cite the same one.
    if (policy === null) logger.info("no witnesses configured (LEDGER_WITNESS_POLICY_FILE unset): anchored checkpoints are published as they are");
    else if (anchoring === undefined) logger.warn("a witness policy is configured but the chain is off: nothing is anchored, so nothing is submitted or published");
    else {
      anchoring = { ...anchoring, anchored: anchoring.anchored.bind(anchoring), published: () => publishedPoint() };
      logger.info({ witnesses: policy.witnesses.map((w) => w.name), quorum: policy.quorum }, "witnesses configured: checkpoints are published once the quorum cosigns them");
    }
    const anchoredPoint = anchoring?.anchored;
    // With a policy, the newest checkpoint a quorum cosigned: this process's cosigner's, or (replicas) the one the leader saved.
    function publishedPoint(): AnchoredPoint | null {
      const own = cosigner?.publishedPoint() ?? null;
      const shared = replicas?.published() ?? null;
      return own === null || (shared !== null && shared.size > own.size) ? shared : own;
    }
    const cosigned =
      policy === null
        ? undefined
        : {
            cosigned: async (a: PublishedCheckpoint) => {
              const p = publishedPoint();
              return p === null || p.size > a.size ? null : { size: p.size, note: p.signedCheckpoint };
            },
          };
    const tiles = new TileQueries({ store, published: publishedCheckpoint(view, cosigned) });
    const startPublishers = async (): Promise<void> => {
      if (policy !== null && anchoredPoint !== undefined && anchoring !== undefined)
        // The newest cosigned checkpoint is kept in the data directory, so a restart publishes it again at once.
        cosigner = await WitnessCosigner.open(
          {
            policy,
            anchored: anchoredPoint,
            // An anchored size is in the store; with replicas, this process's Ledger may not have seen it yet.
            proof: async (a, b) => (await consistencyProof(store, a, b, Math.max(b, ledger.size))).proof,
            logger: logger.child({ component: "witnesses" }),
            ...options.witnessing,
          },
          persistenceIn(config.dataDir, { verifierKey: key.verifierKey, origin: config.origin }, { chainId: anchoring.chainId, address: anchoring.contract }),
        );
      if (config.tlogDir !== undefined) tlogCopy = await ContinuousPublisher.start({ dir: config.tlogDir, tiles, logger });
    };
    if (replicas === undefined) await startPublishers();
    else await replicas.lead({ start: startPublishers, stop: stopPublishers, publishedPoint: () => cosigner?.publishedPoint() ?? null });

    if (metricsListening !== undefined || metricsToken !== undefined) {
      const anchors = view;
      const sources: MetricSources = {
        treeSize: () => ledger.size,
        recordingHalted: () => ledger.halted !== null,
        isLeader: () => leaderStatus().leader,
        ...(anchors === undefined
          ? {}
          : {
              anchoring: async () => {
                const st = await anchors.status();
                const lagMs = st.oldestUnanchoredAt === null ? 0 : Math.max(0, Date.now() - Date.parse(st.oldestUnanchoredAt));
                return { anchoredSize: st.anchoredSize, lagEntries: st.lagEntries, lagSeconds: lagMs / 1000, fatal: st.fatal !== null };
              },
              // What /tlog/checkpoint serves: the witnessed checkpoint with a policy, else the anchored one.
              published: () => (policy !== null ? publishedPoint() : anchors.anchored),
            }),
        // Only the leader runs the witness stage; a follower reports no witnesses.
        ...(policy === null ? {} : { witnesses: () => cosigner?.status() ?? { witnesses: [], blocked: false } }),
      };
      metrics = new ServiceMetrics(sources);
      const client = (chain ?? connection)?.client;
      if (client !== undefined) unwatchChain = metrics.watchChain(client);
    }

    let firstAdminToken: string | undefined;
    let adminTokenNeverShown = false;
    if ((await store.tokens()).length === 0) {
      // Durably "pending" before the token exists, cleared once main has printed it: a start that dies
      // in between leaves a directory that says how to get an admin token instead of none at all.
      await markFirstAdminTokenPending(config.dataDir);
      const created = await createFirstAdminToken(store, systemClock);
      if (created !== undefined) firstAdminToken = created.token;
      else {
        // Another replica on the same database created it between our look and our claim: it prints it.
        await clearFirstAdminTokenPending(config.dataDir);
        logger.info("the first admin token was created by another replica starting at the same time; its banner shows it, so this one shows none");
      }
    } else adminTokenNeverShown = await firstAdminTokenPending(config.dataDir);

    const replicaId = options.leader?.replicaId ?? "single";
    const leaderStatus = (): LeaderStatus => replicas?.leaderStatus() ?? { leader: true, epoch: null, leaderId: replicaId, replicaId };
    const app = createApp({
      ledger,
      queries: new Queries({ store, size: () => ledger.size }),
      tokens: new Tokens(store, systemClock),
      logger,
      signedCheckpoint: async () => checkpoints.latest(),
      health: async () => {
        const db = replication?.health();
        const dbHealth = db === undefined ? {} : { replication: db };
        const leader = leaderStatus();
        if (view === undefined) return { ok: db?.ok ?? true, treeSize: ledger.size, anchoring: "off", leader, ...dbHealth };
        const st = await view.status();
        const waitedMs = st.oldestUnanchoredAt === null ? 0 : Date.now() - Date.parse(st.oldestUnanchoredAt);
        const witnesses = cosigner?.status();
        return {
          ok: st.fatal === null && waitedMs <= maxDelayMs && (witnesses === undefined || witnessesHealthy(witnesses)) && (db?.ok ?? true),
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
          ...dbHealth,
          leader,
        };
      },
      config: { bodyLimit: config.bodyLimit, rateLimit: config.rateLimit, trustProxy: config.trustProxy },
      logKey: key.verifierKey,
      accessCodes: access.codes,
      ...(anchoring !== undefined ? { anchoring } : {}),
      tiles,
      ...(metrics !== undefined ? { metrics } : {}),
      ...(metrics !== undefined && metricsListening === undefined && metricsToken !== undefined ? { metricsToken } : {}),
      ...(shared ? { rateLimitCounters: shared } : {}),
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
    if (metricsListening !== undefined && metrics !== undefined)
      metricsListening.serve(metricsOnlyApp({ metrics, ...(metricsToken !== undefined ? { token: metricsToken } : {}) }));
    const url = `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${port}`;
    const metricsUrl =
      metricsListening !== undefined && metricsAddress !== undefined
        ? `${serverUrl(metricsListening.server, metricsAddress.host, metricsAddress.port)}/metrics`
        : metricsToken !== undefined
          ? `${url}/metrics`
          : undefined;

    const expiry = setInterval(() => {
      const cutoff = new Date(Date.now() - config.idempotencyHours * 3600_000).toISOString();
      store.expireIdempotency(cutoff).catch((e: unknown) => logger.warn({ err: e }, "idempotency expiry failed"));
    }, 3600_000);
    expiry.unref();

    return {
      url,
      server,
      ledger,
      verifierKey: key.verifierKey,
      firstAdminToken,
      adminTokenNeverShown,
      async firstAdminTokenShown() {
        await clearFirstAdminTokenPending(config.dataDir);
      },
      chain,
      metricsUrl,
      anchoredOn: chain ?? connection,
      leaderStatus,
      async close() {
        clearInterval(expiry);
        unwatchChain?.();
        await closeServer(server, CLOSE_GRACE_MS);
        if (metricsListening !== undefined) await closeServer(metricsListening.server, CLOSE_GRACE_MS);
        // Ends this replica's term (its stages stopped, the lease released) before the ledger and chain close.
        await replicas?.close();
        await stopPublishers();
        await ledger.close();
        await chain?.close();
        await connection?.close();
        await replication?.close();
        await store.close();
      },
    };
  } catch (e) {
    await replicas?.close();
    await stopPublishers();
    await chain?.close();
    await replication?.close();
    await connection?.close();
    await opened?.close();
    unwatchChain?.();
    await closeServer(server, 0);
    if (metricsListening !== undefined) await closeServer(metricsListening.server, 0);
    throw e;
  }
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
      : `  witnesses:  ${witnessPolicy.witnesses.map((w) => w.name).join(", ")} (quorum ${witnessPolicy.quorum}); status in /v1/health`,
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
  // reclaims, and keep young objects alive meanwhile. Off, the service holds less memory and
  // spends less CPU per entry under `npm run bench:api` (README, Performance).
  setFlagsFromString("--no-allocation-site-pretenuring");
  main().catch((e: unknown) => {
    process.stderr.write(`subsidy-ledger: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
