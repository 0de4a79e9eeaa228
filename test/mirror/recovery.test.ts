/**
 * The recovery path of the README, with a real ledger: the agency restores
 * its last backup (older than the published log), then `npm run admin --
 * rebuild-from-mirror` appends the entries the backup lacks from a mirror,
 * giving the published root; the backup's openings are kept, the imported
 * entries have none.
 */
import { expect } from "chai";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../scripts/admin";
import { dirLogReader } from "../../service/format/log-reader";
import { CompactRange, noteKeyFromSeed, parseSignerKey, parseVerifierKey, signCheckpoint, toHex } from "../../service/log";
import { Ledger } from "../../service/ledger/ledger";
import { Mirror } from "../../service/mirror/mirror";
import { tileQueriesReader } from "../../service/publish/continuous";
import { StaticLogDir } from "../../service/publish/static-dir";
import { TileQueries } from "../../service/queries/tiles";
import { LevelStore } from "../../service/store/level";
import { ACTORS, applicationRequest, programmeRequest, submit } from "../helpers/ledger-fixtures";
import { TLOG_KEYS, TLOG_ORIGIN } from "../tlog/fixture";

async function run(args: string[]): Promise<{ code: number; err: string }> {
  let err = "";
  const e = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await runCli(args), err };
  } finally {
    process.stderr.write = e;
  }
}

describe("recovering a lost data directory from a backup and a mirror", function () {
  this.timeout(120_000);
  let tmp: string;
  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "ledger-recovery-"));
  });
  after(async function () {
    await rm(tmp, { recursive: true, force: true });
  });

  it("rebuilds the published root on the restored backup, keeping the backup's openings", async function () {
    const data = path.join(tmp, "data");
    const backup = path.join(tmp, "backup");
    const published = path.join(tmp, "published");
    const mirrorDir = path.join(tmp, "mirror");
    let store = await LevelStore.open(data);
    let ledger = await Ledger.open({ store });
    const prg = (await submit(ledger, ACTORS.admin, "programme", programmeRequest({ opensOn: "2000-01-01", closesOn: "2099-12-31" }))).body.id;
    const app1 = (await submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg))).body.id;
    await ledger.close();
    await store.close();
    // The backup: a copy of the stopped service's data directory.
    await cp(data, backup, { recursive: true });

    store = await LevelStore.open(data);
    ledger = await Ledger.open({ store });
    const app2 = (await submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg))).body.id;
    await ledger.close();
    const head = await store.head();
    const root = new CompactRange(head.size, head.compact).root();
    const note = signCheckpoint({ origin: TLOG_ORIGIN, size: head.size, rootHash: root, extensions: [] }, parseSignerKey(TLOG_KEYS.signerKey));
    await (await StaticLogDir.open(published)).publish(tileQueriesReader(new TileQueries({ store, published: async () => ({ size: head.size, note }) })));
    await store.close();
    await (await Mirror.open(mirrorDir, { verifier: parseVerifierKey(TLOG_KEYS.verifierKey) })).sync(dirLogReader(published, (p) => readFile(p)));

    await rm(data, { recursive: true, force: true }); // The disk is lost.
    const r = await run(["--data-dir", backup, "rebuild-from-mirror", "--from", mirrorDir, "--log-key", TLOG_KEYS.verifierKey]);
    expect(r.code, r.err).to.equal(0);
    expect(r.err).to.include(`rebuilt the log to 3 entries (the store held 2), root ${toHex(root)}`);
    expect(r.err).to.include("the 1 entries imported have no private openings");

    const restored = await LevelStore.open(backup);
    try {
      const h = await restored.head();
      expect(toHex(new CompactRange(h.size, h.compact).root())).to.equal(toHex(root));
      expect(await restored.openings(app1), "the backup's openings").to.not.equal(undefined);
      expect(await restored.openings(app2), "an imported entry's openings").to.equal(undefined);
      expect(await restored.indexOf(app2)).to.equal(2);
    } finally {
      await restored.close();
    }
  });

  it("exits 2 for a log key that does not parse, and 1 for a copy under another key, writing nothing", async function () {
    const data = path.join(tmp, "empty");
    expect((await run(["--data-dir", data, "rebuild-from-mirror", "--from", path.join(tmp, "mirror"), "--log-key", "not-a-key"])).code).to.equal(2);
    const other = noteKeyFromSeed(TLOG_ORIGIN, new Uint8Array(32).fill(9)).verifierKey;
    const r = await run(["--data-dir", data, "rebuild-from-mirror", "--from", path.join(tmp, "mirror"), "--log-key", other]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/CHECKPOINT_INVALID/);
    const store = await LevelStore.open(data);
    try {
      expect((await store.head()).size).to.equal(0);
    } finally {
      await store.close();
    }
  });
});
