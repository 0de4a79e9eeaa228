/**
 * The PostgreSQL store: {@link LedgerStore} on node-postgres, selected by
 * LEDGER_DATABASE_URL. The schema and its migrations are in
 * ./postgres-schema.ts.
 *
 * Several processes may open one database (unlike a LevelDB directory), so
 * nothing the contract promises rests on this process's memory: every read
 * goes to the database, and every commit is sequenced there.
 *
 * Commit. One transaction: take the sequence row (`log_head`) `FOR UPDATE`,
 * check the batch extends exactly the head it holds, insert everything in
 * one statement, advance the head, commit. A commit whose batch was built on
 * a head another writer has since advanced is refused with
 * {@link StoreHeadMovedError}, storing nothing. The transaction sets
 * `synchronous_commit = on`, whatever the server's default, so the promise
 * resolves only once the commit record is flushed (and, with a synchronous
 * standby configured, held there too). {@link PostgresStore.sequence} runs
 * the same transaction but builds the batch under the lock, from reads made
 * in it: the sequencer's fallback when replicas contend (service/ledger).
 *
 * Errors. The database unreachable, or the connection lost, is
 * {@link StoreUnavailableError} with code DATABASE_UNREACHABLE; a refused
 * batch is BATCH_REFUSED or HEAD_MOVED; anything else the database reports is
 * QUERY_FAILED. Messages never contain the connection URL. Values only ever
 * travel as query parameters, never inside SQL text.
 */
import pg from "pg";
import { HASH_SIZE, messageOf, planRoot, type NodeId } from "../log";
import type { Openings } from "../records/entry";
import type { IndexRef } from "../records/rules";
import type { StateDoc, StateKey } from "../records/state";
import { migrate, SchemaTooNewError, SERVICE_LOCK_KEY, type MigrationOutcome } from "./postgres-schema";
import { commitConfirmed } from "./postgres-sync-commit";
import {
  ERASED_REQUEST_HASH,
  StoreLockedError,
  StoreUnavailableError,
  type CommitBatch,
  type IdempotencyRecord,
  type LedgerStore,
  type KeyIdentity,
  type KeyRegistry,
  type LockedReads,
  type RateLimitCounters,
  type RateWindow,
  type SharedSequencing,
  type StoredLeaf,
  type TokenRecord,
  type TreeHead,
} from "./store";

export type PostgresStoreErrorCode = "DATABASE_UNREACHABLE" | "HEAD_MOVED" | "BATCH_REFUSED" | "SCHEMA_TOO_NEW" | "QUERY_FAILED";

/**
 * Every failure of the PostgreSQL store. A StoreUnavailableError, as the
 * store contract requires, with a `code` to switch on. Not a CodedError (an
 * error has one parent class): callers rely on StoreUnavailableError (503 and
 * retry, isHeadMoved), which the other stores throw without a code.
 */
export class PostgresStoreError extends StoreUnavailableError {
  constructor(
    readonly code: PostgresStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The batch was built on a head another writer has since advanced; nothing was stored. Rebuild it on the new head. */
export class StoreHeadMovedError extends PostgresStoreError {
  constructor(
    readonly storedSize: number,
    readonly batchStart: number,
    options?: { cause?: unknown },
  ) {
    super("HEAD_MOVED", `batch refused, nothing stored: it starts at leaf ${batchStart} but the stored head is at size ${storedSize} (another writer committed first)`, options);
  }
}

export interface PostgresStoreOptions {
  /** Most connections this process holds (default 10). */
  readonly maxConnections?: number;
  /** How long to wait for a connection before failing with DATABASE_UNREACHABLE (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /**
   * Hold a session advisory lock for as long as the store is open, so that a
   * second process opening the database with `exclusive` is refused with
   * {@link StoreLockedError}. The service does not (replicas share one
   * database); the admin CLI does, so two CLIs never run at once. A lock
   * lost with its connection (the server restarted) is not taken back.
   */
  readonly exclusive?: boolean;
}

/**
 * A hook run inside the commit's transaction, after the sequence row is
 * locked and the batch checked against it, before anything is written. It
 * sees the locked head; throwing aborts the commit, storing nothing.
 */
export type CommitCheck = (tx: { readonly head: TreeHead; query: pg.ClientBase["query"] }) => Promise<void>;

const utf8 = new TextEncoder();


/** Carries what a commit's `check` threw past the commit's own error mapping. */
class CheckRefused {
  constructor(readonly reason: unknown) {}
}

/** A leaf or node index: a non-negative safe integer. */
const isIndex = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/**
 * Whether `s` can be a `text` value: PostgreSQL text holds no NUL, and a
 * lone surrogate would be sent as U+FFFD, silently matching another string.
 * A lookup by an unstorable key finds nothing; a write of one is refused.
 */
export const storable = (s: unknown): s is string => typeof s === "string" && !s.includes("\u0000") && !LONE_SURROGATE.test(s);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Connection-level failures: the server is down, restarting, refusing
 * connections, or the socket broke. SQLSTATE classes 08 (connection
 * exception) and 57P (operator intervention: shutdown, crash, cannot
 * connect now), and node-postgres's own errors for a lost connection.
 */
function isUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (code.startsWith("08") || code.startsWith("57P")) return true;
    if (["ECONNREFUSED", "ECONNRESET", "ENOENT", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "EAI_AGAIN", "ENOTFOUND"].includes(code)) return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect/i.test(e.message);
}

/** Maps a failure to the store's typed error; `what` says what failed, never with the URL. */
export function storeError(what: string, cause: unknown): PostgresStoreError {
  if (cause instanceof PostgresStoreError) return cause;
  if (cause instanceof SchemaTooNewError) return new PostgresStoreError("SCHEMA_TOO_NEW", cause.message, { cause });
  if (isUnreachable(cause)) return new PostgresStoreError("DATABASE_UNREACHABLE", `${what} failed: the database is unreachable (${messageOf(cause)})`, { cause });
  return new PostgresStoreError("QUERY_FAILED", `${what} failed: ${messageOf(cause)}`, { cause });
}

/** Where the URL points, for messages: host, port and database, never the user or password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const socket = u.searchParams.get("host");
    const host = socket ?? (u.hostname || "localhost");
    return `postgres database ${decodeURIComponent(u.pathname.replace(/^\//, "")) || "(default)"} on ${host}${u.port ? `:${u.port}` : ""}`;
  } catch {
    return "postgres database (unparseable URL)";
  }
}

function concatHashes(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.concat(hashes.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength)));
}

function decodeHead(size: string | number, compact: Buffer): TreeHead {
  const n = Number(size);
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < compact.length; at += HASH_SIZE) hashes.push(new Uint8Array(compact.subarray(at, at + HASH_SIZE)));
  return { size: n, compact: hashes };
}

/** A plain Uint8Array with its own memory (pg hands back Buffers, which deep equality tells apart). */
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b);

