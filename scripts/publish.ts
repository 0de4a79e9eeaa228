/**
 * Writes a static copy of the published log (C2SP tlog-tiles) into a
 * directory, for nginx or an object store to serve:
 *
 *   npm run publish -- --dir D [--from http://localhost:8080/tlog] [--log-key <vkey or file> | --log-key-file F]
 *
 * It reads the running service's /tlog/ over HTTP (the data directory is
 * locked while the service runs, and /tlog/ serves exactly what is
 * published: only anchored checkpoints). Run it again to bring the copy up to
 * date: only new tiles are fetched, full tiles are never rewritten, and the
 * checkpoint is written last (service/publish/static-dir.ts). With a log key
 * the checkpoint's signature is checked too. For a copy kept up to date by
 * the service itself, set LEDGER_TLOG_DIR instead.
 *
 * Exit codes: 0 copied, 1 refused or failed (the directory keeps its last
 * good checkpoint), 2 usage error.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { httpLogReader } from "../service/format/log-reader";
import { KeyArgumentError, readVerifierKeyArg } from "../service/log";
import { StaticLogDir } from "../service/publish/static-dir";

async function main(argv: string[]): Promise<number> {
  const program = new Command("publish")
    .description("Copies the service's published log (/tlog/) into a directory, as C2SP tlog-tiles files.")
    .requiredOption("--dir <path>", "the directory to write (created if missing)")
    .option("--from <url>", "the log's /tlog prefix", `http://localhost:${process.env["PORT"] ?? "8080"}/tlog`)
    .option("--log-key <vkey|file>", "the log's verifier key (as /v1/log/key serves it), or a file holding it; the checkpoint must verify under it")
    .option("--log-key-file <file>", "a file holding the log's verifier key")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  const o = program.opts<{ dir: string; from: string; logKey?: string; logKeyFile?: string }>();
  let verifiers;
  // --log-key takes a file too, as the mirror's does, so `curl …/v1/log/key > log.vkey` serves both.
  const [option, arg] = o.logKeyFile !== undefined ? ["--log-key-file", o.logKeyFile] : ["--log-key", o.logKey];
  try {
    verifiers = arg === undefined ? undefined : readVerifierKeyArg(arg, (f) => readFileSync(f, "utf8"));
  } catch (e) {
    if (!(e instanceof KeyArgumentError)) throw e;
    process.stderr.write(`publish: ${option}: ${e.message}\n`);
    return 2;
  }
  try {
    const dir = await StaticLogDir.open(o.dir);
    const r = await dir.publish(httpLogReader(o.from, fetch), verifiers === undefined ? {} : { verifiers });
    process.stdout.write(`published size ${r.size} (was ${r.previousSize}) to ${dir.dir}: ${r.written} files written, ${r.skipped} already there\n`);
    return 0;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // No checkpoint at all: most often --from is the service's root or API rather than its /tlog prefix.
    const hint =
      code === "NOT_FOUND" && e instanceof Error && /\/checkpoint\b/.test(e.message)
        ? ` (${o.from} does not look like a published log: give --from the log's /tlog prefix, e.g. http://127.0.0.1:8080/tlog)`
        : "";
    process.stderr.write(`publish: ${typeof code === "string" ? `${code}: ` : ""}${e instanceof Error ? e.message : String(e)}${hint}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`publish: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
