/**
 * The store LEDGER_DATABASE_URL selects, opened with the checks a database
 * shared by replicas needs before anything is signed or anchored.
 */
import type { Logger } from "pino";
import type { Config } from "../config";
import { openDataDir } from "../data-dir";
import { LevelStore } from "../store/level";
import { describeDatabaseUrl, PostgresStore } from "../store/postgres";
import { replicationStatus, requireSyncStandby, standbyWaitProblem, SyncReplicationWatch } from "../store/postgres-ha";
import type { LedgerStore } from "../store/store";

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

/** The opened store, and with PostgreSQL what watches its standby. */
export interface OpenedStore {
  readonly store: LedgerStore;
  /** The PostgreSQL store, whose rows replicas share (recorded keys, rate limits, failure counters); undefined with LevelDB. */
  readonly shared: PostgresStore | undefined;
  /** The synchronous standby's health, with PostgreSQL. */
  readonly replication: SyncReplicationWatch | undefined;
  /** Stops the watch, then closes the store. */
  close(): Promise<void>;
}

/**
 * Creates or opens the data directory, then the store. With PostgreSQL and
 * LEDGER_DATABASE_REQUIRE_SYNC_STANDBY, refuses a database without a
 * synchronous standby (every size acknowledged, signed or anchored is then on
 * the standby too, service/store/postgres-ha.ts), and watches the standby.
 * Throws having closed what it opened.
 */
export async function openCheckedStore(config: Config, logger: Logger): Promise<OpenedStore> {
  await openDataDir(config.dataDir);
  let replication: SyncReplicationWatch | undefined;
  if (config.databaseUrl !== undefined) {
    // Checked before the store's first commit, which would hang on a server waiting for a missing standby.
    const status = config.requireSyncStandby ? await requireSyncStandby(config.databaseUrl) : await replicationStatus(config.databaseUrl).catch(() => undefined);
    const waits = status === undefined ? undefined : standbyWaitProblem(status);
    if (waits !== undefined) logger.error({ component: "replication" }, `writes will wait: ${waits}`);
    replication = SyncReplicationWatch.start({ url: config.databaseUrl, logger: logger.child({ component: "replication" }) });
  }
  let store: LedgerStore;
  try {
    store = await openStore(config);
  } catch (e) {
    await replication?.close();
    throw e;
  }
  return {
    store,
    shared: store instanceof PostgresStore ? store : undefined,
    replication,
    async close() {
      await replication?.close();
      await store.close();
    },
  };
}

/** Deletes idempotency records older than `hours`, every hour, until the returned function is called. */
export function expireIdempotencyHourly(store: LedgerStore, hours: number, logger: Logger): () => void {
  const expiry = setInterval(() => {
    const cutoff = new Date(Date.now() - hours * 3600_000).toISOString();
    store.expireIdempotency(cutoff).catch((e: unknown) => logger.warn({ err: e }, "idempotency expiry failed"));
  }, 3600_000);
  expiry.unref();
  return () => clearInterval(expiry);
}
