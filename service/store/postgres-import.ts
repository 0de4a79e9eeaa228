/**
 * A whole ledger written into an empty PostgreSQL database, for moving a
 * LevelDB ledger there (`npm run admin -- migrate`, ./migrate.ts).
 *
 * One transaction, from the check that the database holds no ledger to the
 * last row: either the whole copy is committed or nothing is, so a failed or
 * interrupted migration leaves the target as empty as it found it and can
 * simply be run again. The rows are those the store's own commits write
 * (./postgres-schema.ts), inserted from arrays a few thousand at a time.
 *
 * While it runs it holds the service's advisory lock (so a service opened
 * `exclusive` is refused, and one already running refuses the import) and
 * every table it writes in EXCLUSIVE mode, so no other writer can add rows
 * that the emptiness check did not see.
 */
import pg from "pg";
import type { CreatedNode } from "../log";
import type { Openings } from "../records/entry";
import type { IndexRef } from "../records/rules";
import type { StateDoc, StateKey } from "../records/state";
import { migrate, SERVICE_LOCK_KEY } from "./postgres-schema";
import { commitConfirmed } from "./postgres-sync-commit";
import { describeDatabaseUrl, PostgresStoreError, storable, storeError } from "./postgres";
import { StoreLockedError, type IdempotencyRecord, type StoredLeaf, type TokenRecord, type TreeHead } from "./store";

/** The tables a ledger's rows live in (schema versions 1 and 2), in the order the import fills them. */
export const LEDGER_TABLES = ["leaves", "nodes", "entry_index", "state_docs", "openings", "idempotency", "tokens", "access_code_generations"] as const;
export type LedgerTable = (typeof LEDGER_TABLES)[number];

/** The target already holds a ledger (or part of one); nothing was written. */
export class TargetNotEmptyError extends PostgresStoreError {
  constructor(
    readonly where: string,
    readonly rows: Readonly<Partial<Record<LedgerTable, number>>>,
    readonly size: number,
  ) {
    const held = Object.entries(rows)
      .filter(([, n]) => n !== undefined && n > 0)
      .map(([t, n]) => `${n} ${t}`)
      .join(", ");
    super("BATCH_REFUSED", `the ${where} is not empty (log size ${size}; rows: ${held || "none"}): migrate only into a database that holds no ledger, nothing was written`);
  }
}

const utf8 = new TextEncoder();

function jsonText(value: unknown, what: string): string {
  const s = JSON.stringify(value);
  if (typeof s !== "string") throw new PostgresStoreError("BATCH_REFUSED", `${what} is not JSON`);
  return s;
}

function text(s: string, what: string): string {
  if (!storable(s)) throw new PostgresStoreError("BATCH_REFUSED", `${what} ${JSON.stringify(s)} cannot be stored in PostgreSQL text (NUL or a lone surrogate)`);
  return s;
}

/** A leaf as the import writes it: the stored leaf and the tree nodes its append completed. */
export interface ImportedLeaf extends StoredLeaf {
  readonly nodes: readonly CreatedNode[];
}

export class PostgresImport {
  private _done = false;

  private constructor(
    private readonly _client: pg.Client,
    /** Where the target is, for messages (no credentials). */
    readonly where: string,
  ) {}

