/**
 * Receipt mode: the log core's receipt checks (service/log/receipt.ts
 * `receiptCheckSteps`, run with node:crypto), each reported on its own so
 * every failure is shown, not only the first: shape and version, the
 * checkpoint's signature against a trusted log key (or, failing one, the
 * receipt's own key, reported as such), the leaf hash and the inclusion
 * proof to the checkpoint's root, every private value against its
 * commitment; then, given a chain, that LedgerAnchor holds the checkpoint
 * at the index the receipt names (or, failing that, anywhere); given a
 * witness policy, which of its witnesses cosigned the checkpoint and whether
 * their quorum is met. The verdict says which trust anchors stood behind the
 * checks ({@link ReceiptVerdict}).
 */
import { quorumSatisfied, vouchingWitnesses, type WitnessPolicy } from "../../../service/format/witness-policy";
import {
  CheckpointError,
  encodeVerifierKey,
  fromHex,
  splitSignedNote,
  ReceiptError,
  runReceiptChecks,
  toHex,
  VerificationError,
  type Checkpoint,
  type NoteVerifier,
  type Receipt,
  type ReceiptFailure,
} from "../../../service/log";
import { checkAnchorClaim, type AnchorViews } from "../../../service/format/anchor-claim";
import { rootHex, type ChainReader } from "./chain";

export const RECEIPT_REPORT_FORMAT = "subsidy-ledger.receipt-check";

export interface ReceiptCheckItem {
  readonly check: "format" | "signature" | "witnesses" | "inclusion" | "commitments" | "chain";
  /** null: not checked. */
  readonly ok: boolean | null;
  readonly detail: string;
}

/**
 * What a receipt check concludes. A receipt is checked against two trust
 * anchors: a log key the auditor got elsewhere (--log-key) and a contract
 * they name (--contract) read through --rpc. Its own key and the contract it
 * names prove only that it is self-consistent. Chosen: only both anchors
 * make it "verified"; one of them is a partial verdict of its own, and
 * neither is "unverified", never "valid".
 * - "verified": every check passed, signed with the trusted key, anchored on the given contract (exit 0);
 * - "invalid": a check failed (exit 1);
 * - "unverified": consistent in itself, checked against nothing trusted (exit 3);
 * - "trusted-key-only": signed with the trusted key; not checked on a contract the auditor named (exit 4);
 * - "trusted-chain-only": anchored on the given contract; the signature not checked with a trusted key (exit 4);
 * - "verified-by-witnesses": every check passed, signed with the trusted key, and cosigned by a quorum of
 *   the witnesses of a policy the auditor gave (--witness-policy): those witnesses vouch that the log showed
 *   them this checkpoint as an extension of everything they saw before, which stands in for the chain read,
 *   so this verdict needs no network at all (exit 0). Cosignatures from keys outside the policy count for nothing.
 */
export type ReceiptVerdict = "verified" | "verified-by-witnesses" | "invalid" | "unverified" | "trusted-key-only" | "trusted-chain-only";

/** The CLI's exit code for each verdict (2 is "could not complete", for errors). */
export const RECEIPT_EXIT_CODES: Readonly<Record<ReceiptVerdict, number>> = {
  verified: 0,
  "verified-by-witnesses": 0,
  invalid: 1,
  unverified: 3,
  "trusted-key-only": 4,
  "trusted-chain-only": 4,
};

