/**
 * Failover of the database under write load (issue 17 §3), on one machine:
 * the service process records into a PostgreSQL primary with a synchronous
 * standby and anchors on anvil; concurrent HTTP writers keep recording when
 * the primary's postmaster and its processes are SIGKILLed. The standby is
 * promoted, its inherited synchronous_standby_names reset (the operator's
 * step, service/store/README.md), and the service restarted against it with
 * the same data directory (keys, anchoring state). Then:
 *
 * - every write acknowledged with 201 is in the new primary and served;
 * - the root the new primary's head holds, and the service signs, is a
 *   reference recomputation over all its leaves;
 * - every checkpoint anchored on the chain, before and after the failover,
 *   is a prefix of the new primary's log: its root is the reference root of
 *   that many leaves, and the service's consistency proof to the new size
 *   verifies.
 */
import path from "node:path";
import { expect } from "chai";
import { CompactRange, fromHex, hashLeaf, toHex, verifyConsistency } from "../../service/log";
import { deployFor, programmeBody, serviceEnv, serviceProcessSuite, ServiceProcess, startAnvil, type ExternalChain } from "../chain/service-process";
import { dropSynchronousStandbys, startReplicatedPair, type ReplicatedPair } from "../helpers/postgres";

const WRITERS = 8;

/** Concurrent writers, each recording programmes one request at a time until stopped; `acked` holds the ids answered 201. */
function writeLoad(url: string, token: string, tag: string): { acked: string[]; failed: () => number; stop: () => Promise<void> } {
  const acked: string[] = [];
  let failed = 0;
  let stopping = false;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      const code = `${tag}-${w}-${i}`;
      try {
        const res = await fetch(`${url}/v1/programmes`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "idempotency-key": code, "content-type": "application/json" },
          body: JSON.stringify(programmeBody(code)),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await res.json()) as { id?: string };
        if (res.status === 201 && typeof body.id === "string") acked.push(body.id);
        else failed++;
      } catch {
        failed++;
        // The service is gone or the request timed out; do not spin.
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const running = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  return {
    acked,
    failed: () => failed,
    async stop() {
      stopping = true;
      await running;
    },
  };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a PostgreSQL failover under write load", function () {
  this.timeout(300_000);
  const tempDir = serviceProcessSuite("ledger-failover-");
  let pair: ReplicatedPair | undefined;

  afterEach(async function () {
    await pair?.destroy();
    pair = undefined;
  });

  it("loses no acknowledged write, keeps the root, and every anchored checkpoint is a prefix of the promoted standby's log", async function () {
    const dir = tempDir();
    pair = await startReplicatedPair();
    await pair.primary.sql("CREATE DATABASE ledger TEMPLATE template0");
    const anvil = await startAnvil(path.join(dir, "anvil"));
    const chain: ExternalChain = await deployFor("anvil", anvil.url, anvil.port, dir, anvil);
    const dataDir = path.join(dir, "data");

    // Before: the service on the primary, requiring the synchronous standby, with an anchored history.
    const first = await ServiceProcess.start(serviceEnv(dataDir, chain, { LEDGER_DATABASE_URL: pair.primary.url("ledger"), LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "true" }));
    const token = first.firstAdminToken!;
    expect(token).to.match(/^sl_/);
    const acked = await first.recordProgrammes(token, 20, "before");
    await first.anchoredAll();

    // Under load, the primary dies.
    const load = writeLoad(first.url, token, "load");
    await waitFor("writes under load", () => load.acked.length >= 40);
    await pair.primary.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    acked.push(...load.acked);
    expect(load.failed(), "writes refused once the primary was gone").to.be.greaterThan(0);
    await first.stop(5_000);

    // The operator promotes the standby and resets the standby names it inherited.
    await pair.promoteStandby();
    await dropSynchronousStandbys(pair.standby);
    const promoted = pair.standby.url("ledger");

    // Still requiring a synchronous standby, the service refuses the promoted server, which has none yet.
    const refused = await ServiceProcess.start(serviceEnv(dataDir, chain, { LEDGER_DATABASE_URL: promoted, LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: "true" })).then(
      async (s) => {
        await s.stop();
        return "";
      },
      (e: unknown) => (e as Error).message,
    );
    expect(refused).to.include("synchronous_standby_names is empty");

    const second = await ServiceProcess.start(serviceEnv(dataDir, chain, { LEDGER_DATABASE_URL: promoted }));
    expect(second.firstAdminToken, "the tokens moved with the database").to.equal(undefined);
    acked.push(...(await second.recordProgrammes(token, 10, "after")));
    const health = await second.anchoredAll();

    // Every acknowledged write is there and served.
    const { rows } = await pair.standby.sql("SELECT idx, entry_id, bytes FROM leaves ORDER BY idx", [], "ledger", 60_000);
    expect(rows.length).to.equal(health.treeSize);
    const stored = new Set(rows.map((r: { entry_id: string }) => r.entry_id));
    const lost = acked.filter((id) => !stored.has(id));
    expect(lost, "acknowledged writes missing after the failover").to.deep.equal([]);
    for (const id of acked.slice(-5)) expect((await second.get(`/v1/entries/${id}`)).status).to.equal(200);

    // The root is a reference recomputation over all leaves, at every size a checkpoint names.
    const tree = new CompactRange();
    const rootAt = new Map<number, string>();
    rows.forEach((r: { idx: string; bytes: Buffer }, i: number) => {
      expect(Number(r.idx)).to.equal(i);
      tree.extend(hashLeaf(new Uint8Array(r.bytes)));
      rootAt.set(tree.size, toHex(tree.root()));
    });
    const head = (await pair.standby.sql("SELECT size, compact FROM log_head", [], "ledger")).rows[0] as { size: string; compact: Buffer };
    const compact = Array.from({ length: head.compact.length / 32 }, (_, i) => new Uint8Array(head.compact.subarray(32 * i, 32 * i + 32)));
    expect(toHex(new CompactRange(Number(head.size), compact).root())).to.equal(toHex(tree.root()));
    const note = (await second.get("/v1/log/checkpoint")).body as string;
    expect(Buffer.from(note.split("\n")[2]!, "base64").toString("hex"), "the signed root").to.equal(toHex(tree.root()));

    // Every anchored checkpoint is a prefix of the new primary's log.
    const count = await chain.client.checkpointCount();
    expect(count).to.be.greaterThan(1);
    const size = tree.size;
    for (let i = 0; i < count; i++) {
      const cp = await chain.client.checkpointAt(i);
      expect(cp.treeSize, `checkpoint ${i}`).to.be.at.most(size);
      expect(`0x${rootAt.get(cp.treeSize)}`, `checkpoint ${i} at size ${cp.treeSize}`).to.equal(cp.rootHex);
      if (cp.treeSize === size) continue;
      const proof = await second.get(`/v1/log/proof/consistency?from=${cp.treeSize}&to=${size}`);
      expect(proof.status).to.equal(200);
      verifyConsistency(cp.treeSize, size, fromHex(cp.rootHex), tree.root(), (proof.body.proof as string[]).map((h) => fromHex(h)));
    }
    await second.stop();
  });
});
