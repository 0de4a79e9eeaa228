/**
 * A local chain for `npm start` when no chain is configured: anvil from the
 * `@foundry-rs/anvil` npm package, its state kept under the data directory,
 * and LedgerAnchor deployed on it once.
 *
 * Persistence, as verified against anvil 1.7.1 (see test/chain/local-chain.test.ts):
 * - `--state <file>` loads the file at start if it exists and dumps the whole
 *   chain (accounts, blocks, transactions, receipts) to it on a clean exit
 *   (SIGTERM/SIGINT); `--state-interval 1` also dumps it every second.
 *   A stop with SIGTERM and a restart keep the block number, the contract code
 *   and storage, receipts and event logs.
 * - On SIGKILL (or a crash, or power loss) whatever was mined after the last
 *   periodic dump is lost: up to about one second of transactions. The chain
 *   comes back as it was at that dump; the anchorer notices a chain holding
 *   fewer checkpoints than it recorded and anchors again from there.
 * - anvil writes the dump in place (open with O_TRUNC, write, no fsync, no
 *   rename), so a kill during a dump can leave a truncated file, which anvil
 *   then refuses to load. To survive that, this module keeps a last-good copy
 *   (`anvil-state.good.json`: at start, every 10 s and after a clean stop, the
 *   live file is copied there atomically if it parses)
 *   and, at start, restores it in place of a file that does not parse, saying
 *   so loudly. What was mined after that copy is lost as above.
 * - The dump grows with every block (each anchor is a block, written as JSON
 *   with its transaction and traces), and anvil rewrites all of it every second. That is fine
 *   for development and demonstrations; a long-running deployment should use
 *   a real node (Besu, GoQuorum) instead.
 *
 * One chain per state file, and never one without its service:
 * - On Linux anvil is started through util-linux's `setpriv --pdeathsig TERM`,
 *   so the kernel stops it (with a final dump) when the process that started
 *   it dies, even by SIGKILL. An orphaned anvil would otherwise keep running
 *   and later dump its stale chain over the one a new start is using.
 * - A start first stops any process still running with this state file (one
 *   left by a platform without setpriv, or one still dumping after its
 *   parent died) and waits for it to exit before it reads the file.
 * - With `supervise`, an anvil that exits on its own is started again on the
 *   same port from its state file, and `onRestart` listeners are told, so the
 *   anchorer re-reads what the chain still holds.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promises as fs, existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { getAddress, Wallet, ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { ChainClient, EvmRpc, HttpJsonRpc, type Eip1193Provider, type TxSigner } from "./client";
import { systemClock } from "../clock";
import { ChainSetupError, ledgerAnchorArtifacts } from "./contract";
import { writeFileDurably } from "../durable-file";
import { readTextIfExists } from "../secret-file";

/** anvil's chain id by default; used for the local chain. */
export const LOCAL_CHAIN_ID = 31337;

/**
 * anvil's (and Hardhat's) dev account 0, from the public mnemonic "test test … junk".
 * Everyone knows this key: it is used on the local chain only, to deploy and to fund the recorder.
 */
export const ANVIL_DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/** The dev account 0 as a signer. */
export function anvilDevAccount(): TxSigner {
  return new Wallet(ANVIL_DEV_KEY_0);
}

const PLATFORM_PACKAGES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  linux: { x64: "linux-amd64", arm64: "linux-arm64" },
  darwin: { x64: "darwin-amd64", arm64: "darwin-arm64" },
  win32: { x64: "win32-amd64" },
};

/**
 * The anvil executable inside the `@foundry-rs/anvil-<platform>` package npm
 * installed beside `@foundry-rs/anvil`. Spawning it directly (rather than the
 * package's `bin.mjs` wrapper) means our signals reach anvil itself.
 */
export function resolveAnvilBinary(): string {
  const suffix = PLATFORM_PACKAGES[process.platform]?.[process.arch];
  if (suffix === undefined) throw new ChainSetupError(`anvil has no build for ${process.platform}/${process.arch}; configure a chain RPC URL instead`);
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  const pkg = `@foundry-rs/anvil-${suffix}`;
  let file: string;
  try {
    file = require.resolve(`${pkg}/bin/${exe}`);
  } catch (cause) {
    throw new ChainSetupError(`${pkg} is not installed (npm skips optional platform packages with --no-optional); run npm install, or configure a chain RPC URL`, { cause });
  }
  if (!existsSync(file)) throw new ChainSetupError(`${file} is missing; reinstall @foundry-rs/anvil`);
  return file;
}

