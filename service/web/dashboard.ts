/**
 * 数字驾驶舱: the one-screen overview, loaded on demand with its chart
 * library (uPlot, canvas; every chart also has its numbers in a table for
 * screen readers and keyboard users).
 *
 * Data: /v1/programmes (budget, approved, paid, and by region type from the
 * division codes), the public log (payouts per month, by paidOn), the chain
 * (checkpoint history: read from the chain itself when an RPC URL is
 * configured, else the service's latest anchor) and /v1/health (current lag).
 */
import uPlot from "uplot";
import { allProgrammes, filterQuery, getJson, scanLog, type AgencyView, type ChainInfo, type ProgrammeFilter, type ProgrammeView, type TotalsView } from "./api";
import { checkpointAt, checkpointCount, type ChainCheckpoint } from "./chain";
import { append, clear, h } from "./dom";
import { time, yuan, yuanNumber } from "./format";
import { dict, t } from "./i18n";

const COLORS = { budget: "#9db7d5", approved: "#1f5fa8", paid: "#0b7a3b", lag: "#a34700", size: "#5a2d82" };
const HISTORY = 30;

interface Health {
  treeSize?: number;
  anchoring?: { anchoredSize?: number; lagEntries?: number; lagSeconds?: number } | string;
}

function chartWidth(container: HTMLElement): number {
  return Math.max(260, Math.min(container.clientWidth || 600, 900) - 8);
}

function figure(title: string, id: string): { fig: HTMLElement; plot: HTMLElement } {
  const plot = h("div", { class: "plot", role: "img", "aria-label": title });
  const fig = h("figure", { class: "chart", id, "aria-labelledby": `${id}-cap` }, h("figcaption", { id: `${id}-cap` }, title), plot);
  return { fig, plot };
}

