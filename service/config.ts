/**
 * Service configuration, read from the environment once at start-up and
 * validated. A bad value stops the process with one clear line; nothing else
 * in the service reads process.env.
 */
import path from "node:path";
import { z } from "zod";

const PositiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  LEDGER_DATA_DIR: z.string().min(1).default("./data"),
  /** The checkpoint origin line: a schema-less URL naming this log. */
  LEDGER_ORIGIN: z
    .string()
    .regex(/^[^\s+][^\n]*[^\s]$/, "one line, no leading '+' or surrounding spaces")
    .default("subsidy-ledger.local/log"),
  LEDGER_LOG_KEY_FILE: z.string().min(1).optional(),
  LEDGER_ACCESS_CODE_KEY_FILE: z.string().min(1).optional(),
  /** A chain JSON-RPC URL the public's browsers can reach, for the portal to read checkpoints from the chain itself. */
  LEDGER_PUBLIC_RPC_URL: z.url({ protocol: /^https?$/ }).optional(),
  LEDGER_BODY_LIMIT: z.string().regex(/^[0-9]+(b|kb|mb)$/).default("64kb"),
  LEDGER_RATE_PUBLIC_PER_MINUTE: PositiveInt.default(600),
  LEDGER_RATE_ADMIN_PER_MINUTE: PositiveInt.default(6000),
  /** Reverse proxies whose X-Forwarded-For to believe: a hop count or addresses/subnets. Unset: none. */
  LEDGER_TRUST_PROXY: z
    .string()
    .regex(/^([1-9][0-9]*|[0-9A-Za-z.:/]+(\s*,\s*[0-9A-Za-z.:/]+)*)$/, "a hop count, or comma-separated addresses, subnets or loopback/linklocal/uniquelocal")
    .refine((v) => !/^[0-9]+$/.test(v) || /^[1-9][0-9]*$/.test(v), "a hop count must be at least 1")
    .refine((v) => v !== "true", "\"true\" would trust any client's X-Forwarded-For: name the proxies or give a hop count")
    .optional(),
  LEDGER_IDEMPOTENCY_HOURS: PositiveInt.min(24).default(48),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly origin: string;
  readonly logKeyFile: string;
  /** See LEDGER_PUBLIC_RPC_URL; undefined when not set. */
  readonly publicRpcUrl: string | undefined;
  /** Secret key the enterprise access codes are derived from. */
  readonly accessCodeKeyFile: string;
  readonly bodyLimit: string;
  readonly rateLimit: { readonly publicPerMinute: number; readonly adminPerMinute: number };
  /** See AppConfig.trustProxy. */
  readonly trustProxy: number | string | false;
  readonly idempotencyHours: number;
  readonly logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment; throws ConfigError naming every bad variable on one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.LEDGER_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    origin: e.LEDGER_ORIGIN,
    logKeyFile: path.resolve(e.LEDGER_LOG_KEY_FILE ?? path.join(dataDir, "keys", "log-signer.key")),
    publicRpcUrl: e.LEDGER_PUBLIC_RPC_URL,
    accessCodeKeyFile: path.resolve(e.LEDGER_ACCESS_CODE_KEY_FILE ?? path.join(dataDir, "keys", "access-code.key")),
    bodyLimit: e.LEDGER_BODY_LIMIT,
    rateLimit: { publicPerMinute: e.LEDGER_RATE_PUBLIC_PER_MINUTE, adminPerMinute: e.LEDGER_RATE_ADMIN_PER_MINUTE },
    trustProxy: e.LEDGER_TRUST_PROXY === undefined ? false : /^[0-9]+$/.test(e.LEDGER_TRUST_PROXY) ? Number(e.LEDGER_TRUST_PROXY) : e.LEDGER_TRUST_PROXY,
    idempotencyHours: e.LEDGER_IDEMPOTENCY_HOURS,
    logLevel: e.LOG_LEVEL,
  };
}
