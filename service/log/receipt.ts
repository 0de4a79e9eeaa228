/**
 * Receipts: a self-contained, versioned proof that one entry is in the log
 * under a checkpoint anchored on the chain.
 *
 * ```json
 * {
 *   "format": "subsidy-ledger.receipt", "version": 1,
 *   "entry": { ...the public entry; its RFC 8785 bytes are the leaf data },
 *   "leafIndex": 41,
 *   "checkpoint": "<C2SP signed note of (origin, size, root)>",
 *   "inclusionProof": ["<64 hex>", ...],          // leaf → root at the checkpoint's size
 *   "anchor": { "chainId", "contract", "checkpointIndex", "txHash", "blockNumber", "anchoredAt" },
 *   "logKey": "<C2SP verifier key, as the service published it>",
 *   "openings": { "<field>": { "value": ..., "salt": "<64 hex>" } }   // enterprise receipt only
 * }
 * ```
 *
 * Verifying one ({@link verifyReceipt}) needs nothing but this module and a
 * trusted copy of the log's key: the leaf hash is recomputed from the entry,
 * the inclusion proof is checked against the root in the signed checkpoint,
 * the signature against the key, and every opening against its commitment.
 * What remains is one contract read: {@link ReceiptCheck.chainClaim} says
 * which checkpoint LedgerAnchor must hold (`checkpointAt(index)` equal to
 * (size, root), or `isAnchored(size, root)`).
 *
 * Witnesses. The `checkpoint` note may carry witness cosignature lines
 * (c2sp.org/tlog-cosignature, cosignature/v1) after the log's signature: the
 * service cites the checkpoint it published, cosigned by its witness policy's
 * quorum. Signed-note verifiers ignore lines from keys they do not know, so
 * such a receipt is still version 1 and verifies as before where witnesses
 * are not checked; given the witnesses' keys ({@link receiptCheckSteps}'
 * `cosigners`), their lines are verified and reported, so a policy's quorum
 * can stand in for the chain read, offline.
 *
 * `logKey` is a convenience, not a trust anchor: a receipt cannot vouch for
 * its own key. Callers pass the verifiers they trust; {@link verifyReceipt}
 * only uses the receipt's own key when told to, and says so in its result.
 *
 * Everything here reads attacker-controlled input: {@link parseReceipt}
 * turns anything malformed into a {@link ReceiptError}, and verification
 * failures surface as {@link ReceiptError}, {@link VerificationError} or
 * {@link CheckpointError}, never a stray TypeError.
 */
import { opensCommitment, opensCommitmentAsync, type Opening } from "./commitment";
import { canonicalBytes, type JsonValue } from "./encoding";
import { CheckpointError, CodedError, VerificationError } from "./errors";
import { fromHex, hashLeaf, hashLeafAsync, toHex } from "./hash";
import { parseCheckpoint, parseVerifierKey, verifyCheckpoint, verifyCheckpointAsync, type Checkpoint, type NoteVerifier } from "./checkpoint";
import { parseVerifierKeyAsync, type WebNoteVerifier } from "./note";
import { runAsync, runSync } from "./steps";
import { verifyInclusion, verifyInclusionAsync } from "./verify";
import { verifyCosignatures, verifyCosignaturesAsync, type CosignerVerifier, type VerifiedCosignature, type WebCosignerVerifier } from "./cosignature";

export const RECEIPT_FORMAT = "subsidy-ledger.receipt";
export const RECEIPT_VERSION = 1;

/** Where the checkpoint of a receipt was anchored. */
export interface ReceiptAnchor {
  readonly chainId: number;
  /** The LedgerAnchor contract, 0x and 40 hex digits. */
  readonly contract: string;
  /** Position in the contract's checkpoint list. */
  readonly checkpointIndex: number;
  /** The anchoring transaction, when known. */
  readonly txHash: string | null;
  readonly blockNumber: number | null;
  /** RFC 3339: the block time the contract recorded. */
  readonly anchoredAt: string;
}