function dataTable(head: string[], rows: string[][]): HTMLElement {
  return h(
    "details",
    {},
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

/** A bar chart over categories; each series is [label, values, colour, width fraction, alignment]. */
function barChart(plot: HTMLElement, labels: string[], series: [string, number[], string, number, -1 | 0 | 1][]): void {
  const bars = (size: number, align: -1 | 0 | 1) => uPlot.paths.bars!({ size: [size, 80], align });
  const opts: uPlot.Options = {
    width: chartWidth(plot),
    height: 240,
    legend: { show: true, live: false },
    cursor: { show: false },
    scales: { x: { time: false, auto: false, range: () => [-0.6, labels.length - 0.4] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { splits: () => labels.map((_, i) => i), values: (_u, splits) => splits.map((i) => labels[i] ?? ""), grid: { show: false } },
      { size: 70, values: (_u, splits) => splits.map((v) => (v >= 10000 ? `${(v / 10000).toFixed(v >= 100000 ? 0 : 1)}万` : String(v))) },
    ],
    series: [{}, ...series.map(([label, , color, size, align]) => ({ label, fill: color, stroke: color, width: 0, paths: bars(size, align), points: { show: false } }))],
  };
  new uPlot(opts, [labels.map((_, i) => i), ...series.map(([, v]) => v)] as uPlot.AlignedData, plot);
}

function noData(plot: HTMLElement): void {
  plot.removeAttribute("role");
  append(plot, h("p", { class: "hint" }, dict().dashNoData));
}

/**
 * The dashboard with its filter control: an agency (the registered ones, from
 * /v1/agencies) and a region code (province, prefecture or county). Applying
 * the filter redraws the figures below it from the filtered API.
 */
export async function renderDashboard(main: HTMLElement, options: { rpcUrl: string | null }): Promise<void> {
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
      append(body, h("p", { class: "alert fail" }, t("error", { msg: e instanceof Error ? e.message : String(e) })));
    }
  };
  append(
    main,
    h(
      "form",
      { id: "dash-filter", class: "filter", onsubmit: (e: Event) => (e.preventDefault(), void draw()) },
      h("label", { for: "filter-agency" }, d.filterAgency),
      select,
      h("label", { for: "filter-region" }, d.filterRegion),
      region,
      h("button", { type: "submit" }, d.filterApply),
    ),
    body,
  );
  await draw();
}

async function renderBody(main: HTMLElement, options: { rpcUrl: string | null }, filter: ProgrammeFilter): Promise<void> {
  const d = dict();
  const q = filterQuery(filter);
  const totals = await getJson<TotalsView>(`/v1/totals${q === "" ? "" : `?${q}`}`).catch(() => null);
  const [programmes, scan, chain, health] = await Promise.all([
    allProgrammes(filter),
    scanLog(),
    getJson<ChainInfo>("/v1/chain").catch(() => null),
    getJson<Health>("/v1/health").catch(() => ({}) as Health),
  ]);

  // KPIs
  const sum = (f: (p: ProgrammeView) => string) => programmes.reduce((n, p) => n + BigInt(f(p)), 0n).toString();
  const anchoring = typeof health.anchoring === "object" ? health.anchoring : undefined;
  const kpis = h(
    "ul",
    { class: "kpis" },
    ...(
      [
        [d.dashKpiBudget, yuan(sum((p) => p.budgetFen))],
        [d.dashKpiApproved, yuan(sum((p) => p.approvedFen))],
        [d.dashKpiPaid, yuan(sum((p) => p.paidFen))],
        [d.dashKpiApps, String(programmes.reduce((n, p) => n + p.applications, 0))],
        [d.dashKpiAnchored, chain?.anchored ? `${chain.anchored.size} / ${health.treeSize ?? scan.treeSize}` : "—"],
        [d.dashKpiLag, anchoring?.lagSeconds !== undefined ? t("seconds", { n: anchoring.lagSeconds }) : "—"],
      ] as const
    ).map(([k, v]) => h("li", {}, h("span", { class: "k" }, k), h("strong", { class: "v" }, v))),
  );
  const grid = h("div", { class: "dash" });
  append(main, kpis, grid);

  // Per programme: budget, approved, paid.
  {
    const { fig, plot } = figure(d.dashProgrammes, "chart-programmes");
    append(grid, fig);
    if (programmes.length === 0) noData(plot);
    else {
      const labels = programmes.map((p) => p.code);
      barChart(plot, labels, [
        [d.budget, programmes.map((p) => yuanNumber(p.budgetFen)), COLORS.budget, 0.8, 0],
        [d.approved, programmes.map((p) => yuanNumber(p.approvedFen)), COLORS.approved, 0.38, -1],
        [d.paid, programmes.map((p) => yuanNumber(p.paidFen)), COLORS.paid, 0.38, 1],
      ]);
    }
    append(fig, dataTable([d.programme, d.budget, d.approved, d.paid], programmes.map((p) => [`${p.code} ${p.name}`, yuan(p.budgetFen), yuan(p.approvedFen), yuan(p.paidFen)])));
  }

  // Per region type, from the division codes.
  {
    const { fig, plot } = figure(d.dashRegions, "chart-regions");
    append(grid, fig);
    const types = ["urban-district", "rural-county", "county-level-city"] as const;
    const names = [d.regionUrban, d.regionRural, d.regionCity];
    const tally = types.map((r) => ({
      approved: programmes.reduce((n, p) => n + BigInt(p.byRegion[r].approvedFen), 0n),
      paid: programmes.reduce((n, p) => n + BigInt(p.byRegion[r].paidFen), 0n),
      apps: programmes.reduce((n, p) => n + p.byRegion[r].applications, 0),
    }));
    if (programmes.length === 0) noData(plot);
    else
      barChart(plot, names, [
        [d.approved, tally.map((x) => yuanNumber(x.approved)), COLORS.approved, 0.38, -1],
        [d.paid, tally.map((x) => yuanNumber(x.paid)), COLORS.paid, 0.38, 1],
      ]);
    append(fig, dataTable([d.region, d.applications, d.approved, d.paid], tally.map((x, i) => [names[i]!, String(x.apps), yuan(x.approved.toString()), yuan(x.paid.toString())])));
  }

  // 城乡均衡 per prefecture, from /v1/totals (applications in the region filter).
  {
    const fig = h("figure", { id: "table-prefectures" }, h("figcaption", {}, d.dashPrefectures));
    append(grid, fig);
    const rows = (totals?.byPrefecture ?? []).map((p) => {
      const r = p.byRegion;
      return [`${p.province.name} ${p.prefecture.code === p.province.code ? "" : p.prefecture.name}`.trim(), ...(["urban-district", "rural-county", "county-level-city"] as const).map((k) => `${r[k].applications} / ${yuan(r[k].approvedFen)}`)];
    });
    append(fig, dataTable([d.prefecture, d.regionUrban, d.regionRural, d.regionCity], rows));
  }

  // Payouts per month (by paidOn, China Standard Time dates), from the public log.
  {
    const { fig, plot } = figure(d.dashMonthly, "chart-monthly");
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
    else barChart(plot, keys, [[d.paid, keys.map((k) => yuanNumber(months.get(k)!)), COLORS.paid, 0.7, 0]]);
    append(fig, dataTable([d.month, d.paid], keys.map((k) => [k, yuan(months.get(k)!.toString())])));
    if (!scan.complete) append(fig, h("p", { class: "hint" }, t("searchPartial", { n: scan.entries.length })));
  }

  // Checkpoint history and anchoring lag.
  {
    const hist = figure(d.dashHistory, "chart-history");
    const lag = figure(d.dashLag, "chart-lag");
    append(grid, hist.fig, lag.fig);
    let checkpoints: ChainCheckpoint[] = [];
    if (options.rpcUrl !== null && chain !== null) {
      try {
        const n = await checkpointCount(options.rpcUrl, chain.contract);
        const from = Math.max(0, n - HISTORY);
        checkpoints = await Promise.all(Array.from({ length: n - from }, (_, i) => checkpointAt(options.rpcUrl!, chain.contract, from + i)));
      } catch (e) {
        append(hist.fig, h("p", { class: "alert fail" }, t("error", { msg: e instanceof Error ? e.message : String(e) })));
      }
    } else if (chain?.anchored) {
      checkpoints = [{ index: chain.anchored.checkpointIndex, size: chain.anchored.size, timestamp: Date.parse(chain.anchored.anchoredAt) / 1000, rootHex: chain.anchored.rootHex }];
      append(hist.fig, h("p", { class: "hint" }, d.dashHistoryService));
    }
    // Lag of a checkpoint: its block time minus the time its newest entry was recorded.
    const recordedAt = new Map(scan.entries.map((e) => [e.leafIndex, Date.parse(e.entry.recordedAt) / 1000]));
    const lags = checkpoints.map((c) => {
      const r = recordedAt.get(c.size - 1);
      return r === undefined ? null : Math.max(0, c.timestamp - r);
    });
    if (checkpoints.length === 0) {
      noData(hist.plot);
      noData(lag.plot);
    } else {
      new uPlot(
        {
          width: chartWidth(hist.plot),
          height: 220,
          legend: { show: true, live: false },
          cursor: { show: false },
          // Checkpoints a second apart would otherwise get an axis of years: pad to at least a minute either side.
          scales: { x: { time: true, range: (_u, min, max) => { const pad = Math.max(60, (max - min) * 0.05); return [min - pad, max + pad]; } }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
          axes: [{}, { size: 60 }],
          series: [{}, { label: d.treeSize, stroke: COLORS.size, width: 2, points: { show: true, size: 6, fill: COLORS.size } }],
        },
        [checkpoints.map((c) => c.timestamp), checkpoints.map((c) => c.size)],
        hist.plot,
      );
      barChart(
        lag.plot,
        checkpoints.map((c) => `#${c.index}`),
        [[d.dashLag, lags.map((l) => l ?? 0), COLORS.lag, 0.7, 0]],
      );
    }
    append(
      hist.fig,
      dataTable(
        [d.checkpointIndex, d.treeSize, d.anchoredAt],
        checkpoints.map((c) => [`#${c.index}`, String(c.size), time(new Date(c.timestamp * 1000).toISOString())]),
      ),
    );
    append(lag.fig, dataTable([d.checkpointIndex, d.dashLag], checkpoints.map((c, i) => [`#${c.index}`, lags[i] === null ? "—" : String(lags[i])])));
  }
}
