/**
 * Failpoints: a way for crash tests to kill the real service process at an
 * exact step of the anchoring sequence. Inert unless LEDGER_FAILPOINTS is set.
 *
 *   LEDGER_FAILPOINTS=anchor.before-send        SIGKILL the process the first time it gets there
 *   LEDGER_FAILPOINTS=anchor.after-receipt@2    … the second time
 *
 * Several may be given, separated by commas. The names are the anchorer's
 * {@link ANCHORER_FAILPOINTS}. The variable is read once at start (by
 * config.ts, with the other chain settings); a name that is not a failpoint
 * stops the service like any other bad setting. The process writes one line
 * to stderr, synchronously, and then sends itself SIGKILL: no handler runs,
 * nothing is flushed, exactly as if the operating system had killed it.
 *
 * For tests only: never set it in production.
 */
import { writeSync } from "node:fs";
import { ANCHORER_FAILPOINTS, type AnchorerFailpoint } from "./anchorer";

/** Which failpoints kill the process, and at which hit (1 = the first time). */
export type Failpoints = ReadonlyMap<AnchorerFailpoint, number>;

const isFailpoint = (s: string): s is AnchorerFailpoint => (ANCHORER_FAILPOINTS as readonly string[]).includes(s);

/** Parses LEDGER_FAILPOINTS; returns the problems instead of throwing, for config.ts to report with the others. */
export function parseFailpoints(raw: string | undefined): { failpoints: Failpoints; problems: string[] } {
  const failpoints = new Map<AnchorerFailpoint, number>();
  const problems: string[] = [];
  if (raw === undefined || raw.trim() === "") return { failpoints, problems };
  for (const item of raw.split(",").map((s) => s.trim())) {
    const m = /^([a-z.-]+)(?:@([1-9][0-9]{0,5}))?$/.exec(item);
    const name = m?.[1];
    if (m === null || name === undefined || !isFailpoint(name)) {
      problems.push(`LEDGER_FAILPOINTS: ${JSON.stringify(item)} is not one of ${ANCHORER_FAILPOINTS.join(", ")} (optionally @<hit>)`);
      continue;
    }
    failpoints.set(name, m[2] === undefined ? 1 : Number(m[2]));
  }
  return { failpoints, problems };
}

/** The anchorer's `failpoint` hook for these settings: SIGKILLs this process at the chosen hit. Undefined when none is set. */
export function crashingFailpoint(failpoints: Failpoints): ((name: AnchorerFailpoint) => void) | undefined {
  if (failpoints.size === 0) return undefined;
  const hits = new Map<AnchorerFailpoint, number>();
  return (name) => {
    const at = failpoints.get(name);
    if (at === undefined) return;
    const hit = (hits.get(name) ?? 0) + 1;
    hits.set(name, hit);
    if (hit !== at) return;
    writeSync(2, `subsidy-ledger: failpoint ${name} reached (hit ${hit}): killing the process with SIGKILL\n`);
    process.kill(process.pid, "SIGKILL");
  };
}
