/**
 * The audit of a published log (C2SP tlog-tiles), read from a directory of
 * its files as a mirror or nginx would hold them: clean, then with an entry
 * edited, an entry deleted, a tile truncated and an upper tile changed, each
 * named by the tile and the leaf. Nothing here reads the store the files
 * were published from.
 */
import { mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { encodeEntryBundle, entriesPath, parseEntryBundle, tilePath, widthAt } from "../../service/format";
import { tileQueriesReader } from "../../service/publish/continuous";
import { StaticLogDir } from "../../service/publish/static-dir";
import { TileQueries } from "../../service/queries/tiles";
import { runAudit, type AuditReport, type ChainReader } from "../../scripts/lib/audit";
import { AuditError } from "../../scripts/lib/audit/errors";
import { TlogSource } from "../../scripts/lib/audit/tlog";
import { ACTORS, applicationRequest, creditCode, submit } from "../helpers/ledger-fixtures";
import { buildDb, signedCheckpoint, tempDir, VERIFIER, type DbWorld } from "./helpers";

async function auditTlog(dir: string, chain: ChainReader): Promise<AuditReport> {
  const source = await TlogSource.open(dir);
  return runAudit({ source, chain, verifiers: [VERIFIER], workers: 0 });
}

/** Copies the store's whole tree, as /tlog/ serves it, into `dir`. */
async function publish(w: DbWorld, dir: string): Promise<void> {
  const note = await signedCheckpoint(w.store);
  const tiles = new TileQueries({ store: w.store, published: async () => ({ size: w.ledger.size, note }) });
  await (await StaticLogDir.open(dir)).publish(tileQueriesReader(tiles));
}

async function editBundle(dir: string, index: number, size: number, f: (entries: Uint8Array[]) => Uint8Array[]): Promise<void> {
  const file = path.join(dir, entriesPath(index, widthAt("entries", index, size)));
  await writeFile(file, encodeEntryBundle(f(parseEntryBundle(await readFile(file), widthAt("entries", index, size)))));
}

describe("the audit of a published log (tiles in a directory)", function () {
  this.timeout(300_000);
  let tmp: { dir: string; remove: () => Promise<void> };
  let w: DbWorld;
  let pub: string;

  before(async () => {
    tmp = await tempDir();
    w = await buildDb(path.join(tmp.dir, "data"), (n) => [3, 10, n]);
    // More than one full tile, so that level 1 has a tile too.
    for (let k = 0; w.ledger.size < 300; k++)
      await submit(w.ledger, ACTORS.clerkB, "application", applicationRequest(w.ids.p1!, { creditCode: creditCode(100 + k) }));
    await w.chain.anchor(w.store, w.ledger.size);
  });
  after(async () => {
    await w.close();
    await tmp.remove();
  });
  beforeEach(async () => {
    pub = path.join(tmp.dir, `pub-${Math.random().toString(16).slice(2)}`);
    await publish(w, pub);
  });

  describe("when the directory given does not exist", () => {
    it("says there is no such directory (a usage error), not that the log publishes no checkpoint", async () => {
      const missing = path.join(tmp.dir, "no-such-dir");
      const err = await TlogSource.open(missing).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(AuditError);
      expect((err as AuditError).code).to.equal("USAGE");
      expect((err as AuditError).message).to.equal(`--tlog ${missing}: no such directory`);
    });

    it("still says an existing directory without a checkpoint publishes none", async () => {
      const empty = path.join(tmp.dir, `empty-${Math.random().toString(16).slice(2)}`);
      await mkdir(empty);
      const err = await TlogSource.open(empty).then(() => null, (e: unknown) => e);
      expect((err as AuditError).message).to.include("publishes no checkpoint");
    });
  });

  describe("when the files are as published", () => {
    it("reports clean, having replayed every entry and compared every tile", async () => {
      const r = await auditTlog(pub, w.chain.reader);
      expect(r.discrepancies.listed, JSON.stringify(r.discrepancies.listed, null, 1)).to.deep.equal([]);
      expect(r.ok).to.equal(true);
      expect(r.entries.count).to.equal(w.ledger.size);
      expect(r.checkpoints).to.deep.include({ onChain: 4, checked: 4, matched: 4 });
      expect(r.published).to.have.length(1);
      expect(r.published[0]).to.include({ signature: "valid", size: w.ledger.size });
    });
  });

  describe("when an entry in a bundle was edited", () => {
    it("names the leaf whose published hash no longer matches, and the anchored root it breaks", async () => {
      const size = w.ledger.size;
      await editBundle(pub, 0, size, (es) => es.map((e, i) => (i === 5 ? new TextEncoder().encode(new TextDecoder().decode(e).replace('"v":1', '"v":1 ')) : e)));
      const r = await auditTlog(pub, w.chain.reader);
      expect(r.ok).to.equal(false);
      const tile = r.discrepancies.listed.filter((d) => d.kind === "tile-mismatch");
      // The level-0 tile's hash for leaf 5, and the level-1 tile's hash of leaves 0–255 that the edit changed.
      expect(tile.map((d) => d.leafIndex)).to.deep.equal([5, 0]);
      expect(tile[0]!.message).to.include(tilePath(0, 0)).and.include("leaf 5");
      expect(tile[1]!.message).to.include(tilePath(1, 0, widthAt(1, 0, size))).and.include("leaves 0–255");
      expect(r.discrepancies.byKind["root-mismatch"]).to.be.greaterThan(0);
      expect(r.discrepancies.firstBadIndex).to.equal(5);
    });
  });

  describe("when an entry was deleted from a bundle", () => {
    it("names the bundle, and the leaves it no longer gives", async () => {
      const size = w.ledger.size;
      await editBundle(pub, 0, size, (es) => es.filter((_, i) => i !== 7));
      const r = await auditTlog(pub, w.chain.reader);
      expect(r.ok).to.equal(false);
      const tile = r.discrepancies.listed.filter((d) => d.kind === "tile-mismatch");
      expect(tile[0]!.message).to.include(entriesPath(0, 256)).and.include("255 entries, expected 256");
      expect(r.discrepancies.byKind["leaf-order"]).to.equal(1);
      expect(r.discrepancies.firstBadIndex).to.equal(0);
    });
  });

  describe("when an entry bundle was truncated, and later entries name entries it held", () => {
    it("names the bundle and the missing leaves first, and sums up the entries that name a lost one in one finding", async () => {
      const size = w.ledger.size;
      await editBundle(pub, 0, size, (es) => es.slice(0, 200));
      const r = await auditTlog(pub, w.chain.reader);
      const d = r.discrepancies;
      expect(d.listed[0]!.kind).to.equal("tile-mismatch");
      expect(d.listed[1]!.kind).to.equal("leaf-order");
      expect(d.listed[1]!.leafIndex).to.equal(0);
      const refs = d.listed.filter((x) => x.rule === "reference-exists");
      expect(refs).to.have.length(1);
      expect(refs[0]!.kind).to.equal("invariant");
      expect(refs[0]!.leafIndex).to.equal(0);
      // Every entry past the bundle is an application of the programme the bundle held.
      expect(refs[0]!.message).to.match(new RegExp(`^${size - 256} entries after the leaves missing from leaf 0 name an entry the source does not hold, as the gap implies; the first: application app_[0-9a-f]{24} at leaf 256: programmeId: no earlier entry ${w.ids.p1}$`));
      expect(d.byKind["invariant"]).to.equal(1);
      expect(d.total).to.be.lessThan(10);
    });
  });

  describe("when a hash tile was truncated", () => {
    it("names the tile", async () => {
      const size = w.ledger.size;
      const file = path.join(pub, tilePath(0, 1, widthAt(0, 1, size)));
      await truncate(file, 40);
      const r = await auditTlog(pub, w.chain.reader);
      expect(r.ok).to.equal(false);
      const tile = r.discrepancies.listed.filter((d) => d.kind === "tile-mismatch");
      expect(tile).to.have.length(1);
      expect(tile[0]!.message).to.include(tilePath(0, 1, widthAt(0, 1, size)));
      // The entries themselves are intact: the tree they give is the anchored one.
      expect(r.discrepancies.byKind["root-mismatch"] ?? 0).to.equal(0);
    });
  });

  describe("when a tile above level 0 was changed", () => {
    it("names the tile and the leaves its changed hash stands for", async () => {
      const size = w.ledger.size;
      const file = path.join(pub, tilePath(1, 0, widthAt(1, 0, size)));
      const bytes = await readFile(file);
      bytes[3] = bytes[3]! ^ 1;
      await writeFile(file, bytes);
      const r = await auditTlog(pub, w.chain.reader);
      expect(r.ok).to.equal(false);
      const tile = r.discrepancies.listed.filter((d) => d.kind === "tile-mismatch");
      expect(tile).to.have.length(1);
      expect(tile[0]!.message).to.include(tilePath(1, 0, widthAt(1, 0, size))).and.include("leaves 0–255");
    });
  });
});
