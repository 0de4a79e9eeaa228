/**
 * The first admin token: created at the first start on an empty store and
 * handed to main to print once. The data directory records it as pending
 * until printed, so a start that dies in between says how to get one
 * (service/data-dir.ts).
 */
import type { Logger } from "pino";
import { createFirstAdminToken } from "../auth/tokens";
import { systemClock } from "../clock";
import { clearFirstAdminTokenPending, firstAdminTokenPending, markFirstAdminTokenPending } from "../data-dir";
import type { TokenStore } from "../store/store";

export interface FirstAdminToken {
  /** The token this start created, to print once; undefined when one existed or another replica created it. */
  readonly firstAdminToken: string | undefined;
  /** True when an earlier start created the first token but died before printing it. */
  readonly adminTokenNeverShown: boolean;
}

/**
 * Creates the first admin token when the store holds none. Replicas starting
 * together on an empty database create one between them (the store's
 * putFirstToken is atomic); the others log that another replica shows it.
 */
export async function ensureFirstAdminToken(store: TokenStore, dataDir: string, logger: Logger): Promise<FirstAdminToken> {
  if ((await store.tokens()).length > 0) return { firstAdminToken: undefined, adminTokenNeverShown: await firstAdminTokenPending(dataDir) };
  // Durably "pending" before the token exists, cleared once main has printed it: a start that dies
  // in between leaves a directory that says how to get an admin token instead of none at all.
  await markFirstAdminTokenPending(dataDir);
  const created = await createFirstAdminToken(store, systemClock);
  if (created !== undefined) return { firstAdminToken: created.token, adminTokenNeverShown: false };
  // Another replica on the same database created it between our look and our claim: it prints it.
  await clearFirstAdminTokenPending(dataDir);
  logger.info("the first admin token was created by another replica starting at the same time; its banner shows it, so this one shows none");
  return { firstAdminToken: undefined, adminTokenNeverShown: false };
}
