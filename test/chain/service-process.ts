/**
 * The real service as a child process, against a chain in another process
 * that outlives it: for the SIGKILL crash tests, the RPC-outage test and the
 * `hardhat node` test.
 *
 * - {@link serviceBundle} builds service/main.ts with esbuild exactly as
 *   `npm run build:service` does (into .cache/test-service/, so it never
 *   races anyone's `npm start` build), once per test run.
 * - {@link ServiceProcess} runs it with a clean environment (only what the
 *   test passes, plus PATH/HOME), collects stdout/stderr, reads the URL and
 *   the first admin token from the start-up banner and the log key from
 *   GET /v1/log/key.
 * - {@link startExternalChain} starts anvil (service/chain/local-chain.ts)
 *   or `hardhat node`, deploys LedgerAnchor with `deployOnce`, grants the
 *   recorder its roles and funds it.
 *
 * Every child started here is registered; {@link killAllChildren} SIGKILLs
 * whatever is left (tests call it in afterEach), and a process 'exit'
 * handler does the same if mocha dies first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { build } from "esbuild";
import pino from "pino";
import { ChainClient, HttpJsonRpc } from "../../service/chain/client";
import { anvilDevAccount, deployOnce, freePort, LOCAL_CHAIN_ID, startLocalChain, type LocalChain } from "../../service/chain/local-chain";
import { loadOrCreateRecorderKey } from "../../service/chain/recorder-key";
import { fromHex, parseVerifierKey, verifyConsistency, verifyReceipt, type NoteVerifier } from "../../service/log";

export const REPO = path.resolve(__dirname, "../..");

// ---------------------------------------------------------------- children

const children = new Set<ChildProcess>();
const anvils = new Set<LocalChain>();

function track(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** SIGKILLs every child these helpers started that is still running, and waits for them. */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...anvils].map((a) => a.kill()));
  anvils.clear();
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGKILL");
        }),
    ),
  );
}

process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  for (const a of anvils) if (a.running && a.pid !== undefined) process.kill(a.pid, "SIGKILL");
});

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------- the service

let bundle: Promise<string> | undefined;

/** service/main.ts bundled as `npm run build:service` bundles it; built once per run. */
export function serviceBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = path.join(REPO, ".cache", "test-service");
    await fs.mkdir(dir, { recursive: true });
    const out = path.join(dir, "main.js");
    const tmp = path.join(dir, `main.${process.pid}.tmp.js`);
    await build({
      entryPoints: [path.join(REPO, "service", "main.ts")],
      bundle: true,
      platform: "node",
      target: "node20",
      packages: "external",
      outfile: tmp,
      logLevel: "warning",
    });
    await fs.rename(tmp, out);
    return out;
  })();
  return bundle;
}

/**
 * Mocha hooks shared by the suites that run the service as a child process:
 * the bundle built once, a fresh temporary directory per test, and after
 * each test every child killed and the directory removed. Call inside a
 * describe; the returned function gives the current test's directory.
 */
