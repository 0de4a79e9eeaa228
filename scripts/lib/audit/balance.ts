/**
 * How many of each batch's entries the leaf worker proves from their bytes
 * (./entry-facts.ts); the main thread proves the others. So that the two
 * threads finish together.
 *
 * Why adaptive: proving an entry costs either thread about the same, so the
 * share moves work between them at will; which one is behind depends on the
 * machine, its load and the ledger, and on this project's shared VM it
 * changes within minutes. So each batch's share is set from how long the
 * last batch took each thread: the worker's time to process it, the main
 * thread's time between waits. (Watching only whether a result was ready
 * when the main thread came to it, the share swung from end to end: behind
 * a queue of eight batches in flight that signal is the integral of the
 * imbalance.) Findings do not depend on the share, only the time.
 */
export class FactsShare {
  private _share: number;

  /**
   * `share`: the fraction of a batch's leaves the worker proves to begin
   * with; `gain`: how much of an imbalance one observation corrects.
   */
  constructor(
    share = 1,
    private readonly _gain = 0.2,
  ) {
    this._share = clamp(share);
  }

  get share(): number {
    return this._share;
  }

  /** How many leaves of an `n`-leaf batch the worker is to prove (the first ones). */
  of(n: number): number {
    return Math.round(this._share * n);
  }

  /**
   * After a batch: `main` and `worker`, the time each thread spent on it
   * (any unit). The share moves by the imbalance, a fraction of it at a time
   * since the batches in flight were sent with older shares.
   */
  observe(main: number, worker: number): void {
    if (!(main + worker > 0)) return;
    this._share = clamp(this._share + this._gain * ((main - worker) / (main + worker)));
  }
}

const clamp = (x: number) => Math.min(1, Math.max(0, x));
