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
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** The bin directory of the newest installed PostgreSQL, or a thrown Error saying how to install it. */
export function postgresBin(root = "/usr/lib/postgresql"): string {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^[0-9]+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(`PostgreSQL is not installed (no ${root}/*/bin/initdb): run \`apt-get install postgresql\` (.ci/run does)`);
  return join(root, versions[0]!, "bin");
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (cause) {
    throw new Error("there is no `postgres` system user to run test clusters as (Debian's postgresql package creates it)", { cause });
  }
}

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
