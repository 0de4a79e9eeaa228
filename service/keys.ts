/**
 * Key files. The log's checkpoint signing key lives in a file under the data
 * directory (or a configured path), created on first start with mode 0600.
 * Keys are never in a committed file, an environment dump or a log line: the
 * functions here return parsed keys and only ever print the public half.
 */
import { generateNoteKey, parseSignerKey, encodeVerifierKey, type NoteSigner } from "./log";
import { createSecretFile, readSecretFile } from "./secret-file";

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
  let created = false;
  try {
    text = await readSecretFile(file, "key file");
    if (text === undefined) {
      const { signerKey } = generateNoteKey(name);
      // Never overwrite a key another process created meanwhile: read that one instead.
      created = await createSecretFile(file, signerKey + "\n", "key file");
      text = created ? signerKey : await readSecretFile(file, "key file");
    }
  } catch (e) {
    throw new KeyFileError((e as Error).message);
  }
  let signer: NoteSigner;
  try {
    signer = parseSignerKey(text ?? "");
  } catch {
    throw new KeyFileError(`key file ${file} does not hold a signed-note Ed25519 signer key`);
  }
  if (signer.name !== name) throw new KeyFileError(`key file ${file} is for log ${signer.name}, not ${name}`);
  return { signer, verifierKey: encodeVerifierKey(signer.name, signer.publicKey), created };
}
