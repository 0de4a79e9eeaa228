/**
 * The export file, version 1: a log's leaves as JSON Lines.
 *
 *   {"format":"subsidy-ledger.export","version":1,"exportedAt":…,"service":…,"treeSize":N,"checkpoint":…,"logKey":…}
 *   [0,<leaf>]
 *   [1,<leaf>]
 *
 * Every line after the header is `[leafIndex,<leaf>]`, the leaf written
 * verbatim (canonical JSON holds no raw newline), so the leaf bytes can be
 * hashed where they lie, without unescaping.
 */

import { CodedError } from "../log";

export const EXPORT_FORMAT = "subsidy-ledger.export";
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: typeof EXPORT_VERSION;
  /** RFC 3339 UTC. */
  readonly exportedAt: string;
  /** The service the entries were read from, if any. */
  readonly service: string | null;
  /** How many entries follow. */
  readonly treeSize: number;
  /** The service's signed checkpoint when the export was made, if known. */
  readonly checkpoint: string | null;
  /** The log key the service published, if known (not a trust anchor). */
  readonly logKey: string | null;
}

/** A header line that is not a version-1 export header. */
export class ExportFormatError extends CodedError<"EXPORT_HEADER_INVALID"> {
  override readonly name = "ExportFormatError";
  constructor(message: string) {
    super("EXPORT_HEADER_INVALID", message);
  }
}

const HEADER_FIELDS = new Set(["format", "version", "exportedAt", "service", "treeSize", "checkpoint", "logKey"]);

/** Parses the header line: the format tag first, then the version, then every field. */
export function parseExportHeader(line: string): ExportHeader {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    throw new ExportFormatError("line 1 is not JSON, so not an export header");
  }
  if (typeof h !== "object" || h === null || Array.isArray(h) || (h as { format?: unknown }).format !== EXPORT_FORMAT)
    throw new ExportFormatError(`not a ${EXPORT_FORMAT} file (line 1 has no "format": "${EXPORT_FORMAT}")`);
  const r = h as Record<string, unknown>;
  if (r.version !== EXPORT_VERSION) throw new ExportFormatError(`export version ${JSON.stringify(r.version)}; this reader reads version ${EXPORT_VERSION}`);
  for (const k of Object.keys(r)) if (!HEADER_FIELDS.has(k)) throw new ExportFormatError(`unknown header field ${JSON.stringify(k)}`);
  if (typeof r.exportedAt !== "string") throw new ExportFormatError("header exportedAt must be a timestamp");
  if (typeof r.treeSize !== "number" || !Number.isSafeInteger(r.treeSize) || r.treeSize < 0) throw new ExportFormatError("header treeSize must be a non-negative integer");
  for (const k of ["service", "checkpoint", "logKey"] as const)
    if (r[k] !== null && typeof r[k] !== "string") throw new ExportFormatError(`header ${k} must be a string or null`);
  return r as unknown as ExportHeader;
}

