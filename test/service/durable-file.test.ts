import { expect } from "chai";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { replaceFromTempDurably, writeOnceDurably } from "../../service/durable-file";
import { rejection } from "../helpers/rejection";

describe("durable writes through a temporary file", () => {
  let dir: string;
  let tmpDir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "durable-file-"));
    tmpDir = path.join(dir, ".tmp");
    await fs.mkdir(tmpDir);
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("writeOnceDurably", () => {
    it("creates the file, and the directories it needs, with the modes asked for, leaving no temporary file", async () => {
      const file = path.join(dir, "a", "b", "f");
      expect(await writeOnceDurably(file, "hello", { tmpDir, mode: 0o640, dirMode: 0o750 })).to.equal(true);
      expect(await fs.readFile(file, "utf8")).to.equal("hello");
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o640);
      expect((await fs.stat(path.join(dir, "a", "b"))).mode & 0o777).to.equal(0o750);
      expect(await fs.readdir(tmpDir)).to.deep.equal([]);
    });

    it("never replaces a file that is there, whether its contents are the same or different, and says so", async () => {
      const file = path.join(dir, "f");
      await fs.writeFile(file, "first", { mode: 0o600 });
      expect(await writeOnceDurably(file, "second", { tmpDir })).to.equal(false);
      expect(await fs.readFile(file, "utf8")).to.equal("first");
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
      expect(await writeOnceDurably(file, "first", { tmpDir })).to.equal(false);
      expect(await fs.readFile(file, "utf8")).to.equal("first");
      expect(await fs.readdir(tmpDir)).to.deep.equal([]);
    });

    it("lets exactly one of two concurrent writers create the file, and keeps that one's contents whole", async () => {
      const file = path.join(dir, "f");
      const big = (c: string) => c.repeat(1 << 20);
      const created = await Promise.all([writeOnceDurably(file, big("a"), { tmpDir }), writeOnceDurably(file, big("b"), { tmpDir })]);
      expect(created.filter((c) => c)).to.have.length(1);
      expect(await fs.readFile(file, "utf8")).to.equal(big(created[0] ? "a" : "b"));
    });

    it("leaves neither the file nor a temporary file when interrupted just before the link", async () => {
      const file = path.join(dir, "f");
      let calls = 0;
      const beforePlace = () => {
        calls++;
        throw new Error("killed");
      };
      expect(((await rejection(writeOnceDurably(file, "x", { tmpDir, beforePlace }))) as Error).message).to.equal("killed");
      expect(calls).to.equal(1);
      expect(await fs.readdir(dir)).to.deep.equal([".tmp"]);
      expect(await fs.readdir(tmpDir)).to.deep.equal([]);
    });
  });

  describe("replaceFromTempDurably", () => {
    it("replaces the file with the new contents and mode, leaving no temporary file", async () => {
      const file = path.join(dir, "f");
      await fs.writeFile(file, "old");
      await replaceFromTempDurably(file, "new", { tmpDir, mode: 0o600 });
      expect(await fs.readFile(file, "utf8")).to.equal("new");
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
      expect(await fs.readdir(tmpDir)).to.deep.equal([]);
    });
  });
});
