/**
 * The HTTP layer's place in the house: routes parse, call the ledger and the
 * read model, and map; they never reach the store. Read from the source, so a
 * new import of a store module fails here rather than in review.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { specifiers } from "../helpers/imports";

const HTTP_DIR = resolve(__dirname, "../../service/http");
const STORE_DIR = resolve(__dirname, "../../service/store");

describe("the HTTP layer", function () {
  const files = readdirSync(HTTP_DIR).filter((f) => f.endsWith(".ts"));

  it("has modules to check", function () {
    expect(files).to.include.members(["app.ts", "public.ts", "admin.ts", "receipts.ts"]);
  });

  for (const file of files)
    it(`${file} imports no store module`, function () {
      const into = specifiers(readFileSync(join(HTTP_DIR, file), "utf8"))
        .filter((s) => s.startsWith("."))
        .map((s) => resolve(HTTP_DIR, s))
        .filter((p) => p === STORE_DIR || p.startsWith(STORE_DIR + "/"));
      expect(into, `${file} reaches the store`).to.deep.equal([]);
    });

  describe("its import check", function () {
    it("finds a type-only, a multi-line and a re-export import of the store", function () {
      const source = [
        'import type { LedgerStore } from "../store/store";',
        "import {\n  LevelStore,\n} from '../store/level';",
        'export { MemoryStore } from "../store/memory";',
      ].join("\n");
      expect(specifiers(source)).to.deep.equal(["../store/store", "../store/level", "../store/memory"]);
    });
  });
});
