import { expect } from "chai";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSecretFile, readSecretFile, readTextIfExists, SecretFileError } from "../../service/secret-file";
import { rejection } from "../helpers/rejection";

describe("secret and state files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "secret-file-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("createSecretFile", () => {
    it("creates the file with mode 0600 in a new 0700 directory", async () => {
      const file = path.join(dir, "keys", "k");
      expect(await createSecretFile(file, "secret\n", "key file")).to.equal(true);
      expect((await fs.stat(file)).mode & 0o777).to.equal(0o600);
      expect((await fs.stat(path.dirname(file))).mode & 0o777).to.equal(0o700);
      expect(await fs.readFile(file, "utf8")).to.equal("secret\n");
    });

    it("never overwrites: a second create returns false and leaves the first contents", async () => {
      const file = path.join(dir, "k");
      await createSecretFile(file, "first", "key file");
      expect(await createSecretFile(file, "second", "key file")).to.equal(false);
      expect(await fs.readFile(file, "utf8")).to.equal("first");
    });
  });

  describe("readSecretFile", () => {
    it("returns undefined for a missing file", async () => {
      expect(await readSecretFile(path.join(dir, "none"), "key file")).to.equal(undefined);
    });

    it("returns the trimmed text of a private file", async () => {
      const file = path.join(dir, "k");
      await createSecretFile(file, "  secret\n", "key file");
      expect(await readSecretFile(file, "key file")).to.equal("secret");
    });

    it("refuses a file group or others can read, naming the file but not its contents", async () => {
      const file = path.join(dir, "k");
      await fs.writeFile(file, "top-secret-value", { mode: 0o644 });
      await fs.chmod(file, 0o644);
      const e = await rejection(readSecretFile(file, "key file"));
      expect(e).to.be.instanceOf(SecretFileError);
      expect((e as Error).message).to.include(file).and.include("chmod 600").and.not.include("top-secret-value");
    });

    it("refuses something that is not a regular file", async () => {
      const e = await rejection(readSecretFile(dir, "key file"));
      expect(e).to.be.instanceOf(SecretFileError);
      expect((e as Error).message).to.include("not a regular file");
    });
  });

  describe("readTextIfExists", () => {
    it("returns undefined for a missing file and the text of an existing one", async () => {
      const file = path.join(dir, "state.json");
      expect(await readTextIfExists(file)).to.equal(undefined);
      await fs.writeFile(file, "{}");
      expect(await readTextIfExists(file)).to.equal("{}");
    });

    it("throws other errors as they are", async () => {
      const e = await rejection(readTextIfExists(dir));
      expect((e as NodeJS.ErrnoException).code).to.equal("EISDIR");
    });
  });
});
