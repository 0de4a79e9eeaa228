/**
 * The portal's place in the house: the browser may import only the log core
 * (service/log), the public formats (service/format), its own files
 * (service/web) and npm packages. Checked over everything the portal's
 * modules reach through relative imports, dynamic ones included, so a module
 * of the service that slips into the bundle fails here rather than in review.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathTo, reachable, specifiers } from "../helpers/imports";

const SERVICE = resolve(__dirname, "../../service");
const WEB_DIR = join(SERVICE, "web");
const BROWSER_SAFE = ["web", "log", "format"].map((d) => join(SERVICE, d) + "/");

/** The files of `graph` outside the browser-safe folders, each with how a root reached it. */
function outside(graph: Map<string, string | undefined>): string[] {
  return [...graph.keys()].filter((f) => !BROWSER_SAFE.some((d) => f.startsWith(d))).map((f) => pathTo(graph, f, SERVICE));
}

describe("the portal's imports", function () {
  const roots = readdirSync(WEB_DIR)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(WEB_DIR, f));

  it("has modules to check", function () {
    expect(roots.map((f) => f.slice(WEB_DIR.length + 1))).to.include.members(["main.ts", "regions.ts", "dashboard.ts", "verify.ts"]);
  });

  it("reach only service/web, service/log and service/format", function () {
    const graph = reachable(roots);
    expect(graph.has(join(SERVICE, "format", "divisions.ts")), "the region names are not reached: the check lost the dynamic import").to.equal(true);
    expect(outside(graph)).to.deep.equal([]);
  });

  describe("its check", function () {
    it("finds a dynamic import", function () {
      expect(specifiers('lookup ??= import("../records/identifiers").then(({ divisionInfo }) => divisionInfo);')).to.deep.equal(["../records/identifiers"]);
    });

    it("flags a module outside the three folders, with the path that reached it", function () {
      const found = outside(reachable([join(SERVICE, "records", "identifiers.ts")]));
      expect(found).to.include("records/identifiers.ts");
      expect(outside(reachable([join(SERVICE, "http", "public.ts")])).some((p) => p.includes("ledger/"))).to.equal(true);
    });
  });
});
