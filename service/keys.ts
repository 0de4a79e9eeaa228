/**
 * Key files. The log's checkpoint signing key lives in a file under the data
 * directory (or a configured path), created on first start with mode 0600.
 * Keys are never in a committed file, an environment dump or a log line: the
 * functions here return parsed keys and only ever print the public half.
 */
import { generateNoteKey, parseSignerKey, encodeVerifierKey, type NoteSigner } from "./log";
import { createSecretFile, readSecretFile } from "./secret-file";
import type { KeyIdentity } from "./store/store";

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

/**
 * Refuses to serve a shared log with keys other than the ones it records
 * (every replica may sign, so all must hold the same keys): throws
 * KeyFileError with one line naming the setting to fix, never a secret.
 */
export function checkRecordedKeys(recorded: KeyIdentity, mine: KeyIdentity, files: { readonly logKeyFile: string; readonly accessCodeKeyFile: string }): void {
  if (recorded.logKey !== mine.logKey)
    throw new KeyFileError(
      `the log signing key in ${files.logKeyFile} (verifier key ${mine.logKey}) is not the key the database's log is signed with (${recorded.logKey}): set LEDGER_LOG_KEY_FILE to the same key file as the other replicas`,
    );
  if (recorded.accessCodeFingerprint !== mine.accessCodeFingerprint)
    throw new KeyFileError(
      `the access-code key in ${files.accessCodeKeyFile} is not the one the database's log uses (fingerprint ${mine.accessCodeFingerprint.slice(0, 16)}…, recorded ${recorded.accessCodeFingerprint.slice(0, 16)}…): set LEDGER_ACCESS_CODE_KEY_FILE to the same key file as the other replicas`,
    );
}
