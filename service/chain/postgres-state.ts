/**
 * The anchor state in PostgreSQL (the `anchor_state` table, migration 4),
 * for replicas sharing one database: the same {@link AnchorStateStore}
 * contract as the file (./state.ts), one row per contract, plus fencing.
 *
 * - {@link FencedAnchorStateStore} is the leader's: every `save` runs in one
 *   transaction that first checks, under a share lock on the lease row, that
 *   this replica's term is still current (service/leader/lease.ts), and
 *   stores the term's epoch with the record. A save after another replica
 *   has taken over is refused with LeaseError FENCED and stores nothing;
 *   since the sender saves every transaction before broadcasting it, and
 *   recovery checks `assertWritable` before resending one already recorded,
 *   a replica that has lost the lease sends nothing more.
 * - {@link readSharedAnchorState} is what every replica reads, to publish
 *   the same anchored checkpoint the leader recorded.
 *
 * Durable on resolve: the pool commits with `synchronous_commit = on`
 * (leasePool).
 */
import type pg from "pg";
import { assertEpochIn, LeaseError } from "../leader/lease";
import { AnchorStateError, parseAnchorState, type AnchorState, type AnchorStateStore } from "./state";

/** The row key of a contract's record: chain id and lowercase address. */
export function contractKey(contract: AnchorState["contract"]): string {
  return `${contract.chainId}:${contract.address.toLowerCase()}`;
}

/** The stored record for `contract` and the epoch of the term that wrote it; undefined when none was ever saved. */
export async function readSharedAnchorState(
  db: pg.Pool | pg.ClientBase,
  contract: AnchorState["contract"],
): Promise<{ readonly state: AnchorState; readonly epoch: number } | undefined> {
  const { rows } = await db.query<{ state: unknown; epoch: string }>("SELECT state, epoch FROM anchor_state WHERE contract = $1", [contractKey(contract)]);
  const row = rows[0];
  if (row === undefined) return undefined;
  try {
    return { state: parseAnchorState(row.state), epoch: Number(row.epoch) };
  } catch (e) {
    throw new AnchorStateError(`anchor_state for ${contractKey(contract)}: ${(e as Error).message}`, { cause: e });
  }
}

export class FencedAnchorStateStore implements AnchorStateStore {
  constructor(
    private readonly _pool: pg.Pool,
    readonly contract: AnchorState["contract"],
    /** The term this store writes for: the lease holder and epoch. */
    readonly term: { readonly holder: string; readonly epoch: number },
    /** Told once a save was refused because the term is over, before the save rejects. */
    private readonly _onFenced: (e: LeaseError) => void = () => {},
  ) {}

  async load(): Promise<AnchorState | undefined> {
    return (await readSharedAnchorState(this._pool, this.contract))?.state;
  }

  /** Rejects with LeaseError FENCED (after telling `onFenced`) once this store's term is over. */
  async assertWritable(): Promise<void> {
    const client = await this._pool.connect();
    try {
      await assertEpochIn(client, this.term.holder, this.term.epoch);
      client.release();
    } catch (e) {
      client.release(true);
      if (e instanceof LeaseError) this._onFenced(e);
      throw e;
    }
  }

  async save(state: AnchorState): Promise<void> {
    // Validate what we write, so a bug fails here and not at the next takeover.
    const checked = parseAnchorState(state);
    if (contractKey(checked.contract) !== contractKey(this.contract)) throw new AnchorStateError("invalid anchor state: a record for another contract");
    const client = await this._pool.connect();
    let inTransaction = false;
    try {
      await client.query("BEGIN");
      inTransaction = true;
      await assertEpochIn(client, this.term.holder, this.term.epoch);
      await client.query(
        `INSERT INTO anchor_state (contract, epoch, state, saved_at) VALUES ($1, $2, $3::json, clock_timestamp())
         ON CONFLICT (contract) DO UPDATE SET epoch = EXCLUDED.epoch, state = EXCLUDED.state, saved_at = EXCLUDED.saved_at`,
        [contractKey(this.contract), this.term.epoch, JSON.stringify(checked)],
      );
      await client.query("COMMIT");
      inTransaction = false;
      client.release();
    } catch (e) {
      if (inTransaction) await client.query("ROLLBACK").catch(() => {});
      client.release(inTransaction ? true : undefined);
      if (e instanceof LeaseError) this._onFenced(e);
      throw e;
    }
  }
}