export interface Receipt {
  readonly format: typeof RECEIPT_FORMAT;
  readonly version: typeof RECEIPT_VERSION;
  /** The public entry, as a JSON object with a version field `v`. */
  readonly entry: { readonly v: number; readonly [key: string]: JsonValue };
  readonly leafIndex: number;
  /** C2SP signed note text of the checkpoint the proof leads to, possibly followed by witness cosignature lines. */
  readonly checkpoint: string;
  /** Lowercase hex hashes, leaf to root. */
  readonly inclusionProof: readonly string[];
  readonly anchor: ReceiptAnchor;
  /** C2SP verifier key of the log, as published by the service. */
  readonly logKey: string;
  /** Private values and salts, in the enterprise receipt only. */
  readonly openings?: Readonly<Record<string, Opening>>;
}

export type ReceiptErrorCode =
  /** Not a receipt at all: wrong type, missing or ill-typed fields, unknown fields. */
  | "RECEIPT_MALFORMED"
  | "RECEIPT_FORMAT_UNKNOWN"
  | "RECEIPT_VERSION_UNSUPPORTED"
  /** An opening names a field the entry has no commitment for. */
  | "OPENING_WITHOUT_COMMITMENT"
  /** An opening's value and salt do not hash to the entry's commitment. */
  | "COMMITMENT_MISMATCH"
  /** No trusted key was given and the caller did not allow the receipt's own. */
  | "NO_TRUSTED_KEY";

export class ReceiptError extends CodedError<ReceiptErrorCode> {
  override readonly name = "ReceiptError";
  constructor(
    code: ReceiptErrorCode,
    message: string,
    /** Where in the receipt, as a JSON-pointer-like path (`/openings/phone`), when it applies. */
    readonly path = "",
    options?: { cause?: unknown },
  ) {
    super(code, path === "" ? message : `${message} (at ${path})`, options);
  }
}