/** The one statement that writes a whole batch: every table, from arrays, in one round trip. */
const INSERT_BATCH = `
WITH
  l AS (INSERT INTO leaves (idx, entry_id, bytes, recorded_at)
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::text[])),
  n AS (INSERT INTO nodes (level, idx, hash)
        SELECT * FROM unnest($5::smallint[], $6::bigint[], $7::bytea[])),
  i AS (INSERT INTO entry_index (name, value, leaf)
        SELECT * FROM unnest($8::text[], $9::text[], $10::bigint[]) ON CONFLICT DO NOTHING),
  o AS (INSERT INTO openings (entry_id, openings)
        SELECT * FROM unnest($11::text[], $12::json[])
        ON CONFLICT (entry_id) DO UPDATE SET openings = EXCLUDED.openings),
  s AS (INSERT INTO state_docs (key, doc)
        SELECT * FROM unnest($13::text[], $14::json[])
        ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc),
  d AS (INSERT INTO idempotency (scoped_key, record, created_at)
        SELECT * FROM unnest($15::bytea[], $16::json[], $17::text[])
        ON CONFLICT (scoped_key) DO UPDATE SET record = EXCLUDED.record, created_at = EXCLUDED.created_at)
UPDATE log_head SET size = $18, compact = $19`;

/**
 * A batch's erasures, in its transaction after INSERT_BATCH (so records the
 * batch itself wrote are scrubbed too): the openings rows go, and every
 * idempotency record whose response names an erased entry (`body.id`, or an
 * id in a batch's `body.results`) gets the erased request hash.
 */
const ERASE = `
WITH
  o AS (DELETE FROM openings WHERE entry_id = ANY($1::text[]))
UPDATE idempotency SET record = jsonb_set(record::jsonb, '{requestHash}', to_jsonb($2::text))::json
WHERE record->'body'->>'id' = ANY($1::text[])
   OR EXISTS (SELECT 1 FROM json_array_elements(
        CASE WHEN json_typeof(record->'body'->'results') = 'array' THEN record->'body'->'results' ELSE '[]'::json END) r
      WHERE r->>'id' = ANY($1::text[]))`;

export class PostgresStore implements LedgerStore, SharedSequencing, KeyRegistry, RateLimitCounters {
  /** Writes under way, so close() can wait for them. */
  private readonly _pending = new Set<Promise<unknown>>();
  private _closed = false;
  private _hitsSinceExpiry = 0;
  /** Clients given an 'error' listener already (the pool reuses them). */
  private readonly _guarded = new WeakSet<pg.PoolClient>();

  private constructor(
    private readonly _pool: pg.Pool,
    /** The connection holding the exclusive lock, when opened with `exclusive`. */
    private readonly _lockHolder: pg.Client | undefined,
    /** Where the store is, for messages (no credentials). */
    readonly where: string,
    /** The schema version and the migrations this open applied. */
    readonly migrations: MigrationOutcome,
  ) {}

