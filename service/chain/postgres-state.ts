/**
 * The anchor state in PostgreSQL (the `anchor_state` table, migration 4),
 * for replicas sharing one database: the same {@link AnchorStateStore}
 * contract as the file (./state.ts), one row per contract, plus fencing.
 * The statements are service/store/postgres-anchoring.ts; here, what the
 * record means and its validation.
 *
 * - {@link FencedAnchorStateStore} is the leader's: every `save` runs in one
 *   transaction that first checks, under a share lock on the lease row, that
 *   this replica's term is still current (service/store/postgres-lease.ts),
 *   and stores the term's epoch with the record. A save after another
 *   replica has taken over is refused with LeaseError FENCED and stores
 *   nothing; since the sender saves every transaction before broadcasting
 *   it, and recovery checks `assertWritable` before resending one already
 *   recorded, a replica that has lost the lease sends nothing more.
 * - {@link readSharedAnchorState} is what every replica reads, to publish
 *   the same anchored checkpoint the leader recorded.
 *
 * Durable on resolve: the pool commits with `synchronous_commit = on`
 * (leasePool).
 */
import type pg from "pg";
import { contractKey, readAnchorStateRow, saveAnchorStateRow } from "../store/postgres-anchoring";
import { assertTermCurrent, LeaseError, type LeaseTerm } from "../store/postgres-lease";
import { AnchorStateError, parseAnchorState, type AnchorState, type AnchorStateStore } from "./state";

/** The stored record for `contract` and the epoch of the term that wrote it; undefined when none was ever saved. */
export async function readSharedAnchorState(
  db: pg.Pool | pg.ClientBase,
  contract: AnchorState["contract"],
): Promise<{ readonly state: AnchorState; readonly epoch: number } | undefined> {
  const row = await readAnchorStateRow(db, contract);
  if (row === undefined) return undefined;
  try {
    return { state: parseAnchorState(row.state), epoch: row.epoch };
  } catch (e) {
    throw new AnchorStateError(`anchor_state for ${contractKey(contract)}: ${(e as Error).message}`, { cause: e });
  }
}

export class FencedAnchorStateStore implements AnchorStateStore {
  constructor(
    private readonly _pool: pg.Pool,
    readonly contract: AnchorState["contract"],
    /** The term this store writes for: the lease holder and epoch. */
    readonly term: LeaseTerm,
    /** Told once a save was refused because the term is over, before the save rejects. */
    private readonly _onFenced: (e: LeaseError) => void = () => {},
  ) {}

  async load(): Promise<AnchorState | undefined> {
    return (await readSharedAnchorState(this._pool, this.contract))?.state;
  }

  /** Rejects with LeaseError FENCED (after telling `onFenced`) once this store's term is over. */
  async assertWritable(): Promise<void> {
    await this._fenced(assertTermCurrent(this._pool, this.term));
  }

  async save(state: AnchorState): Promise<void> {
    // Validate what we write, so a bug fails here and not at the next takeover.
    const checked = parseAnchorState(state);
    if (contractKey(checked.contract) !== contractKey(this.contract)) throw new AnchorStateError("invalid anchor state: a record for another contract");
    await this._fenced(saveAnchorStateRow(this._pool, this.contract, this.term, JSON.stringify(checked)));
  }

  /** Tells `onFenced` when `write` was refused because the term is over, then rejects as it did. */
  private async _fenced(write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (e) {
      if (e instanceof LeaseError) this._onFenced(e);
      throw e;
    }
  }
}