const KEYS = new Set(["format", "version", "entry", "leafIndex", "checkpoint", "inclusionProof", "anchor", "logKey", "openings"]);
const ANCHOR_KEYS = new Set(["chainId", "contract", "checkpointIndex", "txHash", "blockNumber", "anchoredAt"]);
const HASH_HEX = /^[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** The longest inclusion proof a safe-integer tree size can need. */
const MAX_PROOF = 53;

function malformed(message: string, path: string): never {
  throw new ReceiptError("RECEIPT_MALFORMED", message, path);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
  for (const k of Object.keys(o)) if (!allowed.has(k)) malformed(`unknown field ${JSON.stringify(k)}`, `${path}/${k}`);
}

/**
 * Checks the shape of a receipt (a parsed JSON value, or JSON text): the
 * format tag first, then the version, then every field. Does no hashing and
 * checks no signature; that is {@link verifyReceipt}'s job.
 * Throws {@link ReceiptError} for anything that is not a well-formed receipt.
 */
export function parseReceipt(input: unknown): Receipt {
  let json = input;
  if (typeof input === "string") {
    try {
      json = JSON.parse(input) as unknown;
    } catch (e) {
      throw new ReceiptError("RECEIPT_MALFORMED", "receipt is not valid JSON", "", { cause: e });
    }
  }
  if (!isRecord(json)) malformed("a receipt must be a JSON object", "");
  if (json.format !== RECEIPT_FORMAT)
    throw new ReceiptError("RECEIPT_FORMAT_UNKNOWN", `format must be ${JSON.stringify(RECEIPT_FORMAT)}`, "/format");
  if (json.version !== RECEIPT_VERSION)
    throw new ReceiptError("RECEIPT_VERSION_UNSUPPORTED", `version ${JSON.stringify(json.version)} is not supported (this verifier reads version ${RECEIPT_VERSION})`, "/version");
  onlyKeys(json, KEYS, "");

  const { entry, leafIndex, checkpoint, inclusionProof, anchor, logKey, openings } = json;
  if (!isRecord(entry)) malformed("entry must be an object", "/entry");
  if (typeof entry.v !== "number") malformed("entry must carry its version v", "/entry/v");
  if (!isIndex(leafIndex)) malformed("leafIndex must be a non-negative integer", "/leafIndex");
  if (typeof checkpoint !== "string" || checkpoint.length === 0) malformed("checkpoint must be signed note text", "/checkpoint");
  if (!Array.isArray(inclusionProof) || inclusionProof.length > MAX_PROOF) malformed(`inclusionProof must be an array of at most ${MAX_PROOF} hashes`, "/inclusionProof");
  for (let i = 0; i < inclusionProof.length; i++)
    if (typeof inclusionProof[i] !== "string" || !HASH_HEX.test(inclusionProof[i] as string))
      malformed("each proof hash must be 64 lowercase hex digits", `/inclusionProof/${i}`);
  if (typeof logKey !== "string" || logKey.length === 0) malformed("logKey must be a verifier key string", "/logKey");

  if (!isRecord(anchor)) malformed("anchor must be an object", "/anchor");
  onlyKeys(anchor, ANCHOR_KEYS, "/anchor");
  if (!isIndex(anchor.chainId) || anchor.chainId === 0) malformed("chainId must be a positive integer", "/anchor/chainId");
  if (typeof anchor.contract !== "string" || !ADDRESS.test(anchor.contract)) malformed("contract must be a 0x address", "/anchor/contract");
  if (!isIndex(anchor.checkpointIndex)) malformed("checkpointIndex must be a non-negative integer", "/anchor/checkpointIndex");
  if (anchor.txHash !== null && (typeof anchor.txHash !== "string" || !TX_HASH.test(anchor.txHash)))
    malformed("txHash must be a 0x transaction hash or null", "/anchor/txHash");
  if (anchor.blockNumber !== null && !isIndex(anchor.blockNumber)) malformed("blockNumber must be a non-negative integer or null", "/anchor/blockNumber");
  if (typeof anchor.anchoredAt !== "string" || !RFC3339_UTC.test(anchor.anchoredAt)) malformed("anchoredAt must be RFC 3339 UTC", "/anchor/anchoredAt");

  if (openings !== undefined) {
    if (!isRecord(openings)) malformed("openings must be an object", "/openings");
    for (const [field, o] of Object.entries(openings)) {
      const path = `/openings/${field}`;
      if (!isRecord(o)) malformed("an opening must be an object", path);
      onlyKeys(o, new Set(["value", "salt"]), path);
      if (!("value" in o)) malformed("an opening needs a value", `${path}/value`);
      if (typeof o.salt !== "string" || !HASH_HEX.test(o.salt)) malformed("salt must be 64 lowercase hex digits", `${path}/salt`);
    }
  }
  return json as unknown as Receipt;
}

/** What a verified receipt proves, and the one thing left to check on the chain. */
export interface ReceiptCheck {
  readonly leafHash: Uint8Array;
  readonly checkpoint: Checkpoint;
  /** True when the signature was checked only against the receipt's own `logKey`. */
  readonly selfKeyed: boolean;
  /** Fields whose private values were proved against their commitments. */
  readonly opened: readonly string[];
  /** LedgerAnchor must hold this checkpoint: `checkpointAt(checkpointIndex)` = (size, root). */
  readonly chainClaim: {
    readonly chainId: number;
    readonly contract: string;
    readonly checkpointIndex: number;
    readonly size: number;
    /** 0x and 64 hex digits, as the contract returns it. */
    readonly rootHex: string;
  };
}

export interface VerifyReceiptOptions {
  /** The log keys the caller trusts. */
  readonly verifiers?: NoteVerifier | readonly NoteVerifier[];
  /** Accept the receipt's own `logKey` when no verifier is given (the result says `selfKeyed`). */
  readonly trustReceiptKey?: boolean;
  /** Require this checkpoint origin. */
  readonly origin?: string;
}

/**
 * Verifies a receipt offline: the leaf hash from the canonical entry, the
 * inclusion proof to the checkpoint's root, the checkpoint's signature, and
 * every opening against its commitment. Accepts the output of
 * {@link parseReceipt} or anything it accepts. The checks are
 * {@link receiptCheckSteps}'; this throws the first failure.
 *
 * Throws ReceiptError (malformed, NO_TRUSTED_KEY, OPENING_WITHOUT_COMMITMENT,
 * COMMITMENT_MISMATCH), CheckpointError (bad signature, wrong key, malformed
 * note) or VerificationError (the proof does not lead to the root).
 */
export function verifyReceipt(input: unknown, options: VerifyReceiptOptions = {}): ReceiptCheck {
  const verifiers: readonly NoteVerifier[] =
    options.verifiers === undefined ? [] : Array.isArray(options.verifiers) ? options.verifiers : [options.verifiers as NoteVerifier];
  const r = runReceiptChecks(input, { verifiers, trustReceiptKey: options.trustReceiptKey === true, ...(options.origin !== undefined ? { origin: options.origin } : {}) });
  const first = r.failures[0];
  if (first !== undefined) throw first.error;
  // No failure: every check ran and passed, so these are all set.
  const receipt = r.receipt!;
  const checkpoint = r.checkpoint!;
  return {
    leafHash: r.leafHash!,
    checkpoint,
    selfKeyed: r.selfKeyed,
    opened: r.opened,
    chainClaim: {
      chainId: receipt.anchor.chainId,
      contract: receipt.anchor.contract,
      checkpointIndex: receipt.anchor.checkpointIndex,
      size: checkpoint.size,
      rootHex: `0x${toHex(checkpoint.rootHash)}`,
    },
  };
}

/** The checks of a receipt, in the order they run. */
export type ReceiptCheckName = "format" | "key" | "signature" | "cosignatures" | "leaf" | "inclusion" | "openings";

export interface ReceiptFailure {
  readonly check: ReceiptCheckName;
  /** For "openings": the field. */
  readonly field?: string;
  readonly error: ReceiptError | CheckpointError | VerificationError;
}

/**
 * Every check of a receipt, each run whatever the others gave (so a report
 * can say all that is wrong, not only the first thing): its shape; the key
 * (a trusted one, or the receipt's own when allowed); the checkpoint's
 * signature; the leaf hash of the canonical entry; the inclusion proof to
 * the checkpoint's root (the signed checkpoint, or, if its signature failed,
 * the checkpoint as written, so the proof is still judged); each opening.
 */
export interface ReceiptChecks {
  /** Null when the receipt could not be read (then `failures` holds the format failure only). */
  readonly receipt: Receipt | null;
  /** The failures, in the order of {@link ReceiptCheckName}, openings by field name; empty when all passed. */
  readonly failures: readonly ReceiptFailure[];
  /** Whether the signature was checked only against the receipt's own `logKey`. */
  readonly selfKeyed: boolean;
  /** true, false, or null when no key could be had. */
  readonly signatureOk: boolean | null;
  /** The checkpoint: verified when `signatureOk`, else as written (null if unreadable). */
  readonly checkpoint: Checkpoint | null;
  readonly leafHash: Uint8Array | null;
  /** true, false, or null when there was no checkpoint or leaf hash to check it with. */
  readonly inclusionOk: boolean | null;
  /** Fields whose private values were proved against their commitments, sorted. */
  readonly opened: readonly string[];
  /**
   * The verified cosignatures of the given cosigners on the checkpoint; null when no cosigners were given
   * or a given cosigner's line did not verify (then a "cosignatures" failure says why).
   */
  readonly cosignatures: readonly VerifiedCosignature[] | null;
}

/**
 * The operations a receipt check needs, each answered by a driver with the
 * log core's node:crypto or WebCrypto functions: the check itself is written
 * once, in {@link receiptCheckSteps}. `V` is the verifier key type.
 */
export type ReceiptStep<V, C = never> =
  | { readonly op: "key"; readonly text: string }
  | { readonly op: "checkpoint"; readonly note: string; readonly verifiers: readonly V[]; readonly origin: string | undefined }
  | { readonly op: "cosignatures"; readonly note: string; readonly cosigners: readonly C[] }
  | { readonly op: "leafHash"; readonly data: Uint8Array }
  | { readonly op: "inclusion"; readonly leafHash: Uint8Array; readonly index: number; readonly size: number; readonly root: Uint8Array; readonly proof: readonly Uint8Array[] }
  | { readonly op: "opens"; readonly commitment: unknown; readonly opening: Opening };

/** A driver's answer: the operation's result, or the error it threw. */
export type ReceiptAnswer = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

type ReceiptSteps<V, C, T> = Generator<ReceiptStep<V, C>, T, ReceiptAnswer>;

/** Rethrows what is not one of the ways a receipt fails (a bug, not a finding). */
function failureOf(a: ReceiptAnswer & { ok: false }): ReceiptError | CheckpointError | VerificationError {
  if (isReceiptFailure(a.error)) return a.error;
  throw a.error;
}

/** The body of a signed note, without checking its signatures. */
function noteBody(note: string): string {
  const i = note.lastIndexOf("\n\n");
  return i < 0 ? note : note.slice(0, i + 1);
}

/** The checks of {@link ReceiptChecks}, as steps. Never throws for a bad receipt. */
export function* receiptCheckSteps<V, C = never>(
  input: unknown,
  options: { readonly verifiers: readonly V[]; readonly trustReceiptKey: boolean; readonly origin?: string; readonly cosigners?: readonly C[] },
): ReceiptSteps<V, C, ReceiptChecks> {
  const failures: ReceiptFailure[] = [];
  let receipt: Receipt;
  try {
    receipt = parseReceipt(input);
  } catch (e) {
    if (!(e instanceof ReceiptError)) throw e;
    return { receipt: null, failures: [{ check: "format", error: e }], selfKeyed: false, signatureOk: null, checkpoint: null, leafHash: null, inclusionOk: null, opened: [], cosignatures: null };
  }

  // The key: a trusted one, or the receipt's own (which proves only that the receipt is self-consistent).
  let verifiers = options.verifiers;
  let selfKeyed = false;
  if (verifiers.length === 0) {
    if (!options.trustReceiptKey)
      failures.push({ check: "key", error: new ReceiptError("NO_TRUSTED_KEY", "no trusted log key given: pass the log's verifier key (or allow the receipt's own)") });
    else {
      const a = yield { op: "key", text: receipt.logKey };
      if (a.ok) {
        verifiers = [a.value as V];
        selfKeyed = true;
      } else {
        failureOf(a);
        failures.push({ check: "key", error: new ReceiptError("RECEIPT_MALFORMED", "logKey is not a valid verifier key", "/logKey", { cause: a.error }) });
      }
    }
  }

  // The signature; failing it, the checkpoint as written, so the proof is still judged.
  let checkpoint: Checkpoint | null = null;
  let signatureOk: boolean | null = null;
  if (verifiers.length > 0) {
    const a = yield { op: "checkpoint", note: receipt.checkpoint, verifiers, origin: options.origin };
    signatureOk = a.ok;
    if (a.ok) checkpoint = a.value as Checkpoint;
    else failures.push({ check: "signature", error: failureOf(a) });
  }
  if (checkpoint === null) {
    try {
      checkpoint = parseCheckpoint(noteBody(receipt.checkpoint));
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      if (signatureOk === null) failures.push({ check: "signature", error: e });
    }
  }

  // The witnesses' cosignatures on the checkpoint, when their keys were given.
  let cosignatures: readonly VerifiedCosignature[] | null = null;
  if (options.cosigners !== undefined && options.cosigners.length > 0) {
    const a = yield { op: "cosignatures", note: receipt.checkpoint, cosigners: options.cosigners };
    if (a.ok) cosignatures = (a.value as { cosignatures: readonly VerifiedCosignature[] }).cosignatures;
    else failures.push({ check: "cosignatures", error: failureOf(a) });
  }

  // The leaf hash, and the proof from it to the checkpoint's root.
  let leafHash: Uint8Array | null = null;
  let data: Uint8Array | null = null;
  try {
    data = leafData(receipt);
  } catch (e) {
    if (!(e instanceof ReceiptError)) throw e;
    failures.push({ check: "leaf", error: e });
  }
  if (data !== null) {
    const a = yield { op: "leafHash", data };
    if (!a.ok) throw a.error; // hashing bytes cannot fail: a bug
    leafHash = a.value as Uint8Array;
  }
  let inclusionOk: boolean | null = null;
  if (leafHash !== null && checkpoint !== null) {
    const a = yield {
      op: "inclusion",
      leafHash,
      index: receipt.leafIndex,
      size: checkpoint.size,
      root: checkpoint.rootHash,
      proof: receipt.inclusionProof.map((h) => fromHex(h)),
    };
    inclusionOk = a.ok;
    if (!a.ok) failures.push({ check: "inclusion", error: failureOf(a) });
  }

  // Each private value against its commitment.
  const opened: string[] = [];
  const openings = receipt.openings ?? {};
  const commitments = receipt.entry.commitments;
  for (const field of Object.keys(openings).sort()) {
    const c = isRecord(commitments) ? commitments[field] : undefined;
    if (typeof c !== "string") {
      failures.push({ check: "openings", field, error: new ReceiptError("OPENING_WITHOUT_COMMITMENT", `the entry has no commitment for ${JSON.stringify(field)}`, `/openings/${field}`) });
      continue;
    }
    const a = yield { op: "opens", commitment: c, opening: openings[field]! };
    if (a.ok && a.value === true) opened.push(field);
    else {
      if (!a.ok) failureOf(a);
      failures.push({ check: "openings", field, error: new ReceiptError("COMMITMENT_MISMATCH", `the value of ${JSON.stringify(field)} does not match its commitment in the entry`, `/openings/${field}`) });
    }
  }
  return { receipt, failures, selfKeyed, signatureOk, checkpoint, leafHash, inclusionOk, opened, cosignatures };
}

function answerSync(f: () => unknown): ReceiptAnswer {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error };
  }
}

