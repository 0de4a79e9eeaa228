/**
 * Salted commitments to private values.
 *
 *   commitment = SHA-256(salt ‖ JCS(value)),   salt: 32 fresh random bytes
 *
 * The log carries only the commitment; the value and its salt (the
 * "opening") are kept off-log, so they can be erased later while the log
 * still verifies. The salt stops anyone from confirming a guessed value
 * (a phone number, a bank account) against the public commitment.
 */
import { canonicalBytes, type JsonValue } from "./encoding";
import { fromHex, sha256, toHex } from "./hash";
import { withNodeCrypto, withWebCrypto } from "./perform";
import type { Steps } from "./steps";

export const SALT_SIZE = 32;

/** A private value and the salt of its commitment. */
export interface Opening {
  readonly value: JsonValue;
  /** {@link SALT_SIZE} bytes as 64 lowercase hex digits. */
  readonly salt: string;
}

const SALT_HEX = /^[0-9a-f]{64}$/;
const COMMITMENT_HEX = /^[0-9a-f]{64}$/;

/** SHA-256(salt ‖ JCS(value)) as lowercase hex. Requires a {@link SALT_SIZE}-byte salt. */
export function commitmentOf(value: JsonValue, salt: Uint8Array): string {
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_SIZE) throw new RangeError(`salt must be ${SALT_SIZE} bytes`);
  return toHex(sha256(salt, canonicalBytes(value)));
}

/** The check written once (./steps.ts): malformed input answers false before anything is hashed. */
function* opensSteps(commitmentHex: unknown, opening: Opening): Steps<boolean, never> {
  if (typeof commitmentHex !== "string" || !COMMITMENT_HEX.test(commitmentHex)) return false;
  if (typeof opening !== "object" || opening === null || typeof opening.salt !== "string" || !SALT_HEX.test(opening.salt)) return false;
  let value: Uint8Array;
  try {
    value = canonicalBytes(opening.value);
  } catch {
    return false;
  }
  const digest = (yield { op: "sha256", parts: [fromHex(opening.salt), value] }) as Uint8Array;
  return toHex(digest) === commitmentHex;
}

/**
 * Whether `opening` opens `commitmentHex`. False, never a throw, for a
 * malformed salt or commitment, or a value that is not JSON.
 */
export function opensCommitment(commitmentHex: unknown, opening: Opening): boolean {
  return withNodeCrypto(opensSteps(commitmentHex, opening));
}

/** {@link opensCommitment} with WebCrypto, for the browser portal: the same answers, never a rejection. */
export function opensCommitmentAsync(commitmentHex: unknown, opening: Opening): Promise<boolean> {
  return withWebCrypto(opensSteps(commitmentHex, opening));
}
