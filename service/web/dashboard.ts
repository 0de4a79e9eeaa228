/**
 * 数字驾驶舱: the one-screen overview, loaded on demand (charts are SVG
 * drawn by ./charts at their card's width; every chart also has its numbers
 * in a table for screen readers and keyboard users).
 *
 * Data: /v1/programmes (budget, approved, paid, and by region type from the
 * division codes), the public log (payouts per month, by paidOn), the chain
 * (checkpoint history: read from the chain itself when an RPC URL is
 * configured, else the service's latest anchor) and /v1/health (current lag).
 */
import { allProgrammes, filterQuery, getJson, scanLog, type AgencyView, type ChainInfo, type ProgrammeFilter, type ProgrammeView, type TotalsView } from "./api";
import { checkpointAt, checkpointCount, type ChainCheckpoint } from "./chain";
import { barsChart, chartCard, columnsChart, legend, timeChart } from "./charts";
import { append, clear, h } from "./dom";
import { axisYuan, count, duration, month, shortYuan, time, timeTick, yuan, yuanNumber } from "./format";
import { dict, lang, t } from "./i18n";
import { apiMessage } from "./messages";

const COLORS = { budget: "#9db7d5", approved: "#1f5fa8", paid: "#0b7a3b", lag: "#a34700", size: "#5a2d82" };
const HISTORY = 30;

interface Health {
  treeSize?: number;
  anchoring?: { anchoredSize?: number; lagEntries?: number; lagSeconds?: number } | string;
}

/** A chart's figures as a table, folded away under the chart; `open` for a card whose table is its only content. */
function dataTable(head: string[], rows: string[][], open = false): HTMLElement {
  return h(
    "details",
    { open },
    h("summary", {}, dict().dashTable),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ...head.map((c, i) => h("th", { scope: "col", class: i > 0 ? "num" : undefined }, c)))),
        h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c, i) => h("td", { class: i > 0 ? "num" : undefined }, c))))),
      ),
    ),
  );
}

function noData(plot: HTMLElement): void {
  plot.removeAttribute("role");
  append(plot, h("p", { class: "hint" }, dict().dashNoData));
}

/** The published checkpoint (/tlog/checkpoint) as the page checked it against the pinned keys. */
export interface PublishedCheckpoint {
  /** Whether the log's signature verified under the pinned log key. */
  readonly signatureOk: boolean;
  readonly size: number | null;
  readonly rootHex: string | null;
  /** The pinned policy's witnesses; empty when none are configured. */
  readonly witnesses: readonly string[];
  readonly vouched: readonly string[];
  readonly quorum: string | null;
  /** Null when no witnesses are configured. */
  readonly satisfied: boolean | null;
}

export interface DashboardOptions {
  readonly rpcUrl: string | null;
  readonly published?: () => Promise<PublishedCheckpoint | null>;
}

/** The published-checkpoint card: size, root, the log's signature and the witnesses that cosigned. */
async function publishedCard(grid: HTMLElement, options: DashboardOptions): Promise<void> {
  const d = dict();
  if (options.published === undefined) return;
  const fig = h("figure", { id: "published", class: "chart" }, h("figcaption", {}, d.publishedHeading));
  append(grid, fig);
  let p: PublishedCheckpoint | null;
  try {
    p = await options.published();
  } catch (e) {
    append(fig, h("p", { class: "alert fail" }, apiMessage(e)));
    return;
  }
  if (p === null) {
    append(fig, h("p", { class: "hint" }, d.publishedNone));
    return;
  }
  const mark = (ok: boolean) => h("span", { "aria-hidden": "true" }, ok ? "✓ " : "✗ ");
  const rows: [string, Node | string][] = [
    [d.publishedSignature, h("span", { class: p.signatureOk ? "ok-text" : "fail-text", "data-signature": String(p.signatureOk) }, mark(p.signatureOk), p.signatureOk ? d.publishedSignatureOk : d.publishedSignatureBad)],
  ];
  if (p.size !== null) rows.push([d.treeSize, count(p.size)]);
  if (p.rootHex !== null) rows.push([d.rootHash, h("span", { class: "mono" }, p.rootHex)]);
  rows.push([
    d.witnessesLabel,
    p.satisfied === null
      ? d.noWitnesses
      : h(
          "span",
          { class: p.satisfied ? "ok-text" : "fail-text", "data-quorum": String(p.satisfied) },
          mark(p.satisfied),
          t(p.satisfied ? "publishedQuorumMet" : "publishedQuorumNotMet", { vouched: p.vouched.length === 0 ? "—" : p.vouched.join(lang() === "zh-CN" ? "、" : ", "), n: p.vouched.length, total: p.witnesses.length, quorum: p.quorum ?? "" }),
        ),
  ]);
  const list = h("dl", { class: "fields" });
  for (const [k, v] of rows) append(list, h("dt", {}, k), h("dd", {}, v));
  append(fig, list);
}

