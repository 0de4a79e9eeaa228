/**
 * Administration CLI.
 *
 *   npm run admin -- token create --official <id> --agency <code> --role <clerk|approver|payer|admin>
 *   npm run admin -- token list
 *   npm run admin -- token revoke <token id>
 *   npm run admin -- erase <entry id> --reason <code> --official <id> --agency <code>
 *   npm run admin -- access-code revoke <application id>
 *   npm run admin -- rebuild-from-mirror --from <mirror dir> --log-key <vkey|file>
 *   npm run admin -- migrate --from <data dir> --to <postgres url>
 *
 * `erase` deletes an entry's private values and salts and appends the
 * `erasure` entry naming it, in one atomic commit (see POST
 * /v1/entries/{id}/erasure). Offline it records as the official named by
 * --official and --agency with the admin role; through --service the token's
 * official is recorded and --official/--agency are not taken.
 *
 * By default it opens the data directory (LEDGER_DATA_DIR or ./data) directly,
 * which works while the service is stopped. While the service runs it holds
 * the directory's lock; then pass --service <url> --token <admin token> (or
 * LEDGER_ADMIN_TOKEN) to go through the admin API instead. With
 * LEDGER_DATABASE_URL it opens that PostgreSQL database instead, beside any
 * running replicas (PostgreSQL takes several writers; erase is sequenced like
 * a replica's write); only rebuild-from-mirror takes the database alone.
 *
 * `migrate` copies a stopped LevelDB ledger into an empty PostgreSQL database in one transaction and
 * checks the roots of source and target are equal (service/store/migrate.ts); the key files and the
 * anchoring state stay in the data directory, which the service on PostgreSQL keeps using.
 *
 * `token create` and `access-code revoke` print the new token or code alone on one line of stdout, so it can
 * be captured (`migrate` prints the root it checked); everything else goes to stderr. Exit codes: 0 done, 1 the
 * operation failed, 2 usage or connection error.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { ZodError } from "zod";
import { clearFirstAdminTokenPending, DataDirError, makeCreatedFilesPrivate, openDataDir } from "../service/data-dir";
import { createToken, LastAdminTokenError, listTokens, revokeToken, TokenNotFoundError, type TokenInfo } from "../service/auth/tokens";
import { loadOrCreateAccessCodes } from "../service/auth/access-codes";
import { entryIdPattern } from "../service/format/entry";
import { systemClock } from "../service/clock";
import { ERASURE_REASONS } from "../service/format/entry";
import { IdempotencyConflict, Ledger, scopedIdempotencyKey } from "../service/ledger/ledger";
import { erasurePathOf, requestHash } from "../service/http/admin";
import { PlainText } from "../service/records/zod-types";
import { RuleViolation } from "../service/records/rules";
import { Queries } from "../service/queries/queries";
import { LevelStore } from "../service/store/level";
import { dirLogReader } from "../service/format/log-reader";
import { KeyArgumentError, readVerifierKeyArg } from "../service/log";
import { rebuildFromCopy, RebuildError } from "../service/mirror/rebuild";
import { PostgresStore } from "../service/store/postgres";
import { StoreLockedError, type LedgerStore } from "../service/store/store";
import { MigrationError, migrateToPostgres, type MigrationProgress } from "../service/store/migrate";
import { TargetNotEmptyError } from "../service/store/postgres-import";
import { describeDatabaseUrl, PostgresStoreError } from "../service/store/postgres";
import { FileAnchorStateStore, type AnchorState } from "../service/chain/state";
import { contractKey } from "../service/store/postgres-anchoring";
import { chainFiles } from "../service/chain/local-chain";

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

interface Target {
  dataDir: string;
  service?: string;
  token?: string;
}

function target(cmd: Command): Target {
  const o = cmd.optsWithGlobals<{ dataDir?: string; service?: string; token?: string }>();
  const t: Target = { dataDir: path.resolve(o.dataDir ?? process.env.LEDGER_DATA_DIR ?? "./data") };
  if (o.service !== undefined) t.service = o.service.replace(/\/+$/, "");
  const token = o.token ?? process.env.LEDGER_ADMIN_TOKEN;
  if (token !== undefined) t.token = token;
  if (t.service !== undefined && t.token === undefined) throw new CliError("--service needs an admin token: --token or LEDGER_ADMIN_TOKEN", 2);
  return t;
}

/**
 * How a command shares the store. `beside-replicas`: PostgreSQL is opened as
 * one more writer beside running replicas, as a replica opens it (tokens and
 * access-code generations are rows every replica reads afresh; log entries go
 * through the Ledger's sequencing with its head check). `alone`: PostgreSQL
 * is opened with the exclusive lock, so a second such command is refused.
 * LevelDB is single-process either way: a running service holds its lock.
 */
