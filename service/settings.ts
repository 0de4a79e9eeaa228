/**
 * Every environment setting of the service in one place: the service's own
 * (service/config.ts) and the chain's (service/chain/config.ts), validated
 * together, refused when misspelt, and described by --help from the same
 * schemas that validate them, so the help cannot drift from what is read.
 */
import type { z } from "zod";
import { ConfigError, configProblems, EnvSchema, loadConfig, type Config } from "./config";
import { ChainEnvSchema, loadChainConfig, localChainProblem, type ChainConfig } from "./chain/config";
import { loadMetricsConfig, metricsConfigProblems, MetricsEnvSchema, type MetricsConfig } from "./metrics/config";
import { LeaderEnvSchema, leaderConfigProblems, loadLeaderConfig, type LeaderConfig } from "./leader/config";

/**
 * LEDGER_* variables that other tools of this project read (the deploy
 * script, hardhat.config.ts, the admin CLI). The service ignores them, so an
 * operator may keep them in the same environment file.
 */
export const OTHER_TOOLS_SETTINGS: readonly string[] = [
  "LEDGER_ADMIN_TOKEN",
  "LEDGER_DEPLOYER_KEY",
  "LEDGER_RECORDERS",
  "LEDGER_PAUSERS",
  "LEDGER_ADMIN",
  "LEDGER_ADMIN_DELAY",
  "LEDGER_DEPLOY_OVERWRITE",
];

const SCHEMAS = [EnvSchema, ChainEnvSchema, MetricsEnvSchema, LeaderEnvSchema] as const;

/** The names of every setting the service reads. */
export function serviceSettingNames(): string[] {
  return SCHEMAS.flatMap((s) => Object.keys(s.shape));
}

export interface Settings {
  readonly config: Config;
  /** false: LEDGER_CHAIN=off. */
  readonly chain: ChainConfig | false;
  /** Where and how /metrics is served (service/metrics/config.ts). */
  readonly metrics: MetricsConfig;
  /** Leadership among PostgreSQL replicas (unused with LevelDB). */
  readonly leader: LeaderConfig;
}

/**
 * Reads and validates every setting. Throws ConfigError naming every bad
 * variable on one line. A LEDGER_* variable that neither the service nor
 * another tool of the project reads is refused as a likely typo
 * (LEDGER_ANCHOR_EVERY_SECONDS, LEDGER_DATADIR): silently running with the
 * default instead of the value meant is the worse failure.
 */
export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  const known = new Set([...serviceSettingNames(), ...OTHER_TOOLS_SETTINGS]);
  const unknown = Object.keys(env)
    .filter((k) => k.startsWith("LEDGER_") && !known.has(k))
    .sort();
  const problems = [
    ...unknown.map((k) => `${k}: not a setting (see --help for the known ones)`),
    ...configProblems(env),
    ...metricsConfigProblems(env),
    ...leaderConfigProblems(env),
  ];
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  const config = loadConfig(env);
  // The chain's settings are checked even with LEDGER_CHAIN=off: a bad value is refused either way.
  const chain = loadChainConfig(env, config.dataDir);
  const shared = config.chain ? localChainProblem(chain, config.databaseUrl !== undefined) : undefined;
  if (shared !== undefined) throw new ConfigError(`invalid configuration: ${shared}`);
  return { config, chain: config.chain ? chain : false, metrics: loadMetricsConfig(env), leader: loadLeaderConfig(env) };
}

/** The default a setting takes when unset, as --help shows it; undefined when it has none. */
function defaultOf(schema: z.ZodType): string | undefined {
  const r = schema.safeParse(undefined);
  return r.success && r.data !== undefined ? String(r.data) : undefined;
}

/** The environment part of --help: each setting, its default and what it does. */
export function settingsHelp(): string {
  const lines = ["Environment settings (a bad value stops the service with exit 2):"];
  for (const schema of SCHEMAS)
    for (const [name, s] of Object.entries(schema.shape) as [string, z.ZodType][]) {
      const d = defaultOf(s);
      lines.push(`  ${name}${d === undefined ? "" : `=${d}`}`, `      ${s.description ?? ""}`);
    }
  lines.push(`Also accepted and ignored (read by other tools of this project): ${OTHER_TOOLS_SETTINGS.join(", ")}.`);
  return lines.join("\n");
}
