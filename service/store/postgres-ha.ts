/**
 * What the service checks of PostgreSQL's synchronous replication (issue 17
 * §3; the supported setup is in ./README.md, "PostgreSQL high availability").
 *
 * The guarantee: with a synchronous standby, a commit returns only once the
 * standby has flushed it, and the ledger acknowledges, signs and anchors
 * only committed sizes, so a failover to the standby cannot lose an
 * acknowledged entry nor roll back a signed or anchored checkpoint. The
 * store asks for `synchronous_commit = on` in each of its own transactions;
 * the start-up check ({@link requireSyncStandby}) also requires it as the
 * server's setting, so that every write to the database, not only the
 * store's, waits for the standby.
 *
 * The failure the {@link SyncReplicationWatch} reports: commits waiting for
 * a synchronous standby that is not connected. That is how a promoted
 * standby behaves until its inherited `synchronous_standby_names` is reset,
 * and how a primary behaves when its only standby is down: writes hang,
 * nothing is lost, and the operator must act.
 */
import pg from "pg";
import { describeDatabaseUrl, storeError } from "./postgres";
import { StoreUnavailableError } from "./store";

export interface ReplicationStatus {
  /** The server's synchronous_standby_names ("" when none). */
  readonly synchronousStandbyNames: string;
  /** The server's synchronous_commit, as a new session gets it. */
  readonly synchronousCommit: string;
  /** Whether the server is a standby itself (in recovery: it cannot take writes). */
  readonly inRecovery: boolean;
  /** Standbys streaming as synchronous (sync or quorum) right now. */
  readonly syncStandbys: number;
  /** Sessions whose commit is waiting for a synchronous standby. */
  readonly commitsWaiting: number;
  /** How long the oldest of them has waited, in seconds (0 when none). */
  readonly oldestWaitSeconds: number;
}

/** synchronous_commit levels at which a commit returns only once a synchronous standby has flushed (or applied) it. */
const WAITS_FOR_STANDBY_FLUSH = new Set(["on", "remote_apply"]);

/**
 * Why `s` does not give "acknowledged ⇒ on a standby", as one line; undefined when it does.
 * A pure function of the status, so the start-up refusal says exactly what is wrong.
 */
export function syncStandbyProblem(s: ReplicationStatus): string | undefined {
  const problems: string[] = [];
  if (s.inRecovery) problems.push("the server is a standby in recovery (point LEDGER_DATABASE_URL at the primary)");
  if (s.synchronousStandbyNames.trim() === "") problems.push("synchronous_standby_names is empty");
  if (!WAITS_FOR_STANDBY_FLUSH.has(s.synchronousCommit)) problems.push(`synchronous_commit is ${s.synchronousCommit}, not on`);
  return problems.length === 0 ? undefined : problems.join("; ");
}

/**
 * Why commits on this server would wait with no end in sight, as one line naming the fix; undefined when they would not.
 * A standby is named but none is connected: how a promoted standby that kept the old names behaves, and a primary whose
 * standby is down. Said at start-up, before the store's first commit can hang.
 */
export function standbyWaitProblem(s: ReplicationStatus): string | undefined {
  if (s.inRecovery || s.synchronousStandbyNames.trim() === "" || s.syncStandbys > 0 || !WAITS_FOR_STANDBY_FLUSH.has(s.synchronousCommit)) return undefined;
  return (
    `synchronous_standby_names is ${s.synchronousStandbyNames} but no synchronous standby is connected, so every commit waits: ` +
    `start that standby, or, on a promoted standby with none, run ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf()`
  );
}

/** The database does not replicate synchronously although LEDGER_DATABASE_REQUIRE_SYNC_STANDBY=true. Nothing was written. */
export class SyncStandbyRequiredError extends StoreUnavailableError {
}

/** Reads the replication status of the server at `url` on a connection of its own. Rejects with the store's PostgresStoreError. */
export async function replicationStatus(url: string, connectTimeoutMs = 5000): Promise<ReplicationStatus> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, application_name: "subsidy-ledger replication check" });
  client.on("error", () => {});
  try {
    await client.connect();
    return await queryStatus(client);
  } catch (cause) {
    throw storeError(`checking the replication of the ${describeDatabaseUrl(url)}`, cause);
  } finally {
    await client.end().catch(() => {});
  }
}

async function queryStatus(client: pg.ClientBase): Promise<ReplicationStatus> {
  const { rows } = await client.query<{ names: string; commit: string; recovery: boolean; sync: string; waiting: string; oldest: string | null }>(
    `SELECT current_setting('synchronous_standby_names') AS names,
            current_setting('synchronous_commit') AS commit,
            pg_is_in_recovery() AS recovery,
            (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')) AS sync,
            (SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep') AS waiting,
            (SELECT extract(epoch FROM now() - min(state_change)) FROM pg_stat_activity WHERE wait_event = 'SyncRep') AS oldest`,
  );
  const r = rows[0]!;
  return {
    synchronousStandbyNames: r.names,
    synchronousCommit: r.commit,
    inRecovery: r.recovery,
    syncStandbys: Number(r.sync),
    commitsWaiting: Number(r.waiting),
    oldestWaitSeconds: r.oldest === null ? 0 : Math.round(Number(r.oldest)),
  };
}

