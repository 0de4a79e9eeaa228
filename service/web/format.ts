import { lang } from "./i18n";

/** Fen (integer, decimal string) as yuan with two decimals and grouping, exactly (BigInt, no floating point). */
export function yuan(fen: string): string {
  if (!/^-?(0|[1-9][0-9]*)$/.test(fen)) return fen;
  const neg = fen.startsWith("-");
  const v = BigInt(neg ? fen.slice(1) : fen);
  const whole = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = (v % 100n).toString().padStart(2, "0");
  return `${neg ? "-" : ""}¥${whole}.${cents}`;
}

/** Fen as a number of yuan, for charts only (never for displayed amounts). */
export function yuanNumber(fen: string | bigint): number {
  return Number(BigInt(fen)) / 100;
}

/** An RFC 3339 UTC time shown in China Standard Time, the record model's calendar. */
export function time(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang(), {
    timeZone: "Asia/Shanghai",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  }).format(d) + " (UTC+8)";
}

export function shortHex(hex: string, n = 10): string {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  return h.length <= 2 * n ? hex : `${hex.startsWith("0x") ? "0x" : ""}${h.slice(0, n)}…${h.slice(-6)}`;
}
