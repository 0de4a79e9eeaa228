/**
 * When the anchorer sends a checkpoint: the cadence rule, kept apart from the
 * loop so it can be tested on its own with a fake clock.
 *
 * The rule. A checkpoint is due when `everyEntries` entries are not covered
 * by any checkpoint sent, or when the oldest such entry has waited `everyMs`
 * (from the moment the anchorer saw it, or, for entries already in the log
 * when it started, from when they were recorded), whichever comes first.
 *
 * Why two thresholds. An anchor costs a roughly fixed amount of gas whatever
 * its size, so gas per entry is that cost divided by the checkpoint's size.
 * A fast stream reaches `everyEntries` long before `everyMs`: checkpoints of
 * `everyEntries` entries go out as soon as they fill (several per block, with
 * several in flight), so an entry waits about everyEntries / rate before it
 * is sent. A slow trickle reaches `everyMs` first: the checkpoint grows for
 * `everyMs`, amortising the fixed cost over rate × everyMs entries, and no
 * entry waits longer than `everyMs` to be sent. With the defaults (1,000
 * entries, 5,000 ms) any rate of at least 1000 / 5 = 200 entries/s sends
 * checkpoints of about 1,000 entries; a slower one sends smaller checkpoints
 * every 5 s, which cost more gas per entry but bound the delay.
 *
 * An entry is then anchored within about min(everyMs, everyEntries / rate)
 * + the block period + the receipt poll interval. `everyMs` must stay well
 * below the health limit LEDGER_ANCHOR_MAX_DELAY_MS (config.ts refuses a
 * cadence that would turn health red on its own).
 */

/** The defaults, also those of LEDGER_ANCHOR_EVERY_ENTRIES and LEDGER_ANCHOR_EVERY_MS. */
export const DEFAULT_EVERY_ENTRIES = 1000;
export const DEFAULT_EVERY_MS = 5000;

export class AnchorCadence {
  /** Clock time the oldest entry not covered by a sent checkpoint was first seen; undefined when every entry is covered (or none seen yet). */
  private _unsentSince: number | undefined;

  /**
   * @param everyEntries a positive integer
   * @param everyMs a non-negative number of milliseconds
   * @param now the anchorer's clock
   */
  constructor(
    readonly everyEntries: number,
    readonly everyMs: number,
    private readonly now: () => number,
  ) {}

  /** The log grew: its new entries wait from now, unless older ones already wait. */
  grew(): void {
    this._unsentSince ??= this.now();
  }

  /**
   * Entries not covered by a sent checkpoint have already waited since `since`
   * (this clock's milliseconds): a new leader, or a restarted service, takes
   * over entries its predecessor never sent, and their wait counts from when
   * they were recorded, not from when this anchorer first saw them, so a
   * takeover does not add a second `everyMs` to their delay. A time in the
   * future counts as now.
   */
  waitingSince(since: number): void {
    const t = Math.min(since, this.now());
    this._unsentSince = this._unsentSince === undefined ? t : Math.min(this._unsentSince, t);
  }

  /**
   * Milliseconds until a checkpoint is due for a log of `size` entries of
   * which `sentSize` are covered by a sent checkpoint: 0 when due now,
   * Infinity when nothing is uncovered. Never more than `everyMs`.
   */
  untilDueMs(size: number, sentSize: number): number {
    if (size <= sentSize) return Infinity;
    if (size - sentSize >= this.everyEntries) return 0;
    const now = this.now();
    this._unsentSince ??= now;
    return Math.max(0, this._unsentSince + this.everyMs - now);
  }

  /**
   * A checkpoint covering `sentSize` entries was sent; building it began at
   * `builtFrom`. Entries appended meanwhile (`size` > `sentSize`) are not
   * covered: their wait counts from no later than `builtFrom`.
   */
  sent(builtFrom: number, size: number, sentSize: number): void {
    this._unsentSince = size > sentSize ? builtFrom : undefined;
  }
}
