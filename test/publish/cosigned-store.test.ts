/**
 * Keeping the published cosigned checkpoint across restarts
 * (service/publish/cosigned-store.ts and WitnessCosigner.open): the file is
 * written atomically with mode 0600; what is loaded is checked against the log
 * key, the chain and the witness policy, and a tampered or foreign one is
 * refused with an error line; the witness stage publishes the saved one at
 * start with no witness answering, and saves a new one before publishing it.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { checkCosignedCheckpoint, parseWitnessPolicy, type WitnessPolicy } from "../../service/format";
import { cosignCheckpoint, cosignerKeyOf, toHex } from "../../service/log";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import {
  checkSavedCosigned,
  decodeSavedCosigned,
  encodeSavedCosigned,
  FileCosignedCheckpointStore,
  MemoryCosignedCheckpointStore,
  SavedCosignedError,
  type SavedCosigned,
  type SavedCosignedErrorCode,
} from "../../service/publish/cosigned-store";
import { cosignedCheckpointFile, WitnessCosigner } from "../../service/publish/witnesses";
import { keyFromByte, LOG, LOG_ROTATED, ORIGIN } from "../log/note-keys";
import { ToyLog } from "../witness/helpers";

const CHAIN = { chainId: 31337, address: `0x${"11".repeat(20)}` };
const W = [1, 2, 3].map((i) => keyFromByte(`w${i}.audit.example.gov`, 70 + i));
/** Witnesses w1..w3 with unreachable URLs: nothing here may depend on one answering. */
const POLICY: WitnessPolicy = parseWitnessPolicy(
  W.map((w, i) => `witness w${i + 1} ${cosignerKeyOf(w.signer)} http://127.0.0.1:9/w${i + 1}\n`).join("") + "group two-of-three 2 w1 w2 w3\nquorum two-of-three\n",
);

function point(log: ToyLog, size = log.tree.size): AnchoredPoint {
  return {
    chainId: CHAIN.chainId,
    contract: CHAIN.address,
    size,
    rootHex: `0x${toHex(log.tree.root(size))}`,
    checkpointIndex: 0,
    txHash: null,
    blockNumber: null,
    anchoredAt: "2026-01-01T00:00:00Z",
    signedCheckpoint: log.checkpoint(size),
  };
}

/** The anchored point cosigned by the given witnesses (indices into W). */
function cosigned(p: AnchoredPoint, by: readonly number[]): SavedCosigned {
  const body = p.signedCheckpoint.slice(0, p.signedCheckpoint.indexOf("\n\n") + 1);
  return { point: p, note: p.signedCheckpoint + by.map((i) => cosignCheckpoint(body, W[i]!.signer, 1_700_000_000)).join("") };
}

const expectations = { policy: POLICY, logVerifier: LOG.verifier, origin: ORIGIN, chain: CHAIN };

function codeOf(f: () => unknown): SavedCosignedErrorCode {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(SavedCosignedError);
    return (e as SavedCosignedError).code;
  }
  throw new Error("expected a SavedCosignedError");
}

function recordingLogger() {
  const errors: string[] = [];
  const infos: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = JSON.parse(chunk.toString()) as { level: number; msg: string };
      (line.level >= 50 ? errors : infos).push(line.msg);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), errors, infos };
}

