import { expect } from "chai";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { mkdtempSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import request from "supertest";
import { formatAddCheckpointRequest, MAX_ADD_CHECKPOINT_BODY } from "../../service/format";
import { cosignerKeyOf, formatCheckpoint, parseCosignerKey, verifyCosignatures } from "../../service/log";
import { createWitnessApp } from "../../service/witness/http";
import { directoryStateStore, memoryStateStore, type WitnessStateStore } from "../../service/witness/state";
import { Witness, WitnessError } from "../../service/witness/witness";
import { LOG, LOG_ROTATED, ORIGIN, STRANGER, WITNESS } from "../log/note-keys";
import { ToyLog } from "./helpers";

const NOW = 1_800_000_000_000;
const silent = pino({ level: "silent" });

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "witness-"));
}

function makeWitness(store: WitnessStateStore = directoryStateStore(tempDir())) {
  const witness = new Witness({ signer: WITNESS.signer, logs: new Map([[ORIGIN, [LOG.verifier]]]), store, now: () => NOW });
  return { witness, app: createWitnessApp({ witness, logger: silent }), store };
}

function post(app: ReturnType<typeof createWitnessApp>, body: string | Buffer) {
  return request(app).post("/add-checkpoint").set("Content-Type", "text/plain").send(Buffer.from(body));
}

