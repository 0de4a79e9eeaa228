/**
 * The auditor's core: a full replay of the ledger against the chain, and
 * receipt checks. Imports the pure log core (service/log) and the public
 * formats (service/format), nothing else of the service, and reads
 * published formats only (the API, exports), never a database.
 */
export * from "./errors";
export * from "./findings";
export * from "./chain";
export * from "./sources";
export { DEFAULT_RETRY_FOR_MS, ServiceClient, ServiceSource, SERVICE_PAGE, type ServiceClientOptions } from "./service";
export { readLeaf, type LeafReading } from "./leaves";
export { readEntry, MalformedEntry, type LedgerEntry as AuditEntry } from "../../../service/format/entry-reader";
export { checkEntries, InvariantReplay, cstDate, type FoundViolation } from "./invariants";
export * from "./audit";
export * from "./receipt-check";
export * from "./format";
