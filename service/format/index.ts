/**
 * The public formats: what others read, described once. Pure: no I/O, no
 * clock, no globals. The service, the portal and the auditor import it.
 */
export * from "./entry";
export * from "./export";
export * from "./anchor";
export * from "./anchor-claim";
export * from "./tiles";
export * from "./witness-policy";
export * from "./tlog-witness";
export * from "./accountability";
export * from "./officials";
export * from "./erasure";
export * from "./entry-reader";
export * from "./money";
export * from "./calendar";