  /**
   * Connects, applies the migrations the database lacks (under an advisory
   * lock, so concurrent opens apply each once), and returns the store.
   * Rejects with {@link PostgresStoreError}: DATABASE_UNREACHABLE when the
   * database cannot be reached, SCHEMA_TOO_NEW for a schema from a newer
   * release.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const where = describeDatabaseUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      application_name: "subsidy-ledger",
      // TCP keepalive, so a connection to a server that vanished without closing it is found dead.
      keepAlive: true,
    });
    // An idle connection the server drops (restart, failover) emits 'error' on the pool; unhandled, it
    // would end the process. The next query on a new connection reports the outage as a typed error.
    pool.on("error", () => {});
    let client: pg.PoolClient | undefined;
    let holder: pg.Client | undefined;
    try {
      if (options.exclusive === true) {
        holder = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000, application_name: "subsidy-ledger lock" });
        holder.on("error", () => {});
        await holder.connect();
        const { rows } = await holder.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [SERVICE_LOCK_KEY]);
        if (rows[0]?.locked !== true)
          throw new StoreLockedError(`the ${where} is in use by another ledger process; only one may open it until replicas are supported`);
      }
      client = await pool.connect();
      client.on("error", () => {}); // see _connect
      const outcome = await migrate(client);
      client.release();
      return new PostgresStore(pool, holder, where, outcome);
    } catch (cause) {
      client?.release(true);
      await holder?.end().catch(() => {});
      await pool.end().catch(() => {});
      if (cause instanceof StoreLockedError) throw cause;
      throw storeError(`opening the ${where}`, cause);
    }
  }

  async head(): Promise<TreeHead> {
    const { rows } = await this._query<{ size: string; compact: Buffer }>("read the head", "SELECT size, compact FROM log_head");
    const row = rows[0];
    if (row === undefined) throw new PostgresStoreError("QUERY_FAILED", `the ${this.where} has no head row: its schema is damaged`);
    return decodeHead(row.size, row.compact);
  }

  /**
   * One transaction, durable once it resolves (see the module comment).
   * Rejects, storing nothing, with {@link StoreHeadMovedError} when the
   * stored head is no longer the one the batch extends, BATCH_REFUSED when
   * the batch is malformed, and DATABASE_UNREACHABLE when the connection is
   * lost; a commit whose connection is lost after the server received
   * COMMIT may have been stored (as with any database), which the caller
   * learns from the head after reconnecting.
   *
   * `check`, if given, runs under the lock before the writes; what it
   * throws rejects the commit unchanged, after the transaction is rolled back.
   */
  commit(batch: CommitBatch, check?: CommitCheck): Promise<void> {
    return this._write(async () => {
      // Malformed batches are refused before the lock is taken.
      const params = encodeBatch(batch);
      const erasures = erasuresOf(batch);
      await this._transact("commit", async (stored, client) => {
        checkExtends(stored, batch);
        if (check !== undefined) {
          try {
            await check({ head: stored, query: client.query.bind(client) as pg.ClientBase["query"] });
          } catch (e) {
            throw new CheckRefused(e);
          }
        }
        return { params, erasures };
      });
    });
  }

  /**
   * Sequences under the lock (see {@link SharedSequencing}): takes the
   * sequence row, calls `build` with the locked head and reads made in the
   * same transaction, and commits what it returns in that transaction.
   * Resolves true once committed (durable, as {@link commit}), false when
   * `build` returned undefined (nothing is written). What `build` throws
   * rejects unchanged, after the rollback; a batch that does not extend the
   * locked head is refused with BATCH_REFUSED.
   */
  sequence(build: (head: TreeHead, reads: LockedReads) => Promise<CommitBatch | undefined>): Promise<boolean> {
    return this._write(() =>
      this._transact("sequence", async (stored, client) => {
        let batch: CommitBatch | undefined;
        try {
          batch = await build(stored, transactionReads(client));
        } catch (e) {
          throw new CheckRefused(e);
        }
        if (batch === undefined) return undefined;
        const start = batch.leaves.length > 0 ? batch.leaves[0]!.index : batch.head.size;
        if (start !== stored.size) refuse(`it starts at leaf ${start} but the locked head is at size ${stored.size}`);
        checkExtends(stored, batch);
        return { params: encodeBatch(batch), erasures: erasuresOf(batch) };
      }),
    );
  }

