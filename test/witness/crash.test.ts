import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { verifyCheckpoint } from "../../service/log";
import { directoryStateStore } from "../../service/witness/state";
import { LOG, ORIGIN } from "../log/note-keys";

/** Runs the bundled save loop, kills it with SIGKILL `afterMs` after its first save, and returns the last size it acknowledged. */
function runAndKill(bundle: string, dir: string, afterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, dir], { stdio: ["ignore", "pipe", "inherit"] });
    let last = 0;
    let buffered = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const l of lines) last = Number(l.split(" ")[1]);
      if (timer === undefined && last > 0) timer = setTimeout(() => child.kill("SIGKILL"), afterMs);
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => (signal === "SIGKILL" ? resolve(last) : reject(new Error(`save loop exited without being killed (${signal})`))));
  });
}

describe("witness state under kill -9", () => {
  let bundle: string;
  before(() => {
    // Bundled once so each child starts in milliseconds and many kills fit in one test.
    bundle = path.join(mkdtempSync(path.join(tmpdir(), "witness-crash-bundle-")), "save-loop.js");
    buildSync({ entryPoints: [path.join(__dirname, "save-loop.ts")], bundle: true, platform: "node", target: "node20", outfile: bundle, logLevel: "warning" });
  });

  it("holds, after each of 12 kills at varied moments, the last acknowledged checkpoint or the next one, whole", async () => {
    for (let i = 0; i < 12; i++) {
      const dir = mkdtempSync(path.join(tmpdir(), "witness-crash-"));
      const acknowledged = await runAndKill(bundle, dir, (i * 7) % 40);
      expect(acknowledged).to.be.greaterThan(0);
      const latest = await directoryStateStore(dir).latest(ORIGIN);
      expect(latest, `state after kill ${i}`).to.not.equal(undefined);
      expect([acknowledged, acknowledged + 1]).to.include(latest!.checkpoint.size);
      // Whole: the stored note still verifies under the log key.
      expect(verifyCheckpoint(latest!.note, LOG.verifier, ORIGIN).size).to.equal(latest!.checkpoint.size);
    }
  });
});
