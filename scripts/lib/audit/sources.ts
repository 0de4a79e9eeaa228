/**
 * Where the audit's entries come from, and what else a source can offer.
 *
 * A source streams leaves in log order, in batches (never the whole log in
 * memory). A batch is columnar, so a million leaves cost a few thousand
 * objects rather than a million: leaf i is `data[starts[i], ends[i])`, and
 * `indices[i]` is the leaf index the source *claims* for it (the audit
 * checks they run 0, 1, 2, …).
 *
 * Sources: the service's API (./service.ts), a published log of tiles
 * (./tlog.ts) and an export file (here, in the format
 * service/format/export.ts describes). Never a database: a data
 * directory is audited through a service started on it, or its export.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { once } from "node:events";
import { EXPORT_FORMAT, EXPORT_VERSION, ExportFormatError, parseExportHeader, type ExportHeader } from "../../../service/format";
import { AuditError, messageOf } from "./errors";

export { EXPORT_FORMAT, EXPORT_VERSION, type ExportHeader };

export interface LeafBatch {
  readonly length: number;
  readonly indices: ArrayLike<number>;
  readonly data: Buffer;
  readonly starts: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
  /** The leaves as text, when the source has them as strings already. */
  readonly texts?: readonly string[];
  /** Service only: the `entry` object shown beside each leaf. */
  readonly shown?: readonly unknown[];
  /** Published logs only: the leaf hashes the log publishes for these leaves (its level-0 tile), 32 bytes each, and the tile's name. */
  readonly tileHashes?: Uint8Array;
  readonly tileName?: string;
  /** What the source found wrong while reading this batch (a bundle or tile that does not parse). */
  readonly problems?: readonly SourceProblem[];
}

/** A published file of the log that is not what the log must publish. */
export interface SourceProblem {
  readonly message: string;
  readonly leafIndex?: number;
}

/**
 * Proofs from an untrusted party (the service). The audit
 * uses them only against roots read from the chain, to say which leaf is
 * damaged; a proof that does not verify proves nothing either way about the
 * chain, only that the leaf as given is not the anchored one.
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
  /** Published logs only: compares the published hash tiles above level 0 with the audit's own tree nodes (see ./tlog.ts). */
  checkUpperTiles?(node: (level: number, index: number) => Uint8Array | undefined): Promise<SourceProblem[]>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Export files

function parseHeader(line: string, file: string): ExportHeader {
  try {
    return parseExportHeader(line);
  } catch (e) {
    if (e instanceof ExportFormatError) throw new AuditError("PROTOCOL", `${file}: ${e.message}`);
    throw e;
  }
}

const CHUNK = 1 << 20;
const NL = 0x0a;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

/** Reads the header line only. */
async function readHeaderLine(fh: FileHandle, file: string): Promise<{ header: ExportHeader; offset: number }> {
  let buf = Buffer.alloc(0);
  let pos = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 << 10);
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
    if (bytesRead === 0) break;
    buf = Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
    pos += bytesRead;
    const nl = buf.indexOf(NL);
    if (nl >= 0) return { header: parseHeader(buf.toString("utf8", 0, nl), file), offset: nl + 1 };
    if (buf.length > 16 << 20) break;
  }
  if (buf.length === 0) throw new AuditError("PROTOCOL", `${file} is empty`);
  return { header: parseHeader(buf.toString("utf8"), file), offset: buf.length };
}

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

  static async open(file: string): Promise<ExportSource> {
    let fh: FileHandle;
    try {
      fh = await open(file, "r");
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `cannot read the export file ${file}: ${messageOf(cause)}`, { cause });
    }
    try {
      const { header, offset } = await readHeaderLine(fh, file);
      return new ExportSource(file, header, offset);
    } finally {
      await fh.close();
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

/** Splits data[0, end) into lines and each line into its index and leaf. */
function splitLines(data: Buffer, end: number): LeafBatch {
  const indices: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let pos = 0;
  while (pos < end) {
    let nl = data.indexOf(NL, pos);
    if (nl < 0 || nl > end) nl = end;
    if (nl > pos) {
      // [digits,<leaf>]
      let i = pos + 1;
      let index = 0;
      let ok = data[pos] === OPEN_BRACKET && nl - pos >= 4 && data[nl - 1] === CLOSE_BRACKET;
      const digitsFrom = i;
      while (ok && i < nl && data[i]! >= 0x30 && data[i]! <= 0x39) {
        index = index * 10 + (data[i]! - 0x30);
        i++;
      }
      ok = ok && i > digitsFrom && i - digitsFrom <= 16 && data[i] === COMMA && !(data[digitsFrom] === 0x30 && i - digitsFrom > 1);
      if (ok) {
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

/** Writes an export file: the header, then one `[index,<leaf>]` line per leaf. */
export class ExportWriter {
  private constructor(
    private readonly _stream: ReturnType<typeof createWriteStream>,
    readonly file: string,
  ) {}

  static async create(file: string, header: ExportHeader): Promise<ExportWriter> {
    const stream = createWriteStream(file, { flags: "wx" });
    try {
      await once(stream, "open");
    } catch (cause) {
      throw new AuditError("UNREACHABLE", `cannot create the export file ${file}: ${messageOf(cause)} (it must not exist yet)`, { cause });
    }
    const w = new ExportWriter(stream, file);
    await w._write(Buffer.from(`${JSON.stringify(header)}\n`, "utf8"));
    return w;
  }

  async write(batch: LeafBatch): Promise<void> {
    const parts: Buffer[] = [];
    for (let i = 0; i < batch.length; i++) {
      parts.push(Buffer.from(`[${batch.indices[i]},`, "latin1"), batch.data.subarray(batch.starts[i], batch.ends[i]), Buffer.from("]\n", "latin1"));
    }
    await this._write(Buffer.concat(parts));
  }

  private async _write(b: Buffer): Promise<void> {
    if (!this._stream.write(b)) await once(this._stream, "drain");
  }

  async close(): Promise<void> {
    this._stream.end();
    await once(this._stream, "finish");
  }
}