export function serviceProcessSuite(prefix: string): () => string {
  let dir = "";
  before(async function () {
    await serviceBundle();
  });
  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterEach(async function () {
    await killAllChildren();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A pino line the service wrote. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export class ServiceProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<ExitInfo>;
  private _exit: ExitInfo | undefined;
  url = "";
  verifierKey = "";
  firstAdminToken: string | undefined;

  private constructor(private readonly _child: ChildProcess) {
    track(_child);
    this.exited = new Promise((resolve) =>
      _child.once("exit", (code, signal) => {
        this._exit = { code, signal };
        resolve(this._exit);
      }),
    );
    for (const [stream, sink] of [
      [_child.stdout, this.stdout],
      [_child.stderr, this.stderr],
    ] as const) {
      let rest = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (d: string) => {
        const parts = (rest + d).split("\n");
        rest = parts.pop() ?? "";
        sink.push(...parts);
      });
      stream?.on("end", () => rest !== "" && sink.push(rest));
    }
  }

  /** Starts the bundled service with exactly `env` (plus PATH and HOME), waits for its banner and reads its log key from the API. */
  /** `detached` puts the service (and the local anvil it starts) in a process group of its own, for {@link killGroup}. */
  static async start(env: Readonly<Record<string, string>>, timeoutMs = 60_000, options: { readonly detached?: boolean } = {}): Promise<ServiceProcess> {
    const main = await serviceBundle();
    const child = spawn(process.execPath, ["--enable-source-maps", main], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.tmpdir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: options.detached === true,
    });
    const svc = new ServiceProcess(child);
    const ready = poll(
      "the service's banner",
      async () => {
        if (svc._exit !== undefined) throw new Error(`exited at start (${JSON.stringify(svc._exit)}): ${svc.stderr.join(" | ")}`);
        const line = svc.stdout.find((l) => l.startsWith("subsidy-ledger is running on "));
        return line === undefined ? undefined : line.slice("subsidy-ledger is running on ".length).trim();
      },
      timeoutMs,
      50,
    );
    try {
      svc.url = await ready;
      const key = await fetch(`${svc.url}/v1/log/key`);
      if (key.status !== 200) throw new Error(`GET /v1/log/key answered ${key.status}`);
      svc.verifierKey = (await key.text()).trim();
    } catch (e) {
      child.kill("SIGKILL");
      throw new Error(`${(e as Error).message}\nstderr: ${svc.stderr.slice(-10).join("\n")}\nstdout: ${svc.stdout.slice(-10).join("\n")}`);
    }
    const tokenAt = svc.stdout.findIndex((l) => l.includes("first admin token"));
    if (tokenAt >= 0) svc.firstAdminToken = svc.stdout[tokenAt + 1]?.trim();
    return svc;
  }

  get pid(): number | undefined {
    return this._child.pid;
  }

  get running(): boolean {
    return this._exit === undefined;
  }

  /** The service's pino lines (stdout lines that parse as JSON with a msg). */
  logs(): LogLine[] {
    const out: LogLine[] = [];
    for (const l of this.stdout) {
      if (!l.startsWith("{")) continue;
      try {
        const o = JSON.parse(l) as LogLine;
        if (typeof o.msg === "string") out.push(o);
      } catch {
        // not a log line
      }
    }
    return out;
  }

  /** SIGTERM (a clean stop), SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<ExitInfo> {
    if (this.running) this._child.kill("SIGTERM");
    const timer = setTimeout(() => this._child.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILLs the whole process group (started `detached`): the service and its local anvil die together, as in a power cut. */
  async killGroup(): Promise<ExitInfo> {
    if (this._child.pid !== undefined) {
      try {
        process.kill(-this._child.pid, "SIGKILL");
      } catch {
        // The group is gone already.
      }
    }
    return this.exited;
  }

  /** Waits for the process to end by itself (a failpoint), within `timeoutMs`. */
  async waitForExit(timeoutMs = 30_000): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the service did not exit within ${timeoutMs} ms; stderr: ${this.stderr.join(" | ")}`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  // -- the API ---------------------------------------------------------------

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses of our own API, read by field
  async get(route: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${route}`);
    const text = await res.text();
    return { status: res.status, body: text.length > 0 && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
  }

  async health(): Promise<{ status: number; body: Health }> {
    return (await this.get("/v1/health")) as { status: number; body: Health };
  }

  /** Records `n` programmes in batches of up to 100; returns their ids once all are durable. */
  async recordProgrammes(token: string, n: number, tag: string): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < n; start += 100) {
      const records = Array.from({ length: Math.min(100, n - start) }, (_, i) => ({ kind: "programme", body: programmeBody(`${tag}-${start + i}`) }));
      const res = await fetch(`${this.url}/v1/batch`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "idempotency-key": `${tag}-${start}`, "content-type": "application/json" },
        body: JSON.stringify({ records }),
      });
      const body = (await res.json()) as { results?: { id: string }[] };
      expect(res.status, JSON.stringify(body)).to.equal(201);
      ids.push(...body.results!.map((r) => r.id));
    }
    return ids;
  }

  /** Waits until every entry the service holds is anchored, and returns the health body then. */
  async anchoredAll(timeoutMs = 60_000): Promise<Health> {
    return poll(
      "every entry to be anchored",
      async () => {
        const h = await this.health();
        const a = h.body.anchoring;
        return h.status === 200 && a !== undefined && a.lagEntries === 0 && a.anchoredSize === h.body.treeSize ? h.body : undefined;
      },
      timeoutMs,
    );
  }
}