/** One bar of the anchoring-lag chart: a checkpoint, or the entries still waiting for one. */
export interface LagBar {
  readonly label: string;
  readonly seconds: number | null;
}

/**
 * The anchoring lag, one source for the chart and the headline: for each
 * checkpoint, its block time minus the recording time of the oldest entry it
 * newly covered; then, if entries are waiting, how long the oldest has
 * waited (the service's health). The headline is the last bar.
 */
export function anchoringLags(checkpoints: readonly ChainCheckpoint[], recordedAt: ReadonlyMap<number, number>, waiting: { entries: number; seconds: number } | null, pendingLabel: string): LagBar[] {
  const bars: LagBar[] = checkpoints.map((c, i) => {
    const prev = i > 0 ? checkpoints[i - 1]!.size : c.size - 1;
    const r = recordedAt.get(Math.min(prev, c.size - 1));
    return { label: `#${c.index}`, seconds: r === undefined ? null : Math.max(0, Math.round(c.timestamp - r)) };
  });
  if (waiting !== null && waiting.entries > 0) bars.push({ label: pendingLabel, seconds: waiting.seconds });
  return bars;
}

/**
 * The dashboard with its filter control: an agency (the registered ones, from
 * /v1/agencies) and a region code (province, prefecture or county). Applying
 * the filter redraws the figures below it from the filtered API.
 */
export async function renderDashboard(main: HTMLElement, options: DashboardOptions): Promise<void> {
  const d = dict();
  const agencies = await getJson<{ agencies: AgencyView[] }>("/v1/agencies").then((r) => r.agencies, () => [] as AgencyView[]);
  const select = h(
    "select",
    { id: "filter-agency" },
    h("option", { value: "" }, d.filterAll),
    ...agencies.map((a) => h("option", { value: a.code }, `${a.code} ${a.name}`)),
  );
  const region = h("input", { id: "filter-region", inputmode: "numeric", pattern: "[0-9]{6}", placeholder: "110000", size: 8 });
  const body = h("div", { id: "dash-body" });
  const draw = async (): Promise<void> => {
    clear(body);
    try {
      await renderBody(body, options, { ...(select.value ? { agency: select.value } : {}), ...(region.value ? { region: region.value } : {}) });
    } catch (e) {
      append(body, h("p", { class: "alert fail", role: "alert" }, apiMessage(e)));
    }
  };
  append(
    main,
    h(
      "form",
      { id: "dash-filter", class: "filter", onsubmit: (e: Event) => (e.preventDefault(), void draw()) },
      h("div", { class: "field" }, h("label", { for: "filter-agency" }, d.filterAgency), select),
      h("div", { class: "field" }, h("label", { for: "filter-region" }, d.filterRegion), region),
      h("button", { type: "submit" }, d.filterApply),
    ),
    body,
  );
  await draw();
}