async function answerAsync(f: () => Promise<unknown>): Promise<ReceiptAnswer> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** {@link receiptCheckSteps} with node:crypto (verifier keys from {@link parseVerifierKey}). */
export function runReceiptChecks(
  input: unknown,
  options: { readonly verifiers: readonly NoteVerifier[]; readonly trustReceiptKey: boolean; readonly origin?: string; readonly cosigners?: readonly CosignerVerifier[] },
): ReceiptChecks {
  return runSync(receiptCheckSteps<NoteVerifier, CosignerVerifier>(input, options), (s) =>
    answerSync(() => {
      switch (s.op) {
        case "key":
          return parseVerifierKey(s.text);
        case "checkpoint":
          return verifyCheckpoint(s.note, s.verifiers, s.origin);
        case "cosignatures":
          return verifyCosignatures(s.note, s.cosigners);
        case "leafHash":
          return hashLeaf(s.data);
        case "inclusion":
          return verifyInclusion(s.leafHash, s.index, s.size, s.root, s.proof);
        case "opens":
          return opensCommitment(s.commitment, s.opening);
      }
    }),
  );
}

/** {@link receiptCheckSteps} with WebCrypto, for the browser (verifier keys from parseVerifierKeyAsync). */
export function runReceiptChecksAsync(
  input: unknown,
  options: { readonly verifiers: readonly WebNoteVerifier[]; readonly trustReceiptKey: boolean; readonly origin?: string; readonly cosigners?: readonly WebCosignerVerifier[] },
): Promise<ReceiptChecks> {
  return runAsync(receiptCheckSteps<WebNoteVerifier, WebCosignerVerifier>(input, options), (s) =>
    answerAsync(async () => {
      switch (s.op) {
        case "key":
          return parseVerifierKeyAsync(s.text);
        case "checkpoint":
          return verifyCheckpointAsync(s.note, s.verifiers, s.origin);
        case "cosignatures":
          return verifyCosignaturesAsync(s.note, s.cosigners);
        case "leafHash":
          return hashLeafAsync(s.data);
        case "inclusion":
          return verifyInclusionAsync(s.leafHash, s.index, s.size, s.root, s.proof);
        case "opens":
          return opensCommitmentAsync(s.commitment, s.opening);
      }
    }),
  );
}

