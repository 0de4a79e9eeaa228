/**
 * A test world for the anchorer: a Ledger on a MemoryStore fed with real
 * programme and application submissions, LedgerAnchor on Hardhat's
 * in-process network (or any EIP-1193 transport), a transport wrapper that
 * can fail on demand, a fake clock, and captured pino output.
 */
import { Writable } from "node:stream";
import { expect } from "chai";
import { ethers } from "hardhat";
import { LedgerAnchor__factory } from "../../.cache/typechain";
import pino, { type Logger } from "pino";
import type { Clock } from "../../service/clock";
import { Ledger } from "../../service/ledger/ledger";
import { rootAt } from "../../service/ledger/proofs";
import { noteKeyFromSeed, parseSignerKey, parseVerifierKey, toHex, verifyCheckpoint, verifyConsistency, fromHex, type NoteSigner, type NoteVerifier } from "../../service/log";
import type { Actor } from "../../service/records/entry";
import { REQUEST_SCHEMAS } from "../../service/records/schemas";
import { MemoryStore } from "../../service/store/memory";
import { Anchorer, type AnchorerOptions } from "../../service/chain/anchorer";
import { ChainClient, type Eip1193Provider } from "../../service/chain/client";
import type { AnchorCheckpoint } from "../../service/format";
import { RecorderKey } from "../../service/chain/recorder-key";
import { consistencyProof } from "../../service/ledger/proofs";
import type { AnchorStateStore } from "../../service/chain/state";
import { applicationRequest, creditCode, programmeRequest } from "../helpers/ledger-fixtures";

export const ORIGIN = "ledger.test.example/log";

/** The ledger's clock: 2026-03-10, inside the test programmes' open period. */
export class LedgerClock implements Pick<Clock, "now"> {
  private _t = Date.parse("2026-03-10T02:00:00.000Z");
  now(): number {
    this._t += 1;
    return this._t;
  }
}

/** A fake anchorer clock: time moves only when the test calls advance(). */
export class FakeClock implements Clock {
  private _t: number;
  private _timers: { at: number; resolve: () => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(start = Date.parse("2026-03-10T02:00:00.000Z")) {
    this._t = start;
  }

  now(): number {
    return this._t;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = {
        at: this._t + Math.max(0, ms),
        resolve,
        signal,
        onAbort: () => {
          this._timers = this._timers.filter((t) => t !== timer);
          resolve();
        },
      };
      signal.addEventListener("abort", timer.onAbort, { once: true });
      this._timers.push(timer);
    });
  }

  /** Moves time forward and wakes every sleeper whose time has come. */
  advance(ms: number): void {
    this._t += ms;
    const due = this._timers.filter((t) => t.at <= this._t);
    this._timers = this._timers.filter((t) => t.at > this._t);
    for (const t of due) {
      t.signal.removeEventListener("abort", t.onAbort);
      t.resolve();
    }
  }

  get sleepers(): number {
    return this._timers.length;
  }
}

/** A transport failure as fetch or a socket reports it: no JSON-RPC code. */
export function connectionRefused(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
}

/**
 * Wraps a transport. `down` makes every call fail as an unreachable node
 * would; `before`/`after` hooks can fail or observe single calls (an `after`
 * that throws loses the answer of a call that did happen); `gasPrice`
 * overrides eth_gasPrice (0 simulates a free-gas chain).
 */
export class FlakyTransport implements Eip1193Provider {
  down = false;
  calls: string[] = [];
  failedCalls = 0;
  gasPrice: bigint | undefined;
  before: ((method: string, params: readonly unknown[]) => void | Promise<void>) | undefined;
  after: ((method: string, params: readonly unknown[], result: unknown) => void | Promise<void>) | undefined;

  constructor(private readonly _inner: Eip1193Provider) {}

  async request(args: { readonly method: string; readonly params?: readonly unknown[] }): Promise<unknown> {
    const params = args.params ?? [];
    this.calls.push(args.method);
    if (this.down) {
      this.failedCalls += 1;
      throw connectionRefused();
    }
    await this.before?.(args.method, params);
    if (args.method === "eth_gasPrice" && this.gasPrice !== undefined) return `0x${this.gasPrice.toString(16)}`;
    const result = await this._inner.request({ method: args.method, params });
    await this.after?.(args.method, params, result);
    return result;
  }

