/**
 * Service configuration, read from the environment once at start-up and
 * validated. A bad value stops the process with one clear line; nothing else
 * in the service reads process.env.
 */
import path from "node:path";
import { z } from "zod";

/**
 * A whole number given in decimal digits, within [min, max]. Stricter than
 * z.coerce.number(), which reads "" and " " as 0 (PORT= would pick a random
 * port), "1e3" as 1000 and "0x10" as 16.
 */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .regex(/^[0-9]+$/, "a whole number in decimal digits")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

const PositiveInt = wholeNumber(1);

/** A URL node-postgres can connect with: scheme postgres or postgresql, and a host or a socket directory. */
function isPostgresUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === "postgres:" || u.protocol === "postgresql:") && (u.hostname !== "" || u.searchParams.has("host"));
  } catch {
    return false;
  }
}

/**
 * Every setting the service reads, with its default and one line of help
 * (the `describe` text, which --help prints: the table that validates the
 * environment is the one that documents it). Defaults are output values.
 */
export const EnvSchema = z.object({
  PORT: wholeNumber(0, 65535).default(8080).describe("TCP port to listen on (0: any free port)"),
  HOST: z.string().min(1).default("127.0.0.1").describe("address to listen on"),
  LEDGER_DATA_DIR: z.string().min(1).default("./data").describe("data directory (LevelDB, keys, local chain); must be private to this user (0700)"),
  LEDGER_DATABASE_URL: z
    .string()
    .refine(
      isPostgresUrl,
      "a postgres:// or postgresql:// URL with a host: postgres://USER:PASSWORD@HOST:5432/DATABASE, or over a Unix socket postgres://USER@localhost:PORT/DATABASE?host=/run/postgresql (its value is not repeated here: it may hold a password)",
    )
    .optional()
    .describe("PostgreSQL store instead of LevelDB: postgres://user:password@host:port/database (unset: LevelDB in the data directory; keys stay there either way)"),
  LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: z
    .enum(["true", "false"])
    .default("false")
    .describe("true: refuse to start unless the PostgreSQL server has synchronous_standby_names set and synchronous_commit on, so every acknowledged entry is on a standby (needs LEDGER_DATABASE_URL)"),
  LEDGER_ORIGIN: z
    .string()
    .regex(/^[^\s+][^\n]*[^\s]$/, "one line, no leading '+' or surrounding spaces")
    .default("subsidy-ledger.local/log")
    .describe("the checkpoint origin line: a schema-less URL naming this log"),
  LEDGER_LOG_KEY_FILE: z.string().min(1).optional().describe("log signing key file (default <data dir>/keys/log-signer.key)"),
  LEDGER_ACCESS_CODE_KEY_FILE: z.string().min(1).optional().describe("enterprise access-code key file (default <data dir>/keys/access-code.key)"),
  LEDGER_PUBLIC_RPC_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe("a chain JSON-RPC URL the public's browsers can reach, for the portal to read checkpoints from the chain itself"),
  LEDGER_CHAIN: z.enum(["on", "off"]).default("on").describe("off: run without anchoring (entries are not anchored)"),
  LEDGER_BODY_LIMIT: z.string().regex(/^[0-9]+(b|kb|mb)$/, "a size such as 64kb").default("64kb").describe("largest request body"),
  LEDGER_RATE_PUBLIC_PER_MINUTE: PositiveInt.default(600).describe("public requests per minute per client address"),
  LEDGER_RATE_ADMIN_PER_MINUTE: PositiveInt.default(6000).describe("authenticated requests per minute per token"),
  LEDGER_RATE_TLOG_PER_MINUTE: PositiveInt.default(6000).describe("requests per minute per client address under /tlog/ (tiles read in bulk by mirrors and CDNs)"),
  LEDGER_TLOG_DIR: z.string().min(1).optional().describe("also write the published log (C2SP tlog-tiles) into this directory, for nginx or an object store to serve (unset: not written)"),
  LEDGER_WITNESS_POLICY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe("witness policy (witness NAME VKEY URL / group NAME all|any|N ... / quorum NAME): checkpoints are published once its quorum cosigns them (unset: no witnesses)"),
  LEDGER_TRUST_PROXY: z
    .string()
    .regex(/^([1-9][0-9]*|[0-9A-Za-z.:/]+(\s*,\s*[0-9A-Za-z.:/]+)*)$/, "a hop count, or comma-separated addresses, subnets or loopback/linklocal/uniquelocal")
    .refine((v) => !/^[0-9]+$/.test(v) || /^[1-9][0-9]*$/.test(v), "a hop count must be at least 1")
    .refine((v) => v !== "true", "\"true\" would trust any client's X-Forwarded-For: name the proxies or give a hop count")
    .optional()
    .describe("reverse proxies whose X-Forwarded-For to believe: a hop count or addresses/subnets (unset: none)"),
  LEDGER_IDEMPOTENCY_HOURS: PositiveInt.pipe(z.number().min(24)).default(48).describe("how long Idempotency-Key replays are kept (at least 24)"),
  // HTTP server limits (service/http/server.ts). Node's own defaults let a client that sends its
  // request slowly hold a connection for 5 minutes, and accept connections without bound.
  LEDGER_HTTP_HEADERS_TIMEOUT_MS: PositiveInt.default(10_000).describe("a client must send a request's headers within this time"),
  LEDGER_HTTP_REQUEST_TIMEOUT_MS: PositiveInt.default(30_000).describe("a client must send a whole request within this time"),
  LEDGER_HTTP_KEEP_ALIVE_TIMEOUT_MS: PositiveInt.default(5_000).describe("an idle keep-alive connection is closed after this time (behind a proxy that reuses connections, set above its idle timeout)"),
  LEDGER_HTTP_MAX_CONNECTIONS: PositiveInt.default(1000).describe("open connections at most; more are dropped"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").describe("pino log level"),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /**
   * LEDGER_DATABASE_URL: the PostgreSQL store's URL, or undefined for LevelDB in dataDir. It may hold a
   * password: never log or print it (describeDatabaseUrl in service/store/postgres.ts names it safely).
   */
  readonly databaseUrl: string | undefined;
  /** LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: check the database's synchronous replication at start (service/store/postgres-ha.ts). */
  readonly requireSyncStandby: boolean;
  readonly origin: string;
  readonly logKeyFile: string;
  /** See LEDGER_PUBLIC_RPC_URL; undefined when not set. */
  readonly publicRpcUrl: string | undefined;
  /** Secret key the enterprise access codes are derived from. */
  readonly accessCodeKeyFile: string;
  readonly bodyLimit: string;
  readonly rateLimit: { readonly publicPerMinute: number; readonly adminPerMinute: number; readonly tlogPerMinute: number };
  /** LEDGER_TLOG_DIR, absolute; undefined when the static copy is off. */
  readonly tlogDir: string | undefined;
  /** LEDGER_WITNESS_POLICY_FILE, absolute; undefined when no witnesses are configured. */
  readonly witnessPolicyFile: string | undefined;
  /** See AppConfig.trustProxy. */
  readonly trustProxy: number | string | false;
  readonly idempotencyHours: number;
  /** LEDGER_CHAIN: false runs without anchoring. */
  readonly chain: boolean;
  /** See ServerLimits (service/http/server.ts). */
  readonly http: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number; readonly keepAliveTimeoutMs: number; readonly maxConnections: number };
  readonly logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The problems of the service's settings in `env`, one "NAME: what" each; empty when all are valid. */
export function configProblems(env: NodeJS.ProcessEnv): string[] {
  const parsed = EnvSchema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  if (parsed.success && parsed.data.LEDGER_HTTP_HEADERS_TIMEOUT_MS > parsed.data.LEDGER_HTTP_REQUEST_TIMEOUT_MS)
    problems.push("LEDGER_HTTP_HEADERS_TIMEOUT_MS: must not exceed LEDGER_HTTP_REQUEST_TIMEOUT_MS");
  if (parsed.success && parsed.data.LEDGER_DATABASE_REQUIRE_SYNC_STANDBY === "true" && parsed.data.LEDGER_DATABASE_URL === undefined)
    problems.push("LEDGER_DATABASE_REQUIRE_SYNC_STANDBY: needs LEDGER_DATABASE_URL (the LevelDB store has no standby)");
  return problems;
}

/** Parses the environment; throws ConfigError naming every bad variable on one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems = configProblems(env);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  const e = EnvSchema.parse(env);
  const dataDir = path.resolve(e.LEDGER_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    databaseUrl: e.LEDGER_DATABASE_URL,
    requireSyncStandby: e.LEDGER_DATABASE_REQUIRE_SYNC_STANDBY === "true",
    origin: e.LEDGER_ORIGIN,
    logKeyFile: path.resolve(e.LEDGER_LOG_KEY_FILE ?? path.join(dataDir, "keys", "log-signer.key")),
    publicRpcUrl: e.LEDGER_PUBLIC_RPC_URL,
    accessCodeKeyFile: path.resolve(e.LEDGER_ACCESS_CODE_KEY_FILE ?? path.join(dataDir, "keys", "access-code.key")),
    bodyLimit: e.LEDGER_BODY_LIMIT,
    rateLimit: { publicPerMinute: e.LEDGER_RATE_PUBLIC_PER_MINUTE, adminPerMinute: e.LEDGER_RATE_ADMIN_PER_MINUTE, tlogPerMinute: e.LEDGER_RATE_TLOG_PER_MINUTE },
    tlogDir: e.LEDGER_TLOG_DIR === undefined ? undefined : path.resolve(e.LEDGER_TLOG_DIR),
    witnessPolicyFile: e.LEDGER_WITNESS_POLICY_FILE === undefined ? undefined : path.resolve(e.LEDGER_WITNESS_POLICY_FILE),
    trustProxy: e.LEDGER_TRUST_PROXY === undefined ? false : /^[0-9]+$/.test(e.LEDGER_TRUST_PROXY) ? Number(e.LEDGER_TRUST_PROXY) : e.LEDGER_TRUST_PROXY,
    idempotencyHours: e.LEDGER_IDEMPOTENCY_HOURS,
    chain: e.LEDGER_CHAIN === "on",
    http: {
      headersTimeoutMs: e.LEDGER_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.LEDGER_HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.LEDGER_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: e.LEDGER_HTTP_MAX_CONNECTIONS,
    },
    logLevel: e.LOG_LEVEL,
  };
}
