/**
 * One copy of each verification algorithm, two ways to run it.
 *
 * The verifiers (proofs, signed notes, key IDs) are written once as
 * generators that yield each cryptographic operation they need as a
 * {@link Step} and receive its result. {@link runSync} answers with
 * node:crypto, so the synchronous API stays synchronous for Node callers;
 * {@link runAsync} answers with WebCrypto, for the browser. Every check,
 * loop and error lives in the generator, so both drivers give the same
 * results and the same errors (test/log/async.test.ts compares them).
 *
 * Hot paths that only hash (hashLeaf, hashChildren, CompactRange) call
 * node:crypto directly and do not go through here.
 */

/** A cryptographic operation a verifier needs. */
export type Step<K = unknown> =
  /** SHA-256(0x01 ‖ left ‖ right), both 32 bytes: answers the 32-byte node hash. */
  | { readonly op: "node"; readonly left: Uint8Array; readonly right: Uint8Array }
  /** SHA-256 of the concatenated parts: answers the 32-byte digest. */
  | { readonly op: "sha256"; readonly parts: readonly Uint8Array[] }
  /** Ed25519 verification of a 64-byte signature: answers true or false, never throws. */
  | { readonly op: "ed25519"; readonly key: K; readonly message: Uint8Array; readonly signature: Uint8Array };

/** A verifier written as a generator: yields steps, returns its result (or throws its typed error). */
export type Steps<T, K = unknown> = Generator<Step<K>, T, Uint8Array | boolean>;

/**
 * Runs `steps`, answering each with `perform`, synchronously. Generic in the
 * step and answer types: the cryptographic {@link Step}s above, or the
 * coarser steps of a receipt check (./receipt.ts).
 */
export function runSync<S, A, T>(steps: Generator<S, T, A>, perform: (step: S) => A): T {
  let r = steps.next();
  while (r.done !== true) r = steps.next(perform(r.value));
  return r.value;
}

/** Runs `steps`, awaiting `perform` for each. */
export async function runAsync<S, A, T>(steps: Generator<S, T, A>, perform: (step: S) => Promise<A>): Promise<T> {
  let r = steps.next();
  while (r.done !== true) r = steps.next(await perform(r.value));
  return r.value;
}
