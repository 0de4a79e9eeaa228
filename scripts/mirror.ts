/**
 * Keeps a verified mirror of a published log (C2SP tlog-tiles) in a directory,
 * and optionally serves it with the same /tlog/ layout:
 *
 *   npm run mirror -- --tlog <URL or dir> --dir D --log-key <vkey or file>
 *       [--rpc <url> --contract 0x…] [--witness-policy <file>]
 *       [--once | --interval S] [--serve <port>] [--host <addr>]
 *
 * Every checkpoint is checked before anything of it is written: the log key's
 * signature (required), the witness policy's quorum (with --witness-policy),
 * being anchored on the chain exactly (with --rpc/--contract: the service
 * publishes only anchored checkpoints), and consistency with the last
 * checkpoint the mirror holds (service/mirror/mirror.ts). D holds the copy
 * (`checkpoint`, `tile/…`) and every checkpoint accepted (`checkpoints/<size>`).
 *
 * --once syncs once and exits (unless --serve, which then keeps serving the
 * copy). Otherwise it syncs every --interval seconds (default 30). A log that
 * forks, shrinks or fails a check is refused: the copy is kept; with --once the
 * process exits 3 with one line on stderr; as a daemon it logs an ALARM line and
 * keeps serving the old copy (after a fork it stops syncing).
 *
 * Exit codes: 0 synced, 1 failed (upstream unreachable, I/O), 2 usage, 3 refused.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { Command, CommanderError } from "commander";
import { AnchorReader, httpProvider } from "../service/format/anchor";
import { dirLogReader, httpLogReader, type LogReader } from "../service/format/log-reader";
import { parseWitnessPolicy, type WitnessPolicy } from "../service/format/witness-policy";
import { KeyArgumentError, readVerifierKeyArg, type NoteVerifier } from "../service/log";
import { Mirror, MirrorRefusal, type MirrorOptions } from "../service/mirror/mirror";
import { mirrorApp } from "../service/mirror/serve";

interface Opts {
  tlog: string;
  dir: string;
  logKey?: string;
  rpc?: string;
  contract?: string;
  witnessPolicy?: string;
  once?: boolean;
  interval: string;
  serve?: string;
  host: string;
}

const say = (line: string) => process.stderr.write(`mirror: ${line}\n`);
const message = (e: unknown) =>
  `${typeof (e as { code?: unknown }).code === "string" ? `${(e as { code: string }).code}: ` : ""}${e instanceof Error ? e.message : String(e)}`;

/**
 * A hint for a first sync that found no checkpoint, or a body that is not a signed note at all: the usual cause
 * is a --tlog that is not a log's /tlog prefix (the service's root, its API, a web page), which should be named.
 */
