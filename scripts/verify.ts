/**
 * The auditor's verify script: `npm run verify -- --help`.
 *
 * Full audit: every public entry replayed against the checkpoints anchored
 * on the chain, the service's signed checkpoint checked for a split view,
 * the business invariants recomputed, anchoring delays reported. Receipt
 * mode: one receipt checked offline, and on the chain with --rpc.
 *
 * The logic is in scripts/lib/audit (which imports the pure log core only);
 * this file reads the command line, connects, and prints.
 * Exit codes: 0 clean (a receipt: verified), 1 any discrepancy (a receipt:
 * invalid), 2 usage error or incomplete (a source or the chain could not be
 * read, even after retrying: no verdict), 3 a receipt checked against
 * nothing trusted, 4 a receipt checked against one trust anchor of two.
 * A receipt signed with the trusted key and cosigned by a quorum of the
 * --witness-policy's witnesses is verified (exit 0) with no chain read.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { CheckpointError, parseVerifierKey, type NoteVerifier } from "../service/log";
import { parseWitnessPolicy, WitnessPolicyError, type WitnessPolicy } from "../service/format/witness-policy";
import {
  AuditError,
  checkReceipt,
  DEFAULT_LOCATE_LIMIT,
  DEFAULT_MAX_DELAY_MS,
  DEFAULT_MAX_LISTED,
  DEFAULT_RETRY_FOR_MS,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  ExportSource,
  ExportWriter,
  formatAuditReport,
  formatReceiptReport,
  messageOf,
  RECEIPT_EXIT_CODES,
  runAudit,
  ServiceClient,
  ServiceSource,
  type ChainReader,
  type EntrySource,
  type PublishedCheckpoint,
} from "./lib/audit";
import { connectChain } from "./lib/audit/chain-rpc";
import { TlogSource } from "./lib/audit/tlog";

export interface VerifyIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** Whether stderr is a terminal (the progress bar is drawn only then). */
  readonly stderrIsTty: boolean;
  /** How to reach the chain; tests pass Hardhat's in-process network. */
  readonly connectChain: (rpcUrl: string, contract: string, expectChainId?: number) => Promise<ChainReader>;
  readonly now?: () => number;
}

const defaultIo: VerifyIo = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  stderrIsTty: process.stderr.isTTY === true,
  connectChain: (rpc, contract, expectChainId) => connectChain(rpc, contract, expectChainId === undefined ? {} : { expectChainId }),
};

interface Opts {
  service?: string;
  export?: string;
  tlog?: string;
  rpc?: string;
  contract?: string;
  chainId?: number;
  logKey?: string;
  origin?: string;
  checkpoint?: string[];
  maxDelay: number;
  maxListed: number;
  locateLimit: number;
  workers: number;
  retryFor: number;
  saveExport?: string;
  receipt?: string;
  witnessPolicy?: string;
  json?: boolean;
  progress: boolean;
}

function positiveInt(what: string) {
  return (v: string): number => {
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`${what} must be a whole number`);
    return Number(v);
  };
}

function workerCount(v: string): number {
  if (!/^[0-8]$/.test(v)) throw new InvalidArgumentError("--workers is 0 to 8");
  return Number(v);
}

