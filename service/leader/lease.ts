/**
 * The leader lease as the leadership loop holds it: this replica's id, the
 * lease duration, and take, renew, release and read over the `leader_lease`
 * row. The statements, and the guarantees they give (one holder at a time,
 * expiry by the database's clock, fencing by epoch), are
 * service/store/postgres-lease.ts.
 */
import type pg from "pg";
import { readLease, releaseLease, renewLease, takeLease, type LeaseRow } from "../store/postgres-lease";

export { LeaseError, type LeaseErrorCode, type LeaseRow } from "../store/postgres-lease";

export class PostgresLease {
  constructor(
    private readonly _pool: pg.Pool,
    /** This replica's id, stored as the holder. */
    readonly holder: string,
    /** How long a take or renewal holds the lease. */
    readonly durationMs: number,
  ) {
    if (!Number.isSafeInteger(durationMs) || durationMs <= 0) throw new RangeError("durationMs must be a positive integer");
  }

  /** Takes the lease if it has expired or was released; returns the new term's epoch, or null when another replica holds it. */
  tryAcquire(): Promise<number | null> {
    return takeLease(this._pool, this.holder, this.durationMs);
  }

  /** Extends term `epoch` by the lease duration from now; false when that term is over (taken over or released). */
  renew(epoch: number): Promise<boolean> {
    return renewLease(this._pool, { holder: this.holder, epoch }, this.durationMs);
  }

  /** Ends term `epoch` at once, so another replica can take over without waiting for the expiry. Does nothing for a term already over. */
  release(epoch: number): Promise<void> {
    return releaseLease(this._pool, { holder: this.holder, epoch });
  }

  /** The lease as it is now. */
  read(): Promise<LeaseRow> {
    return readLease(this._pool);
  }
}