  /**
   * The one write transaction: lock the sequence row, let `prepare` decide
   * what to write against the locked head (undefined: nothing, rolled
   * back), write it, advance the head, commit with synchronous_commit on.
   * Resolves true when it committed.
   */
  private async _transact(
    what: string,
    prepare: (stored: TreeHead, client: pg.PoolClient) => Promise<{ params: unknown[]; erasures: string[] } | undefined>,
  ): Promise<boolean> {
    const client = await this._connect(what);
    // Set before BEGIN: a failure after it must roll back, or the connection would go back to the pool
    // inside an aborted transaction. (ROLLBACK outside a transaction is a harmless warning.)
    let inTransaction = true;
    try {
      // One round trip: the durability setting applies to this transaction only.
      const results = (await client.query(
        "BEGIN; SET LOCAL synchronous_commit = on; SELECT size, compact FROM log_head FOR UPDATE",
      )) as unknown as pg.QueryResult<{ size: string; compact: Buffer }>[];
      const row = results[2]?.rows[0];
      if (row === undefined) throw new PostgresStoreError("QUERY_FAILED", `the ${this.where} has no head row: its schema is damaged`);
      const stored = decodeHead(row.size, row.compact);
      const prepared = await prepare(stored, client);
      if (prepared === undefined) {
        await client.query("ROLLBACK");
        inTransaction = false;
        client.release();
        return false;
      }
      await client.query({ name: statementName(INSERT_BATCH), text: INSERT_BATCH, values: prepared.params });
      if (prepared.erasures.length > 0) await client.query({ name: statementName(ERASE), text: ERASE, values: [prepared.erasures, ERASED_REQUEST_HASH] });
      await commitConfirmed(client);
      inTransaction = false;
      client.release();
      return true;
    } catch (cause) {
      const refused = cause instanceof CheckRefused;
      const unreachable = !refused && isUnreachable(cause);
      if (inTransaction && !unreachable) await client.query("ROLLBACK").catch(() => {});
      // A connection that failed is not returned to the pool for reuse.
      client.release(unreachable ? true : undefined);
      throw refused ? cause.reason : storeError(what, cause);
    }
  }

  /**
   * Waits for this process's turn to sequence: a session advisory lock on a
   * connection of its own, held until `release`. Turns only spare replicas
   * from building batches on heads the others are about to move; commits
   * stay checked under the sequence row lock, so a turn lost with its
   * connection costs time, never correctness. Resolves undefined, holding
   * nothing, when the turn is not had within {@link TURN_WAIT_MS} or the
   * database cannot be reached: the caller sequences without one.
   */
  async turn(): Promise<SequencingTurn | undefined> {
    if (this._closed) return undefined;
    let client: pg.PoolClient;
    try {
      client = await this._connect("take the sequencing turn");
    } catch {
      return undefined;
    }
    try {
      // The timeout is local to this transaction; the session lock outlives it.
      await client.query(`BEGIN; SET LOCAL lock_timeout = ${TURN_WAIT_MS}; SELECT pg_advisory_lock(${TURN_LOCK}); COMMIT`);
    } catch (cause) {
      // A timeout leaves the connection usable once rolled back (the lock was not taken); a broken one is dropped.
      const unreachable = isUnreachable(cause);
      if (!unreachable) await client.query("ROLLBACK").catch(() => {});
      client.release(unreachable ? true : undefined);
      return undefined;
    }
    let released = false;
    return {
      othersWaiting: async () => {
        if (released) return false;
        try {
          const { rows } = await client.query<{ waiting: boolean }>({ name: statementName(TURN_WAITERS), text: TURN_WAITERS });
          return rows[0]?.waiting === true;
        } catch {
          return true; // the connection, and with it the turn, may be gone: hand over
        }
      },
      release: async () => {
        if (released) return;
        released = true;
        try {
          await client.query(`SELECT pg_advisory_unlock(${TURN_LOCK})`);
          client.release();
        } catch {
          client.release(true); // closing the session releases its locks
        }
      },
    };
  }

  async leaf(index: number): Promise<StoredLeaf | undefined> {
    if (!isIndex(index)) return undefined;
    const { rows } = await this._query<LeafRow>("read a leaf", "SELECT idx, entry_id, bytes, recorded_at FROM leaves WHERE idx = $1", [index]);
    return rows[0] === undefined ? undefined : leafOf(rows[0]);
  }

