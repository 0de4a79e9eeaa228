/**
 * Regenerates the proof-verification test vectors in test/vectors/, after
 * transparency-dev/merkle's testdata/: one JSON file per case, named after the
 * mutation and the base case, e.g.
 *
 *   test/vectors/inclusion/happy-path@2-7.json
 *   test/vectors/inclusion/modified-proof@1-bit-3@2-7.json
 *   test/vectors/consistency/swapped-roots@3-7.json
 *
 * Inclusion files hold { desc, leafHash, index, size, root, proof[], wantErr, wantCode? };
 * consistency files hold { desc, size1, size2, root1, root2, proof[], wantErr, wantCode? }.
 * Hashes are lowercase hex; `wantCode` (a VerificationErrorCode) is present exactly when `wantErr` is true.
 *
 * Deterministic: fixed leaves, no randomness, so running it twice gives the
 * same bytes. Proofs and outcomes come from the plain recursive reference in
 * scripts/lib/rfc6962-reference.ts, not from the code under test; the expected error
 * code follows the order in which service/log/verify.ts documents its checks
 * (sizes, then index range, then proof length, then hash lengths, then roots).
 * test/log/vectors.test.ts checks both the verifier against these files and
 * these files against generateVectors(), so they cannot drift silently.
 *
 * Usage: npm run vectors
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { VerificationErrorCode } from "../service/log";
import * as ref from "./lib/rfc6962-reference";

export interface InclusionVector {
  desc: string;
  leafHash: string;
  index: number;
  size: number;
  root: string;
  proof: string[];
  wantErr: boolean;
  wantCode?: VerificationErrorCode;
}

export interface ConsistencyVector {
  desc: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
  wantErr: boolean;
  wantCode?: VerificationErrorCode;
}

export type VectorFile =
  | { kind: "inclusion"; path: string; vector: InclusionVector }
  | { kind: "consistency"; path: string; vector: ConsistencyVector };

/** Where the vectors live. generateVectors() paths are relative to this, with "/" separators. */
export const VECTORS_DIR = path.join(__dirname, "..", "test", "vectors");

