/**
 * The anchor state stores: the JSON file (versioned, validated, replaced
 * atomically) and the memory twin's fault hooks.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  AnchorStateError,
  ANCHOR_STATE_VERSION,
  FileAnchorStateStore,
  InjectedFault,
  MemoryAnchorStateStore,
  serializeAnchorState,
  type AnchorState,
} from "../../service/chain/state";
import { rejection } from "../helpers/rejection";

const H = (c: string) => `0x${c.repeat(64)}`;

const PENDING: AnchorState = {
  contract: { chainId: 31337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
  pending: {
    baseSize: 10,
    size: 25,
    rootHex: H("a"),
    proofHex: [H("b"), H("c")],
    signedCheckpoint: "origin\n25\nroot\n\n— origin sig\n",
    nonce: 7,
    gasLimit: "120000",
    gasPrice: "0",
    txHashes: [H("d"), H("e")],
    firstSentAt: "2026-03-10T02:00:00.000Z",
    lastSentAt: "2026-03-10T02:01:00.000Z",
  },
  anchored: {
    size: 10,
    rootHex: H("f"),
    checkpointIndex: 3,
    txHash: H("1"),
    blockNumber: 42,
    signedCheckpoint: "origin\n10\nroot\n\n— origin sig\n",
    anchoredAt: "2026-03-10T01:59:00.000Z",
  },
};

describe("FileAnchorStateStore", function () {
  let dir: string;
  let file: string;

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "anchor-state-"));
    file = path.join(dir, "sub", "anchor-state.json");
  });
  afterEach(async function () {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("loads undefined when nothing was saved", async function () {
    expect(await new FileAnchorStateStore(file).load()).to.equal(undefined);
  });

  it("round-trips a record, writes it with mode 0600 and leaves no temporary file", async function () {
    const store = new FileAnchorStateStore(file);
    await store.save(PENDING);
    expect(await store.load()).to.deep.equal(PENDING);
    expect(await new FileAnchorStateStore(file).load(), "a fresh instance reads the same").to.deep.equal(PENDING);
    if (process.platform !== "win32") expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
    const next: AnchorState = { ...PENDING, pending: null };
    await store.save(next);
    expect(await store.load()).to.deep.equal(next);
    expect(await fs.readdir(path.dirname(file))).to.deep.equal(["anchor-state.json"]);
  });

  it("round-trips several anchors in flight, oldest first", async function () {
    const store = new FileAnchorStateStore(file);
    const behind = { ...PENDING.pending!, baseSize: 25, size: 40, nonce: 8, txHashes: [H("9")] };
    const several: AnchorState = { ...PENDING, following: [behind] };
    await store.save(several);
    expect(await new FileAnchorStateStore(file).load()).to.deep.equal(several);
  });

  it("tags the file with its version first", async function () {
    await new FileAnchorStateStore(file).save(PENDING);
    const raw = JSON.parse(await fs.readFile(file, "utf8")) as Record<string, unknown>;
    expect(Object.keys(raw)[0]).to.equal("v");
    expect(raw["v"]).to.equal(ANCHOR_STATE_VERSION);
  });

  describe("when the file is damaged", function () {
    const cases: [string, string][] = [
      ["not JSON (cut short)", serializeAnchorState(PENDING).slice(0, 100)],
      ["without a version tag", JSON.stringify({ ...PENDING })],
      ["of another version", JSON.stringify({ v: 2, ...PENDING })],
      ["with an unknown field", JSON.stringify({ v: 1, ...PENDING, extra: 1 })],
      ["with a malformed root", JSON.stringify({ v: 1, ...PENDING, pending: { ...PENDING.pending, rootHex: "0x12" } })],
      ["with a pending no larger than its base", JSON.stringify({ v: 1, ...PENDING, pending: { ...PENDING.pending, baseSize: 25 } })],
      ["with a pending not beyond the anchored", JSON.stringify({ v: 1, ...PENDING, pending: { ...PENDING.pending, size: 10, baseSize: 5 } })],
      ["with no transaction hash in pending", JSON.stringify({ v: 1, ...PENDING, pending: { ...PENDING.pending, txHashes: [] } })],
      ["with a gas price that is not decimal", JSON.stringify({ v: 1, ...PENDING, pending: { ...PENDING.pending, gasPrice: "0x10" } })],
      ["with a time that is not RFC 3339", JSON.stringify({ v: 1, ...PENDING, pending: { ...PENDING.pending, lastSentAt: "yesterday" } })],
      ["with a following anchor that does not extend pending", JSON.stringify({ v: 1, ...PENDING, following: [{ ...PENDING.pending, baseSize: 20, size: 40, nonce: 8 }] })],
      ["with a following anchor whose nonce is not the next", JSON.stringify({ v: 1, ...PENDING, following: [{ ...PENDING.pending, baseSize: 25, size: 40, nonce: 9 }] })],
      ["with following anchors but no pending", JSON.stringify({ v: 1, ...PENDING, pending: null, following: [{ ...PENDING.pending }] })],
      ["with an array at the top", "[]"],
    ];
    for (const [desc, text] of cases) {
      it(`${desc}: load throws AnchorStateError naming the file`, async function () {
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, text);
        const e = await rejection(new FileAnchorStateStore(file).load());
        expect(e).to.be.instanceOf(AnchorStateError);
        expect((e as Error).message).to.include(file);
      });
    }
  });

  it("refuses to save an invalid record, keeping the old one", async function () {
    const store = new FileAnchorStateStore(file);
    await store.save(PENDING);
    const bad = { ...PENDING, anchored: { ...PENDING.anchored!, size: -1 } } as AnchorState;
    expect(await rejection(store.save(bad))).to.be.instanceOf(AnchorStateError);
    expect(await store.load()).to.deep.equal(PENDING);
  });
});

describe("MemoryAnchorStateStore", function () {
  it("fail-before-persist rejects and keeps the old record", async function () {
    const s = new MemoryAnchorStateStore();
    s.injectFault("fail-before-persist");
    expect(await rejection(s.save(PENDING))).to.be.instanceOf(InjectedFault);
    expect(await s.load()).to.equal(undefined);
    await s.save(PENDING);
    expect(await s.load()).to.deep.equal(PENDING);
  });

  it("fail-after-persist rejects but the record is stored", async function () {
    const s = new MemoryAnchorStateStore();
    s.injectFault("fail-after-persist");
    expect(await rejection(s.save(PENDING))).to.be.instanceOf(InjectedFault);
    expect(await s.load()).to.deep.equal(PENDING);
  });

  it("after a crash it persists nothing more; reopen gives what was durable", async function () {
    const s = new MemoryAnchorStateStore();
    await s.save(PENDING);
    s.faultWhen = (next) => (next.pending === null ? "crash-before-persist" : undefined);
    expect(await rejection(s.save({ ...PENDING, pending: null }))).to.be.instanceOf(InjectedFault);
    expect(s.crashed).to.equal(true);
    expect(await rejection(s.save(PENDING))).to.be.instanceOf(InjectedFault);
    expect(await rejection(s.load())).to.be.instanceOf(InjectedFault);
    const reopened = s.reopen();
    expect(await reopened.load()).to.deep.equal(PENDING);
    expect(reopened.crashed).to.equal(false);
  });

  it("hands out copies, so a caller cannot change what is stored", async function () {
    const s = new MemoryAnchorStateStore();
    const mine = structuredClone(PENDING) as { pending: { size: number } };
    await s.save(mine as unknown as AnchorState);
    mine.pending.size = 99;
    const loaded = (await s.load()) as unknown as { pending: { size: number } };
    loaded.pending.size = 98;
    expect((await s.load())?.pending?.size).to.equal(25);
  });
});
