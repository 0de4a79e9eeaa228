/**
 * `npm run mirror` against the running service (service/main.ts, on the
 * default local anvil, as test/tlog/service.test.ts starts it): it syncs the
 * published log with every check on, the chain's through --rpc/--contract.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { dirLogReader, rootFromTiles } from "../../service/format/log-reader";
import { parseVerifierKey, toHex, verifyCheckpoint } from "../../service/log";
import { startService } from "../../service/main";
import { recordProgramme, publishedCheckpoint } from "../helpers/service-http";

const ROOT = path.resolve(__dirname, "../..");

function mirror(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/mirror.ts", ...args], { cwd: ROOT }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr })
    );
  });
}

describe("npm run mirror against the running service", function () {
  this.timeout(180_000);
  let dir: string;
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-mirror-main-"));
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("copies the anchored checkpoint and its tiles, checked against the log key and the chain", async function () {
    const env = { PORT: "0", LEDGER_DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent", LEDGER_ANCHOR_EVERY_MS: "200" };
    const config = loadConfig(env);
    const service = await startService(config, pino({ level: "silent" }), { chain: loadChainConfig(env, config.dataDir) });
    try {
      const res = await recordProgramme(service.url, service.firstAdminToken!);
      expect(res.status).to.equal(201);
      const note = await publishedCheckpoint(service.url);
      expect(note, "a checkpoint was published").to.not.equal(undefined);
      const mirrorDir = path.join(dir, "mirror");
      const args = ["--tlog", `${service.url}/tlog`, "--dir", mirrorDir, "--log-key", service.verifierKey, "--once"];
      const chain = ["--rpc", service.chain!.local!.url, "--contract", service.chain!.client.address];
      const r = await mirror([...args, ...chain]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^mirrored size 1 \(was 0\)/);
      const cp = verifyCheckpoint(note!, parseVerifierKey(service.verifierKey), config.origin);
      expect(await readFile(path.join(mirrorDir, "checkpoints", "1"), "utf8")).to.equal(note);
      expect(
        toHex(
          await rootFromTiles(
            dirLogReader(mirrorDir, (p) => readFile(p)),
            1
          )
        )
      ).to.equal(toHex(cp.rootHash));
      // Another contract holds no such checkpoint: refused, the copy kept.
      const wrong = await mirror([...args, "--rpc", service.chain!.local!.url, "--contract", "0x" + "11".repeat(20)]);
      expect(wrong.code, wrong.stderr).to.equal(1);
      expect(wrong.stderr).to.match(/sync failed, the copy is kept \(size 1\)/);
    } finally {
      await service.close();
    }
  });
});
