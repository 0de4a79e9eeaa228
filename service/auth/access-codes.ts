/**
 * Enterprise access codes: what lets an enterprise download its own receipt,
 * private values included, without an official's token.
 *
 * A code is derived, not stored: HMAC-SHA-256 over the application's entry id
 * with a secret key kept in a file under the data directory (created 0600 on
 * first start, like the log key). So the database holds nothing that opens a
 * receipt, a repeated POST (idempotent replay) returns the same code, and an
 * administrator can re-issue a lost code by deriving it again. A code covers
 * its application and every entry that refers to it (decision, payouts,
 * confirmations, corrections).
 *
 * Codes are 128 bits (22 base64url characters after the `ac_` prefix);
 * comparison is constant-time. Rotating the key file invalidates every code.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createSecretFile, readSecretFile } from "../secret-file";

const CODE_BYTES = 16;
const KEY_BYTES = 32;
const DOMAIN = "subsidy-ledger access code v1\u0000";
/** The shape of a code; anything else is refused before any HMAC is computed. */
export const ACCESS_CODE_PATTERN = /^ac_[A-Za-z0-9_-]{22}$/;

export class AccessCodeKeyError extends Error {
  override readonly name = "AccessCodeKeyError";
}

export class AccessCodes {
  private readonly _key: Buffer;

  /** `key`: at least 32 secret bytes. */
  constructor(key: Uint8Array) {
    if (key.length < KEY_BYTES) throw new AccessCodeKeyError(`an access-code key needs at least ${KEY_BYTES} bytes`);
    this._key = Buffer.from(key);
  }

  /** The access code of the application with entry id `applicationId`. */
  codeFor(applicationId: string): string {
    const mac = createHmac("sha256", this._key).update(DOMAIN).update(applicationId, "utf8").digest();
    return `ac_${mac.subarray(0, CODE_BYTES).toString("base64url")}`;
  }

  /** Whether `code` is the access code of `applicationId`. Constant-time in the code; false for any malformed code. */
  check(code: unknown, applicationId: string): boolean {
    if (typeof code !== "string" || !ACCESS_CODE_PATTERN.test(code)) return false;
    return timingSafeEqual(Buffer.from(code), Buffer.from(this.codeFor(applicationId)));
  }

  /** Never print the key. */
  toJSON(): string {
    return "[AccessCodes]";
  }
}

/** Loads the access-code key from `file`, or creates it (0600) on first start. Throws AccessCodeKeyError. */
export async function loadOrCreateAccessCodes(file: string): Promise<{ codes: AccessCodes; created: boolean }> {
  try {
    let text = await readSecretFile(file, "access-code key file");
    let created = false;
    if (text === undefined) {
      created = await createSecretFile(file, randomBytes(KEY_BYTES).toString("hex") + "\n", "access-code key file");
      text = await readSecretFile(file, "access-code key file");
    }
    const hex = (text ?? "").trim();
    if (!/^[0-9a-f]{64,}$/.test(hex) || hex.length % 2 !== 0)
      throw new AccessCodeKeyError(`access-code key file ${file} does not hold at least ${KEY_BYTES} bytes of hex`);
    return { codes: new AccessCodes(Buffer.from(hex, "hex")), created };
  } catch (e) {
    if (e instanceof AccessCodeKeyError) throw e;
    throw new AccessCodeKeyError((e as Error).message);
  }
}
