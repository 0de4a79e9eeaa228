/**
 * The direction between anchoring and leadership: service/leader runs the
 * anchorer (service/chain) for the term it holds, so chain depends on
 * nothing of leader, not even through a third folder; the lease and its
 * fencing, which both use, are the store's (service/store/postgres-lease.ts).
 * Read from the source, so an import that closes the cycle fails here.
 */
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathTo, reachable } from "../helpers/imports";

const SERVICE = resolve(__dirname, "../../service");

function folder(name: string): string[] {
  const dir = join(SERVICE, name);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** The files of `into` that `from`'s modules reach through relative imports, each with the path that reached it. */
function reaches(from: string, into: string): string[] {
  const graph = reachable(folder(from));
  const prefix = join(SERVICE, into) + "/";
  return [...graph.keys()].filter((f) => f.startsWith(prefix)).map((f) => pathTo(graph, f, SERVICE));
}

describe("service/chain and service/leader", function () {
  it("leader uses chain (the check sees an existing dependency)", function () {
    expect(reaches("leader", "chain")).to.include("leader/replicas.ts → chain/postgres-state.ts");
  });

  it("chain reaches nothing of leader", function () {
    expect(reaches("chain", "leader")).to.deep.equal([]);
  });
});