  async leaves(start: number, end: number): Promise<StoredLeaf[]> {
    // Same clipping as Array.prototype.slice on [0, size); rows exist only below the size.
    const lo = Math.max(0, Math.trunc(start) || 0);
    const hi = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(end) || 0));
    if (lo >= hi) return [];
    const { rows } = await this._query<LeafRow>(
      "read leaves",
      "SELECT idx, entry_id, bytes, recorded_at FROM leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
      [lo, hi],
    );
    return rows.map(leafOf);
  }

  async indexOf(entryId: string): Promise<number | undefined> {
    if (!storable(entryId)) return undefined;
    const { rows } = await this._query<{ idx: string }>("find an entry", "SELECT idx FROM leaves WHERE entry_id = $1", [entryId]);
    return rows[0] === undefined ? undefined : Number(rows[0].idx);
  }

  /** One query for all the ids asked; an id that is not a node gets undefined without a lookup. */
  async nodes(ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]> {
    const valid = ids.filter((id) => isIndex(id.index) && Number.isInteger(id.level) && id.level >= 0 && id.level <= 63);
    if (valid.length === 0) return ids.map(() => undefined);
    const { rows } = await this._query<{ level: number; idx: string; hash: Buffer }>(
      "read nodes",
      "SELECT n.level, n.idx, n.hash FROM nodes n JOIN unnest($1::smallint[], $2::bigint[]) AS q(level, idx) ON n.level = q.level AND n.idx = q.idx",
      [valid.map((id) => id.level), valid.map((id) => id.index)],
    );
    const found = new Map(rows.map((r) => [`${r.level}/${r.idx}`, r.hash]));
    return ids.map((id) => {
      const h = found.get(`${id.level}/${id.index}`);
      return h === undefined ? undefined : bytes(h);
    });
  }

  async state(key: StateKey): Promise<StateDoc | undefined> {
    if (!storable(key)) return undefined;
    const { rows } = await this._query<{ doc: StateDoc }>("read a state doc", STATE_DOC, [key]);
    return rows[0]?.doc;
  }

  async indexed(ref: IndexRef, options: { after?: number; limit?: number } = {}): Promise<number[]> {
    const after = options.after ?? -1;
    const limit = options.limit ?? Infinity;
    if (Number.isNaN(after) || !(limit >= 1) || !storable(ref.name) || !storable(ref.value)) return [];
    // Leaf indexes are integers, so i > after ⟺ i > ⌊after⌋.
    const from = after < 0 ? -1 : Math.min(Math.floor(after), Number.MAX_SAFE_INTEGER);
    const { rows } = await this._query<{ leaf: string }>(
      "read an index",
      "SELECT leaf FROM entry_index WHERE name = $1 AND value = $2 AND leaf > $3 ORDER BY leaf LIMIT $4",
      [ref.name, ref.value, from, limit === Infinity ? null : Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER)],
    );
    return rows.map((r) => Number(r.leaf));
  }

  async openings(entryId: string): Promise<Openings | undefined> {
    if (!storable(entryId)) return undefined;
    const { rows } = await this._query<{ openings: Openings }>("read openings", "SELECT openings FROM openings WHERE entry_id = $1", [entryId]);
    return rows[0]?.openings;
  }

  /** A DELETE of the row: the values are gone from the table, not flagged. Durable once it resolves. */
  eraseOpenings(entryId: string): Promise<void> {
    return this._write(async () => {
      if (!storable(entryId)) return;
      await this._durable("erase openings", "DELETE FROM openings WHERE entry_id = $1", [entryId]);
    });
  }

  async idempotency(scopedKey: string): Promise<IdempotencyRecord | undefined> {
    if (typeof scopedKey !== "string" || LONE_SURROGATE.test(scopedKey)) return undefined;
    const { rows } = await this._query<{ record: IdempotencyRecord }>("read an idempotency record", IDEMPOTENCY_RECORD, [Buffer.from(utf8.encode(scopedKey))]);
    return rows[0]?.record;
  }

  expireIdempotency(cutoff: string): Promise<number> {
    return this._write(async () => {
      if (!storable(cutoff)) throw new PostgresStoreError("QUERY_FAILED", "expire idempotency records: the cutoff is not a storable string");
      const result = await this._durable("expire idempotency records", "DELETE FROM idempotency WHERE created_at < $1", [cutoff]);
      return result.rowCount ?? 0;
    });
  }

  async accessCodeGeneration(applicationId: string): Promise<number> {
    if (!storable(applicationId)) return 0;
    const { rows } = await this._query<{ generation: number }>("read an access-code generation", "SELECT generation FROM access_code_generations WHERE application_id = $1", [applicationId]);
    return rows[0]?.generation ?? 0;
  }

  /** One statement, so revocations from any number of replicas each get their own generation. */
  nextAccessCodeGeneration(applicationId: string): Promise<number> {
    return this._write(async () => {
      if (!storable(applicationId)) throw new PostgresStoreError("BATCH_REFUSED", "access-code revocation refused: the application id is not a storable string");
      const result = await this._durable(
        "store access-code generation",
        `INSERT INTO access_code_generations (application_id, generation) VALUES ($1, 1)
         ON CONFLICT (application_id) DO UPDATE SET generation = access_code_generations.generation + 1
         RETURNING generation`,
        [applicationId],
      );
      return (result.rows[0] as { generation: number }).generation;
    });
  }

  /**
   * Tokens are read from the database on every call, not cached: another
   * replica may revoke one, and a revocation must take effect everywhere.
   */
  putToken(token: TokenRecord): Promise<void> {
    return this._write(async () => {
      if (!storable(token.hash)) throw new PostgresStoreError("BATCH_REFUSED", "store token refused: its hash is not a storable string");
      await this._durable(
        "store token",
        "INSERT INTO tokens (hash, record) VALUES ($1, $2::json) ON CONFLICT (hash) DO UPDATE SET record = EXCLUDED.record",
        [token.hash, jsonText(token)],
      );
    });
  }

  /**
   * One statement: the claim row in log_meta is unique, so of replicas racing
   * on an empty database one inserts it and the others wait for its commit
   * and insert nothing; the token goes in with the claim, unless a token exists.
   */
  putFirstToken(token: TokenRecord): Promise<boolean> {
    return this._write(async () => {
      if (!storable(token.hash)) throw new PostgresStoreError("BATCH_REFUSED", "store token refused: its hash is not a storable string");
      const result = await this._durable(
        "store the first token",
        `WITH claim AS (INSERT INTO log_meta (name, value) VALUES ('first-admin-token', $3) ON CONFLICT (name) DO NOTHING RETURNING 1)
         INSERT INTO tokens (hash, record) SELECT $1, $2::json FROM claim WHERE NOT EXISTS (SELECT 1 FROM tokens)`,
        [token.hash, jsonText(token), token.id],
      );
      return result.rowCount === 1;
    });
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    if (!storable(hash)) return undefined;
    const { rows } = await this._query<{ record: TokenRecord }>("read a token", "SELECT record FROM tokens WHERE hash = $1", [hash]);
    return rows[0]?.record;
  }

  /** Every token, ordered by hash. */
  async tokens(): Promise<TokenRecord[]> {
    const { rows } = await this._query<{ record: TokenRecord }>("list tokens", "SELECT record FROM tokens ORDER BY hash");
    return rows.map((r) => r.record);
  }

  /**
   * Inserts each value unless one is recorded (so the first replica to start
   * records them, and concurrent first starts agree on one), then reads back
   * what is recorded. Durable once it resolves.
   */
  recordKeys(mine: KeyIdentity): Promise<KeyIdentity> {
    return this._write(async () => {
      if (!storable(mine.logKey) || !storable(mine.accessCodeFingerprint)) throw new PostgresStoreError("BATCH_REFUSED", "record keys refused: a value is not a storable string");
      await this._durable(
        "record the log's keys",
        "INSERT INTO log_meta (name, value) VALUES ('log-key', $1), ('access-code-fingerprint', $2) ON CONFLICT (name) DO NOTHING",
        [mine.logKey, mine.accessCodeFingerprint],
      );
      // Read after the insert committed: a concurrent first start's values, if it won, are visible now.
      const { rows } = await this._query<{ name: string; value: string }>(
        "read the log's keys",
        "SELECT name, value FROM log_meta WHERE name IN ('log-key', 'access-code-fingerprint')",
      );
      const value = (name: string): string => {
        const v = rows.find((r) => r.name === name)?.value;
        if (v === undefined) throw new PostgresStoreError("QUERY_FAILED", `the ${this.where} lost its recorded ${name}`);
        return v;
      };
      return { logKey: value("log-key"), accessCodeFingerprint: value("access-code-fingerprint") };
    });
  }

  /**
   * One statement on the database's clock, atomic however many replicas hit
   * the same key. The table is UNLOGGED (counters need no durability), so
   * this waits for no WAL flush. Every {@link RATE_EXPIRY_EVERY} hits, ended
   * windows are deleted in the background.
   */
  async hit(limiter: string, key: string, windowMs: number): Promise<RateWindow> {
    checkRateArgs(limiter, key, windowMs);
    if (++this._hitsSinceExpiry >= RATE_EXPIRY_EVERY) {
      this._hitsSinceExpiry = 0;
      void this.expireRates().catch(() => {});
    }
    const { rows } = await this._query<{ hits: number; expires_at: string }>("count a rate-limit hit", RATE_HIT, [limiter, key, windowMs]);
    return { hits: rows[0]!.hits, resetAt: Number(rows[0]!.expires_at) };
  }

  async peek(limiter: string, key: string, windowMs: number): Promise<RateWindow | undefined> {
    checkRateArgs(limiter, key, windowMs);
    const { rows } = await this._query<{ hits: number; expires_at: string }>(
      "read a rate-limit window",
      `SELECT hits, expires_at FROM rate_limits WHERE limiter = $1 AND key = $2 AND window_start = ${RATE_WINDOW_START}`,
      [limiter, key, windowMs],
    );
    return rows[0] === undefined || rows[0].hits === 0 ? undefined : { hits: rows[0].hits, resetAt: Number(rows[0].expires_at) };
  }

  async unhit(limiter: string, key: string, windowMs: number): Promise<void> {
    checkRateArgs(limiter, key, windowMs);
    await this._query(
      "take back a rate-limit hit",
      `UPDATE rate_limits SET hits = hits - 1 WHERE limiter = $1 AND key = $2 AND window_start = ${RATE_WINDOW_START} AND hits > 0`,
      [limiter, key, windowMs],
    );
  }

  async resetRate(limiter: string, key: string): Promise<void> {
    checkRateArgs(limiter, key, 1);
    await this._query("reset a rate limit", "DELETE FROM rate_limits WHERE limiter = $1 AND key = $2", [limiter, key]);
  }

  /** Deletes ended rate-limit windows; returns how many. */
  async expireRates(): Promise<number> {
    const result = await this._query("expire rate-limit windows", `DELETE FROM rate_limits WHERE expires_at <= ${DB_NOW_MS}`);
    return result.rowCount ?? 0;
  }

  /** Waits for writes under way, then closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    await Promise.allSettled([...this._pending]);
    await this._pool.end().catch(() => {});
    await this._lockHolder?.end().catch(() => {});
  }

  private _assertOpen(): void {
    if (this._closed) throw new PostgresStoreError("DATABASE_UNREACHABLE", `the store on the ${this.where} is closed`);
  }

  /** Runs a write, tracked for close(); a closed store rejects (never throws synchronously). */
  private _write<T>(fn: () => Promise<T>): Promise<T> {
    const run = this._closed ? Promise.reject(new PostgresStoreError("DATABASE_UNREACHABLE", `the store on the ${this.where} is closed`)) : fn();
    this._pending.add(run);
    void run.catch(() => {}).finally(() => this._pending.delete(run));
    return run;
  }

  private async _connect(what: string): Promise<pg.PoolClient> {
    this._assertOpen();
    try {
      const client = await this._pool.connect();
      // A checked-out client whose connection breaks emits 'error' besides failing its query; unhandled, that
      // event would end the process. The failing query reports the outage.
      if (!this._guarded.has(client)) {
        client.on("error", () => {});
        this._guarded.add(client);
      }
      return client;
    } catch (cause) {
      throw storeError(what, cause);
    }
  }

  private async _query<R extends pg.QueryResultRow>(what: string, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    this._assertOpen();
    try {
      return await this._pool.query<R>({ name: statementName(text), text, values });
    } catch (cause) {
      throw storeError(what, cause);
    }
  }

  /** One statement in its own transaction with synchronous_commit on: durable once it resolves. */
  private async _durable(what: string, text: string, values: unknown[]): Promise<pg.QueryResult> {
    const client = await this._connect(what);
    let inTransaction = true; // see commit
    try {
      await client.query("BEGIN; SET LOCAL synchronous_commit = on");
      const result = await client.query(text, values);
      await commitConfirmed(client);
      inTransaction = false;
      client.release();
      return result;
    } catch (cause) {
      const unreachable = isUnreachable(cause);
      if (inTransaction && !unreachable) await client.query("ROLLBACK").catch(() => {});
      client.release(unreachable ? true : undefined);
      throw storeError(what, cause);
    }
  }
}