/**
 * The start-up check for LEDGER_DATABASE_REQUIRE_SYNC_STANDBY=true: resolves
 * with the status when the server replicates synchronously (see
 * {@link syncStandbyProblem}), rejects with {@link SyncStandbyRequiredError}
 * saying what is wrong on one line otherwise. A configured standby that is
 * not connected right now does not fail the start (commits wait for it, and
 * the {@link SyncReplicationWatch} says so): the setting is about what the
 * server promises, not about this moment.
 */
export async function requireSyncStandby(url: string, connectTimeoutMs?: number): Promise<ReplicationStatus> {
  const status = await replicationStatus(url, connectTimeoutMs);
  const problem = syncStandbyProblem(status);
  if (problem !== undefined)
    throw new SyncStandbyRequiredError(
      `LEDGER_DATABASE_REQUIRE_SYNC_STANDBY=true but the ${describeDatabaseUrl(url)} does not replicate synchronously: ${problem} (see service/store/README.md, PostgreSQL high availability)`,
    );
  return status;
}

/** What /v1/health and the logs say of the database's replication. */
export interface ReplicationHealth {
  readonly ok: boolean;
  readonly syncStandbys: number;
  readonly commitsWaitingForStandby: number;
  readonly oldestWaitSeconds: number;
  /** Set when commits have waited for a standby longer than the watch's limit. */
  readonly problem: string | null;
}

export interface SyncReplicationWatchOptions {
  readonly url: string;
  readonly logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** How often to look (default 5 s). */
  readonly everyMs?: number;
  /** A commit waiting longer than this is reported (default 10 s). */
  readonly stuckAfterSeconds?: number;
}

/**
 * Watches for commits stuck waiting for a synchronous standby, and says so
 * in the logs (once per episode, with the fix) and in {@link health}. It
 * only observes: a stuck commit is released by a standby connecting or by
 * the operator resetting synchronous_standby_names, never by the service.
 */
export class SyncReplicationWatch {
  private _health: ReplicationHealth = { ok: true, syncStandbys: 0, commitsWaitingForStandby: 0, oldestWaitSeconds: 0, problem: null };
  private _timer: NodeJS.Timeout | undefined;
  private _running: Promise<void> | undefined;
  private _reported = false;

  private constructor(private readonly _o: SyncReplicationWatchOptions) {}

  static start(options: SyncReplicationWatchOptions): SyncReplicationWatch {
    const w = new SyncReplicationWatch(options);
    w._schedule(0);
    return w;
  }

  health(): ReplicationHealth {
    return this._health;
  }

  /** Looks once now (the timer does this every `everyMs`); resolves with the new health. */
  async check(): Promise<ReplicationHealth> {
    const limit = this._o.stuckAfterSeconds ?? 10;
    let s: ReplicationStatus;
    try {
      s = await replicationStatus(this._o.url);
    } catch {
      // The store reports an unreachable database on its own requests; this watch has nothing to add.
      return this._health;
    }
    const stuck = s.commitsWaiting > 0 && s.oldestWaitSeconds >= limit;
    const problem = stuck
      ? `${s.commitsWaiting} commit(s) waiting ${s.oldestWaitSeconds} s for a synchronous standby, ${s.syncStandbys} connected: ` +
        (s.syncStandbys === 0
          ? `start the standby named in synchronous_standby_names (${s.synchronousStandbyNames}), or, on a promoted standby with none, run ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf()`
          : "the standby is slow to flush")
      : null;
    this._health = { ok: !stuck, syncStandbys: s.syncStandbys, commitsWaitingForStandby: s.commitsWaiting, oldestWaitSeconds: s.oldestWaitSeconds, problem };
    if (stuck && !this._reported) this._o.logger.error({ replication: this._health }, `writes are stuck: ${problem}`);
    if (!stuck && this._reported) this._o.logger.info({ replication: this._health }, "commits no longer wait for a synchronous standby");
    this._reported = stuck;
    return this._health;
  }

  async close(): Promise<void> {
    clearTimeout(this._timer);
    this._timer = undefined;
    await this._running;
  }

  private _schedule(ms: number): void {
    this._timer = setTimeout(() => {
      this._running = this.check().then(
        () => {
          if (this._timer !== undefined) this._schedule(this._o.everyMs ?? 5000);
        },
        () => {},
      );
    }, ms);
    this._timer.unref();
  }
}