const HELP = `
Full audit (one entry source; the chain is the only thing trusted):
  npm run verify -- --tlog http://127.0.0.1:8080/tlog --rpc <node url> --contract 0x… --log-key <key or file>
  npm run verify -- --service http://127.0.0.1:8080 --rpc <node url> --contract 0x… --log-key <key or file>
  npm run verify -- --export entries.jsonl --rpc <url> --contract 0x… --log-key <key or file> [--service <url>]

  It fetches every public entry in log order (streamed), recomputes each leaf
  hash from the canonical entry and rebuilds the tree, compares its root with
  EVERY checkpoint anchored on the chain, checks consecutive checkpoints are
  consistent, checks the service's signed checkpoint (signature, and that it
  is consistent with the chain: no split view), recomputes the invariants
  (approved <= budget per programme, paid <= approved per decision, four eyes
  on large payouts, decider != recorder, corrections reference existing
  entries, and the other business rules), and reports entries older than the
  maximum anchoring delay that are still unanchored. It never stops at the
  first problem. Damage (a changed, deleted, inserted or moved leaf) is
  located to the first bad leaf when proofs are at hand (the service's);
  otherwise to the interval from the last
  matching checkpoint. A checkpoint given with --checkpoint and signed with
  the trusted key that covers more entries than the source holds is a
  discrepancy: entries were lost.

  --tlog reads the published log (C2SP tlog-tiles) from a URL or a
  directory: every entry bundle is replayed as above, every published hash
  tile is compared with the hashes the entries give, and damage is located
  with proofs built from the tiles. It makes no per-entry API call. With
  --witness-policy <file> the published checkpoint must carry a quorum of
  valid cosignatures from the policy's witnesses (else a finding); without
  one, the cosignatures it carries are listed, unverified.

  A data directory is audited through the service: start one on a copy of
  it (cp -a data /tmp/data-copy; LEDGER_DATA_DIR=/tmp/data-copy npm start)
  and give --service, or audit an export the service wrote. The auditor
  reads published formats (the API, exports), never the database itself.

Exports:
  npm run verify -- --service <url> --rpc <url> --contract 0x… --save-export entries.jsonl
  writes the entries read (JSON Lines: a header line, then [leafIndex,<leaf>]
  per entry) with the service's signed checkpoint, while auditing. Without
  --rpc it only exports (and says nothing was checked against the chain).

  A service is read in pages of up to 1,000 entries. A request answered
  429 (rate limited) is retried after its Retry-After, and a dropped
  connection, a timeout, a 5xx or a body cut short after a backoff, each
  wait told on stderr; a request still failing after --retry-for seconds
  stops the audit as INCOMPLETE (exit 2): a failure to read is never
  reported as a discrepancy.

Receipts:
  npm run verify -- --receipt receipt.json --log-key <key or file> --rpc <url> --contract 0x…
  checks the leaf hash, the whole inclusion proof, the checkpoint signature
  and any private values against their commitments; with --rpc, that the
  contract holds the checkpoint. The verdict says what the checks stood on:
    RECEIPT VERIFIED            signed with --log-key and anchored on --contract (exit 0)
    RECEIPT INVALID             a check failed (exit 1)
    RECEIPT CONSISTENT, NOT VERIFIED AGAINST ANY TRUSTED KEY OR CHAIN
                                no --log-key and no --rpc with --contract: the
                                receipt agrees with itself only (exit 3)
    RECEIPT SIGNED WITH THE TRUSTED LOG KEY, NOT VERIFIED ON THE CHAIN
    RECEIPT ANCHORED ON THE CONTRACT GIVEN, SIGNATURE NOT CHECKED WITH A TRUSTED KEY
                                one trust anchor of the two (exit 4)
    RECEIPT VERIFIED BY LOG KEY AND WITNESS QUORUM
                                signed with --log-key and cosigned by a quorum of
                                the witnesses in --witness-policy: no chain
                                needed, fully offline (exit 0)
  --witness-policy <file> (witness NAME VKEY [URL] / group NAME all|any|N ... /
  quorum NAME, the tlog-policy text format) checks the witness cosignatures the
  receipt's checkpoint carries and says which witnesses vouched; cosignatures
  from keys outside the policy count for nothing.
  --json prints the same as a "verdict" field: verified, verified-by-witnesses,
  invalid, unverified, trusted-key-only, trusted-chain-only.

Trust: give --log-key from a copy you trust (the agency's publication). Without
it, the key the service (or the export, or the receipt) carries is used, and
the report says so. Likewise --contract: without it, the address is taken
from the service's GET /v1/chain (or the receipt), with a warning.

Exit codes: 0 clean (a receipt: verified, by the chain or a witness quorum),
1 at least one discrepancy (a receipt: invalid), 2 usage error, or the audit is
incomplete (a source or the chain could not be read, even after retrying: no
verdict), 3 a receipt checked against nothing trusted, 4 a receipt checked
against one trust anchor only.
`;

