/**
 * The log core: canonical encoding, RFC 6962 hashing, tree maths, proofs and
 * checkpoints. Pure (no I/O, no clock, no globals), shared by the service,
 * the scripts, the auditor and the browser portal.
 */
export * from "./errors";
export * from "./hash";
export * from "./encoding";
export * from "./tree";
export * from "./verify";
export { MemoryTree } from "./memory-tree";
export * from "./checkpoint";
export * from "./commitment";
export * from "./receipt";
