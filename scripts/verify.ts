/**
 * The auditor's command line: `npm run verify -- --help`.
 *
 * The default path reads top to bottom: an export file (`--export`) is
 * replayed against LedgerAnchor's checkpoints (`--rpc`, `--contract`) with a
 * log key the auditor trusts (`--log-key`) by runAudit
 * (./lib/audit/audit.ts), and the report is printed. Every other mode is a
 * module of its own, loaded only when asked for: `--tlog` (tlog.ts),
 * `--service` (service-mode.ts), `--save-export` (export-writer.ts),
 * `--witness-policy` (witnesses.ts) and `--receipt` (receipt-mode.ts), all
 * in ./lib/audit.
 *
 * Exit codes: 0 clean (a receipt: verified), 1 any discrepancy (a receipt:
 * invalid), 2 usage error or incomplete (a source or the chain could not be
 * read, even after retrying: no verdict), 3 a receipt checked against
 * nothing trusted, 4 a receipt checked against one trust anchor of two.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Command, CommanderError, InvalidArgumentError } from "@commander-js/extra-typings";
import { KeyArgumentError, parseVerifierKey, readVerifierKeyArg, type NoteVerifier } from "../service/log";
import { DEFAULT_LOCATE_LIMIT, DEFAULT_MAX_DELAY_MS, runAudit } from "./lib/audit/audit";
import type { ChainReader } from "./lib/audit/chain";
import { connectChain } from "./lib/audit/chain-rpc";
import { AuditError, messageOf } from "./lib/audit/errors";
import { DEFAULT_MAX_LISTED } from "./lib/audit/findings";
import { formatAuditReport } from "./lib/audit/format";
import { ExportSource, type EntrySource, type ProofOracle, type PublishedCheckpoint } from "./lib/audit/sources";

export interface VerifyIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress is shown only then). */
  readonly stderrIsTty: boolean;
  /** How to reach the chain; tests pass Hardhat's in-process network. */
  readonly connectChain: (rpcUrl: string, contract: string, expectChainId?: number) => Promise<ChainReader>;
  readonly now?: () => number;
}

const defaultIo: VerifyIo = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  stderrIsTty: process.stderr.isTTY === true,
  connectChain: (rpc, contract, expectChainId) => connectChain(rpc, contract, { expectChainId }),
};

/** What the command line hands runAudit; the optional modes add to it. */
export interface AuditSetup {
  source?: EntrySource;
  verifiers: NoteVerifier[];
  /** Where the verifier key came from, for the report. */
  keySource: string;
  contract?: string;
  published: PublishedCheckpoint[];
  /** Printed before the audit's own notes. */
  notes: string[];
  /** With --service: its base URL and the log key it publishes. */
  service?: { readonly base: string; readonly key: string | null };
  oracle?: ProofOracle;
  until?: number;
}

/** An option's value as a whole number up to `max` (commander names the option in its error). */
const whole =
  (max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    if (!/^[0-9]+$/.test(v) || !(Number(v) <= max)) throw new InvalidArgumentError(`not a whole number from 0 to ${max}`);
    return Number(v);
  };

const HELP = `
Full audit (one entry source; only the chain, and a log key you got elsewhere, are trusted):
  npm run verify -- --export entries.jsonl --rpc <node url> --contract 0x… --log-key <key or file>
  npm run verify -- --tlog <url or dir> --rpc … --contract 0x… --log-key … [--witness-policy <file>]
  npm run verify -- --service <url> --rpc … --contract 0x… --log-key … [--save-export <file>]
Every entry is proved canonical, hashed into the tree and replayed against the business
rules; the tree is compared with every anchored checkpoint, and each published checkpoint
is checked for its signature and a split view. Damage is located with proofs (the
service's, the tiles'), or from an export alone to an interval. A data directory is
audited through a service started on a copy of it, or its export, never read directly.

Receipts: npm run verify -- --receipt receipt.json --log-key <key or file> --rpc <url> --contract 0x…
  RECEIPT VERIFIED                 signed with --log-key, anchored on --contract (exit 0)
  RECEIPT VERIFIED BY LOG KEY AND WITNESS QUORUM   and cosigned by --witness-policy's quorum, offline (exit 0)
  RECEIPT INVALID                  a check failed (exit 1)
  RECEIPT CONSISTENT, NOT VERIFIED AGAINST ANY TRUSTED KEY OR CHAIN   no --log-key, no --rpc (exit 3)
  RECEIPT SIGNED WITH THE TRUSTED LOG KEY, NOT VERIFIED ON THE CHAIN, or
  RECEIPT ANCHORED ON THE CONTRACT GIVEN, SIGNATURE NOT CHECKED WITH A TRUSTED KEY   one of the two (exit 4)

Exit codes: 0 clean (a receipt: verified), 1 at least one discrepancy (a receipt: invalid),
2 usage error, or the audit is incomplete (a source or the chain could not be read, even
after retrying: no verdict), 3 a receipt checked against nothing trusted, 4 a receipt
checked against one trust anchor only.
`;

