/** Money as people read it. Amounts are integer fen in decimal strings; formatting is exact (BigInt, never floating point). */

const FEN = /^-?(0|[1-9][0-9]*)$/;

/** "¥1,234.56" for "123456" fen, "-¥0.05" for "-5"; anything that is not an integer fen string is shown as it is. */
export function yuan(fen: unknown): string {
  if (typeof fen !== "string" || !FEN.test(fen)) return String(fen);
  const neg = fen.startsWith("-");
  const v = BigInt(neg ? fen.slice(1) : fen);
  const whole = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${neg ? "-" : ""}¥${whole}.${(v % 100n).toString().padStart(2, "0")}`;
}
