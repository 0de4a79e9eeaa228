/**
 * An express-rate-limit {@link Store} over counters every replica shares
 * (the PostgreSQL store's `rate_limits` table), so that with N replicas a
 * limit is the configured limit, not N times it. Windows are fixed and
 * aligned on the database's clock.
 */
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from "express-rate-limit";
import type { RateLimitCounters } from "../rate-limits";

export class SharedRateLimitStore implements Store {
  /** Hits counted here are seen by every replica. */
  readonly localKeys = false;
  private _windowMs = 60_000;

  /** `limiter` names the limit, so limits on one key (an address) count apart. */
  constructor(
    private readonly _counters: RateLimitCounters,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this._windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const w = await this._counters.peek(this.prefix, key, this._windowMs);
    return w === undefined ? undefined : { totalHits: w.hits, resetTime: new Date(w.resetAt) };
  }

  async increment(key: string): Promise<IncrementResponse> {
    const w = await this._counters.hit(this.prefix, key, this._windowMs);
    return { totalHits: w.hits, resetTime: new Date(w.resetAt) };
  }

  decrement(key: string): Promise<void> {
    return this._counters.unhit(this.prefix, key, this._windowMs);
  }

  resetKey(key: string): Promise<void> {
    return this._counters.resetRate(this.prefix, key);
  }
}
