/**
 * The service's side of the witnesses (LEDGER_WITNESS_POLICY_FILE): submits
 * each newly anchored checkpoint to every witness of the policy and gates
 * publishing on its quorum ({@link CosignedCheckpoints}, published.ts).
 *
 * - Every witness is driven on its own: it is sent the newest anchored
 *   checkpoint with the consistency proof from the size it last held (a 409
 *   with its size is answered by resubmitting from there, client.ts).
 * - Once the cosignatures gathered for one checkpoint satisfy the quorum,
 *   that checkpoint, its note followed by the cosignature lines in policy
 *   order, becomes the published one; until then the previous one stays.
 * - A witness that does not answer (or answers something the spec does not
 *   allow) is retried with exponential backoff. One that refuses with a
 *   split-view code (ALARM_CODES) is an alarm: logged at error level once per
 *   change, and only asked again after `alarmRetryMs`, never in a loop.
 *
 * Restarts. With a {@link CosignedCheckpointStore} (`WitnessCosigner.open`),
 * a newly cosigned checkpoint is saved durably before it is published, so the
 * published checkpoint never goes back after a crash, and at start the saved
 * one is checked (log key, chain, policy quorum: cosigned-store.ts) and
 * published again at once, with no witness needed. A saved checkpoint that
 * fails the check is refused with an error line and not used; the witnesses
 * are then asked again, as without a store.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { parseWitnessPolicy, quorumSatisfied, QUORUM_NONE, WitnessPolicyError, type WitnessPolicy } from "../format/witness-policy";
import { ALARM_CODES, witnessCheckpoint, WitnessClientError, type FetchLike, type ProofSource, type WitnessClientErrorCode } from "../witness/client";
import type { AnchoredPoint } from "../ledger/receipts";
import { systemClock, type Clock } from "../clock";
import type { CosignedCheckpoints, PublishedCheckpoint } from "./published";
import { checkSavedCosigned, FileCosignedCheckpointStore, SavedCosignedError, type CosignedCheckpointStore, type SavedCosignedExpectations } from "./cosigned-store";
import { parseVerifierKey } from "../log";

export interface WitnessingOptions {
  readonly policy: WitnessPolicy;
  /** The latest anchored checkpoint, as the anchorer knows it (null before the first). */
  readonly anchored: () => AnchoredPoint | null;
  /** Consistency proofs from the store. */
  readonly proof: ProofSource;
  readonly logger: Logger;
  /** How often the anchored checkpoint is looked at (default 500 ms). */
  readonly everyMs?: number;
  /** First and largest wait before asking an unreachable witness again (defaults 1 s and 60 s). */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** Wait before asking a witness in alarm again (default 10 minutes). */
  readonly alarmRetryMs?: number;
  /** Per-call time limit (default 10 s). */
  readonly timeoutMs?: number;
  readonly fetch?: FetchLike;
  /** Times retries and cosignatures (only its now is used; the look-ups run on an interval timer); default systemClock. */
  readonly clock?: Pick<Clock, "now">;
}

/** Keeping the published checkpoint across restarts: where, and what a saved one must match to be trusted. */
export interface WitnessingPersistence extends Omit<SavedCosignedExpectations, "policy"> {
  readonly store: CosignedCheckpointStore;
}

/** The file, under the data directory, that keeps the newest cosigned checkpoint. */
export function cosignedCheckpointFile(dataDir: string): string {
  return path.join(dataDir, "witnesses", "cosigned-checkpoint.json");
}

/** The persistence `main` wires: the file under the data directory, trusted only for this log's key and origin and this chain's contract. */
export function persistenceIn(dataDir: string, log: { verifierKey: string; origin: string }, chain: { chainId: number; address: string }): WitnessingPersistence {
  return { store: new FileCosignedCheckpointStore(cosignedCheckpointFile(dataDir)), logVerifier: parseVerifierKey(log.verifierKey), origin: log.origin, chain };
}

/** One witness as health shows it. */
export interface WitnessStatus {
  readonly name: string;
  readonly url: string | null;
  /** Size of the newest checkpoint this witness cosigned for us (this run), or null. */
  readonly lastCosignedSize: number | null;
  readonly lastCosignedAt: string | null;
  /** Anchored entries this witness has not cosigned yet. */
  readonly lagEntries: number;
  /** Its last failure (code: message), null after a success. */
  readonly lastError: string | null;
  /** A split-view refusal (SPLIT_VIEW, PROOF_REFUSED, WITNESS_AHEAD): a human must look. */
  readonly alarm: string | null;
  /** When it is asked next, if it is waiting out a backoff. */
  readonly retryAt: string | null;
}

