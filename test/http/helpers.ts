/**
 * A test world for the HTTP API: createApp over a MemoryStore (or any store),
 * a real Ledger, a fake clock, a real checkpoint signer, a token per role, and
 * the pino output captured line by line.
 */
import type { Server } from "node:http";
import { Writable } from "node:stream";
import { expect } from "chai";
import pino from "pino";
import request from "supertest";
import type express from "express";
import { createToken } from "../../service/auth/tokens";
import { AccessCodes, type AccessCodeOptions } from "../../service/auth/access-codes";
import { createApp, type AppConfig, type AppDeps } from "../../service/http/app";
import { createAppServer } from "../../service/http/server";
import type { PortalOptions } from "../../service/http/portal";
import type { AnchoringInfo } from "../../service/http/receipts";
import { CheckpointSigner } from "../../service/ledger/checkpoints";
import type { Clock } from "../../service/clock";
import { Ledger, type LedgerObserver } from "../../service/ledger/ledger";
import { Tokens } from "../../service/http/tokens";
import { Queries } from "../../service/queries/queries";
import { noteKeyFromSeed, parseSignerKey, parseVerifierKey, type NoteSigner, type NoteVerifier } from "../../service/log";
import type { Role } from "../../service/records/schemas";
import { MemoryStore } from "../../service/store/memory";
import type { LedgerStore } from "../../service/store/store";
import { applicationRequest, creditCode, decisionRequest, payoutRequest, programmeRequest } from "../helpers/ledger-fixtures";

export const ORIGIN = "ledger.test.example/log";

/** A clock the test sets; starts on 2026-03-10 at 10:00 China Standard Time. */
export class FakeClock implements Pick<Clock, "now"> {
  private _t = Date.parse("2026-03-10T02:00:00.000Z");
  now(): number {
    return this._t;
  }
  set(iso: string): void {
    this._t = Date.parse(iso);
  }
  advanceDays(days: number): void {
    this._t += days * 86_400_000;
  }
}

/** Who holds which token. Two officials hold approver tokens under the names of the clerk and the payer, to exercise the separation-of-duty rules. */
export const OFFICIALS = {
  admin: { official: "admin.wang", agency: "市财政局", role: "admin" },
  clerk: { official: "clerk.li", agency: "市工信局", role: "clerk" },
  approver: { official: "approver.zhao", agency: "市工信局", role: "approver" },
  approver2: { official: "approver.qian", agency: "市工信局", role: "approver" },
  payer: { official: "payer.sun", agency: "市财政局", role: "payer" },
  payer2: { official: "payer.zhou", agency: "市财政局", role: "payer" },
  approverWhoIsClerk: { official: "clerk.li", agency: "市工信局", role: "approver" },
  approverWhoIsPayer: { official: "payer.sun", agency: "市财政局", role: "approver" },
} as const satisfies Record<string, { official: string; agency: string; role: Role }>;
export type Holder = keyof typeof OFFICIALS;

export interface World {
  readonly app: express.Express;
  /** The server main.ts listens with (./service/http/server.ts), not listening; post() and get() go through it. */
  readonly server: Server;
  readonly store: LedgerStore;
  readonly ledger: Ledger;
  readonly clock: FakeClock;
  readonly tokens: Record<Holder, string>;
  readonly tokenIds: Record<Holder, string>;
  readonly verifier: NoteVerifier;
  /** Every line pino wrote. */
  readonly logLines: string[];
  /** The log's verifier key text, as /v1/log/key serves it. */
  readonly logKey: string;
  readonly accessCodes: AccessCodes;
  /** The note signer, for tests that anchor checkpoints by hand. */
  readonly noteSigner: NoteSigner;
}

