/**
 * Leadership: which replica runs the leader-only stages (the anchorer, the
 * witness cosigner, the static tile copy). A loop around a
 * {@link PostgresLease}:
 *
 * - A follower tries to take the lease every `tryEveryMs`; on success it
 *   awaits `onWon(epoch)`, which starts the stages.
 * - The leader renews every `renewEveryMs`. When a renewal finds its term
 *   over, or when renewals have failed (database unreachable) until the
 *   lease may have run out by this replica's own monotonic clock, it awaits
 *   `onLost`, which stops the stages, and becomes a follower again. A save
 *   refused for a stale epoch ({@link lost}) does the same at once.
 * - `stop()` ends the term (stages stopped first, then the lease released,
 *   so another replica takes over without waiting for the expiry).
 *
 * With the defaults a dead leader is replaced within the lease duration
 * plus one `tryEveryMs`. Safety does not rest on these timings: the stages'
 * writes are fenced by the epoch (service/leader/lease.ts).
 */
import type { Logger } from "pino";
import type { PostgresLease } from "./lease";

/** What health and metrics report about leadership. */
export interface LeaderStatus {
  /** Whether this replica runs the leader-only stages now. */
  readonly leader: boolean;
  /** The current term's epoch as this replica last saw it (its own while it leads); null without a lease (LevelDB: one process, always leader) or before the first look. */
  readonly epoch: number | null;
  /** The leading replica's id as last seen; null when no replica holds a live lease. */
  readonly leaderId: string | null;
  /** This replica's id. */
  readonly replicaId: string;
}

export interface LeadershipOptions {
  readonly lease: PostgresLease;
  readonly logger: Logger;
  /** Starts the leader-only stages for term `epoch`. If it throws, the term is given up (stages stopped, lease released). */
  readonly onWon: (epoch: number) => Promise<void>;
  /** Stops the leader-only stages; must not throw. */
  readonly onLost: (epoch: number, reason: string) => Promise<void>;
  /** Default: a third of the lease. */
  readonly renewEveryMs?: number;
  /** Default: a fifth of the lease, at most 1000 ms. */
  readonly tryEveryMs?: number;
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number;
}

export class Leadership {
  private readonly _renewEveryMs: number;
  private readonly _tryEveryMs: number;
  private readonly _now: () => number;
  private readonly _log: Logger;
  /** The term this replica leads, and until when (own clock) it may assume the lease is still its own. */
  private _term: { epoch: number; safeUntil: number } | undefined;
  private _seen: { epoch: number; leaderId: string | null } | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _tick: Promise<void> = Promise.resolve();
  private _stopped = false;
  private _lostReason: string | undefined;

  constructor(private readonly _o: LeadershipOptions) {
    const d = _o.lease.durationMs;
    this._renewEveryMs = _o.renewEveryMs ?? Math.max(1, Math.floor(d / 3));
    this._tryEveryMs = _o.tryEveryMs ?? Math.max(1, Math.min(1000, Math.floor(d / 5)));
    this._now = _o.now ?? (() => performance.now());
    this._log = _o.logger.child({ component: "leader", replica: _o.lease.holder });
  }

  /** Starts the loop; the first attempt to take the lease is made now. Resolves after that attempt. */
  async start(): Promise<void> {
    this._tick = this._step();
    await this._tick;
  }

  status(): LeaderStatus {
    const t = this._term;
    return {
      leader: t !== undefined,
      epoch: t?.epoch ?? this._seen?.epoch ?? null,
      leaderId: t !== undefined ? this._o.lease.holder : (this._seen?.leaderId ?? null),
      replicaId: this._o.lease.holder,
    };
  }

  /** This replica's term is over (a fenced write found out): the stages are stopped at the next step, which runs now. */
  lost(reason: string): void {
    if (this._term === undefined || this._stopped) return;
    this._lostReason ??= reason;
    this._reschedule(0);
  }

