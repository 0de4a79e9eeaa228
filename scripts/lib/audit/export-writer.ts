/**
 * `--save-export`, loaded only when given: an export file
 * (service/format/export.ts) written while auditing, holding the entries
 * read, verbatim, under a header with what the audit was given: the
 * service's signed checkpoint and the key it publishes.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportHeader } from "../../../service/format";
import type { AuditSetup } from "../../verify";
import { AuditError, messageOf } from "./errors";
import type { LeafBatch } from "./sources";

/** Writes an export file: the header, then one `[index,<leaf>]` line per leaf. */
export class ExportWriter {
  private constructor(
    private readonly _stream: ReturnType<typeof createWriteStream>,
    readonly file: string,
  ) {}

  /** Creates `file`, which must not exist yet, and writes the header. */
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
    for (let i = 0; i < batch.length; i++) parts.push(Buffer.from(`[${batch.indices[i]},`, "latin1"), batch.data.subarray(batch.starts[i], batch.ends[i]), Buffer.from("]\n", "latin1"));
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

/** The size line of a signed checkpoint (unverified: only to size an export). */
function checkpointSize(note: string): number | undefined {
  const m = /^[^\n]*\n(0|[1-9][0-9]{0,15})\n/.exec(note);
  return m ? Number(m[1]) : undefined;
}

/**
 * The export of what this audit reads. From a service it holds exactly the
 * entries its checkpoint covers (the audit reads no further), so the header
 * declares that checkpoint's size.
 */
export async function saveExport(file: string, setup: AuditSetup, now: () => number): Promise<ExportWriter> {
  const source = setup.source!;
  const note = source.kind === "service" ? source.published[0]!.note : null;
  const size = note !== null ? (checkpointSize(note) ?? 0) : (source.declaredSize ?? 0);
  if (note !== null) setup.until = size;
  return ExportWriter.create(file, {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date(now()).toISOString(),
    service: setup.service?.base ?? null,
    treeSize: size,
    checkpoint: note,
    logKey: setup.service?.key ?? null,
  });
}
