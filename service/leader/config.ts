/**
 * The leadership settings (used only with LEDGER_DATABASE_URL: with LevelDB
 * the one process always leads). Validated with the others by
 * service/settings.ts.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { wholeNumber } from "../config";

export const LeaderEnvSchema = z.object({
  LEDGER_LEADER_LEASE_MS: wholeNumber(300, 600_000)
    .default(5000)
    .describe("PostgreSQL replicas: how long the leader's lease lasts without renewal; another replica takes over within about this plus 1 s of the leader's death"),
  LEDGER_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:@-]{1,100}$/, "1 to 100 letters, digits or . _ : @ -")
    .optional()
    .describe("PostgreSQL replicas: this replica's name in the lease, health and logs (default <host name>-<process id>-<random>)"),
});

export interface LeaderConfig {
  readonly leaseMs: number;
  readonly replicaId: string;
}

/** Reads the leadership settings; the caller has validated `env` with {@link LeaderEnvSchema}. */
export function loadLeaderConfig(env: NodeJS.ProcessEnv): LeaderConfig {
  const e = LeaderEnvSchema.parse(env);
  return { leaseMs: e.LEDGER_LEADER_LEASE_MS, replicaId: e.LEDGER_REPLICA_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}` };
}

/** The problems of the leadership settings in `env`, one "NAME: what" each. */
export function leaderConfigProblems(env: NodeJS.ProcessEnv): string[] {
  const parsed = LeaderEnvSchema.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}
