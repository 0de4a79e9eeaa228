/**
 * The shared rate-limit counters, as a type only: the store implements them
 * (PostgreSQL's `rate_limits` table) and the HTTP layer and access codes count
 * in them. Defined here, beside neither, because the HTTP layer may not
 * import the store (test/http/layering.test.ts).
 */

/** One fixed window of a rate limit: its hits and when it ends (milliseconds since the epoch). */
export interface RateWindow {
  readonly hits: number;
  readonly resetAt: number;
}

/**
 * Fixed-window hit counters shared by every process using the store, so a
 * rate limit holds across replicas. Windows are aligned to multiples of
 * `windowMs` on the store's clock, so every replica counts into the same one.
 */
export interface RateLimitCounters {
  /** Adds one hit to `key`'s current window of `limiter` and returns that window. */
  hit(limiter: string, key: string, windowMs: number): Promise<RateWindow>;
  /** `key`'s current window, or undefined when it has no hits in it. */
  peek(limiter: string, key: string, windowMs: number): Promise<RateWindow | undefined>;
  /** Takes one hit back from `key`'s current window (never below zero). */
  unhit(limiter: string, key: string, windowMs: number): Promise<void>;
  /** Forgets every window of `key`. */
  resetRate(limiter: string, key: string): Promise<void>;
}
