/**
 * The local chain: a real anvil process over JSON-RPC, started from the
 * @foundry-rs/anvil npm package with its state under a temporary data
 * directory. Checks deployment once, anchoring, persistence across a clean
 * restart, what a SIGKILL loses, recovery from a state file cut short, that
 * a lost chain is reported rather than silently replaced, and that a state
 * file is never shared by two chains nor kept by an orphaned one.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Anchorer } from "../../service/chain/anchorer";
import { ChainClient, type ChainError } from "../../service/chain/client";
import {
  anvilDevAccount,
  chainFiles,
  deployOnce,
  LocalChainStateLostError,
  LOCAL_CHAIN_ID,
  processesUsing,
  resolveAnvilBinary,
  startLocalChain,
  type LocalChain,
  type LocalDeployment,
} from "../../service/chain/local-chain";
import { loadOrCreateRecorderKey, type RecorderKey } from "../../service/chain/recorder-key";
import { FileAnchorStateStore } from "../../service/chain/state";
import { captureLogger, createLogWorld, eventually, expectChainMatchesLog, ORIGIN, within, type LogWorld } from "./helpers";
import { rejection } from "../helpers/rejection";

describe("local chain (anvil in a separate process)", function () {
  this.timeout(120_000);

  const { logger, lines } = captureLogger();
  let dataDir: string;
  const running: LocalChain[] = [];
  const anchorers: Anchorer[] = [];

  beforeEach(async function () {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "ledger-chain-"));
  });

  afterEach(async function () {
    await Promise.all(anchorers.splice(0).map((a) => a.stop()));
    await Promise.all(running.splice(0).map((c) => c.kill()));
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  async function start(options: { stateIntervalSeconds?: number } = {}): Promise<LocalChain> {
    const chain = await startLocalChain({ dataDir, logger, ...options });
    running.push(chain);
    return chain;
  }

  async function startLocalChainFor(extraArgs: string[]): Promise<LocalChain> {
    const chain = await startLocalChain({ dataDir, logger, extraArgs });
    running.push(chain);
    return chain;
  }

  async function stop(chain: LocalChain): Promise<void> {
    const info = await chain.stop();
    running.splice(running.indexOf(chain), 1);
    expect(info, "anvil exits cleanly on SIGTERM").to.deep.equal({ code: 0, signal: null });
  }

  async function kill(chain: LocalChain): Promise<void> {
    const info = await chain.kill();
    running.splice(running.indexOf(chain), 1);
    expect(info.signal).to.equal("SIGKILL");
  }

  async function recorder(): Promise<RecorderKey> {
    return (await loadOrCreateRecorderKey(path.join(dataDir, "keys", "recorder.key"))).key;
  }

  async function deploy(chain: LocalChain, key: RecorderKey, redeploy = false): Promise<LocalDeployment> {
    return deployOnce({ dataDir, transport: chain.transport(), deployer: anvilDevAccount(), recorder: key.address, logger, redeploy, redeployHint: "set the test's redeploy flag" });
  }

  function anchorer(chain: LocalChain, dep: LocalDeployment, key: RecorderKey, log: LogWorld): { anchorer: Anchorer; client: ChainClient } {
    const client = new ChainClient({ transport: chain.transport(), address: dep.address, chainId: dep.chainId });
    const a = new Anchorer({
      ledger: log.ledger,
      store: log.store,
      chain: client,
      recorder: key,
      stateStore: new FileAnchorStateStore(path.join(chainFiles(dataDir).dir, "anchor-state.json")),
      noteSigner: log.noteSigner,
      origin: ORIGIN,
      logger,
      recordedAtOf: async (i) => (await log.store.leaf(i))?.recordedAt,
      everyEntries: 1,
      pollMs: 20,
      retryBaseMs: 20,
      retryMaxMs: 200,
      fromBlock: dep.deployBlock,
    });
    log.listeners.add(() => a.notify());
    anchorers.push(a);
    a.start();
    return { anchorer: a, client };
  }

  async function stopAnchorer(a: Anchorer, log: LogWorld): Promise<void> {
    await a.stop();
    anchorers.splice(anchorers.indexOf(a), 1);
    log.listeners.clear();
  }

  it("finds the anvil binary of this platform inside node_modules", function () {
    const bin = resolveAnvilBinary();
    expect(bin).to.match(/@foundry-rs[\\/]anvil-[a-z0-9]+-[a-z0-9]+[\\/]bin[\\/]anvil(\.exe)?$/);
  });

  it("classifies anvil's own answers: a duplicate counts as sent, a cheaper replacement is underpriced, a mined nonce is too low", async function () {
    const chain = await startLocalChainFor(["--no-mining"]);
    const rpc = new ChainClient({ transport: chain.transport(), address: "0x000000000000000000000000000000000000dEaD", chainId: LOCAL_CHAIN_ID });
    const dev = anvilDevAccount();
    const price = await rpc.gasPrice();
    const tx = { to: dev.address, data: "0x", nonce: 0, gasLimit: 21_000n, gasPrice: price };
    const signed = await rpc.sign(dev, tx);
    expect(await rpc.sendRaw(signed)).to.equal(signed.hash);
    expect(await rpc.sendRaw(signed), "'transaction already imported'").to.equal(signed.hash);
    const same = await rpc.sign(dev, { ...tx, value: 1n });
    expect(((await rejection(rpc.sendRaw(same))) as ChainError).code).to.equal("UNDERPRICED");
    expect(await rpc.getTransactionCount(dev.address, "pending")).to.equal(1);
    expect(await rpc.getTransactionCount(dev.address, "latest")).to.equal(0);
    await chain.transport().request({ method: "evm_mine", params: [] });
    expect((await rpc.getReceipt(signed.hash))?.status).to.equal(1);
    expect(((await rejection(rpc.sendRaw(same))) as ChainError).code).to.equal("NONCE_TOO_LOW");
  });

  it("deploys once, anchors, and keeps blocks, code, receipts and logs across a SIGTERM restart", async function () {
    const log = await createLogWorld();
    const key = await recorder();
    let chain = await start();
    expect(chain.stateCheck).to.equal("absent");
    const dep = await deploy(chain, key);
    expect(dep.chainId).to.equal(LOCAL_CHAIN_ID);
    const saved = JSON.parse(await fs.readFile(chainFiles(dataDir).deployment, "utf8")) as LocalDeployment;
    expect(saved).to.deep.equal(dep);

    let { anchorer: a, client } = anchorer(chain, dep, key, log);
    await log.add(10);
    await within(a.whenAnchored(10), 30_000);
    await log.add(5);
    const last = await within(a.whenAnchored(15), 30_000);
    await stopAnchorer(a, log);
    const before = {
      block: await client.blockNumber(),
      count: await client.checkpointCount(),
      code: await client.getCode(dep.address),
      nonce: await client.getTransactionCount(key.address, "latest"),
    };

    await stop(chain);
    const port = chain.port;
    chain = await start();
    expect(chain.stateCheck).to.equal("ok");
    expect(chain.port, "the same RPC port, so a printed --rpc URL stays valid").to.equal(port);
    const again = await deploy(chain, key);
    expect(again, "the same deployment, not a new one").to.deep.equal(dep);
    client = new ChainClient({ transport: chain.transport(), address: dep.address, chainId: dep.chainId });
    expect(await client.blockNumber(), "deployOnce sent nothing the second time").to.equal(before.block);
    expect(await client.checkpointCount()).to.equal(before.count);
    expect(await client.getCode(dep.address)).to.equal(before.code);
    expect(await client.getTransactionCount(key.address, "latest")).to.equal(before.nonce);
    const receipt = await client.getReceipt(last.txHash!);
    expect(receipt?.blockNumber, "receipts survive").to.equal(last.blockNumber);
    expect((await client.findAnchoredEvent(last.checkpointIndex, dep.deployBlock))?.transactionHash, "event logs survive").to.equal(last.txHash);

    ({ anchorer: a, client } = anchorer(chain, dep, key, log));
    await log.add(3);
    await within(a.whenAnchored(18), 30_000);
    await expectChainMatchesLog(client, log, 18);
  });

  it("after SIGKILL the chain is back at its last periodic dump, and the anchorer anchors again what was lost", async function () {
    const log = await createLogWorld();
    const key = await recorder();
    let chain = await start();
    const dep = await deploy(chain, key);
    let { anchorer: a, client } = anchorer(chain, dep, key, log);
    await log.add(10);
    await within(a.whenAnchored(10), 30_000);
    // Let at least two periodic dumps (1 s apart) pass, so the first checkpoint is on disk.
    await new Promise((r) => setTimeout(r, 2_500));
    await log.add(5);
    await within(a.whenAnchored(15), 30_000);
    await stopAnchorer(a, log);
    // With everyEntries 1 the five entries may land in one checkpoint or several, so count them.
    const anchoredBeforeKill = await client.checkpointCount();
    await kill(chain);

    chain = await start();
    expect(chain.stateCheck).to.equal("ok");
    await deploy(chain, key);
    client = new ChainClient({ transport: chain.transport(), address: dep.address, chainId: dep.chainId });
    const count = await client.checkpointCount();
    // The first checkpoint was dumped before the pause; later ones only if a dump fell before the kill.
    expect(count).to.be.at.least(1).and.at.most(anchoredBeforeKill);
    lines.length = 0;
    ({ anchorer: a, client } = anchorer(chain, dep, key, log));
    await within(a.whenAnchored(15), 30_000);
    await expectChainMatchesLog(client, log, 15);
    if (count < anchoredBeforeKill) expect(lines.some((l) => l.includes("fewer checkpoints than recorded"))).to.equal(true);
  });

  it("restores the last good copy when the state file was cut short by a kill during a dump", async function () {
    const log = await createLogWorld();
    const key = await recorder();
    let chain = await start();
    const dep = await deploy(chain, key);
    const { anchorer: a } = anchorer(chain, dep, key, log);
    await log.add(4);
    await within(a.whenAnchored(4), 30_000);
    await stopAnchorer(a, log);
    await stop(chain);

    const files = chainFiles(dataDir);
    const full = await fs.readFile(files.state, "utf8");
    await fs.writeFile(files.state, full.slice(0, Math.floor(full.length / 2)));
    chain = await start();
    expect(chain.stateCheck).to.equal("restored-from-good-copy");
    expect((await fs.readdir(files.dir)).some((f) => f.startsWith("anvil-state.json.corrupt-")), "the cut file is kept aside").to.equal(true);
    expect(await deploy(chain, key)).to.deep.equal(dep);
    let client = new ChainClient({ transport: chain.transport(), address: dep.address, chainId: dep.chainId });
    await expectChainMatchesLog(client, log, 4);

    // A state file that vanished altogether is also replaced by the good copy, not by an empty chain.
    await stop(chain);
    await fs.rm(files.state);
    chain = await start();
    expect(chain.stateCheck).to.equal("restored-from-good-copy");
    client = new ChainClient({ transport: chain.transport(), address: dep.address, chainId: dep.chainId });
    await expectChainMatchesLog(client, log, 4);
  });

  it("refuses a configured port that is already taken", async function () {
    const chain = await start();
    let error: unknown;
    try {
      await startLocalChain({ dataDir: path.join(dataDir, "second"), logger, port: chain.port });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.include("already in use");
    expect(await chain.transport().request({ method: "eth_chainId" })).to.equal(`0x${LOCAL_CHAIN_ID.toString(16)}`);
  });

  describe("one chain per state file", function () {
    it("a second start on the same data directory stops the first chain, and waits for it, before reading the state file", async function () {
      const first = await start();
      const firstPid = first.pid!;
      const second = await start();
      expect((await within(first.exited, 20_000)).signal, "the first anvil was told to stop").to.equal(null);
      const using = await processesUsing(chainFiles(dataDir).state);
      expect(using, "only the second anvil uses the state file").to.deep.equal([second.pid]);
      expect(using).to.not.include(firstPid);
      expect(lines.some((l) => l.includes("still uses this state file"))).to.equal(true);
    });

    it("anvil does not outlive the process that started it, even when that process is SIGKILLed", async function () {
      // A separate node process starts the local chain and is then killed, as the OOM killer would.
      const script = `require("ts-node").register({ transpileOnly: true });
        const pino = require("pino");
        const { startLocalChain } = require(${JSON.stringify(path.join(__dirname, "../../service/chain/local-chain"))});
        startLocalChain({ dataDir: ${JSON.stringify(dataDir)}, logger: pino({ level: "silent" }) }).then((c) => console.log("PID " + c.pid));`;
      const child = spawn(process.execPath, ["-e", script], { cwd: path.join(__dirname, "../.."), stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      await eventually(() => /PID [0-9]+/.test(out), 60_000, "the chain to start");
      const anvilPid = Number(/PID ([0-9]+)/.exec(out)![1]);
      expect(await processesUsing(chainFiles(dataDir).state)).to.deep.equal([anvilPid]);
      child.kill("SIGKILL");
      await eventually(async () => (await processesUsing(chainFiles(dataDir).state)).length === 0, 10_000, "anvil to exit after its parent died");
    });
  });

  it("reports a lost chain instead of silently redeploying, and redeploys and re-anchors everything when told", async function () {
    const log = await createLogWorld();
    const key = await recorder();
    // No periodic dump before the kill: nothing of this chain reaches the disk.
    let chain = await start({ stateIntervalSeconds: 3600 });
    const dep = await deploy(chain, key);
    let { anchorer: a } = anchorer(chain, dep, key, log);
    await log.add(6);
    await within(a.whenAnchored(6), 30_000);
    await stopAnchorer(a, log);
    await kill(chain);
    await fs.rm(chainFiles(dataDir).good, { force: true });

    chain = await start();
    let error: unknown;
    try {
      await deploy(chain, key);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(LocalChainStateLostError);
    expect((error as Error).message).to.include(dep.address).and.include("set the test's redeploy flag");

    const fresh = await deploy(chain, key, true);
    // anvil's dev account starts again at nonce 0, so the new contract lands at the same address;
    // the anchor record then describes a contract with fewer checkpoints, which recovery handles.
    expect(await new ChainClient({ transport: chain.transport(), address: fresh.address, chainId: fresh.chainId }).checkpointCount()).to.equal(0);
    lines.length = 0;
    let client: ChainClient;
    ({ anchorer: a, client } = anchorer(chain, fresh, key, log));
    await within(a.whenAnchored(6), 30_000);
    await expectChainMatchesLog(client, log, 6);
    expect(lines.some((l) => l.includes("fewer checkpoints than recorded") || l.includes("another contract"))).to.equal(true);
  });
});
