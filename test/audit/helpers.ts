/**
 * A world for the auditor's tests: a varied, valid ledger recorded through
 * the real Ledger (on a LevelStore in a temp dir, or a MemoryStore), its
 * checkpoints anchored on LedgerAnchor on Hardhat's in-process network, a
 * real log key. Tests may use service code to *build* fixtures; the audit
 * module under test imports the log core only.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { Level } from "level";
import { Ledger } from "../../service/ledger/ledger";
import { MemoryStore } from "../../service/store/memory";
import { consistencyProof, rootAt } from "../../service/ledger/proofs";
import { canonicalText, noteKeyFromSeed, parseSignerKey, parseVerifierKey, signCheckpoint, type NoteSigner, type NoteVerifier } from "../../service/log";
import type { Actor } from "../../service/records/entry";
import type { RecordKind } from "../../service/records/schemas";
import { LevelStore } from "../../service/store/level";
import type { LedgerStore } from "../../service/store/store";
import type { ChainReader } from "../../scripts/lib/audit/chain";
import { anchorChainReader } from "../../scripts/lib/audit/chain-rpc";
import { ExportSource, runAudit, ServiceClient, ServiceSource, type AuditOptions, type AuditReport } from "../../scripts/lib/audit";
import { runVerify } from "../../scripts/verify";
import {
  ACTORS,
  applicationRequest,
  confirmationRequest,
  correctionRequest,
  creditCode,
  decisionRequest,
  FakeClock,
  payoutRequest,
  programmeRequest,
  REGIONS,
  seededRandomBytes,
  submit,
} from "../helpers/ledger-fixtures";

export const ORIGIN = "audit.test.example/log";
const KEYS = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(3));
export const LOG_KEY = KEYS.verifierKey;
export const SIGNER: NoteSigner = parseSignerKey(KEYS.signerKey);
export const VERIFIER: NoteVerifier = parseVerifierKey(KEYS.verifierKey);

/** Another log's key: what an impostor signs with. */
const OTHER = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(4));
export const OTHER_SIGNER: NoteSigner = parseSignerKey(OTHER.signerKey);

/** Programmes open whatever day the tests run. */
const OPEN = { opensOn: "2000-01-01", closesOn: "2099-12-31" };
const PAID_ON = { paidOn: "2020-06-01" };

export interface Scenario {
  readonly ids: Record<string, string>;
}

/** Records one entry and returns its id; fails the test unless it was accepted. */
async function rec(ledger: Ledger, actor: Actor, kind: RecordKind, body: unknown): Promise<string> {
  const a = await submit(ledger, actor, kind, body);
  expect(a.status, JSON.stringify(a.body)).to.equal(201);
  return a.body.id;
}

/**
 * A varied valid ledger (about 40 entries): two programmes; approvals,
 * rejections, payouts below and above the four-eyes threshold with their
 * confirmations, a clawback, revocations and re-decisions, data-entry
 * corrections (public and private fields), a superseded payout date.
 */
