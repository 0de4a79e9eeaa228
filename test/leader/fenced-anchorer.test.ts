/**
 * The one send of the anchorer not preceded by a save (recovery resending a
 * transaction already recorded) is fenced too: a state store whose term is
 * over (AnchorStateStore.assertWritable rejects) makes recovery send
 * nothing, where a writable one resends. Against anvil with automine off,
 * so the recorded transaction can be dropped from the pool first.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { HttpJsonRpc } from "../../service/chain/client";
import { anvilDevAccount, deployOnce, startLocalChain, type LocalChain } from "../../service/chain/local-chain";
import { inFlight, MemoryAnchorStateStore, type AnchorState } from "../../service/chain/state";
import { LeaseError } from "../../service/leader/lease";
import { createAnchorerWorld, createLogWorld, eventually, recorderKey, settle, within, type AnchorerWorld } from "../chain/helpers";

const quiet = pino({ level: "silent" });

/** The memory twin, with a term that can end. */
class TermStore extends MemoryAnchorStateStore {
  over = false;
  constructor(initial?: AnchorState) {
    super(initial);
  }
  async assertWritable(): Promise<void> {
    if (this.over) throw new LeaseError("FENCED", "leadership lost: term 1 of a is over");
  }
}

describe("recovery's resend of a recorded transaction", function () {
  this.timeout(120_000);
  let dir: string;
  const anvils: LocalChain[] = [];
  const worlds: AnchorerWorld[] = [];

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "ledger-fenced-"));
  });
  afterEach(async function () {
    await Promise.all(worlds.splice(0).map((w) => w.stopAll()));
    await Promise.all(anvils.splice(0).map((a) => a.kill()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  for (const fenced of [false, true])
    describe(fenced ? "when the store's term is over" : "when the store is writable", function () {
      it(fenced ? "sends nothing, and reports the lost leadership" : "resends the identical transaction", async function () {
        const anvil = await startLocalChain({ dataDir: path.join(dir, "anvil"), logger: quiet });
        anvils.push(anvil);
        const rpc = new HttpJsonRpc(anvil.url);
        const d = await deployOnce({ dataDir: path.join(dir, "deployer"), transport: rpc, deployer: anvilDevAccount(), recorder: recorderKey().address, logger: quiet });
        await rpc.request({ method: "evm_setAutomine", params: [false] });
        const log = await createLogWorld();
        const w = createAnchorerWorld(log, rpc, d.address, d.chainId);
        worlds.push(w);
        const store = new TermStore();
        const first = w.start(store, { everyEntries: 5, everyMs: 3_600_000 });
        await log.add(5);
        await eventually(() => inFlight(store.peek() ?? { contract: { chainId: 1, address: d.address }, pending: null, anchored: null }).length === 1, 20_000, "one in flight");
        await settle(100);
        await first.stop();
        const hash = store.peek()!.pending!.txHashes[0]!;
        const pooled = async () => (await rpc.request({ method: "eth_getTransactionByHash", params: [hash] })) !== null;
        await rpc.request({ method: "anvil_dropTransaction", params: [hash] });
        expect(await pooled(), "dropped").to.equal(false);

        const next = new TermStore(store.peek());
        next.over = fenced;
        const restarted = w.start(next, { everyEntries: 5, everyMs: 3_600_000 });
        await within(restarted.firstRecovery(), 20_000, "first recovery");
        await settle(200);
        expect(await pooled(), fenced ? "not resent" : "resent").to.equal(!fenced);
        expect(w.lines.some((l) => l.includes("recovery: resending the pending anchor transaction"))).to.equal(!fenced);
        if (fenced) expect((await restarted.status()).lastError?.message).to.include("leadership lost");
      });
    });
});
