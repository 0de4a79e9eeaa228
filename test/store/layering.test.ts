/**
 * All SQL lives in service/store: no other folder of the service sends a
 * statement, holds one in a string, or makes a PostgreSQL connection (a
 * type-only import of "pg", to name a pool it is handed, is allowed). Read
 * from the source, so a query written elsewhere fails here rather than in
 * review.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const SERVICE = resolve(__dirname, "../../service");
const STORE_DIR = join(SERVICE, "store");

/** What in `source` looks like database access: a query call, a string that starts with an SQL statement, or a value import of "pg". */
function sqlFindings(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/\.query\s*(?:<[^>]*>\s*)?\(/g)) out.push(m[0]);
  for (const m of source.matchAll(/["'`]\s*(?:SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|BEGIN|COMMIT|ROLLBACK|CREATE\s+(?:TABLE|INDEX)|ALTER\s+TABLE|LOCK\s+TABLE)\b/g)) out.push(m[0]);
  for (const m of source.matchAll(/\bimport\s+(?!type\b)[^;"'`]*?\bfrom\s*["']pg["']/g)) out.push(m[0]);
  for (const m of source.matchAll(/\brequire\s*\(\s*["']pg["']\s*\)/g)) out.push(m[0]);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("SQL in the service", function () {
  const outside = tsFiles(SERVICE).filter((f) => !f.startsWith(STORE_DIR + "/"));

  it("has modules to check, among them the PostgreSQL users outside the store", function () {
    const names = outside.map((f) => relative(SERVICE, f));
    expect(names).to.include.members(["leader/lease.ts", "leader/replicas.ts", "chain/postgres-state.ts"]);
  });

  it("is only in service/store", function () {
    const found = outside.flatMap((f) => sqlFindings(readFileSync(f, "utf8")).map((s) => `${relative(SERVICE, f)}: ${s}`));
    expect(found).to.deep.equal([]);
  });

  it("is found in the store's own modules (the check sees what it looks for)", function () {
    const source = readFileSync(join(STORE_DIR, "postgres-lease.ts"), "utf8");
    expect(sqlFindings(source).length).to.be.greaterThan(3);
  });

  describe("its check", function () {
    it("finds a typed query, a statement in a template, a transaction and a value import of pg", function () {
      const source = [
        'import pg from "pg";',
        "const { rows } = await db.query<{ point: unknown }>(\"SELECT point FROM published_checkpoint\");",
        "await client.query(`INSERT INTO anchor_state (contract) VALUES ($1)`, [k]);",
        'await client.query("BEGIN");',
        "const q = `\n  UPDATE leader_lease SET expires_at = now()`;",
      ].join("\n");
      expect(sqlFindings(source)).to.have.length(8);
    });

    it("lets a type-only import of pg, a request's query string and prose pass", function () {
      const source = ['import type pg from "pg";', "const q = req.query as Record<string, unknown>;", "// Select the newest row, then update it."].join("\n");
      expect(sqlFindings(source)).to.deep.equal([]);
    });
  });
});
