import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { startWitness } from "../../service/witness/server";
import { lockStateDir, WitnessStateLockedError } from "../../service/witness/state";
import { LOG, ORIGIN, WITNESS } from "../log/note-keys";

function start(stateDir: string) {
  return startWitness({ signer: WITNESS.signer, logs: new Map([[ORIGIN, [LOG.verifier]]]), stateDir, host: "127.0.0.1", port: 0, logger: pino({ level: "silent" }) });
}

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
}

describe("witness state directory lock", () => {
  it("refuses a second witness on the same directory while the first runs, and allows it after", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "witness-lock-"));
    const first = await start(dir);
    let thrown: unknown;
    try {
      await start(dir);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).to.be.instanceOf(WitnessStateLockedError);
    await first.close();
    expect(existsSync(path.join(dir, "witness.lock"))).to.equal(false);
    await (await start(dir)).close();
  });
  it("takes over a lock left by a dead process, and removes temp files a killed save left", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "witness-lock-"));
    mkdirSync(path.join(dir, "checkpoints"), { recursive: true });
    writeFileSync(path.join(dir, "witness.lock"), `${deadPid()}\n`);
    writeFileSync(path.join(dir, "checkpoints", ".abc.123.1.tmp"), "torn");
    const release = await lockStateDir(dir);
    expect(readdirSync(path.join(dir, "checkpoints"))).to.deep.equal([]);
    await release();
  });
});
