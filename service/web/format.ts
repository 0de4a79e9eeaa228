/**
 * Money, dates and durations as each of the portal's languages writes them.
 * Exact amounts are computed with BigInt from fen; the short forms (万元 and
 * 亿元 in Chinese, "million" and "billion" in English) are for headlines and
 * chart axes and always sit next to, or in the title of, the exact amount.
 */
import { groupDigits as group, SIGNED_FEN as FEN } from "../format/money";
import { lang, type Lang } from "./i18n";

/** Fen (integer, decimal string) as yuan with two decimals and grouping, exactly: the formats' one formatter. */
export { yuan } from "../format/money";

/** Fen as a number of yuan, for charts only (never for displayed amounts). */
export function yuanNumber(fen: string | bigint): number {
  return Number(BigInt(fen)) / 100;
}

function trimmed(n: number, digits: number): string {
  const s = n.toFixed(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/** A non-negative number with grouping and at most two decimals ("1,234.5"). */
function plain(v: number): string {
  const [w, c] = trimmed(v, 2).split(".");
  return `${group(w!)}${c ? `.${c}` : ""}`;
}

/**
 * A yuan amount written short, for headline cards and chart axes: in Chinese
 * 1.5万元 / 2.65亿元 (plain yuan below 1万), in English ¥1.5 million /
 * ¥2.65 billion (plain grouped yuan below a million). Never "万" in English.
 */
export function shortYuanNumber(yuanValue: number, l: Lang = lang()): string {
  const neg = yuanValue < 0 ? "-" : "";
  const v = Math.abs(yuanValue);
  if (l === "zh-CN") {
    if (v >= 1e8) return `${neg}${trimmed(v / 1e8, 2)}亿元`;
    if (v >= 1e4) return `${neg}${trimmed(v / 1e4, 2)}万元`;
    return `${neg}${plain(v)}元`;
  }
  if (v >= 1e9) return `${neg}¥${trimmed(v / 1e9, 2)} billion`;
  if (v >= 1e6) return `${neg}¥${trimmed(v / 1e6, 2)} million`;
  return `${neg}¥${plain(v)}`;
}

/** {@link shortYuanNumber} of a fen amount (a decimal string). */
export function shortYuan(fen: string, l: Lang = lang()): string {
  return FEN.test(fen) ? shortYuanNumber(yuanNumber(fen), l) : fen;
}

/** An axis tick: like {@link shortYuanNumber} but without the unit suffix 元 in Chinese (the axis title says 元). */
export function axisYuan(v: number, l: Lang = lang()): string {
  if (v === 0) return "0";
  if (l === "zh-CN") {
    if (Math.abs(v) >= 1e8) return `${trimmed(v / 1e8, 2)}亿`;
    if (Math.abs(v) >= 1e4) return `${trimmed(v / 1e4, 2)}万`;
    return `${v < 0 ? "-" : ""}${plain(Math.abs(v))}`;
  }
  if (Math.abs(v) >= 1e9) return `${trimmed(v / 1e9, 2)}B`;
  if (Math.abs(v) >= 1e6) return `${trimmed(v / 1e6, 2)}M`;
  if (Math.abs(v) >= 1e3) return `${trimmed(v / 1e3, 2)}k`;
  return trimmed(v, 2);
}

/** A plain count with grouping ("12,345"). */
export function count(n: number): string {
  return group(String(n));
}

interface Parts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

/** The calendar fields of an instant in China Standard Time, the record model's calendar. */
function cst(d: Date): Parts {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
}

/** An RFC 3339 instant in China Standard Time: 2026年12月6日 14:03:22 / 2026-12-06 14:03:22 (UTC+8). */
export function time(iso: string, l: Lang = lang()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = cst(d);
  const clock = `${p.hour}:${p.minute}:${p.second}`;
  return l === "zh-CN" ? `${p.year}年${Number(p.month)}月${Number(p.day)}日 ${clock}（北京时间）` : `${p.year}-${p.month}-${p.day} ${clock} (UTC+8)`;
}

/** A calendar date (YYYY-MM-DD, as the records carry it): 2026年12月6日 / 2026-12-06. */
export function date(ymd: string, l: Lang = lang()): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (m === null) return ymd;
  return l === "zh-CN" ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : ymd;
}

/** A calendar month (YYYY-MM): 2026年1月 / 2026-01. */
export function month(ym: string, l: Lang = lang()): string {
  const m = /^(\d{4})-(\d{2})$/.exec(ym);
  if (m === null) return ym;
  return l === "zh-CN" ? `${m[1]}年${Number(m[2])}月` : ym;
}

/**
 * A tick on a time axis (seconds since the epoch, shown in China Standard
 * Time), as precise as the axis' span needs: a clock time within a day, a
 * date within a year, a month beyond.
 */
export function timeTick(seconds: number, spanSeconds: number, l: Lang = lang()): string {
  const p = cst(new Date(seconds * 1000));
  if (spanSeconds <= 2 * 3600) return `${p.hour}:${p.minute}:${p.second}`;
  if (spanSeconds <= 2 * 86400) return `${p.hour}:${p.minute}`;
  if (spanSeconds <= 366 * 86400) return l === "zh-CN" ? `${Number(p.month)}月${Number(p.day)}日` : `${p.month}-${p.day}`;
  return l === "zh-CN" ? `${p.year}年${Number(p.month)}月` : `${p.year}-${p.month}`;
}

/** A duration in whole seconds, in the largest two units: 6天9小时 / 6 d 9 h, 45秒 / 45 s. */
export function duration(seconds: number, l: Lang = lang()): string {
  const s = Math.max(0, Math.round(seconds));
  const units: [number, string, string][] = [
    [86400, "天", "d"],
    [3600, "小时", "h"],
    [60, "分", "min"],
    [1, "秒", "s"],
  ];
  const out: string[] = [];
  let rest = s;
  for (const [size, zh, en] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (size === 1 && out.length === 0)) out.push(l === "zh-CN" ? `${n}${zh}` : `${n} ${en}`);
    rest -= n * size;
    if (out.length === 2) break;
  }
  return out.join(l === "zh-CN" ? "" : " ");
}

export function shortHex(hex: string, n = 10): string {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  return h.length <= 2 * n ? hex : `${hex.startsWith("0x") ? "0x" : ""}${h.slice(0, n)}…${h.slice(-6)}`;
}
