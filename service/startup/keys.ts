/**
 * The log signing key and the access-code key, loaded (or created on a first
 * start) from their files. Replicas share one log, so they must share its
 * keys: the database records them on the first start and a replica with
 * other keys is refused (service/keys.ts checkRecordedKeys).
 */
import type { Logger } from "pino";
import type { Config } from "../config";
import { loadOrCreateAccessCodes, type AccessCodes } from "../auth/access-codes";
import { checkRecordedKeys, loadOrCreateLogKey, type LogKey } from "../keys";
import type { PostgresStore } from "../store/postgres";
import type { LedgerStore } from "../store/store";

export interface ServiceKeys {
  readonly logKey: LogKey;
  readonly accessCodes: AccessCodes;
}

/** Throws KeyFileError or AccessCodeKeyError for an unusable file, and KeyFileError for keys other than the ones `shared` recorded. */
export async function openKeys(config: Config, store: LedgerStore, shared: PostgresStore | undefined, logger: Logger): Promise<ServiceKeys> {
  const logKey = await loadOrCreateLogKey(config.logKeyFile, config.origin);
  if (logKey.created) logger.info({ file: config.logKeyFile }, "created a new log signing key");
  const access = await loadOrCreateAccessCodes(config.accessCodeKeyFile, { generations: store, ...(shared ? { failureCounters: shared } : {}) });
  if (access.created) logger.info({ file: config.accessCodeKeyFile }, "created a new access-code key");
  const keys = { logKey: logKey.verifierKey, accessCodeFingerprint: access.codes.fingerprint() };
  if (shared) checkRecordedKeys(await shared.recordKeys(keys), keys, config);
  return { logKey, accessCodes: access.codes };
}