describe("the saved cosigned checkpoint", function () {
  const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
  const good = cosigned(point(log), [0, 2]);

  describe("checked before it is trusted", function () {
    it("accepts this log's checkpoint with a quorum of the policy's cosignatures, naming who vouched", function () {
      expect(checkSavedCosigned(good, expectations)).to.deep.equal(["w1", "w3"]);
    });

    it("refuses one whose cosignature was altered", function () {
      const lines = good.note.split("\n");
      const last = lines[lines.length - 2]!;
      const flipped = last.slice(0, -3) + (last.at(-3) === "A" ? "B" : "A") + last.slice(-2);
      lines[lines.length - 2] = flipped;
      expect(codeOf(() => checkSavedCosigned({ ...good, note: lines.join("\n") }, expectations))).to.equal("QUORUM");
    });

    it("refuses one with fewer cosignatures than the quorum", function () {
      expect(codeOf(() => checkSavedCosigned(cosigned(point(log), [1]), expectations))).to.equal("QUORUM");
    });

    it("refuses one signed by another log key (another log's data directory)", function () {
      const other = new ToyLog(ORIGIN, LOG_ROTATED.signer).grow(5);
      expect(codeOf(() => checkSavedCosigned(cosigned(point(other), [0, 1]), expectations))).to.equal("LOG_SIGNATURE");
    });

    it("refuses one anchored on another chain or contract", function () {
      expect(codeOf(() => checkSavedCosigned(good, { ...expectations, chain: { chainId: 1, address: CHAIN.address } }))).to.equal("FOREIGN");
      expect(codeOf(() => checkSavedCosigned(good, { ...expectations, chain: { chainId: CHAIN.chainId, address: `0x${"22".repeat(20)}` } }))).to.equal("FOREIGN");
    });

    it("refuses one whose note and anchored point disagree", function () {
      const p3 = point(log, 3);
      expect(codeOf(() => checkSavedCosigned({ point: p3, note: good.note }, expectations))).to.equal("MISMATCH");
      expect(codeOf(() => checkSavedCosigned({ point: { ...good.point, size: 4 }, note: good.note }, expectations))).to.equal("MISMATCH");
    });
  });

  describe("read back from its file", function () {
    it("refuses what is not JSON, another version, or another shape, as a typed error", function () {
      expect(codeOf(() => decodeSavedCosigned("{not json"))).to.equal("UNREADABLE");
      expect(codeOf(() => decodeSavedCosigned(JSON.stringify({ version: 2, point: good.point, note: good.note })))).to.equal("VERSION");
      expect(codeOf(() => decodeSavedCosigned(JSON.stringify({ version: 1, point: { ...good.point, size: -1 }, note: good.note })))).to.equal("UNREADABLE");
      expect(codeOf(() => decodeSavedCosigned(JSON.stringify({ version: 1, point: good.point, note: good.note, extra: 1 })))).to.equal("UNREADABLE");
      expect(decodeSavedCosigned(encodeSavedCosigned(good))).to.deep.equal(good);
    });

    it("is written with mode 0600 in a 0700 directory, leaving no temporary file, and an absent file loads as nothing", async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "cosigned-file-"));
      const file = cosignedCheckpointFile(dir);
      const store = new FileCosignedCheckpointStore(file);
      expect(await store.load()).to.equal(undefined);
      await store.save(good);
      await store.save(cosigned(point(log), [0, 1]));
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
      expect((await stat(path.dirname(file))).mode & 0o777).to.equal(0o700);
      expect(await readdir(path.dirname(file))).to.deep.equal([path.basename(file)]);
      expect((await store.load())!.note).to.equal(cosigned(point(log), [0, 1]).note);
      expect(JSON.parse(await readFile(file, "utf8")).version).to.equal(1);
    });
  });

  describe("at the witness stage's start", function () {
    const cosigners: WitnessCosigner[] = [];
    afterEach(async function () {
      await Promise.all(cosigners.splice(0).map((c) => c.close()));
    });

    async function open(store: MemoryCosignedCheckpointStore | FileCosignedCheckpointStore, anchored: AnchoredPoint | null, logger = pino({ level: "silent" })) {
      const c = await WitnessCosigner.open(
        { policy: POLICY, anchored: () => anchored, proof: async (a, b) => log.tree.consistencyProof(a, b), logger, everyMs: 10_000, backoffMinMs: 10_000, timeoutMs: 200 },
        { store, logVerifier: LOG.verifier, origin: ORIGIN, chain: CHAIN },
      );
      cosigners.push(c);
      return c;
    }

    it("publishes the saved checkpoint at once, with its cosignatures, though no witness answers", async function () {
      const store = new MemoryCosignedCheckpointStore(encodeSavedCosigned(good));
      const { logger, infos } = recordingLogger();
      const c = await open(store, good.point, logger);
      expect(c.publishedPoint()).to.deep.equal({ ...good.point, signedCheckpoint: good.note });
      expect(await c.cosigned({ size: 5, note: good.point.signedCheckpoint })).to.deep.equal({ size: 5, note: good.note });
      expect(checkCosignedCheckpoint(c.publishedPoint()!.signedCheckpoint, POLICY).satisfied).to.equal(true);
      const s = c.status();
      expect(s.publishedSize).to.equal(5);
      expect(s.waiting).to.equal(null);
      expect(s.witnesses.map((w) => w.lastCosignedSize)).to.deep.equal([5, null, 5]);
      expect(infos).to.include("restored the saved cosigned checkpoint: published");
    });

    for (const [what, text] of [
      ["a tampered file (a cosignature altered)", () => encodeSavedCosigned({ ...good, note: good.note.replace(/\n— w3[^ ]* (.)/, (m, ch: string) => m.slice(0, -1) + (ch === "A" ? "B" : "A")) })],
      ["a foreign file (another log's key)", () => encodeSavedCosigned(cosigned(point(new ToyLog(ORIGIN, LOG_ROTATED.signer).grow(5)), [0, 1]))],
      ["a file that is not JSON", () => "{"],
    ] as const) {
      it(`refuses ${what} with one error line, and publishes nothing until the witnesses answer`, async function () {
        const t = text();
        expect(t).to.not.equal(encodeSavedCosigned(good));
        const { logger, errors } = recordingLogger();
        const c = await open(new MemoryCosignedCheckpointStore(t), good.point, logger);
        expect(c.publishedPoint()).to.equal(null);
        expect(errors).to.have.length(1);
        expect(errors[0]).to.match(/^refusing the saved cosigned checkpoint in memory: .+; it is not published, and the witnesses are asked again$/);
      });
    }

    it("refuses a file whose quorum the current policy does not accept (a witness replaced)", async function () {
      const replaced = parseWitnessPolicy(
        `witness w1 ${cosignerKeyOf(W[0]!.signer)} http://127.0.0.1:9/w1\nwitness w9 ${cosignerKeyOf(keyFromByte("w9.example.org", 99).signer)} http://127.0.0.1:9/w9\nquorum w9\n`,
      );
      const { logger, errors } = recordingLogger();
      const c = await WitnessCosigner.open(
        { policy: replaced, anchored: () => good.point, proof: async (a, b) => log.tree.consistencyProof(a, b), logger, everyMs: 10_000, backoffMinMs: 10_000, timeoutMs: 200 },
        { store: new MemoryCosignedCheckpointStore(encodeSavedCosigned(good)), logVerifier: LOG.verifier, origin: ORIGIN, chain: CHAIN },
      );
      cosigners.push(c);
      expect(c.publishedPoint()).to.equal(null);
      expect(errors.join("\n")).to.match(/do not satisfy the policy's quorum "w9"/);
      // The cosignatures of witnesses the new policy dropped are counted, so the operator sees the policy changed.
      expect(errors.join("\n")).to.match(/\(w1\) do not satisfy .*; 1 other cosignature line\(s\) are from keys outside this policy/);
    });

    it("reads the file a previous run saved", async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "cosigned-restart-"));
      writeFileSync(path.join(dir, "ignored"), "");
      const file = cosignedCheckpointFile(dir);
      await new FileCosignedCheckpointStore(file).save(good);
      const c = await open(new FileCosignedCheckpointStore(file), good.point);
      expect(c.publishedPoint()?.signedCheckpoint).to.equal(good.note);
    });
  });
});