type Sharing = "beside-replicas" | "alone";

async function withStore<T>(dataDir: string, f: (store: LedgerStore) => Promise<T>, sharing: Sharing = "beside-replicas"): Promise<T> {
  let store: LedgerStore;
  try {
    // The same refusal as the service's: a data directory others can read is not opened.
    await openDataDir(dataDir);
    // The store the service uses: PostgreSQL when LEDGER_DATABASE_URL names one, else LevelDB in the data directory.
    const databaseUrl = process.env.LEDGER_DATABASE_URL;
    store =
      databaseUrl !== undefined && databaseUrl !== ""
        ? await PostgresStore.open(databaseUrl, { exclusive: sharing === "alone" })
        : await LevelStore.open(dataDir);
  } catch (e) {
    if (e instanceof DataDirError) throw new CliError(e.message, 1);
    if (e instanceof StoreLockedError)
      throw new CliError(
        process.env.LEDGER_DATABASE_URL
          ? `${e.message}\nAnother admin command that needs the database alone is running: wait for it to finish.`
          : `${e.message}\nThe service is probably running: stop it, or use --service <url> --token <admin token>.`,
        1,
      );
    if (e instanceof PostgresStoreError) throw new CliError(e.message, e.code === "DATABASE_UNREACHABLE" ? 2 : 1);
    throw e;
  }
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

async function api(t: Target, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${t.service}${route}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new CliError(`cannot reach ${t.service}: ${(e as Error).message}`, 2);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  if (!res.ok) {
    const p = json as { title?: string; detail?: string };
    throw new CliError(`${method} ${route}: ${res.status} ${p.title ?? ""}${p.detail ? `: ${p.detail}` : ""}`, 1);
  }
  return json;
}

function printTokens(tokens: readonly TokenInfo[]): void {
  if (tokens.length === 0) {
    process.stderr.write("no tokens\n");
    return;
  }
  for (const t of tokens)
    process.stdout.write(`${t.id}\t${t.role}\t${t.official}\t${t.agency}\t${t.createdAt}\t${t.revokedAt ? `revoked ${t.revokedAt}` : "active"}\n`);
}

export function buildCli(): Command {
  const program = new Command("admin")
    .description("subsidy-ledger administration")
    .option("--data-dir <dir>", "data directory (default LEDGER_DATA_DIR or ./data)")
    .option("--service <url>", "use a running service's admin API instead of the data directory")
    .option("--token <token>", "admin token for --service (default LEDGER_ADMIN_TOKEN)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const token = program.command("token").description("create, list and revoke API tokens").exitOverride();

  token
    .command("create")
    .description("create a token; prints it once on one line")
    .requiredOption("--official <id>", "the official's id (stored canonical: NFKC, case folded)")
    .option("--name <name>", "the official's display name, recorded beside the id")
    .requiredOption("--agency <code>", "the official's agency")
    .addOption(new Option("--role <role>", "what the token may record").choices(["clerk", "approver", "payer", "admin"]).makeOptionMandatory())
    .exitOverride()
    .action(async (o: { official: string; name?: string; agency: string; role: "clerk" | "approver" | "payer" | "admin" }, cmd: Command) => {
      const t = target(cmd);
      const request = { official: o.official, ...(o.name !== undefined ? { name: o.name } : {}), agency: o.agency, role: o.role };
      let created: { token: string; info: TokenInfo };
      if (t.service !== undefined) {
        const { token, ...info } = (await api(t, "POST", "/v1/admin/tokens", request)) as TokenInfo & { token: string };
        created = { token, info };
      } else
        created = await withStore(t.dataDir, async (store) => {
          const made = await createToken(store, systemClock, request);
          // An admin token now exists that its creator sees: the service stops saying the first one was never shown.
          if (o.role === "admin") await clearFirstAdminTokenPending(t.dataDir);
          return made;
        });
      process.stderr.write(`created ${created.info.id} (${o.role} for ${created.info.official}, ${o.agency}); it is shown only now:\n`);
      process.stdout.write(`${created.token}\n`);
    });

  token
    .command("list")
    .description("list tokens (never shows secrets)")
    .exitOverride()
    .action(async (_o: unknown, cmd: Command) => {
      const t = target(cmd);
      if (t.service !== undefined) printTokens(((await api(t, "GET", "/v1/admin/tokens")) as { tokens: TokenInfo[] }).tokens);
      else printTokens(await withStore(t.dataDir, (store) => listTokens(store)));
    });

  token
    .command("revoke")
    .description("revoke a token by its id")
    .argument("<id>", "token id, as shown by token list")
    .exitOverride()
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const t = target(cmd);
      if (t.service !== undefined) await api(t, "DELETE", `/v1/admin/tokens/${encodeURIComponent(id)}`);
      else await withStore(t.dataDir, (store) => revokeToken(store, systemClock, id));
      process.stderr.write(`revoked ${id}\n`);
    });

  program
    .command("erase")
    .description("erase an entry's private values and salts (its commitments stay) and log an erasure entry")
    .argument("<entryId>", "the entry whose private values are erased")
    .addOption(new Option("--reason <code>", "the legal ground").choices([...ERASURE_REASONS]).makeOptionMandatory())
    .option("--official <id>", "the official recording the erasure (offline only)")
    .option("--agency <code>", "the official's agency (offline only)")
    .exitOverride()
    .action(async (entryId: string, o: { reason: (typeof ERASURE_REASONS)[number]; official?: string; agency?: string }, cmd: Command) => {
      const t = target(cmd);
      const body = { reasonCode: o.reason };
      // A fresh key per run: a second run is a second request, refused as a repeated erasure (409).
      const key = `cli-erase-${randomBytes(12).toString("hex")}`;
      let erasureId: string;
      if (t.service !== undefined) {
        if (o.official !== undefined || o.agency !== undefined) throw new CliError("--official and --agency are taken from the token with --service", 2);
        erasureId = ((await api(t, "POST", erasurePathOf(encodeURIComponent(entryId)), body, { "idempotency-key": key })) as { id: string }).id;
      } else {
        if (o.official === undefined || o.agency === undefined) throw new CliError("erase on a data directory needs --official and --agency: the official the erasure entry names", 2);
        const official = PlainText(100).parse(o.official);
        const agency = PlainText(200).parse(o.agency);
        erasureId = await withStore(t.dataDir, async (store) => {
          const ledger = await Ledger.open({ store });
          try {
            const queries = new Queries({ store, size: () => ledger.size });
            const fields = await queries.committedFields(entryId);
            if (fields === undefined) throw new CliError(`no entry ${entryId}`, 1);
            const accepted = await ledger.submit({
              command: { kind: "erasure", body: { targetId: entryId, reasonCode: o.reason, fields } },
              actor: { official, agency, role: "admin" },
              idempotencyKey: scopedIdempotencyKey(`cli:${official}`, key),
              requestHash: requestHash("POST", erasurePathOf(entryId), body),
            });
            return accepted.body.id;
          } catch (e) {
            if (e instanceof RuleViolation || e instanceof IdempotencyConflict) throw new CliError(`${e.message}; nothing was recorded`, 1);
            throw e;
          } finally {
            await ledger.close();
          }
        });
      }
      process.stderr.write(`erased the private values of ${entryId} (${o.reason}); erasure entry:\n`);
      process.stdout.write(`${erasureId}\n`);
    });

  program
    .command("rebuild-from-mirror")
    .description("append to the data directory's store the public entries a mirror's copy holds beyond it (see service/mirror/rebuild.ts)")
    .requiredOption("--from <dir>", "the mirror's directory (as `npm run mirror` keeps it)")
    .requiredOption("--log-key <vkey|file>", "the log's verifier key, or a file holding it: the copy's checkpoint must verify under it")
    .exitOverride()
    .action(async (o: { from: string; logKey: string }, cmd: Command) => {
      const t = target(cmd);
      if (t.service !== undefined) throw new CliError("rebuild-from-mirror works on a stopped service's data directory, not through --service", 2);
      let verifier;
      try {
        verifier = readVerifierKeyArg(o.logKey, (f) => readFileSync(f, "utf8"));
      } catch (e) {
        throw e instanceof KeyArgumentError ? new CliError(`--log-key: ${e.message}`, 2) : e;
      }
      const copy = dirLogReader(path.resolve(o.from), (p) => readFile(p));
      const r = await withStore(t.dataDir, async (store) => {
        try {
          return await rebuildFromCopy(store, copy, { verifier });
        } catch (e) {
          if (e instanceof RebuildError) throw new CliError(`${e.code}: ${e.message}`, 1);
          throw e;
        }
        // A restore, not a recording: on PostgreSQL it takes the database alone, as on a stopped service's directory.
      }, "alone");
      process.stderr.write(
        `rebuilt the log to ${r.size} entries (the store held ${r.previousSize}), root ${r.rootHex}\n` +
          (r.size > r.previousSize ? `the ${r.size - r.previousSize} entries imported have no private openings and no derived state: restore those from the agency's backup before recording\n` : ""),
      );
    });

  program
    .command("migrate")
    .description("copy a stopped LevelDB ledger (entries, tree, state, openings, idempotency records, tokens, access-code generations) into an empty PostgreSQL database")
    .requiredOption("--from <dir>", "the ledger's data directory (LEDGER_DATA_DIR); the service must be stopped")
    .requiredOption("--to <url>", "the empty target database: postgres://user:password@host:port/database")
    .exitOverride()
    .action(async (o: { from: string; to: string }) => {
      const from = path.resolve(o.from);
      if (!isPostgresUrl(o.to)) throw new CliError("--to must be a postgres:// or postgresql:// URL with a host: postgres://USER:PASSWORD@HOST:5432/DATABASE, or over a Unix socket postgres://USER@localhost:PORT/DATABASE?host=/run/postgresql (its value is not repeated: it may hold a password)", 2);
      if (!existsSync(path.join(from, "CURRENT")))
        throw new CliError(`--from ${from} is not a ledger data directory: it holds no LevelDB (no CURRENT file)`, 2);
      const where = describeDatabaseUrl(o.to);
      let source: LevelStore;
      try {
        source = await LevelStore.open(from);
      } catch (e) {
        if (e instanceof StoreLockedError) throw new CliError(`${e.message}\nStop the service before migrating: a running service would record entries the copy misses.`, 1);
        throw e;
      }
      // The anchoring state moves too: on PostgreSQL the leader keeps it in the database (service/chain/postgres-state.ts).
      let anchorState: { contract: string; state: AnchorState } | undefined;
      try {
        const state = await new FileAnchorStateStore(path.join(chainFiles(from).dir, "anchor-state.json")).load();
        if (state !== undefined) anchorState = { contract: contractKey(state.contract), state };
      } catch (e) {
        await source.close();
        throw new CliError(`${(e as Error).message}\nThe anchoring state cannot be read, so it is not copied; nothing was written.`, 1);
      }
      const progress = migrationProgress();
      let result;
      try {
        process.stderr.write(`copying ${from} into the ${where} ...\n`);
        result = await migrateToPostgres(source, o.to, { onProgress: progress.update, ...(anchorState !== undefined ? { anchorState } : {}) });
      } catch (e) {
        if (e instanceof TargetNotEmptyError) throw new CliError(e.message, 1);
        if (e instanceof StoreLockedError) throw new CliError(e.message, 1);
        if (e instanceof MigrationError) throw new CliError(`${e.code}: ${e.message}`, 1);
        if (e instanceof PostgresStoreError) throw new CliError(e.message, e.code === "DATABASE_UNREACHABLE" ? 2 : 1);
        throw e;
      } finally {
        progress.stop();
        await source.close();
      }
      const r = result.rows;
      process.stderr.write(
        [
          `migrated ${result.size} entries into the ${result.where}: root ${result.root}, equal in source and target (${r.nodes} tree nodes, ${r.entry_index} index rows, ${r.state_docs} state docs,`,
          `  ${r.openings} openings, ${r.idempotency} idempotency records, ${r.tokens} tokens, ${r.access_code_generations} access-code generations` +
            `${anchorState !== undefined ? ", and the anchoring state" : ""})`,
          `next:`,
          `  1. start the service with LEDGER_DATABASE_URL set to this database and LEDGER_DATA_DIR=${from} unchanged:`,
          `     the log signing key, the access-code key and the recorder key stay in that directory.`,
          `  2. check that GET /v1/log/checkpoint shows size ${result.size} and root ${result.root} (base64 there).`,
          `  3. never start the service on this data directory without LEDGER_DATABASE_URL again: the LevelDB copy is now stale,`,
          `     and recording into it would fork the log. Move its LevelDB files aside once the service runs on PostgreSQL.`,
        ].join("\n") + "\n",
      );
      process.stdout.write(`${result.root}\n`);
    });

  const accessCode = program.command("access-code").description("show or revoke an application's access code").exitOverride();

  accessCode
    .command("revoke")
    .description("revoke an application's access code and print the new one on one line; the old code is refused from then on")
    .argument("<applicationId>", "the application's entry id")
    .exitOverride()
    .action(async (applicationId: string, _o: unknown, cmd: Command) => {
      const t = target(cmd);
      if (!entryIdPattern("application").test(applicationId)) throw new CliError(`${applicationId} is not an application id`, 2);
      let code: string;
      if (t.service !== undefined)
        code = ((await api(t, "POST", `/v1/applications/${applicationId}/access-code/revocation`)) as { accessCode: string }).accessCode;
      else
        code = await withStore(t.dataDir, async (store) => {
          if ((await store.state(`e:${applicationId}`))?.kind !== "application") throw new CliError(`no application ${applicationId}`, 1);
          const keyFile = path.resolve(process.env.LEDGER_ACCESS_CODE_KEY_FILE ?? path.join(t.dataDir, "keys", "access-code.key"));
          const { codes } = await loadOrCreateAccessCodes(keyFile, { generations: store });
          return (await codes.revoke(applicationId)).accessCode;
        });
      process.stderr.write(`revoked the access code of ${applicationId}; its new code:\n`);
      process.stdout.write(`${code}\n`);
    });

  return program;
}