/** The command line, as commander parses it (the types inferred from the options below). */
export type VerifyOptions = ReturnType<ReturnType<typeof program>["opts"]>;

function program(io: VerifyIo) {
  return new Command("verify")
    .description("Audit the subsidy ledger against the chain, or check one receipt.")
    .option("--export <file>", "read the entries from an export file (JSON Lines)")
    .option("--tlog <url|dir>", "read the published log (C2SP tlog-tiles: a service's /tlog/, a mirror, or a directory)")
    .option("--service <url>", "the service's base URL: the source, or beside --export/--tlog its checkpoint and proofs")
    .option("--rpc <url>", "JSON-RPC URL of a chain node you trust")
    .option("--contract <address>", "the LedgerAnchor contract (default: from --service's /v1/chain, with a warning)")
    .option("--chain-id <n>", "require this chain id", whole())
    .option("--log-key <key|file>", "the log's C2SP verifier key, or a file holding it")
    .option("--origin <origin>", "require this checkpoint origin")
    .option("--checkpoint <file...>", "also check these signed checkpoints (C2SP notes) against the chain")
    .option("--max-delay <seconds>", "maximum anchoring delay", whole(), DEFAULT_MAX_DELAY_MS / 1000)
    .option("--max-listed <n>", "list at most n discrepancies of each kind (all are counted)", whole(), DEFAULT_MAX_LISTED)
    .option("--locate-limit <n>", "keep at most n leaves past the last matching checkpoint to locate damage with", whole(), DEFAULT_LOCATE_LIMIT)
    .option("--workers <n>", "worker threads that hash and check the leaves; 0: all in one thread", whole(8), availableParallelism() > 1 ? 2 : 0)
    .option("--retry-for <seconds>", "keep retrying a failing request to the service this long before stopping as incomplete", whole(), 300) // service.ts DEFAULT_RETRY_FOR_MS
    .option("--save-export <file>", "write the entries read to a new export file")
    .option("--receipt <file>", "check one receipt instead of auditing the log")
    .option("--witness-policy <file>", "with --receipt or --tlog: the witnesses you trust and their quorum (tlog-policy text)")
    .option("--json", "print the report as JSON on stdout")
    .option("--no-progress", "never show progress (it is shown only when stderr is a terminal)")
    .addHelpText("after", HELP)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run with --help for usage)");
}

const usage = (message: string) => new AuditError("USAGE", message);

/** A verifier key given as a string, or a file holding one (service/log/key-arg.ts). */
function readKey(arg: string): NoteVerifier {
  try {
    return readVerifierKeyArg(arg, (f) => readFileSync(f, "utf8"));
  } catch (e) {
    throw e instanceof KeyArgumentError ? usage(`--log-key: ${e.message}`) : e;
  }
}

