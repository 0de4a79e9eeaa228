/**
 * Where the audit's entries come from: the interface every source meets,
 * and the default one, an export file (service/format/export.ts).
 *
 * A source streams leaves in log order, in batches (never the whole log in
 * memory). A batch is columnar, so a million leaves cost a few thousand
 * objects rather than a million: leaf i is `data[starts[i], ends[i])`, and
 * `indices[i]` is the leaf index the source *claims* for it (the audit
 * checks they run 0, 1, 2, …). The other sources, loaded only when asked
 * for: the service's API (./service.ts) and a published log (./tlog.ts).
 * Never a database: a data directory is audited through a service started
 * on it, or its export.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { ExportFormatError, parseExportHeader, type ExportHeader } from "../../../service/format";
import { AuditError, messageOf } from "./errors";
import type { DiscrepancyKind } from "./findings";

export interface LeafBatch {
  readonly length: number;
  readonly indices: ArrayLike<number>;
  readonly data: Buffer;
  readonly starts: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
  /**
   * What the source itself checks of this batch once its leaves are hashed
   * and read (`faults[i]` null: leaf i is canonical JSON): the published
   * hash tile beside a bundle, the entry a service shows beside a leaf.
   */
  readonly check?: (hashes: Uint8Array, faults: readonly (string | null)[]) => SourceProblem[];
}

/** Something a source publishes that is not what the log must publish (a tile, the entry a service shows beside a leaf). */
export interface SourceProblem {
  readonly kind: Extract<DiscrepancyKind, "tile-mismatch" | "record-mismatch">;
  readonly message: string;
  readonly leafIndex?: number;
  /** When the problem shows the log damaged from a leaf on (not only a published file beside it). */
  readonly damagedFrom?: number;
}

/**
 * Proofs from an untrusted party (the service, a published log's tiles).
 * The audit uses them only against roots it trusts, to say which leaf is
 * damaged; a proof that does not verify only shows the leaf as given is not
 * the anchored one.
 */
export interface ProofOracle {
  readonly description: string;
  inclusionProof(index: number, size: number): Promise<Uint8Array[]>;
  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]>;
}

/** A signed checkpoint someone published, to be checked against the chain (split view). */
export interface PublishedCheckpoint {
  /** Where it was published, for the report: "the service", "the export header", a file name. */
  readonly label: string;
  readonly note: string;
}

export interface EntrySource {
  readonly kind: "service" | "export" | "tlog";
  readonly description: string;
  /** How many leaves the source says it holds (the export header), if it says. */
  readonly declaredSize?: number;
  /** Signed checkpoints the source carries (the export header's). */
  readonly published: readonly PublishedCheckpoint[];
  /** Streams the leaves; `until` bounds how many are asked for (the service grows while it is read). */
  leaves(until: number): AsyncIterable<LeafBatch>;
  /** Proofs to locate damage with, if the source gives them. */
  readonly oracle?: ProofOracle;
  /** After the pass: what the source publishes of the tree itself, against the leaf hashes the audit handed its batches' `check` (a published log's upper tiles, ./tlog.ts). */
  checkTree?(): Promise<SourceProblem[]>;
  close(): Promise<void>;
}

const CHUNK = 1 << 20;
const NL = 0x0a;
/** The longest header line read: a signed note is at most 1 MiB (service/log MAX_NOTE_SIZE), escaped in JSON. */
const HEADER_MAX = 4 << 20;

/**
 * An export file as a source. A line that is not `[index,<leaf>]` is given
 * with index NaN and the whole line as its data; the audit reports it.
 */
export class ExportSource implements EntrySource {
  readonly kind = "export";
  readonly description: string;
  readonly declaredSize: number;
  readonly published: readonly PublishedCheckpoint[];

  private constructor(
    private readonly _file: string,
    readonly header: ExportHeader,
    private readonly _offset: number,
  ) {
    this.description = `export file ${_file} (${header.treeSize} entries, exported ${header.exportedAt}${header.service ? ` from ${header.service}` : ""})`;
    this.declaredSize = header.treeSize;
    this.published = header.checkpoint !== null ? [{ label: "the export header", note: header.checkpoint }] : [];
  }

  /** Opens the file and reads its header line (the version tag first, then its fields). */
  static async open(file: string): Promise<ExportSource> {
    let head: Buffer;
    try {
      const fh = await open(file, "r");
      const { buffer, bytesRead } = await fh.read({ buffer: Buffer.allocUnsafe(HEADER_MAX), position: 0 }).finally(() => fh.close());
      head = buffer.subarray(0, bytesRead);
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `cannot read the export file ${file}: ${messageOf(cause)}`, { cause });
    }
    if (head.length === 0) throw new AuditError("PROTOCOL", `${file} is empty`);
    const nl = head.indexOf(NL);
    try {
      const header = parseExportHeader(head.toString("utf8", 0, nl < 0 ? head.length : nl));
      return new ExportSource(file, header, nl < 0 ? head.length : nl + 1);
    } catch (e) {
      if (e instanceof ExportFormatError) throw new AuditError("PROTOCOL", `${file}: ${e.message}`);
      throw e;
    }
  }

  async *leaves(): AsyncGenerator<LeafBatch> {
    const stream = createReadStream(this._file, { start: this._offset, highWaterMark: CHUNK });
    let carry: Buffer | undefined;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
        const last = data.lastIndexOf(NL);
        if (last < 0) {
          carry = data;
          continue;
        }
        carry = last + 1 < data.length ? data.subarray(last + 1) : undefined;
        yield splitLines(data, last + 1);
      }
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `reading the export file ${this._file} failed: ${messageOf(cause)}`, { cause });
    }
    if (carry !== undefined && carry.length > 0) yield splitLines(carry, carry.length);
  }

  async close(): Promise<void> {}
}

/** Splits data[0, end) into lines, and each `[digits,<leaf>]` line into its index and leaf. */
function splitLines(data: Buffer, end: number): LeafBatch {
  const indices: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (let pos = 0; pos < end; ) {
    let nl = data.indexOf(NL, pos);
    if (nl < 0 || nl > end) nl = end;
    if (nl > pos) {
      let i = pos + 1;
      let index = 0;
      while (i < nl && data[i]! >= 0x30 && data[i]! <= 0x39) index = index * 10 + (data[i++]! - 0x30);
      const digits = i - pos - 1;
      const framed = data[pos] === 0x5b && data[i] === 0x2c && data[nl - 1] === 0x5d && nl - pos >= 4; // "[", ",", "]"
      if (framed && digits >= 1 && digits <= 16 && !(digits > 1 && data[pos + 1] === 0x30)) {
        indices.push(index);
        starts.push(i + 1);
        ends.push(nl - 1);
      } else {
        indices.push(NaN);
        starts.push(pos);
        ends.push(nl);
      }
    }
    pos = nl + 1;
  }
  // Typed arrays: they cross to a leaf worker as one block of bytes each.
  return { length: indices.length, indices: Float64Array.from(indices), data, starts: Uint32Array.from(starts), ends: Uint32Array.from(ends) };
}