  /**
   * Connects, checks the database holds no ledger, applies the schema's
   * migrations, and opens the import's transaction. Rejects with
   * {@link TargetNotEmptyError} (having written nothing) for a database
   * holding any ledger row, {@link StoreLockedError} when a service holds
   * the database, and PostgresStoreError DATABASE_UNREACHABLE when it
   * cannot be reached.
   */
  static async begin(url: string, options: { connectTimeoutMs?: number } = {}): Promise<PostgresImport> {
    const where = describeDatabaseUrl(url);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000, application_name: "subsidy-ledger migrate" });
    client.on("error", () => {}); // a lost connection fails the next query, which reports it
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS locked", [SERVICE_LOCK_KEY]);
      if (rows[0]?.locked !== true) throw new StoreLockedError(`the ${where} is open in a running ledger service: stop it before migrating into it`);
      // Before the schema is created or upgraded, so a database that holds a ledger is refused untouched.
      await checkEmpty(client, where);
      await migrate(client);
      await client.query("BEGIN; SET LOCAL synchronous_commit = on");
      await client.query(`LOCK TABLE log_head, ${LEDGER_TABLES.join(", ")} IN EXCLUSIVE MODE`);
      await checkEmpty(client, where);
      return new PostgresImport(client, where);
    } catch (cause) {
      await client.end().catch(() => {});
      if (cause instanceof StoreLockedError || cause instanceof PostgresStoreError) throw cause;
      throw storeError(`migrating into the ${where}`, cause);
    }
  }

  /** Leaves in index order, continuing the ones before, with their nodes; `head` is the tree after them. */
  async leaves(leaves: readonly ImportedLeaf[], head: TreeHead): Promise<void> {
    const [li, lid, lb, lt, nl, ni, nh]: unknown[][] = [[], [], [], [], [], [], []];
    for (const leaf of leaves) {
      li!.push(leaf.index);
      lid!.push(text(leaf.id, "an entry id"));
      lb!.push(Buffer.from(leaf.bytes));
      lt!.push(text(leaf.recordedAt, "a recordedAt"));
      for (const n of leaf.nodes) {
        nl!.push(n.id.level);
        ni!.push(n.id.index);
        nh!.push(Buffer.from(n.hash));
      }
    }
    await this._run(
      "copy leaves",
      `WITH
         l AS (INSERT INTO leaves (idx, entry_id, bytes, recorded_at) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::text[])),
         n AS (INSERT INTO nodes (level, idx, hash) SELECT * FROM unnest($5::smallint[], $6::bigint[], $7::bytea[]))
       UPDATE log_head SET size = $8, compact = $9`,
      [li, lid, lb, lt, nl, ni, nh, head.size, Buffer.concat(head.compact.map((h) => Buffer.from(h)))],
    );
  }

  async indexEntries(entries: readonly { readonly ref: IndexRef; readonly leaf: number }[]): Promise<void> {
    await this._run("copy entry indexes", "INSERT INTO entry_index (name, value, leaf) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])", [
      entries.map((e) => text(e.ref.name, "an index name")),
      entries.map((e) => text(e.ref.value, "an index value")),
      entries.map((e) => e.leaf),
    ]);
  }

  async stateDocs(docs: readonly (readonly [StateKey, StateDoc])[]): Promise<void> {
    await this._run("copy derived state", "INSERT INTO state_docs (key, doc) SELECT * FROM unnest($1::text[], $2::json[])", [
      docs.map(([k]) => text(k, "a state key")),
      docs.map(([, d]) => jsonText(d, "a state doc")),
    ]);
  }

  async openings(openings: readonly (readonly [string, Openings])[]): Promise<void> {
    await this._run("copy openings", "INSERT INTO openings (entry_id, openings) SELECT * FROM unnest($1::text[], $2::json[])", [
      openings.map(([id]) => text(id, "an entry id")),
      openings.map(([, o]) => jsonText(o, "openings")),
    ]);
  }

  /** By scoped key (stored as its UTF-8 bytes, as the store keeps it: it holds NUL by design). */
  async idempotencyRecords(records: readonly (readonly [string, IdempotencyRecord])[]): Promise<void> {
    await this._run("copy idempotency records", "INSERT INTO idempotency (scoped_key, record, created_at) SELECT * FROM unnest($1::bytea[], $2::json[], $3::text[])", [
      records.map(([k]) => Buffer.from(utf8.encode(k))),
      records.map(([, r]) => jsonText(r, "an idempotency record")),
      records.map(([, r]) => text(r.createdAt, "a createdAt")),
    ]);
  }

  async tokens(tokens: readonly TokenRecord[]): Promise<void> {
    await this._run("copy tokens", "INSERT INTO tokens (hash, record) SELECT * FROM unnest($1::text[], $2::json[])", [
      tokens.map((t) => text(t.hash, "a token hash")),
      tokens.map((t) => jsonText(t, "a token")),
    ]);
  }

  async accessCodeGenerations(generations: readonly (readonly [string, number])[]): Promise<void> {
    await this._run("copy access-code generations", "INSERT INTO access_code_generations (application_id, generation) SELECT * FROM unnest($1::text[], $2::integer[])", [
      generations.map(([id]) => text(id, "an application id")),
      generations.map(([, g]) => g),
    ]);
  }

  /**
   * The anchorer's record for one contract (service/chain/postgres-state.ts's
   * row: key and validated JSON, opaque here), so the replicas' leader
   * resumes from the anchored checkpoint and in-flight transactions the
   * LevelDB service left, exactly as a restart would. Epoch 0 precedes every
   * leader's term.
   */
  async anchorState(row: { readonly contract: string; readonly state: unknown }): Promise<void> {
    await this._run("copy the anchoring state", "INSERT INTO anchor_state (contract, epoch, state) VALUES ($1, 0, $2::json)", [
      text(row.contract, "a contract key"),
      jsonText(row.state, "the anchoring state"),
    ]);
  }

  /** The head and the row count of each table as this transaction sees them, for checking the copy before committing it. */
  async written(): Promise<{ head: TreeHead; rows: Record<LedgerTable, number> }> {
    const { rows } = await this._run("read back the copy", `SELECT size, compact, ${LEDGER_TABLES.map((t) => `(SELECT count(*) FROM ${t})::bigint AS ${t}`).join(", ")} FROM log_head`, []);
    const row = rows[0] as Record<string, unknown> & { size: string; compact: Buffer };
    const compact: Uint8Array[] = [];
    for (let at = 0; at < row.compact.length; at += 32) compact.push(new Uint8Array(row.compact.subarray(at, at + 32)));
    const counts = Object.fromEntries(LEDGER_TABLES.map((t) => [t, Number(row[t])])) as Record<LedgerTable, number>;
    return { head: { size: Number(row.size), compact }, rows: counts };
  }

  /** Commits the copy: durable once this resolves (synchronous_commit on, so held by a synchronous standby too). */
  async commit(): Promise<void> {
    if (this._done) throw new PostgresStoreError("BATCH_REFUSED", "commit the copy: the import is finished");
    try {
      await commitConfirmed(this._client);
    } catch (cause) {
      throw storeError(`commit the copy into the ${this.where}`, cause);
    }
    this._done = true;
  }

  /** Rolls the copy back (nothing stays written) and disconnects; also what close() does before a commit. */
  async close(): Promise<void> {
    if (!this._done) await this._client.query("ROLLBACK").catch(() => {});
    this._done = true;
    await this._client.end().catch(() => {});
  }

  private async _run(what: string, sql: string, values: unknown[]): Promise<pg.QueryResult> {
    if (this._done) throw new PostgresStoreError("BATCH_REFUSED", `${what}: the import is finished`);
    try {
      return await this._client.query(sql, values);
    } catch (cause) {
      throw storeError(`${what} into the ${this.where}`, cause);
    }
  }
}

