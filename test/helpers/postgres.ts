/**
 * Throwaway PostgreSQL clusters for tests: `initdb` and `pg_ctl` from
 * Debian's packages, in a temporary directory owned, when the tests run as
 * root, by the `postgres` system user (PostgreSQL refuses to run as root),
 * listening only on a unix socket in that directory. Never a system cluster. Missing binaries fail the suite
 * with one clear line: CI installs them (.ci/run), so a skip would hide a
 * broken set-up.
 *
 * The cluster runs with `synchronous_commit=off` and a long WAL writer delay
 * as its defaults, so durability in the tests comes from the store's own
 * per-transaction setting and not from the server's: a store that forgot it
 * would lose acknowledged commits in the immediate-shutdown test. `fsync=off`
 * only matters for an operating-system crash, which these tests do not make.
 */
import { execFile } from "node:child_process";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { postgresBin, postgresIds } from "../../scripts/lib/postgres-cluster";

const run = promisify(execFile);

export { postgresBin };

let nextPort = 20000 + (process.pid % 20000);

export interface TestCluster {
  /** The cluster's directory: data in ./data, the socket in ./sock. */
  readonly dir: string;
  readonly port: number;
  /** A connection URL for `database` (unix socket, user postgres, trust auth). */
  url(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one statement as the superuser in `database` (default "postgres"). */
  sql(text: string, values?: unknown[], database?: string): Promise<pg.QueryResult>;
  /** Stops the server: "fast" rolls back sessions and checkpoints, "immediate" is a crash (recovery on next start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops the server if running and removes the directory. */
  destroy(): Promise<void>;
}

/** Creates and starts a cluster on a free private port. */
export async function startCluster(): Promise<TestCluster> {
  const bin = postgresBin();
  // As root (CI, these machines), the cluster runs as the postgres user; as anyone else, as that user.
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), "ledger-pg-"));
  if (root) {
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
  }
  const data = join(dir, "data");
  const sock = join(dir, "sock");
  const asPostgres = (cmd: string, args: string[]) =>
    root ? run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { cwd: dir }) : run(join(bin, cmd), args, { cwd: dir });
  await asPostgres("initdb", ["-D", data, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]);
  await (root ? run("runuser", ["-u", "postgres", "--", "mkdir", "-m", "0700", sock]) : run("mkdir", ["-m", "0700", sock]));

  let port = 0;
  let running = false;
  const start = async (): Promise<void> => {
    const opts = [
      `-p ${port}`,
      `-k ${sock}`,
      "-c listen_addresses=''",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c wal_writer_delay=10000",
      "-c max_connections=100",
    ].join(" ");
    await asPostgres("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "30", "-o", opts, "start"]);
    running = true;
  };
  // Without TCP the port only names the socket file in this cluster's own directory, so it cannot clash
  // with another cluster; a few retries cover a start that fails for a passing reason.
  for (let attempt = 0; ; attempt++) {
    port = nextPort++;
    try {
      await start();
      break;
    } catch (e) {
      if (attempt >= 5) {
        await rm(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }

  const url = (database: string): string => `postgres://postgres@localhost:${port}/${encodeURIComponent(database)}?host=${encodeURIComponent(sock)}`;
  const sql = async (text: string, values: unknown[] = [], database = "postgres"): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return await client.query(text, values);
    } finally {
      await client.end();
    }
  };
  return {
    dir,
    port,
    url,
    sql,
    async createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`test database name ${name} is not a plain identifier`);
      await sql(`CREATE DATABASE ${name} TEMPLATE template0`);
      return url(name);
    },
    async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
      await asPostgres("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "30", "stop"]);
      running = false;
    },
    start,
    async destroy(): Promise<void> {
      if (running) await asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let databases = 0;

/** A fresh database name, unique in this process. */
export function databaseName(prefix = "ledger"): string {
  return `${prefix}_${process.pid}_${++databases}`;
}

// ---------------------------------------------------------------- a primary with a synchronous standby

/** One server of a {@link ReplicatedPair}: its own data directory, socket directory and port. */
export interface ReplicaServer {
  readonly name: string;
  readonly dataDir: string;
  readonly port: number;
  /** A connection URL for `database` (unix socket, user postgres, trust auth). */
  url(database: string): string;
  /** Runs one statement as the superuser in `database` (default "postgres"), failing after `timeoutMs` (default 10 s). */
  sql(text: string, values?: unknown[], database?: string, timeoutMs?: number): Promise<pg.QueryResult>;
  /** SIGKILLs the postmaster and every process it started, as when its machine dies: nothing is flushed or handed over. */
  kill(): Promise<void>;
  /** Whether the server is running (not killed or stopped). */
  readonly running: boolean;
}

export interface ReplicatedPair {
  readonly dir: string;
  readonly primary: ReplicaServer;
  readonly standby: ReplicaServer;
  /** The standby's name in the primary's synchronous_standby_names (its application_name). */
  readonly standbyName: string;
  /** Waits until the primary reports the standby streaming as its synchronous standby. */
  waitForSyncStandby(timeoutMs?: number): Promise<void>;
  /** `pg_ctl promote -w` on the standby: it leaves recovery and accepts writes (still under the primary's old settings). */
  promoteStandby(): Promise<void>;
  /** Stops both servers if running and removes the directory. */
  destroy(): Promise<void>;
}

/**
 * The operator's step after promoting a standby (documented in
 * service/store/README.md): the promoted server kept the old primary's
 * `synchronous_standby_names` (pg_basebackup copied postgresql.auto.conf),
 * so every commit with synchronous_commit on waits for a standby that does
 * not exist. Resetting it makes the promoted server commit alone until a new
 * standby is attached and named.
 */
export async function dropSynchronousStandbys(server: ReplicaServer): Promise<void> {
  await server.sql("ALTER SYSTEM RESET synchronous_standby_names");
  await server.sql("SELECT pg_reload_conf()");
}

/**
 * A primary and a streaming standby made with `pg_basebackup -R`, the
 * standby synchronous: the primary has `synchronous_standby_names` naming it
 * and `synchronous_commit = on`, set with ALTER SYSTEM (postgresql.auto.conf)
 * as an operator would, before the base backup, so the standby inherits them
 * as a real one does. Unlike {@link startCluster}, no durability setting is
 * given on the command line, where it would override ALTER SYSTEM. Both run
 * as the `postgres` user (when run as root) on unix sockets only.
 */
export async function startReplicatedPair(): Promise<ReplicatedPair> {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), "ledger-pg-ha-"));
  if (root) {
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
  }
  const asPostgres = (cmd: string, args: string[]) =>
    root ? run("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { cwd: dir }) : run(join(bin, cmd), args, { cwd: dir });
  const mkdirPrivate = (p: string) => (root ? run("runuser", ["-u", "postgres", "--", "mkdir", "-m", "0700", p]) : run("mkdir", ["-m", "0700", p]));
  const standbyName = "ledger_standby";
  const destroyers: (() => Promise<void>)[] = [];

  const server = async (name: string, init: (data: string) => Promise<void>): Promise<ReplicaServer & { start(): Promise<void> }> => {
    const data = join(dir, name, "data");
    const sock = join(dir, name, "sock");
    await mkdirPrivate(join(dir, name));
    await mkdirPrivate(sock);
    await init(data);
    let port = 0;
    let running = false;
    const url = (database: string): string => `postgres://postgres@localhost:${port}/${encodeURIComponent(database)}?host=${encodeURIComponent(sock)}`;
    const start = async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        port = nextPort++;
        const opts = [`-p ${port}`, `-k ${sock}`, "-c listen_addresses=''", "-c fsync=off", "-c max_connections=100", `-c cluster_name=${name === "standby" ? standbyName : name}`].join(" ");
        try {
          await asPostgres("pg_ctl", ["-D", data, "-l", join(dir, name, "server.log"), "-w", "-t", "60", "-o", opts, "start"]);
          running = true;
          return;
        } catch (e) {
          if (attempt >= 5) throw e;
        }
      }
    };
    const self = {
      name,
      dataDir: data,
      get port() {
        return port;
      },
      get running() {
        return running;
      },
      url,
      start,
      async sql(text: string, values: unknown[] = [], database = "postgres", timeoutMs = 10_000): Promise<pg.QueryResult> {
        const client = new pg.Client({ connectionString: url(database), connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
        client.on("error", () => {});
        await client.connect();
        try {
          return await client.query(text, values);
        } finally {
          await client.end().catch(() => {});
        }
      },
      async kill(): Promise<void> {
        const pid = Number((await readFile(join(data, "postmaster.pid"), "utf8")).split("\n")[0]);
        const { stdout } = await run("ps", ["-o", "pid=", "--ppid", String(pid)]).catch(() => ({ stdout: "" }));
        const children = stdout.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
        for (const p of [pid, ...children]) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            // gone already
          }
        }
        running = false;
      },
    };
    destroyers.push(async () => {
      if (running) await asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      running = false;
    });
    return self;
  };

  try {
    const primary = await server("primary", async (data) => {
      await asPostgres("initdb", ["-D", data, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]);
    });
    await primary.start();
    await primary.sql("ALTER SYSTEM SET synchronous_commit = on");
    await primary.sql(`ALTER SYSTEM SET synchronous_standby_names = '${standbyName}'`);
    await primary.sql("SELECT pg_reload_conf()");
    const standby = await server("standby", async (data) => {
      // -R: standby.signal and primary_conninfo; the standby's name reaches the primary as its cluster_name.
      await asPostgres("pg_basebackup", ["-D", data, "-R", "-X", "stream", "--no-sync", "-d", `host=${join(dir, "primary", "sock")} port=${primary.port} user=postgres`]);
    });
    await standby.start();
    const pair: ReplicatedPair = {
      dir,
      primary,
      standby,
      standbyName,
      async waitForSyncStandby(timeoutMs = 30_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const { rows } = await primary.sql("SELECT application_name, state, sync_state FROM pg_stat_replication");
          if (rows.some((r: { application_name: string; state: string; sync_state: string }) => r.application_name === standbyName && r.state === "streaming" && r.sync_state === "sync")) return;
          if (Date.now() > deadline) throw new Error(`the standby did not become synchronous within ${timeoutMs} ms: ${JSON.stringify(rows)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async promoteStandby(): Promise<void> {
        await asPostgres("pg_ctl", ["-D", standby.dataDir, "-w", "-t", "60", "promote"]);
      },
      async destroy(): Promise<void> {
        for (const d of destroyers) await d();
        await rm(dir, { recursive: true, force: true });
      },
    };
    await pair.waitForSyncStandby();
    return pair;
  } catch (e) {
    for (const d of destroyers) await d();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