describe("witness (c2sp.org/tlog-witness)", () => {
  describe("POST /add-checkpoint", () => {
    describe("the first checkpoint of a log, from old size 0", () => {
      it("answers 200 with a cosignature/v1 line that verifies against the witness's vkey", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
        const { app } = makeWitness();
        const res = await post(app, log.request(0));
        expect(res.status).to.equal(200);
        expect(res.text).to.match(/^— witness\.example\.org\/w1 [A-Za-z0-9+/]+=*\n$/);
        const got = verifyCosignatures(log.checkpoint() + res.text, [parseCosignerKey(cosignerKeyOf(WITNESS.signer))]);
        expect(got.cosignatures).to.have.length(1);
        expect(got.cosignatures[0]!.timestamp).to.equal(NOW / 1000);
      });

      it("signs the bytes the spec gives, checked here with node:crypto alone", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
        const { app } = makeWitness();
        const res = await post(app, log.request(0));
        const raw = Buffer.from(res.text.trim().split(" ")[2]!, "base64");
        const root = Buffer.from(log.tree.root()).toString("base64");
        const message = Buffer.from(`cosignature/v1\ntime ${NOW / 1000}\n${ORIGIN}\n3\n${root}\n`);
        const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), WITNESS.signer.publicKey]);
        expect(nodeVerify(null, message, createPublicKey({ key: spki, format: "der", type: "spki" }), raw.subarray(12))).to.equal(true);
      });
    });

    describe("a checkpoint extending the latest cosigned one", () => {
      it("answers 200 with a valid consistency proof, and records the new size", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
        const { app } = makeWitness();
        expect((await post(app, log.request(0))).status).to.equal(200);
        log.grow(300);
        expect((await post(app, log.request(5))).status).to.equal(200);
        const stale = await post(app, log.request(5));
        expect(stale.status).to.equal(409);
        expect(stale.text).to.equal("305\n");
      });
      it("answers 200 again for the same checkpoint from its own size (an empty proof)", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
        const { app, store } = makeWitness(memoryStateStore());
        expect((await post(app, log.request(0))).status).to.equal(200);
        expect((await post(app, log.request(5))).status).to.equal(200);
        expect((store as ReturnType<typeof memoryStateStore>).saves).to.equal(1);
      });
    });

    describe("a stale old size", () => {
      it("answers 409 with the latest size as text/x.tlog.size", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(8);
        const { app } = makeWitness();
        await post(app, log.request(0));
        log.grow(4);
        const res = await post(app, log.request(0));
        expect(res.status).to.equal(409);
        expect(res.headers["content-type"]).to.equal("text/x.tlog.size");
        expect(res.text).to.equal("8\n");
      });
      it("answers 409 with 0 when the witness never cosigned this log", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(8);
        const res = await post(makeWitness().app, log.request(4));
        expect(res.status).to.equal(409);
        expect(res.headers["content-type"]).to.equal("text/x.tlog.size");
        expect(res.text).to.equal("0\n");
      });
    });

    describe("a split view", () => {
      it("refuses a different checkpoint at the cosigned size with 409, and keeps its state", async () => {
        const honest = new ToyLog(ORIGIN, LOG.signer, "honest").grow(10);
        const fork = new ToyLog(ORIGIN, LOG.signer, "fork").grow(10);
        const { app } = makeWitness();
        expect((await post(app, honest.request(0))).status).to.equal(200);
        const res = await post(app, fork.request(10));
        expect(res.status).to.equal(409);
        expect(res.headers["content-type"]).to.match(/^text\/plain/);
        honest.grow(1);
        expect((await post(app, honest.request(10))).status).to.equal(200);
      });
      it("refuses a larger checkpoint that does not extend the cosigned one with 422", async () => {
        const honest = new ToyLog(ORIGIN, LOG.signer, "honest").grow(10);
        const fork = new ToyLog(ORIGIN, LOG.signer, "fork").grow(20);
        const { app } = makeWitness();
        await post(app, honest.request(0));
        // The fork's own proof from size 10 is valid for the fork, not from the honest root.
        const res = await post(app, fork.request(10));
        expect(res.status).to.equal(422);
        const after = await post(app, honest.request(0));
        expect(after.text).to.equal("10\n");
      });
    });

    describe("a consistency proof that does not verify", () => {
      it("answers 422 for an altered hash", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(7);
        const { app } = makeWitness();
        await post(app, log.request(0));
        log.grow(9);
        const proof = log.tree.consistencyProof(7, 16);
        proof[0] = Uint8Array.from(proof[0]!, (b, i) => (i === 0 ? b ^ 1 : b));
        expect((await post(app, formatAddCheckpointRequest({ oldSize: 7, proof, checkpoint: log.checkpoint() }))).status).to.equal(422);
      });
      it("answers 422 for a proof with a hash missing", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(7);
        const { app } = makeWitness();
        await post(app, log.request(0));
        log.grow(9);
        const proof = log.tree.consistencyProof(7, 16).slice(1);
        expect((await post(app, formatAddCheckpointRequest({ oldSize: 7, proof, checkpoint: log.checkpoint() }))).status).to.equal(422);
      });
      it("answers 422 for a non-empty proof from old size 0", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(7);
        const body = `old 0\n${Buffer.alloc(32).toString("base64")}\n\n${log.checkpoint()}`;
        expect((await post(makeWitness().app, body)).status).to.equal(422);
      });
    });

    describe("a checkpoint whose origin the witness does not know", () => {
      it("answers 404", async () => {
        const other = new ToyLog("other.example/log", LOG.signer).grow(2);
        expect((await post(makeWitness().app, other.request(0))).status).to.equal(404);
      });
    });

    describe("a checkpoint without a verifying signature from the log's key", () => {
      it("answers 403 for a signature by an unknown key", async () => {
        const log = new ToyLog(ORIGIN, STRANGER.signer).grow(2);
        expect((await post(makeWitness().app, log.request(0))).status).to.equal(403);
      });
      it("answers 403 for a key of the origin's name that is not trusted", async () => {
        const log = new ToyLog(ORIGIN, LOG_ROTATED.signer).grow(2);
        expect((await post(makeWitness().app, log.request(0))).status).to.equal(403);
      });
      it("answers 403 for a tampered signature from the trusted key", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(2);
        const note = log.checkpoint();
        const tampered = note.replace(/([A-Za-z0-9+/])(=*\n)$/, (_m, c: string, rest: string) => (c === "A" ? "B" : "A") + rest);
        expect((await post(makeWitness().app, `old 0\n\n${tampered}`)).status).to.equal(403);
      });
      it("answers 403 for a checkpoint whose body was changed after signing", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(2);
        expect((await post(makeWitness().app, `old 0\n\n${log.checkpoint().replace("\n2\n", "\n3\n")}`)).status).to.equal(403);
      });
    });

    describe("an old size above the checkpoint's size", () => {
      it("answers 400", async () => {
        const log = new ToyLog(ORIGIN, LOG.signer).grow(4);
        const body = `old 5\n${Buffer.alloc(32).toString("base64")}\n\n${log.checkpoint()}`;
        expect((await post(makeWitness().app, body)).status).to.equal(400);
      });
    });

    describe("a malformed body", () => {
      const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
      const cases: [string, string | Buffer][] = [
        ["an empty body", ""],
        ["no old line", `\n${log.checkpoint()}`],
        ["an old size with a leading zero", `old 03\n\n${log.checkpoint()}`],
        ["an old size with a sign", `old +3\n\n${log.checkpoint()}`],
        ["a proof line that is not base64", `old 0\nnot base64!\n\n${log.checkpoint()}`],
        ["a proof line of 31 bytes", `old 0\n${Buffer.alloc(31).toString("base64")}\n\n${log.checkpoint()}`],
        ["64 proof lines", `old 1\n${`${Buffer.alloc(32).toString("base64")}\n`.repeat(64)}\n${log.checkpoint()}`],
        ["no empty line before the checkpoint", `old 0\n${log.checkpoint()}`],
        ["no checkpoint", "old 0\n\n"],
        ["a checkpoint without signatures", `old 0\n\n${formatCheckpoint({ origin: ORIGIN, size: 3, rootHash: log.tree.root(), extensions: [] })}`],
        ["bytes that are not UTF-8", Buffer.from([0x6f, 0x6c, 0x64, 0x20, 0x30, 0x0a, 0x0a, 0xff])],
        ["CRLF line endings", `old 0\r\n\r\n${log.checkpoint()}`],
      ];
      for (const [what, body] of cases)
        it(`answers 400 for ${what}`, async () => {
          const res = await post(makeWitness().app, body);
          expect(res.status).to.equal(400);
          expect(res.text).to.not.match(/at .*\.ts/);
        });
      it("answers 413 for a body over the limit", async () => {
        const res = await post(makeWitness().app, Buffer.alloc(MAX_ADD_CHECKPOINT_BODY + 1, 0x61));
        expect(res.status).to.equal(413);
      });
      it("answers 405 for a GET", async () => {
        const res = await request(makeWitness().app).get("/add-checkpoint");
        expect(res.status).to.equal(405);
        expect(res.headers.allow).to.equal("POST");
      });
    });

    describe("a save that fails", () => {
      it("answers 500 with no cosignature, and the state is unchanged", async () => {
        let fail = false;
        const { app } = makeWitness(memoryStateStore({ failSave: () => fail }));
        const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
        await post(app, log.request(0));
        log.grow(3);
        fail = true;
        const res = await post(app, log.request(3));
        expect(res.status).to.equal(500);
        expect(res.text).to.not.include("—");
        fail = false;
        expect((await post(app, log.request(0))).text).to.equal("3\n");
      });
    });
  });

  describe("concurrent add-checkpoint calls for one origin", () => {
    it("let exactly one of several from the same old size win; the others get 409", async () => {
      const { app } = makeWitness();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(4);
      await post(app, log.request(0));
      const bodies: string[] = [];
      for (let i = 0; i < 8; i++) {
        log.grow(1 + i);
        bodies.push(log.request(4));
      }
      const results = await Promise.all(bodies.map((b) => post(app, b)));
      const wins = results.filter((r) => r.status === 200);
      expect(wins).to.have.length(1);
      expect(results.filter((r) => r.status === 409)).to.have.length(7);
      // The losers are told the winner's size, and the witness holds that size.
      const winnerSize = Number(results.find((r) => r.status === 409)!.text.trim());
      expect((await post(app, log.request(0))).text).to.equal(`${winnerSize}\n`);
    });
    it("never roll the recorded size back (the spec's race: N and N+K from one old size)", async () => {
      const { witness } = makeWitness();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(4);
      await witness.addCheckpoint(log.request(0));
      log.grow(10);
      const small = formatAddCheckpointRequest({ oldSize: 4, proof: log.tree.consistencyProof(4, 6), checkpoint: log.checkpoint(6) });
      const big = log.request(4);
      const outcomes = await Promise.allSettled([witness.addCheckpoint(big), witness.addCheckpoint(small)]);
      expect(outcomes.map((o) => o.status)).to.deep.equal(["fulfilled", "rejected"]);
      expect(((outcomes[1] as PromiseRejectedResult).reason as WitnessError).latestSize).to.equal(14);
    });
  });

  describe("the state directory", () => {
    it("keeps the latest cosigned checkpoint across a restart", async () => {
      const dir = tempDir();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(6);
      const first = makeWitness(directoryStateStore(dir));
      expect((await post(first.app, log.request(0))).status).to.equal(200);
      const second = makeWitness(directoryStateStore(dir));
      const res = await post(second.app, log.request(0));
      expect(res.status).to.equal(409);
      expect(res.text).to.equal("6\n");
      log.grow(2);
      expect((await post(second.app, log.request(6))).status).to.equal(200);
    });
    it("holds only owner-accessible files", async () => {
      const dir = tempDir();
      const { app } = makeWitness(directoryStateStore(dir));
      await post(app, new ToyLog(ORIGIN, LOG.signer).grow(1).request(0));
      const files = await fs.readdir(path.join(dir, "checkpoints"));
      expect(files).to.have.length(1);
      expect((await fs.stat(path.join(dir, "checkpoints", files[0]!))).mode & 0o077).to.equal(0);
    });
  });
});