export interface ReceiptReport {
  readonly format: typeof RECEIPT_REPORT_FORMAT;
  readonly version: 1;
  /** No check failed (which alone does not make the receipt verified: see `verdict`). */
  readonly ok: boolean;
  readonly verdict: ReceiptVerdict;
  /** The trust anchors that were used, and what was left unchecked. */
  readonly trust: {
    readonly key: "given" | "receipt" | "none";
    readonly chain: "given contract" | "contract named by the receipt" | "not read";
    readonly notChecked: readonly string[];
  };
  readonly entry: { readonly id: string | null; readonly kind: string | null; readonly leafIndex: number } | null;
  readonly checkpoint: { readonly origin: string; readonly size: number; readonly rootHex: string } | null;
  readonly key: { readonly used: string | null; readonly source: "given" | "receipt" | "none" };
  readonly openings: readonly string[];
  /** Given a witness policy: who vouched, and whether the quorum is met; null without a policy. */
  readonly witnesses: {
    readonly quorum: string;
    readonly vouched: readonly string[];
    readonly satisfied: boolean;
    /** Signature lines on the checkpoint from keys that are neither the trusted log key nor a policy witness: ignored. */
    readonly ignoredLines: number;
  } | null;
  readonly checks: readonly ReceiptCheckItem[];
  readonly notices: readonly string[];
}

export interface ReceiptCheckOptions {
  /** Trusted log keys; empty: the receipt's own key is used, and the report says so. */
  readonly verifiers: readonly NoteVerifier[];
  /** The chain to check the anchor on; null: not checked. */
  readonly chain: ChainReader | null;
  /** The contract the chain reader reads (to compare with the receipt's). */
  readonly contract?: string;
  /** The witnesses the auditor trusts, and their quorum (--witness-policy). */
  readonly policy?: WitnessPolicy;
}

