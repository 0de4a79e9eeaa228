/**
 * The wiring: chain settings from the environment, and startChain in both
 * modes — the local anvil (deployed once, state kept across restarts) and a
 * configured node (refused when misconfigured, tolerated when unreachable).
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ConfigError } from "../../service/config";
import { startChain, type RunningChain } from "../../service/chain";
import { ChainError } from "../../service/chain/client";
import { loadChainConfig, type ChainConfig } from "../../service/chain/config";
import { chainFiles, freePort, startLocalChain } from "../../service/chain/local-chain";
import { LedgerHaltedError } from "../../service/ledger/ledger";
import { captureLogger, createLogWorld, eventually, expectChainMatchesLog, ORIGIN, within, type LogWorld } from "./helpers";

describe("chain settings", function () {
  it("default to the local chain, with the recorder key under the data directory", function () {
    const c = loadChainConfig({}, "/srv/ledger");
    expect(c.remote).to.equal(undefined);
    expect(c.recorderKeyFile).to.equal(path.resolve("/srv/ledger/keys/recorder.key"));
    expect(c).to.include({ everyEntries: 1000, everyMs: 5000, maxDelayMs: 300_000, confirmations: 1, replaceAfterMs: 60_000, redeployLocal: false });
    expect(c.maxGasPrice).to.equal(undefined);
  });

  it("read a configured node", function () {
    const c = loadChainConfig(
      {
        LEDGER_RPC_URL: "https://besu.example.gov.cn:8545",
        LEDGER_CHAIN_ID: "1337",
        LEDGER_ANCHOR_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        LEDGER_ANCHOR_FROM_BLOCK: "12",
        LEDGER_ANCHOR_MAX_GAS_PRICE_WEI: "0",
        LEDGER_ANCHOR_EVERY_ENTRIES: "50",
      },
      "/srv/ledger",
    );
    expect(c.remote).to.deep.equal({ rpcUrl: "https://besu.example.gov.cn:8545", rpcUrls: ["https://besu.example.gov.cn:8545"], chainId: 1337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", fromBlock: 12 });
    expect(c.maxGasPrice).to.equal(0n);
    expect(c.everyEntries).to.equal(50);
  });

  for (const [desc, env, names] of [
    ["a node without chain id and address", { LEDGER_RPC_URL: "http://127.0.0.1:8545" }, ["LEDGER_CHAIN_ID", "LEDGER_ANCHOR_ADDRESS"]],
    ["a URL that is not http", { LEDGER_RPC_URL: "ws://127.0.0.1:8546", LEDGER_CHAIN_ID: "1", LEDGER_ANCHOR_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }, ["LEDGER_RPC_URL"]],
    ["a short address", { LEDGER_RPC_URL: "http://x", LEDGER_CHAIN_ID: "1", LEDGER_ANCHOR_ADDRESS: "0x1234" }, ["LEDGER_ANCHOR_ADDRESS"]],
    ["a zero cadence", { LEDGER_ANCHOR_EVERY_ENTRIES: "0" }, ["LEDGER_ANCHOR_EVERY_ENTRIES"]],
    ["a gas cap in hex", { LEDGER_ANCHOR_MAX_GAS_PRICE_WEI: "0x10" }, ["LEDGER_ANCHOR_MAX_GAS_PRICE_WEI"]],
    ["a cadence waiting more than half the health limit", { LEDGER_ANCHOR_EVERY_MS: "5001", LEDGER_ANCHOR_MAX_DELAY_MS: "10000" }, ["LEDGER_ANCHOR_EVERY_MS", "LEDGER_ANCHOR_MAX_DELAY_MS"]],
    ["the default cadence with a health limit below twice it", { LEDGER_ANCHOR_MAX_DELAY_MS: "9999" }, ["LEDGER_ANCHOR_EVERY_MS"]],
  ] as const) {
    it(`refuse ${desc}, naming the variables on one line`, function () {
      let error: unknown;
      try {
        loadChainConfig(env, "/srv/ledger");
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).to.not.include("\n");
      for (const n of names) expect(message).to.include(n);
    });
  }
});

describe("startChain", function () {
  this.timeout(120_000);
  const { logger } = captureLogger();
  let dataDir: string;
  const open: RunningChain[] = [];

  beforeEach(async function () {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "ledger-start-"));
  });
  afterEach(async function () {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  function config(overrides: Partial<ChainConfig> = {}): ChainConfig {
    return { ...loadChainConfig({}, dataDir), everyEntries: 1, everyMs: 10, ...overrides };
  }

  async function run(log: LogWorld, c = config()): Promise<RunningChain> {
    const chain = await startChain({ config: c, dataDir, ledger: log.ledger, store: log.store, noteSigner: log.noteSigner, origin: ORIGIN, logger });
    open.push(chain);
    log.listeners.add(() => chain.anchorer.notify());
    return chain;
  }

  async function close(chain: RunningChain, log: LogWorld): Promise<void> {
    await chain.close();
    open.splice(open.indexOf(chain), 1);
    log.listeners.clear();
  }

  it("with no node configured, runs a local anvil, deploys once and keeps anchoring across restarts", async function () {
    const log = await createLogWorld();
    let chain = await run(log);
    expect(chain.local?.running).to.equal(true);
    await log.add(5);
    await within(chain.anchorer.whenAnchored(5), 30_000);
    const address = chain.client.address;
    await close(chain, log);
    expect(chain.local?.running).to.equal(false);

    await log.add(4);
    chain = await run(log);
    expect(chain.client.address, "the same contract").to.equal(address);
    await within(chain.anchorer.whenAnchored(9), 30_000);
    await expectChainMatchesLog(chain.client, log, 9);
    const files = await fs.readdir(chainFiles(dataDir).dir);
    expect(files).to.include.members(["anvil-state.json", "anvil-state.good.json", "deployment.json", "anchor-state.json"]);
  });

  it("refuses a configured node on another chain", async function () {
    const anvil = await startLocalChain({ dataDir: path.join(dataDir, "other"), logger });
    try {
      const log = await createLogWorld();
      let error: unknown;
      try {
        await run(log, config({ remote: { rpcUrl: anvil.url, chainId: 1, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", fromBlock: 0 } }));
      } catch (e) {
        error = e;
      }
      expect((error as ChainError).code).to.equal("CHAIN_MISMATCH");
    } finally {
      await anvil.stop();
    }
  });

  it("starts against an unreachable node and keeps trying in the background", async function () {
    const log = await createLogWorld();
    const port = await freePort();
    const chain = await run(log, config({ remote: { rpcUrl: `http://127.0.0.1:${port}`, chainId: 1337, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", fromBlock: 0 } }));
    await log.add(2);
    expect(log.ledger.size).to.equal(2);
    await eventually(async () => (await chain.anchorer.status()).lastError !== null, 30_000, "an error");
    const status = await chain.anchorer.status();
    expect(status.lagEntries).to.equal(2);
    expect(status.lastError?.message).to.include("ECONNREFUSED");
  });
  it("stops recording from the first write when the chain holds more than the log (a log restored from an old backup)", async function () {
    const original = await createLogWorld();
    const chain = await run(original);
    await original.add(6);
    await within(chain.anchorer.whenAnchored(6), 30_000);
    await close(chain, original);

    // The same data directory's chain, but a log that has only 2 entries: appending would fork it.
    const rolledBack = await createLogWorld();
    await rolledBack.add(2);
    const restarted = await run(rolledBack);
    expect(rolledBack.ledger.halted?.rule).to.equal("anchoring-chain-ahead");
    const error = await rolledBack.add(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(LedgerHaltedError);
    expect((error as LedgerHaltedError).message).to.include("6 entries");
    expect(rolledBack.ledger.size, "nothing appended").to.equal(2);
    expect((await restarted.anchorer.status()).fatal).to.match(/only 2/);
  });

  it("starts the local chain again when it dies on its own, and anchoring goes on", async function () {
    const log = await createLogWorld();
    const chain = await run(log);
    await log.add(3);
    await within(chain.anchorer.whenAnchored(3), 30_000);
    const before = chain.local!.pid!;
    process.kill(before, "SIGKILL");
    await log.add(3);
    await within(chain.anchorer.whenAnchored(6), 60_000);
    expect(chain.local!.restarts).to.equal(1);
    expect(chain.local!.pid).to.not.equal(before);
    await expectChainMatchesLog(chain.client, log, 6);
  });
});
