/**
 * The public API, as the portal reads it (see service/http/public.ts and
 * receipts.ts). Errors become {@link ApiError} carrying the problem+json detail.
 */
import type { EntryKind, Role } from "../format";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

async function request(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: "application/json, application/problem+json, text/plain" } });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) {
    let detail = res.statusText;
    let type = "about:blank";
    try {
      const p = (await res.json()) as { detail?: unknown; type?: unknown };
      if (typeof p.detail === "string") detail = p.detail;
      if (typeof p.type === "string") type = p.type;
    } catch {
      // not problem+json
    }
    const ra = Number(res.headers.get("retry-after"));
    throw new ApiError(res.status, type, detail, Number.isFinite(ra) && ra > 0 ? ra : null);
  }
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request(path)).json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await request(path)).text();
}

// Response shapes (the subset the portal reads; service/http/views.ts has the full schemas).

export interface PublicEntry {
  v: number;
  id: string;
  kind: EntryKind;
  recordedAt: string;
  actor: { official: string; name?: string; agency: string; role: Role };
  refs: string[];
  body: Record<string, unknown>;
  commitments?: Record<string, string>;
}

export interface EntryView {
  id: string;
  kind: string;
  leafIndex: number;
  revoked: boolean;
  belongsTo: { kind: string; id: string; status: string } | null;
  /** Set when the entry's private values were erased (commitments kept). */
  erasure: { id: string; reasonCode: string; recordedAt: string; fields: string[] } | null;
  entry: PublicEntry;
}

export interface CorrectionSummary {
  id: string;
  leafIndex: number;
  recordedAt: string;
  targetId: string;
  targetKind: string;
  reasonCode: string;
  reasonText: string;
  clawbackFen?: string;
}

export interface ApplicationSummary {
  id: string;
  programme: { id: string; code: string; name: string };
  enterpriseName: string;
  region: string;
  regionType: string;
  status: string;
  requestedFen: string;
  approvedFen: string;
  paidFen: string;
  decisionId: string | null;
  corrections: CorrectionSummary[];
}

export interface EnterpriseView {
  creditCode: string;
  totals: { applications: number; requestedFen: string; approvedFen: string; paidFen: string };
  applications: ApplicationSummary[];
  applicationsComplete: boolean;
  entries: { leafIndex: number; entry: PublicEntry }[];
  next: number | null;
}

export interface RegionTally {
  applications: number;
  approvedFen: string;
  paidFen: string;
}

export interface ProgrammeView {
  id: string;
  leafIndex: number;
  code: string;
  name: string;
  agency: string;
  status: string;
  budgetFen: string;
  approvedFen: string;
  paidFen: string;
  remainingFen: string;
  applications: number;
  byRegion: Record<"urban-district" | "rural-county" | "county-level-city", RegionTally>;
}

export interface ChainInfo {
  chainId: number;
  contract: string;
  fromBlock: number;
  anchored: { size: number; rootHex: string; checkpointIndex: number; txHash: string | null; blockNumber: number | null; anchoredAt: string } | null;
}

export interface LogEntriesView {
  treeSize: number;
  start: number;
  end: number;
  entries: { leafIndex: number; leaf: string; entry: PublicEntry }[];
}

export interface InclusionProofView {
  index: number;
  size: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
}

/** The public filters of programmes and totals: an agency code (or legacy free text) and a GB/T 2260 region code. */
export interface ProgrammeFilter {
  readonly agency?: string;
  readonly region?: string;
}

/** The filter as a query string without its "?" ("" for none). */
export function filterQuery(f: ProgrammeFilter): string {
  const q = new URLSearchParams();
  if (f.agency) q.set("agency", f.agency);
  if (f.region) q.set("region", f.region);
  return q.toString();
}

export interface NamedDivision {
  code: string;
  name: string;
}

export interface AgencyView {
  code: string;
  name: string;
  parent: string | null;
  division: { code: string; name: string; level: string; province: NamedDivision; prefecture: NamedDivision | null };
}

export interface TotalsView {
  programmes: number;
  applications: number;
  approvedFen: string;
  paidFen: string;
  complete: boolean;
  byPrefecture: { prefecture: NamedDivision; province: NamedDivision; byRegion: ProgrammeView["byRegion"] }[];
}

/** Every programme (follows pages). */
export async function allProgrammes(filter: ProgrammeFilter = {}): Promise<ProgrammeView[]> {
  const out: ProgrammeView[] = [];
  let after: number | null = null;
  const f = filterQuery(filter);
  for (let pages = 0; pages < 50; pages++) {
    const q: string = (after === null ? "?limit=1000" : `?limit=1000&after=${after}`) + (f === "" ? "" : `&${f}`);
    const page: { programmes: ProgrammeView[]; next: number | null } = await getJson(`/v1/programmes${q}`);
    out.push(...page.programmes);
    if (page.next === null) break;
    after = page.next;
  }
  return out;
}

/** Most log entries the portal reads for name search and the monthly chart. */
export const MAX_SCAN = 20_000;

export interface LogScan {
  readonly entries: LogEntriesView["entries"];
  readonly treeSize: number;
  /** False when the log has more than {@link MAX_SCAN} entries. */
  readonly complete: boolean;
}

let scanCache: Promise<LogScan> | undefined;

/**
 * The public log, read in pages (bounded by {@link MAX_SCAN}); cached for the
 * page's life. There is no search or aggregate route in the API: name search
 * and payouts per month are computed from the public entries here.
 */
export function scanLog(): Promise<LogScan> {
  scanCache ??= (async () => {
    const entries: LogEntriesView["entries"] = [];
    let start = 0;
    let treeSize = 0;
    for (;;) {
      const page = await getJson<LogEntriesView>(`/v1/log/entries?start=${start}&end=${start + 1000}`);
      treeSize = page.treeSize;
      entries.push(...page.entries);
      if (page.end >= page.treeSize || page.entries.length === 0 || entries.length >= MAX_SCAN) break;
      start = page.end;
    }
    return { entries, treeSize, complete: entries.length >= treeSize };
  })();
  scanCache.catch(() => (scanCache = undefined));
  return scanCache;
}