function describe(e: unknown): string {
  if (e instanceof ReceiptError || e instanceof VerificationError || e instanceof CheckpointError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Checks a receipt (JSON text or parsed). Never throws for a bad receipt; an unreachable chain throws AuditError. */
export async function checkReceipt(input: unknown, options: ReceiptCheckOptions): Promise<ReceiptReport> {
  const checks: ReceiptCheckItem[] = [];
  const notices: string[] = [];
  const policy = options.policy;
  const r = runReceiptChecks(input, { verifiers: options.verifiers, trustReceiptKey: true, ...(policy !== undefined ? { cosigners: policy.witnesses.map((w) => w.cosigner) } : {}) });
  const failed = (check: ReceiptFailure["check"]) => r.failures.filter((f) => f.check === check);
  if (r.receipt === null) {
    checks.push({ check: "format", ok: false, detail: describe(r.failures[0]!.error) });
    return {
      format: RECEIPT_REPORT_FORMAT,
      version: 1,
      ok: false,
      verdict: "invalid",
      trust: { key: "none", chain: "not read", notChecked: ["anything else: the receipt cannot be read"] },
      entry: null,
      checkpoint: null,
      key: { used: null, source: "none" },
      openings: [],
      witnesses: null,
      checks,
      notices,
    };
  }
  const receipt = r.receipt;
  checks.push({ check: "format", ok: true, detail: `receipt version ${receipt.version}` });
  const entry = {
    id: typeof receipt.entry["id"] === "string" ? (receipt.entry["id"] as string) : null,
    kind: typeof receipt.entry["kind"] === "string" ? (receipt.entry["kind"] as string) : null,
    leafIndex: receipt.leafIndex,
  };

  // The key: a trusted one, or the receipt's own (which proves only that the receipt is self-consistent).
  const keySource: ReceiptReport["key"]["source"] = !r.selfKeyed && options.verifiers.length > 0 ? "given" : r.selfKeyed ? "receipt" : "none";
  const keyFailure = failed("key")[0];
  if (keyFailure !== undefined) checks.push({ check: "signature", ok: false, detail: `no --log-key given and the receipt's logKey is not a valid key: ${describe(keyFailure.error)}` });
  else if (r.selfKeyed)
    notices.push(`no trusted log key was given (--log-key): the signature was checked with the key the receipt carries, ${receipt.logKey}; compare it with a copy you trust`);
  else if (!options.verifiers.some((v) => receipt.logKey === encodeKeyOf(v)))
    notices.push(`the receipt names another log key (${receipt.logKey}) than the trusted one; only the trusted key was used`);

  // Signature, then the leaf hash and the inclusion proof (judged against the checkpoint as written if its signature failed).
  const signatureFailure = failed("signature")[0];
  if (r.signatureOk === true) checks.push({ check: "signature", ok: true, detail: `signed by ${(keySource === "given" ? options.verifiers.map((v) => v.name) : [receipt.logKey.split("+")[0]!]).join(", ")}` });
  else if (r.signatureOk === false && signatureFailure !== undefined)
    checks.push({ check: "signature", ok: false, detail: `the checkpoint does not verify with the ${keySource === "given" ? "trusted" : "receipt's"} log key: ${describe(signatureFailure.error)}` });
  // The witnesses: who of the policy cosigned this checkpoint, and whether that is a quorum.
  let witnesses: ReceiptReport["witnesses"] = null;
  if (policy !== undefined) {
    const cosFailure = failed("cosignatures")[0];
    const vouchedSet = r.cosignatures === null ? new Set<string>() : vouchingWitnesses(policy, r.cosignatures);
    const vouched = policy.witnesses.map((w) => w.name).filter((n) => vouchedSet.has(n));
    const satisfied = cosFailure === undefined && quorumSatisfied(policy, vouchedSet);
    witnesses = { quorum: policy.quorum, vouched, satisfied, ignoredLines: ignoredLines(receipt.checkpoint, options.verifiers, policy) };
    if (cosFailure !== undefined) checks.push({ check: "witnesses", ok: false, detail: `a policy witness's cosignature does not verify: ${describe(cosFailure.error)}` });
    else
      checks.push({
        check: "witnesses",
        ok: satisfied ? true : null,
        detail: `vouched by ${vouched.join(", ") || "no witness of the policy"}: quorum ${policy.quorum} ${satisfied ? "met" : "not met"}`,
      });
    if (witnesses.ignoredLines > 0)
      notices.push(`${witnesses.ignoredLines} signature line(s) on the checkpoint come from keys that are neither the trusted log key nor a witness of the policy: they count for nothing`);
  }

  const cp = r.checkpoint;
  if (cp === null && signatureFailure !== undefined && r.signatureOk !== false) checks.push({ check: "inclusion", ok: false, detail: `the checkpoint cannot be read: ${describe(signatureFailure.error)}` });
  else if (cp === null && r.signatureOk === false) checks.push({ check: "inclusion", ok: false, detail: "the checkpoint cannot be read" });
  const proofFailure = failed("leaf")[0] ?? failed("inclusion")[0];
  if (cp !== null) {
    if (proofFailure !== undefined) checks.push({ check: "inclusion", ok: false, detail: `the entry is not proved into the checkpoint's tree: ${describe(proofFailure.error)}` });
    else if (r.inclusionOk === true && r.leafHash !== null)
      checks.push({ check: "inclusion", ok: true, detail: `leaf ${receipt.leafIndex} (hash ${toHex(r.leafHash).slice(0, 16)}…) is in the tree of size ${cp.size}` });
  }

  // Private values, each on its own.
  for (const f of failed("openings"))
    checks.push({
      check: "commitments",
      ok: false,
      detail: f.error instanceof ReceiptError && f.error.code === "OPENING_WITHOUT_COMMITMENT" ? `${f.field}: the entry has no commitment for it` : `${f.field}: the value and salt do not hash to the entry's commitment`,
    });
  const opened = [...r.opened];
  if (opened.length > 0) checks.push({ check: "commitments", ok: true, detail: `${opened.join(", ")} match their commitments` });
  else if (Object.keys(receipt.openings ?? {}).length === 0) checks.push({ check: "commitments", ok: null, detail: "no private values in this receipt (the public receipt has none)" });

  // The chain.
  if (options.chain === null) {
    checks.push({ check: "chain", ok: null, detail: "not checked: give --rpc (and --contract) to check the checkpoint is anchored" });
  } else if (cp !== null) {
    checks.push(await checkAnchor(receipt, cp, options.chain, options.contract, notices));
  }

  const ok = checks.every((c) => c.ok !== false);
  const chainTrust: ReceiptReport["trust"]["chain"] = options.chain === null ? "not read" : options.contract !== undefined ? "given contract" : "contract named by the receipt";
  const keyTrusted = keySource === "given";
  const chainTrusted = chainTrust === "given contract";
  const quorum = witnesses?.satisfied === true;
  const notChecked: string[] = [];
  if (!keyTrusted) notChecked.push("the signature against a log key you trust (give --log-key)");
  if (chainTrust === "not read")
    notChecked.push(quorum ? "that the checkpoint is anchored on the chain (the witness quorum stands in for it; give --rpc and --contract to check it too)" : "that the checkpoint is anchored on the chain (give --rpc and --contract)");
  else if (!chainTrusted) notChecked.push("that the contract is the agency's: the one the receipt names was read (give --contract)");
  const verdict: ReceiptVerdict = !ok
    ? "invalid"
    : keyTrusted && chainTrusted
      ? "verified"
      : keyTrusted && quorum
        ? "verified-by-witnesses"
        : keyTrusted
          ? "trusted-key-only"
          : chainTrusted
            ? "trusted-chain-only"
            : "unverified";
  return {
    format: RECEIPT_REPORT_FORMAT,
    version: 1,
    ok,
    verdict,
    trust: { key: keySource, chain: chainTrust, notChecked },
    entry,
    checkpoint: cp === null ? null : { origin: cp.origin, size: cp.size, rootHex: `0x${toHex(cp.rootHash)}` },
    key: { used: keySource === "none" ? null : keySource === "given" ? options.verifiers.map(encodeKeyOf).join(" ") : receipt.logKey, source: keySource },
    openings: opened,
    witnesses,
    checks,
    notices,
  };
}

/** How many signature lines of the note are from neither a trusted log key nor a policy witness. */
function ignoredLines(note: string, verifiers: readonly NoteVerifier[], policy: WitnessPolicy): number {
  let lines;
  try {
    lines = splitSignedNote(note).signatures;
  } catch {
    return 0;
  }
  const known = new Set([...verifiers.map((v) => `${v.name}\n${v.keyId}`), ...policy.witnesses.map((w) => `${w.cosigner.name}\n${w.cosigner.keyId}`)]);
  return lines.filter((l) => !known.has(`${l.name}\n${l.keyId}`)).length;
}

function encodeKeyOf(v: NoteVerifier): string {
  return encodeVerifierKey(v.name, v.publicKey);
}

/**
 * The chain check is service/format's {@link checkAnchorClaim} (the portal's
 * too), over `chain` read as the contract given, or the receipt's own when
 * none was (the verdict then says the contract was not a trusted one).
 */
async function checkAnchor(receipt: Receipt, cp: Checkpoint, chain: ChainReader, contract: string | undefined, notices: string[]): Promise<ReceiptCheckItem> {
  const a = receipt.anchor;
  const views: AnchorViews = {
    address: contract ?? a.contract,
    chainId: () => chain.chainId(),
    checkpointCount: () => chain.checkpointCount(),
    checkpointAt: async (index) => {
      const c = await chain.checkpointAt(index);
      return { treeSize: c.size, timestamp: c.timestamp, rootHex: rootHex(c.root) };
    },
    isAnchored: (size, root) => chain.isAnchored(size, fromHex(root.slice(2))),
  };
  const r = await checkAnchorClaim(views, { chainId: a.chainId, contract: a.contract, checkpointIndex: a.checkpointIndex, size: cp.size, rootHex: rootHex(cp.rootHash) });
  if (r.verdict === "anchored-elsewhere") notices.push(r.notice);
  return { check: "chain", ok: r.ok, detail: r.detail };
}