  count(method: string): number {
    return this.calls.filter((m) => m === method).length;
  }
}

/** pino writing into an array. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l.length > 0));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

const ADMIN: Actor = { official: "admin.wang", agency: "市财政局", role: "admin" };
const CLERK: Actor = { official: "clerk.li", agency: "市工信局", role: "clerk" };

export interface LogWorld {
  readonly store: MemoryStore;
  readonly ledger: Ledger;
  readonly noteSigner: NoteSigner;
  readonly verifier: NoteVerifier;
  /** Anchorers to notify on commit (the Ledger's onCommit is fixed at open). */
  readonly listeners: Set<() => void>;
  /** Appends `n` entries (programmes, every third one followed by an application); resolves when all are durable. */
  add(n: number): Promise<void>;
}

let counter = 0;

export async function createLogWorld(): Promise<LogWorld> {
  const store = new MemoryStore();
  const listeners = new Set<() => void>();
  const ledger = await Ledger.open({ store, clock: new LedgerClock(), onCommit: () => listeners.forEach((l) => l()) });
  const keys = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(9));
  let lastProgramme: string | undefined;

  const submit = async (kind: "programme" | "application", body: Record<string, unknown>, actor: Actor): Promise<string> => {
    counter += 1;
    const command = kind === "programme" ? { kind, body: REQUEST_SCHEMAS.programme.parse(body) } : { kind, body: REQUEST_SCHEMAS.application.parse(body) };
    const res = await ledger.submit({ command, actor, idempotencyKey: `k-${counter}-${Math.random()}`, requestHash: toHex(new Uint8Array(32).fill(counter % 256)) });
    return res.body.id;
  };
  const programme = (): Record<string, unknown> => programmeRequest();
  const application = (programmeId: string): Record<string, unknown> => applicationRequest(programmeId, { creditCode: creditCode(++counter) });

  return {
    store,
    ledger,
    noteSigner: parseSignerKey(keys.signerKey),
    verifier: parseVerifierKey(keys.verifierKey),
    listeners,
    async add(n: number): Promise<void> {
      const jobs: Promise<string>[] = [];
      for (let i = 0; i < n; i++) {
        if (i % 3 === 2 && lastProgramme !== undefined) jobs.push(submit("application", application(lastProgramme), CLERK));
        else jobs.push(submit("programme", programme(), ADMIN).then((id) => (lastProgramme = id)));
        // Every 64 entries, let the batch land so applications can refer to a stored programme.
        if (jobs.length % 64 === 0) await Promise.all(jobs.splice(0));
      }
      await Promise.all(jobs);
    },
  };
}

/** A recorder key that stays the same across runs, so a Hardhat snapshot's nonce matches. */
export const RECORDER_KEY_HEX = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

export function recorderKey(): RecorderKey {
  return new RecorderKey(RECORDER_KEY_HEX);
}

export interface AnchorerWorld {
  readonly log: LogWorld;
  readonly transport: FlakyTransport;
  readonly client: ChainClient;
  readonly recorder: RecorderKey;
  readonly lines: string[];
  /** A new anchorer over `stateStore`, registered for commit notifications, started. */
  start(stateStore: AnchorStateStore, overrides?: Partial<AnchorerOptions>): Anchorer;
  /** Stops every anchorer this world started. */
  stopAll(): Promise<void>;
}

export const FAST: Partial<AnchorerOptions> = { pollMs: 5, retryBaseMs: 5, retryMaxMs: 40, replaceAfterMs: 3_600_000 };