/** Throws TargetNotEmptyError unless the database has no ledger schema yet, or one without a single row. */
async function checkEmpty(client: pg.Client, where: string): Promise<void> {
  const { rows: present } = await client.query<{ ok: boolean }>("SELECT to_regclass('log_head') IS NOT NULL AS ok");
  if (present[0]?.ok !== true) return;
  const tables = await client.query<{ name: string }>("SELECT c.relname AS name FROM pg_class c WHERE c.relname = ANY($1::text[]) AND c.relkind = 'r' AND pg_table_is_visible(c.oid)", [
    [...LEDGER_TABLES],
  ]);
  const existing = LEDGER_TABLES.filter((t) => tables.rows.some((r) => r.name === t));
  const { rows } = await client.query<Record<string, string | null>>(
    `SELECT (SELECT max(size) FROM log_head)::bigint AS size${existing.map((t) => `, (SELECT count(*) FROM ${t})::bigint AS ${t}`).join("")}`,
  );
  const row = rows[0] ?? {};
  const counts: Partial<Record<LedgerTable, number>> = {};
  for (const t of existing) counts[t] = Number(row[t] ?? 0);
  const size = Number(row.size ?? 0);
  if (size > 0 || Object.values(counts).some((n) => n > 0)) throw new TargetNotEmptyError(where, counts, size);
}
