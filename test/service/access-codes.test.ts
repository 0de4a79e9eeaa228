import { expect } from "chai";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AccessCodeKeyError, AccessCodes, loadOrCreateAccessCodes } from "../../service/auth/access-codes";

describe("enterprise access codes", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-access-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("the key file", () => {
    it("is created 0600 on first load and gives the same codes on the next", async () => {
      const file = path.join(dir, "keys", "access-code.key");
      const first = await loadOrCreateAccessCodes(file);
      expect(first.created).to.equal(true);
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
      const again = await loadOrCreateAccessCodes(file);
      expect(again.created).to.equal(false);
      expect(again.codes.codeFor("app_1")).to.equal(first.codes.codeFor("app_1"));
    });

    it("is refused when others can read it", async () => {
      const file = path.join(dir, "access-code.key");
      await writeFile(file, "ab".repeat(32) + "\n", { mode: 0o600 });
      await chmod(file, 0o644);
      let thrown: unknown;
      try {
        await loadOrCreateAccessCodes(file);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.be.instanceOf(AccessCodeKeyError);
    });

    it("is refused when it holds too few bytes or no hex", async () => {
      for (const text of ["ab".repeat(16), "zz".repeat(32), ""]) {
        const file = path.join(dir, `k${text.length}${text.slice(0, 1)}.key`);
        await writeFile(file, text, { mode: 0o600 });
        let thrown: unknown;
        try {
          await loadOrCreateAccessCodes(file);
        } catch (e) {
          thrown = e;
        }
        expect(thrown, JSON.stringify(text)).to.be.instanceOf(AccessCodeKeyError);
      }
    });
  });

  describe("a code", () => {
    const codes = new AccessCodes(new Uint8Array(32).fill(1));

    it("opens its own application only", () => {
      const code = codes.codeFor("app_a");
      expect(code).to.match(/^ac_[A-Za-z0-9_-]{22}$/);
      expect(codes.check(code, "app_a")).to.equal(true);
      expect(codes.check(code, "app_b")).to.equal(false);
    });

    it("depends on the key", () => {
      expect(new AccessCodes(new Uint8Array(32).fill(2)).codeFor("app_a")).to.not.equal(codes.codeFor("app_a"));
    });

    it("is refused when malformed, without throwing", () => {
      const code = codes.codeFor("app_a");
      for (const bad of [undefined, 5, "", code.slice(0, -1), `${code}x`, code.replace("ac_", "sl_"), ` ${code}`])
        expect(codes.check(bad, "app_a"), String(bad)).to.equal(false);
    });

    it("keeps the key out of JSON", () => {
      expect(JSON.stringify({ codes })).to.equal('{"codes":"[AccessCodes]"}');
    });

    it("needs a key of at least 32 bytes", () => {
      expect(() => new AccessCodes(new Uint8Array(16))).to.throw(AccessCodeKeyError);
    });
  });
});