export async function recordScenario(ledger: Ledger): Promise<Scenario> {
  const ids: Record<string, string> = {};
  const { clerkA, clerkB, approverC, approverD, approverA, payerE, payerF, admin } = ACTORS;
  ids.p1 = await rec(ledger, admin, "programme", programmeRequest(OPEN));
  ids.p2 = await rec(ledger, admin, "programme", programmeRequest({ ...OPEN, budgetFen: "20000000", fourEyesThresholdFen: "1000000" }));

  // app1: approved 30 000 yuan, paid in two payouts below the threshold.
  ids.app1 = await rec(ledger, clerkA, "application", applicationRequest(ids.p1));
  ids.dec1 = await rec(ledger, approverC, "decision", decisionRequest(ids.app1));
  ids.pay1a = await rec(ledger, payerE, "payout", payoutRequest(ids.dec1, { amountFen: "1000000", ...PAID_ON }));
  ids.pay1b = await rec(ledger, payerF, "payout", payoutRequest(ids.dec1, { amountFen: "2000000", ...PAID_ON }));

  // app2: 80 000 yuan; a payout above the threshold, confirmed by a second official (clerk A with an approver token).
  ids.app2 = await rec(ledger, clerkB, "application", applicationRequest(ids.p1, { creditCode: creditCode(2), requestedFen: "8000000", region: REGIONS.rural }));
  ids.dec2 = await rec(ledger, approverD, "decision", decisionRequest(ids.app2, { approvedFen: "8000000" }));
  ids.pay2 = await rec(ledger, payerE, "payout", payoutRequest(ids.dec2, { amountFen: "6000000", ...PAID_ON }));
  ids.cnf2 = await rec(ledger, approverA, "confirmation", confirmationRequest(ids.pay2));
  ids.pay2b = await rec(ledger, payerF, "payout", payoutRequest(ids.dec2, { amountFen: "2000000", ...PAID_ON }));

  // app3: rejected.
  ids.app3 = await rec(ledger, clerkA, "application", applicationRequest(ids.p1, { creditCode: creditCode(3) }));
  ids.dec3 = await rec(ledger, approverC, "decision", decisionRequest(ids.app3, { outcome: "rejected", approvedFen: "0", reason: "不符合条件" }));

  // app4 on p2 (threshold 10 000 yuan): a payout awaiting confirmation, clawed back in part, then confirmed; another clawed back wholly and revoked.
  ids.app4 = await rec(ledger, clerkB, "application", applicationRequest(ids.p2, { creditCode: creditCode(4), requestedFen: "5000000", region: REGIONS.countyCity }));
  ids.dec4 = await rec(ledger, approverC, "decision", decisionRequest(ids.app4, { approvedFen: "5000000" }));
  ids.pay4a = await rec(ledger, payerE, "payout", payoutRequest(ids.dec4, { amountFen: "2000000", ...PAID_ON }));
  ids.pay4b = await rec(ledger, payerF, "payout", payoutRequest(ids.dec4, { amountFen: "500000", ...PAID_ON }));
  // Under a decision at or above the threshold even a small payout is paid only once confirmed, and only what is paid can be clawed back.
  ids.cnf4b = await rec(ledger, approverC, "confirmation", confirmationRequest(ids.pay4b));
  ids.claw4b = await rec(ledger, approverD, "correction", correctionRequest(ids.pay4b, "clawback", { clawbackFen: "500000" }));
  ids.rev4b = await rec(ledger, approverD, "correction", correctionRequest(ids.pay4b, "revoked"));
  ids.cnf4a = await rec(ledger, approverD, "confirmation", confirmationRequest(ids.pay4a));
  ids.claw4a = await rec(ledger, approverC, "correction", correctionRequest(ids.pay4a, "clawback", { clawbackFen: "300000" }));
  ids.pay4c = await rec(ledger, payerE, "payout", payoutRequest(ids.dec4, { amountFen: "800000", ...PAID_ON }));

  // app5: corrected twice (a public and a private field), then decided.
  ids.app5 = await rec(ledger, clerkA, "application", applicationRequest(ids.p1, { creditCode: creditCode(5) }));
  ids.cor5a = await rec(ledger, approverC, "correction", correctionRequest(ids.app5, "data-entry-error", { replacement: { enterpriseName: "北京示例科技股份有限公司" } }));
  ids.cor5b = await rec(ledger, approverD, "correction", correctionRequest(ids.app5, "superseded", { replacement: { private: { phone: "+86 139 0000 0000" } } }));
  ids.dec5 = await rec(ledger, approverD, "decision", decisionRequest(ids.app5, { approvedFen: "1000000" }));

  // app6: a decision revoked and made again.
  ids.app6 = await rec(ledger, clerkB, "application", applicationRequest(ids.p2, { creditCode: creditCode(6), requestedFen: "2000000" }));
  ids.dec6a = await rec(ledger, approverC, "decision", decisionRequest(ids.app6, { approvedFen: "2000000" }));
  ids.rev6a = await rec(ledger, approverD, "correction", correctionRequest(ids.dec6a, "revoked"));
  ids.dec6b = await rec(ledger, approverD, "decision", decisionRequest(ids.app6, { approvedFen: "1500000" }));
  ids.pay6 = await rec(ledger, payerF, "payout", payoutRequest(ids.dec6b, { amountFen: "1500000", ...PAID_ON }));
  ids.cnf6 = await rec(ledger, approverC, "confirmation", confirmationRequest(ids.pay6));
  ids.cor6 = await rec(ledger, approverC, "correction", correctionRequest(ids.pay6, "superseded", { replacement: { paidOn: "2020-06-02", private: { bankTransactionRef: "ICBC-TXN-2" } } }));

  // app7: withdrawn (revoked before any decision). p1 renamed.
  ids.app7 = await rec(ledger, clerkA, "application", applicationRequest(ids.p1, { creditCode: creditCode(7) }));
  ids.rev7 = await rec(ledger, approverC, "correction", correctionRequest(ids.app7, "revoked"));
  ids.corP1 = await rec(ledger, approverD, "correction", correctionRequest(ids.p1, "data-entry-error", { replacement: { name: "中小企业数字化转型补贴（2026）" } }));
  return { ids };
}