  /** Stops the loop; if leading, stops the stages and releases the lease. */
  async stop(): Promise<void> {
    this._stopped = true;
    if (this._timer !== undefined) clearTimeout(this._timer);
    await this._tick;
    const t = this._term;
    if (t === undefined) return;
    await this._demote(t.epoch, "the replica is stopping");
    await this._o.lease.release(t.epoch).catch((e: unknown) => this._log.warn({ err: e }, "could not release the leader lease; another replica takes over when it expires"));
  }

  private _reschedule(ms: number): void {
    if (this._stopped) return;
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      this._timer = undefined;
      // One step at a time: a step that waits on the database is never overlapped.
      this._tick = this._tick.then(() => this._step());
    }, ms);
    this._timer.unref();
  }

  private async _step(): Promise<void> {
    if (this._stopped) return;
    try {
      if (this._term !== undefined) await this._renew(this._term.epoch);
      else await this._tryTake();
    } catch (e) {
      this._log.error({ err: e }, "leadership step failed unexpectedly");
    }
    this._reschedule(this._term !== undefined ? this._renewEveryMs : this._tryEveryMs);
  }

  private async _renew(epoch: number): Promise<void> {
    if (this._lostReason !== undefined) {
      const reason = this._lostReason;
      await this._look();
      await this._demote(epoch, reason);
      return;
    }
    const sentAt = this._now();
    let ours: boolean;
    try {
      ours = await this._o.lease.renew(epoch);
    } catch (e) {
      if (this._now() >= this._term!.safeUntil) await this._demote(epoch, `the lease could not be renewed in time (${(e as Error).message})`);
      else this._log.warn({ err: e, epoch }, "renewing the leader lease failed; retrying");
      return;
    }
    if (!ours) {
      await this._look();
      await this._demote(epoch, "another replica took the lease");
    }
    else this._term = { epoch, safeUntil: this._safeUntil(sentAt) };
  }

  private async _tryTake(): Promise<void> {
    const sentAt = this._now();
    let epoch: number | null;
    try {
      epoch = await this._o.lease.tryAcquire();
      if (epoch === null) {
        const row = await this._o.lease.read();
        this._seen = { epoch: row.epoch, leaderId: row.live ? row.holder : null };
        return;
      }
    } catch (e) {
      this._log.warn({ err: e }, "could not reach the database to look at the leader lease; retrying");
      return;
    }
    this._term = { epoch, safeUntil: this._safeUntil(sentAt) };
    this._seen = { epoch, leaderId: this._o.lease.holder };
    this._lostReason = undefined;
    this._log.info({ epoch }, "this replica leads: starting the anchorer and publishers");
    try {
      await this._o.onWon(epoch);
    } catch (e) {
      this._log.error({ err: e, epoch }, "starting the leader's stages failed; giving up the lease");
      await this._demote(epoch, "its stages failed to start");
      await this._o.lease.release(epoch).catch(() => {});
    }
  }

  /**
   * Until when this replica may assume a lease renewed at `sentAt` (own
   * clock) is still its own: the database started the lease no earlier than
   * that, and half a renewal interval is kept back to stop the stages in.
   */
  private _safeUntil(sentAt: number): number {
    return sentAt + this._o.lease.durationMs - this._renewEveryMs / 2;
  }

  /** Reads who leads now (best effort), so status() names the new leader rather than this replica's ended term. */
  private async _look(): Promise<void> {
    try {
      const row = await this._o.lease.read();
      this._seen = { epoch: row.epoch, leaderId: row.live ? row.holder : null };
    } catch {
      // Unknown until the next attempt to take the lease.
    }
  }

  private async _demote(epoch: number, reason: string): Promise<void> {
    if (this._term === undefined) return;
    this._term = undefined;
    this._lostReason = undefined;
    if (this._seen?.epoch === epoch && this._seen.leaderId === this._o.lease.holder) this._seen = { epoch, leaderId: null };
    this._log.warn({ epoch, reason }, "this replica no longer leads: stopping the anchorer and publishers");
    await this._o.onLost(epoch, reason);
  }
}