/** Base cases chosen for their shapes: single leaf, first/last leaf, ragged right edges, powers of two. */
export const INCLUSION_BASES: readonly (readonly [index: number, size: number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [2, 7],
  [6, 7],
  [5, 8],
  [12, 13],
  [0, 64],
];

/** Includes the edge cases: equal sizes, an empty old tree, power-of-two and ragged old trees. */
export const CONSISTENCY_BASES: readonly (readonly [size1: number, size2: number])[] = [
  [1, 2],
  [2, 4],
  [3, 7],
  [4, 8],
  [6, 8],
  [7, 8],
  [1, 1],
  [0, 5],
  [13, 21],
];

const utf8 = new TextEncoder();
/** Enough leaves for every base case, doubled sizes included. */
const D: Uint8Array[] = Array.from({ length: 160 }, (_, i) => utf8.encode(`subsidy-ledger test vector leaf ${i}`));
const root = (n: number): Uint8Array => ref.mth(D.slice(0, n));
const SOME_HASH = ref.leafHash(utf8.encode("a hash that is in no tree"));
const GARBAGE = new Uint8Array(0);

const isSize = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const is32 = (h: Uint8Array): boolean => h.length === 32;

function flipBit(proof: readonly Uint8Array[], k: number, bit: number): Uint8Array[] {
  const p = [...proof];
  const e = Uint8Array.from(p[k]!);
  e[0]! ^= 1 << bit;
  p[k] = e;
  return p;
}

/** The outcome a conforming verifier must give, from the reference verifier and verify.ts's order of checks. */
function inclusionOutcome(leafHash: Uint8Array, index: number, size: number, r: Uint8Array, proof: readonly Uint8Array[]): VerificationErrorCode | undefined {
  if (!is32(r)) return "HASH_LENGTH_INVALID";
  if (!isSize(index) || !isSize(size)) return "SIZE_INVALID";
  if (index >= size) return "INDEX_OUT_OF_RANGE";
  if (!is32(leafHash)) return "HASH_LENGTH_INVALID";
  if (proof.length !== ref.pathLength(index, size)) return "PROOF_LENGTH_INVALID";
  if (!proof.every(is32)) return "HASH_LENGTH_INVALID";
  return ref.verifyPath(index, size, leafHash, r, proof) ? undefined : "ROOT_MISMATCH";
}

function consistencyOutcome(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): VerificationErrorCode | undefined {
  if (!isSize(size1) || !isSize(size2) || size1 > size2) return "SIZE_INVALID";
  if (!is32(root1) || !is32(root2)) return "HASH_LENGTH_INVALID";
  if (proof.length !== ref.proofLength(size1, size2)) return "PROOF_LENGTH_INVALID";
  if (!proof.every(is32)) return "HASH_LENGTH_INVALID";
  if (ref.verifyProof(size1, size2, root1, root2, proof)) return undefined;
  return size1 === size2 && ref.hex(root1) !== ref.hex(root2) ? "ROOTS_DIFFER_AT_EQUAL_SIZE" : "ROOT_MISMATCH";
}

const SAME_SHAPE = "the proof has the same shape at this size, so its hashes cannot tell; sizes are bound by signed checkpoints, not by proofs";

/**
 * Adds wantErr/wantCode. A mutation that still verifies is kept: it documents
 * what a proof does not bind (RFC 9162's algorithm, not a bug), and `why` says so in the desc.
 */
function withOutcome<T extends { desc: string }>(v: T, code: VerificationErrorCode | undefined, why?: string): T & { wantErr: boolean; wantCode?: VerificationErrorCode } {
  if (code !== undefined) return { ...v, wantErr: true, wantCode: code };
  return { ...v, desc: why === undefined ? v.desc : `${v.desc} (still verifies: ${why})`, wantErr: false };
}

/** A copy of the proof with element k one byte short. */
function truncate(proof: readonly Uint8Array[], k: number): Uint8Array[] {
  return proof.map((e, i) => (i === k ? e.slice(0, -1) : e));
}

function inclusionFiles(index: number, size: number): VectorFile[] {
  const leafHash = ref.leafHash(D[index]!);
  const r = root(size);
  const proof = ref.path(index, D.slice(0, size));
  const base = `inclusion of leaf ${index} in a tree of ${size}`;
  // [file name, description, leafHash, index, size, root, proof]
  const cases: [string, string, Uint8Array, number, number, Uint8Array, Uint8Array[]][] = [
    ["happy-path", "a genuine proof", leafHash, index, size, r, proof],
    ...proof.map((_, k): (typeof cases)[number] => [`modified-proof@${k}-bit-3`, `proof[${k}] with bit 3 of byte 0 flipped`, leafHash, index, size, r, flipBit(proof, k, 3)]),
    ["trailing-garbage", "an empty element appended to the proof", leafHash, index, size, r, [...proof, GARBAGE]],
    ["trailing-root", "the root appended to the proof", leafHash, index, size, r, [...proof, r]],
    ["leading-garbage", "an empty element prepended to the proof", leafHash, index, size, r, [GARBAGE, ...proof]],
    ["leading-root", "the root prepended to the proof", leafHash, index, size, r, [r, ...proof]],
    ...proof.map((_, k): (typeof cases)[number] => [`missing-element@${k}`, `proof[${k}] removed`, leafHash, index, size, r, proof.filter((__, i) => i !== k)]),
    ["extra-element", "an unrelated hash inserted after proof[0]", leafHash, index, size, r, [...proof.slice(0, 1), SOME_HASH, ...proof.slice(1)]],
    ...proof.slice(0, 1).map((): (typeof cases)[number] => ["short-element@0", "proof[0] one byte short", leafHash, index, size, r, truncate(proof, 0)]),
    ["wrong-index", `index ${index} XOR 2 = ${index ^ 2}`, leafHash, index ^ 2, size, r, proof],
    ["index-plus-1", `index + 1 = ${index + 1}`, leafHash, index + 1, size, r, proof],
    ["index-minus-1", `index - 1 = ${index - 1}`, leafHash, index - 1, size, r, proof],
    ["wrong-size", `size × 2 = ${size * 2}`, leafHash, index, size * 2, r, proof],
    ["size-plus-1", `size + 1 = ${size + 1}`, leafHash, index, size + 1, r, proof],
    ["size-minus-1", `size - 1 = ${size - 1}`, leafHash, index, size - 1, r, proof],
    ["wrong-leaf", "the leaf hash of other data", SOME_HASH, index, size, r, proof],
    ["wrong-root", "an unrelated root", leafHash, index, size, SOME_HASH, proof],
    ["empty-root", "the empty tree's root", leafHash, index, size, ref.EMPTY_TREE_HASH, proof],
  ];
  return cases.map(([name, what, l, i, n, rt, p]) => ({
    kind: "inclusion",
    path: `inclusion/${name}@${index}-${size}.json`,
    vector: withOutcome(
      { desc: `${base}: ${what}`, leafHash: ref.hex(l), index: i, size: n, root: ref.hex(rt), proof: p.map(ref.hex) },
      inclusionOutcome(l, i, n, rt, p),
      name === "happy-path" ? undefined : SAME_SHAPE,
    ),
  }));
}

function consistencyFiles(size1: number, size2: number): VectorFile[] {
  const root1 = root(size1);
  const root2 = root(size2);
  const proof = ref.proof(size1, D.slice(0, size2));
  const base = `consistency from ${size1} to ${size2} leaves`;
  // [file name, description, size1, size2, root1, root2, proof]
  const cases: [string, string, number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
    ["happy-path", "a genuine proof", size1, size2, root1, root2, proof],
    ...proof.map((_, k): (typeof cases)[number] => [`modified-proof@${k}-bit-4`, `proof[${k}] with bit 4 of byte 0 flipped`, size1, size2, root1, root2, flipBit(proof, k, 4)]),
    ["swapped-roots", "root1 and root2 swapped", size1, size2, root2, root1, proof],
    ["wrong-root1", "an unrelated root1", size1, size2, SOME_HASH, root2, proof],
    ["wrong-root2", "an unrelated root2", size1, size2, root1, SOME_HASH, proof],
    ["trailing-garbage", "an empty element appended to the proof", size1, size2, root1, root2, [...proof, GARBAGE]],
    ["trailing-root2", "root2 appended to the proof", size1, size2, root1, root2, [...proof, root2]],
    ["leading-garbage", "an empty element prepended to the proof", size1, size2, root1, root2, [GARBAGE, ...proof]],
    ["leading-root1", "root1 prepended to the proof", size1, size2, root1, root2, [root1, ...proof]],
    ...proof.map((_, k): (typeof cases)[number] => [`missing-element@${k}`, `proof[${k}] removed`, size1, size2, root1, root2, proof.filter((__, i) => i !== k)]),
    ["extra-element", "an unrelated hash inserted after proof[0]", size1, size2, root1, root2, [...proof.slice(0, 1), SOME_HASH, ...proof.slice(1)]],
    ...proof.slice(0, 1).map((): (typeof cases)[number] => ["short-element@0", "proof[0] one byte short", size1, size2, root1, root2, truncate(proof, 0)]),
    ["wrong-size1", `size1 XOR 2 = ${size1 ^ 2}`, size1 ^ 2, size2, root1, root2, proof],
    ["size1-plus-1", `size1 + 1 = ${size1 + 1}`, size1 + 1, size2, root1, root2, proof],
    ["size1-minus-1", `size1 - 1 = ${size1 - 1}`, size1 - 1, size2, root1, root2, proof],
    ["wrong-size2", `size2 × 2 = ${size2 * 2}`, size1, size2 * 2, root1, root2, proof],
    ["size2-plus-1", `size2 + 1 = ${size2 + 1}`, size1, size2 + 1, root1, root2, proof],
    ["size2-minus-1", `size2 - 1 = ${size2 - 1}`, size1, size2 - 1, root1, root2, proof],
  ];
  if (proof.length > 0) cases.push(["empty-proof", "an empty proof", size1, size2, root1, root2, []]);
  return cases.map(([name, what, m, n, r1, r2, p]) => ({
    kind: "consistency",
    path: `consistency/${name}@${size1}-${size2}.json`,
    vector: withOutcome(
      { desc: `${base}: ${what}`, size1: m, size2: n, root1: ref.hex(r1), root2: ref.hex(r2), proof: p.map(ref.hex) },
      consistencyOutcome(m, n, r1, r2, p),
      name === "happy-path"
        ? undefined
        : m === 0
          ? "the empty tree is a prefix of every tree, so size2 and root2 are not checked"
          : m === n
            ? "the two roots are the same, so there is nothing to prove"
            : SAME_SHAPE,
    ),
  }));
}

/** Every vector file, in a stable order. Pure: no I/O. */
export function generateVectors(): VectorFile[] {
  const files = [...INCLUSION_BASES.flatMap(([i, n]) => inclusionFiles(i, n)), ...CONSISTENCY_BASES.flatMap(([m, n]) => consistencyFiles(m, n))];
  // Check our own output before anyone relies on it: unique names, and every happy path verifies.
  const names = new Set(files.map((f) => f.path));
  if (names.size !== files.length) throw new Error("gen-vectors: two vectors share a file name");
  for (const f of files)
    if (f.path.includes("/happy-path@") && f.vector.wantErr) throw new Error(`gen-vectors: ${f.path} does not verify against the reference`);
  return files;
}

/** The exact bytes of a vector file. */
export function serializeVector(vector: InclusionVector | ConsistencyVector): string {
  return `${JSON.stringify(vector, null, 2)}\n`;
}

/** Replaces test/vectors/{inclusion,consistency}/ with freshly generated files. Returns how many were written. */
export function writeVectors(dir: string = VECTORS_DIR): number {
  const files = generateVectors();
  for (const sub of ["inclusion", "consistency"]) {
    fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  for (const f of files) fs.writeFileSync(path.join(dir, ...f.path.split("/")), serializeVector(f.vector));
  return files.length;
}

if (require.main === module) {
  const count = writeVectors();
  console.log(`wrote ${count} vectors to ${path.relative(process.cwd(), VECTORS_DIR) || "."}`);
}
