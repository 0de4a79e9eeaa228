/**
 * The auditor's default path stays small enough to read in one sitting
 * (issue 12): the modules `npm run verify` loads for a default audit (an
 * export file against the chain), measured by scripts/audit-size.ts
 * (`npm run audit:size` prints the table), and the only parts of the service
 * they import are the pure log core and the public formats.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { allowedServiceImport, BUDGET_LINES, defaultPathSize, measure, specifiers } from "../../scripts/audit-size";

describe("the auditor's default path", () => {
  const size = defaultPathSize();

  it(`holds at most ${BUDGET_LINES} lines of code (not blank, not only a comment)`, () => {
    expect(size.code, `${size.code} lines of code (${size.lines} physical): run npm run audit:size`).to.be.at.most(BUDGET_LINES);
  });

  it("starts at scripts/verify.ts and leaves the optional modes to modules loaded when used", () => {
    const files = size.files.map((f) => f.file);
    expect(files).to.include.members(["scripts/verify.ts", "scripts/lib/audit/audit.ts", "scripts/lib/audit/sources.ts", "scripts/lib/audit/leaf-worker.ts"]);
    const optional = ["receipt-mode", "service-mode", "tlog", "export-writer", "witnesses", "locate"].map((m) => `scripts/lib/audit/${m}.ts`);
    expect(size.optional).to.include.members(optional);
    for (const f of [...optional, "scripts/lib/audit/receipt-check.ts", "scripts/lib/audit/service.ts"]) expect(files).not.to.include(f);
  });

  it("imports nothing of the service but the log core and the formats, and no package but commander (through its typed entry, @commander-js/extra-typings)", () => {
    expect(size.service.filter((m) => !allowedServiceImport(m))).to.deep.equal([]);
    expect(size.packages.filter((p) => p !== "@commander-js/extra-typings" && !p.startsWith("node:"))).to.deep.equal([]);
  });

  describe("and every module of the auditor, optional ones included", () => {
    const dir = path.join(__dirname, "../../scripts/lib/audit");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")))
      it(`${file} imports only service/log, service/format, its own modules and node built-ins`, () => {
        const { static: deps, dynamic } = specifiers(readFileSync(path.join(dir, file), "utf8"));
        for (const spec of [...deps, ...dynamic]) {
          if (spec.startsWith("node:") || spec.startsWith("./")) continue;
          const module = path.posix.normalize(path.posix.join("scripts/lib/audit", spec)).replace(/\/index$/, "");
          expect(allowedServiceImport(module), `${file} imports ${spec}`).to.equal(true);
        }
      });
  });
});

describe("audit-size's line count", () => {
  it("counts code lines, multi-line strings included, and not comments or blank lines", () => {
    const src = ["/** doc", " * more */", "const a = 1; // trailing", "", "// only a comment", "const s = `one", "two`;", "/* block */ f(", ");", ""].join("\n");
    expect(measure(src)).to.deep.equal({ lines: 9, code: 5 });
  });

  it("follows imports, re-exports and require, and leaves out import type and import()", () => {
    const src = `import { a } from "./a"; import type { B } from "./b"; import { type C } from "./c"; export * from "./d"; export type { E } from "./e"; const f = require("./f"); const g = () => import("./g");`;
    expect(specifiers(src)).to.deep.equal({ static: ["./a", "./d", "./f"], dynamic: ["./g"] });
  });
});