function program(io: VerifyIo): Command {
  return new Command("verify")
    .description("Audit the subsidy ledger against the chain, or check one receipt.")
    .option("--service <url>", "the service's base URL (public API)")
    .option("--export <file>", "read entries from an export file (JSON Lines) instead of the service")
    .option("--tlog <url|dir>", "read the published log (C2SP tlog-tiles: a service's /tlog/, a mirror, or a directory of its files) instead of the service's API")
    .option("--rpc <url>", "JSON-RPC URL of a chain node you trust")
    .option("--contract <address>", "the LedgerAnchor contract (default: from --service's /v1/chain, with a warning)")
    .option("--chain-id <n>", "require this chain id", positiveInt("--chain-id"))
    .option("--log-key <key|file>", "the log's C2SP verifier key, or a file holding it")
    .option("--origin <origin>", "require this checkpoint origin")
    .option("--checkpoint <file...>", "also check these signed checkpoints (C2SP notes) against the chain")
    .option("--max-delay <seconds>", "maximum anchoring delay", positiveInt("--max-delay"), DEFAULT_MAX_DELAY_MS / 1000)
    .option("--max-listed <n>", "list at most n discrepancies of each kind (all are counted)", positiveInt("--max-listed"), DEFAULT_MAX_LISTED)
    .option("--locate-limit <n>", "keep at most n leaves past the last matching checkpoint to locate damage with", positiveInt("--locate-limit"), DEFAULT_LOCATE_LIMIT)
    .option(
      "--workers <n>",
      "worker threads that hash, parse and check the leaves while the main thread builds the tree and replays the rules; 0: all in one thread (default: 2 on a machine with two cores or more)",
      workerCount,
      availableParallelism() > 1 ? 2 : 0,
    )
    .option(
      "--retry-for <seconds>",
      "keep retrying a failing request to the service (429, 5xx, dropped connection) this long before stopping as incomplete",
      positiveInt("--retry-for"),
      DEFAULT_RETRY_FOR_MS / 1000,
    )
    .option("--save-export <file>", "write the entries read to a new export file")
    .option("--receipt <file>", "check one receipt instead of auditing the log")
    .option("--witness-policy <file>", "with --receipt or --tlog: the witnesses you trust and their quorum; the receipt's (the published) checkpoint must carry a quorum of their cosignatures")
    .option("--json", "print the report as JSON on stdout")
    .option("--no-progress", "never draw a progress bar (it is drawn only when stderr is a terminal)")
    .addHelpText("after", HELP)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError("(run with --help for usage)");
}

/** A key string, or a file holding one. */
function readKey(arg: string): NoteVerifier {
  let text = arg.trim();
  if (!/^[^\s+]+\+[0-9a-fA-F]{8}\+/.test(text)) {
    if (!existsSync(arg)) throw new AuditError("USAGE", `--log-key is neither a verifier key (<name>+<key id>+<base64>) nor a file: ${arg}`);
    try {
      text = readFileSync(arg, "utf8").trim();
    } catch (e) {
      throw new AuditError("USAGE", `cannot read --log-key file ${arg}: ${messageOf(e)}`);
    }
    if (text.startsWith("PRIVATE+KEY+")) throw new AuditError("USAGE", `${arg} holds a signer (private) key; give the verifier key`);
  }
  try {
    return parseVerifierKey(text);
  } catch (e) {
    if (e instanceof CheckpointError) throw new AuditError("USAGE", `--log-key: ${e.message}`);
    throw e;
  }
}

function progressBar(io: VerifyIo, enabled: boolean): { update: (done: number, total: number | undefined) => void; stop: () => void } {
  if (!enabled || !io.stderrIsTty) return { update: () => {}, stop: () => {} };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SingleBar, Presets } = require("cli-progress") as typeof import("cli-progress");
  const bar = new SingleBar(
    { format: "replaying {bar} {value}/{total} entries | {eta_formatted} left", hideCursor: true, clearOnComplete: true, stream: process.stderr, etaBuffer: 50 },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total) => {
      const t = Math.max(total ?? done, done);
      if (!started) {
        bar.start(t, done);
        started = true;
      } else {
        bar.setTotal(t);
        bar.update(done);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** Reads --witness-policy; a missing or malformed file is a usage error. */
async function readPolicy(file: string): Promise<WitnessPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new AuditError("USAGE", `--witness-policy ${file}: cannot read it (${messageOf(e)})`);
  }
  try {
    return parseWitnessPolicy(bytes);
  } catch (e) {
    if (e instanceof WitnessPolicyError) throw new AuditError("USAGE", `--witness-policy ${file}: ${e.message}`);
    throw e;
  }
}

