/**
 * Where and how /metrics is served: LEDGER_METRICS_TOKEN (or _FILE) and
 * LEDGER_METRICS_ADDRESS, validated with the other settings by
 * service/settings.ts. See service/http/metrics.ts for why neither set
 * means not served.
 */
import path from "node:path";
import { z } from "zod";
import { ConfigError } from "../config";
import { readSecretFile, SecretFileError } from "../secret-file";

/** At least 32 printable ASCII characters without spaces, as an HTTP bearer token can carry. */
const TOKEN = /^[\x21-\x7e]{32,512}$/;
const TOKEN_RULE = "at least 32 printable ASCII characters without spaces (e.g. openssl rand -hex 32)";

/** host:port, with an IPv6 host in brackets; port 0 picks a free port. */
const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export const MetricsEnvSchema = z.object({
  LEDGER_METRICS_TOKEN: z
    .string()
    .regex(TOKEN, TOKEN_RULE)
    .optional()
    .describe("serve GET /metrics (Prometheus) to scrapers sending Authorization: Bearer <this token> (unset, with no address either: /metrics is not served)"),
  LEDGER_METRICS_TOKEN_FILE: z.string().min(1).optional().describe("or read that token from this file (mode 0600), instead of LEDGER_METRICS_TOKEN"),
  LEDGER_METRICS_ADDRESS: z
    .string()
    .regex(ADDRESS, "host:port, e.g. 127.0.0.1:9464 or [::1]:9464")
    .refine((v) => Number(ADDRESS.exec(v)?.[2]) <= 65535, "the port must be at most 65535")
    .optional()
    .describe("serve GET /metrics on this host:port instead of the public port, and nothing else there (the token, if set, is required there too)"),
});

export interface MetricsConfig {
  /** LEDGER_METRICS_TOKEN; undefined when unset (the file, if any, is read at start: {@link readMetricsToken}). */
  readonly token: string | undefined;
  /** LEDGER_METRICS_TOKEN_FILE, absolute. */
  readonly tokenFile: string | undefined;
  /** LEDGER_METRICS_ADDRESS, split; undefined: /metrics is on the public port (with a token) or not served. */
  readonly address: { readonly host: string; readonly port: number } | undefined;
}

/** The problems of the metrics settings in `env`, one "NAME: what" each. */
export function metricsConfigProblems(env: NodeJS.ProcessEnv): string[] {
  const parsed = MetricsEnvSchema.safeParse(env);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  if (parsed.data.LEDGER_METRICS_TOKEN !== undefined && parsed.data.LEDGER_METRICS_TOKEN_FILE !== undefined)
    return ["LEDGER_METRICS_TOKEN_FILE: set either it or LEDGER_METRICS_TOKEN, not both"];
  return [];
}

/** Parses the metrics settings; throws ConfigError naming every bad one. */
export function loadMetricsConfig(env: NodeJS.ProcessEnv): MetricsConfig {
  const problems = metricsConfigProblems(env);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  const e = MetricsEnvSchema.parse(env);
  const m = e.LEDGER_METRICS_ADDRESS === undefined ? null : ADDRESS.exec(e.LEDGER_METRICS_ADDRESS);
  return {
    token: e.LEDGER_METRICS_TOKEN,
    tokenFile: e.LEDGER_METRICS_TOKEN_FILE === undefined ? undefined : path.resolve(e.LEDGER_METRICS_TOKEN_FILE),
    address: m === null ? undefined : { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port: Number(m[2]) },
  };
}

/** The metrics token: the setting's, or the token file's (refused if others can read it or it is not a valid token). */
export async function readMetricsToken(config: MetricsConfig): Promise<string | undefined> {
  if (config.tokenFile === undefined) return config.token;
  const text = await readSecretFile(config.tokenFile, "metrics token file");
  if (text === undefined) throw new SecretFileError(`metrics token file ${config.tokenFile} does not exist`);
  if (!TOKEN.test(text)) throw new SecretFileError(`metrics token file ${config.tokenFile}: the token must be ${TOKEN_RULE}`);
  return text;
}