/** A fresh LedgerAnchor on Hardhat's network, and a recorder that anchors a store's tree. */
export async function deployAnchor(): Promise<{
  address: string;
  reader: ChainReader;
  /** Anchors (size, root at size) of `store` with a consistency proof from the last anchored size. */
  anchor(store: LedgerStore, size: number): Promise<void>;
  /** Anchors any (size, root, proof): what a recorder-key holder can do. */
  anchorRaw(size: number, root: Uint8Array, proof: Uint8Array[]): Promise<void>;
  readonly anchored: number[];
}> {
  const [admin] = await ethers.getSigners();
  const contract = await ethers.deployContract("LedgerAnchor", [0, admin!.address]);
  await contract.waitForDeployment();
  await contract.grantRole(await contract.RECORDER_ROLE(), admin!.address);
  const address = await contract.getAddress();
  const anchored: number[] = [];
  const anchorRaw = async (size: number, root: Uint8Array, proof: Uint8Array[]): Promise<void> => {
    await (await contract.anchor(size, root, proof)).wait();
    anchored.push(size);
  };
  return {
    address,
    reader: anchorChainReader(network.provider, address),
    anchored,
    anchorRaw,
    async anchor(store, size) {
      const head = await store.head();
      const prev = anchored.length > 0 ? anchored[anchored.length - 1]! : 0;
      const proof = prev === 0 ? [] : (await consistencyProof(store, prev, size, head.size)).proof;
      await anchorRaw(size, await rootAt(store, size), proof);
    },
  };
}

/** The signed checkpoint of a store's whole tree. */
export async function signedCheckpoint(store: LedgerStore, signer: NoteSigner = SIGNER, size?: number): Promise<string> {
  const s = size ?? (await store.head()).size;
  return signCheckpoint({ origin: ORIGIN, size: s, rootHash: await rootAt(store, s), extensions: [] }, signer);
}

/** A temp dir, removed by the returned function. */
export async function tempDir(prefix = "audit-"): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface DbWorld {
  readonly dir: string;
  readonly ids: Record<string, string>;
  readonly size: number;
  readonly chain: Awaited<ReturnType<typeof deployAnchor>>;
  /** The ledger and store, still open (close them before reading the directory). */
  readonly ledger: Ledger;
  readonly store: LevelStore;
  readonly clock: FakeClock;
  close(): Promise<void>;
}

/**
 * Records the scenario into a LevelStore in `dir` and anchors it on a fresh
 * contract at a few sizes (the last one the whole tree). Leaves the store open.
 */
export async function buildDb(dir: string, anchorAt: (size: number) => number[] = (n) => [3, 10, 17, n]): Promise<DbWorld> {
  const store = await LevelStore.open(dir);
  const clock = new FakeClock(new Date(Date.now() - 60_000).toISOString());
  const ledger = await Ledger.open({ store, clock, randomBytes: seededRandomBytes(5) });
  const { ids } = await recordScenario(ledger);
  const size = ledger.size;
  const chain = await deployAnchor();
  for (const s of anchorAt(size)) await chain.anchor(store, s);
  return {
    dir,
    ids,
    size,
    chain,
    ledger,
    store,
    clock,
    async close() {
      await ledger.close();
      await store.close();
    },
  };
}

/**
 * The scenario recorded into a MemoryStore (seeded, dated a minute ago) and
 * anchored on a fresh contract at 7, 20 and the whole tree: the world the
 * service-source audits run against.
 */
export async function anchoredMemoryScenario(): Promise<{ store: MemoryStore; size: number; chain: Awaited<ReturnType<typeof deployAnchor>> }> {
  const store = new MemoryStore();
  const ledger = await Ledger.open({ store, clock: new FakeClock(new Date(Date.now() - 60_000).toISOString()), randomBytes: seededRandomBytes(9) });
  await recordScenario(ledger);
  const size = ledger.size;
  await ledger.close();
  const chain = await deployAnchor();
  for (const s of [7, 20, size]) await chain.anchor(store, s);
  return { store, size, chain };
}

// ---------------------------------------------------------------- raw LevelDB edits (no store code)

