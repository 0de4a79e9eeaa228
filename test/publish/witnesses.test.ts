/**
 * The service's witness stage (service/publish/witnesses.ts) against real
 * witnesses on loopback, with a toy log standing in for the anchorer:
 * publishing follows the quorum, an unreachable witness is retried, a
 * split-view refusal is an alarm logged once, and a bad policy file is
 * refused in one line.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { Writable } from "node:stream";
import { checkCosignedCheckpoint, parseWitnessPolicy, type WitnessPolicy } from "../../service/format";
import { cosignerKeyOf, noteKeyFromSeed, parseCosignerKey, parseSignerKey, toHex, verifyCheckpoint } from "../../service/log";
import type { AnchoredPoint } from "../../service/ledger/receipts";
import { MemoryCosignedCheckpointStore } from "../../service/publish/cosigned-store";
import { readWitnessPolicyFile, WitnessCosigner, witnessesHealthy, WitnessPolicyFileError, type WitnessingOptions } from "../../service/publish/witnesses";
import { startWitness, type RunningWitness } from "../../service/witness/server";
import { submitCheckpoint } from "../../service/witness/client";
import { LOG, ORIGIN } from "../log/note-keys";
import { ToyLog } from "../witness/helpers";

const silent = pino({ level: "silent" });

function witnessSigner(i: number) {
  return parseSignerKey(noteKeyFromSeed(`w${i}.audit.example.gov`, new Uint8Array(32).fill(60 + i)).signerKey);
}

function startW(i: number, port = 0): Promise<RunningWitness> {
  return startWitness({ signer: witnessSigner(i), logs: new Map([[ORIGIN, [LOG.verifier]]]), stateDir: mkdtempSync(path.join(tmpdir(), "cosigner-w-")), host: "127.0.0.1", port, logger: silent });
}

function point(log: ToyLog, size = log.tree.size): AnchoredPoint {
  return {
    chainId: 31337,
    contract: `0x${"11".repeat(20)}`,
    size,
    rootHex: `0x${toHex(log.tree.root(size))}`,
    checkpointIndex: 0,
    txHash: null,
    blockNumber: null,
    anchoredAt: "2026-01-01T00:00:00Z",
    signedCheckpoint: log.checkpoint(size),
  };
}

async function until<T>(what: string, f: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A logger whose error-level lines are kept. */
function recordingLogger() {
  const errors: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = JSON.parse(chunk.toString()) as { level: number; msg: string };
      if (line.level >= 50) errors.push(line.msg);
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), errors };
}

