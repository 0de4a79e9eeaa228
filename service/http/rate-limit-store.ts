/**
 * An express-rate-limit {@link Store} over counters every replica shares
 * (the PostgreSQL store's `rate_limits` table), so that with N replicas a
 * limit is the configured limit, not N times it. Windows are fixed and
 * aligned on the database's clock.
 */
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from "express-rate-limit";

/** One fixed window: its hits and when it ends (milliseconds since the epoch). */
export interface RateWindow {
  readonly hits: number;
  readonly resetAt: number;
}

/**
 * The shared fixed-window counters the limits count in, as the HTTP layer
 * sees them (the store's RateLimitCounters satisfy it; the HTTP layer does
 * not import the store): windows of `windowMs` aligned on one clock, so
 * every replica counts into the same one.
 */
export interface RateLimitCounters {
  hit(limiter: string, key: string, windowMs: number): Promise<RateWindow>;
  /** Undefined when `key` has no hits in the current window. */
  peek(limiter: string, key: string, windowMs: number): Promise<RateWindow | undefined>;
  unhit(limiter: string, key: string, windowMs: number): Promise<void>;
  resetRate(limiter: string, key: string): Promise<void>;
}

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
