/**
 * The mirror (service/mirror): syncs a verified copy from a log's /tlog/,
 * resumes after a crash, refuses a log that forks, shrinks, is not signed by
 * its key, serves bad tiles, lacks its witness quorum or is not anchored, and
 * keeps its copy when it refuses.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { checkTiles, dirLogReader, httpLogReader, type LogReader } from "../../service/format/log-reader";
import { parseWitnessPolicy } from "../../service/format/witness-policy";
import { cosignCheckpoint, cosignerKeyOf, noteKeyFromSeed, parseSignerKey, parseVerifierKey, toHex } from "../../service/log";
import { Mirror, MirrorRefusal, type MirrorOptions } from "../../service/mirror/mirror";
import { rootFromTiles } from "../../service/format/log-reader";
import { checkpointNote, TLOG_KEYS, TLOG_ORIGIN, tlogFixture, type TlogFixture } from "../tlog/fixture";
import { entry, memoryLog, serve, tlogApp, type Served } from "./helpers";

const VERIFIER = parseVerifierKey(TLOG_KEYS.verifierKey);
const MAIN = Array.from({ length: 1500 }, (_, i) => entry(i));
/** The same log up to entry 299, different from entry 300 on. */
const FORK = MAIN.map((e, i) => (i < 300 ? e : entry(i, "fork")));

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

async function refusal(p: Promise<unknown>): Promise<MirrorRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MirrorRefusal) return e;
    throw e;
  }
  throw new Error("expected a MirrorRefusal");
}

