/**
 * A mirror of a real ledger's published log, checked against the anchor
 * contract on Hardhat's chain (the check `--rpc/--contract` makes), then
 * served with --serve's app and audited clean by the auditor from tiles,
 * as `npm run verify -- --tlog http://…/tlog` does.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { runAudit } from "../../scripts/lib/audit";
import { TlogSource } from "../../scripts/lib/audit/tlog";
import { AnchorReader } from "../../service/format/anchor";
import { dirLogReader } from "../../service/format/log-reader";
import { Mirror, MirrorRefusal } from "../../service/mirror/mirror";
import { mirrorApp } from "../../service/mirror/serve";
import { tileQueriesReader } from "../../service/publish/continuous";
import { StaticLogDir } from "../../service/publish/static-dir";
import { TileQueries } from "../../service/queries/tiles";
import { buildDb, signedCheckpoint, tempDir, VERIFIER, type DbWorld } from "../audit/helpers";
import { serve } from "./helpers";

describe("a mirror of a ledger anchored on a chain", function () {
  this.timeout(300_000);
  let tmp: { dir: string; remove: () => Promise<void> };
  let w: DbWorld;
  before(async function () {
    tmp = await tempDir("mirror-audit-");
    w = await buildDb(path.join(tmp.dir, "data"));
  });
  after(async function () {
    await w?.close();
    await tmp?.remove();
  });

  /** The store's tree at `size`, published into a directory as the service's /tlog/ would serve it. */
  async function published(size: number): Promise<string> {
    const dir = path.join(tmp.dir, `pub-${size}`);
    const note = await signedCheckpoint(w.store, undefined, size);
    await (await StaticLogDir.open(dir)).publish(tileQueriesReader(new TileQueries({ store: w.store, published: async () => ({ size, note }) })));
    return dir;
  }

  it("refuses a checkpoint the contract does not hold, takes the anchored one, and its served copy audits clean", async function () {
    const mirrorDir = path.join(tmp.dir, "mirror");
    const anchor = new AnchorReader(network.provider, w.chain.address);
    const m = await Mirror.open(mirrorDir, { verifier: VERIFIER, anchor });
    const read = (dir: string) => dirLogReader(dir, (p) => readFile(p));

    let refused: unknown;
    await m.sync(read(await published(w.size - 1))).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(MirrorRefusal);
    expect((refused as MirrorRefusal).code).to.equal("NOT_ANCHORED");

    expect((await m.sync(read(await published(17)))).size).to.equal(17);
    expect((await m.sync(read(await published(w.size)))).size).to.equal(w.size);

    const served = await serve(mirrorApp({ dir: mirrorDir }));
    try {
      const report = await runAudit({ source: await TlogSource.open(`${served.url}/tlog`), chain: w.chain.reader, verifiers: [VERIFIER], workers: 0 });
      expect(report.discrepancies.listed, JSON.stringify(report.discrepancies.listed, null, 1)).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      expect(report.entries.count).to.equal(w.size);
    } finally {
      await served.close();
    }
  });
});
