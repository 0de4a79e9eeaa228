/**
 * The dashboard's charts, drawn as SVG at the width of their card and drawn
 * again when that width changes, so they fit a phone and a desktop alike.
 * Category labels sit on their own row (horizontal bars) or are thinned to
 * the labels that fit (columns), so labels never overlap; legends are HTML
 * and wrap. Every plotted mark carries `data-point` and every plot area
 * `data-plot`, so the browser tests can check that marks lie inside their
 * plot. The numbers of every chart are also in a table beside it.
 */
import { h } from "./dom";

const NS = "http://www.w3.org/2000/svg";
const FONT = 12;

type SvgAttrs = Record<string, string | number>;

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: SvgAttrs = {}, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Ticks from 0 to at least `max`, about `target` of them, on a 1-2-5 step of at least `minStep`. */
export function niceTicks(max: number, target: number, minStep = 0): number[] {
  if (!(max > 0)) return [0, Math.max(1, minStep)];
  const raw = Math.max(max / Math.max(1, target), minStep);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks.length < 2 ? [0, step] : ticks;
}

/** A rough width of a label in px at {@link FONT}, for thinning before it is drawn (CJK glyphs are full-width). */
function estimateWidth(text: string, size = FONT): number {
  let w = 0;
  for (const ch of text) w += /[\u2e80-\u9fff\uff00-\uffef]/.test(ch) ? size : size * 0.6;
  return w;
}

/** Shortens each text[data-max] that is wider than its room, keeping the full text as its tooltip. */
function fitTexts(svg: SVGSVGElement): void {
  for (const t of Array.from(svg.querySelectorAll<SVGTextElement>("text[data-max]"))) {
    const max = Number(t.dataset["max"]);
    const full = t.textContent ?? "";
    if (t.getComputedTextLength() <= max) continue;
    let n = full.length;
    while (n > 1 && t.getComputedTextLength() > max) t.textContent = `${full.slice(0, --n)}…`;
    t.append(s("title", {}, full));
  }
}

/** Draws `draw(width)` into `host` now and again whenever the host's width changes. */
function responsive(host: HTMLElement, draw: (width: number) => SVGSVGElement): void {
  let last = -1;
  const render = (): void => {
    const w = Math.floor(host.getBoundingClientRect().width);
    if (w <= 0 || w === last) return;
    last = w;
    const svg = draw(w);
    host.replaceChildren(svg);
    fitTexts(svg);
  };
  render();
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => requestAnimationFrame(render)).observe(host);
}

export interface BarSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

/** The legend of a chart, as a wrapping list. */
export function legend(series: readonly { label: string; color: string }[]): HTMLElement {
  return h(
    "ul",
    { class: "legend" },
    ...series.map((x) => {
      const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.background = x.color;
      return h("li", {}, swatch, x.label);
    }),
  );
}

function valueAxis(svg: SVGSVGElement, ticks: number[], x: (v: number) => number, top: number, bottom: number, fmt: (v: number) => string, left: number, right: number): void {
  const lastIndex = ticks.length - 1;
  ticks.forEach((v, i) => {
    const px = x(v);
    svg.append(s("line", { x1: px, x2: px, y1: top, y2: bottom, class: "grid" }));
    const label = fmt(v);
    const w = estimateWidth(label, 11);
    const anchor = px - w / 2 < left ? "start" : px + w / 2 > right ? "end" : "middle";
    if (i > 0 && i < lastIndex && anchor !== "middle") return;
    svg.append(s("text", { x: px, y: bottom + 14, "text-anchor": anchor, class: "tick" }, label));
  });
}

/**
 * Horizontal grouped bars: one group per category (its label on a row of its
 * own, above the bars), one bar per series, on a value axis from 0.
 */
export function barsChart(host: HTMLElement, categories: readonly string[], series: readonly BarSeries[], tick: (v: number) => string, title: (category: number, serie: number) => string): void {
  responsive(host, (width) => {
    const left = 2;
    const right = width - 14;
    const labelH = 18;
    const barH = series.length === 1 ? 16 : 11;
    const gap = 2;
    const groupGap = 10;
    const max = Math.max(0, ...series.flatMap((x) => x.values));
    const ticks = niceTicks(max, Math.max(2, Math.floor((right - left) / 90)));
    const top = ticks.at(-1)!;
    const x = (v: number) => left + (Math.max(0, v) / top) * (right - left);
    const groupH = labelH + series.length * (barH + gap) + groupGap;
    const plotTop = 4;
    const plotBottom = plotTop + categories.length * groupH;
    const height = plotBottom + 20;
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", "aria-hidden": "true" });
    svg.append(s("rect", { x: left, y: plotTop, width: right - left, height: plotBottom - plotTop, class: "plot-area", "data-plot": "" }));
    valueAxis(svg, ticks, x, plotTop, plotBottom, tick, 0, width);
    categories.forEach((c, i) => {
      const y0 = plotTop + i * groupH;
      svg.append(s("text", { x: left + 2, y: y0 + 13, class: "cat", "data-max": right - left - 4 }, c));
      series.forEach((serie, j) => {
        const v = serie.values[i] ?? 0;
        const bar = s("rect", { x: left, y: y0 + labelH + j * (barH + gap), width: Math.max(1, x(v) - left), height: barH, fill: serie.color, "data-point": "" });
        bar.append(s("title", {}, title(i, j)));
        svg.append(bar);
      });
    });
    return svg;
  });
}