async function receiptMode(o: Opts, io: VerifyIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(o.receipt!, "utf8");
  } catch (e) {
    throw new AuditError("UNREACHABLE", `cannot read the receipt ${o.receipt}: ${messageOf(e)}`);
  }
  const verifiers = o.logKey !== undefined ? [readKey(o.logKey)] : [];
  const policy = o.witnessPolicy !== undefined ? await readPolicy(o.witnessPolicy) : undefined;
  let chain: ChainReader | null = null;
  let contract = o.contract;
  if (o.rpc !== undefined) {
    if (contract === undefined) {
      try {
        const a = (JSON.parse(text) as { anchor?: { contract?: unknown } }).anchor?.contract;
        if (typeof a === "string") contract = a;
      } catch {
        // checkReceipt reports the malformed receipt
      }
      if (contract !== undefined) io.stderr(`note: no --contract given; checking the contract the receipt names, ${contract}: make sure it is the agency's published one\n`);
    }
    if (contract !== undefined) chain = await io.connectChain(o.rpc, contract, o.chainId);
  }
  const report = await checkReceipt(text, { verifiers, chain, ...(o.contract !== undefined ? { contract: o.contract } : {}), ...(policy !== undefined ? { policy } : {}) });
  io.stdout(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReceiptReport(report));
  return RECEIPT_EXIT_CODES[report.verdict];
}