export interface Health {
  readonly ok: boolean;
  readonly treeSize: number;
  readonly anchoring?: {
    readonly anchoredSize: number;
    readonly lagEntries: number;
    readonly oldestUnanchoredAt: string | null;
    readonly lagSeconds: number;
    readonly maxDelaySeconds: number;
    readonly lastError: { readonly message: string; readonly at: string } | null;
    readonly fatal: string | null;
  };
}

/** A programme open from 2020 to 2099, so the service's real clock is always inside it. */
export function programmeBody(code: string): Record<string, unknown> {
  return {
    code,
    name: "中小企业数字化转型补贴",
    agency: "市工业和信息化局",
    budgetFen: "100000000",
    currency: "CNY",
    policyDocument: { sha256: "ab".repeat(32), url: "https://www.gov.cn/zhengce/content/2026-01/05/content_0000001.htm" },
    opensOn: "2020-01-01",
    closesOn: "2099-12-31",
    fourEyesThresholdFen: "5000000",
  };
}

// ---------------------------------------------------------------- the chain

export interface ExternalChain {
  readonly kind: "anvil" | "hardhat node";
  readonly url: string;
  readonly port: number;
  readonly address: string;
  readonly chainId: number;
  readonly fromBlock: number;
  readonly recorderAddress: string;
  readonly recorderKeyFile: string;
  /** A client for the test's own reads. */
  readonly client: ChainClient;
  /** Anvil only: the process, for stop (SIGTERM, state dumped) and restart on the same port. */
  anvil: LocalChain | undefined;
}

const quiet = pino({ level: "silent" });

/** Starts anvil with its state under `chainDir` (port 0: a free one), as the local chain does. */
export async function startAnvil(chainDir: string, port = 0): Promise<LocalChain> {
  const anvil = await startLocalChain({ dataDir: chainDir, logger: quiet, port });
  anvils.add(anvil);
  void anvil.exited.then(() => anvils.delete(anvil));
  return anvil;
}

/** Starts `hardhat node` (Hardhat's JSON-RPC server, in its own process) on a free port. */
export async function startHardhatNode(): Promise<{ url: string; port: number; child: ChildProcess }> {
  const port = await freePort();
  const cli = require.resolve("hardhat/internal/cli/cli.js", { paths: [REPO] });
  const child = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.tmpdir(), HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  track(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const rpc = new HttpJsonRpc(url, { timeoutMs: 2_000 });
  await poll(
    "hardhat node to answer",
    async () => {
      if (child.exitCode !== null) throw new Error(`hardhat node exited: ${stderr}`);
      const id = await rpc.request({ method: "eth_chainId" });
      return typeof id === "string" ? id : undefined;
    },
    90_000,
    200,
  );
  return { url, port, child };
}

/**
 * Deploys LedgerAnchor on the node at `url` (dev account 0 deploys, grants
 * RECORDER_ROLE and PAUSER_ROLE to a new recorder key under `dir`, and funds it).
 */
export async function deployFor(kind: ExternalChain["kind"], url: string, port: number, dir: string, anvil?: LocalChain): Promise<ExternalChain> {
  const recorderKeyFile = path.join(dir, "recorder-keys", "recorder.key");
  const { key } = await loadOrCreateRecorderKey(recorderKeyFile);
  const transport = new HttpJsonRpc(url, { timeoutMs: 15_000 });
  const d = await deployOnce({ dataDir: path.join(dir, "deployer"), transport, deployer: anvilDevAccount(), recorder: key.address, logger: quiet });
  expect(d.chainId).to.equal(LOCAL_CHAIN_ID);
  return {
    kind,
    url,
    port,
    address: d.address,
    chainId: d.chainId,
    fromBlock: d.deployBlock,
    recorderAddress: key.address,
    recorderKeyFile,
    client: new ChainClient({ transport, address: d.address, chainId: d.chainId }),
    anvil,
  };
}

/** The service's environment for `chain`, with fast anchoring and high rate limits (tests poll /v1/health). */
export function serviceEnv(dataDir: string, chain: ExternalChain, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    LEDGER_DATA_DIR: dataDir,
    LOG_LEVEL: "info",
    LEDGER_RATE_PUBLIC_PER_MINUTE: "1000000",
    LEDGER_RATE_ADMIN_PER_MINUTE: "1000000",
    LEDGER_RPC_URL: chain.url,
    LEDGER_CHAIN_ID: String(chain.chainId),
    LEDGER_ANCHOR_ADDRESS: chain.address,
    LEDGER_ANCHOR_FROM_BLOCK: String(chain.fromBlock),
    LEDGER_RECORDER_KEY_FILE: chain.recorderKeyFile,
    LEDGER_ANCHOR_EVERY_MS: "100",
    ...extra,
  };
}

