/**
 * Key files. The log's checkpoint signing key lives in a file under the data
 * directory (or a configured path), created on first start with mode 0600.
 * Keys are never in a committed file, an environment dump or a log line: the
 * functions here return parsed keys and only ever print the public half.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { generateNoteKey, parseSignerKey, encodeVerifierKey, type NoteSigner } from "./log";

export class KeyFileError extends Error {
  override readonly name = "KeyFileError";
}

export interface LogKey {
  readonly signer: NoteSigner;
  /** The public verifier key string, safe to publish. */
  readonly verifierKey: string;
  readonly created: boolean;
}

/**
 * Loads the note signer key from `file`, or creates one named `name` if the
 * file does not exist. Refuses a key file that others can read.
 */
export async function loadOrCreateLogKey(file: string, name: string): Promise<LogKey> {
  let text: string | undefined;
  try {
    const st = await fs.stat(file);
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0)
      throw new KeyFileError(`key file ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    text = (await fs.readFile(file, "utf8")).trim();
  } catch (e) {
    if (e instanceof KeyFileError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new KeyFileError(`cannot read key file ${file}: ${(e as Error).message}`);
  }
  let created = false;
  if (text === undefined) {
    const { signerKey } = generateNoteKey(name);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // wx: never overwrite a key another process created meanwhile.
    await fs.writeFile(file, signerKey + "\n", { mode: 0o600, flag: "wx" });
    text = signerKey;
    created = true;
  }
  let signer: NoteSigner;
  try {
    signer = parseSignerKey(text);
  } catch {
    throw new KeyFileError(`key file ${file} does not hold a signed-note Ed25519 signer key`);
  }
  if (signer.name !== name) throw new KeyFileError(`key file ${file} is for log ${signer.name}, not ${name}`);
  return { signer, verifierKey: encodeVerifierKey(signer.name, signer.publicKey), created };
}