/**
 * Every statement is prepared once per connection, by a name given to its
 * text: planning costs more than running the small indexed reads a proof
 * makes. Only fixed texts get here (values are always parameters), so the
 * map stays as small as the module's list of statements.
 */
const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `ledger_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

/** The sequencing turn's advisory lock: two int4 keys, "Ledg" and 2 (apart from the exclusive lock's bigint key). */
const TURN_LOCK = "1281713255, 2";
/** Whether another session waits for the turn (pg_locks shows the two-key form as objsubid 2). */
const TURN_WAITERS = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = 1281713255::bigint::oid AND objid = 2::oid AND objsubid = 2) AS waiting`;
/** Longest wait for the sequencing turn before sequencing without it (ms). */
export const TURN_WAIT_MS = 2000;

/** A held sequencing turn (see {@link PostgresStore.turn}). */
export interface SequencingTurn {
  /** Whether another process is waiting for the turn. */
  othersWaiting(): Promise<boolean>;
  /** Gives the turn up; idempotent. */
  release(): Promise<void>;
}

/** Rate-limit hits between two background deletions of ended windows. */
const RATE_EXPIRY_EVERY = 1000;
/** The database's clock in milliseconds: one clock for every replica. */
const DB_NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
/** The start of the current window of $3 milliseconds. */
const RATE_WINDOW_START = `(floor(extract(epoch FROM clock_timestamp()) * 1000 / $3::bigint) * $3::bigint)::bigint`;
const RATE_HIT = `
WITH w AS (SELECT ${RATE_WINDOW_START} AS start)
INSERT INTO rate_limits (limiter, key, window_start, hits, expires_at)
SELECT $1, $2, w.start, 1, w.start + $3::bigint FROM w
ON CONFLICT (limiter, key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
RETURNING hits, expires_at`;

