import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { checkCosignedCheckpoint, parseWitnessPolicy } from "../../service/format";
import { cosignerKeyOf, noteKeyFromSeed, parseCosignerKey, parseSignerKey, verifyCheckpoint } from "../../service/log";
import { collectCosignatures, submitCheckpoint, witnessCheckpoint, WitnessClientError, type ProofSource } from "../../service/witness/client";
import { startWitness, type RunningWitness } from "../../service/witness/server";
import { LOG, ORIGIN } from "../log/note-keys";
import { ToyLog } from "./helpers";

const silent = pino({ level: "silent" });

function witnessKey(i: number) {
  return parseSignerKey(noteKeyFromSeed(`w${i}.audit.example.gov`, new Uint8Array(32).fill(40 + i)).signerKey);
}

async function start(i: number, stateDir = mkdtempSync(path.join(tmpdir(), "witness-client-"))): Promise<RunningWitness> {
  return startWitness({ signer: witnessKey(i), logs: new Map([[ORIGIN, [LOG.verifier]]]), stateDir, host: "127.0.0.1", port: 0, logger: silent });
}

async function expectClientError(p: Promise<unknown>, code: string): Promise<WitnessClientError> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected WitnessClientError ${code}`).to.be.instanceOf(WitnessClientError);
  expect((thrown as WitnessClientError).code).to.equal(code);
  return thrown as WitnessClientError;
}

describe("witness client", () => {
  const running: RunningWitness[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((w) => w.close().catch(() => undefined)));
  });
  async function three() {
    for (const i of [1, 2, 3]) running.push(await start(i));
    const policy = parseWitnessPolicy(
      running.map((w, i) => `witness W${i + 1} ${w.witness.cosignerKey} http://127.0.0.1:${w.port}\n`).join("") + "group two-of-three 2 W1 W2 W3\nquorum two-of-three\n",
    );
    return policy;
  }

  describe("submitCheckpoint", () => {
    it("returns the verified cosignature line on 200", async () => {
      const w = await start(1);
      running.push(w);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
      const proof: ProofSource = async (a, b) => log.tree.consistencyProof(a, b);
      const r = await submitCheckpoint({ url: `http://127.0.0.1:${w.port}`, cosigner: parseCosignerKey(w.witness.cosignerKey), checkpoint: log.checkpoint(), oldSize: 0, proof });
      expect(r.kind).to.equal("cosigned");
    });
    it("returns the witness's size on 409 text/x.tlog.size", async () => {
      const w = await start(1);
      running.push(w);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
      const proof: ProofSource = async (a, b) => log.tree.consistencyProof(a, b);
      const base = { url: `http://127.0.0.1:${w.port}/`, cosigner: parseCosignerKey(w.witness.cosignerKey), proof };
      await submitCheckpoint({ ...base, checkpoint: log.checkpoint(), oldSize: 0 });
      log.grow(5);
      expect(await submitCheckpoint({ ...base, checkpoint: log.checkpoint(), oldSize: 0 })).to.deep.equal({ kind: "stale", witnessSize: 3 });
    });
    it("refuses a cosignature from a key other than the witness's", async () => {
      const w = await start(1);
      running.push(w);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
      const wrong = parseCosignerKey(cosignerKeyOf(witnessKey(9)));
      const e = await expectClientError(submitCheckpoint({ url: `http://127.0.0.1:${w.port}`, cosigner: wrong, checkpoint: log.checkpoint(), oldSize: 0, proof: async () => [] }), "BAD_RESPONSE");
      // The operator must see which key the witness used and which one the policy expects, to fix the policy line.
      const used = parseCosignerKey(w.witness.cosignerKey);
      expect(e.message).to.contain(`cosigned as ${used.name} (key ID ${used.keyId.toString(16).padStart(8, "0")})`);
      expect(e.message).to.contain(`${wrong.name} (key ID ${wrong.keyId.toString(16).padStart(8, "0")})`);
      expect(e.message).to.contain("policy line");
    });
    it("reports a different root at the witness's size as SPLIT_VIEW, a non-extending tree as PROOF_REFUSED", async () => {
      const w = await start(1);
      running.push(w);
      const honest = new ToyLog(ORIGIN, LOG.signer, "honest").grow(4);
      const fork = new ToyLog(ORIGIN, LOG.signer, "fork").grow(4);
      const base = { url: `http://127.0.0.1:${w.port}`, cosigner: parseCosignerKey(w.witness.cosignerKey) };
      await submitCheckpoint({ ...base, checkpoint: honest.checkpoint(), oldSize: 0, proof: async () => [] });
      await expectClientError(submitCheckpoint({ ...base, checkpoint: fork.checkpoint(), oldSize: 4, proof: async (a, b) => fork.tree.consistencyProof(a, b) }), "SPLIT_VIEW");
      fork.grow(4);
      await expectClientError(submitCheckpoint({ ...base, checkpoint: fork.checkpoint(), oldSize: 4, proof: async (a, b) => fork.tree.consistencyProof(a, b) }), "PROOF_REFUSED");
    });
    it("reports a witness that is down as UNREACHABLE", async () => {
      const w = await start(1);
      await w.close();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(1);
      await expectClientError(submitCheckpoint({ url: `http://127.0.0.1:${w.port}`, cosigner: parseCosignerKey(w.witness.cosignerKey), checkpoint: log.checkpoint(), oldSize: 0, proof: async () => [] }), "UNREACHABLE");
    });
  });

  describe("witnessCheckpoint", () => {
    it("resubmits from the witness's size after a 409, with the proof from that size", async () => {
      const w = await start(1);
      running.push(w);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
      const asked: [number, number][] = [];
      const proof: ProofSource = async (a, b) => {
        asked.push([a, b]);
        return log.tree.consistencyProof(a, b);
      };
      const base = { url: `http://127.0.0.1:${w.port}`, cosigner: parseCosignerKey(w.witness.cosignerKey), proof };
      await witnessCheckpoint({ ...base, checkpoint: log.checkpoint(), oldSize: 0 });
      log.grow(10);
      const r = await witnessCheckpoint({ ...base, checkpoint: log.checkpoint(), oldSize: 0 });
      expect(r.size).to.equal(13);
      expect(asked).to.deep.equal([[3, 13]]);
    });
  });

  describe("collectCosignatures with three witnesses and a quorum of two", () => {
    it("returns a note that meets the quorum, the log signature intact", async () => {
      const policy = await three();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(20);
      const proof: ProofSource = async (a, b) => log.tree.consistencyProof(a, b);
      const got = await collectCosignatures({ policy, checkpoint: log.checkpoint(), proof });
      expect(got.vouched.length).to.be.at.least(2);
      expect(checkCosignedCheckpoint(got.note, policy).satisfied).to.equal(true);
      expect(verifyCheckpoint(got.note, LOG.verifier).size).to.equal(20);
    });
    it("still meets it with one witness stopped", async () => {
      const policy = await three();
      await running[0]!.close();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
      const got = await collectCosignatures({ policy, checkpoint: log.checkpoint(), proof: async (a, b) => log.tree.consistencyProof(a, b) });
      expect(got.vouched).to.deep.equal(["W2", "W3"]);
      expect(checkCosignedCheckpoint(got.note, policy).satisfied).to.equal(true);
    });
    it("fails with QUORUM_NOT_MET, naming why, with two stopped", async () => {
      const policy = await three();
      await running[0]!.close();
      await running[1]!.close();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
      const e = await expectClientError(collectCosignatures({ policy, checkpoint: log.checkpoint(), proof: async (a, b) => log.tree.consistencyProof(a, b) }), "QUORUM_NOT_MET");
      expect([...e.detail.failures!.entries()].map(([n, f]) => [n, f.code])).to.deep.equal([
        ["W1", "UNREACHABLE"],
        ["W2", "UNREACHABLE"],
      ]);
      expect(e.detail.partial!.vouched).to.deep.equal(["W3"]);
    });
    it("catches up witnesses from the sizes they report, and passes the sizes back", async () => {
      const policy = await three();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(5);
      const proof: ProofSource = async (a, b) => log.tree.consistencyProof(a, b);
      const first = await collectCosignatures({ policy, checkpoint: log.checkpoint(), proof });
      log.grow(7);
      // Sizes forgotten (a restart): every witness answers 409 with 5, then cosigns 12.
      const second = await collectCosignatures({ policy, checkpoint: log.checkpoint(), proof });
      expect(second.vouched.length).to.be.at.least(2);
      for (const n of second.vouched) expect(second.sizes.get(n)).to.equal(12);
      expect(first.sizes.size).to.be.at.least(2);
    });
    it("reports a split view by code and does not count it", async () => {
      const policy = await three();
      const honest = new ToyLog(ORIGIN, LOG.signer, "honest").grow(6);
      await collectCosignatures({ policy, checkpoint: honest.checkpoint(), proof: async () => [] });
      // Make sure all three have the honest head (collect may stop after two).
      for (const w of running) await submitCheckpoint({ url: `http://127.0.0.1:${w.port}`, cosigner: parseCosignerKey(w.witness.cosignerKey), checkpoint: honest.checkpoint(), oldSize: 6, proof: async () => [] }).catch(() => undefined);
      const fork = new ToyLog(ORIGIN, LOG.signer, "fork").grow(6);
      const e = await expectClientError(collectCosignatures({ policy, checkpoint: fork.checkpoint(), proof: async () => [], sizes: new Map([["W1", 6], ["W2", 6], ["W3", 6]]) }), "QUORUM_NOT_MET");
      expect([...e.detail.failures!.values()].map((f) => f.code)).to.deep.equal(["SPLIT_VIEW", "SPLIT_VIEW", "SPLIT_VIEW"]);
    });
    it("returns the note unchanged for quorum none", async () => {
      const log = new ToyLog(ORIGIN, LOG.signer).grow(1);
      const got = await collectCosignatures({ policy: parseWitnessPolicy("quorum none\n"), checkpoint: log.checkpoint(), proof: async () => [] });
      expect(got.note).to.equal(log.checkpoint());
    });
  });
});
