/** Reading a Prometheus scrape in tests. */

/** A metrics token the settings accept. */
export const METRICS_TOKEN = "m".repeat(40);

/** The value of one sample in Prometheus text: `name` with exactly `labels`, or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = (m[2] ?? "")
      .split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)
      .filter((s) => s !== "")
      .sort()
      .join(",");
    if (got === want) return Number(m[3]);
  }
  return undefined;
}
