/**
 * In-browser verification, step by step. A receipt is checked by the log
 * core's receipt checks run with WebCrypto (service/log/receipt.ts
 * `runReceiptChecksAsync`: the leaf hash of the entry's RFC 8785 bytes, the
 * checkpoint's Ed25519 signature under the log key, the inclusion proof to
 * that checkpoint, each private value against its commitment); this page
 * renders them, and checks the receipt's anchor on this ledger's contract
 * (/v1/chain), read from the chain itself when an RPC URL is configured; a
 * receipt naming another contract or chain is refused.
 *
 * Every outcome is final: a failure names what did not match.
 */
import {
  canonicalBytes,
  equalBytes,
  fromHex,
  hashLeafAsync,
  parseReceipt,
  ReceiptError,
  runReceiptChecksAsync,
  toHex,
  VerificationError,
  verifyInclusionAsync,
  type Receipt,
  type ReceiptChecks,
  type WebNoteVerifier,
} from "../log";
import { checkAnchorClaim, checkCosignedCheckpointAsync, otherAnchor, type AnchorCheckpoint, type AnchorClaimResult, type WebWitnessPolicy } from "../format";
import { ApiError, getJson, type ChainInfo, type EntryView, type InclusionProofView } from "./api";
import { anchorReader, checkpointAt } from "./chain";
import { dict, fill } from "./i18n";

function fieldLabel(name: string): string {
  return (dict().fields as Record<string, string>)[name] ?? name;
}

export type StepKey = "leaf" | "signature" | "inclusion" | "witnesses" | "chain" | "openings";
export type StepStatus = "ok" | "fail" | "skipped";

export interface StepResult {
  readonly key: StepKey;
  readonly status: StepStatus;
  /** Why it failed, in the current language and in words. */
  readonly failure?: string;
  /** What the failure means for the reader, in the current language. */
  readonly meaning?: string;
  /** The technical evidence (hashes, error codes), shown on request. */
  readonly detail?: string;
}

export interface AnchorInfo {
  readonly chainId: number;
  readonly contract: string;
  readonly checkpointIndex: number;
  readonly txHash: string | null;
  readonly blockNumber: number | null;
  readonly anchoredAt: string | null;
  readonly size: number;
  readonly rootHex: string;
  /** "rpc": read from the chain by this page; "service": the service's word. */
  readonly source: "rpc" | "service";
}

export type Outcome =
  | {
      readonly state: "verified" | "failed";
      readonly steps: StepResult[];
      readonly failure?: string;
      /** The first step that failed. */
      readonly failedStep?: StepResult;
      /** True when the record's content itself is not what the ledger committed to (it must be shown as untrusted). */
      readonly contentUntrusted: boolean;
      readonly leafHashHex?: string;
      readonly anchor?: AnchorInfo;
      readonly cryptoMs: number;
      readonly totalMs: number;
      readonly opened?: string[];
      /** The policy's witnesses and which of them cosigned the checkpoint, when a policy is pinned. */
      readonly witnesses?: WitnessInfo;
    }
  | { readonly state: "pending"; readonly anchoredSize: number; readonly retryAfter: number };

export interface WitnessInfo {
  readonly all: readonly string[];
  readonly vouched: readonly string[];
  readonly satisfied: boolean;
}

