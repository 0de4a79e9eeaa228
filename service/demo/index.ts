/**
 * Demo data for `npm run demo` / `npm start -- --demo`: a deterministic, realistic
 * history (generate.ts) loaded through the real ledger (load.ts). This module
 * adds the data-directory wrapper the entry point uses and the lines it prints.
 */
import { openDataDir } from "../data-dir";
import { LevelStore } from "../store/level";
import { loadDemo, type DemoLoadResult } from "./load";

export { DEMO_SEED, DEMO_MONTHS, DEMO_ENTERPRISES, generateDemo, demoStart, type DemoPlan, type DemoSession, type PlannedCommand } from "./generate";
export { loadDemo, DemoError, type DemoLoadResult, type LoadDemoOptions } from "./load";

export interface DemoDataDirResult extends DemoLoadResult {
  /** Wall-clock milliseconds the load took. */
  readonly ms: number;
}

/**
 * Loads the demo into the LevelDB store under `dataDir` (see loadDemo), then
 * closes the store so the service can open it. Throws StoreLockedError if the
 * service is running on that directory, DemoError if it holds other records,
 * DataDirError if others can access the directory.
 */
export async function loadDemoIntoDataDir(dataDir: string, now: string = new Date().toISOString()): Promise<DemoDataDirResult> {
  const t0 = performance.now();
  await openDataDir(dataDir);
  const store = await LevelStore.open(dataDir);
  try {
    const result = await loadDemo({ store, now });
    return { ...result, ms: Math.round(performance.now() - t0) };
  } finally {
    await store.close();
  }
}

/** What the entry point prints about the demo under its banner: what was loaded and a few things to look up. */
export function demoSummaryLines(result: DemoDataDirResult, url: string): string[] {
  const { plan, ids } = result;
  const what =
    result.status === "already-loaded"
      ? "already loaded, nothing appended"
      : `${result.status === "resumed" ? "finished an interrupted load" : "loaded"}: ${result.appended} entries in ${(result.ms / 1000).toFixed(1)} s`;
  const months = `${plan.start.slice(0, 7)} to ${plan.end.slice(0, 7)}`;
  const lines = [
    `  demo data:  ${plan.recordCount} entries, ${plan.enterpriseCount} enterprises, recorded ${months} (seed ${plan.seed}); ${what}`,
    `  try:        ${url}/v1/programmes`,
  ];
  for (const h of plan.highlights)
    lines.push(`              ${url}/v1/enterprises/${h.creditCode}  ${h.enterpriseName}: ${h.label} (${ids[h.record]!})`);
  return lines;
}
