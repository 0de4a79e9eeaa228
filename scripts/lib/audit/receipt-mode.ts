/**
 * `--receipt`, loaded only when given: one receipt checked by
 * ./receipt-check.ts against the trust anchors given (--log-key, --rpc with
 * --contract, --witness-policy), and the verdict printed.
 */
import { readFile } from "node:fs/promises";
import type { NoteVerifier } from "../../../service/log";
import type { VerifyIo, VerifyOptions } from "../../verify";
import type { ChainReader } from "./chain";
import { AuditError, messageOf } from "./errors";
import { n } from "./format";
import { checkReceipt, RECEIPT_EXIT_CODES, type ReceiptReport, type ReceiptVerdict } from "./receipt-check";
import { readPolicy } from "./witnesses";

/** The first line of a receipt check, per verdict: it says what stood behind the checks. */
export const RECEIPT_HEADLINES: Readonly<Record<ReceiptVerdict, string>> = {
  verified: "RECEIPT VERIFIED: signed with the trusted log key and anchored on the contract given",
  "verified-by-witnesses": "RECEIPT VERIFIED BY LOG KEY AND WITNESS QUORUM: signed with the trusted log key and cosigned by a quorum of the witness policy given",
  invalid: "RECEIPT INVALID",
  unverified: "RECEIPT CONSISTENT, NOT VERIFIED AGAINST ANY TRUSTED KEY OR CHAIN",
  "trusted-key-only": "RECEIPT SIGNED WITH THE TRUSTED LOG KEY, NOT VERIFIED ON THE CHAIN",
  "trusted-chain-only": "RECEIPT ANCHORED ON THE CONTRACT GIVEN, SIGNATURE NOT CHECKED WITH A TRUSTED KEY",
};

export async function receiptMode(o: VerifyOptions, io: VerifyIo, readKey: (arg: string) => NoteVerifier): Promise<number> {
  let text: string;
  try {
    text = await readFile(o.receipt!, "utf8");
  } catch (e) {
    throw new AuditError("UNREACHABLE", `cannot read the receipt ${o.receipt}: ${messageOf(e)}`);
  }
  const verifiers = o.logKey !== undefined ? [readKey(o.logKey)] : [];
  const policy = o.witnessPolicy !== undefined ? await readPolicy(o.witnessPolicy) : undefined;
  let chain: ChainReader | null = null;
  let contract = o.contract;
  if (o.rpc !== undefined) {
    if (contract === undefined) {
      try {
        const a = (JSON.parse(text) as { anchor?: { contract?: unknown } }).anchor?.contract;
        if (typeof a === "string") contract = a;
      } catch {
        // checkReceipt reports the malformed receipt
      }
      if (contract !== undefined) io.stderr(`note: no --contract given; checking the contract the receipt names, ${contract}: make sure it is the agency's published one\n`);
    }
    if (contract !== undefined) chain = await io.connectChain(o.rpc, contract, o.chainId);
  }
  const report = await checkReceipt(text, { verifiers, chain, ...(o.contract !== undefined ? { contract: o.contract } : {}), ...(policy !== undefined ? { policy } : {}) });
  io.stdout(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReceiptReport(report));
  return RECEIPT_EXIT_CODES[report.verdict];
}

export function formatReceiptReport(r: ReceiptReport): string {
  const out: string[] = [];
  out.push(RECEIPT_HEADLINES[r.verdict]);
  if (r.entry) out.push(`Entry         ${r.entry.kind ?? "?"} ${r.entry.id ?? "?"} at leaf ${n(r.entry.leafIndex)}`);
  if (r.checkpoint) out.push(`Checkpoint    ${r.checkpoint.origin}, size ${n(r.checkpoint.size)}, root ${r.checkpoint.rootHex}`);
  out.push(`Log key       ${r.key.used ?? "none"} (${r.key.source === "given" ? "trusted, given" : r.key.source === "receipt" ? "from the receipt itself" : "none"})`);
  out.push("");
  for (const c of r.checks) out.push(`  ${c.ok === true ? "ok  " : c.ok === false ? "FAIL" : "--  "} ${c.check.padEnd(12)} ${c.detail}`);
  if (r.trust.notChecked.length > 0) {
    out.push("");
    out.push("Not checked");
    for (const s of r.trust.notChecked) out.push(`  - ${s}`);
  }
  if (r.notices.length > 0) {
    out.push("");
    out.push("Notes");
    for (const s of r.notices) out.push(`  - ${s}`);
  }
  return `${out.join("\n")}\n`;
}