/** The leaf data of the receipt's entry: its RFC 8785 bytes. Throws ReceiptError if the entry is not JSON. */
export function leafData(receipt: Receipt): Uint8Array {
  try {
    return canonicalBytes(receipt.entry);
  } catch (e) {
    throw new ReceiptError("RECEIPT_MALFORMED", `entry cannot be canonicalised: ${e instanceof Error ? e.message : String(e)}`, "/entry", { cause: e });
  }
}

/** Checks every opening against the entry's commitments; returns the proved field names, sorted. */
export function checkOpenings(receipt: Receipt): string[] {
  const openings = receipt.openings ?? {};
  const commitments = receipt.entry.commitments;
  const fields = Object.keys(openings).sort();
  for (const field of fields) {
    const c = isRecord(commitments) ? commitments[field] : undefined;
    if (typeof c !== "string")
      throw new ReceiptError("OPENING_WITHOUT_COMMITMENT", `the entry has no commitment for ${JSON.stringify(field)}`, `/openings/${field}`);
    if (!opensCommitment(c, openings[field]!))
      throw new ReceiptError("COMMITMENT_MISMATCH", `the value of ${JSON.stringify(field)} does not match its commitment in the entry`, `/openings/${field}`);
  }
  return fields;
}

/** Whether an error is one of the ways a receipt fails to verify (as opposed to a bug). */
export function isReceiptFailure(e: unknown): e is ReceiptError | VerificationError | CheckpointError {
  return e instanceof ReceiptError || e instanceof VerificationError || e instanceof CheckpointError;
}
