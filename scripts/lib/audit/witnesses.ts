/**
 * A witness policy (`--witness-policy`, the tlog-policy text of
 * service/format/witness-policy.ts), loaded only when one is given: reading
 * the file, and checking an audit's published checkpoints against it.
 */
import { readFile } from "node:fs/promises";
import { CheckpointError, splitSignedNote } from "../../../service/log";
import { checkCosignedCheckpoint, parseWitnessPolicy, WitnessPolicyError, type WitnessPolicy } from "../../../service/format/witness-policy";
import type { AuditRun } from "./audit";
import { AuditError, messageOf } from "./errors";

/** Reads --witness-policy; a missing or malformed file is a usage error. */
export async function readPolicy(file: string): Promise<WitnessPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new AuditError("USAGE", `--witness-policy ${file}: cannot read it (${messageOf(e)})`);
  }
  try {
    return parseWitnessPolicy(bytes);
  } catch (e) {
    if (e instanceof WitnessPolicyError) throw new AuditError("USAGE", `--witness-policy ${file}: ${e.message}`);
    throw e;
  }
}

/**
 * The source's own checkpoint (what it publishes as the log's state) must
 * carry a quorum of valid cosignatures from the policy's witnesses, and a
 * policy witness's cosignature that does not verify is a finding whatever
 * the quorum.
 */
export function checkQuorum(run: AuditRun, policy: WitnessPolicy): void {
  for (const p of run.published) {
    try {
      splitSignedNote(p.cp.note);
    } catch (e) {
      if (e instanceof CheckpointError) continue; // a malformed note is a checkpoint-signature finding already
      throw e;
    }
    const label = `the checkpoint from ${p.cp.label}`;
    try {
      const { vouched, satisfied } = checkCosignedCheckpoint(p.cp.note, policy);
      p.witnesses = { seen: p.witnesses.seen, policy: { quorum: policy.quorum, vouched, satisfied } };
      if (!satisfied && p.fromSource)
        run.add("witness-cosignature", `${label} is cosigned by ${vouched.length === 0 ? "no witness of the policy" : vouched.join(", ")}: the policy's quorum ${policy.quorum} is not met`);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      p.witnesses = { seen: p.witnesses.seen, policy: { quorum: policy.quorum, vouched: [], satisfied: false } };
      run.add("witness-cosignature", `${label} carries a cosignature of a policy witness that does not verify: ${e.code}: ${e.message}`);
    }
  }
}