/** Whether `v` is a URL node-postgres can connect with: scheme postgres or postgresql, and a host or a socket directory (as LEDGER_DATABASE_URL is checked). */
function isPostgresUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === "postgres:" || u.protocol === "postgresql:") && (u.hostname !== "" || u.searchParams.has("host"));
  } catch {
    return false;
  }
}

/** Ledgers smaller than this copy in seconds: no progress is shown for them. */
const PROGRESS_FROM_LEAVES = 10_000;

/** A progress bar on a terminal; on anything else a line at each tenth, so a log shows the migration moving. */
function migrationProgress(): { update: (p: MigrationProgress) => void; stop: () => void } {
  let bar: import("./lib/progress-bar").EntriesBar | undefined;
  let lastTenth = 0;
  return {
    update: ({ leavesCopied, leavesTotal }) => {
      if (leavesTotal < PROGRESS_FROM_LEAVES) return;
      if (process.stderr.isTTY) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        bar ??= (require("./lib/progress-bar") as typeof import("./lib/progress-bar")).entriesBar("copying");
        bar.update(leavesCopied, leavesTotal);
        return;
      }
      const tenth = Math.floor((10 * leavesCopied) / leavesTotal);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`copied ${leavesCopied} of ${leavesTotal} entries\n`);
      }
    },
    stop: () => bar?.stop(),
  };
}

/** Runs the CLI and returns its exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildCli().parseAsync([...argv], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
    if (e instanceof CliError) {
      process.stderr.write(`admin: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof ZodError) {
      process.stderr.write(`admin: ${e.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}\n`);
      return 2;
    }
    if (e instanceof TokenNotFoundError || e instanceof LastAdminTokenError) {
      process.stderr.write(`admin: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`admin: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  // What the CLI creates in a data directory (LevelDB files) is private to its user, as the service's is.
  makeCreatedFilesPrivate();
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
