/**
 * The auditor as a library, for tests, benchmarks and tools: the default
 * path (runAudit over an export file, ./audit.ts) and every optional module.
 * It imports the pure log core (service/log) and the public formats
 * (service/format), nothing else of the service, and reads published
 * formats only (the API, exports, tiles), never a database.
 */
export * from "./errors";
export * from "./findings";
export * from "./chain";
export { MemoryChainReader } from "./memory-chain";
export * from "./sources";
export { EXPORT_FORMAT, EXPORT_VERSION, type ExportHeader } from "../../../service/format";
export { ExportWriter } from "./export-writer";
export { DEFAULT_RETRY_FOR_MS, ServiceClient, ServiceSource, SERVICE_PAGE, type ServiceClientOptions } from "./service";
export { readEntry, MalformedEntry, type LedgerEntry as AuditEntry } from "../../../service/format/entry-reader";
export { InvariantReplay } from "./invariants";
export { checkEntries, CheckedReplay, readLeaf, type FoundViolation, type LeafReading } from "./in-memory";
export * from "./audit";
export { LOCATE_PROOFS } from "./locate";
export * from "./receipt-check";
export { formatReceiptReport, RECEIPT_HEADLINES } from "./receipt-mode";
export * from "./format";