// ---------------------------------------------------------------- checks

/**
 * What the issue asks after a crash or an outage, checked from outside:
 * every id recorded is served; the service's tree is fully anchored; the
 * contract holds exactly `expectedSizes` (so one checkpoint per size); each
 * checkpoint's root is the service's root at that size and each step
 * verifies as an RFC 9162 consistency proof the service serves; and the
 * recorder sent exactly one transaction per checkpoint, so nothing was sent
 * twice. A receipt for the last id verifies offline against the log key
 * and matches the contract's checkpoint.
 */
export async function expectAnchoredHistory(svc: ServiceProcess, chain: ExternalChain, ids: readonly string[], expectedSizes: readonly number[]): Promise<void> {
  const health = await svc.anchoredAll();
  expect(health.treeSize, "tree size").to.equal(ids.length);
  for (const id of ids) expect((await svc.get(`/v1/entries/${id}`)).status, `entry ${id}`).to.equal(200);

  const n = await chain.client.checkpointCount();
  const cps = [];
  for (let i = 0; i < n; i++) cps.push(await chain.client.checkpointAt(i));
  expect(
    cps.map((c) => c.treeSize),
    "checkpoint sizes on the chain",
  ).to.deep.equal([...expectedSizes]);

  for (let i = 0; i < cps.length; i++) {
    const from = i === 0 ? 0 : cps[i - 1]!.treeSize;
    const to = cps[i]!.treeSize;
    const r = await svc.get(`/v1/log/proof/consistency?from=${from}&to=${to}`);
    expect(r.status).to.equal(200);
    expect(`0x${r.body.toRootHash}`, `root at ${to}`).to.equal(cps[i]!.rootHex);
    if (i > 0) {
      expect(`0x${r.body.fromRootHash}`, `root at ${from}`).to.equal(cps[i - 1]!.rootHex);
      verifyConsistency(from, to, fromHex(cps[i - 1]!.rootHex), fromHex(cps[i]!.rootHex), (r.body.proof as string[]).map((h) => fromHex(h)));
    }
  }

  expect(await chain.client.getTransactionCount(chain.recorderAddress, "latest"), "anchor transactions sent by the recorder").to.equal(cps.length);

  const verifier: NoteVerifier = parseVerifierKey(svc.verifierKey);
  const receipt = await svc.get(`/v1/entries/${ids[ids.length - 1]}/receipt`);
  expect(receipt.status, JSON.stringify(receipt.body)).to.equal(200);
  const check = verifyReceipt(receipt.body, { verifiers: verifier });
  const onChain = await chain.client.checkpointAt(check.chainClaim.checkpointIndex);
  expect({ size: onChain.treeSize, root: onChain.rootHex }).to.deep.equal({ size: check.chainClaim.size, root: check.chainClaim.rootHex });
  expect(check.chainClaim.contract.toLowerCase()).to.equal(chain.address.toLowerCase());
}