async function auditMode(o: Opts, io: VerifyIo): Promise<number> {
  if (o.service === undefined && o.export === undefined && o.tlog === undefined)
    throw new AuditError("USAGE", "give an entry source (--tlog, --service or --export), or --receipt");
  if (o.tlog !== undefined && o.export !== undefined) throw new AuditError("USAGE", "give one entry source: --tlog or --export");
  if (o.rpc === undefined && o.saveExport === undefined) throw new AuditError("USAGE", "a full audit needs the chain: give --rpc (and --contract)");
  if (o.saveExport !== undefined && o.export !== undefined) throw new AuditError("USAGE", "--save-export writes a new export; it cannot read from one");

  const client =
    o.service !== undefined ? new ServiceClient(o.service, { retryForMs: o.retryFor * 1000, onWait: (m) => io.stderr(`verify: the service: ${m}\n`) }) : undefined;
  const notes: string[] = [];

  // The log key.
  let verifiers: NoteVerifier[] = [];
  let keySource = "given";
  let serviceKey: string | null = null;
  if (o.logKey !== undefined) verifiers = [readKey(o.logKey)];

  // The entry source.
  let source: EntrySource;
  if (o.export !== undefined) source = await ExportSource.open(o.export);
  else if (o.tlog !== undefined) source = await TlogSource.open(o.tlog);
  else source = await ServiceSource.open(client!);

  try {
    if (client !== undefined) {
      // A service that publishes no key (4xx) is audited without it; one that cannot be read stops the audit.
      serviceKey = await client.logKey().catch((e: unknown) => {
        if (e instanceof AuditError && e.code === "REFUSED") return null;
        throw e;
      });
      if (verifiers.length === 0 && serviceKey !== null) {
        verifiers = [parseVerifierKey(serviceKey)];
        keySource = "from the service's /v1/log/key: NOT independently trusted, give --log-key";
      }
    }
    if (verifiers.length === 0 && source instanceof ExportSource && source.header.logKey !== null) {
      verifiers = [parseVerifierKey(source.header.logKey)];
      keySource = "from the export header: NOT independently trusted, give --log-key";
    }

    // The chain.
    let chain: ChainReader | null = null;
    if (o.rpc !== undefined) {
      let contract = o.contract;
      if (contract === undefined) {
        const info = client !== undefined ? await client.chainInfo() : null;
        if (info === null) throw new AuditError("USAGE", "give --contract (the LedgerAnchor address)");
        contract = info.contract;
        notes.push(`no --contract given: using ${contract}, as the service's /v1/chain says; check it against the agency's publication`);
      }
      chain = await io.connectChain(o.rpc, contract, o.chainId);
    }

    // Published checkpoints: the service's (when it is not the source), and files.
    const published: PublishedCheckpoint[] = [];
    if (client !== undefined && !(source instanceof ServiceSource)) published.push({ label: "the service", note: await client.checkpoint() });
    for (const f of o.checkpoint ?? []) {
      try {
        published.push({ label: f, note: await readFile(f, "utf8") });
      } catch (e) {
        throw new AuditError("UNREACHABLE", `cannot read the checkpoint file ${f}: ${messageOf(e)}`);
      }
    }

    // An export written while auditing.
    let writer: ExportWriter | undefined;
    if (o.saveExport !== undefined) {
      const note = source instanceof ServiceSource ? source.checkpointNote : null;
      const size = source instanceof ServiceSource ? (checkpointSize(source.checkpointNote) ?? 0) : (source.declaredSize ?? 0);
      writer = await ExportWriter.create(o.saveExport, {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        exportedAt: new Date((io.now ?? Date.now)()).toISOString(),
        service: client?.base ?? null,
        treeSize: size,
        checkpoint: note,
        logKey: serviceKey,
      });
    }

    const witnessPolicy = o.witnessPolicy !== undefined ? await readPolicy(o.witnessPolicy) : undefined;
    const bar = progressBar(io, o.progress && !o.json);
    let report;
    try {
      report = await runAudit({
        source,
        chain,
        verifiers,
        keySource,
        ...(o.origin !== undefined ? { origin: o.origin } : {}),
        ...(witnessPolicy !== undefined ? { witnessPolicy } : {}),
        published,
        ...(client !== undefined && (source as EntrySource).oracle === undefined ? { oracle: client.oracle() } : {}),
        // An export declares the size of the checkpoint it carries, and holds exactly that many entries.
        ...(writer !== undefined && source instanceof ServiceSource ? { until: checkpointSize(source.checkpointNote) ?? 0 } : {}),
        ...(io.now !== undefined ? { now: io.now } : {}),
        maxDelayMs: o.maxDelay * 1000,
        maxListed: o.maxListed,
        locateLimit: o.locateLimit,
        workers: o.workers,
        ...(writer !== undefined ? { onBatch: (b) => writer!.write(b) } : {}),
        onProgress: bar.update,
      });
    } finally {
      bar.stop();
      await writer?.close();
    }
    const withNotes = { ...report, notices: [...notes, ...report.notices] };
    if (writer !== undefined) withNotes.notices.push(`wrote ${report.entries.count} entries to ${writer.file}`);
    io.stdout(o.json ? `${JSON.stringify(withNotes, null, 2)}\n` : formatAuditReport(withNotes));
    return report.ok ? 0 : 1;
  } finally {
    await source.close();
  }
}

/** The size line of a signed checkpoint (unverified: only to size an export). */
function checkpointSize(note: string): number | undefined {
  const m = /^[^\n]*\n(0|[1-9][0-9]{0,15})\n/.exec(note);
  return m ? Number(m[1]) : undefined;
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
  const o = cmd.opts<Opts>();
  try {
    if (o.receipt !== undefined) {
      if (o.service !== undefined || o.export !== undefined || o.saveExport !== undefined)
        throw new AuditError("USAGE", "--receipt checks one receipt: it takes no --service, --export or --save-export");
      return await receiptMode(o, io);
    }
    if (o.witnessPolicy !== undefined && o.tlog === undefined) throw new AuditError("USAGE", "--witness-policy is read with --receipt or --tlog only");
    return await auditMode(o, io);
  } catch (e) {
    if (e instanceof AuditError) {
      io.stderr(`verify: ${e.message}\n`);
      if (e.code !== "USAGE") {
        // Nothing was concluded: say so, so that a failure to read is never taken for a clean or a failed audit.
        io.stderr(`verify: INCOMPLETE: ${o.receipt !== undefined ? "the receipt check" : "the audit"} stopped before a verdict; nothing above is a finding (exit 2)\n`);
        if (o.json) io.stdout(`${JSON.stringify({ verdict: "incomplete", error: e.code, message: e.message }, null, 2)}\n`);
      }
      return 2;
    }
    throw e;
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
