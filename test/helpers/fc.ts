/**
 * Shared fast-check settings: more runs in CI than on a laptop, after
 * OpenZeppelin merkle-tree's test setup. Import these rather than calling
 * fc.configureGlobal, so one test file cannot change another's settings.
 *
 * - `CI` set (and not "0"/"false"): 1000 runs per property.
 * - otherwise: 100 runs, so the log suite stays fast locally.
 * - `FC_SEED` (and optionally `FC_PATH`) replays a failure fast-check reported.
 */
import fc from "fast-check";

function envFlag(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

export const IN_CI = envFlag(process.env.CI);

/** Runs per property. */
export const FC_RUNS = IN_CI ? 1000 : 100;

function replay(): { seed?: number; path?: string } {
  const seed = process.env.FC_SEED;
  if (seed === undefined || seed === "") return {};
  const parsed = Number(seed);
  if (!Number.isInteger(parsed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(seed)}`);
  const path = process.env.FC_PATH;
  return path ? { seed: parsed, path } : { seed: parsed };
}

/**
 * fast-check parameters for one property. `scale` shrinks the run count for
 * expensive properties (at least 10 runs are kept); `overrides` win over all.
 */
export function fcParams<Ts>(options: { scale?: number; overrides?: fc.Parameters<Ts> } = {}): fc.Parameters<Ts> {
  const numRuns = Math.max(10, Math.round(FC_RUNS * (options.scale ?? 1)));
  return { numRuns, ...replay(), ...options.overrides };
}

/** fc.assert with the shared settings. */
export function fcAssert<Ts>(property: fc.IProperty<Ts>, options: { scale?: number; overrides?: fc.Parameters<Ts> } = {}): void {
  fc.assert(property, fcParams(options));
}
