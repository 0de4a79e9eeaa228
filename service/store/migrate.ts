/**
 * Moving a ledger from its LevelDB data directory into an empty PostgreSQL
 * database (`npm run admin -- migrate`): every leaf, tree node, entry index,
 * state doc, opening, idempotency record, token and access-code generation.
 *
 * Guarantees:
 * - All or nothing: the copy is one transaction (./postgres-import.ts); a
 *   target that holds any ledger row is refused before anything is written.
 * - The tree is not copied but rebuilt from the leaves' bytes, so the nodes
 *   the PostgreSQL store serves proofs from are hashes of the leaves it holds.
 *   The copy is committed only when that rebuilt tree, the source's head and
 *   the target's head (read back in the transaction) have the same size and
 *   root, and every table holds as many rows as were read; after the commit
 *   the target is opened as the service opens it and its root checked again.
 * - What was erased stays erased: an erased entry's openings are not in the
 *   source, and its idempotency records are already scrubbed there.
 * - Memory stays bounded: every table is read and written in pages of
 *   {@link PAGE} rows.
 *
 * The data directory's key files and anchoring state are not copied: the
 * service on PostgreSQL still reads them from LEDGER_DATA_DIR.
 */
import { CodedError, CompactRange, hashLeaf, toHex } from "../log";
import { PostgresImport, type ImportedLeaf, type LedgerTable } from "./postgres-import";
import { PostgresStore } from "./postgres";
import type { LedgerDump, LogStore, TokenStore } from "./store";

/** Rows read and written at a time. */
export const PAGE = 4096;

export type MigrationErrorCode = "SOURCE_INCONSISTENT" | "COPY_MISMATCH";

/**
 * The copy did not check out. SOURCE_INCONSISTENT: the source's leaves do not
 * hash to its own head (a damaged data directory); COPY_MISMATCH: the target
 * differs from the source. Both carry the expected and the found root.
 */
export class MigrationError extends CodedError<MigrationErrorCode> {
  override readonly name = "MigrationError";
  constructor(
    code: MigrationErrorCode,
    message: string,
    /** Whether the copy was committed to the target before the mismatch was found (only by the final check). */
    readonly committed: boolean,
  ) {
    super(code, message);
  }
}

export interface MigrationProgress {
  readonly leavesCopied: number;
  readonly leavesTotal: number;
}

export interface MigrationResult {
  readonly size: number;
  /** Lower-case hex of the root, equal in source and target. */
  readonly root: string;
  /** Rows written per table. */
  readonly rows: Readonly<Record<LedgerTable, number>>;
  /** Where the target is, for messages (no credentials). */
  readonly where: string;
}

export interface MigrationOptions {
  /** Called after every page of leaves. */
  readonly onProgress?: (p: MigrationProgress) => void;
  readonly connectTimeoutMs?: number;
  /** The anchorer's record from the data directory, copied in the same transaction (see PostgresImport.anchorState). */
  readonly anchorState?: { readonly contract: string; readonly state: unknown };
}

/** What the migration reads: the log, the tokens and the bulk reads of {@link LedgerDump}. */
export type MigrationSource = Pick<LogStore, "head" | "leaves"> & Pick<TokenStore, "tokens"> & LedgerDump;

/**
 * Copies `source` into the empty PostgreSQL database at `url`. Rejects, having
 * written nothing, with TargetNotEmptyError, StoreLockedError, a
 * PostgresStoreError (unreachable, a value PostgreSQL cannot hold) or
 * {@link MigrationError}; a MigrationError with `committed` set is the one
 * failure after which the target holds the (mismatching) copy.
 */
