/**
 * Scripts never import test code: what a script and a test share (the
 * RFC 6962 reference, the portal's world) lives in scripts/lib/ or in the
 * service, and tests import it from there. Read from the source, so an
 * import of test/ from a script fails here rather than when the tests move.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { relativeImports } from "../helpers/imports";

const ROOT = resolve(__dirname, "../..");
const SCRIPTS = join(ROOT, "scripts");
const TESTS = join(ROOT, "test") + "/";

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `script → imported file` for each import of test/ by a file in `files`. */
function testImports(files: readonly string[]): string[] {
  return files.flatMap((f) => relativeImports(f).filter((p) => p.startsWith(TESTS)).map((p) => `${relative(ROOT, f)} → ${relative(ROOT, p)}`));
}

describe("the scripts", function () {
  const files = tsFiles(SCRIPTS);

  it("have modules to check, among them those that share code with the tests", function () {
    expect(files.map((f) => relative(SCRIPTS, f))).to.include.members(["gen-vectors.ts", "bench-portal.ts", "lib/rfc6962-reference.ts", "lib/portal-world.ts"]);
  });

  it("import nothing from test/", function () {
    expect(testImports(files)).to.deep.equal([]);
  });

  it("the check finds a test's import of a test helper", function () {
    expect(testImports([join(ROOT, "test", "leader", "layering.test.ts")])).to.deep.equal(["test/leader/layering.test.ts → test/helpers/imports.ts"]);
  });
});