describe("the mirror", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-mirror-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });
  const open = (options: Partial<MirrorOptions> = {}) => Mirror.open(dir, { verifier: VERIFIER, ...options });
  const copy = () => dirLogReader(dir, (p) => readFile(p));

  describe("syncing from a service's /tlog/", function () {
    let fx: TlogFixture;
    let up: Served;
    before(async function () {
      fx = await tlogFixture(3000, 500);
      up = await serve(tlogApp(fx.tiles));
    });
    after(async function () {
      await up?.close();
      await fx?.cleanup();
    });

    it("copies the checkpoint and every tile and bundle, then only what is new, keeping every checkpoint in checkpoints/", async function () {
      const upstream = httpLogReader(`${up.url}/tlog`, fetch);
      fx.publish(1000);
      const m = await open();
      const r1 = await m.sync(upstream);
      expect(r1).to.include({ size: 1000, previousSize: 0, newCheckpoint: true });
      expect(toHex(await rootFromTiles(copy(), 1000))).to.equal(toHex(fx.tree.root(1000)));
      expect(await readFile(path.join(dir, "checkpoint"), "utf8")).to.equal(fx.published()!.note);

      fx.publish(3000);
      const r2 = await m.sync(upstream);
      expect(r2).to.include({ size: 3000, previousSize: 1000, newCheckpoint: true });
      await checkTiles(copy(), 3000);
      expect(toHex(await rootFromTiles(copy(), 3000))).to.equal(toHex(fx.tree.root(3000)));
      expect(await m.history()).to.deep.equal([1000, 3000]);
      expect(await readFile(path.join(dir, "checkpoints", "1000"), "utf8")).to.equal(checkpointNote(fx.tree, 1000));

      const r3 = await m.sync(upstream);
      expect(r3).to.include({ size: 3000, previousSize: 3000, newCheckpoint: false, written: 0 });
    });
  });

  describe("after a crash in the middle of a sync", function () {
    it("keeps the old mirror checkpoint, and the next sync resumes to the same root", async function () {
      const m = await open();
      await m.sync(memoryLog(MAIN, 300));
      let renames = 0;
      const crashing = await open({
        beforeRename: () => {
          if (++renames === 9) throw new Error("simulated crash");
        },
      });
      expect((await rejection(crashing.sync(memoryLog(MAIN, 1500)))).message).to.equal("simulated crash");
      expect(await crashing.copy.size()).to.equal(300);
      expect(await crashing.history()).to.deep.equal([300, 1500]);

      const missing = [0, 1, 2, 3, 4, 5].filter((n) => !existsSync(path.join(dir, "tile", "entries", n === 5 ? "005.p/220" : `00${n}`))).length;
      expect(missing, "the crash came after some new bundles were written").to.be.within(1, 4);
      let fetched = 0;
      const upstream = memoryLog(MAIN, 1500);
      const counting: LogReader = { ...upstream, readEntryBundle: (i, w) => (fetched++, upstream.readEntryBundle(i, w)) };
      const r = await (await open()).sync(counting);
      expect(r).to.include({ size: 1500, previousSize: 300 });
      expect(fetched, "bundles written before the crash are not fetched again").to.equal(missing);
      expect(toHex(await rootFromTiles(copy(), 1500))).to.equal(toHex(parseVerifierCheckpointRoot(upstream.note)));
      await checkTiles(copy(), 1500);
    });
  });

  describe("when the log forks", function () {
    it("at the same size: refuses FORKED, keeps its copy, and saves the other checkpoint as evidence", async function () {
      const m = await open();
      await m.sync(memoryLog(MAIN, 600));
      const before = await readFile(path.join(dir, "checkpoint"), "utf8");
      const e = await refusal(m.sync(memoryLog(FORK, 600)));
      expect(e.code).to.equal("FORKED");
      expect(await readFile(path.join(dir, "checkpoint"), "utf8")).to.equal(before);
      expect(await m.history()).to.deep.equal([600]);
      expect(await readdir(path.join(dir, "refused"))).to.have.length(1);
    });

    it("at a later size that does not extend the mirror's: refuses FORKED before writing anything", async function () {
      const m = await open();
      await m.sync(memoryLog(MAIN, 600));
      const e = await refusal(m.sync(memoryLog(FORK, 1500)));
      expect(e.code).to.equal("FORKED");
      expect(e.message).to.match(/does not extend the mirror's of size 600/);
      expect(await m.copy.size()).to.equal(600);
      expect(await m.history()).to.deep.equal([600]);
      expect(await readdir(path.join(dir, "tile", "entries"))).to.deep.equal(["000", "001", "002.p"]);
      // The branch it holds still syncs.
      expect((await m.sync(memoryLog(MAIN, 1500))).size).to.equal(1500);
    });
  });

  describe("when the log shrinks", function () {
    it("refuses SHRUNK and keeps its copy", async function () {
      const m = await open();
      await m.sync(memoryLog(MAIN, 600));
      const e = await refusal(m.sync(memoryLog(MAIN, 500)));
      expect(e.code).to.equal("SHRUNK");
      expect(await m.copy.size()).to.equal(600);
    });
  });

  describe("when the checkpoint is not signed by the log's key", function () {
    it("refuses SIGNATURE_INVALID and writes nothing", async function () {
      const other = noteKeyFromSeed(TLOG_ORIGIN, new Uint8Array(32).fill(9));
      const m = await open();
      const e = await refusal(m.sync(memoryLog(MAIN, 600, other.signerKey)));
      expect(e.code).to.equal("SIGNATURE_INVALID");
      expect(await readdir(dir)).to.deep.equal([".tmp"]);
    });
  });

  describe("when upstream serves a bundle that does not match its checkpoint", function () {
    it("refuses TILES_INVALID before writing it", async function () {
      const upstream = memoryLog(MAIN, 600);
      const tampered: LogReader = {
        ...upstream,
        async readEntryBundle(i, w) {
          const b = await upstream.readEntryBundle(i, w);
          if (i === 1) b[10] = b[10]! ^ 1;
          return b;
        },
      };
      const m = await open();
      const e = await refusal(m.sync(tampered));
      expect(e.code).to.equal("TILES_INVALID");
      expect(e.message).to.match(/entry 256 \(tile\/entries\/001\)/);
      expect(await m.copy.size()).to.equal(0);
      expect(String(await rejection(readFile(path.join(dir, "tile", "entries", "001"))))).to.match(/ENOENT/);
    });
  });

  describe("with a witness policy", function () {
    const witness = parseSignerKey(noteKeyFromSeed("witness.example/w1", new Uint8Array(32).fill(3)).signerKey);
    const policy = parseWitnessPolicy(`log ${TLOG_KEYS.verifierKey}\nwitness w1 ${cosignerKeyOf(witness)}\nquorum w1\n`);

    it("refuses a checkpoint without the quorum's cosignatures, and takes one with them", async function () {
      const m = await open({ policy });
      expect((await refusal(m.sync(memoryLog(MAIN, 600)))).code).to.equal("POLICY_UNSATISFIED");
      expect(await m.history()).to.deep.equal([]);
      const upstream = memoryLog(MAIN, 600);
      const body = upstream.note.slice(0, upstream.note.indexOf("\n\n") + 1);
      const line = cosignCheckpoint(body, witness, 1_700_000_000);
      const cosigned = upstream.note + (line.endsWith("\n") ? line : `${line}\n`);
      expect((await m.sync({ ...upstream, readCheckpoint: async () => new TextEncoder().encode(cosigned) })).size).to.equal(600);
      expect(await readFile(path.join(dir, "checkpoint"), "utf8")).to.equal(cosigned);
    });
  });

  describe("with the chain", function () {
    it("refuses a checkpoint not anchored exactly, and takes an anchored one", async function () {
      const anchored = new Set<string>();
      const m = await open({ anchor: { isAnchored: async (size, root) => anchored.has(`${size} ${root}`) } });
      const upstream = memoryLog(MAIN, 600);
      expect((await refusal(m.sync(upstream))).code).to.equal("NOT_ANCHORED");
      anchored.add(`600 0x${toHex(parseVerifierCheckpointRoot(upstream.note))}`);
      expect((await m.sync(upstream)).size).to.equal(600);
    });
  });
});

function parseVerifierCheckpointRoot(note: string): Uint8Array {
  return Buffer.from(note.split("\n")[2]!, "base64");
}