function checkRateArgs(limiter: string, key: string, windowMs: number): void {
  if (!storable(limiter) || !storable(key)) throw new PostgresStoreError("BATCH_REFUSED", "rate limit: the limiter or key is not a storable string");
  if (!(Number.isSafeInteger(windowMs) && windowMs >= 1)) throw new PostgresStoreError("BATCH_REFUSED", `rate limit: window ${String(windowMs)} ms is not a positive integer`);
}

const STATE_DOC = "SELECT doc FROM state_docs WHERE key = $1";
const IDEMPOTENCY_RECORD = "SELECT record FROM idempotency WHERE scoped_key = $1";

/** State and idempotency reads inside a sequencing transaction: they see exactly the locked head's state. */
function transactionReads(client: pg.PoolClient): LockedReads {
  return {
    async state(key) {
      if (!storable(key)) return undefined;
      const { rows } = await client.query<{ doc: StateDoc }>({ name: statementName(STATE_DOC), text: STATE_DOC, values: [key] });
      return rows[0]?.doc;
    },
    async idempotency(scopedKey) {
      if (typeof scopedKey !== "string" || LONE_SURROGATE.test(scopedKey)) return undefined;
      const { rows } = await client.query<{ record: IdempotencyRecord }>({
        name: statementName(IDEMPOTENCY_RECORD),
        text: IDEMPOTENCY_RECORD,
        values: [Buffer.from(utf8.encode(scopedKey))],
      });
      return rows[0]?.record;
    },
  };
}

function erasuresOf(batch: CommitBatch): string[] {
  const erasures = [...(batch.erasures ?? [])];
  if (!erasures.every(storable)) refuse("an erased entry id cannot be stored");
  return erasures;
}

