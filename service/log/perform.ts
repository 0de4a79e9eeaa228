/**
 * The two drivers' answers to a verifier's {@link Step}s: node:crypto,
 * synchronously, and WebCrypto, asynchronously. See ./steps.ts.
 */
import type { KeyObject } from "node:crypto";
import { ed25519Verify, sha256 } from "./crypto-node";
import { ed25519VerifyAsync, sha256Async } from "./crypto-web";
import { hashChildren, hashChildrenAsync } from "./hash";
import { runAsync, runSync, type Step, type Steps } from "./steps";

function performSync(step: Step<KeyObject>): Uint8Array | boolean {
  switch (step.op) {
    case "node":
      return hashChildren(step.left, step.right);
    case "sha256":
      return sha256(...step.parts);
    case "ed25519":
      return ed25519Verify(step.key, step.message, step.signature);
  }
}

function performAsync(step: Step<CryptoKey>): Promise<Uint8Array | boolean> {
  switch (step.op) {
    case "node":
      return hashChildrenAsync(step.left, step.right);
    case "sha256":
      return sha256Async(...step.parts);
    case "ed25519":
      return ed25519VerifyAsync(step.key, step.message, step.signature);
  }
}

/** Runs a verifier with node:crypto. */
export function withNodeCrypto<T>(steps: Steps<T, KeyObject>): T {
  return runSync(steps, performSync);
}

/** Runs a verifier with WebCrypto. */
export function withWebCrypto<T>(steps: Steps<T, CryptoKey>): Promise<T> {
  return runAsync(steps, performAsync);
}
