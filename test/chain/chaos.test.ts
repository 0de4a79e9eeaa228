/**
 * Power cuts: the real service and the local anvil it starts, SIGKILLed
 * together (the whole process group) at seeded random moments while clients
 * record and the anchorer anchors, then started again, many times over.
 *
 * After the last restart: every write the service acknowledged is served, the
 * log's root is the root a plain RFC 6962 reference computes from the served
 * leaves, everything is anchored within the maximum delay, the chain's
 * checkpoint sizes strictly increase and each checkpoint's root is the
 * reference root of that prefix of the log.
 *
 * `npm test` runs LEDGER_CHAOS_KILLS=20 kills with seed 11. A longer run:
 *   LEDGER_CHAOS_KILLS=200 LEDGER_CHAOS_SEED=7 npm run test:chaos
 */
import path from "node:path";
import { expect } from "chai";
import { ChainClient, HttpJsonRpc } from "../../service/chain/client";
import { chainFiles, processesUsing } from "../../service/chain/local-chain";
import { toHex } from "../../service/log";
import { prng } from "../../service/prng";
import { mth } from "../../scripts/lib/rfc6962-reference";
import { poll, programmeBody, serviceProcessSuite, ServiceProcess } from "./service-process";

const KILLS = Number(process.env.LEDGER_CHAOS_KILLS ?? 20);
const SEED = Number(process.env.LEDGER_CHAOS_SEED ?? 11);
const MAX_DELAY_MS = 60_000;

describe("power cuts: the service and its local chain SIGKILLed together", function () {
  this.timeout(KILLS * 20_000 + 180_000);
  const dir = serviceProcessSuite("ledger-chaos-");

  /** Clients recording programmes in batches until the service dies; every id acknowledged with 201 is kept. */
  function record(svc: ServiceProcess, token: string, acked: string[], tag: string, clients = 3): { cut: () => void; stop: () => Promise<void> } {
    let running = true;
    let n = 0;
    const loops = Array.from({ length: clients }, async (_, c) => {
      while (running) {
        const key = `${tag}-${c}-${n++}`;
        const records = Array.from({ length: 5 }, (_, i) => ({ kind: "programme", body: programmeBody(`${key}-${i}`) }));
        try {
          const res = await fetch(`${svc.url}/v1/batch`, {
            method: "POST",
            headers: { authorization: `Bearer ${token}`, "idempotency-key": key, "content-type": "application/json" },
            body: JSON.stringify({ records }),
          });
          if (res.status !== 201) throw new Error(`POST /v1/batch answered ${res.status}: ${await res.text()}`);
          const body = (await res.json()) as { results: { id: string }[] };
          acked.push(...body.results.map((r) => r.id));
        } catch (e) {
          // A write cut off by the kill was never acknowledged; anything else is a real failure.
          if (running) throw e;
          return;
        }
      }
    });
    return {
      /** From now on a failed write is expected (the kill comes next); requests in flight stay in flight. */
      cut: () => {
        running = false;
      },
      stop: async () => {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  it(`loses no acknowledged write and always resumes anchoring (${KILLS} kills, seed ${SEED})`, async function () {
    const random = prng(SEED);
    const env = {
      PORT: "0",
      HOST: "127.0.0.1",
      LEDGER_DATA_DIR: path.join(dir(), "data"),
      LOG_LEVEL: "warn",
      LEDGER_RATE_PUBLIC_PER_MINUTE: "1000000",
      LEDGER_RATE_ADMIN_PER_MINUTE: "1000000",
      LEDGER_ANCHOR_EVERY_ENTRIES: "50",
      LEDGER_ANCHOR_EVERY_MS: "100",
      LEDGER_ANCHOR_MAX_DELAY_MS: String(MAX_DELAY_MS),
    };
    const stateFile = chainFiles(env.LEDGER_DATA_DIR).state;
    const acked: string[] = [];

    let svc = await ServiceProcess.start(env, 60_000, { detached: true });
    const token = svc.firstAdminToken!;
    expect(token, "the first start shows an admin token").to.be.a("string");
    await svc.recordProgrammes(token, 20, "first");
    await svc.anchoredAll();

    for (let kill = 0; kill < KILLS; kill++) {
      const writers = record(svc, token, acked, `k${kill}`);
      await new Promise((r) => setTimeout(r, 150 + Math.floor(random() * 2_000)));
      writers.cut();
      await svc.killGroup();
      await writers.stop();
      await poll("the killed chain to be gone", async () => ((await processesUsing(stateFile)).length === 0 ? true : undefined), 10_000, 20);
      svc = await ServiceProcess.start(env, 60_000, { detached: true });
    }

    // After the last restart: a little more, then everything must settle by itself.
    const last = record(svc, token, acked, "last");
    await new Promise((r) => setTimeout(r, 500));
    await last.stop();
    const health = await svc.anchoredAll(MAX_DELAY_MS);

    for (const id of acked) expect((await svc.get(`/v1/entries/${id}`)).status, `acknowledged entry ${id}`).to.equal(200);

    const leaves: Uint8Array[] = [];
    for (let start = 0; start < health.treeSize; start += 1000) {
      const page = await svc.get(`/v1/log/entries?start=${start}&end=${Math.min(start + 1000, health.treeSize)}`);
      expect(page.status).to.equal(200);
      for (const e of page.body.entries as { leafIndex: number; leaf: string }[]) {
        expect(e.leafIndex).to.equal(leaves.length);
        leaves.push(new TextEncoder().encode(e.leaf));
      }
    }
    expect(leaves.length).to.equal(health.treeSize);
    expect(leaves.length, "at least every acknowledged entry").to.be.at.least(acked.length + 20);
    const checkpoint = (await svc.get("/v1/log/checkpoint")).body as string;
    const [, size, root] = checkpoint.split("\n");
    expect(Number(size)).to.equal(leaves.length);
    expect(toHex(Buffer.from(root!, "base64")), "the log's root against a reference recomputation").to.equal(toHex(mth(leaves)));

    const chainInfo = (await svc.get("/v1/chain")).body as { chainId: number; contract: string };
    const rpcUrl = /--rpc (\S+)/.exec(svc.stdout.join("\n"))?.[1];
    expect(rpcUrl, "the banner names the chain's RPC URL").to.be.a("string");
    const client = new ChainClient({ transport: new HttpJsonRpc(rpcUrl!), address: chainInfo.contract, chainId: chainInfo.chainId });
    const count = await client.checkpointCount();
    let previous = 0;
    for (let i = 0; i < count; i++) {
      const cp = await client.checkpointAt(i);
      expect(cp.treeSize, `checkpoint ${i} extends checkpoint ${i - 1}`).to.be.above(previous);
      expect(cp.rootHex, `checkpoint ${i} is a prefix of the log`).to.equal(`0x${toHex(mth(leaves.slice(0, cp.treeSize)))}`);
      previous = cp.treeSize;
    }
    expect(previous, "the chain's latest checkpoint covers the whole log").to.equal(leaves.length);
  });
});