export interface VerifyContext {
  /** The pinned witness policy (/portal/trust), or null when the service serves none. */
  readonly policy: WebWitnessPolicy | null;
  /** True when the service's /v1/log/key is not the pinned log key. */
  readonly serviceKeyDiffers: boolean;
  /** The log key the page trusts (the service's /v1/log/key). */
  readonly logKey: WebNoteVerifier;
  readonly logKeyText: string;
  /** The chain's JSON-RPC URL, when configured: then the checkpoint is read from the chain. */
  readonly rpcUrl: string | null;
  /** What the service says of the chain (/v1/chain), or null when anchoring is off. */
  readonly chain: ChainInfo | null;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type MeaningKey = keyof ReturnType<typeof dict>["meaning"];
const STEP_MEANING: Readonly<Record<StepKey, MeaningKey>> = { leaf: "leaf", signature: "signature", inclusion: "inclusion", witnesses: "witnesses", chain: "chain", openings: "opening" };

/**
 * The witness step: the checkpoint's cosignatures against the pinned policy.
 * Not a step at all when no witnesses are pinned (the page says so instead).
 */
async function checkWitnesses(steps: Steps, ctx: VerifyContext, note: string): Promise<WitnessInfo | undefined> {
  const policy = ctx.policy;
  if (policy === null || policy.witnesses.length === 0) return undefined;
  const f = dict().failures;
  const all = policy.witnesses.map((w) => w.name);
  try {
    const r = await checkCosignedCheckpointAsync(note, policy);
    if (r.satisfied) steps.ok("witnesses");
    else steps.fail("witnesses", fill(f.witnessesQuorum, { quorum: policy.quorum, vouched: r.vouched.length === 0 ? "—" : r.vouched.join(", ") }));
    return { all, vouched: [...r.vouched], satisfied: r.satisfied };
  } catch (e) {
    steps.fail("witnesses", f.witnessesInvalid, { detail: message(e) });
    return { all, vouched: [], satisfied: false };
  }
}

class Steps {
  list: StepResult[] = [];
  failure: string | undefined;
  failed: StepResult | undefined;
  ok(key: StepKey): void {
    this.list.push({ key, status: "ok" });
  }
  fail(key: StepKey, failure: string, extra: { meaning?: MeaningKey; detail?: string } = {}): void {
    const step: StepResult = { key, status: "fail", failure, meaning: dict().meaning[extra.meaning ?? STEP_MEANING[key]], ...(extra.detail ? { detail: extra.detail } : {}) };
    // A step that was marked as holding and then found not to hold is replaced, never listed as both.
    const at = this.list.findIndex((x) => x.key === key && x.status === "ok");
    if (at >= 0) this.list[at] = step;
    else this.list.push(step);
    this.failure ??= failure;
    this.failed ??= step;
  }
  skip(key: StepKey): void {
    this.list.push({ key, status: "skipped" });
  }
}

function failInclusion(steps: Steps, e: unknown): void {
  const f = dict().failures;
  if (e instanceof VerificationError && e.code === "ROOT_MISMATCH" && e.detail.calculated && e.detail.expected)
    steps.fail("inclusion", f.inclusion, { detail: fill(f.inclusionDetail, { calculated: toHex(e.detail.calculated), expected: toHex(e.detail.expected) }) });
  else steps.fail("inclusion", f.inclusionOther, { detail: message(e) });
}

/**
 * The chain step: the receipt's anchor claim against this ledger's chain and
 * contract (/v1/chain). A claim that names another chain or contract is
 * refused. With an RPC URL the trusted contract itself is read, through the
 * auditor's check (service/format `checkAnchorClaim`); without one the page
 * has only the service's word for the chain.
 */
async function checkChain(
  steps: Steps,
  ctx: VerifyContext,
  claim: { chainId: number; contract: string; checkpointIndex: number; txHash: string | null; blockNumber: number | null; anchoredAt: string | null },
  size: number,
  rootHex: string,
): Promise<AnchorInfo | undefined> {
  const f = dict().failures;
  const trusted = ctx.chain;
  if (trusted === null) {
    steps.fail("chain", f.chainNoContract, { meaning: "chainClaim" });
    return undefined;
  }
  const other = otherAnchor(claim, trusted.chainId, trusted.contract);
  if (other !== null) {
    refuseClaim(steps, claim, other);
    return undefined;
  }
  if (ctx.rpcUrl !== null) {
    let r: AnchorClaimResult;
    try {
      r = await checkAnchorClaim(anchorReader(ctx.rpcUrl, trusted.contract), { chainId: claim.chainId, contract: claim.contract, checkpointIndex: claim.checkpointIndex, size, rootHex });
    } catch (e) {
      steps.fail("chain", f.chainRead, { meaning: "chainRead", detail: message(e) });
      return undefined;
    }
    const at = (c: AnchorCheckpoint): AnchorInfo => ({ ...claim, contract: trusted.contract, anchoredAt: new Date(c.timestamp * 1000).toISOString(), size: c.treeSize, rootHex: c.rootHex, source: "rpc" });
    switch (r.verdict) {
      case "anchored":
        steps.ok("chain");
        return at(r.checkpoint);
      case "anchored-elsewhere":
        steps.ok("chain");
        return { ...claim, contract: trusted.contract, size, rootHex, source: "rpc" };
      case "other-chain":
      case "other-contract":
        refuseClaim(steps, claim, r, r.detail);
        return undefined;
      case "not-anchored":
        if (r.atIndex === null) {
          steps.fail("chain", f.chain, { detail: fill(f.chainDetailNone, { count: r.count, size, root: rootHex }) });
          return undefined;
        }
        steps.fail("chain", f.chain, { detail: fill(f.chainDetail, { chainSize: r.atIndex.treeSize, chainRoot: r.atIndex.rootHex, size, root: rootHex }) });
        return at(r.atIndex);
    }
  }
  // Without an RPC URL: the service's anchored checkpoint when the receipt cites it, else the receipt's own word.
  const a = trusted.anchored !== null && trusted.anchored.checkpointIndex === claim.checkpointIndex ? trusted.anchored : { size, rootHex, anchoredAt: claim.anchoredAt };
  const anchor: AnchorInfo = { ...claim, anchoredAt: a.anchoredAt ?? claim.anchoredAt, size: a.size, rootHex: a.rootHex, source: "service" };
  if (a.size !== size || a.rootHex.toLowerCase() !== rootHex.toLowerCase())
    steps.fail("chain", f.chain, { detail: fill(f.chainDetail, { chainSize: a.size, chainRoot: a.rootHex, size, root: rootHex }) });
  else steps.ok("chain");
  return anchor;
}

/** A claim naming another chain or contract than this ledger's: the chain step fails, saying which. */
function refuseClaim(steps: Steps, claim: { chainId: number; contract: string }, r: Extract<AnchorClaimResult, { verdict: "other-chain" | "other-contract" }>, detail?: string): void {
  const f = dict().failures;
  const failure = r.verdict === "other-chain" ? fill(f.chainOtherChain, { claimed: claim.chainId, served: r.chainId }) : fill(f.chainOtherContract, { claimed: claim.contract, trusted: r.trustedContract });
  steps.fail("chain", failure, { meaning: "chainClaim", ...(detail !== undefined ? { detail } : {}) });
}

/** The signature and inclusion steps, as the receipt checks found them (inclusion is judged only under a valid signature). */
function renderProof(steps: Steps, r: ReceiptChecks): void {
  const f = dict().failures;
  const signature = r.failures.find((x) => x.check === "signature" || x.check === "key");
  if (r.signatureOk === true) steps.ok("signature");
  else steps.fail("signature", f.signature, { detail: signature === undefined ? "" : `${signature.error.code}: ${signature.error.message}` });
  if (r.signatureOk !== true) steps.skip("inclusion");
  else if (r.inclusionOk === true) steps.ok("inclusion");
  else failInclusion(steps, r.failures.find((x) => x.check === "inclusion" || x.check === "leaf")?.error);
}

async function checkInclusion(steps: Steps, leafHash: Uint8Array, index: number, size: number, root: Uint8Array, proofHex: readonly string[]): Promise<void> {
  try {
    await verifyInclusionAsync(leafHash, index, size, root, proofHex.map((h) => fromHex(h)));
    steps.ok("inclusion");
  } catch (e) {
    failInclusion(steps, e);
  }
}

/** Steps that, when they fail, mean the record's content is not the one the ledger committed to. */
const CONTENT_STEPS: ReadonlySet<StepKey> = new Set(["leaf", "inclusion", "openings"]);

function finish(steps: Steps, started: number, cryptoMs: number, extra: { leafHashHex?: string; anchor?: AnchorInfo; opened?: string[]; witnesses?: WitnessInfo }): Outcome {
  const inclusionFailed = steps.list.some((x) => x.key === "inclusion" && x.status === "fail" && x.meaning === dict().meaning.inclusion);
  // The leaf hash was computed, but it is not the hash the ledger committed to: that step does not hold either.
  if (inclusionFailed) steps.list = steps.list.map((x) => (x.key === "leaf" && x.status === "ok" ? { key: "leaf", status: "fail", failure: dict().failures.leafNotCommitted, meaning: dict().meaning.inclusion } : x));
  return {
    state: steps.failure === undefined ? "verified" : "failed",
    steps: steps.list,
    contentUntrusted: steps.list.some((x) => x.status === "fail" && CONTENT_STEPS.has(x.key)),
    ...(steps.failed !== undefined ? { failedStep: steps.failed } : {}),
    ...(steps.failure !== undefined ? { failure: steps.failure } : {}),
    ...extra,
    cryptoMs,
    totalMs: performance.now() - started,
  };
}

/**
 * Verifies one entry as the page shows it: its leaf hash, the receipt's
 * checkpoint signature and inclusion proof, and the anchored checkpoint.
 * If the service cannot give a receipt (it refuses to issue one that does not
 * verify), the proof is taken from /v1/log/proof/inclusion and checked
 * against the anchored root directly, so the failure still says what differs.
 */
export async function verifyEntry(view: EntryView, ctx: VerifyContext): Promise<Outcome> {
  const started = performance.now();
  const steps = new Steps();
  const f = dict().failures;
  let cryptoMs = 0;

  let leafBytes: Uint8Array;
  let leafHash: Uint8Array;
  let t0 = performance.now();
  try {
    leafBytes = canonicalBytes(view.entry);
    leafHash = await hashLeafAsync(leafBytes);
  } catch (e) {
    steps.fail("leaf", f.leaf, { detail: message(e) });
    return finish(steps, started, performance.now() - t0, {});
  }
  cryptoMs += performance.now() - t0;
  steps.ok("leaf");
  const leafHashHex = toHex(leafHash);

  let receipt: Receipt | undefined;
  let serviceError: ApiError | undefined;
  try {
    receipt = parseReceipt(await getJson<unknown>(`/v1/entries/${encodeURIComponent(view.id)}/receipt`));
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return { state: "pending", anchoredSize: ctx.chain?.anchored?.size ?? 0, retryAfter: e.retryAfter ?? 2 };
    if (e instanceof ApiError) serviceError = e;
    else if (e instanceof ReceiptError) {
      steps.fail("signature", f.receipt, { meaning: "receipt", detail: e.message });
      return finish(steps, started, cryptoMs, { leafHashHex });
    } else throw e;
  }

  if (receipt !== undefined) {
    if (!equalBytes(canonicalBytes(receipt.entry), leafBytes)) steps.fail("leaf", f.entryMismatch, { meaning: "entryMismatch" });
    t0 = performance.now();
    const r = await runReceiptChecksAsync(receipt, { verifiers: [ctx.logKey], trustReceiptKey: false });
    renderProof(steps, r);
    const cp = r.signatureOk === true ? r.checkpoint! : undefined;
    const witnesses = cp === undefined ? undefined : await checkWitnesses(steps, ctx, receipt.checkpoint);
    cryptoMs += performance.now() - t0;
    if (receipt.leafIndex !== view.leafIndex) steps.fail("inclusion", f.inclusionOther, { detail: `leaf index ${receipt.leafIndex} ≠ ${view.leafIndex}` });
    const anchor = cp === undefined ? undefined : await checkChain(steps, ctx, receipt.anchor, cp.size, `0x${toHex(cp.rootHash)}`);
    return finish(steps, started, cryptoMs, { leafHashHex, ...(anchor ? { anchor } : {}), ...(witnesses ? { witnesses } : {}) });
  }

  // No receipt: the anchored root, from the chain or the service, and the service's proof at that size.
  const anchored = ctx.chain?.anchored ?? null;
  if (ctx.chain === null || anchored === null) {
    steps.fail("inclusion", f.service, { meaning: "service", detail: `HTTP ${serviceError?.status ?? 0}: ${serviceError?.message ?? ""}` });
    return finish(steps, started, cryptoMs, { leafHashHex });
  }
  let root = anchored.rootHex;
  let size = anchored.size;
  let anchor: AnchorInfo = { chainId: ctx.chain.chainId, contract: ctx.chain.contract, ...anchored, source: "service" };
  if (ctx.rpcUrl !== null) {
    try {
      const cp = await checkpointAt(ctx.rpcUrl, ctx.chain.contract, anchored.checkpointIndex);
      root = cp.rootHex;
      size = cp.size;
      anchor = { ...anchor, size, rootHex: root, anchoredAt: new Date(cp.timestamp * 1000).toISOString(), source: "rpc" };
      steps.ok("chain");
    } catch (e) {
      steps.fail("chain", f.chainRead, { meaning: "chainRead", detail: message(e) });
    }
  }
  if (view.leafIndex >= size) return { state: "pending", anchoredSize: size, retryAfter: 2 };
  steps.skip("signature");
  let proof: InclusionProofView;
  try {
    proof = await getJson<InclusionProofView>(`/v1/log/proof/inclusion?index=${view.leafIndex}&size=${size}`);
  } catch (e) {
    steps.fail("inclusion", f.service, { meaning: "service", detail: `HTTP ${e instanceof ApiError ? e.status : 0}: ${message(e)}` });
    return finish(steps, started, cryptoMs, { leafHashHex, anchor });
  }
  t0 = performance.now();
  await checkInclusion(steps, leafHash, view.leafIndex, size, fromHex(root), proof.proof);
  cryptoMs += performance.now() - t0;
  if (steps.failure === undefined) steps.fail("signature", f.service, { meaning: "service", detail: `HTTP ${serviceError?.status ?? 0}: ${serviceError?.message ?? ""}` });
  return finish(steps, started, cryptoMs, { leafHashHex, anchor });
}

/** Verifies a receipt file: its shape, leaf hash, signature, proof, openings and the chain. */
export async function verifyReceiptFile(text: string, ctx: VerifyContext): Promise<{ outcome: Outcome; receipt?: Receipt; keyMismatch: boolean }> {
  const started = performance.now();
  const steps = new Steps();
  const f = dict().failures;
  const t0 = performance.now();
  const r = await runReceiptChecksAsync(text, { verifiers: [ctx.logKey], trustReceiptKey: false });
  const cryptoMs = performance.now() - t0;
  if (r.receipt === null) {
    const e = r.failures[0]!.error;
    steps.fail("leaf", f.receipt, { meaning: "receipt", detail: `${e.code}: ${e.message}` });
    return { outcome: finish(steps, started, 0, {}), keyMismatch: false };
  }
  const receipt = r.receipt;
  const leafFailure = r.failures.find((x) => x.check === "leaf");
  if (leafFailure !== undefined || r.leafHash === null) {
    steps.fail("leaf", f.leaf, { detail: leafFailure?.error.message ?? "" });
    return { outcome: finish(steps, started, cryptoMs, {}), receipt, keyMismatch: false };
  }
  steps.ok("leaf");
  renderProof(steps, r);
  if (receipt.openings !== undefined) {
    const bad = r.failures.find((x) => x.check === "openings");
    if (bad !== undefined) steps.fail("openings", fill(f.opening, { field: fieldLabel(bad.field ?? "") }), { meaning: "opening", detail: bad.field ?? "" });
    else steps.ok("openings");
  }
  const cp = r.signatureOk === true ? r.checkpoint! : undefined;
  const witnesses = cp === undefined ? undefined : await checkWitnesses(steps, ctx, receipt.checkpoint);
  const anchor = cp === undefined ? undefined : await checkChain(steps, ctx, receipt.anchor, cp.size, `0x${toHex(cp.rootHash)}`);
  return {
    outcome: finish(steps, started, cryptoMs, { leafHashHex: toHex(r.leafHash), ...(anchor ? { anchor } : {}), opened: [...r.opened], ...(witnesses ? { witnesses } : {}) }),
    receipt,
    keyMismatch: receipt.logKey.trim() !== ctx.logKeyText.trim(),
  };
}
