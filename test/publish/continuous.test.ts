/**
 * Continuous publishing (service/publish/continuous.ts, LEDGER_TLOG_DIR): the
 * directory follows the published checkpoint; a failed copy is logged and
 * retried, leaving the last good checkpoint in place.
 */
import { expect } from "chai";
import { Writable } from "node:stream";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { ContinuousPublisher } from "../../service/publish/continuous";
import { tlogFixture, type TlogFixture } from "../tlog/fixture";

describe("continuous publishing", function () {
  this.timeout(60_000);
  let fx: TlogFixture;
  let dir: string;
  const lines: string[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  const checkpointSize = async () => (await readFile(join(dir, "checkpoint"), "utf8").catch(() => "\n")).split("\n")[1];
  const until = async (cond: () => Promise<boolean>) => {
    for (let i = 0; i < 200; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("timed out");
  };

  before(async function () {
    fx = await tlogFixture(1200);
  });
  after(async function () {
    await fx?.cleanup();
  });
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), "ledger-continuous-"));
    lines.length = 0;
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes nothing while nothing is published, then follows the published checkpoint as it moves", async function () {
    fx.publish(null);
    const p = await ContinuousPublisher.start({ dir, tiles: fx.tiles, logger, everyMs: 20 });
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(await checkpointSize()).to.equal("");
      fx.publish(300);
      await until(async () => (await checkpointSize()) === "300");
      fx.publish(1200);
      await until(async () => (await checkpointSize()) === "1200");
    } finally {
      await p.close();
    }
    expect(lines.some((l) => l.includes("published the log's tiles"))).to.equal(true);
  });

  it("logs a failed copy, keeps the last good checkpoint, and succeeds on a later tick", async function () {
    fx.publish(300);
    let failing = false;
    const tiles = {
      checkpoint: () => fx.tiles.checkpoint(),
      async resource(r: Parameters<typeof fx.tiles.resource>[0]) {
        if (failing) throw new Error("store unavailable");
        return fx.tiles.resource(r);
      },
    };
    const p = await ContinuousPublisher.start({ dir, tiles, logger, everyMs: 20 });
    try {
      await until(async () => (await checkpointSize()) === "300");
      failing = true;
      fx.publish(900);
      await until(async () => lines.some((l) => l.includes("publishing the log's tiles failed") && l.includes("store unavailable")));
      expect(await checkpointSize()).to.equal("300");
      failing = false;
      await until(async () => (await checkpointSize()) === "900");
    } finally {
      await p.close();
    }
  });
});