/** A TCP port that was free a moment ago on `host`. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))));
    });
  });
}

export interface LocalChainOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** 0 or absent: pick a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Seconds between state dumps. Default 1. */
  readonly stateIntervalSeconds?: number;
  /** Milliseconds between last-good copies of the state. Default 10 000. */
  readonly backupIntervalMs?: number;
  /** How long to wait for the RPC to answer. Default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** More anvil arguments (tests use --no-mining). */
  readonly extraArgs?: readonly string[];
  readonly anvilBinary?: string;
  /** Start anvil again, on the same port, whenever it exits other than by stop() or kill(). The service sets this. */
  readonly supervise?: boolean;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The files under `<dataDir>/chain/`. */
export function chainFiles(dataDir: string): { dir: string; state: string; good: string; deployment: string } {
  const dir = path.join(dataDir, "chain");
  return {
    dir,
    state: path.join(dir, "anvil-state.json"),
    good: path.join(dir, "anvil-state.good.json"),
    deployment: path.join(dir, "deployment.json"),
  };
}

async function parsesAsJson(file: string): Promise<boolean | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What start-up found in the state file. */
export type StateFileCheck = "absent" | "ok" | "restored-from-good-copy" | "unreadable-no-good-copy";

/**
 * Makes sure anvil will be able to load the state file: a file that does not
 * parse (a dump cut short by a kill) is moved aside and replaced by the last
 * good copy, if there is one.
 */
