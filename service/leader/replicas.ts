/**
 * Several service processes on one PostgreSQL database (issue 17 §2): what
 * every replica runs so that exactly one of them anchors and publishes, and
 * all of them serve the same anchored checkpoint.
 *
 * - {@link StoreHead}: the log's head as the database holds it, for the
 *   leader's anchorer, since other replicas' commits never reach this
 *   process's Ledger.
 * - {@link SharedAnchoring}: the anchored checkpoint and the anchoring
 *   status every replica reports: the leader's own anchorer while this
 *   replica leads, else the record the leader saved in the database (read
 *   every `everyMs`).
 * - The checkpoint a witness quorum cosigned (what `/tlog/checkpoint`
 *   publishes with a witness policy) is saved by the leader, fenced like the
 *   anchor state, in `published_checkpoint` (service/store/postgres-anchoring.ts);
 *   followers serve it.
 * - {@link openReplicas}, then `lead(stages)`: the {@link Leadership} loop; on winning a term it
 *   starts an anchorer whose saves are fenced by the term's epoch, then the
 *   caller's other leader-only stages; on losing it, it stops them in the
 *   reverse order. The new anchorer's first recovery settles what the last
 *   leader left pending against the chain, exactly as a restart does.
 */
import type { Logger } from "pino";
import type pg from "pg";
import { z } from "zod";
import { CompactRange } from "../log";
import type { AnchoredPoint } from "../ledger/receipts";
import type { LogStore } from "../store/store";
import type { Anchorer, AnchorStatus } from "../chain/anchorer";
import { startAnchorer, type ChainConnection } from "../chain";
import { FencedAnchorStateStore, readSharedAnchorState } from "../chain/postgres-state";
import { inFlight, type AnchoredCheckpoint, type AnchorState } from "../chain/state";
import type { LeaderConfig } from "./config";
import { readPublishedRow, savePublishedRow } from "../store/postgres-anchoring";
import { leasePool, LeaseError, type LeaseTerm } from "../store/postgres-lease";
import { PostgresLease } from "./lease";
import { Leadership, type LeaderStatus } from "./leadership";

export { type LeaderStatus } from "./leadership";

/** What health, receipts and the published checkpoint read of the anchoring side. */
export interface AnchorView {
  /** The newest checkpoint known to be anchored, or null. */
  readonly anchored: AnchoredCheckpoint | null;
  status(): Promise<AnchorStatus>;
}

const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const PointSchema = z.strictObject({
  chainId: z.number().int().positive(),
  contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  size: Count,
  rootHex: Hex32,
  checkpointIndex: Count,
  txHash: Hex32.nullable(),
  blockNumber: Count.nullable(),
  anchoredAt: z.string().min(1),
  signedCheckpoint: z.string().min(1),
});

/** The published (witness-cosigned) checkpoint the leader saved for `contract`; null when none was, or when the row does not validate. */
export async function readSharedPublished(db: pg.Pool | pg.ClientBase, contract: AnchorState["contract"]): Promise<AnchoredPoint | null> {
  const parsed = PointSchema.safeParse(await readPublishedRow(db, contract));
  return parsed.success ? parsed.data : null;
}

/** Saves the published checkpoint for term `term`, in one transaction checked against the lease (LeaseError FENCED when the term is over). */
export async function saveSharedPublished(pool: pg.Pool, contract: AnchorState["contract"], term: LeaseTerm, point: AnchoredPoint): Promise<void> {
  const checked = PointSchema.parse(point);
  await savePublishedRow(pool, contract, term, JSON.stringify(checked));
}

/**
 * The head in the store, re-read every `everyMs` and on {@link refresh}.
 * `size` and `root()` are the last read head; `onGrow` is told when it grew.
 */
export class StoreHead {
  private _range: CompactRange;
  private _root: { size: number; root: Uint8Array } | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _reading: Promise<void> | undefined;
  private _again = false;
  private _following = false;
  onGrow: () => void = () => {};

  private constructor(
    private readonly _store: LogStore,
    range: CompactRange,
    /** Forwarded to the local Ledger: anchoring stopped for good, so this replica stops recording. */
    readonly halt?: (rule: string, message: string) => void,
  ) {
    this._range = range;
  }

  static async open(store: LogStore, halt?: (rule: string, message: string) => void): Promise<StoreHead> {
    const head = await store.head();
    return new StoreHead(store, new CompactRange(head.size, head.compact), halt);
  }

  get size(): number {
    return this._range.size;
  }

  root(): Uint8Array {
    if (this._root?.size !== this._range.size) this._root = { size: this._range.size, root: this._range.root() };
    return this._root.root;
  }

