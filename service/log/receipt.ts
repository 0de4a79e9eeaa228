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
 * `logKey` is a convenience, not a trust anchor: a receipt cannot vouch for
 * its own key. Callers pass the verifiers they trust; {@link verifyReceipt}
 * only uses the receipt's own key when told to, and says so in its result.
 *
 * Everything here reads attacker-controlled input: {@link parseReceipt}
 * turns anything malformed into a {@link ReceiptError}, and verification
 * failures surface as {@link ReceiptError}, {@link VerificationError} or
 * {@link CheckpointError}, never a stray TypeError.
 */
import { opensCommitment, type Opening } from "./commitment";
import { canonicalBytes, type JsonValue } from "./encoding";
import { CheckpointError, VerificationError } from "./errors";
import { fromHex, hashLeaf, toHex } from "./hash";
import { parseVerifierKey, verifyCheckpoint, type Checkpoint, type NoteVerifier } from "./checkpoint";
import { verifyInclusion } from "./verify";

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
  /** C2SP signed note text of the checkpoint the proof leads to. */
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

export class ReceiptError extends Error {
  override readonly name = "ReceiptError";
  constructor(
    readonly code: ReceiptErrorCode,
    message: string,
    /** Where in the receipt, as a JSON-pointer-like path (`/openings/phone`), when it applies. */
    readonly path = "",
    options?: { cause?: unknown },
  ) {
    super(path === "" ? message : `${message} (at ${path})`, options);
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
 * {@link parseReceipt} or anything it accepts.
 *
 * Throws ReceiptError (malformed, NO_TRUSTED_KEY, OPENING_WITHOUT_COMMITMENT,
 * COMMITMENT_MISMATCH), CheckpointError (bad signature, wrong key, malformed
 * note) or VerificationError (the proof does not lead to the root).
 */
export function verifyReceipt(input: unknown, options: VerifyReceiptOptions = {}): ReceiptCheck {
  const receipt = parseReceipt(input);
  let verifiers: readonly NoteVerifier[] =
    options.verifiers === undefined ? [] : Array.isArray(options.verifiers) ? options.verifiers : [options.verifiers as NoteVerifier];
  let selfKeyed = false;
  if (verifiers.length === 0) {
    if (options.trustReceiptKey !== true)
      throw new ReceiptError("NO_TRUSTED_KEY", "no trusted log key given: pass the log's verifier key (or allow the receipt's own)");
    try {
      verifiers = [parseVerifierKey(receipt.logKey)];
    } catch (e) {
      throw new ReceiptError("RECEIPT_MALFORMED", "logKey is not a valid verifier key", "/logKey", { cause: e });
    }
    selfKeyed = true;
  }

  const checkpoint = verifyCheckpoint(receipt.checkpoint, verifiers, options.origin);
  const leafHash = hashLeaf(leafData(receipt));
  verifyInclusion(
    leafHash,
    receipt.leafIndex,
    checkpoint.size,
    checkpoint.rootHash,
    receipt.inclusionProof.map((h) => fromHex(h)),
  );
  const opened = checkOpenings(receipt);
  return {
    leafHash,
    checkpoint,
    selfKeyed,
    opened,
    chainClaim: {
      chainId: receipt.anchor.chainId,
      contract: receipt.anchor.contract,
      checkpointIndex: receipt.anchor.checkpointIndex,
      size: checkpoint.size,
      rootHex: `0x${toHex(checkpoint.rootHash)}`,
    },
  };
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