export const T_LEAF = 0x03;

export function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
  b.writeUInt32BE(n % 2 ** 32, 4);
  return b;
}

export const leafKey = (i: number): Buffer => Buffer.concat([Buffer.of(T_LEAF), u64(i)]);

/** Opens the (closed) data directory with level directly, runs `f`, closes it. */
export async function editDb(dir: string, f: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view", createIfMissing: false });
  await db.open();
  try {
    await f(db);
  } finally {
    await db.close();
  }
}

/** The stored leaf index of an entry id (table 0x04). */
export async function indexOfId(db: Level<Uint8Array, Uint8Array>, id: string): Promise<number> {
  const v = await db.get(Buffer.concat([Buffer.of(0x04), Buffer.from(id, "utf8")]));
  if (v === undefined) throw new Error(`no entry ${id}`);
  return Buffer.from(v).readUInt32BE(0) * 2 ** 32 + Buffer.from(v).readUInt32BE(4);
}

// ---------------------------------------------------------------- a service on a data directory

export interface ServedDir {
  readonly url: string;
  /** The key the service signs its checkpoints with. */
  readonly logKey: string;
  readonly verifier: NoteVerifier;
  close(): Promise<void>;
}

/**
 * The service (createApp over a LevelStore opened on `dir`) listening on a
 * free port: how a data directory is audited, since the auditor reads
 * published formats, never LevelDB.
 */
export async function serveDir(dir: string): Promise<ServedDir> {
  const { createWorld } = await import("../http/helpers");
  const store = await LevelStore.open(dir);
  const w = await createWorld({ store });
  const server = await new Promise<Server>((resolve) => {
    const s = w.app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logKey: w.logKey,
    verifier: w.verifier,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await w.ledger.close();
      await store.close();
    },
  };
}

/** runAudit of the service at `url`, with its proofs to locate damage. */
export async function auditService(url: string, options: Omit<AuditOptions, "source">): Promise<AuditReport> {
  const source = await ServiceSource.open(new ServiceClient(url, { retryForMs: 2_000 }));
  try {
    return await runAudit({ source, ...options });
  } finally {
    await source.close();
  }
}

let exportFiles = 0;
/** runAudit of parsed `entries`, in log order, written as an export file in `dir` (no chain: only what the entries themselves show). */
export async function auditEntries(dir: string, entries: readonly object[]): Promise<AuditReport> {
  const file = path.join(dir, `entries-${exportFiles++}.jsonl`);
  const header = { format: "subsidy-ledger.export", version: 1, exportedAt: new Date().toISOString(), service: null, treeSize: entries.length, checkpoint: null, logKey: null };
  await writeFile(file, [JSON.stringify(header), ...entries.map((e, i) => `[${i},${canonicalText(e)}]`)].join("\n") + "\n");
  const source = await ExportSource.open(file);
  try {
    return await runAudit({ source, chain: null, verifiers: [], workers: 0 });
  } finally {
    await source.close();
  }
}

/** An export file of the leaves a data directory holds up to `treeSize` (each `[index,<leaf>]`, a missing one left out), as an export of it would read. */
export async function exportDir(dir: string, file: string, treeSize: number): Promise<void> {
  const lines = [JSON.stringify({ format: "subsidy-ledger.export", version: 1, exportedAt: new Date().toISOString(), service: null, treeSize, checkpoint: null, logKey: null })];
  const store = await LevelStore.open(dir);
  try {
    for (let i = 0; i < treeSize; i++) {
      const leaf = await store.leaf(i);
      if (leaf !== undefined) lines.push(`[${i},${Buffer.from(leaf.bytes).toString("utf8")}]`);
    }
  } finally {
    await store.close();
  }
  await writeFile(file, `${lines.join("\n")}\n`);
}

// ---------------------------------------------------------------- the CLI

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI with its output captured and the chain on Hardhat's network. */
export async function verifyCli(args: string[], reader?: ChainReader): Promise<CliRun> {
  let out = "";
  let err = "";
  const code = await runVerify(args, {
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    stderrIsTty: false,
    connectChain: async (_rpc, contract) => {
      // The reader describes itself by its address ("LedgerAnchor at 0x…"): the CLI must ask for that contract.
      if (reader === undefined || !reader.description.toLowerCase().includes(contract.toLowerCase())) throw new Error(`test: no chain for ${contract}`);
      return reader;
    },
  });
  return { code, out, err };
}