  /** Re-reads the head (one read at a time; a call during a read asks for one more). Never rejects. */
  refresh(): Promise<void> {
    if (this._reading !== undefined) {
      this._again = true;
      return this._reading;
    }
    this._reading = (async () => {
      do {
        this._again = false;
        try {
          const head = await this._store.head();
          if (head.size > this._range.size) {
            this._range = new CompactRange(head.size, head.compact);
            this.onGrow();
          }
        } catch {
          // The database is away: the anchorer keeps the last head, and its own reads report the outage.
        }
      } while (this._again);
    })().finally(() => (this._reading = undefined));
    return this._reading;
  }

  /** Re-reads the head every `everyMs` until {@link close}. */
  follow(everyMs: number): void {
    if (this._following) return;
    this._following = true;
    const tick = () => {
      if (!this._following) return;
      this._timer = setTimeout(() => void this.refresh().finally(tick), everyMs);
      this._timer.unref();
    };
    tick();
  }

  /** Stops following (a read under way finishes, and schedules nothing). */
  close(): void {
    this._following = false;
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
  }
}

/** See the module comment. */
export class SharedAnchoring implements AnchorView {
  private _leader: Anchorer | undefined;
  private _stored: AnchorState | undefined;
  private _published: AnchoredPoint | null = null;
  private _timer: NodeJS.Timeout | undefined;
  private _closed = false;

  constructor(
    private readonly _pool: pg.Pool,
    private readonly _contract: AnchorState["contract"],
    private readonly _head: StoreHead,
    private readonly _recordedAtOf: (index: number) => Promise<string | undefined>,
    private readonly _logger: Logger,
  ) {}

  /** Reads the stored record now, then every `everyMs`. */
  async start(everyMs: number): Promise<void> {
    await this.read();
    const tick = () => {
      if (this._closed) return;
      this._timer = setTimeout(() => void this.read().finally(tick), everyMs);
      this._timer.unref();
    };
    tick();
  }

  /** Reads the record the leader saved; a failure keeps the last one read. */
  async read(): Promise<void> {
    try {
      this._stored = (await readSharedAnchorState(this._pool, this._contract))?.state;
      this._published = await readSharedPublished(this._pool, this._contract);
    } catch (e) {
      this._logger.warn({ err: e }, "could not read the shared anchor state; serving the last one read");
    }
  }

  /** This replica's anchorer while it leads, or undefined. */
  set leader(anchorer: Anchorer | undefined) {
    this._leader = anchorer;
  }

  get leader(): Anchorer | undefined {
    return this._leader;
  }

  /** The leader's own anchored checkpoint once its first recovery has read the chain; until then, and on followers, the stored one. */
  get anchored(): AnchoredCheckpoint | null {
    return this._leader?.anchored ?? this._stored?.anchored ?? null;
  }

  /** The published (witness-cosigned) checkpoint the leader saved last, or null. */
  get published(): AnchoredPoint | null {
    return this._published;
  }

  async status(): Promise<AnchorStatus> {
    if (this._leader !== undefined && this._leader.anchored !== null) return this._leader.status();
    await this._head.refresh();
    const state = this._stored;
    const anchored = state?.anchored ?? null;
    const flight = state === undefined ? [] : inFlight(state);
    const anchoredSize = anchored?.size ?? 0;
    const lag = Math.max(0, this._head.size - anchoredSize);
    let oldest: string | null = null;
    if (lag > 0) oldest = (await this._recordedAtOf(anchoredSize).catch(() => undefined)) ?? null;
    return {
      anchoredSize,
      pendingSize: flight[flight.length - 1]?.size ?? null,
      inFlight: flight.length,
      lagEntries: lag,
      oldestUnanchoredAt: oldest,
      lastError: null,
      fatal: null,
      anchored,
      pending: state?.pending ?? null,
    };
  }

  close(): void {
    this._closed = true;
    if (this._timer !== undefined) clearTimeout(this._timer);
  }
}

export interface ReplicasOptions {
  readonly databaseUrl: string;
  readonly leader: LeaderConfig;
  /** The chain; undefined with LEDGER_CHAIN=off (then only the other stages are leader-only). */
  readonly connection: ChainConnection | undefined;
  readonly store: LogStore;
  /** The local Ledger's halt, called when anchoring stops for good. */
  readonly halt?: (rule: string, message: string) => void;
  /** How often followers re-read the anchored record and the leader re-reads the head (default 500 ms). */
  readonly readEveryMs?: number;
  readonly logger: Logger;
}

