/**
 * Starting a witness: read its key file, build the app, listen. Used by
 * scripts/witness.ts and by tests that run a witness in-process.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { CheckpointError, cosignerKeyOf, generateNoteKey, KeyArgumentError, parseSignerKey, readVerifierKeyArg, type NoteSigner, type NoteVerifier } from "../log";
import { createSecretFile, readSecretFile } from "../secret-file";
import { createWitnessApp } from "./http";
import { directoryStateStore, lockStateDir } from "./state";
import { Witness } from "./witness";

/** A witness's configuration is unusable: the message says which part, never key material. */
export class WitnessConfigError extends Error {
  override readonly name = "WitnessConfigError";
}

/**
 * Reads a witness key file: a note signer key (`PRIVATE+KEY+…`, as
 * generateNoteKey makes) in a file only its owner can read. Refuses a missing
 * file, one group or others can access, and a malformed key.
 */
export async function readWitnessKey(file: string): Promise<NoteSigner> {
  const text = await readSecretFile(file, "witness key file");
  if (text === undefined) throw new WitnessConfigError(`witness key file ${file} does not exist; create it with --generate-key --name <witness name>`);
  try {
    return parseSignerKey(text);
  } catch (e) {
    if (e instanceof CheckpointError) throw new WitnessConfigError(`witness key file ${file} does not hold a note signer key: ${e.message}`);
    throw e;
  }
}

/**
 * Creates a new witness key file (mode 0600) for `name` and returns the
 * cosigner vkey to put in policies. Never overwrites an existing file.
 */
export async function generateWitnessKey(file: string, name: string): Promise<string> {
  let keys;
  try {
    keys = generateNoteKey(name);
  } catch (e) {
    if (e instanceof CheckpointError) throw new WitnessConfigError(`witness name ${JSON.stringify(name)}: ${e.message}`);
    throw e;
  }
  if (!(await createSecretFile(file, `${keys.signerKey}\n`, "witness key file"))) throw new WitnessConfigError(`witness key file ${file} already exists; not overwritten`);
  return cosignerKeyOf(parseSignerKey(keys.signerKey));
}

const WHERE_THE_KEY_IS = "the log's verifier key is printed by npm start (log key:) and served at GET /v1/log/key";

/** `arg` (a key or a file holding one) read by the one reader of the log core; `what` names the option, never with key material. */
function logKey(arg: string, what: string): NoteVerifier {
  if (arg.trim() === "") throw new WitnessConfigError(`${what}: the log verifier key is empty (${WHERE_THE_KEY_IS})`);
  try {
    return readVerifierKeyArg(arg, (f) => readFileSync(f, "utf8"));
  } catch (e) {
    if (e instanceof KeyArgumentError) throw new WitnessConfigError(`${what}: ${e.message} (${WHERE_THE_KEY_IS})`);
    throw e;
  }
}

/**
 * Parses `--log` values into trusted keys by origin: `<origin>=<vkey or
 * file>`, or a vkey alone or a file holding one (as `curl …/v1/log/key >
 * log.vkey` saves it), whose origin is then the key's name, as this service's
 * logs sign. An origin may be given several keys.
 */
export function parseLogOptions(values: readonly string[]): Map<string, NoteVerifier[]> {
  const logs = new Map<string, NoteVerifier[]>();
  for (const v of values) {
    let origin: string;
    let key: NoteVerifier;
    const eq = v.indexOf("=");
    if (eq < 0) {
      // No "=": a vkey (whose base64 has no padding) or a file holding one.
      key = logKey(v, "--log");
      origin = key.name;
    } else {
      if (eq === 0) throw new WitnessConfigError(`--log "=…": want <origin>=<log verifier key>, or the log verifier key alone (${WHERE_THE_KEY_IS})`);
      origin = v.slice(0, eq);
      key = logKey(v.slice(eq + 1), `--log ${JSON.stringify(`${origin}=…`)}`);
    }
    logs.set(origin, [...(logs.get(origin) ?? []), key]);
  }
  if (logs.size === 0) throw new WitnessConfigError(`no log configured: give at least one --log <log verifier key or file> (${WHERE_THE_KEY_IS})`);
  return logs;
}

export interface RunningWitness {
  readonly witness: Witness;
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a witness listening on `host:port` (port 0: any free port). */
export async function startWitness(options: {
  signer: NoteSigner;
  logs: ReadonlyMap<string, readonly NoteVerifier[]>;
  stateDir: string;
  host: string;
  port: number;
  logger: Logger;
  now?: () => number;
}): Promise<RunningWitness> {
  const release = await lockStateDir(options.stateDir);
  const witness = new Witness({ signer: options.signer, logs: options.logs, store: directoryStateStore(options.stateDir), now: options.now ?? Date.now });
  const app = createWitnessApp({ witness, logger: options.logger });
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(options.port, options.host, (err?: Error) => (err === undefined ? resolve(s) : reject(err)));
    });
  } catch (e) {
    await release();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    witness,
    server,
    port,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      });
      await release();
    },
  };
}
