/**
 * The JSON vectors in test/vectors/: every file on disk must give the
 * verifier's outcome and error code it names, and the files must be exactly
 * what scripts/gen-vectors.ts generates now (run `npm run vectors` after
 * changing the generator), so the vectors cannot drift silently.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { fromHex, VerificationError, verifyConsistency, verifyInclusion, type VerificationErrorCode } from "../../service/log";
import { generateVectors, serializeVector, VECTORS_DIR, type ConsistencyVector, type InclusionVector } from "../../scripts/gen-vectors";

const CODES: readonly VerificationErrorCode[] = [
  "INDEX_OUT_OF_RANGE",
  "SIZE_INVALID",
  "PROOF_LENGTH_INVALID",
  "HASH_LENGTH_INVALID",
  "ROOT_MISMATCH",
  "ROOTS_DIFFER_AT_EQUAL_SIZE",
];

/** Every .json file under `dir`, as "/"-separated paths relative to it, sorted. */
function listJson(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => p.endsWith(".json"))
    .map((p) => p.split(path.sep).join("/"))
    .sort();
}

const onDisk = listJson(VECTORS_DIR);

function read(rel: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, ...rel.split("/")), "utf8"));
}

const isHex = (s: unknown): s is string => typeof s === "string" && /^([0-9a-f]{2})*$/.test(s);
const isInt = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n);

/** Checks the fields every vector shares, and returns the expected outcome. */
function expectCommonShape(v: Record<string, unknown>): { wantErr: boolean; wantCode?: VerificationErrorCode } {
  expect(v.desc, "desc").to.be.a("string").and.not.equal("");
  expect(v.wantErr, "wantErr").to.be.a("boolean");
  expect(Array.isArray(v.proof) && v.proof.every(isHex), "proof is an array of hex strings").to.equal(true);
  if (v.wantErr === true) {
    expect(CODES, "wantCode is a VerificationErrorCode").to.include(v.wantCode);
    return { wantErr: true, wantCode: v.wantCode as VerificationErrorCode };
  }
  expect(v, "wantCode is absent when wantErr is false").not.to.have.property("wantCode");
  return { wantErr: false };
}

/** Runs a verifier and compares its outcome with the vector's. */
function expectOutcome(run: () => void, want: { wantErr: boolean; wantCode?: VerificationErrorCode }): void {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  if (!want.wantErr) {
    expect(caught, "expected the proof to verify").to.equal(undefined);
    return;
  }
  expect(caught, "expected a VerificationError").to.be.instanceOf(VerificationError);
  expect((caught as VerificationError).code, (caught as Error).message).to.equal(want.wantCode);
}

describe("test vectors (test/vectors/)", function () {
  describe("the files on disk", function () {
    it("exist: there are inclusion and consistency vectors", function () {
      expect(onDisk.filter((p) => p.startsWith("inclusion/"))).to.have.length.greaterThan(100);
      expect(onDisk.filter((p) => p.startsWith("consistency/"))).to.have.length.greaterThan(100);
    });

    it("are exactly the files scripts/gen-vectors.ts generates (else run `npm run vectors`)", function () {
      const generated = generateVectors();
      const want = new Map(generated.map((f) => [f.path, serializeVector(f.vector)]));
      const missing = [...want.keys()].filter((p) => !onDisk.includes(p));
      const extra = onDisk.filter((p) => !want.has(p));
      const changed = onDisk.filter((p) => want.has(p) && fs.readFileSync(path.join(VECTORS_DIR, ...p.split("/")), "utf8") !== want.get(p));
      expect({ missing, extra, changed }).to.deep.equal({ missing: [], extra: [], changed: [] });
    });

    it("are generated deterministically", function () {
      const a = generateVectors().map((f) => [f.path, serializeVector(f.vector)]);
      const b = generateVectors().map((f) => [f.path, serializeVector(f.vector)]);
      expect(a).to.deep.equal(b);
    });

    it("cover every mutation the conventions name, and every error code", function () {
      const names = new Set(onDisk.map((p) => p.split("/")[1]!.split("@")[0]!));
      for (const n of ["happy-path", "modified-proof", "swapped-roots", "trailing-garbage", "leading-garbage", "missing-element", "extra-element", "wrong-index", "index-plus-1", "index-minus-1", "wrong-size", "size-plus-1", "wrong-leaf", "wrong-root"])
        expect(names, n).to.include(n);
      const codes = new Set(generateVectors().map((f) => f.vector.wantCode));
      for (const c of CODES) expect(codes, c).to.include(c);
    });
  });

  describe("inclusion", function () {
    for (const rel of onDisk.filter((p) => p.startsWith("inclusion/"))) {
      const v = read(rel) as InclusionVector & Record<string, unknown>;
      it(`${rel}: ${v.wantErr ? `throws ${v.wantCode}` : "verifies"}`, function () {
        const want = expectCommonShape(v);
        expect(isHex(v.leafHash) && isHex(v.root), "leafHash and root are hex").to.equal(true);
        expect(isInt(v.index) && isInt(v.size), "index and size are integers").to.equal(true);
        expectOutcome(() => verifyInclusion(fromHex(v.leafHash), v.index, v.size, fromHex(v.root), v.proof.map(fromHex)), want);
      });
    }
  });

  describe("consistency", function () {
    for (const rel of onDisk.filter((p) => p.startsWith("consistency/"))) {
      const v = read(rel) as ConsistencyVector & Record<string, unknown>;
      it(`${rel}: ${v.wantErr ? `throws ${v.wantCode}` : "verifies"}`, function () {
        const want = expectCommonShape(v);
        expect(isHex(v.root1) && isHex(v.root2), "root1 and root2 are hex").to.equal(true);
        expect(isInt(v.size1) && isInt(v.size2), "size1 and size2 are integers").to.equal(true);
        expectOutcome(() => verifyConsistency(v.size1, v.size2, fromHex(v.root1), fromHex(v.root2), v.proof.map(fromHex)), want);
      });
    }
  });
});