/** The leader-only stages besides the anchorer (witness cosigner, static tile copy). */
export interface LeaderStages {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What the stages publish (the witness cosigner's checkpoint), saved for the followers while this replica leads. */
  publishedPoint?(): AnchoredPoint | null;
}

export interface Replicas {
  /** Undefined without a chain. */
  readonly anchoring: SharedAnchoring | undefined;
  /**
   * Starts the leadership loop: from now on, whenever this replica wins a
   * term it starts the anchorer and then `stages`, and stops them (in the
   * reverse order) when the term ends. Resolves after the first attempt to
   * take the lease (and, if it was taken, after the stages started).
   */
  lead(stages: LeaderStages): Promise<void>;
  /** Whether this replica leads, and which one does. */
  leaderStatus(): LeaderStatus;
  /** The published checkpoint a leader saved (read every `readEveryMs`), or null. */
  published(): AnchoredPoint | null;
  /** Tell it the local Ledger committed (the leader's anchorer then looks at once). */
  notifyCommit(): void;
  /** Ends this replica's term if it leads (stages stopped, lease released), then closes its connections. */
  close(): Promise<void>;
}

export async function openReplicas(o: ReplicasOptions): Promise<Replicas> {
  const pool = leasePool(o.databaseUrl);
  const readEveryMs = o.readEveryMs ?? 500;
  const log = o.logger.child({ component: "leader", replica: o.leader.replicaId });
  const head = await StoreHead.open(o.store, o.halt);
  const conn = o.connection;
  const contract = conn === undefined ? undefined : { chainId: conn.client.chainId, address: conn.client.address };
  const anchoring =
    conn === undefined || contract === undefined
      ? undefined
      : new SharedAnchoring(pool, contract, head, async (i) => (await o.store.leaf(i))?.recordedAt, log);
  await anchoring?.start(readEveryMs);

  let term: { anchorer: Anchorer | undefined; unsubscribe: () => void; sharing?: NodeJS.Timeout } | undefined;
  let stages: LeaderStages = { start: async () => {}, stop: async () => {} };
  const lease = new PostgresLease(pool, o.leader.replicaId, o.leader.leaseMs);
  const stopTerm = async (): Promise<void> => {
    const t = term;
    term = undefined;
    if (t === undefined) return;
    clearInterval(t.sharing);
    await stages.stop().catch((e: unknown) => log.error({ err: e }, "stopping the leader's publishers failed"));
    if (anchoring !== undefined) anchoring.leader = undefined;
    head.close();
    t.unsubscribe();
    await t.anchorer?.stop();
    // What this term saved last, for the status reported from now on.
    await anchoring?.read();
  };
  const leadership: Leadership = new Leadership({
    lease,
    logger: o.logger,
    onWon: async (epoch) => {
      let anchorer: Anchorer | undefined;
      let unsubscribe = () => {};
      term = { anchorer, unsubscribe };
      if (conn !== undefined && contract !== undefined && anchoring !== undefined) {
        await head.refresh();
        const fenced = new FencedAnchorStateStore(pool, contract, { holder: lease.holder, epoch }, (e: LeaseError) => leadership.lost(e.message));
        anchorer = conn.newAnchorer(fenced, head);
        const a = anchorer;
        head.onGrow = () => a.notify();
        head.follow(readEveryMs);
        term.anchorer = anchorer;
        unsubscribe = await startAnchorer(conn, anchorer, o.logger);
        term.unsubscribe = unsubscribe;
        anchoring.leader = anchorer;
      }
      await stages.start();
      if (stages.publishedPoint !== undefined && contract !== undefined) term.sharing = sharePublished(epoch, stages.publishedPoint.bind(stages), contract);
    },
    onLost: async () => stopTerm(),
  });
  /** Saves what the stages publish whenever it changes, fenced by term `epoch`. */
  function sharePublished(epoch: number, point: () => AnchoredPoint | null, key: AnchorState["contract"]): NodeJS.Timeout {
    let saved: AnchoredPoint | null = anchoring?.published ?? null;
    let busy = false;
    const timer = setInterval(() => {
      const p = point();
      if (busy || p === null || (saved !== null && p.size <= saved.size && p.signedCheckpoint === saved.signedCheckpoint)) return;
      busy = true;
      saveSharedPublished(pool, key, { holder: lease.holder, epoch }, p)
        .then(() => (saved = p))
        .catch((e: unknown) => {
          if (e instanceof LeaseError) leadership.lost(e.message);
          else log.warn({ err: e }, "could not save the published checkpoint for the other replicas; retrying");
        })
        .finally(() => (busy = false));
    }, readEveryMs);
    timer.unref();
    return timer;
  }

  return {
    anchoring,
    published: () => anchoring?.published ?? null,
    async lead(s) {
      stages = s;
      await leadership.start();
    },
    leaderStatus: () => leadership.status(),
    notifyCommit: () => {
      if (term?.anchorer !== undefined) void head.refresh();
    },
    async close() {
      await leadership.stop();
      await stopTerm();
      anchoring?.close();
      head.close();
      await pool.end().catch(() => {});
    },
  };
}