function notALogHint(tlog: string, e: unknown, copySize: number): string {
  if (copySize !== 0) return "";
  const code = (e as { code?: unknown }).code;
  const causeCode = (e as { cause?: { code?: unknown } }).cause?.code;
  const noCheckpoint = code === "NOT_FOUND" && e instanceof Error && /\/checkpoint\b/.test(e.message);
  const notANote = e instanceof MirrorRefusal && code === "SIGNATURE_INVALID" && causeCode === "MALFORMED";
  if (!noCheckpoint && !notANote) return "";
  const base = tlog.replace(/\/+$/, "");
  let want = "a directory written by npm run publish or by another mirror (its --dir)";
  if (/^https?:\/\//.test(base)) {
    const u = new URL(base);
    want = `the log's /tlog prefix, ${u.pathname === "/" || u.pathname === "" ? `for a subsidy-ledger service ${u.origin}/tlog` : "e.g. http://127.0.0.1:8080/tlog"}`;
  }
  return ` (${tlog} does not look like a published log: ${base}/checkpoint must be a checkpoint signed by the log key; give --tlog ${want})`;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command("mirror")
    .description("Keeps a verified copy of a published log (C2SP tlog-tiles) in a directory, and serves it.")
    .requiredOption("--tlog <url>", "the log's /tlog prefix (http(s) URL) or a directory holding it")
    .requiredOption("--dir <path>", "the mirror directory (created if missing)")
    .option("--log-key <vkey|file>", "the log's verifier key, or a file holding it (required)")
    .option("--rpc <url>", "a JSON-RPC node: every checkpoint must be anchored on --contract")
    .option("--contract <address>", "the LedgerAnchor contract's address")
    .option("--witness-policy <file>", "a witness policy (C2SP tlog-policy): every checkpoint must meet its quorum")
    .option("--once", "sync once, then exit (or keep serving, with --serve)")
    .option("--interval <seconds>", "seconds between syncs", "30")
    .option("--serve <port>", "serve the copy under /tlog/ on this port (0: any free port)")
    .option("--host <address>", "the address --serve listens on", "127.0.0.1")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<Opts>();
  if (o.logKey === undefined) {
    say("--log-key is required: a mirror checks every checkpoint against the log's key (GET /v1/log/key on the service)");
    return 2;
  }
  let verifier: NoteVerifier;
  try {
    verifier = readVerifierKeyArg(o.logKey, (f) => readFileSync(f, "utf8"));
  } catch (e) {
    if (!(e instanceof KeyArgumentError)) throw e;
    say(`--log-key: ${e.message}`);
    return 2;
  }
  const options: { -readonly [K in keyof MirrorOptions]: MirrorOptions[K] } = { verifier };
  if (o.witnessPolicy !== undefined) {
    let policy: WitnessPolicy;
    try {
      policy = parseWitnessPolicy(readFileSync(o.witnessPolicy));
    } catch (e) {
      say(`the witness policy ${o.witnessPolicy} is not usable: ${message(e)}`);
      return 2;
    }
    options.policy = policy;
  }
  if ((o.rpc === undefined) !== (o.contract === undefined)) {
    say("--rpc and --contract go together");
    return 2;
  }
  if (o.rpc !== undefined && o.contract !== undefined) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(o.contract)) {
      say(`--contract ${JSON.stringify(o.contract)} is not an address`);
      return 2;
    }
    options.anchor = new AnchorReader(httpProvider(o.rpc, fetch, { timeoutMs: 10_000 }), o.contract);
  }
  const interval = Number(o.interval);
  if (!(Number.isFinite(interval) && interval > 0)) {
    say(`--interval ${JSON.stringify(o.interval)} is not a positive number of seconds`);
    return 2;
  }
  let port: number | undefined;
  if (o.serve !== undefined) {
    port = Number(o.serve);
    if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      say(`--serve ${JSON.stringify(o.serve)} is not a port`);
      return 2;
    }
  }
  const upstream: LogReader = /^https?:\/\//.test(o.tlog) ? httpLogReader(o.tlog, fetch) : dirLogReader(o.tlog, readFile);
  const mirror = await Mirror.open(o.dir, options);

  const status: { upstream: string; size: number; lastSync: string | null; lastError: string | null; alarm: string | null; alarmAt: string | null } = {
    upstream: o.tlog,
    size: await mirror.copy.size(),
    lastSync: null,
    lastError: null,
    alarm: null,
    alarmAt: null,
  };
  /** 0 synced, 1 failed, 3 refused. */
  const syncOnce = async (): Promise<0 | 1 | 3> => {
    const started = Date.now();
    try {
      const r = await mirror.sync(upstream);
      status.size = r.size;
      status.lastSync = new Date().toISOString();
      status.lastError = null;
      if (r.size !== r.previousSize || r.newCheckpoint)
        process.stdout.write(
          `mirrored size ${r.size} (was ${r.previousSize}) into ${mirror.dir}: ${r.written} files written in ${((Date.now() - started) / 1000).toFixed(1)} s\n`
        );
      return 0;
    } catch (e) {
      const hint = notALogHint(o.tlog, e, status.size);
      if (e instanceof MirrorRefusal) {
        status.alarm = message(e) + hint;
        status.alarmAt = new Date().toISOString();
        return 3;
      }
      status.lastError = message(e) + hint;
      return 1;
    }
  };

  const first = await syncOnce();
  if (o.once === true && port === undefined) {
    if (first === 3) say(`REFUSED, the copy is kept (size ${status.size}): ${status.alarm!}`);
    if (first === 1) say(`sync failed, the copy is kept (size ${status.size}): ${status.lastError!}`);
    return first;
  }
  if (first === 3) say(`ALARM: ${status.alarm!}`);
  if (first === 1) say(`sync failed, retrying: ${status.lastError!}`);

  if (port !== undefined) {
    const server = mirrorApp({ dir: mirror.dir, status: () => status }).listen(port, o.host);
    await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
    const a = server.address() as AddressInfo;
    process.stdout.write(`serving the mirror at http://${o.host}:${a.port}/tlog/\n`);
  }
  if (o.once === true) return new Promise<number>(() => {});

  let forked = first === 3 && status.alarm!.startsWith("FORKED");
  for (;;) {
    await new Promise((r) => setTimeout(r, interval * 1000));
    if (forked) continue;
    const r = await syncOnce();
    if (r === 3) {
      say(`ALARM: ${status.alarm!}`);
      forked = status.alarm!.startsWith("FORKED");
      if (forked) say("the log forked: syncing stops; the copy is kept and served as it is");
    } else if (r === 1) say(`sync failed, retrying: ${status.lastError!}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(message(e));
    process.exit(1);
  }
);
