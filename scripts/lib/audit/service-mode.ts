/**
 * `--service`, loaded only when given: the service's API as the entry
 * source, or, beside an export or a published log, a second party whose
 * signed checkpoint is checked against the chain (split view) and whose
 * proofs locate damage. Without --log-key the key it publishes is used, and
 * without --contract the contract it names; the report says neither is
 * independently trusted.
 */
import { parseVerifierKey } from "../../../service/log";
import type { AuditSetup, VerifyIo, VerifyOptions } from "../../verify";
import { AuditError } from "./errors";
import { ServiceClient, ServiceSource } from "./service";

export async function addService(o: VerifyOptions, io: VerifyIo, setup: AuditSetup): Promise<void> {
  const client = new ServiceClient(o.service!, { retryForMs: o.retryFor * 1000, onWait: (m) => io.stderr(`verify: the service: ${m}\n`) });
  const beside = setup.source !== undefined;
  setup.source ??= await ServiceSource.open(client);
  // A service that publishes no key (4xx) is audited without it; one that cannot be read stops the audit.
  const key = await client.logKey().catch((e: unknown) => {
    if (e instanceof AuditError && e.code === "REFUSED") return null;
    throw e;
  });
  setup.service = { base: client.base, key };
  if (setup.verifiers.length === 0 && key !== null) {
    setup.verifiers = [parseVerifierKey(key)];
    setup.keySource = "from the service's /v1/log/key: NOT independently trusted, give --log-key";
  }
  if (o.rpc !== undefined && setup.contract === undefined) {
    const info = await client.chainInfo();
    if (info !== null) {
      setup.contract = info.contract;
      setup.notes.push(`no --contract given: using ${info.contract}, as the service's /v1/chain says; check it against the agency's publication`);
    }
  }
  if (beside) setup.published.push({ label: "the service", note: await client.checkpoint() });
  if (setup.source.oracle === undefined) setup.oracle = client.oracle();
}
