/**
 * The cadence rule (service/chain/cadence.ts) on a fake clock: a slow trickle
 * waits up to everyMs and its checkpoints grow; a fast stream is due each
 * time everyEntries entries are uncovered; no entry waits longer than everyMs
 * to be sent. Simulated streams replay the anchorer's use of the rule
 * (grew on each commit, sent when due) with no timers.
 */
import { expect } from "chai";
import { AnchorCadence, DEFAULT_EVERY_ENTRIES, DEFAULT_EVERY_MS } from "../../service/chain/cadence";

class Time {
  t = 1_000_000;
  readonly now = () => this.t;
}

/**
 * Replays `seconds` of a stream at `rate` entries/s, committed in groups of `batch`, against the rule,
 * sending a checkpoint whenever it is due. Returns the sizes of the checkpoints sent and each entry's
 * wait (ms) before a checkpoint covering it was sent.
 */
function replay(rate: number, seconds: number, batch = 20, everyEntries = DEFAULT_EVERY_ENTRIES, everyMs = DEFAULT_EVERY_MS) {
  const time = new Time();
  const cadence = new AnchorCadence(everyEntries, everyMs, time.now);
  const start = time.t;
  const appendedAt: number[] = [];
  const checkpoints: number[] = [];
  const waits: number[] = [];
  let sent = 0;
  const send = () => {
    for (let i = sent; i < appendedAt.length; i++) waits.push(time.t - appendedAt[i]!);
    checkpoints.push(appendedAt.length - sent);
    sent = appendedAt.length;
    cadence.sent(time.t, appendedAt.length, sent);
  };
  const stepMs = (1000 * batch) / rate;
  let nextCommit = start;
  const end = start + seconds * 1000;
  while (time.t < end) {
    // Advance to the next event: a commit, or the moment the cadence makes a checkpoint due.
    const due = cadence.untilDueMs(appendedAt.length, sent);
    const next = Math.min(nextCommit, due === Infinity ? Infinity : time.t + due);
    time.t = next;
    if (time.t === nextCommit) {
      for (let i = 0; i < batch; i++) appendedAt.push(time.t);
      cadence.grew();
      nextCommit += stepMs;
    }
    if (cadence.untilDueMs(appendedAt.length, sent) === 0) send();
  }
  return { checkpoints, waits };
}

describe("the anchoring cadence", function () {
  describe("with nothing uncovered", function () {
    it("is never due", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      expect(c.untilDueMs(0, 0)).to.equal(Infinity);
      time.t += 1e9;
      expect(c.untilDueMs(5, 5)).to.equal(Infinity);
    });
  });

  describe("with fewer than everyEntries uncovered", function () {
    it("is due exactly everyMs after the oldest uncovered entry was seen, and not a millisecond before", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      c.grew();
      time.t += 400;
      c.grew(); // a later entry does not restart the wait
      expect(c.untilDueMs(3, 0)).to.equal(600);
      time.t += 599;
      expect(c.untilDueMs(3, 0)).to.equal(1);
      time.t += 1;
      expect(c.untilDueMs(3, 0)).to.equal(0);
    });

    it("counts the wait of entries appended while a checkpoint was built from when building began", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      c.grew();
      time.t += 1000;
      const builtFrom = time.t;
      time.t += 300; // building and sending took 300 ms, and 2 entries came meanwhile
      c.sent(builtFrom, 5, 3);
      expect(c.untilDueMs(5, 3)).to.equal(700);
    });

    it("starts afresh after a checkpoint that covered everything", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      c.grew();
      time.t += 1000;
      c.sent(time.t, 3, 3);
      time.t += 5000;
      c.grew();
      expect(c.untilDueMs(4, 3)).to.equal(1000);
    });
  });

  describe("with entries that waited before this anchorer saw them (a takeover or a restart)", function () {
    it("is due everyMs after they were recorded, not after they were seen", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      c.grew();
      c.waitingSince(time.t - 700);
      expect(c.untilDueMs(3, 0)).to.equal(300);
    });

    it("keeps an older wait, and counts a time in the future as now", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      c.waitingSince(time.t - 700);
      c.waitingSince(time.t - 200);
      expect(c.untilDueMs(3, 0)).to.equal(300);
      const d = new AnchorCadence(10, 1000, time.now);
      d.waitingSince(time.t + 60_000);
      expect(d.untilDueMs(3, 0)).to.equal(1000);
    });
  });

  describe("with everyEntries uncovered", function () {
    it("is due at once, however recent the entries", function () {
      const time = new Time();
      const c = new AnchorCadence(10, 1000, time.now);
      c.grew();
      expect(c.untilDueMs(10, 0)).to.equal(0);
      expect(c.untilDueMs(25, 15)).to.equal(0);
      expect(c.untilDueMs(24, 15)).to.equal(1000);
    });
  });

  describe("with the defaults", function () {
    it("are 1,000 entries or 5,000 ms", function () {
      expect([DEFAULT_EVERY_ENTRIES, DEFAULT_EVERY_MS]).to.deep.equal([1000, 5000]);
    });

    it("a slow trickle of 200 entries/s sends checkpoints of 1,000 entries, each entry waiting at most 5 s", function () {
      const { checkpoints, waits } = replay(200, 60);
      expect(checkpoints.length).to.equal(12);
      for (const n of checkpoints) expect(n).to.equal(1000);
      expect(Math.max(...waits)).to.be.at.most(DEFAULT_EVERY_MS);
    });

    it("a slower trickle of 50 entries/s is sent every 5 s: the delay stays bounded, the checkpoints smaller", function () {
      const { checkpoints, waits } = replay(50, 60, 1);
      expect(checkpoints.length).to.be.within(11, 12);
      for (const n of checkpoints) expect(n).to.be.within(249, 251);
      expect(Math.max(...waits)).to.equal(DEFAULT_EVERY_MS);
    });

    it("a fast stream of 3,000 entries/s sends a checkpoint per 1,000 entries, several per 2 s block, each entry waiting at most a third of a second", function () {
      const { checkpoints, waits } = replay(3000, 20);
      expect(checkpoints.length).to.equal(60);
      for (const n of checkpoints) expect(n).to.equal(1000);
      expect(Math.max(...waits)).to.be.at.most(Math.ceil((1000 * 1000) / 3000));
    });
  });

  describe("at any rate", function () {
    it("never lets an entry wait longer than everyMs before it is sent", function () {
      for (const rate of [1, 7, 120, 999, 1001, 4000]) {
        const { waits } = replay(rate, 30, 1, 1000, 2000);
        expect(Math.max(...waits), `at ${rate} entries/s`).to.be.at.most(2000);
      }
    });
  });
});
