/**
 * The leader lease's table on PostgreSQL: one row (`leader_lease`,
 * migration 4) naming the replica that leads, its fencing epoch, and when
 * its lease ends. The statements only; the leadership loop that uses them
 * is service/leader.
 *
 * Guarantees:
 * - At most one holder at a time: taking the lease is one UPDATE that
 *   succeeds only on an expired (or released) lease, and every take adds one
 *   to `epoch`, so an epoch names exactly one term of one replica.
 * - Expiry is judged by the database's clock alone; the replicas' clocks
 *   need not agree.
 * - A term ends only by expiry or release, never silently: {@link renewLease}
 *   extends only the caller's own term (holder and epoch both match), so a
 *   replica that was overtaken learns it at its next renewal.
 * - Fencing: writes that must come from the current leader lock the row
 *   `FOR SHARE` in their own transaction and check the epoch
 *   ({@link assertEpochIn}); a takeover's UPDATE waits for them, and they
 *   wait for it and then see the new epoch. So no write of an old term
 *   commits after a newer term has begun.
 *
 * Every statement runs with `synchronous_commit = on` (set on the pool the
 * caller passes, see {@link leasePool}): a term acknowledged here survives
 * a crash of the server.
 */
import pg from "pg";
import { CodedError } from "../log";

/** The lease as the database holds it. */
export interface LeaseRow {
  /** The replica holding (or last holding) the lease; null before anyone ever led. */
  readonly holder: string | null;
  readonly epoch: number;
  /** Whether the lease is still running by the database's clock. */
  readonly live: boolean;
}

/** One term of one replica: the lease holder and the epoch its take gave it. */
export interface LeaseTerm {
  readonly holder: string;
  readonly epoch: number;
}

export type LeaseErrorCode =
  /** This replica's term is over: another replica took the lease, or it was released. */
  | "FENCED";

/** A write of a term that is no longer current; nothing was stored. */
export class LeaseError extends CodedError<LeaseErrorCode> {
  override readonly name = "LeaseError";
}

/** A pool for lease and anchor-state statements: small, durable commits whatever the server's default. */
export function leasePool(url: string, max = 3): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5000,
    application_name: "subsidy-ledger leader",
    keepAlive: true,
    options: "-c synchronous_commit=on",
  });
  // An idle connection the server drops emits 'error' on the pool; the next query reports the outage.
  pool.on("error", () => {});
  return pool;
}

/** Takes the lease for `holder` for `durationMs` if it has expired or was released; the new term's epoch, or null when another replica holds it. */
export async function takeLease(pool: pg.Pool, holder: string, durationMs: number): Promise<number | null> {
  const { rows } = await pool.query<{ epoch: string }>(
    `UPDATE leader_lease SET holder = $1, epoch = epoch + 1, expires_at = clock_timestamp() + $2 * interval '1 millisecond'
     WHERE expires_at <= clock_timestamp() RETURNING epoch`,
    [holder, durationMs],
  );
  return rows[0] === undefined ? null : Number(rows[0].epoch);
}

/** Extends `term` by `durationMs` from now; false when that term is over (taken over or released). */
export async function renewLease(pool: pg.Pool, term: LeaseTerm, durationMs: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE leader_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond' WHERE holder = $1 AND epoch = $2`,
    [term.holder, term.epoch, durationMs],
  );
  return rowCount === 1;
}

/** Ends `term` at once, so another replica can take over without waiting for the expiry. Does nothing for a term already over. */
export async function releaseLease(pool: pg.Pool, term: LeaseTerm): Promise<void> {
  await pool.query(`UPDATE leader_lease SET expires_at = '-infinity' WHERE holder = $1 AND epoch = $2`, [term.holder, term.epoch]);
}

/** The lease as it is now. */
export async function readLease(db: pg.Pool | pg.ClientBase): Promise<LeaseRow> {
  const { rows } = await db.query<{ holder: string | null; epoch: string; live: boolean }>(
    "SELECT holder, epoch, expires_at > clock_timestamp() AS live FROM leader_lease",
  );
  const row = rows[0];
  if (row === undefined) throw new Error("the leader_lease row is missing: the schema is damaged");
  return { holder: row.holder, epoch: Number(row.epoch), live: row.live };
}

/**
 * Inside the caller's transaction: locks the lease row `FOR SHARE` and
 * throws {@link LeaseError} FENCED unless `holder` still holds term `epoch`.
 * The lock lasts until the transaction ends, so the term cannot change
 * before the caller's writes commit.
 */
export async function assertEpochIn(tx: pg.ClientBase, holder: string, epoch: number): Promise<void> {
  const { rows } = await tx.query<{ holder: string | null; epoch: string }>("SELECT holder, epoch FROM leader_lease FOR SHARE");
  const row = rows[0];
  if (row === undefined || row.holder !== holder || Number(row.epoch) !== epoch)
    throw new LeaseError(
      "FENCED",
      `leadership lost: term ${epoch} of ${holder} is over (the lease is at term ${row?.epoch ?? "?"} of ${row?.holder ?? "nobody"}); nothing was written`,
    );
}

/** Rejects with {@link LeaseError} FENCED unless `term` is still current, checked on a connection of its own. */
export async function assertTermCurrent(pool: pg.Pool, term: LeaseTerm): Promise<void> {
  const client = await pool.connect();
  try {
    await assertEpochIn(client, term.holder, term.epoch);
    client.release();
  } catch (e) {
    client.release(true);
    throw e;
  }
}