export async function checkStateFile(dataDir: string, logger: Logger): Promise<StateFileCheck> {
  const files = chainFiles(dataDir);
  const live = await parsesAsJson(files.state);
  if (live === true) return "ok";
  if (live === undefined) {
    if ((await parsesAsJson(files.good)) !== true) return "absent";
    // The live file is gone but a good copy is not: someone removed it. Use the copy rather than start empty.
    await writeFileDurably(files.state, await fs.readFile(files.good));
    logger.error({ restoredFrom: files.good }, "the local chain's state file is missing; restored the last good copy");
    return "restored-from-good-copy";
  }
  const aside = `${files.state}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await fs.rename(files.state, aside);
  if ((await parsesAsJson(files.good)) === true) {
    const good = await fs.readFile(files.good);
    await writeFileDurably(files.state, good);
    const stat = await fs.stat(files.good);
    logger.error(
      { corruptFile: aside, restoredFrom: files.good, goodCopyTime: stat.mtime.toISOString() },
      "the local chain's state file was cut short (killed during a dump); restored the last good copy: transactions after it are lost",
    );
    return "restored-from-good-copy";
  }
  logger.error({ corruptFile: aside }, "the local chain's state file was cut short and there is no good copy: the local chain starts empty");
  return "unreadable-no-good-copy";
}

/** A running anvil. */
export class LocalChain {
  private _backupTimer: NodeJS.Timeout | undefined;
  private _backingUp = false;
  private _child: ChildProcess;
  private _stopping = false;
  private _exit: ExitInfo | undefined;
  private _resolveExit: (info: ExitInfo) => void = () => {};
  private readonly _exited: Promise<ExitInfo>;
  private readonly _restartListeners = new Set<() => void>();
  private _restarts = 0;

  constructor(
    child: ChildProcess,
    readonly url: string,
    readonly port: number,
    readonly dataDir: string,
    readonly stateCheck: StateFileCheck,
    private readonly _logger: Logger,
    /** Starts anvil again on the same port; set when supervised. */
    private readonly _relaunch?: () => Promise<ChildProcess>,
  ) {
    this._exited = new Promise((resolve) => (this._resolveExit = resolve));
    this._child = child;
    this._watch(child);
  }

  get pid(): number | undefined {
    return this._child.pid;
  }

  /** Resolves when anvil has exited for good: after stop() or kill(), or, unsupervised, on any exit. */
  get exited(): Promise<ExitInfo> {
    return this._exited;
  }

  get running(): boolean {
    return this._exit === undefined;
  }

  /** How many times a supervised anvil was started again after exiting on its own. */
  get restarts(): number {
    return this._restarts;
  }

  /** Calls `listener` after each restart of a supervised anvil. Returns the unsubscribe function. */
  onRestart(listener: () => void): () => void {
    this._restartListeners.add(listener);
    return () => this._restartListeners.delete(listener);
  }

  private _watch(child: ChildProcess): void {
    child.once("exit", (code, signal) => {
      if (child !== this._child) return;
      if (this._relaunch === undefined || this._stopping) {
        this._exit = { code, signal };
        this._resolveExit(this._exit);
        return;
      }
      this._logger.error({ pid: child.pid, code, signal }, "the local chain (anvil) exited on its own; starting it again from its state file");
      void this._restart();
    });
  }

  private async _restart(): Promise<void> {
    for (let attempt = 1; !this._stopping; attempt++) {
      await systemClock.sleep(Math.min(500 * attempt, 5_000));
      if (this._stopping) break;
      try {
        await checkStateFile(this.dataDir, this._logger);
        const child = await this._relaunch!();
        if (this._stopping) {
          child.kill("SIGTERM");
          break;
        }
        this._child = child;
        this._watch(child);
        this._restarts += 1;
        this._logger.warn({ pid: child.pid, url: this.url, restarts: this._restarts }, "the local chain (anvil) is running again");
        for (const l of this._restartListeners) l();
        return;
      } catch (e) {
        this._logger.error({ attempt, err: e }, "could not start the local chain (anvil) again; will retry");
      }
    }
    this._exit = { code: null, signal: null };
    this._resolveExit(this._exit);
  }

  transport(timeoutMs = 15_000): Eip1193Provider {
    return new HttpJsonRpc(this.url, { timeoutMs });
  }

  /**
   * Resolves once anvil's state file holds every block mined so far, so a
   * SIGKILL from then on cannot lose them (at most `timeoutMs`, then false).
   * The deployment waits for this: a chain that forgot its contract cannot
   * be anchored on again without an operator's redeploy.
   */
  async awaitDump(timeoutMs = 10_000): Promise<boolean> {
    const head = Number(BigInt((await new HttpJsonRpc(this.url, { timeoutMs: 5_000 }).request({ method: "eth_blockNumber" })) as string));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const dumped = (JSON.parse(await fs.readFile(chainFiles(this.dataDir).state, "utf8")) as { best_block_number?: unknown }).best_block_number;
        if (typeof dumped === "number" && dumped >= head) return true;
      } catch {
        // Absent, or read mid-dump: look again.
      }
      await systemClock.sleep(100);
    }
    this._logger.warn({ head }, "anvil has not written the newest blocks to its state file yet");
    return false;
  }

  /** Copies the live state to the last-good file if it parses (it may be mid-dump; then try again next time). */
  async backup(): Promise<boolean> {
    if (this._backingUp) return false;
    this._backingUp = true;
    try {
      const files = chainFiles(this.dataDir);
      let text: string;
      try {
        text = await fs.readFile(files.state, "utf8");
        JSON.parse(text);
      } catch {
        return false;
      }
      await writeFileDurably(files.good, text);
      return true;
    } finally {
      this._backingUp = false;
    }
  }

  /** @internal */
  startBackups(intervalMs: number): void {
    this._backupTimer = setInterval(() => {
      this.backup().catch((e: unknown) => this._logger.warn({ err: e }, "could not copy the local chain's state"));
    }, intervalMs);
    this._backupTimer.unref();
  }

  /**
   * Stops anvil with SIGTERM, which makes it dump its state, and waits for it
   * to exit (SIGKILL after `timeoutMs`). Then refreshes the last-good copy.
   */
  async stop(timeoutMs = 15_000): Promise<ExitInfo> {
    this._stopping = true;
    if (this._backupTimer !== undefined) clearInterval(this._backupTimer);
    if (this.running) this._child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (this.running) {
        this._logger.error({ pid: this.pid }, "anvil did not stop within the timeout; killing it (state since its last dump is lost)");
        this._child.kill("SIGKILL");
      }
    }, timeoutMs);
    const info = await this._exited;
    clearTimeout(timer);
    await this.backup();
    return info;
  }

  /** SIGKILL, as a crash would: no final dump. For tests and emergencies. */
  async kill(): Promise<ExitInfo> {
    this._stopping = true;
    if (this._backupTimer !== undefined) clearInterval(this._backupTimer);
    if (this.running) this._child.kill("SIGKILL");
    return this._exited;
  }
}

/**
 * Starts anvil on 127.0.0.1 with its state under `<dataDir>/chain/` and waits
 * until its RPC answers with the expected chain id.
 */
export async function startLocalChain(options: LocalChainOptions): Promise<LocalChain> {
  const host = options.host ?? "127.0.0.1";
  const files = chainFiles(options.dataDir);
  await fs.mkdir(files.dir, { recursive: true, mode: 0o700 });
  await stopChainsUsing(files.state, options.logger);
  const stateCheck = await checkStateFile(options.dataDir, options.logger);
  const binary = options.anvilBinary ?? resolveAnvilBinary();
  const fixedPort = options.port !== undefined && options.port !== 0 ? options.port : undefined;
  if (fixedPort !== undefined && !(await portIsFree(host, fixedPort)))
    throw new ChainSetupError(`port ${fixedPort} on ${host} is already in use; is another chain running there?`);
  // The port of the last start is kept, so the RPC URL printed for mirrors and auditors stays valid across restarts.
  const portFile = path.join(files.dir, "rpc-port");
  const lastPort = fixedPort === undefined ? Number((await readTextIfExists(portFile))?.trim()) : NaN;
  // A port picked free can be taken before anvil binds it; then pick another.
  for (let attempt = 1; ; attempt++) {
    const reuse = attempt === 1 && Number.isInteger(lastPort) && lastPort > 0 && lastPort < 65536 && (await portIsFree(host, lastPort));
    const port = fixedPort ?? (reuse ? lastPort : await freePort(host));
    try {
      const child = await launchAnvil(options, binary, host, port);
      if (fixedPort === undefined && port !== lastPort) await writeFileDurably(portFile, `${port}\n`);
      const relaunch = options.supervise === true ? () => launchAnvil(options, binary, host, port) : undefined;
      const chain = new LocalChain(child, `http://${host}:${port}`, port, options.dataDir, stateCheck, options.logger, relaunch);
      options.logger.info({ url: chain.url, pid: chain.pid, stateFile: files.state, stateCheck }, "local chain (anvil) is running");
      // The state loaded: keep it as the good copy.
      await chain.backup();
      chain.startBackups(options.backupIntervalMs ?? 10_000);
      return chain;
    } catch (e) {
      if (!(e instanceof EarlyExit) || fixedPort !== undefined || attempt >= 3) throw e instanceof EarlyExit ? new ChainSetupError(e.message) : e;
    }
  }
}

