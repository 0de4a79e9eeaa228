/**
 * The ledger's calendar. Calendar dates in entries (a programme's opening and
 * closing days, a payout's date) are civil dates in China Standard Time
 * (UTC+8, no daylight saving): an entry recorded at 2026-11-30T17:00:00Z
 * falls on 2026-12-01. The service's rules and the auditor's replay both
 * read dates through {@link cstDate}, so they cannot disagree on a day.
 */

const DAY_MS = 86_400_000;
/** China Standard Time is UTC+8 all year. */
export const CST_OFFSET_MS = 8 * 3_600_000;
/** The last day formatted, and its date: entries come in time order, so most share it (formatting a Date is slow, and this is called per entry). */
let last = { day: NaN, date: "" };

/** The civil date (YYYY-MM-DD) in China Standard Time of an instant, in ms since the epoch. */
export function cstDate(ms: number): string {
  const day = Math.floor((ms + CST_OFFSET_MS) / DAY_MS);
  if (day !== last.day) last = { day, date: new Date(day * DAY_MS).toISOString().slice(0, 10) };
  return last.date;
}
