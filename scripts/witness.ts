/**
 * Runs a transparency log witness (c2sp.org/tlog-witness), or creates its key.
 *
 *   npm run witness -- --generate-key --name <witness name> --key-file <K>
 *   npm run witness -- --key-file <K> --state-dir <S> --port <P> --log <log vkey or file | origin=vkey or file> [--log …] [--host 127.0.0.1]
 *
 * A --log without "=" is the log's verifier key, or a file holding it, and the
 * origin is the key's name (this service's logs sign with their origin as name).
 *
 * --generate-key prints the witness's cosigner vkey (for policy files) alone
 * on stdout. Serving, it logs JSON lines (pino) to stdout, the first of which
 * says where it listens and its cosigner vkey; it never logs the key.
 * Exit codes: 0 done, 2 usage or configuration error.
 */
import path from "node:path";
import { Command, CommanderError } from "commander";
import pino from "pino";
import { SecretFileError } from "../service/secret-file";
import { WitnessStateLockedError } from "../service/witness/state";
import { generateWitnessKey, parseLogOptions, readWitnessKey, startWitness, WitnessConfigError } from "../service/witness/server";

const collect = (v: string, acc: string[]) => [...acc, v];

const program = new Command()
  .name("witness")
  .description("A C2SP tlog-witness: cosigns checkpoints of the logs it is configured for, after checking they extend what it saw.")
  .requiredOption("--key-file <file>", "witness note signer key (PRIVATE+KEY+…), readable only by its owner")
  .option("--generate-key", "create --key-file for --name, print the cosigner vkey, and exit")
  .option("--name <name>", "witness name for --generate-key, e.g. witness.audit.example.gov/w1")
  .option("--state-dir <dir>", "where the latest cosigned checkpoint of each log is kept")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--port <port>", "port to listen on (0: any free port)")
  .option("--log <vkey|file|origin=vkey>", "a log to witness: its verifier key or a file holding it (origin: the key's name), or origin=<vkey or file> (repeatable)", collect, [])
  .option("--log-level <level>", "pino log level", "info")
  .exitOverride();

async function main(): Promise<void> {
  program.parse(process.argv);
  const o = program.opts<{ keyFile: string; generateKey?: boolean; name?: string; stateDir?: string; host: string; port?: string; log: string[]; logLevel: string }>();
  const keyFile = path.resolve(o.keyFile);
  if (o.generateKey === true) {
    if (o.name === undefined) throw new WitnessConfigError("--generate-key needs --name <witness name>");
    process.stdout.write(`${await generateWitnessKey(keyFile, o.name)}\n`);
    return;
  }
  if (o.stateDir === undefined) throw new WitnessConfigError("--state-dir is required");
  if (o.port === undefined || !/^[0-9]+$/.test(o.port) || Number(o.port) > 65535) throw new WitnessConfigError("--port must be a port number (0-65535)");
  const signer = await readWitnessKey(keyFile);
  const logs = parseLogOptions(o.log);
  const logger = pino({ level: o.logLevel });
  const running = await startWitness({ signer, logs, stateDir: path.resolve(o.stateDir), host: o.host, port: Number(o.port), logger });
  logger.info({ host: o.host, port: running.port, name: running.witness.name, vkey: running.witness.cosignerKey, origins: [...logs.keys()] }, "witness listening");
  const stop = () => {
    void running.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e: unknown) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  if (e instanceof WitnessConfigError || e instanceof SecretFileError || e instanceof WitnessStateLockedError) {
    process.stderr.write(`witness: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`witness: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
