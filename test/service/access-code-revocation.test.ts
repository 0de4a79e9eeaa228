/**
 * Access-code generations (service/auth/access-codes.ts): revocation derives
 * a new code and refuses the old, generation 0 keeps the original code, the
 * generation survives a restart of the LevelDB store, and wrong codes are
 * limited per application.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AccessCodes } from "../../service/auth/access-codes";
import { LevelStore } from "../../service/store/level";
import { MemoryStore } from "../../service/store/memory";

const KEY = new Uint8Array(32).fill(3);
const APP = "app_0123456789abcdef01234567";
const OTHER = "app_0123456789abcdef01234568";

describe("Access-code revocation", () => {
  describe("an application never revoked", () => {
    it("has the original code as its current code", async () => {
      const codes = new AccessCodes(KEY, { generations: new MemoryStore() });
      expect(await codes.current(APP)).to.equal(codes.codeFor(APP));
      expect(await codes.verify(codes.codeFor(APP), APP)).to.equal("valid");
    });
  });

  describe("revoking", () => {
    it("issues a new code and refuses the old, leaving other applications alone", async () => {
      const codes = new AccessCodes(KEY, { generations: new MemoryStore() });
      const old = codes.codeFor(APP);
      const { accessCode, generation } = await codes.revoke(APP);
      expect(generation).to.equal(1);
      expect(accessCode).to.not.equal(old);
      expect(await codes.current(APP)).to.equal(accessCode);
      expect(await codes.verify(old, APP)).to.equal("invalid");
      expect(await codes.verify(accessCode, APP)).to.equal("valid");
      expect(await codes.verify(codes.codeFor(OTHER), OTHER)).to.equal("valid");
      expect(await codes.verify(accessCode, OTHER)).to.equal("invalid");
    });

    it("gives every generation its own code", () => {
      const codes = new AccessCodes(KEY);
      const seen = new Set([0, 1, 2, 10, 11].map((g) => codes.codeFor(APP, g)));
      expect(seen.size).to.equal(5);
    });

    it("is kept by the LevelDB store across a restart", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "ledger-access-"));
      try {
        let store = await LevelStore.open(dir);
        const before = await new AccessCodes(KEY, { generations: store }).revoke(APP);
        await new AccessCodes(KEY, { generations: store }).revoke(APP);
        await store.close();
        store = await LevelStore.open(dir);
        const codes = new AccessCodes(KEY, { generations: store });
        expect(await store.accessCodeGeneration(APP)).to.equal(2);
        expect(await codes.verify(before.accessCode, APP)).to.equal("invalid");
        expect(await codes.verify(codes.codeFor(APP, 2), APP)).to.equal("valid");
        expect(await store.accessCodeGeneration(OTHER)).to.equal(0);
        await store.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe("wrong codes", () => {
    it("lock one application after the limit until the window ends, and not the others", async () => {
      let now = 0;
      const codes = new AccessCodes(KEY, { maxFailures: 2, windowMs: 1000, clock: { now: () => now } });
      expect(await codes.verify("ac_AAAAAAAAAAAAAAAAAAAAAA", APP)).to.equal("invalid");
      expect(await codes.verify("not a code", APP)).to.equal("invalid");
      expect(await codes.verify(codes.codeFor(APP), APP)).to.equal("rate-limited");
      expect(await codes.verify(codes.codeFor(OTHER), OTHER)).to.equal("valid");
      now = 999;
      expect(await codes.verify(codes.codeFor(APP), APP)).to.equal("rate-limited");
      now = 1000;
      expect(await codes.verify(codes.codeFor(APP), APP)).to.equal("valid");
    });
  });
});
