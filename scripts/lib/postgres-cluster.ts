/**
 * Private PostgreSQL clusters for the scripts (benchmarks): `initdb` and
 * `pg_ctl` from Debian's packages, in a temporary directory owned, when run
 * as root, by the `postgres` system user (PostgreSQL refuses to run as
 * root), listening only on unix sockets in that directory. Never a system
 * cluster. The tests' helper (test/helpers/postgres.ts) finds the binaries
 * through {@link postgresBin} too; scripts never import from test/.
 *
 * Durability is the server's default (fsync on, synchronous_commit on), as
 * a deployment runs it. With `standby`, a streaming standby made with
 * `pg_basebackup -R` is named in the primary's `synchronous_standby_names`,
 * so a commit returns only once the standby holds it.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

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

/** The uid and gid of the `postgres` system user, which Debian's package creates. */
export async function postgresIds(): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (cause) {
    throw new Error("there is no `postgres` system user to run clusters as (Debian's postgresql package creates it)", { cause });
  }
}

export interface DurableCluster {
  /** A connection URL for `database` on the primary (unix socket, user postgres, trust auth). */
  url(database: string): string;
  /** Creates an empty database on the primary and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one statement with psql on the primary, in `database` (default "postgres"); its unaligned output. */
  psql(text: string, database?: string): Promise<string>;
  /** The postmasters' process ids (the primary's first), to account their CPU time. */
  postmasters(): Promise<number[]>;
  /** Stops every server and removes the directory. */
  destroy(): Promise<void>;
}

export interface DurableClusterOptions {
  /** Add a streaming standby and make it synchronous (default false). */
  readonly standby?: boolean;
  /** Extra `-c name=value` settings for every server. */
  readonly settings?: readonly string[];
}

/** Starts a durable primary (and, with `standby`, a synchronous standby) on private sockets. */
export async function startDurableCluster(options: DurableClusterOptions = {}): Promise<DurableCluster> {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), "ledger-bench-pg-"));
  if (root) {
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
  }
  const as = (cmd: string, args: string[]) => (root ? run("runuser", ["-u", "postgres", "--", cmd, ...args], { cwd: dir }) : run(cmd, args, { cwd: dir }));
  const started: string[] = [];
  let port = 40_000 + (process.pid % 20_000);
  const sockOf = (name: string) => join(dir, name, "sock");
  const startServer = async (name: string): Promise<number> => {
    const p = port++;
    const opts = [`-p ${p}`, `-k ${sockOf(name)}`, "-c listen_addresses=''", "-c max_connections=100", `-c cluster_name=${name}`, ...(options.settings ?? []).map((s) => `-c ${s}`)];
    await as(join(bin, "pg_ctl"), ["-D", join(dir, name, "data"), "-l", join(dir, name, "server.log"), "-w", "-t", "60", "-o", opts.join(" "), "start"]);
    started.push(name);
    return p;
  };
  const destroy = async (): Promise<void> => {
    for (const name of started.reverse()) await as(join(bin, "pg_ctl"), ["-D", join(dir, name, "data"), "-m", "fast", "-w", "stop"]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const name of options.standby === true ? ["primary", "standby"] : ["primary"]) {
      await as("mkdir", ["-m", "0700", join(dir, name)]);
      await as("mkdir", ["-m", "0700", sockOf(name)]);
    }
    await as(join(bin, "initdb"), ["-D", join(dir, "primary", "data"), "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C.UTF-8"]);
    const primaryPort = await startServer("primary");
    const url = (database: string) => `postgres://postgres@localhost:${primaryPort}/${encodeURIComponent(database)}?host=${encodeURIComponent(sockOf("primary"))}`;
    const psql = async (text: string, database = "postgres"): Promise<string> =>
      (await run(join(bin, "psql"), ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url(database), "-c", text])).stdout.trim();
    if (options.standby === true) {
      // Set as an operator would (postgresql.auto.conf), before the base backup copies it.
      await psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'");
      await psql("SELECT pg_reload_conf()");
      await as(join(bin, "pg_basebackup"), ["-D", join(dir, "standby", "data"), "-R", "-X", "stream", "-d", `host=${sockOf("primary")} port=${primaryPort} user=postgres`]);
      await startServer("standby");
      for (let waited = 0; (await psql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby' AND sync_state = 'sync'")) !== "1"; waited += 100) {
        if (waited > 30_000) throw new Error("the standby did not become synchronous within 30 s");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      url,
      psql,
      async createDatabase(name) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name} is not a plain identifier`);
        await psql(`CREATE DATABASE ${name}`);
        return url(name);
      },
      async postmasters() {
        return Promise.all(started.map(async (name) => Number((await readFile(join(dir, name, "data", "postmaster.pid"), "utf8")).split("\n")[0])));
      },
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