class EarlyExit extends Error {}

async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** util-linux's setpriv, where there is one: it sets the parent-death signal, then execs anvil. */
function setprivBinary(): string | undefined {
  if (process.platform !== "linux") return undefined;
  return ["/usr/bin/setpriv", "/bin/setpriv"].find((f) => existsSync(f));
}

/** The running processes (zombies left out) whose command line names `stateFile` as an argument. */
export async function processesUsing(stateFile: string): Promise<number[]> {
  const found: number[] = [];
  if (existsSync("/proc/self/cmdline")) {
    for (const name of await fs.readdir("/proc")) {
      if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue;
      try {
        const args = (await fs.readFile(`/proc/${name}/cmdline`, "utf8")).split("\0");
        if (!args.includes(stateFile)) continue;
        const stat = await fs.readFile(`/proc/${name}/stat`, "utf8");
        const state = stat.charAt(stat.lastIndexOf(")") + 2);
        if (state === "Z" || state === "X") continue;
        found.push(Number(name));
      } catch {
        // It exited while we looked.
      }
    }
    return found;
  }
  const out = await new Promise<string>((resolve) => execFile("ps", ["-Ao", "pid=,command="], (err, stdout) => resolve(err ? "" : stdout)));
  for (const line of out.split("\n")) {
    const m = /^\s*([0-9]+)\s+(.*)$/.exec(line);
    if (m !== null && Number(m[1]) !== process.pid && m[2]!.split(/\s+/).includes(stateFile)) found.push(Number(m[1]));
  }
  return found;
}

/**
 * Stops every process still running with `stateFile` (SIGTERM, so anvil
 * dumps and exits; SIGKILL after 15 s) and waits until none is left, so two
 * chains never share the file.
 */
async function stopChainsUsing(stateFile: string, logger: Logger): Promise<void> {
  const pids = await processesUsing(stateFile);
  if (pids.length === 0) return;
  logger.warn({ pids, stateFile }, "a local chain from an earlier run still uses this state file; stopping it before starting a new one");
  const signal = (list: readonly number[], sig: NodeJS.Signals) => {
    for (const pid of list) {
      try {
        process.kill(pid, sig);
      } catch {
        // Gone already.
      }
    }
  };
  signal(pids, "SIGTERM");
  const deadline = Date.now() + 15_000;
  let killed = false;
  for (;;) {
    const left = await processesUsing(stateFile);
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      if (killed) throw new ChainSetupError(`processes ${left.join(", ")} still use ${stateFile} and would not stop`);
      signal(left, "SIGKILL");
      killed = true;
    }
    await systemClock.sleep(50);
  }
}