describe("the witness stage", function () {
  this.timeout(30_000);
  const running: RunningWitness[] = [];
  const cosigners: WitnessCosigner[] = [];
  afterEach(async function () {
    await Promise.all(cosigners.splice(0).map((c) => c.close()));
    await Promise.all(running.splice(0).map((w) => w.close().catch(() => undefined)));
  });

  async function three(): Promise<WitnessPolicy> {
    for (const i of [1, 2, 3]) running.push(await startW(i));
    return parseWitnessPolicy(
      running.map((w, i) => `witness w${i + 1} ${w.witness.cosignerKey} http://127.0.0.1:${w.port}\n`).join("") + "group two-of-three 2 w1 w2 w3\nquorum two-of-three\n",
    );
  }

  /** add-checkpoint calls made, by URL. */
  const calls = new Map<string, number>();
  function stage(policy: WitnessPolicy, log: ToyLog, anchored: { current: AnchoredPoint | null }, logger = silent, more: Partial<WitnessingOptions> = {}) {
    const c = WitnessCosigner.start({
      fetch: (url, init) => {
        calls.set(url, (calls.get(url) ?? 0) + 1);
        return fetch(url, init);
      },
      policy,
      anchored: () => anchored.current,
      proof: async (a, b) => log.tree.consistencyProof(a, b),
      logger,
      everyMs: 20,
      backoffMinMs: 20,
      backoffMaxMs: 100,
      alarmRetryMs: 50,
      timeoutMs: 2000,
      ...more,
    });
    cosigners.push(c);
    return c;
  }

  describe("with three witnesses and a quorum of two", function () {
    it("publishes each anchored checkpoint once two witnesses cosigned it, with their cosignature lines", async function () {
      const policy = await three();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(3);
      const anchored = { current: point(log) as AnchoredPoint | null };
      const c = stage(policy, log, anchored);
      const first = await until("size 3 published", () => c.publishedPoint());
      expect(first.size).to.equal(3);
      expect(verifyCheckpoint(first.signedCheckpoint, LOG.verifier, ORIGIN).size).to.equal(3);
      const check = checkCosignedCheckpoint(first.signedCheckpoint, policy);
      expect(check.satisfied).to.equal(true);
      expect(check.vouched.length).to.be.at.least(2);
      expect(await c.cosigned({ size: 3, note: "anchored" })).to.deep.equal({ size: 3, note: first.signedCheckpoint });

      log.grow(5);
      anchored.current = point(log);
      const second = await until("size 8 published", () => (c.publishedPoint()?.size === 8 ? c.publishedPoint() : null));
      expect(checkCosignedCheckpoint(second.signedCheckpoint, policy).satisfied).to.equal(true);
      await until("every witness at size 8", () => c.status().witnesses.every((w) => w.lastCosignedSize === 8 && w.lagEntries === 0));
      expect(c.status().waiting).to.equal(null);
    });

    it("keeps publishing with one witness stopped, and with two stopped keeps the last cosigned checkpoint and says why", async function () {
      const policy = await three();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(2);
      const anchored = { current: point(log) as AnchoredPoint | null };
      const c = stage(policy, log, anchored);
      await until("size 2 published", () => c.publishedPoint());

      await running[2]!.close();
      log.grow(2);
      anchored.current = point(log);
      await until("size 4 published with w3 stopped", () => c.publishedPoint()?.size === 4);
      const w3 = await until("w3 failing", () => c.status().witnesses.find((w) => w.name === "w3" && w.lastError !== null));
      // Refused, or reset if a call was in flight when it stopped: either way the system error is named.
      expect(w3.lastError).to.match(/^UNREACHABLE: .*\((ECONNREFUSED|ECONNRESET)\)$/);
      expect(c.status().blocked).to.equal(false);
      expect(witnessesHealthy(c.status())).to.equal(true);

      await running[1]!.close();
      log.grow(3);
      anchored.current = point(log);
      const st = await until("blocked", () => (c.status().blocked ? c.status() : null));
      expect(st.publishedSize).to.equal(4);
      expect(witnessesHealthy(st)).to.equal(false);
      expect(st.anchoredSize).to.equal(7);
      expect(st.waiting).to.contain("size 7").and.to.contain("two-of-three").and.to.contain("w2 UNREACHABLE").and.to.contain("size 4 stays published");
      expect(st.witnesses.find((w) => w.name === "w2")!.lagEntries).to.equal(3);
      expect(await c.cosigned({ size: 7, note: "anchored" })).to.deep.equal({ size: 4, note: c.publishedPoint()!.signedCheckpoint });
      // Retried with backoff (20 ms doubling to 100 ms here), not in a loop: a handful of calls in half a second.
      const before = calls.get(`http://127.0.0.1:${running[1]!.port}/add-checkpoint`) ?? 0;
      await new Promise((r) => setTimeout(r, 500));
      const during = (calls.get(`http://127.0.0.1:${running[1]!.port}/add-checkpoint`) ?? 0) - before;
      expect(during).to.be.within(2, 8);
    });

    it("after a restart, gets the witnesses to cosign again the checkpoint they already hold, and publishes it", async function () {
      const policy = await three();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(6);
      const anchored = { current: point(log) as AnchoredPoint | null };
      const before = stage(policy, log, anchored);
      await until("published before the restart", () => before.publishedPoint());
      await until("every witness at size 6", () => before.status().witnesses.every((w) => w.lastCosignedSize === 6));
      await before.close();
      // A new stage knows nothing: each witness answers 409 with size 6, and is asked again from there.
      const after = stage(policy, log, anchored);
      const again = await until("published after the restart", () => after.publishedPoint());
      expect(again.size).to.equal(6);
      expect(checkCosignedCheckpoint(again.signedCheckpoint, policy).satisfied).to.equal(true);
    });

    it("with a store, saves each cosigned checkpoint before publishing it, holds it back while a save fails, and a restart publishes it with every witness stopped", async function () {
      const policy = await three();
      const log = new ToyLog(ORIGIN, LOG.signer).grow(4);
      const anchored = { current: point(log) as AnchoredPoint | null };
      const store = new MemoryCosignedCheckpointStore();
      store.failNextSave();
      const { logger, errors } = recordingLogger();
      const persistence = { store, logVerifier: LOG.verifier, origin: ORIGIN, chain: { chainId: 31337, address: `0x${"11".repeat(20)}` } };
      const open = async (s: MemoryCosignedCheckpointStore) => {
        const c = await WitnessCosigner.open(
          { policy, anchored: () => anchored.current, proof: async (a, b) => log.tree.consistencyProof(a, b), logger, everyMs: 20, backoffMinMs: 20, backoffMaxMs: 100, timeoutMs: 2000 },
          { ...persistence, store: s },
        );
        cosigners.push(c);
        return c;
      };
      const c = await open(store);
      await until("the failed save logged", () => errors.length > 0);
      expect(errors[0]).to.match(/^cannot save the cosigned checkpoint of size 4; not published yet/);
      const first = await until("size 4 published once saved", () => c.publishedPoint());
      // Whatever is published was durable first.
      expect(store.saves).to.be.at.least(1);
      expect((await store.load())!.point.size).to.equal(4);

      log.grow(3);
      anchored.current = point(log);
      const second = await until("size 7 published", () => (c.publishedPoint()?.size === 7 ? c.publishedPoint() : null));
      expect((await store.load())!.note).to.equal(second.signedCheckpoint);
      expect(first.size).to.equal(4);
      await c.close();

      await Promise.all(running.map((w) => w.close()));
      const restarted = await open(store.reopen());
      expect(restarted.publishedPoint()).to.deep.equal(second);
      expect(checkCosignedCheckpoint(restarted.publishedPoint()!.signedCheckpoint, policy).satisfied).to.equal(true);
    });

    it("publishes nothing while no checkpoint has the quorum", async function () {
      const policy = parseWitnessPolicy(`witness w1 ${cosignerKeyOf(witnessSigner(1))} http://127.0.0.1:1\nquorum w1\n`);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(1);
      const c = stage(policy, log, { current: point(log) });
      const st = await until("w1 failing", () => (c.status().witnesses[0]!.lastError !== null ? c.status() : null));
      expect(c.publishedPoint()).to.equal(null);
      expect(await c.cosigned({ size: 1, note: "x" })).to.equal(null);
      expect(st.waiting).to.contain("nothing is published yet");
    });

    it("times a witness's next try by the clock it is given", async function () {
      const policy = parseWitnessPolicy(`witness w1 ${cosignerKeyOf(witnessSigner(1))} http://127.0.0.1:1\nquorum w1\n`);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(1);
      const at = Date.UTC(2030, 0, 1);
      const c = stage(policy, log, { current: point(log) }, silent, { clock: { now: () => at } });
      const w = await until("w1 failing", () => (c.status().witnesses[0]!.lastError !== null ? c.status().witnesses[0]! : null));
      expect(w.retryAt).to.equal(new Date(at + 20).toISOString());
    });

    it("keeps a bounded number of checkpoints awaiting the quorum however often the anchored one moves", async function () {
      const policy = parseWitnessPolicy(`witness w1 ${cosignerKeyOf(witnessSigner(1))} http://127.0.0.1:1\nquorum w1\n`);
      const log = new ToyLog(ORIGIN, LOG.signer).grow(1);
      const anchored = { current: point(log) as AnchoredPoint | null };
      const c = stage(policy, log, anchored);
      for (let i = 0; i < 40; i++) {
        log.grow(1);
        anchored.current = point(log);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(c.status().anchoredSize).to.equal(41);
      expect(c.status().pending).to.equal(1);
    });
  });

  describe("when a witness refuses our checkpoint as a split view", function () {
    it("raises an alarm, logged at error level once however often the witness is asked again, and the others still publish", async function () {
      const policy = await three();
      const honest = new ToyLog(ORIGIN, LOG.signer, "honest").grow(4);
      const fork = new ToyLog(ORIGIN, LOG.signer, "fork").grow(4);
      // w1 has already cosigned another tree of the same size: ours is a split view to it.
      await submitCheckpoint({ url: `http://127.0.0.1:${running[0]!.port}`, cosigner: parseCosignerKey(running[0]!.witness.cosignerKey), checkpoint: fork.checkpoint(), oldSize: 0, proof: async () => [] });
      const { logger, errors } = recordingLogger();
      const c = stage(policy, honest, { current: point(honest) }, logger);
      await until("published", () => c.publishedPoint());
      const st = await until("alarm", () => (c.status().alarms === 1 ? c.status() : null));
      expect(st.witnesses[0]!.alarm).to.match(/^SPLIT_VIEW/);
      // alarmRetryMs is 50 ms: wait for several retries.
      await new Promise((r) => setTimeout(r, 400));
      expect(errors.filter((m) => m.startsWith("ALARM: witness w1"))).to.have.length(1);
      expect(checkCosignedCheckpoint(c.publishedPoint()!.signedCheckpoint, policy).vouched).to.deep.equal(["w2", "w3"]);
      // Publishing goes on, but the service is not healthy while a witness reports a split view.
      expect(c.status().blocked).to.equal(false);
      expect(witnessesHealthy(c.status())).to.equal(false);
    });
  });

  describe("reading LEDGER_WITNESS_POLICY_FILE", function () {
    const dir = mkdtempSync(path.join(tmpdir(), "policy-file-"));
    it("refuses a missing file, a bad policy and a witness without a URL, each in one line naming the file", async function () {
      const bad = path.join(dir, "bad");
      writeFileSync(bad, "witness w1 not-a-key http://127.0.0.1:1\nquorum w1\n");
      const noUrl = path.join(dir, "no-url");
      writeFileSync(noUrl, `witness w1 ${cosignerKeyOf(witnessSigner(1))}\nquorum w1\n`);
      for (const [file, want] of [
        [path.join(dir, "missing"), /cannot read it \(ENOENT\)/],
        [bad, /line 1: witness "w1" key/],
        [noUrl, /witness w1 has no URL/],
      ] as const) {
        let thrown: unknown;
        await readWitnessPolicyFile(file).catch((e: unknown) => (thrown = e));
        expect(thrown).to.be.instanceOf(WitnessPolicyFileError);
        expect((thrown as Error).message).to.contain(`witness policy ${file}: `).and.to.match(want);
        expect((thrown as Error).message).to.not.contain("\n");
      }
    });
  });
});
