/**
 * PostgreSQL high availability as the service relies on it (issue 17 §3):
 * a primary with a synchronous standby acknowledges a commit only once the
 * standby holds it; a promoted standby keeps the old
 * synchronous_standby_names and holds every commit until the operator resets
 * it (service/store/README.md), which releases the commits waiting.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { ConfigError, loadConfig } from "../../service/config";
import { startService } from "../../service/main";
import { loadSettings } from "../../service/settings";
import { SyncReplicationWatch, SyncStandbyRequiredError, standbyWaitProblem, syncStandbyProblem, type ReplicationStatus, type SyncReplicationWatchOptions } from "../../service/store/postgres-ha";
import { PostgresStore } from "../../service/store/postgres";
import { isSyncWaitCancelled } from "../../service/store/postgres-sync-commit";
import { StoreUnavailableError } from "../../service/store/store";
import { CompactRange, MemoryTree } from "../../service/log";
import { buildBatches } from "./contract";
import { rejection } from "../helpers/rejection";
import { databaseName, dropSynchronousStandbys, startCluster, startReplicatedPair, type ReplicatedPair } from "../helpers/postgres";
import { recordProgramme } from "../helpers/service-http";

const silent = pino({ level: "silent" });

/** A logger that keeps what it is given. */
function recordingLogger(): { lines: { level: string; msg: string; obj: object }[]; logger: SyncReplicationWatchOptions["logger"] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

const SYNCHRONOUS: ReplicationStatus = { synchronousStandbyNames: "s1", synchronousCommit: "on", inRecovery: false, syncStandbys: 1, commitsWaiting: 0, oldestWaitSeconds: 0 };

describe("the synchronous-standby requirement (LEDGER_DATABASE_REQUIRE_SYNC_STANDBY)", function () {
  this.timeout(120_000);

  describe("as a setting", function () {
    it("is false by default, and true only with LEDGER_DATABASE_URL", function () {
      expect(loadConfig({}).requireSyncStandby).to.equal(false);
      expect(loadConfig({ LEDGER_DATABASE_URL: "postgres://db/ledger", LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "true" }).requireSyncStandby).to.equal(true);
      expect(() => loadSettings({ LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "true" })).to.throw(ConfigError, /LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: needs LEDGER_DATABASE_URL/);
      expect(() => loadSettings({ LEDGER_DATABASE_URL: "postgres://db/ledger", LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "yes" })).to.throw(ConfigError, /LEDGER_DATABASE_REQUIRE_SYNC_STANDBY/);
    });
  });

  describe("judging a server's replication", function () {
    it("accepts a named standby with synchronous_commit on or remote_apply", function () {
      expect(syncStandbyProblem(SYNCHRONOUS)).to.equal(undefined);
      expect(syncStandbyProblem({ ...SYNCHRONOUS, synchronousCommit: "remote_apply" })).to.equal(undefined);
      expect(syncStandbyProblem({ ...SYNCHRONOUS, syncStandbys: 0 }), "a named standby that is down right now: commits wait, nothing is lost").to.equal(undefined);
    });

    it("names each thing that breaks 'acknowledged means on a standby'", function () {
      expect(syncStandbyProblem({ ...SYNCHRONOUS, synchronousStandbyNames: " " })).to.equal("synchronous_standby_names is empty");
      for (const level of ["off", "local", "remote_write"]) expect(syncStandbyProblem({ ...SYNCHRONOUS, synchronousCommit: level })).to.equal(`synchronous_commit is ${level}, not on`);
      expect(syncStandbyProblem({ ...SYNCHRONOUS, inRecovery: true })).to.match(/^the server is a standby in recovery/);
    });

    it("warns at start-up when a standby is named but none is connected, naming the fix, and only then", function () {
      const promoted = { ...SYNCHRONOUS, syncStandbys: 0 };
      expect(standbyWaitProblem(promoted)).to.match(/^synchronous_standby_names is s1 but no synchronous standby is connected/);
      expect(standbyWaitProblem(promoted)).to.include("ALTER SYSTEM SET synchronous_standby_names = ''");
      expect(standbyWaitProblem(SYNCHRONOUS), "a connected standby").to.equal(undefined);
      expect(standbyWaitProblem({ ...promoted, synchronousStandbyNames: "" }), "no standby named: commits do not wait").to.equal(undefined);
      expect(standbyWaitProblem({ ...promoted, synchronousCommit: "local" }), "commits that do not wait for a standby").to.equal(undefined);
      expect(standbyWaitProblem({ ...promoted, inRecovery: true }), "a standby takes no commits").to.equal(undefined);
    });
  });

  describe("when the database has no synchronous standby", function () {
    it("refuses to start with one line saying what is missing, having recorded nothing", async function () {
      const cluster = await startCluster();
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-ha-"));
      try {
        const name = databaseName("nosync");
        const url = await cluster.createDatabase(name);
        const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_DATABASE_URL: url, LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "true" });
        let err: unknown;
        await startService(config, silent, { chain: false }).then(
          (s) => s.close(),
          (e: unknown) => (err = e),
        );
        expect(err).to.be.instanceOf(SyncStandbyRequiredError);
        const message = (err as Error).message;
        expect(message).to.not.include("\n");
        expect(message).to.include("synchronous_standby_names is empty").and.include("synchronous_commit is off, not on");
        // Refused before the store opened: not even the schema was created.
        const { rows } = await cluster.sql("SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public'", [], name);
        expect(rows[0]).to.deep.equal({ tables: 0 });
      } finally {
        await rm(dir, { recursive: true, force: true });
        await cluster.destroy();
      }
    });
  });
});

