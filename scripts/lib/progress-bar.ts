/**
 * A progress bar on a terminal's stderr (cli-progress) for the CLIs that go
 * through a whole log: the auditor's replay, a migration's copy. Callers load
 * it only when stderr is a terminal, so nothing else ever draws it.
 */
import { Presets, SingleBar } from "cli-progress";

export interface EntriesBar {
  /** Draws `done` of `total` (the total may grow while the bar runs; unknown: `done`). */
  update(done: number, total?: number): void;
  /** Clears the bar from the terminal. */
  stop(): void;
}

/** "<verb> ███░░░ done/total entries | 0:12 left". */
export function entriesBar(verb: string): EntriesBar {
  const format = `${verb} {bar} {value}/{total} entries | {eta_formatted} left`;
  const bar = new SingleBar({ format, hideCursor: true, clearOnComplete: true, stream: process.stderr, etaBuffer: 50 }, Presets.shades_classic);
  let started = false;
  return {
    update(done, total) {
      const t = Math.max(total ?? done, done);
      if (!started) bar.start(t, done);
      else {
        bar.setTotal(t);
        bar.update(done);
      }
      started = true;
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