export interface WitnessingStatus {
  readonly quorum: string;
  /** Size of the published (cosigned) checkpoint, null while none. */
  readonly publishedSize: number | null;
  readonly anchoredSize: number | null;
  /** Why publishing waits (the anchored checkpoint lacks a quorum), or null when it does not. */
  readonly waiting: string | null;
  /** The quorum cannot be met by the witnesses that are not failing: publishing is stuck until one recovers. */
  readonly blocked: boolean;
  readonly alarms: number;
  /** Anchored checkpoints kept while they gather cosignatures (bounded). */
  readonly pending: number;
  readonly witnesses: readonly WitnessStatus[];
}

/**
 * Whether the witnesses leave the service healthy: not while publishing is stuck (the witnesses that are
 * not failing cannot make the quorum), nor while any witness reports a split view, which a human must look at.
 * Waiting for answers, or one witness down when the others still make the quorum, is healthy.
 */
export function witnessesHealthy(s: Pick<WitnessingStatus, "blocked" | "alarms">): boolean {
  return !s.blocked && s.alarms === 0;
}

interface WitnessState {
  readonly name: string;
  readonly url: string | undefined;
  /** The size it was last known to hold (0: unknown; a 409 corrects it). */
  size: number;
  cosignedSize: number | null;
  cosignedAt: number | null;
  busy: boolean;
  error: { code: WitnessClientErrorCode; message: string } | null;
  alarm: string | null;
  retryAt: number;
  delayMs: number;
}

interface Candidate {
  readonly point: AnchoredPoint;
  /** Cosignature lines by witness name. */
  readonly lines: Map<string, string>;
}

/** Checkpoints awaiting their quorum that are kept at most. */
const MAX_CANDIDATES = 16;

export class WitnessCosigner implements CosignedCheckpoints {
  private readonly witnesses: WitnessState[];
  private readonly candidates = new Map<number, Candidate>();
  private published: { readonly point: AnchoredPoint; readonly note: string } | null = null;
  /** Size of the cosigned checkpoint being saved before it is published, or 0. */
  private publishing = 0;
  private saving: Promise<void> = Promise.resolve();
  private store: CosignedCheckpointStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly clock: Pick<Clock, "now">;

  private constructor(private readonly o: WitnessingOptions) {
    this.clock = o.clock ?? systemClock;
    this.witnesses = o.policy.witnesses.map((w) => ({
      name: w.name,
      url: w.url,
      size: 0,
      cosignedSize: null,
      cosignedAt: null,
      busy: false,
      error: null,
      alarm: null,
      retryAt: 0,
      delayMs: 0,
    }));
  }

  /** Starts submitting: at once, then every `everyMs`. What is cosigned is kept in memory only. */
  static start(o: WitnessingOptions): WitnessCosigner {
    const c = new WitnessCosigner(o);
    c.run();
    return c;
  }

  /**
   * Restores the saved cosigned checkpoint, if it passes the checks, and
   * starts submitting; from then on each newly cosigned checkpoint is saved
   * before it is published. Never rejects for what the store holds: an
   * unreadable or untrustworthy saved checkpoint is logged and ignored.
   */
  static async open(o: WitnessingOptions, persistence: WitnessingPersistence): Promise<WitnessCosigner> {
    const c = new WitnessCosigner(o);
    c.store = persistence.store;
    await c.restore(persistence);
    c.run();
    return c;
  }

  private async restore(p: WitnessingPersistence): Promise<void> {
    const refuse = (why: string, code?: string) =>
      this.o.logger.error({ where: p.store.where, code }, `refusing the saved cosigned checkpoint in ${p.store.where}: ${why}; it is not published, and the witnesses are asked again`);
    try {
      const saved = await p.store.load();
      if (saved === undefined) return;
      const vouched = checkSavedCosigned(saved, { ...p, policy: this.o.policy });
      this.published = { point: saved.point, note: saved.note };
      for (const w of this.witnesses)
        if (vouched.includes(w.name)) {
          w.size = saved.point.size;
          w.cosignedSize = saved.point.size;
        }
      this.o.logger.info({ size: saved.point.size, vouched }, "restored the saved cosigned checkpoint: published");
    } catch (e) {
      if (e instanceof SavedCosignedError) refuse(e.message, e.code);
      else refuse(e instanceof Error ? e.message : String(e));
    }
  }