export interface WorldOptions {
  readonly store?: LedgerStore;
  readonly config?: Partial<AppConfig>;
  readonly signedCheckpoint?: () => Promise<string>;
  readonly health?: () => Promise<Record<string, unknown> & { ok: boolean }>;
  /** Anchoring as the receipt routes see it; absent: anchoring off. */
  readonly anchoring?: AnchoringInfo;
  /** The portal, served at `/`; absent: not served. */
  readonly portal?: PortalOptions;
  /** The published log under /tlog/; absent: not served. */
  readonly tiles?: AppDeps["tiles"];
  /** Wrong-code limits and clock for access codes; generations are always kept in the world's store. */
  readonly accessCodes?: Omit<AccessCodeOptions, "generations">;
  /** The operators' metrics and the /metrics token (service/http/metrics.ts); the ledger reports its commits to `ledgerObserver`. */
  readonly metrics?: Pick<AppDeps, "metrics" | "metricsToken"> & { readonly ledgerObserver?: LedgerObserver };
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const store = options.store ?? new MemoryStore();
  const clock = new FakeClock();
  const ledger = await Ledger.open({ store, clock, ...(options.metrics?.ledgerObserver ? { observer: options.metrics.ledgerObserver } : {}) });
  const keys = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(7));
  const signer = new CheckpointSigner(ledger, parseSignerKey(keys.signerKey), ORIGIN);
  const accessCodes = new AccessCodes(new Uint8Array(32).fill(9), { ...options.accessCodes, generations: store });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(...chunk.toString("utf8").split("\n").filter((l) => l.length > 0));
      cb();
    },
  });
  const logger = pino({ level: "trace" }, sink);
  const tokens = {} as Record<Holder, string>;
  const tokenIds = {} as Record<Holder, string>;
  for (const holder of Object.keys(OFFICIALS) as Holder[]) {
    const created = await createToken(store, clock, OFFICIALS[holder]);
    tokens[holder] = created.token;
    tokenIds[holder] = created.info.id;
  }
  const app = createApp({
    ledger,
    queries: new Queries({ store, size: () => ledger.size }),
    tokens: new Tokens(store, clock),
    logger,
    signedCheckpoint: options.signedCheckpoint ?? (async () => signer.latest()),
    ...(options.health ? { health: options.health } : {}),
    config: {
      bodyLimit: options.config?.bodyLimit ?? "64kb",
      rateLimit: options.config?.rateLimit ?? { publicPerMinute: 100_000, adminPerMinute: 100_000, tlogPerMinute: 100_000 },
      ...(options.config?.trustProxy !== undefined ? { trustProxy: options.config.trustProxy } : {}),
    },
    logKey: keys.verifierKey,
    accessCodes,
    ...(options.anchoring ? { anchoring: options.anchoring } : {}),
    ...(options.portal ? { portal: options.portal } : {}),
    ...(options.tiles ? { tiles: options.tiles } : {}),
    ...(options.metrics?.metrics ? { metrics: options.metrics.metrics } : {}),
    ...(options.metrics?.metricsToken !== undefined ? { metricsToken: options.metrics.metricsToken } : {}),
  });
  return {
    app,
    server: createAppServer(app),
    store,
    ledger,
    clock,
    tokens,
    tokenIds,
    verifier: parseVerifierKey(keys.verifierKey),
    logLines,
    logKey: keys.verifierKey,
    accessCodes,
    noteSigner: parseSignerKey(keys.signerKey),
  };
}

let keyCounter = 0;
/** A fresh Idempotency-Key. */
export function newKey(): string {
  keyCounter += 1;
  return `test-key-${keyCounter}-${Math.random().toString(36).slice(2)}`;
}

/** POSTs JSON with a token and an Idempotency-Key (a fresh one unless given; `null` sends none). */
export function post(w: World, path: string, token: string | null, body: unknown, key: string | null = newKey()): request.Test {
  let r = request(w.server).post(path).set("Content-Type", "application/json");
  if (token !== null) r = r.set("Authorization", `Bearer ${token}`);
  if (key !== null) r = r.set("Idempotency-Key", key);
  return r.send(JSON.stringify(body));
}

export function get(w: World, path: string, token: string | null = null): request.Test {
  let r = request(w.server).get(path);
  if (token !== null) r = r.set("Authorization", `Bearer ${token}`);
  return r;
}

// The request factories are shared with the ledger tests: one definition of a valid programme, application, decision and payout.
export {
  applicationRequest as applicationBody,
  creditCode,
  decisionRequest as decisionBody,
  payoutRequest as payoutBody,
  programmeRequest as programmeBody,
};

/** Records an entry and returns its id; fails the test unless the answer is 201. */
export async function record(w: World, path: string, holder: Holder, body: unknown): Promise<string> {
  const res = await post(w, path, w.tokens[holder], body);
  expect(res.status, `${path} as ${holder}: ${JSON.stringify(res.body)}`).to.equal(201);
  return (res.body as { id: string }).id;
}

/** programme → application → approved decision; returns the ids. */
export async function approvedApplication(
  w: World,
  opts: { programme?: Record<string, unknown>; application?: Record<string, unknown>; decision?: Record<string, unknown> } = {},
): Promise<{ programmeId: string; applicationId: string; decisionId: string }> {
  const programmeId = await record(w, "/v1/programmes", "admin", programmeRequest(opts.programme));
  const applicationId = await record(w, "/v1/applications", "clerk", applicationRequest(programmeId, opts.application));
  const decisionId = await record(w, "/v1/decisions", "approver", decisionRequest(applicationId, opts.decision));
  return { programmeId, applicationId, decisionId };
}

/** What expectProblem reads of a response: a supertest Response, or one read off the wire by hand. */
export interface ProblemResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly text: string;
  readonly body?: unknown;
}

/** Asserts an RFC 9457 problem with the given status and no trace of a stack. */
export function expectProblem(res: ProblemResponse, status: number): Record<string, unknown> {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers["content-type"]).to.match(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).to.include.keys("type", "title", "status", "detail");
  expect(body["status"]).to.equal(status);
  expect(body).to.not.have.any.keys("stack", "cause");
  expectNoStack(res.text);
  return body;
}

/** No V8 stack frame ("    at fn (file:1:2)") and no source path in a response text. */
export function expectNoStack(text: string): void {
  expect(text).to.not.match(/\bat [^\s]+ \(|\bat [^\s()]+:\d+:\d+|\n\s+at /);
  expect(text).to.not.match(/\.ts:\d+|node_modules|node:internal/);
}
