/**
 * The auditor's core: a full replay of the ledger against the chain, and
 * receipt checks. Imports the pure log core (service/log) and nothing else
 * of the service: not its records, store, ledger, HTTP or chain code. The
 * data directory is read by a reader of its own (./db.ts).
 */
export * from "./errors";
export * from "./findings";
export * from "./chain";
export * from "./sources";
export { DEFAULT_RETRY_FOR_MS, ServiceClient, ServiceSource, SERVICE_PAGE, type ServiceClientOptions } from "./service";
export { DbSource, type StoredHead } from "./db";
export { parseCanonicalLeaf } from "./canonical";
export { readEntry, MalformedEntry, type AuditEntry } from "./entries";
export { InvariantReplay, cstDate } from "./invariants";
export * from "./audit";
export * from "./receipt-check";
export * from "./format";