/** Resolves to "pending" if `p` has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<"pending">((r) => (timer = setTimeout(() => r("pending"), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe("a PostgreSQL primary with a synchronous standby", function () {
  this.timeout(180_000);
  let pair: ReplicatedPair;

  before(async function () {
    pair = await startReplicatedPair();
    await pair.primary.sql("CREATE TABLE t (v int)");
  });
  after(async function () {
    await pair?.destroy();
  });

  it("lets the service start with LEDGER_DATABASE_REQUIRE_SYNC_STANDBY=true and record, health reporting the standby", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "ledger-ha-"));
    try {
      await pair.primary.sql(`CREATE DATABASE ha_service TEMPLATE template0`);
      const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_DATABASE_URL: pair.primary.url("ha_service"), LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "true" });
      const svc = await startService(config, silent, { chain: false });
      try {
        expect((await recordProgramme(svc.url, svc.firstAdminToken!)).status).to.equal(201);
        for (let i = 0; i < 50; i++) {
          // The watch looks every 5 s; a look may catch a commit in its moment of waiting for the standby.
          const h = (await (await fetch(`${svc.url}/v1/health`)).json()) as { ok: boolean; replication?: { syncStandbys: number; commitsWaitingForStandby: number } };
          if (h.replication?.syncStandbys === 1 && h.replication.commitsWaitingForStandby === 0) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const health = (await (await fetch(`${svc.url}/v1/health`)).json()) as { ok: boolean; replication?: unknown };
        expect(health).to.deep.include({ ok: true, replication: { ok: true, syncStandbys: 1, commitsWaitingForStandby: 0, oldestWaitSeconds: 0, problem: null } });
      } finally {
        await svc.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("acknowledges a commit only once the standby holds it", async function () {
    const before = (await pair.primary.sql("SELECT pg_current_wal_insert_lsn() AS lsn")).rows[0].lsn as string;
    await pair.primary.sql("INSERT INTO t VALUES (1)");
    // The commit was released by the standby's report that it flushed past the commit record.
    const { rows } = await pair.primary.sql("SELECT sync_state, flush_lsn > $1::pg_lsn AS flushed FROM pg_stat_replication", [before]);
    expect(rows).to.deep.equal([{ sync_state: "sync", flushed: true }]);
  });

  describe("when a commit's wait for the standby is cancelled", function () {
    /** A store on a fresh database of the primary whose commits wait: the standby names one that does not exist. */
    async function waitingStore(name: string): Promise<PostgresStore> {
      await pair.primary.sql(`CREATE DATABASE ${name} TEMPLATE template0`);
      const store = await PostgresStore.open(pair.primary.url(name));
      await pair.primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
      await pair.primary.sql("SELECT pg_reload_conf()");
      return store;
    }
    async function restoreStandby(): Promise<void> {
      await pair.primary.sql(`ALTER SYSTEM SET synchronous_standby_names = '${pair.standbyName}'`);
      await pair.primary.sql("SELECT pg_reload_conf()");
      await pair.waitForSyncStandby();
      // Waiting commits are released by the standby's next report, which new WAL brings at once (else within 10 s).
      await pair.primary.sql("CREATE TABLE IF NOT EXISTS nudge (v int); INSERT INTO nudge VALUES (1)");
    }
    /** Cancels the one backend waiting for the standby, once it waits. */
    async function cancelWait(): Promise<void> {
      for (let i = 0; i < 100; i++) {
        const { rows } = await pair.primary.sql("SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
        if (rows.length > 0) {
          await pair.primary.sql("SELECT pg_cancel_backend($1)", [rows[0].pid]);
          return;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect.fail("no commit waited for the standby");
    }

    it("does not acknowledge it on PostgreSQL's warning, but waits for the standby to hold it", async function () {
      const store = await waitingStore("ha_cancel_once");
      try {
        const [batch] = buildBatches(new CompactRange(), new MemoryTree(), [3]);
        const commit = store.commit(batch!);
        await cancelWait();
        expect(await within(commit, 1500), "still waiting for the standby after the cancel").to.equal("pending");
        await restoreStandby();
        expect(await within(commit, 10_000)).to.equal(undefined);
      } finally {
        await restoreStandby();
        await store.close();
      }
    });

    it("fails the commit when the wait is cancelled again, although PostgreSQL has it on the primary", async function () {
      const store = await waitingStore("ha_cancel_twice");
      try {
        const [batch] = buildBatches(new CompactRange(), new MemoryTree(), [3]);
        const commit = store.commit(batch!);
        await cancelWait();
        await cancelWait();
        const e = await rejection(commit);
        expect(e).to.be.instanceOf(StoreUnavailableError);
        expect((e as Error).message).to.include("wait for the synchronous standby was cancelled twice");
        // It is on the primary all the same: what the contract allows of a failed commit, learnt from the head.
        expect((await store.head()).size).to.equal(3);
      } finally {
        await restoreStandby();
        await store.close();
      }
    });

    it("is recognised by the warning's message or detail, and nothing else", function () {
      expect(isSyncWaitCancelled({ message: "canceling wait for synchronous replication due to user request" })).to.equal(true);
      expect(isSyncWaitCancelled({ message: "x", detail: "The transaction has already committed locally, but might not have been replicated to the standby." })).to.equal(true);
      expect(isSyncWaitCancelled({ message: "there is no transaction in progress" })).to.equal(false);
    });
  });

  describe("when the primary is killed and the standby promoted", function () {
    it("holds every commit on the promoted standby until synchronous_standby_names is reset, then releases them", async function () {
      await pair.primary.sql("INSERT INTO t VALUES (2)");
      await pair.primary.kill();
      await pair.promoteStandby();
      const { rows: names } = await pair.standby.sql("SHOW synchronous_standby_names");
      expect(names[0].synchronous_standby_names, "the promoted standby kept the old setting").to.equal(pair.standbyName);

      const client = new pg.Client({ connectionString: pair.standby.url("postgres") });
      await client.connect();
      try {
        const stuck = client.query("INSERT INTO t VALUES (3)");
        expect(await within(stuck, 2000), "a commit waits for a standby that does not exist").to.equal("pending");
        // The service's watch says so, with the fix.
        const { lines, logger } = recordingLogger();
        const watch = SyncReplicationWatch.start({ url: pair.standby.url("postgres"), logger, everyMs: 60_000, stuckAfterSeconds: 1 });
        try {
          const h = await watch.check();
          expect(h).to.deep.include({ ok: false, syncStandbys: 0, commitsWaitingForStandby: 1 });
          expect(h.problem).to.include("ALTER SYSTEM SET synchronous_standby_names = ''");
          expect(lines.filter((l) => l.level === "error").map((l) => l.msg)).to.have.length(1);
          await dropSynchronousStandbys(pair.standby);
          expect(await within(stuck, 10_000), "the reset releases it").to.not.equal("pending");
          expect(await watch.check()).to.deep.include({ ok: true, commitsWaitingForStandby: 0, problem: null });
          expect(lines.map((l) => l.level)).to.deep.equal(["error", "info"]);
        } finally {
          await watch.close();
        }
      } finally {
        await client.end();
      }
      const { rows } = await pair.standby.sql("SELECT array_agg(v ORDER BY v) AS v FROM t");
      expect(rows[0].v).to.deep.equal([1, 2, 3]);
    });
  });
});