export function createAnchorerWorld(log: LogWorld, inner: Eip1193Provider, address: string, chainId: number, recorder: RecorderKey = recorderKey()): AnchorerWorld {
  const transport = new FlakyTransport(inner);
  const client = new ChainClient({ transport, address, chainId, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
  const { logger, lines } = captureLogger();
  const started: Anchorer[] = [];
  return {
    log,
    transport,
    client,
    recorder,
    lines,
    start(stateStore, overrides = {}) {
      const anchorer = new Anchorer({
        ledger: log.ledger,
        store: log.store,
        chain: client,
        recorder,
        stateStore,
        noteSigner: log.noteSigner,
        origin: ORIGIN,
        logger,
        recordedAtOf: async (i) => (await log.store.leaf(i))?.recordedAt,
        everyEntries: 1_000,
        everyMs: 20,
        ...FAST,
        ...overrides,
      });
      const listener = () => anchorer.notify();
      log.listeners.add(listener);
      started.push(anchorer);
      anchorer.start();
      return anchorer;
    },
    async stopAll() {
      await Promise.all(started.map((a) => a.stop()));
      log.listeners.clear();
    },
  };
}

/** Polls `check` (real time) until it holds or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets the anchorer's loop run for a while of real time. */
export function settle(ms = 60): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects if `p` has not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms = 20_000, what = "promise"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every checkpoint on the contract, oldest first. */
export async function chainCheckpoints(client: ChainClient): Promise<AnchorCheckpoint[]> {
  const n = await client.checkpointCount();
  const out: AnchorCheckpoint[] = [];
  for (let i = 0; i < n; i++) out.push(await client.checkpointAt(i));
  return out;
}

/**
 * The chain's history is this log's: sizes strictly increase (so one
 * checkpoint per size), every root is the log's root at that size, every step
 * is provably consistent, and the last one covers `size` entries.
 */
export async function expectChainMatchesLog(client: ChainClient, log: LogWorld, size: number): Promise<AnchorCheckpoint[]> {
  const cps = await chainCheckpoints(client);
  expect(cps.length, "checkpoints on chain").to.be.greaterThan(0);
  const sizes = cps.map((c) => c.treeSize);
  expect(new Set(sizes).size, `one checkpoint per size: ${sizes.join(",")}`).to.equal(sizes.length);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    if (i > 0) expect(cp.treeSize, `sizes increase at ${i}`).to.be.greaterThan(cps[i - 1]!.treeSize);
    expect(cp.rootHex, `root of checkpoint ${i} (size ${cp.treeSize})`).to.equal(`0x${toHex(await rootAt(log.store, cp.treeSize))}`);
    if (i > 0) {
      const prev = cps[i - 1]!;
      const { proof } = await consistencyProof(log.store, prev.treeSize, cp.treeSize, log.ledger.size);
      verifyConsistency(prev.treeSize, cp.treeSize, fromHex(prev.rootHex), fromHex(cp.rootHex), proof);
    }
  }
  expect(cps[cps.length - 1]!.treeSize, "the last checkpoint covers the log").to.equal(size);
  return cps;
}

/** The signed checkpoint verifies with the log's key and names (size, root). */
export function expectSignedCheckpoint(note: string, verifier: NoteVerifier, size: number, rootHex: string): void {
  const cp = verifyCheckpoint(note, verifier, ORIGIN);
  expect(cp.size).to.equal(size);
  expect(`0x${toHex(cp.rootHash)}`).to.equal(rootHex);
}

/**
 * LedgerAnchor on Hardhat's network, with RECORDER_ROLE for {@link recorderKey} (funded) and
 * PAUSER_ROLE for the admin. A plain named function, so loadFixture can snapshot it.
 */
export async function deployed() {
  const [admin] = await ethers.getSigners();
  if (admin === undefined) throw new Error("no signer");
  const anchor = await new LedgerAnchor__factory(admin).deploy(0, admin.address);
  await anchor.waitForDeployment();
  const recorder = recorderKey();
  await (await anchor.grantRole(await anchor.RECORDER_ROLE(), recorder.address)).wait();
  await (await anchor.grantRole(await anchor.PAUSER_ROLE(), admin.address)).wait();
  await (await admin.sendTransaction({ to: recorder.address, value: 10n ** 19n })).wait();
  const { chainId } = await ethers.provider.getNetwork();
  // Other test files may have used the same recorder key on this network before the snapshot.
  const startNonce = await ethers.provider.getTransactionCount(recorder.address, "latest");
  return { anchor, admin, address: await anchor.getAddress(), chainId: Number(chainId), startNonce };
}
