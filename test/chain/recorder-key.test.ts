/**
 * The recorder key file: created once with mode 0600, reloaded as the same
 * account, refused when others can read it or when it holds anything but a
 * key, and never printed.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { expect } from "chai";
import pino from "pino";
import { Writable } from "node:stream";
import { Transaction } from "ethers";
import { loadOrCreateRecorderKey, RecorderKey, RecorderKeyError } from "../../service/chain/recorder-key";
import { rejection } from "../helpers/rejection";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("recorder key", function () {
  let dir: string;
  let file: string;

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "recorder-key-"));
    file = path.join(dir, "keys", "recorder.key");
  });
  afterEach(async function () {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("is created on first use with mode 0600 in a 0700 directory, then loaded as the same account", async function () {
    const first = await loadOrCreateRecorderKey(file);
    expect(first.created).to.equal(true);
    if (process.platform !== "win32") {
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
      expect((await fs.stat(path.dirname(file))).mode & 0o777).to.equal(0o700);
    }
    expect((await fs.readFile(file, "utf8")).trim()).to.match(/^0x[0-9a-f]{64}$/);
    const second = await loadOrCreateRecorderKey(file);
    expect(second.created).to.equal(false);
    expect(second.key.address).to.equal(first.key.address);
  });

  it("loads a configured key file", async function () {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `${KEY}\n`, { mode: 0o600 });
    const { key, created } = await loadOrCreateRecorderKey(file);
    expect(created).to.equal(false);
    expect(key.address).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  });

  if (process.platform !== "win32") {
    for (const mode of [0o640, 0o604, 0o644]) {
      it(`refuses a key file with mode ${mode.toString(8)}`, async function () {
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, `${KEY}\n`);
        await fs.chmod(file, mode);
        const e = await rejection(loadOrCreateRecorderKey(file));
        expect(e).to.be.instanceOf(RecorderKeyError);
        expect((e as Error).message).to.include("chmod 600");
      });
    }
  }

  for (const [desc, text] of [
    ["empty", ""],
    ["a key without 0x", KEY.slice(2)],
    ["a short key", KEY.slice(0, 40)],
    ["two keys", `${KEY}\n${KEY}`],
    ["the zero scalar", `0x${"0".repeat(64)}`],
  ] as const) {
    it(`refuses a file holding ${desc}, without quoting it`, async function () {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, text, { mode: 0o600 });
      const e = await rejection(loadOrCreateRecorderKey(file));
      expect(e).to.be.instanceOf(RecorderKeyError);
      if (text.length > 8) expect((e as Error).message).to.not.include(text.slice(2, 30));
    });
  }

  it("shows only its address to JSON, util.inspect and pino", function () {
    const key = new RecorderKey(KEY);
    const secret = KEY.slice(2);
    expect(JSON.stringify(key)).to.not.include(secret);
    expect(JSON.parse(JSON.stringify({ key })) as unknown).to.deep.equal({ key: { address: key.address } });
    expect(inspect(key, { showHidden: true, depth: 5 })).to.not.include(secret);
    expect(String(Object.values(key))).to.not.include(secret);
    const lines: string[] = [];
    const logger = pino({}, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    logger.info({ key, recorder: key }, "recorder");
    expect(lines.join("")).to.include(key.address).and.not.include(secret);
  });

  it("signs legacy transactions for its address", async function () {
    const key = new RecorderKey(KEY);
    const raw = await key.signTransaction({ type: 0, chainId: 31337n, nonce: 0, to: key.address, gasLimit: 21000n, gasPrice: 0n, value: 0n, data: "0x" });
    expect(Transaction.from(raw).from).to.equal(key.address);
  });
});