export async function migrateToPostgres(source: MigrationSource, url: string, options: MigrationOptions = {}): Promise<MigrationResult> {
  const head = await source.head();
  const sourceRoot = toHex(new CompactRange(head.size, head.compact).root());
  const target = await PostgresImport.begin(url, options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs });
  const where = target.where;
  const rows = Object.fromEntries(
    (["leaves", "nodes", "entry_index", "state_docs", "openings", "idempotency", "tokens", "access_code_generations"] as const).map((t) => [t, 0]),
  ) as Record<LedgerTable, number>;
  try {
    const tree = new CompactRange();
    for (let start = 0; start < head.size; start += PAGE) {
      const page = await source.leaves(start, Math.min(start + PAGE, head.size));
      const leaves: ImportedLeaf[] = page.map((leaf) => {
        if (leaf.index !== tree.size)
          throw new MigrationError("SOURCE_INCONSISTENT", `the source's leaf ${tree.size} is missing (found ${leaf.index} in its place); nothing was written`, false);
        const nodes = tree.append(hashLeaf(leaf.bytes));
        rows.nodes += nodes.length;
        return { ...leaf, nodes };
      });
      if (leaves.length === 0) break;
      await target.leaves(leaves, { size: tree.size, compact: tree.hashes });
      rows.leaves += leaves.length;
      options.onProgress?.({ leavesCopied: tree.size, leavesTotal: head.size });
    }
    const rebuilt = toHex(tree.root());
    if (tree.size !== head.size || rebuilt !== sourceRoot)
      throw new MigrationError(
        "SOURCE_INCONSISTENT",
        `the source's ${tree.size} leaves hash to root ${rebuilt}, but its head is size ${head.size} with root ${sourceRoot}: the data directory is damaged; nothing was written`,
        false,
      );

    rows.entry_index = await pages(source.indexEntries(), (p) => target.indexEntries(p));
    rows.state_docs = await pages(source.stateDocs(), (p) => target.stateDocs(p));
    rows.openings = await pages(source.allOpenings(), (p) => target.openings(p));
    rows.idempotency = await pages(source.idempotencyRecords(), (p) => target.idempotencyRecords(p));
    rows.tokens = await pages(await source.tokens(), (p) => target.tokens(p));
    rows.access_code_generations = await pages(source.accessCodeGenerations(), (p) => target.accessCodeGenerations(p));
    if (options.anchorState !== undefined) await target.anchorState(options.anchorState);

    const written = await target.written();
    const targetRoot = toHex(new CompactRange(written.head.size, written.head.compact).root());
    const differing = (Object.keys(rows) as LedgerTable[]).filter((t) => written.rows[t] !== rows[t]);
    if (written.head.size !== head.size || targetRoot !== sourceRoot || differing.length > 0)
      throw new MigrationError(
        "COPY_MISMATCH",
        `the copy differs from the source (source size ${head.size} root ${sourceRoot}, target size ${written.head.size} root ${targetRoot}` +
          `${differing.map((t) => `; ${t}: ${rows[t]} read, ${written.rows[t]} in the target`).join("")}); nothing was written`,
        false,
      );
    await target.commit();
  } finally {
    await target.close();
  }

  // Checked once more as the service will read it, through the store, on a new connection.
  const store = await PostgresStore.open(url, options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs });
  try {
    const stored = await store.head();
    const storedRoot = toHex(new CompactRange(stored.size, stored.compact).root());
    if (stored.size !== head.size || storedRoot !== sourceRoot)
      throw new MigrationError(
        "COPY_MISMATCH",
        `after the commit the ${where} holds size ${stored.size} root ${storedRoot}, not the source's size ${head.size} root ${sourceRoot}: do not use it`,
        true,
      );
  } finally {
    await store.close();
  }
  return { size: head.size, root: sourceRoot, rows, where };
}

/** Feeds `items` to `write` in pages of PAGE; returns how many there were. */
async function pages<T>(items: AsyncIterable<T> | Iterable<T>, write: (page: T[]) => Promise<void>): Promise<number> {
  let page: T[] = [];
  let n = 0;
  for await (const item of items) {
    page.push(item);
    if (page.length === PAGE) {
      await write(page);
      n += page.length;
      page = [];
    }
  }
  if (page.length > 0) await write(page);
  return n + page.length;
}
