/**
 * The PostgreSQL store's schema, as numbered migrations applied in order at
 * open (see {@link migrate}). A migration, once released, never changes: a
 * change to the schema is a new migration at the end of {@link MIGRATIONS}.
 *
 * Choices, and why:
 * - Keys that are arbitrary JavaScript strings chosen by clients or the
 *   sequencer (scoped idempotency keys, which contain NUL by design) are
 *   `bytea` of their UTF-8: PostgreSQL `text` cannot hold NUL. Other keys
 *   are `text COLLATE "C"`, so order and comparison are bytewise whatever
 *   the database's locale, as in the LevelDB store.
 * - Documents (state, openings, idempotency records, tokens) are `json`, not
 *   `jsonb`: `json` keeps the text JSON.stringify wrote, including the
 *   `\u0000` and lone-surrogate escapes `jsonb` refuses.
 * - Tree nodes are one row per node, each written once by the commit that
 *   completes it. A row per complete tile (as the LevelDB store keeps) would
 *   need the incomplete tile's nodes carried between commits, state a second
 *   replica does not have; per node, a commit only inserts, and a proof is
 *   one indexed query for its O(log n) nodes.
 * - `log_head` is the sequence row: one row, taken `FOR UPDATE` by every
 *   commit, so commits from any number of processes are serialised and each
 *   checks that the head it extends is still the head.
 */
import type pg from "pg";

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "log, state, openings, idempotency and tokens",
    sql: `
CREATE TABLE log_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  size bigint NOT NULL CHECK (size >= 0),
  compact bytea NOT NULL
);
INSERT INTO log_head (size, compact) VALUES (0, '\\x');

CREATE TABLE leaves (
  idx bigint PRIMARY KEY CHECK (idx >= 0),
  entry_id text COLLATE "C" NOT NULL UNIQUE,
  bytes bytea NOT NULL,
  recorded_at text COLLATE "C" NOT NULL
);

CREATE TABLE nodes (
  level smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
  idx bigint NOT NULL CHECK (idx >= 0),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
);

CREATE TABLE entry_index (
  name text COLLATE "C" NOT NULL,
  value text COLLATE "C" NOT NULL,
  leaf bigint NOT NULL,
  PRIMARY KEY (name, value, leaf)
);

CREATE TABLE state_docs (
  key text COLLATE "C" PRIMARY KEY,
  doc json NOT NULL
);

CREATE TABLE openings (
  entry_id text COLLATE "C" PRIMARY KEY,
  openings json NOT NULL
);

CREATE TABLE idempotency (
  scoped_key bytea PRIMARY KEY,
  record json NOT NULL,
  created_at text COLLATE "C" NOT NULL
);
CREATE INDEX idempotency_by_created_at ON idempotency (created_at);

CREATE TABLE tokens (
  hash text COLLATE "C" PRIMARY KEY,
  record json NOT NULL
);
`,
  },
  {
    version: 2,
    description: "access-code generations",
    sql: `
CREATE TABLE access_code_generations (
  application_id text COLLATE "C" PRIMARY KEY,
  generation integer NOT NULL CHECK (generation > 0)
);
`,
  },
  {
    version: 3,
    description: "the log's recorded keys, and rate-limit windows shared by replicas",
    // log_meta holds public values only: the log's verifier key and a fingerprint (an HMAC of a fixed
    // label) of the access-code key, never a key. rate_limits is UNLOGGED: counters need no crash
    // safety or standby copy, and their writes then wait for no WAL flush.
    sql: `
CREATE TABLE log_meta (
  name text COLLATE "C" PRIMARY KEY,
  value text COLLATE "C" NOT NULL
);

CREATE UNLOGGED TABLE rate_limits (
  limiter text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  window_start bigint NOT NULL,
  hits integer NOT NULL CHECK (hits >= 0),
  expires_at bigint NOT NULL,
  PRIMARY KEY (limiter, key, window_start)
);
CREATE INDEX rate_limits_by_expiry ON rate_limits (expires_at);
`,
  },
  {
    version: 4,
    description: "the leader lease, the anchorer's shared state and the published checkpoint",
    // One lease row: whoever holds an unexpired lease leads; every takeover adds one to `epoch`, and
    // the anchorer's state is written only in a transaction that finds its own epoch still current
    // (service/store/postgres-lease.ts, service/store/postgres-anchoring.ts); the checkpoint a witness
    // quorum cosigned is shared the same way (service/store/postgres-anchoring.ts). Expiry is by the database's clock,
    // so the replicas' clocks need not agree.
    sql: `
CREATE TABLE leader_lease (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  holder text COLLATE "C",
  epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO leader_lease DEFAULT VALUES;

CREATE TABLE anchor_state (
  contract text COLLATE "C" PRIMARY KEY,
  epoch bigint NOT NULL,
  state json NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE published_checkpoint (
  contract text COLLATE "C" PRIMARY KEY,
  epoch bigint NOT NULL,
  point json NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * The advisory lock key every opener takes around migrations: one number
 * for this application, so two service processes starting together apply
 * each migration once. (ASCII "ledgrmig" as a signed 64-bit integer.)
 */
export const MIGRATION_LOCK_KEY = "7810759524208175463";

/** The advisory lock an exclusive store holds while open (ASCII "ledgrsvc"); see PostgresStoreOptions.exclusive. */
export const SERVICE_LOCK_KEY = "7810759524208572003";

export type MigrationOutcome = { readonly applied: readonly number[]; readonly version: number };

/** The database's schema is newer than this code: an older release must not write to it. */
export class SchemaTooNewError extends Error {
  override readonly name = "SchemaTooNewError";
}

/**
 * Applies the migrations the database lacks, each in its own transaction
 * with its row in `schema_migrations`, under a session advisory lock so
 * that concurrent opens apply each one exactly once. Throws
 * {@link SchemaTooNewError} for a database at a version this code does not
 * know; any other failure is the database's (the caller maps it).
 */
export async function migrate(client: pg.ClientBase, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationOutcome> {
  await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
    if (newest > known)
      throw new SchemaTooNewError(`the database's ledger schema is at version ${newest}, newer than this release knows (${known}): run a newer release`);
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)", [m.version, m.description]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      }
      applied.push(m.version);
    }
    return { applied, version: known };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}
