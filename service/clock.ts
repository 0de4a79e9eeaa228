/**
 * Time, for every part of the service that reads it: injected (never a
 * global), so tests run the sequencer's timestamps and the anchorer's cadence
 * and timeouts on fake clocks.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted === true) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** `ms` as RFC 3339 UTC with milliseconds, the form every recorded time takes. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