async function auditMode(o: VerifyOptions, io: VerifyIo): Promise<number> {
  if (o.service === undefined && o.export === undefined && o.tlog === undefined) throw usage("give an entry source (--tlog, --service or --export), or --receipt");
  if (o.tlog !== undefined && o.export !== undefined) throw usage("give one entry source: --tlog or --export");
  if (o.rpc === undefined && o.saveExport === undefined) throw usage("a full audit needs the chain: give --rpc (and --contract)");
  if (o.saveExport !== undefined && o.export !== undefined) throw usage("--save-export writes a new export; it cannot read from one");
  const setup: AuditSetup = { verifiers: o.logKey !== undefined ? [readKey(o.logKey)] : [], keySource: "given", contract: o.contract, published: [], notes: [] };
  if (o.export !== undefined) setup.source = await ExportSource.open(o.export);
  else if (o.tlog !== undefined) setup.source = await (await import("./lib/audit/tlog")).TlogSource.open(o.tlog);
  try {
    // The service: the source when there is no other, else a checkpoint and proofs beside it (./lib/audit/service-mode.ts).
    if (o.service !== undefined) await (await import("./lib/audit/service-mode")).addService(o, io, setup);
    const source = setup.source!;
    if (setup.verifiers.length === 0 && source instanceof ExportSource && source.header.logKey !== null) {
      setup.verifiers = [parseVerifierKey(source.header.logKey)];
      setup.keySource = "from the export header: NOT independently trusted, give --log-key";
    }
    if (o.rpc !== undefined && setup.contract === undefined) throw usage("give --contract (the LedgerAnchor address)");
    const chain = o.rpc === undefined ? null : await io.connectChain(o.rpc, setup.contract!, o.chainId);
    for (const f of o.checkpoint ?? []) {
      const note = await readFile(f, "utf8").catch((e: unknown) => Promise.reject(new AuditError("UNREACHABLE", `cannot read the checkpoint file ${f}: ${messageOf(e)}`)));
      setup.published.push({ label: f, note });
    }
    const writer = o.saveExport === undefined ? undefined : await (await import("./lib/audit/export-writer")).saveExport(o.saveExport, setup, io.now ?? Date.now);
    const witnessPolicy = o.witnessPolicy === undefined ? undefined : await (await import("./lib/audit/witnesses")).readPolicy(o.witnessPolicy);
    const bar = o.progress && !o.json && io.stderrIsTty ? (await import("./lib/progress-bar")).entriesBar("replaying") : undefined;
    let report;
    try {
      const { origin, maxListed, locateLimit, workers } = o;
      const limits = { origin, maxListed, locateLimit, workers, maxDelayMs: o.maxDelay * 1000 };
      report = await runAudit({ ...setup, ...limits, source, chain, witnessPolicy, now: io.now, onBatch: writer && ((b) => writer.write(b)), onProgress: bar && ((done, total) => bar.update(done, total)) });
    } finally {
      bar?.stop();
      await writer?.close();
    }
    const notices = [...setup.notes, ...report.notices, ...(writer ? [`wrote ${report.entries.count} entries to ${writer.file}`] : [])];
    io.stdout(o.json ? `${JSON.stringify({ ...report, notices }, null, 2)}\n` : formatAuditReport({ ...report, notices }));
    return report.ok ? 0 : 1;
  } finally {
    await setup.source?.close();
  }
}

/** Runs the CLI; resolves to the exit code. Never calls process.exit. */
export async function runVerify(argv: readonly string[], io: VerifyIo = defaultIo): Promise<number> {
  const cmd = program(io);
  try {
    cmd.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = cmd.opts();
  try {
    if (o.receipt !== undefined) {
      if (o.service !== undefined || o.export !== undefined || o.saveExport !== undefined) throw usage("--receipt checks one receipt: it takes no --service, --export or --save-export");
      return await (await import("./lib/audit/receipt-mode")).receiptMode(o, io, readKey);
    }
    if (o.witnessPolicy !== undefined && o.tlog === undefined) throw usage("--witness-policy is read with --receipt or --tlog only");
    return await auditMode(o, io);
  } catch (e) {
    if (!(e instanceof AuditError)) throw e;
    io.stderr(`verify: ${e.message}\n`);
    if (e.code !== "USAGE") {
      // Nothing was concluded: say so, so that a failure to read is never taken for a clean or a failed audit.
      io.stderr(`verify: INCOMPLETE: ${o.receipt !== undefined ? "the receipt check" : "the audit"} stopped before a verdict; nothing above is a finding (exit 2)\n`);
      if (o.json) io.stdout(`${JSON.stringify({ verdict: "incomplete", error: e.code, message: e.message }, null, 2)}\n`);
    }
    return 2;
  }
}

if (require.main === module) {
  runVerify(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`verify: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(2);
    },
  );
}
