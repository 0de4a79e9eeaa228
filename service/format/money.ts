/** Money as people read it. Amounts are integer fen in decimal strings; formatting is exact (BigInt, never floating point). */

/** An integer fen amount as a decimal string, negatives allowed, no leading zeros (entry.ts's `FEN` is the ledger's narrower, non-negative one). */
export const SIGNED_FEN = /^-?(0|[1-9][0-9]*)$/;

/** A string of digits with a comma every three from the right: "1234567" → "1,234,567". */
export function groupDigits(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** How {@link yuan} marks the unit: "¥1,234.56" (the default) or "1,234.56元", as Chinese prose writes it. */
export interface YuanStyle {
  readonly unit?: "¥" | "元";
}

/** "¥1,234.56" for "123456" fen, "-¥0.05" for "-5" (with unit "元": "1,234.56元", "-0.05元"); anything that is not an integer fen string is shown as it is. */
export function yuan(fen: unknown, style: YuanStyle = {}): string {
  if (typeof fen !== "string" || !SIGNED_FEN.test(fen)) return String(fen);
  const neg = fen.startsWith("-");
  const v = BigInt(neg ? fen.slice(1) : fen);
  const amount = `${groupDigits((v / 100n).toString())}.${(v % 100n).toString().padStart(2, "0")}`;
  return style.unit === "元" ? `${neg ? "-" : ""}${amount}元` : `${neg ? "-" : ""}¥${amount}`;
}