/** Spawns anvil on `port` and resolves with the process once its RPC answers with anvil's chain id. */
async function launchAnvil(options: LocalChainOptions, binary: string, host: string, port: number): Promise<ChildProcess> {
  const files = chainFiles(options.dataDir);
  const args = [
    "--host",
    host,
    "--port",
    String(port),
    "--chain-id",
    String(LOCAL_CHAIN_ID),
    "--state",
    files.state,
    "--state-interval",
    String(options.stateIntervalSeconds ?? 1),
    "--silent",
    ...(options.extraArgs ?? []),
  ];
  const setpriv = setprivBinary();
  const child =
    setpriv !== undefined
      ? spawn(setpriv, ["--pdeathsig", "TERM", "--", binary, ...args], { stdio: ["ignore", "ignore", "pipe"], windowsHide: true })
      : spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"], windowsHide: true });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => child.once("exit", (code, signal) => resolve((exit = { code, signal }))));
  const kill = async () => {
    if (exit === undefined) child.kill("SIGKILL");
    await exited;
  };
  const url = `http://${host}:${port}`;
  const rpc = new HttpJsonRpc(url, { timeoutMs: 2_000 });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    const failed = await Promise.race([spawnError, exited, systemClock.sleep(100).then(() => undefined)]);
    if (failed instanceof Error) throw new ChainSetupError(`cannot start anvil (${binary}): ${failed.message}`);
    if (failed !== undefined)
      throw new EarlyExit(`anvil exited at start (code ${failed.code}, signal ${failed.signal}): ${stderr.trim().split("\n").slice(-3).join(" | ") || "no output"}`);
    try {
      const id = await rpc.request({ method: "eth_chainId" });
      if (typeof id === "string" && BigInt(id) === BigInt(LOCAL_CHAIN_ID) && exit === undefined) return child;
      await kill();
      throw new ChainSetupError(`the node on port ${port} reports chain ${String(id)}, not anvil's ${LOCAL_CHAIN_ID}`);
    } catch (e) {
      if (e instanceof ChainSetupError) throw e;
      if (Date.now() > deadline) {
        await kill();
        throw new ChainSetupError(`anvil did not answer on ${url} within ${options.startTimeoutMs ?? 30_000} ms`);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Deployment

/** Version tag of deployment.json. */
export const LOCAL_DEPLOYMENT_VERSION = 1;

export interface LocalDeployment {
  readonly version: typeof LOCAL_DEPLOYMENT_VERSION;
  readonly chainId: number;
  readonly address: string;
  /** The block the contract was created in: where event searches start. */
  readonly deployBlock: number;
  readonly txHash: string;
  readonly deployer: string;
}

/** The chain no longer holds the contract deployment.json names: its state was lost or reset. */
export class LocalChainStateLostError extends Error {
  override readonly name = "LocalChainStateLostError";
}

export interface DeployOnceOptions {
  readonly dataDir: string;
  readonly transport: Eip1193Provider;
  /** Deploys, becomes the contract's admin, grants the roles and funds the recorder: anvil's dev account 0 on the local chain. */
  readonly deployer: TxSigner;
  /** Gets RECORDER_ROLE and PAUSER_ROLE, and ether for gas. */
  readonly recorder: string;
  /** Deploy a new contract if the recorded one is gone. Off by default: the old anchors would be silently abandoned. */
  readonly redeploy?: boolean;
  /** How the operator sets `redeploy`, for the error message. */
  readonly redeployHint?: string;
  /** Seconds an admin transfer must wait. Default 0: the local admin key is public anyway. */
  readonly adminDelaySeconds?: number;
  /** Resolves once what was sent so far survives a crash of the chain (the local anvil's state dump); called before deployment.json is written and at the end. */
  readonly awaitDurable?: () => Promise<unknown>;
  /** Fund the recorder when its balance is below this. Default 1 ether. */
  readonly fundBelowWei?: bigint;
  /** Top it up to this. Default 10 ether. */
  readonly fundToWei?: bigint;
  readonly logger: Logger;
}

async function readDeployment(file: string): Promise<LocalDeployment | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ChainSetupError(`${file} is not valid JSON`);
  }
  const ok =
    typeof o === "object" &&
    o !== null &&
    o["version"] === LOCAL_DEPLOYMENT_VERSION &&
    Number.isSafeInteger(o["chainId"]) &&
    typeof o["address"] === "string" &&
    /^0x[0-9a-fA-F]{40}$/.test(o["address"]) &&
    Number.isSafeInteger(o["deployBlock"]) &&
    typeof o["txHash"] === "string" &&
    typeof o["deployer"] === "string";
  if (!ok) throw new ChainSetupError(`${file} is not a deployment record of version ${LOCAL_DEPLOYMENT_VERSION}`);
  return o as unknown as LocalDeployment;
}

/**
 * Deploys LedgerAnchor once per data directory and keeps {address, chainId,
 * deployBlock} in `<dataDir>/chain/deployment.json`. On later starts it
 * checks that the contract is still there; if the chain lost it, it throws
 * {@link LocalChainStateLostError} unless `redeploy` is set. Every time, it
 * makes sure the recorder holds RECORDER_ROLE and PAUSER_ROLE and has gas
 * money. Meant for the local chain: it funds from the deployer freely.
 */
export async function deployOnce(options: DeployOnceOptions): Promise<LocalDeployment> {
  const files = chainFiles(options.dataDir);
  const log = options.logger.child({ component: "local-chain" });
  const probe = new EvmRpc({ transport: options.transport, chainId: LOCAL_CHAIN_ID });
  const chainId = await probe.getChainId();
  const rpc = new EvmRpc({ transport: options.transport, chainId });
  const deployer = getAddress(options.deployer.address);
  const recorder = getAddress(options.recorder);
  if (recorder === ZeroAddress) throw new ChainSetupError("the recorder address is the zero address");

  let record = await readDeployment(files.deployment);
  if (record !== undefined) {
    const problem =
      record.chainId !== chainId
        ? `deployment.json is for chain ${record.chainId} but the node is on chain ${chainId}`
        : (await rpc.getCode(record.address)) === "0x"
          ? `the local chain has no contract at ${record.address}, which deployment.json records: its state (${files.state}) was lost or reset, and the checkpoints anchored there are gone`
          : undefined;
    if (problem !== undefined) {
      if (options.redeploy !== true) throw new LocalChainStateLostError(`${problem}. To deploy a new contract and anchor the whole log again, ${options.redeployHint ?? "pass redeploy: true"}.`);
      log.error({ previous: record.address }, `${problem}; deploying a new contract as asked`);
      record = undefined;
    }
  }

  if (record === undefined) {
    const { iface, bytecode } = ledgerAnchorArtifacts();
    const data = bytecode + iface.encodeDeploy([options.adminDelaySeconds ?? 0, deployer]).slice(2);
    const receipt = await rpc.sendAndWait(options.deployer, { to: null, data });
    if (receipt.contractAddress === null) throw new ChainSetupError(`deployment transaction ${receipt.transactionHash} created no contract`);
    record = {
      version: LOCAL_DEPLOYMENT_VERSION,
      chainId,
      address: receipt.contractAddress,
      deployBlock: receipt.blockNumber,
      txHash: receipt.transactionHash,
      deployer,
    };
    // Recorded only once the chain itself keeps the contract: otherwise a crash could leave a record of a contract the chain forgot.
    await options.awaitDurable?.();
    await writeFileDurably(files.deployment, `${JSON.stringify(record, null, 2)}\n`, 0o600);
    log.info({ address: record.address, block: record.deployBlock, chainId }, "deployed LedgerAnchor on the local chain");
  }

  const client = new ChainClient({ transport: options.transport, chainId, address: record.address });
  for (const name of ["RECORDER_ROLE", "PAUSER_ROLE"] as const) {
    const role = await client.role(name);
    if (!(await client.hasRole(role, recorder))) {
      await client.sendAndWait(options.deployer, { to: record.address, data: client.iface.encodeFunctionData("grantRole", [role, recorder]) });
      log.info({ role: name, account: recorder }, "granted role");
    }
  }

  const balance = await client.getBalance(recorder);
  const fundBelow = options.fundBelowWei ?? 10n ** 18n;
  const fundTo = options.fundToWei ?? 10n * 10n ** 18n;
  if (balance < fundBelow && fundTo > balance) {
    await client.sendAndWait(options.deployer, { to: recorder, data: "0x", value: fundTo - balance });
    log.info({ account: recorder }, "funded the recorder from the dev account");
  }
  await options.awaitDurable?.();
  return record;
}
