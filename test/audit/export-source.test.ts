/**
 * Opening an export file: a file that cannot be read, or is not an export,
 * stops the audit with a coded AuditError naming the file, never a verdict.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { AuditError, ExportSource } from "../../scripts/lib/audit";
import { tempDir } from "./helpers";

describe("an export file as the audit's source", () => {
  let tmp: { dir: string; remove: () => Promise<void> };
  before(async () => (tmp = await tempDir("audit-export-")));
  after(() => tmp.remove());

  async function refusal(file: string): Promise<AuditError> {
    const e = await ExportSource.open(file).then(
      () => expect.fail("opened"),
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(AuditError);
    return e as AuditError;
  }

  it("refuses a missing file as UNREACHABLE, and an empty one or one without an export header as PROTOCOL", async () => {
    const missing = path.join(tmp.dir, "missing.jsonl");
    expect(await refusal(missing)).to.include({ code: "UNREACHABLE" }).and.have.property("message").that.includes(missing);
    const empty = path.join(tmp.dir, "empty.jsonl");
    await writeFile(empty, "");
    expect(await refusal(empty)).to.include({ code: "PROTOCOL", message: `${empty} is empty` });
    const other = path.join(tmp.dir, "other.jsonl");
    await writeFile(other, '{"format":"something-else","version":1}\n[0,{}]\n');
    expect(await refusal(other)).to.include({ code: "PROTOCOL" }).and.have.property("message").that.includes(other);
  });

  it("reads the header line, and gives the leaves after it in batches with their claimed indices", async () => {
    const file = path.join(tmp.dir, "ok.jsonl");
    const header = { format: "subsidy-ledger.export", version: 1, exportedAt: "2026-12-07T00:00:00.000Z", service: null, treeSize: 2, checkpoint: null, logKey: null };
    await writeFile(file, `${JSON.stringify(header)}\n[0,{"a":1}]\n[1,{"b":2}]\n`);
    const source = await ExportSource.open(file);
    expect(source.declaredSize).to.equal(2);
    const got: [number, string][] = [];
    for await (const b of source.leaves()) for (let i = 0; i < b.length; i++) got.push([b.indices[i]!, b.data.toString("utf8", b.starts[i], b.ends[i])]);
    expect(got).to.deep.equal([
      [0, '{"a":1}'],
      [1, '{"b":2}'],
    ]);
  });
});