  private run(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.o.everyMs ?? 500);
    this.timer.unref();
  }

  /** Stops the timer and aborts calls in flight; resolves once they and any save under way are done. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    await this.saving;
  }

  /** The published checkpoint with its anchoring, for receipts: null while no checkpoint has a quorum. */
  publishedPoint(): AnchoredPoint | null {
    return this.published === null ? null : { ...this.published.point, signedCheckpoint: this.published.note };
  }

  /** {@link CosignedCheckpoints}: the newest cosigned checkpoint of size ≤ the anchored one. */
  async cosigned(anchored: PublishedCheckpoint): Promise<PublishedCheckpoint | null> {
    const p = this.published;
    if (p === null || p.point.size > anchored.size) return null;
    return { size: p.point.size, note: p.note };
  }

  status(): WitnessingStatus {
    const anchored = this.o.anchored();
    const anchoredSize = anchored?.size ?? null;
    const publishedSize = this.published?.point.size ?? null;
    const failing = new Set(this.witnesses.filter((w) => w.error !== null || w.alarm !== null).map((w) => w.name));
    const healthy = new Set(this.witnesses.filter((w) => !failing.has(w.name)).map((w) => w.name));
    const blocked = anchoredSize !== null && publishedSize !== anchoredSize && !quorumSatisfied(this.o.policy, healthy);
    let waiting: string | null = null;
    if (anchored !== null && publishedSize !== anchored.size) {
      const lines = this.candidates.get(anchored.size)?.lines ?? new Map<string, string>();
      const why = this.witnesses.filter((w) => !lines.has(w.name) && (w.alarm !== null || w.error !== null)).map((w) => `${w.name} ${w.alarm ?? w.error!.code}`);
      waiting =
        `the anchored checkpoint of size ${anchored.size} lacks the witness quorum "${this.o.policy.quorum}" ` +
        `(cosigned by ${[...lines.keys()].join(", ") || "none"}${why.length > 0 ? `; failing: ${why.join(", ")}` : ""})` +
        (publishedSize === null ? "; nothing is published yet" : `; the checkpoint of size ${publishedSize} stays published`);
    }
    return {
      quorum: this.o.policy.quorum,
      publishedSize,
      anchoredSize,
      waiting,
      blocked,
      alarms: this.witnesses.filter((w) => w.alarm !== null).length,
      pending: this.candidates.size,
      witnesses: this.witnesses.map((w) => ({
        name: w.name,
        url: w.url ?? null,
        lastCosignedSize: w.cosignedSize,
        lastCosignedAt: w.cosignedAt === null ? null : new Date(w.cosignedAt).toISOString(),
        lagEntries: Math.max(0, (anchoredSize ?? 0) - (w.cosignedSize ?? 0)),
        lastError: w.error === null ? null : `${w.error.code}: ${w.error.message}`,
        alarm: w.alarm,
        retryAt: w.retryAt > this.clock.now() ? new Date(w.retryAt).toISOString() : null,
      })),
    };
  }

  /** Starts a submission to every witness that is idle, due, and has not cosigned the newest anchored checkpoint. */
  private tick(): void {
    const point = this.o.anchored();
    if (point === null) return;
    if (this.published !== null && this.published.point.size >= point.size) return;
    if (this.o.policy.quorum === QUORUM_NONE) {
      this.published = { point, note: point.signedCheckpoint };
      return;
    }
    if (!this.candidates.has(point.size)) {
      // Witnesses are only sent the newest checkpoint, so an older one gains cosignatures only from calls
      // already in flight: keep the few that have some, drop the rest, so an outage cannot grow this map.
      for (const [size, c] of this.candidates) if (c.lines.size === 0) this.candidates.delete(size);
      while (this.candidates.size >= MAX_CANDIDATES) this.candidates.delete(Math.min(...this.candidates.keys()));
      this.candidates.set(point.size, { point, lines: new Map() });
    }
    // A quorum whose save failed is saved again from here.
    this.maybePublish(this.candidates.get(point.size)!);
    const now = this.clock.now();
    for (const w of this.witnesses) {
      if (w.busy || w.retryAt > now || (w.cosignedSize !== null && w.cosignedSize >= point.size)) continue;
      const run = this.submit(w, point).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
  }

  private async submit(w: WitnessState, point: AnchoredPoint): Promise<void> {
    w.busy = true;
    try {
      if (w.url === undefined) throw new WitnessClientError("ARGUMENT_INVALID", `witness ${w.name} has no URL in the policy`);
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.timeoutMs ?? 10_000)]);
      const cosigner = this.o.policy.witnesses.find((p) => p.name === w.name)!.cosigner;
      const r = await witnessCheckpoint({
        url: w.url,
        cosigner,
        checkpoint: point.signedCheckpoint,
        oldSize: Math.min(w.size, point.size),
        proof: this.o.proof,
        signal,
        ...(this.o.fetch === undefined ? {} : { fetch: this.o.fetch }),
      });
      if (w.error !== null || w.alarm !== null) this.o.logger.info({ witness: w.name, size: point.size }, "witness cosigns again");
      w.size = r.size;
      w.cosignedSize = r.size;
      w.cosignedAt = this.clock.now();
      w.error = null;
      w.alarm = null;
      w.delayMs = 0;
      w.retryAt = 0;
      this.record(w.name, point, r.cosignature);
    } catch (e) {
      if (this.abort.signal.aborted) return;
      const err = e instanceof WitnessClientError ? e : new WitnessClientError("BAD_RESPONSE", `witness ${w.name}: ${String(e)}`, {}, { cause: e });
      this.failed(w, err);
    } finally {
      w.busy = false;
    }
  }

  private failed(w: WitnessState, e: WitnessClientError): void {
    if (ALARM_CODES.has(e.code)) {
      const alarm = `${e.code}: ${e.message}`;
      // Once per change: the same refusal again is not news, a different one is.
      if (w.alarm !== alarm)
        this.o.logger.error({ witness: w.name, code: e.code, url: w.url }, `ALARM: witness ${w.name} refuses our checkpoint as a split view: ${e.message}`);
      w.alarm = alarm;
      w.error = null;
      w.retryAt = this.clock.now() + (this.o.alarmRetryMs ?? 600_000);
      return;
    }
    const min = this.o.backoffMinMs ?? 1000;
    const max = this.o.backoffMaxMs ?? 60_000;
    w.delayMs = w.delayMs === 0 ? min : Math.min(max, w.delayMs * 2);
    w.retryAt = this.clock.now() + w.delayMs;
    const message = e.message + networkCause(e);
    if (w.error?.code !== e.code) this.o.logger.warn({ witness: w.name, code: e.code, retryInMs: w.delayMs }, `witness ${w.name}: ${message}`);
    w.error = { code: e.code, message };
  }

  private record(name: string, point: AnchoredPoint, line: string): void {
    if (this.published !== null && this.published.point.size >= point.size) return;
    const c = this.candidates.get(point.size);
    if (c === undefined) return;
    c.lines.set(name, line);
    this.maybePublish(c);
  }

  /** Publishes a candidate that has its quorum, once it is saved (when there is a store); one save at a time. */
  private maybePublish(c: Candidate): void {
    const size = c.point.size;
    if ((this.published !== null && this.published.point.size >= size) || this.publishing >= size) return;
    if (!quorumSatisfied(this.o.policy, new Set(c.lines.keys()))) return;
    const order = this.o.policy.witnesses.map((w) => w.name).filter((n) => c.lines.has(n));
    const cosigned = { point: c.point, note: c.point.signedCheckpoint + order.map((n) => c.lines.get(n)!).join("") };
    this.publishing = size;
    this.saving = this.saving.then(async () => {
      try {
        await this.store?.save(cosigned);
      } catch (e) {
        if (this.publishing === size) this.publishing = 0;
        this.o.logger.error({ size, where: this.store?.where, err: e }, `cannot save the cosigned checkpoint of size ${size}; not published yet, saving again at the next check`);
        return;
      }
      if (this.publishing === size) this.publishing = 0;
      if (this.published !== null && this.published.point.size >= size) return;
      this.published = cosigned;
      for (const s of [...this.candidates.keys()]) if (s <= size) this.candidates.delete(s);
      this.o.logger.info({ size, vouched: order }, "checkpoint cosigned by the witness quorum: published");
    });
  }
}

