/**
 * The running service (service/main.ts) publishes at /tlog/ only what the
 * chain has anchored: nothing before the first anchoring, then the anchored
 * checkpoint and its tiles. Uses the default local anvil, as main.test.ts does.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { dirLogReader, rootFromTiles } from "../../service/format/log-reader";
import { parseHashTile } from "../../service/format/tiles";
import { hashLeaf, parseVerifierKey, toHex, verifyCheckpoint } from "../../service/log";
import { startService } from "../../service/main";
import { recordProgramme, publishedCheckpoint } from "../helpers/service-http";

describe("the running service's /tlog/", function () {
  this.timeout(120_000);
  let dir: string;
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-tlog-main-"));
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it("publishes nothing before anchoring, then the anchored checkpoint, whose level-0 tile holds the entry's leaf hash, and copies it to LEDGER_TLOG_DIR", async function () {
    const tlogDir = path.join(dir, "public-tlog");
    const env = { PORT: "0", LEDGER_DATA_DIR: dir, LOG_LEVEL: "silent", LEDGER_ANCHOR_EVERY_MS: "200", LEDGER_TLOG_DIR: tlogDir };
    const config = loadConfig(env);
    const service = await startService(config, pino({ level: "silent" }), { chain: loadChainConfig(env, config.dataDir) });
    try {
      const before = await fetch(`${service.url}/tlog/checkpoint`);
      expect(before.status).to.equal(404);
      expect(before.headers.get("content-type")).to.match(/^application\/problem\+json/);
      const res = await recordProgramme(service.url, service.firstAdminToken!);
      expect(res.status).to.equal(201);
      const note = await publishedCheckpoint(service.url);
      expect(note, "a checkpoint was published").to.not.equal(undefined);
      const cp = verifyCheckpoint(note!, parseVerifierKey(service.verifierKey), config.origin);
      expect(cp.size).to.equal(1);
      expect(note).to.equal(service.chain!.anchorer.anchored!.signedCheckpoint);
      const tile = parseHashTile(new Uint8Array(await (await fetch(`${service.url}/tlog/tile/0/000.p/1`)).arrayBuffer()), 1);
      const bundle = new Uint8Array(await (await fetch(`${service.url}/tlog/tile/entries/000.p/1`)).arrayBuffer());
      expect(toHex(hashLeaf(bundle.subarray(2)))).to.equal(toHex(tile[0]!));
      expect(toHex(tile[0]!)).to.equal(toHex(cp.rootHash));

      // LEDGER_TLOG_DIR: the same checkpoint and tiles appear in the directory.
      let copied = "";
      for (let i = 0; i < 100 && copied !== note; i++) {
        copied = await readFile(path.join(tlogDir, "checkpoint"), "utf8").catch(() => "");
        if (copied !== note) await new Promise((done) => setTimeout(done, 100));
      }
      expect(copied).to.equal(note);
      const copy = dirLogReader(tlogDir, (p) => readFile(p));
      expect(toHex(await rootFromTiles(copy, 1))).to.equal(toHex(cp.rootHash));
      expect(Buffer.from(await copy.readEntryBundle(0, 1)).equals(Buffer.from(bundle))).to.equal(true);
    } finally {
      await service.close();
    }
  });
});
