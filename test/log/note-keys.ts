/**
 * Shared by the signed-note and checkpoint tests: the error assertion and
 * deterministic note keys.
 */
import { expect } from "chai";
import { CheckpointError, noteKeyFromSeed, parseSignerKey, parseVerifierKey, type CheckpointErrorCode } from "../../service/log";

/** Runs `fn` and asserts it throws a CheckpointError with `code` (fails if it returns). */
export function expectCode(fn: () => unknown, code: CheckpointErrorCode): CheckpointError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected CheckpointError ${code}, nothing was thrown`).to.be.instanceOf(CheckpointError);
  expect((thrown as CheckpointError).code).to.equal(code);
  return thrown as CheckpointError;
}

export const ORIGIN = "ledger.example.gov/subsidies";

/** Deterministic test keys: seed = 32 copies of one byte. */
export function keyFromByte(name: string, b: number) {
  const { signerKey, verifierKey } = noteKeyFromSeed(name, new Uint8Array(32).fill(b));
  return { signer: parseSignerKey(signerKey), verifier: parseVerifierKey(verifierKey) };
}
export const LOG = keyFromByte(ORIGIN, 1);
export const WITNESS = keyFromByte("witness.example.org/w1", 2);
export const STRANGER = keyFromByte("stranger.example.net", 3);
/** Same name as LOG, different key: an old or rotated log key. */
export const LOG_ROTATED = keyFromByte(ORIGIN, 4);
