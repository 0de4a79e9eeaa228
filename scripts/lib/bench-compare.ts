/**
 * The arithmetic of the side-by-side audit benchmark (`npm run bench:verify
 * -- --sources …`), apart from the processes it runs so that it can be
 * tested: which source runs when, what one run's output says, and the
 * summary table.
 */

export const AUDIT_SOURCES = ["export", "tlog", "service"] as const;
export type AuditSourceName = (typeof AUDIT_SOURCES)[number];

/** Parses `--sources a,b,c`: known names, each once, at least one. */
export function parseSources(arg: string): AuditSourceName[] {
  const names = arg.split(",").map((s) => s.trim());
  const out: AuditSourceName[] = [];
  for (const n of names) {
    if (!(AUDIT_SOURCES as readonly string[]).includes(n)) throw new Error(`--sources: unknown source "${n}"; give a comma-separated list of ${AUDIT_SOURCES.join(", ")}`);
    if (out.includes(n as AuditSourceName)) throw new Error(`--sources: "${n}" is given twice`);
    out.push(n as AuditSourceName);
  }
  return out;
}

/**
 * The order of the sources in round `round` (from 0): rotated by one each
 * round, so that over as many rounds as there are sources each runs in every
 * position once, and a drift in the machine's load (or a warm page cache)
 * does not always favour the same one.
 */
export function roundOrder<T>(sources: readonly T[], round: number): T[] {
  if (!Number.isSafeInteger(round) || round < 0) throw new RangeError("round must be a whole number");
  const k = sources.length === 0 ? 0 : round % sources.length;
  return [...sources.slice(k), ...sources.slice(0, k)];
}

/** GNU time's `-f "%e %M"` output: elapsed seconds and maximum resident set in KiB (the last line; a killed command writes a line before it). */
export function parseGnuTime(text: string): { seconds: number; maxRssBytes: number } {
  const last = text.trim().split("\n").pop() ?? "";
  const m = /^([0-9]+(?:\.[0-9]+)?) ([0-9]+)$/.exec(last.trim());
  if (m === null) throw new Error(`cannot read GNU time's output: ${JSON.stringify(text.slice(0, 200))}`);
  return { seconds: Number(m[1]), maxRssBytes: Number(m[2]) * 1024 };
}

/** What one audit run must show to count: exit 0, a report that says ok, and every entry replayed. */
export interface AuditOutcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CleanAudit {
  readonly entries: number;
  readonly checkpointsMatched: number;
  readonly checkpointsOnChain: number;
  /** The audit's own time (the report's durationMs), without the process's start-up. */
  readonly auditSeconds: number;
}

/**
 * Checks one `npm run verify -- … --json` run; throws, quoting the auditor,
 * unless it exited 0 with a clean report of exactly `entries` entries that
 * matched every checkpoint on the chain. A benchmark that timed an audit
 * which found problems, or read less than the log, would measure nothing.
 */
export function checkCleanAudit(label: string, o: AuditOutcome, entries: number): CleanAudit {
  const tail = () => o.stderr.trim().split("\n").slice(-8).join("\n");
  if (o.exitCode !== 0) throw new Error(`${label}: the audit exited ${o.exitCode}, not 0 (clean):\n${tail()}\n${o.stdout.slice(0, 2000)}`);
  let r: { ok?: unknown; durationMs?: unknown; entries?: { count?: unknown }; checkpoints?: { matched?: unknown; onChain?: unknown } };
  try {
    r = JSON.parse(o.stdout) as typeof r;
  } catch {
    throw new Error(`${label}: the audit's --json output does not parse:\n${o.stdout.slice(0, 500)}`);
  }
  if (r.ok !== true) throw new Error(`${label}: the audit exited 0 but its report is not ok`);
  const count = r.entries?.count;
  if (count !== entries) throw new Error(`${label}: the audit replayed ${String(count)} entries, the log holds ${entries}`);
  const matched = r.checkpoints?.matched;
  const onChain = r.checkpoints?.onChain;
  if (typeof matched !== "number" || typeof onChain !== "number" || onChain === 0 || matched !== onChain)
    throw new Error(`${label}: the audit matched ${String(matched)} of ${String(onChain)} checkpoints on the chain`);
  if (typeof r.durationMs !== "number") throw new Error(`${label}: the audit's report has no durationMs`);
  return { entries: count, checkpointsMatched: matched, checkpointsOnChain: onChain, auditSeconds: r.durationMs / 1000 };
}

export interface AuditRun {
  readonly source: AuditSourceName;
  readonly round: number;
  /** The whole process, `npm run verify` start to exit. */
  readonly seconds: number;
  readonly auditSeconds: number;
  readonly maxRssBytes: number;
  /** HTTP requests the audit made to the service (0 for an export). */
  readonly requests: number;
}

export interface SourceSummary {
  readonly source: AuditSourceName;
  readonly runs: number;
  readonly medianSeconds: number;
  readonly entriesPerSecond: number;
  readonly medianAuditSeconds: number;
  readonly auditEntriesPerSecond: number;
  /** The largest peak RSS of its runs. */
  readonly maxRssBytes: number;
  /** HTTP requests of its last run. */
  readonly requests: number;
  /** entries/s over the baseline's (whole process), when the baseline was run. */
  readonly speedup: number | null;
  /** Peak RSS over the baseline's. */
  readonly rssRatio: number | null;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of nothing");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One row per source, in `sources` order; ratios are against `baseline` (today's audit: `service`). */
export function summarize(runs: readonly AuditRun[], sources: readonly AuditSourceName[], entries: number, baseline: AuditSourceName = "service"): SourceSummary[] {
  const rows = sources.map((source) => {
    const mine = runs.filter((r) => r.source === source);
    if (mine.length === 0) throw new Error(`no runs of ${source}`);
    const medianSeconds = median(mine.map((r) => r.seconds));
    const medianAuditSeconds = median(mine.map((r) => r.auditSeconds));
    return {
      source,
      runs: mine.length,
      medianSeconds,
      entriesPerSecond: entries / medianSeconds,
      medianAuditSeconds,
      auditEntriesPerSecond: entries / medianAuditSeconds,
      maxRssBytes: Math.max(...mine.map((r) => r.maxRssBytes)),
      requests: mine[mine.length - 1]!.requests,
    };
  });
  const base = rows.find((r) => r.source === baseline);
  return rows.map((r) => ({
    ...r,
    speedup: base === undefined ? null : r.entriesPerSecond / base.entriesPerSecond,
    rssRatio: base === undefined ? null : r.maxRssBytes / base.maxRssBytes,
  }));
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (b: number) => `${Math.round(b / 2 ** 20).toLocaleString("en-US")} MiB`;

/** The summary as a Markdown table, ready for the README. */
export function formatSummary(rows: readonly SourceSummary[], baseline: AuditSourceName = "service"): string {
  const lines = [
    `| source | runs | median s (whole process) | entries/s | audit alone: entries/s | peak RSS | HTTP requests | vs --${baseline}: speed | vs --${baseline}: RSS |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows)
    lines.push(
      `| --${r.source} | ${r.runs} | ${r.medianSeconds.toFixed(1)} | ${int(r.entriesPerSecond)} | ${int(r.auditEntriesPerSecond)} | ${mib(r.maxRssBytes)} | ${int(r.requests)} | ${r.speedup === null ? "–" : `${r.speedup.toFixed(2)}×`} | ${r.rssRatio === null ? "–" : `${r.rssRatio.toFixed(2)}×`} |`,
    );
  return `${lines.join("\n")}\n`;
}
