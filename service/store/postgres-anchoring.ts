/**
 * The leader's shared records on PostgreSQL (migration 4), one row per
 * contract: the anchorer's state (`anchor_state`) and the checkpoint a
 * witness quorum cosigned (`published_checkpoint`). Each save runs in one
 * transaction that first checks, under a share lock on the lease row
 * ({@link assertEpochIn}), that the saving term is still current, and
 * stores the term's epoch with the record; a save of a term that is over
 * stores nothing and rejects with LeaseError FENCED.
 *
 * The records are stored and returned as JSON values: what they mean, and
 * their validation, belong to service/chain (the anchor state) and
 * service/leader (the published checkpoint).
 *
 * Durable on resolve when the pool commits with `synchronous_commit = on`
 * ({@link leasePool}).
 */
import type pg from "pg";
import { assertEpochIn, type LeaseTerm } from "./postgres-lease";

/** The contract a record belongs to. */
export interface ContractRef {
  readonly chainId: number;
  readonly address: string;
}

/** The row key of a contract's records: chain id and lowercase address. */
export function contractKey(contract: ContractRef): string {
  return `${contract.chainId}:${contract.address.toLowerCase()}`;
}

/** The stored anchor state of `contract` (unvalidated JSON) and the epoch of the term that wrote it; undefined when none was ever saved. */
export async function readAnchorStateRow(
  db: pg.Pool | pg.ClientBase,
  contract: ContractRef,
): Promise<{ readonly state: unknown; readonly epoch: number } | undefined> {
  const { rows } = await db.query<{ state: unknown; epoch: string }>("SELECT state, epoch FROM anchor_state WHERE contract = $1", [contractKey(contract)]);
  const row = rows[0];
  return row === undefined ? undefined : { state: row.state, epoch: Number(row.epoch) };
}

/** Saves `state` (JSON text) as `contract`'s anchor state for `term`, fenced by the lease; see the module comment. */
export async function saveAnchorStateRow(pool: pg.Pool, contract: ContractRef, term: LeaseTerm, stateJson: string): Promise<void> {
  await fencedWrite(
    pool,
    term,
    `INSERT INTO anchor_state (contract, epoch, state, saved_at) VALUES ($1, $2, $3::json, clock_timestamp())
     ON CONFLICT (contract) DO UPDATE SET epoch = EXCLUDED.epoch, state = EXCLUDED.state, saved_at = EXCLUDED.saved_at`,
    [contractKey(contract), term.epoch, stateJson],
  );
}

/** The published checkpoint the leader saved for `contract` (unvalidated JSON), or undefined when none was. */
export async function readPublishedRow(db: pg.Pool | pg.ClientBase, contract: ContractRef): Promise<unknown> {
  const { rows } = await db.query<{ point: unknown }>("SELECT point FROM published_checkpoint WHERE contract = $1", [contractKey(contract)]);
  return rows[0]?.point;
}

/** Saves `point` (JSON text) as `contract`'s published checkpoint for `term`, fenced by the lease; see the module comment. */
export async function savePublishedRow(pool: pg.Pool, contract: ContractRef, term: LeaseTerm, pointJson: string): Promise<void> {
  await fencedWrite(
    pool,
    term,
    `INSERT INTO published_checkpoint (contract, epoch, point, saved_at) VALUES ($1, $2, $3::json, clock_timestamp())
     ON CONFLICT (contract) DO UPDATE SET epoch = EXCLUDED.epoch, point = EXCLUDED.point, saved_at = EXCLUDED.saved_at`,
    [contractKey(contract), term.epoch, pointJson],
  );
}

/**
 * Runs one write in a transaction that first checks, under a lock on the
 * lease row, that `term` still holds the lease; a deposed leader's write
 * fails and changes nothing. On any error the connection is rolled back and
 * discarded rather than returned to the pool in an unknown state.
 */
async function fencedWrite(pool: pg.Pool, term: LeaseTerm, sql: string, params: unknown[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await assertEpochIn(client, term.holder, term.epoch);
    await client.query(sql, params);
    await client.query("COMMIT");
    client.release();
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    client.release(true);
    throw e;
  }
}
