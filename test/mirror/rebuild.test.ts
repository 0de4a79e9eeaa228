/**
 * Recovery from a mirror (service/mirror/rebuild.ts): a fresh store rebuilt
 * from a mirror's copy has the log's root and serves the same tiles; a store
 * holding a prefix is completed; one that is not a prefix, or a damaged copy,
 * is refused with nothing written.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { dirLogReader, httpLogReader, type LogReader } from "../../service/format/log-reader";
import { CompactRange, parseVerifierKey, toHex } from "../../service/log";
import { Mirror } from "../../service/mirror/mirror";
import { rebuildFromCopy, RebuildError } from "../../service/mirror/rebuild";
import { TileQueries } from "../../service/queries/tiles";
import { LevelStore } from "../../service/store/level";
import { TLOG_KEYS, tlogFixture, type TlogFixture } from "../tlog/fixture";
import { entry, memoryLog, serve, tlogApp, type Served } from "./helpers";

const VERIFIER = parseVerifierKey(TLOG_KEYS.verifierKey);

async function rebuildError(p: Promise<unknown>): Promise<RebuildError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RebuildError) return e;
    throw e;
  }
  throw new Error("expected a RebuildError");
}

describe("rebuilding the log from a mirror", function () {
  this.timeout(120_000);
  let fx: TlogFixture;
  let up: Served;
  let tmp: string;
  let mirrorDir: string;
  before(async function () {
    fx = await tlogFixture(3000, 500);
    up = await serve(tlogApp(fx.tiles));
    tmp = await mkdtemp(path.join(tmpdir(), "ledger-rebuild-"));
    mirrorDir = path.join(tmp, "mirror");
    fx.publish(3000);
    await (await Mirror.open(mirrorDir, { verifier: VERIFIER })).sync(httpLogReader(`${up.url}/tlog`, fetch));
  });
  after(async function () {
    await up?.close();
    await fx?.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });
  const copy = (): LogReader => dirLogReader(mirrorDir, (p) => readFile(p));

  it("gives a fresh store the log's root, its leaves, and the same tiles as the service served", async function () {
    const store = await LevelStore.open(path.join(tmp, "fresh"));
    try {
      const r = await rebuildFromCopy(store, copy(), { verifier: VERIFIER });
      expect(r).to.deep.equal({ previousSize: 0, size: 3000, rootHex: toHex(fx.tree.root(3000)) });
      const head = await store.head();
      expect(toHex(new CompactRange(head.size, head.compact).root())).to.equal(toHex(fx.tree.root(3000)));
      expect((await store.leaf(2999))!.bytes).to.deep.equal((await fx.store.leaf(2999))!.bytes);
      expect(await store.indexOf((await fx.store.leaf(1234))!.id)).to.equal(1234);
      const rebuilt = new TileQueries({ store, published: async () => fx.published() });
      for (const r of [
        { level: 0, index: 3, width: 256 },
        { level: 0, index: 11, width: 184 },
        { level: 1, index: 0, width: 11 },
        { level: "entries" as const, index: 11, width: 184 },
      ])
        expect(toHex((await rebuilt.resource(r))!)).to.equal(toHex((await fx.tiles.resource(r))!));
    } finally {
      await store.close();
    }
  });

  it("completes a store that holds a prefix of the log, and is idempotent", async function () {
    const store = await LevelStore.open(path.join(tmp, "prefix"));
    try {
      const half = await mkdtemp(path.join(tmp, "half-"));
      fx.publish(1000);
      await (await Mirror.open(half, { verifier: VERIFIER })).sync(httpLogReader(`${up.url}/tlog`, fetch));
      fx.publish(3000);
      expect(
        (
          await rebuildFromCopy(
            store,
            dirLogReader(half, (p) => readFile(p)),
            { verifier: VERIFIER }
          )
        ).size
      ).to.equal(1000);
      expect(await rebuildFromCopy(store, copy(), { verifier: VERIFIER })).to.include({ previousSize: 1000, size: 3000 });
      expect(await rebuildFromCopy(store, copy(), { verifier: VERIFIER })).to.include({ previousSize: 3000, size: 3000 });
    } finally {
      await store.close();
    }
  });

  it("refuses, writing nothing, a store that is not a prefix of the copy", async function () {
    const store = await LevelStore.open(path.join(tmp, "other"));
    try {
      await rebuildFromCopy(
        store,
        memoryLog(
          Array.from({ length: 700 }, (_, i) => entry(i)),
          700
        ),
        { verifier: VERIFIER }
      );
      const e = await rebuildError(rebuildFromCopy(store, copy(), { verifier: VERIFIER }));
      expect(e.code).to.equal("NOT_A_PREFIX");
      expect((await store.head()).size).to.equal(700);
    } finally {
      await store.close();
    }
  });

  it("refuses a damaged copy, writing nothing", async function () {
    const store = await LevelStore.open(path.join(tmp, "damaged"));
    try {
      const good = copy();
      const damaged: LogReader = {
        ...good,
        async readEntryBundle(i, w) {
          const b = new Uint8Array(await good.readEntryBundle(i, w));
          if (i === 5) b[20] = b[20]! ^ 1;
          return b;
        },
      };
      expect((await rebuildError(rebuildFromCopy(store, damaged, { verifier: VERIFIER }))).code).to.equal("COPY_INVALID");
      expect((await store.head()).size).to.equal(0);
    } finally {
      await store.close();
    }
  });
});