/** Columns over ordered categories (months, checkpoints), with as many category labels as fit. */
export function columnsChart(host: HTMLElement, categories: readonly string[], serie: BarSeries, tick: (v: number) => string, title: (category: number) => string, minStep = 0): void {
  responsive(host, (width) => {
    const max = Math.max(0, ...serie.values);
    const ticks = niceTicks(max, 4, minStep);
    const left = Math.ceil(Math.max(...ticks.map((v) => estimateWidth(tick(v), 11)))) + 8;
    const right = width - 4;
    const plotTop = 8;
    const plotBottom = 170;
    const height = plotBottom + 24;
    const top = ticks.at(-1)!;
    const y = (v: number) => plotBottom - (Math.max(0, v) / top) * (plotBottom - plotTop);
    const band = (right - left) / Math.max(1, categories.length);
    const widest = Math.max(...categories.map((c) => estimateWidth(c, 11))) + 8;
    const every = Math.max(1, Math.ceil(widest / band));
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", "aria-hidden": "true" });
    svg.append(s("rect", { x: left, y: plotTop, width: right - left, height: plotBottom - plotTop, class: "plot-area", "data-plot": "" }));
    for (const v of ticks) {
      svg.append(s("line", { x1: left, x2: right, y1: y(v), y2: y(v), class: "grid" }));
      svg.append(s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, tick(v)));
    }
    categories.forEach((c, i) => {
      const cx = left + band * (i + 0.5);
      const bw = Math.max(2, Math.min(48, band * 0.6));
      const v = serie.values[i] ?? 0;
      const bar = s("rect", { x: cx - bw / 2, y: Math.min(y(v), plotBottom - 1), width: bw, height: Math.max(1, plotBottom - y(v)), fill: serie.color, "data-point": "" });
      bar.append(s("title", {}, title(i)));
      svg.append(bar);
      // Thinned from the newest end, so the latest category is always named.
      if ((categories.length - 1 - i) % every === 0) svg.append(s("text", { x: cx, y: plotBottom + 16, "text-anchor": "middle", class: "tick" }, c));
    });
    return svg;
  });
}

const TIME_STEPS = [1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400];
const CST = 8 * 3600;

/**
 * A line over time (seconds since the epoch). The time axis spans the points
 * with a margin on both sides (at least a minute), so even a single point
 * sits inside the plot; its ticks fall on round times in China Standard Time.
 */
export function timeChart(host: HTMLElement, points: readonly { t: number; v: number }[], color: string, tickX: (t: number, span: number) => string, tickY: (v: number) => string, title: (i: number) => string): void {
  responsive(host, (width) => {
    const ts = points.map((p) => p.t);
    const minT = Math.min(...ts);
    const maxT = Math.max(...ts);
    const pad = Math.max(60, (maxT - minT) * 0.06);
    const t0 = minT - pad;
    const t1 = maxT + pad;
    const span = t1 - t0;
    const ticksY = niceTicks(Math.max(...points.map((p) => p.v)), 4, 1);
    const left = Math.ceil(Math.max(...ticksY.map((v) => estimateWidth(tickY(v), 11)))) + 8;
    const right = width - 8;
    const plotTop = 8;
    const plotBottom = 170;
    const height = plotBottom + 24;
    const topY = ticksY.at(-1)!;
    const x = (t: number) => left + ((t - t0) / span) * (right - left);
    const y = (v: number) => plotBottom - (v / topY) * (plotBottom - plotTop);
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", "aria-hidden": "true" });
    svg.append(s("rect", { x: left, y: plotTop, width: right - left, height: plotBottom - plotTop, class: "plot-area", "data-plot": "" }));
    for (const v of ticksY) {
      svg.append(s("line", { x1: left, x2: right, y1: y(v), y2: y(v), class: "grid" }));
      svg.append(s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, tickY(v)));
    }
    const sample = tickX(t0, span);
    const room = estimateWidth(sample, 11) + 16;
    const wanted = Math.max(1, Math.floor((right - left) / room));
    const step = TIME_STEPS.find((st) => span / st <= wanted) ?? TIME_STEPS.at(-1)!;
    for (let t = Math.ceil((t0 + CST) / step) * step - CST; t <= t1; t += step) {
      const px = x(t);
      if (px - room / 2 < left - 4 || px + room / 2 > width) continue;
      svg.append(s("line", { x1: px, x2: px, y1: plotTop, y2: plotBottom, class: "grid" }));
      svg.append(s("text", { x: px, y: plotBottom + 16, "text-anchor": "middle", class: "tick" }, tickX(t, span)));
    }
    const sorted = [...points.keys()].sort((a, b) => points[a]!.t - points[b]!.t);
    svg.append(s("polyline", { points: sorted.map((i) => `${x(points[i]!.t)},${y(points[i]!.v)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
    for (const i of sorted) {
      const c = s("circle", { cx: x(points[i]!.t), cy: y(points[i]!.v), r: 3.5, fill: color, "data-point": "" });
      c.append(s("title", {}, title(i)));
      svg.append(c);
    }
    return svg;
  });
}

/** A chart's card: its caption, the drawing area and, below, the legend and the data table. */
export function chartCard(title: string, id: string): { fig: HTMLElement; plot: HTMLElement } {
  const plot = h("div", { class: "plot", role: "img", "aria-label": title });
  const fig = h("figure", { class: "chart", id, "aria-labelledby": `${id}-cap` }, h("figcaption", { id: `${id}-cap` }, title), plot);
  return { fig, plot };
}