/** fetch says only "fetch failed"; the system error under it (ECONNREFUSED, ENOTFOUND…) is what an operator needs. */
function networkCause(e: WitnessClientError): string {
  if (e.code !== "UNREACHABLE") return "";
  let c: unknown = e.cause;
  for (let depth = 0; depth < 4 && c instanceof Error; depth++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return ` (${code})`;
    c = c.cause;
  }
  return "";
}

/** The policy file cannot be used; the message is the one line to print. */
export class WitnessPolicyFileError extends Error {
  override readonly name = "WitnessPolicyFileError";
}

/** Reads and parses LEDGER_WITNESS_POLICY_FILE. Throws WitnessPolicyFileError naming the file and what is wrong. */
export async function readWitnessPolicyFile(file: string): Promise<WitnessPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new WitnessPolicyFileError(`witness policy ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let policy: WitnessPolicy;
  try {
    policy = parseWitnessPolicy(bytes);
  } catch (e) {
    if (e instanceof WitnessPolicyError) throw new WitnessPolicyFileError(`witness policy ${file}: ${e.message}`);
    throw e;
  }
  const noUrl = policy.witnesses.filter((w) => w.url === undefined).map((w) => w.name);
  if (noUrl.length > 0) throw new WitnessPolicyFileError(`witness policy ${file}: witness ${noUrl.join(", ")} has no URL to submit checkpoints to`);
  return policy;
}