interface LeafRow {
  idx: string;
  entry_id: string;
  bytes: Buffer;
  recorded_at: string;
}

const leafOf = (r: LeafRow): StoredLeaf => ({ index: Number(r.idx), id: r.entry_id, bytes: bytes(r.bytes), recordedAt: r.recorded_at });

function jsonText(value: unknown): string {
  const s = JSON.stringify(value);
  if (typeof s !== "string") throw new TypeError("value is not JSON-serialisable");
  return s;
}

const refuse = (why: string, cause?: unknown): never => {
  throw new PostgresStoreError("BATCH_REFUSED", `batch refused, nothing stored: ${why}`, cause === undefined ? undefined : { cause });
};

/**
 * Checks, under the lock, that `batch` extends exactly the stored head: its
 * first leaf is the next index, its leaves are contiguous, and its head's
 * size follows. A batch without leaves must carry the stored head unchanged.
 * A batch that starts anywhere but the stored size was built on another head:
 * {@link StoreHeadMovedError}.
 */
function checkExtends(stored: TreeHead, batch: CommitBatch): void {
  const start = batch.leaves.length > 0 ? batch.leaves[0]!.index : batch.head.size;
  if (start !== stored.size) throw new StoreHeadMovedError(stored.size, start);
  if (batch.leaves.length === 0 && !sameHashes(batch.head.compact, stored.compact))
    refuse("a batch without leaves must keep the stored head, but its compact range differs");
}

function sameHashes(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((h, i) => Buffer.compare(Buffer.from(h), Buffer.from(b[i]!)) === 0);
}

/** The parameters of INSERT_BATCH; refuses (BATCH_REFUSED) a batch that is malformed in itself. */
function encodeBatch(batch: CommitBatch): unknown[] {
  const { head, leaves } = batch;
  if (!isIndex(head.size)) refuse(`head size ${String(head.size)} is not a non-negative safe integer`);
  const want = planRoot(head.size).length;
  if (head.compact.length !== want) refuse(`a head of size ${head.size} has ${want} compact hashes, got ${head.compact.length}`);
  if (head.compact.some((h) => !(h instanceof Uint8Array) || h.length !== HASH_SIZE)) refuse("compact range hashes must be 32 bytes");
  const first = leaves.length > 0 ? leaves[0]!.index : head.size;
  leaves.forEach((leaf, i) => {
    if (leaf.index !== first + i) refuse(`leaf ${i} of the batch has index ${leaf.index}, expected ${first + i}`);
  });
  if (head.size !== first + leaves.length) refuse(`head size ${head.size} is not the first index ${first} plus ${leaves.length} leaves`);

  // One array per column, in INSERT_BATCH's parameter order ($1 … $17).
  const col = (): unknown[] => [];
  const [li, lid, lb, lt, nl, ni, nh, xn, xv, xl, oi, oj, sk, sd, dk, dr, dt] = [col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col(), col()] as const;
  const cols = [li, lid, lb, lt, nl, ni, nh, xn, xv, xl, oi, oj, sk, sd, dk, dr, dt];
  try {
    for (const leaf of leaves) {
      if (!storable(leaf.id) || !storable(leaf.recordedAt)) refuse(`leaf ${leaf.index} has an id or time that cannot be stored`);
      li.push(leaf.index);
      lid.push(leaf.id);
      lb.push(Buffer.from(leaf.bytes));
      lt.push(leaf.recordedAt);
      for (const n of leaf.nodes) {
        if (n.hash.length !== HASH_SIZE || !isIndex(n.id.index) || !(Number.isInteger(n.id.level) && n.id.level >= 0 && n.id.level <= 63))
          refuse(`node ${n.id.level}/${n.id.index} is malformed`);
        nl.push(n.id.level);
        ni.push(n.id.index);
        nh.push(Buffer.from(n.hash));
      }
      for (const ref of leaf.indexes) {
        if (!storable(ref.name) || !storable(ref.value)) refuse(`leaf ${leaf.index} has an index name or value that cannot be stored`);
        xn.push(ref.name);
        xv.push(ref.value);
        xl.push(leaf.index);
      }
      if (leaf.openings) {
        oi.push(leaf.id);
        oj.push(jsonText(leaf.openings));
      }
    }
    for (const [k, doc] of batch.state) {
      if (!storable(k)) refuse("a state key cannot be stored");
      sk.push(k);
      sd.push(jsonText(doc));
    }
    for (const [k, rec] of batch.idempotency) {
      // The key is stored as UTF-8 bytes (it holds NUL by design); a lone surrogate would encode as U+FFFD and collide.
      if (LONE_SURROGATE.test(k) || !storable(rec.createdAt)) refuse("an idempotency key or createdAt cannot be stored");
      dk.push(Buffer.from(utf8.encode(k)));
      dr.push(jsonText(rec));
      dt.push(rec.createdAt);
    }
  } catch (cause) {
    if (cause instanceof PostgresStoreError) throw cause;
    refuse(`cannot encode it: ${messageOf(cause)}`, cause);
  }
  return [...cols, head.size, concatHashes(head.compact)];
}
