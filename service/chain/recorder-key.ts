/**
 * The recorder's EVM key: the account that sends anchor transactions and must
 * hold RECORDER_ROLE. It lives in a key file under the data directory (or a
 * configured path), created on first start with mode 0600 in a 0700
 * directory, as service/keys.ts does for the log's note key. The file holds
 * one line: 0x and 64 hex digits.
 *
 * The key never appears in a log line, an error message or a JSON dump: the
 * returned {@link RecorderKey} serialises and inspects as its address only.
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { Wallet, type TransactionRequest } from "ethers";
import { createSecretFile, readSecretFile } from "../secret-file";

export class RecorderKeyError extends Error {
  override readonly name = "RecorderKeyError";
}

const KEY_LINE = /^0x[0-9a-fA-F]{64}$/;

/**
 * A transaction signer holding the recorder key. Only `address` and
 * `signTransaction` are exposed; JSON.stringify, pino and util.inspect see
 * `{ address }`.
 */
export class RecorderKey {
  readonly #wallet: Wallet;
  readonly address: string;

  constructor(privateKeyHex: string) {
    if (!KEY_LINE.test(privateKeyHex)) throw new RecorderKeyError("a recorder key is 0x and 64 hex digits");
    let wallet: Wallet;
    try {
      wallet = new Wallet(privateKeyHex);
    } catch {
      // ethers' message would quote the key.
      throw new RecorderKeyError("not a valid secp256k1 private key");
    }
    this.#wallet = wallet;
    this.address = wallet.address;
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.#wallet.signTransaction(tx);
  }

  toJSON(): { address: string } {
    return { address: this.address };
  }

  [inspect.custom](): string {
    return `RecorderKey { address: '${this.address}' }`;
  }
}

export interface LoadedRecorderKey {
  readonly key: RecorderKey;
  readonly created: boolean;
}

/**
 * Loads the recorder key from `file`, or creates a fresh random one there if
 * the file does not exist. Refuses a file that group or others can access,
 * and a file that does not hold exactly one key line.
 */
export async function loadOrCreateRecorderKey(file: string): Promise<LoadedRecorderKey> {
  let text: string | undefined;
  try {
    text = await readSecretFile(file, "recorder key file");
  } catch (e) {
    throw new RecorderKeyError((e as Error).message);
  }
  if (text !== undefined) {
    if (!KEY_LINE.test(text)) throw new RecorderKeyError(`recorder key file ${file} does not hold a key (want one line: 0x and 64 hex digits)`);
    try {
      return { key: new RecorderKey(text), created: false };
    } catch (e) {
      throw new RecorderKeyError(`recorder key file ${file}: ${(e as Error).message}`);
    }
  }

  // A fresh key; retry the (astronomically unlikely) out-of-range scalar.
  let hex: string;
  let key: RecorderKey;
  for (;;) {
    hex = `0x${randomBytes(32).toString("hex")}`;
    try {
      key = new RecorderKey(hex);
      break;
    } catch {
      continue;
    }
  }
  let created: boolean;
  try {
    created = await createSecretFile(file, `${hex}\n`, "recorder key file");
  } catch (e) {
    throw new RecorderKeyError((e as Error).message);
  }
  // Another process created a key meanwhile: use that one.
  return created ? { key, created: true } : loadOrCreateRecorderKey(file);
}