async function renderBody(main: HTMLElement, options: DashboardOptions, filter: ProgrammeFilter): Promise<void> {
  const d = dict();
  const q = filterQuery(filter);
  const totals = await getJson<TotalsView>(`/v1/totals${q === "" ? "" : `?${q}`}`).catch(() => null);
  const [programmes, scan, chain, health] = await Promise.all([
    allProgrammes(filter),
    scanLog(),
    getJson<ChainInfo>("/v1/chain").catch(() => null),
    getJson<Health>("/v1/health").catch(() => ({}) as Health),
  ]);

  // Checkpoints first: the lag headline and the lag chart are drawn from the same bars.
  let checkpoints: ChainCheckpoint[] = [];
  let historyError: string | null = null;
  if (options.rpcUrl !== null && chain !== null) {
    try {
      const n = await checkpointCount(options.rpcUrl, chain.contract);
      const from = Math.max(0, n - HISTORY);
      checkpoints = await Promise.all(Array.from({ length: n - from }, (_, i) => checkpointAt(options.rpcUrl!, chain.contract, from + i)));
    } catch (e) {
      historyError = apiMessage(e);
    }
  } else if (chain?.anchored) {
    checkpoints = [{ index: chain.anchored.checkpointIndex, size: chain.anchored.size, timestamp: Date.parse(chain.anchored.anchoredAt) / 1000, rootHex: chain.anchored.rootHex }];
  }
  const anchoring = typeof health.anchoring === "object" ? health.anchoring : undefined;
  const recordedAt = new Map(scan.entries.map((e) => [e.leafIndex, Date.parse(e.entry.recordedAt) / 1000]));
  const waiting = anchoring?.lagEntries !== undefined && anchoring.lagSeconds !== undefined ? { entries: anchoring.lagEntries, seconds: anchoring.lagSeconds } : null;
  const lags = anchoringLags(checkpoints, recordedAt, waiting, d.dashLagWaiting);
  const latestLag = lags.at(-1);

  // KPIs: short amounts (万元/亿元, or million/billion), the exact amount below.
  const sum = (f: (p: ProgrammeView) => string) => programmes.reduce((n, p) => n + BigInt(f(p)), 0n).toString();
  // The exact amount goes below only when the headline abbreviates it.
  const money = (fen: string): [string, string | null] => {
    const short = shortYuan(fen);
    return [short, /[万亿]|million|billion/.test(short) ? yuan(fen) : null];
  };
  const kpis = h(
    "ul",
    { class: "kpis" },
    ...(
      [
        [d.dashKpiBudget, ...money(sum((p) => p.budgetFen))],
        [d.dashKpiApproved, ...money(sum((p) => p.approvedFen))],
        [d.dashKpiPaid, ...money(sum((p) => p.paidFen))],
        [d.dashKpiApps, count(programmes.reduce((n, p) => n + p.applications, 0)), null],
        [d.dashKpiAnchored, chain?.anchored ? `${count(chain.anchored.size)} / ${count(health.treeSize ?? scan.treeSize)}` : "—", null],
        [
          d.dashKpiLag,
          latestLag?.seconds !== null && latestLag?.seconds !== undefined ? duration(latestLag.seconds) : "—",
          latestLag !== undefined && waiting !== null && waiting.entries > 0 ? t("dashLagWaitingNote", { n: waiting.entries }) : latestLag !== undefined ? t("dashLagLatestNote", { cp: latestLag.label }) : null,
        ],
      ] as const
    ).map(([k, v, sub]) => h("li", { "data-kpi": k }, h("span", { class: "k" }, k), h("strong", { class: "v" }, v), sub ? h("span", { class: "sub" }, sub) : null)),
  );
  const grid = h("div", { class: "dash" });
  append(main, kpis, grid);

  const barTitle = (names: string[], series: { label: string; values: number[] }[]) => (i: number, j: number) => `${names[i]} · ${series[j]!.label}: ${shortYuanNumberTitle(series[j]!.values[i] ?? 0)}`;

  // Per programme: budget, approved, paid (one group per programme, named).
  {
    const { fig, plot } = chartCard(d.dashProgrammes, "chart-programmes");
    append(grid, fig);
    const series = [
      { label: d.budget, color: COLORS.budget, values: programmes.map((p) => yuanNumber(p.budgetFen)) },
      { label: d.approved, color: COLORS.approved, values: programmes.map((p) => yuanNumber(p.approvedFen)) },
      { label: d.paid, color: COLORS.paid, values: programmes.map((p) => yuanNumber(p.paidFen)) },
    ];
    const names = programmes.map((p) => `${p.name} (${p.code})`);
    if (programmes.length === 0) noData(plot);
    else {
      append(fig, legend(series));
      barsChart(plot, names, series, (v) => axisYuan(v), barTitle(names, series));
    }
    append(fig, dataTable([d.programme, d.budget, d.approved, d.paid], programmes.map((p) => [`${p.code} ${p.name}`, yuan(p.budgetFen), yuan(p.approvedFen), yuan(p.paidFen)])));
  }

  // Per region type, from the division codes.
  {
    const { fig, plot } = chartCard(d.dashRegions, "chart-regions");
    append(grid, fig);
    const types = ["urban-district", "rural-county", "county-level-city"] as const;
    const names = [d.regionUrban, d.regionRural, d.regionCity];
    const tally = types.map((r) => ({
      approved: programmes.reduce((n, p) => n + BigInt(p.byRegion[r].approvedFen), 0n),
      paid: programmes.reduce((n, p) => n + BigInt(p.byRegion[r].paidFen), 0n),
      apps: programmes.reduce((n, p) => n + p.byRegion[r].applications, 0),
    }));
    const series = [
      { label: d.approved, color: COLORS.approved, values: tally.map((x) => yuanNumber(x.approved)) },
      { label: d.paid, color: COLORS.paid, values: tally.map((x) => yuanNumber(x.paid)) },
    ];
    if (programmes.length === 0) noData(plot);
    else {
      append(fig, legend(series));
      barsChart(plot, names, series, (v) => axisYuan(v), barTitle(names, series));
    }
    append(fig, dataTable([d.region, d.applications, d.approved, d.paid], tally.map((x, i) => [names[i]!, count(x.apps), yuan(x.approved.toString()), yuan(x.paid.toString())])));
  }

  // 城乡均衡 per prefecture, from /v1/totals (applications in the region filter).
  {
    const fig = h("figure", { id: "table-prefectures", class: "chart" }, h("figcaption", {}, d.dashPrefectures));
    append(grid, fig);
    const rows = (totals?.byPrefecture ?? []).map((p) => {
      const r = p.byRegion;
      return [`${p.province.name} ${p.prefecture.code === p.province.code ? "" : p.prefecture.name}`.trim(), ...(["urban-district", "rural-county", "county-level-city"] as const).map((k) => `${r[k].applications} / ${yuan(r[k].approvedFen)}`)];
    });
    if (rows.length === 0) append(fig, h("p", { class: "hint" }, d.dashNoData));
    append(fig, h("p", { class: "hint" }, d.dashPrefecturesHint), dataTable([d.prefecture, d.regionUrban, d.regionRural, d.regionCity], rows, rows.length > 0));
  }

  // Payouts per month (by paidOn, China Standard Time dates), from the public log.
  {
    const { fig, plot } = chartCard(d.dashMonthly, "chart-monthly");
    append(grid, fig);
    const months = new Map<string, bigint>();
    for (const { entry } of scan.entries) {
      if (entry.kind !== "payout") continue;
      const m = String(entry.body["paidOn"] ?? "").slice(0, 7);
      const fen = String(entry.body["amountFen"] ?? "0");
      if (/^\d{4}-\d{2}$/.test(m) && /^\d+$/.test(fen)) months.set(m, (months.get(m) ?? 0n) + BigInt(fen));
    }
    const keys = [...months.keys()].sort();
    if (keys.length === 0) noData(plot);
    else
      columnsChart(
        plot,
        keys.map((k) => month(k)),
        { label: d.paid, color: COLORS.paid, values: keys.map((k) => yuanNumber(months.get(k)!)) },
        (v) => axisYuan(v),
        (i) => `${month(keys[i]!)}: ${yuan(months.get(keys[i]!)!.toString())}`,
      );
    append(fig, dataTable([d.month, d.paid], keys.map((k) => [month(k), yuan(months.get(k)!.toString())])));
    if (!scan.complete) append(fig, h("p", { class: "hint" }, t("searchPartial", { n: scan.entries.length })));
  }

  // Checkpoint history and anchoring lag.
  {
    const hist = chartCard(d.dashHistory, "chart-history");
    const lag = chartCard(d.dashLag, "chart-lag");
    append(grid, hist.fig, lag.fig);
    if (historyError !== null) append(hist.fig, h("p", { class: "alert fail" }, historyError));
    else if (options.rpcUrl === null && checkpoints.length > 0) append(hist.fig, h("p", { class: "hint" }, d.dashHistoryService));
    if (checkpoints.length === 0) noData(hist.plot);
    else
      timeChart(
        hist.plot,
        checkpoints.map((c) => ({ t: c.timestamp, v: c.size })),
        COLORS.size,
        (tt, span) => timeTick(tt, span),
        (v) => count(v),
        (i) => `#${checkpoints[i]!.index} · ${d.treeSize} ${count(checkpoints[i]!.size)} · ${time(new Date(checkpoints[i]!.timestamp * 1000).toISOString())}`,
      );
    if (lags.length === 0) noData(lag.plot);
    else
      columnsChart(
        lag.plot,
        lags.map((l) => l.label),
        { label: d.dashLag, color: COLORS.lag, values: lags.map((l) => l.seconds ?? 0) },
        (v) => durationTick(v),
        (i) => `${lags[i]!.label}: ${lags[i]!.seconds === null ? "—" : duration(lags[i]!.seconds!)}`,
        1,
      );
    append(
      hist.fig,
      dataTable(
        [d.checkpointIndex, d.treeSize, d.anchoredAt],
        checkpoints.map((c) => [`#${c.index}`, count(c.size), time(new Date(c.timestamp * 1000).toISOString())]),
      ),
    );
    append(lag.fig, dataTable([d.checkpointIndex, d.dashLag], lags.map((l) => [l.label, l.seconds === null ? "—" : duration(l.seconds)])));
  }

  await publishedCard(grid, options);
}

/** An axis tick of a duration: its largest unit only. */
function durationTick(seconds: number): string {
  return duration(seconds).split(lang() === "zh-CN" ? /(?<=[天时分秒])/ : / (?=\d)/)[0]!;
}

function shortYuanNumberTitle(v: number): string {
  return yuan(String(Math.round(v * 100)));
}
