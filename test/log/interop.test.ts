/**
 * Agreement with other RFC 6962 SHA-256 implementations, on their published
 * test data. Every expected value below is copied from these sources, never
 * computed by our code:
 *
 * - transparency-dev/merkle, testonly/constants.go (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1):
 *   LeafInputs, NodeHashes, RootHashes, CompactTrees, EmptyRootHash.
 * - transparency-dev/merkle, proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472):
 *   inclusionProofs, consistencyProofs, sha256SomeHash, and the probes of
 *   corruptInclusionProof / corruptConsistencyProof / TestVerifyConsistency.
 * - google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc
 *   (commit 0e901cacd1388fa16f78b184612f6cd16e5ceec1): kInputs, kSHA256Roots,
 *   kSHA256Paths, kSHA256Proofs — the same values, published independently.
 * - transparency-dev/merkle, proof/proof_test.go (commit 02a3e2029520f515596d5238c54fb0ac9e19bff4):
 *   the node IDs that make up inclusion and consistency proofs (TestInclusion, TestConsistency).
 *
 * Published leaf numbers in verify_test.go and merkle_tree_test.cc are 1-based; ours are 0-based.
 */
import { expect } from "chai";
import {
  CompactRange,
  EMPTY_ROOT,
  fromHex,
  hashChildren,
  hashLeaf,
  MemoryTree,
  planConsistency,
  planInclusion,
  toHex,
  VerificationError,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
} from "../../service/log";

// testonly/constants.go: LeafInputs()
const LEAF_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

// testonly/constants.go: NodeHashes(), by level then index.
const NODE_HASHES: string[][] = [
  [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  ],
  [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  ],
  ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
  ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

// testonly/constants.go: EmptyRootHash() and RootHashes(), by tree size 0..8.
const EMPTY_ROOT_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ROOTS = [
  EMPTY_ROOT_HASH,
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

// testonly/constants.go: CompactTrees(), as [level, index] references into NodeHashes, by tree size 0..8.
const COMPACT_TREES: [number, number][][] = [
  [],
  [[0, 0]],
  [[1, 0]],
  [
    [1, 0],
    [0, 2],
  ],
  [[2, 0]],
  [
    [2, 0],
    [0, 4],
  ],
  [
    [2, 0],
    [1, 2],
  ],
  [
    [2, 0],
    [1, 2],
    [0, 6],
  ],
  [[3, 0]],
];

// proof/verify_test.go: inclusionProofs (= merkle_tree_test.cc kSHA256Paths). `leaf` is 1-based.
const INCLUSION_PROOFS: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { leaf: 3, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    leaf: 2,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];

// proof/verify_test.go: consistencyProofs (the first four = merkle_tree_test.cc kSHA256Proofs).
const CONSISTENCY_PROOFS: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

// proof/verify_test.go: sha256SomeHash.
const SOME_HASH = "abacaba000000000000000000000000000000000000000000060061e00123456";

/**
 * A proof's node IDs as proof/proof_test.go writes them: a flat list of
 * (level, index) where ids[begin:end], if given, are folded into one element
 * ("rehash"), listed bottom-up. Ours groups each element's nodes left to right.
 */
interface PublishedNodes {
  ids: [number, number][];
  rehash?: [number, number];
}

function toGroups(p: PublishedNodes): NodeId[][] {
  const id = ([level, index]: [number, number]): NodeId => ({ level, index });
  if (p.rehash === undefined) return p.ids.map((x) => [id(x)]);
  const [begin, end] = p.rehash;
  return [...p.ids.slice(0, begin).map((x) => [id(x)]), p.ids.slice(begin, end).map(id).reverse(), ...p.ids.slice(end).map((x) => [id(x)])];
}

// proof/proof_test.go: TestInclusion, the non-error cases.
const INCLUSION_NODES: { size: number; index: number; want: PublishedNodes }[] = [
  { size: 1, index: 0, want: { ids: [] } },
  { size: 2, index: 0, want: { ids: [[0, 1]] } },
  { size: 2, index: 1, want: { ids: [[0, 0]] } },
  { size: 3, index: 1, want: { ids: [[0, 0], [0, 2]] } },
  { size: 7, index: 0, want: { ids: [[0, 1], [1, 1], [0, 6], [1, 2]], rehash: [2, 4] } },
  { size: 7, index: 1, want: { ids: [[0, 0], [1, 1], [0, 6], [1, 2]], rehash: [2, 4] } },
  { size: 7, index: 2, want: { ids: [[0, 3], [1, 0], [0, 6], [1, 2]], rehash: [2, 4] } },
  { size: 7, index: 3, want: { ids: [[0, 2], [1, 0], [0, 6], [1, 2]], rehash: [2, 4] } },
  { size: 7, index: 4, want: { ids: [[0, 5], [0, 6], [2, 0]] } },
  { size: 7, index: 5, want: { ids: [[0, 4], [0, 6], [2, 0]] } },
  { size: 7, index: 6, want: { ids: [[1, 2], [2, 0]] } },
  { size: 4, index: 2, want: { ids: [[0, 3], [1, 0]] } },
  { size: 5, index: 3, want: { ids: [[0, 2], [1, 0], [0, 4]] } },
  { size: 6, index: 3, want: { ids: [[0, 2], [1, 0], [1, 2]] } },
  { size: 6, index: 4, want: { ids: [[0, 5], [2, 0]] } },
  { size: 15, index: 10, want: { ids: [[0, 11], [1, 4], [0, 14], [1, 6], [3, 0]], rehash: [2, 4] } },
  { size: 31, index: 24, want: { ids: [[0, 25], [1, 13], [0, 30], [1, 14], [3, 2], [4, 0]], rehash: [2, 4] } },
  { size: 95, index: 81, want: { ids: [[0, 80], [1, 41], [2, 21], [0, 94], [1, 46], [2, 22], [4, 4], [6, 0]], rehash: [3, 6] } },
];

// proof/proof_test.go: TestConsistency, the non-error cases.
const CONSISTENCY_NODES: { size1: number; size2: number; want: PublishedNodes }[] = [
  { size1: 1, size2: 2, want: { ids: [[0, 1]] } },
  { size1: 1, size2: 4, want: { ids: [[0, 1], [1, 1]] } },
  { size1: 1, size2: 6, want: { ids: [[0, 1], [1, 1], [1, 2]] } },
  { size1: 2, size2: 3, want: { ids: [[0, 2]] } },
  { size1: 2, size2: 8, want: { ids: [[1, 1], [2, 1]] } },
  { size1: 3, size2: 7, want: { ids: [[0, 2], [0, 3], [1, 0], [0, 6], [1, 2]], rehash: [3, 5] } },
  { size1: 4, size2: 7, want: { ids: [[0, 6], [1, 2]], rehash: [0, 2] } },
  { size1: 5, size2: 7, want: { ids: [[0, 4], [0, 5], [0, 6], [2, 0]] } },
  { size1: 6, size2: 7, want: { ids: [[1, 2], [0, 6], [2, 0]] } },
  { size1: 7, size2: 8, want: { ids: [[0, 6], [0, 7], [1, 2], [2, 0]] } },
  ...[1, 2, 3, 4, 5, 7, 8].map((n) => ({ size1: n, size2: n, want: { ids: [] } as PublishedNodes })),
  { size1: 2, size2: 4, want: { ids: [[1, 1]] } },
  { size1: 3, size2: 5, want: { ids: [[0, 2], [0, 3], [1, 0], [0, 4]] } },
  { size1: 3, size2: 6, want: { ids: [[0, 2], [0, 3], [1, 0], [1, 2]] } },
  { size1: 4, size2: 6, want: { ids: [[1, 2]] } },
  { size1: 1, size2: 7, want: { ids: [[0, 1], [1, 1], [0, 6], [1, 2]], rehash: [2, 4] } },
  { size1: 10, size2: 15, want: { ids: [[1, 4], [1, 5], [0, 14], [1, 6], [3, 0]], rehash: [2, 4] } },
  { size1: 24, size2: 31, want: { ids: [[3, 2], [0, 30], [1, 14], [2, 6], [4, 0]], rehash: [1, 4] } },
  { size1: 81, size2: 95, want: { ids: [[0, 80], [0, 81], [1, 41], [2, 21], [0, 94], [1, 46], [2, 22], [4, 4], [6, 0]], rehash: [4, 7] } },
];

const h = fromHex;
const leafHashes = LEAF_INPUTS.map((x) => hashLeaf(h(x)));
const tree = new MemoryTree(leafHashes);
const WRONG = new TextEncoder().encode("WrongLeaf"); // 9 bytes, as in verify_test.go

function flipBit(proof: readonly Uint8Array[], i: number, mask: number): Uint8Array[] {
  const p = [...proof];
  const e = Uint8Array.from(p[i]!);
  e[0]! ^= mask;
  p[i] = e;
  return p;
}

describe("interop with published RFC 6962 (SHA-256) test data", function () {
  describe("hashing", function () {
    it("gives the published empty-tree root", function () {
      expect(toHex(EMPTY_ROOT)).to.equal(EMPTY_ROOT_HASH);
      expect(toHex(new MemoryTree().root())).to.equal(EMPTY_ROOT_HASH);
    });

    it("gives the published leaf hashes for the eight published inputs", function () {
      expect(leafHashes.map(toHex)).to.deep.equal(NODE_HASHES[0]);
    });

    it("gives the published interior nodes from their published children", function () {
      for (let level = 1; level < NODE_HASHES.length; level++)
        NODE_HASHES[level]!.forEach((want, index) => {
          const left = h(NODE_HASHES[level - 1]![2 * index]!);
          const right = h(NODE_HASHES[level - 1]![2 * index + 1]!);
          expect(toHex(hashChildren(left, right)), `node ${level}/${index}`).to.equal(want);
        });
    });
  });

  describe("trees", function () {
    it("have the published root for every size 0..8", function () {
      for (let n = 0; n <= 8; n++) expect(toHex(tree.root(n)), `size ${n}`).to.equal(ROOTS[n]);
    });

    it("store the published node hashes", function () {
      NODE_HASHES.forEach((level, l) => level.forEach((want, i) => expect(toHex(tree.node({ level: l, index: i })), `node ${l}/${i}`).to.equal(want)));
    });

    it("have compact ranges equal to the published CompactTrees, and the published roots, after every append", function () {
      const range = new CompactRange();
      for (let n = 0; n <= 8; n++) {
        if (n > 0) range.append(leafHashes[n - 1]!);
        const want = COMPACT_TREES[n]!.map(([level, index]) => NODE_HASHES[level]![index]!);
        expect(range.hashes.map(toHex), `size ${n}`).to.deep.equal(want);
        expect(toHex(range.root()), `size ${n}`).to.equal(ROOTS[n]);
      }
    });
  });

  describe("inclusion proofs", function () {
    for (const { leaf, size, proof } of INCLUSION_PROOFS) {
      const index = leaf - 1;
      describe(`for leaf index ${index} in a tree of ${size}`, function () {
        const published = proof.map(h);
        const root = h(ROOTS[size]!);
        const leafHash = leafHashes[index]!;

        it("equal the published proof", function () {
          expect(tree.inclusionProof(index, size).map(toHex)).to.deep.equal(proof);
        });

        it("verify against the published root", function () {
          expect(() => verifyInclusion(leafHash, index, size, root, published)).not.to.throw();
        });

        it("are rejected under every corruption of verify_test.go's corruptInclusionProof", function () {
          const probes: [string, () => void][] = [
            ["leafIndex - 1", () => verifyInclusion(leafHash, index - 1, size, root, published)],
            ["leafIndex + 1", () => verifyInclusion(leafHash, index + 1, size, root, published)],
            ["leafIndex ^ 2", () => verifyInclusion(leafHash, index ^ 2, size, root, published)],
            ["treeSize * 2", () => verifyInclusion(leafHash, index, size * 2, root, published)],
            ["treeSize / 2", () => verifyInclusion(leafHash, index, Math.floor(size / 2), root, published)],
            ["wrong leaf", () => verifyInclusion(WRONG, index, size, root, published)],
            ["empty root", () => verifyInclusion(leafHash, index, size, h(EMPTY_ROOT_HASH), published)],
            ["random root", () => verifyInclusion(leafHash, index, size, h(SOME_HASH), published)],
            ["trailing garbage", () => verifyInclusion(leafHash, index, size, root, [...published, new Uint8Array()])],
            ["trailing root", () => verifyInclusion(leafHash, index, size, root, [...published, root])],
            ["preceding garbage", () => verifyInclusion(leafHash, index, size, root, [new Uint8Array(), ...published])],
            ["preceding root", () => verifyInclusion(leafHash, index, size, root, [root, ...published])],
            ...published.map((_, i): [string, () => void] => [`modified proof[${i}] bit 3`, () => verifyInclusion(leafHash, index, size, root, flipBit(published, i, 8))]),
          ];
          if (published.length > 0) probes.push(["removed component", () => verifyInclusion(leafHash, index, size, root, published.slice(0, -1))]);
          if (published.length > 1)
            probes.push(["inserted component", () => verifyInclusion(leafHash, index, size, root, [published[0]!, h(SOME_HASH), ...published.slice(1)])]);
          for (const [desc, probe] of probes) expect(probe, desc).to.throw(VerificationError);
        });
      });
    }
  });

  describe("consistency proofs", function () {
    for (const { size1, size2, proof } of CONSISTENCY_PROOFS) {
      describe(`from size ${size1} to size ${size2}`, function () {
        const published = proof.map(h);
        const root1 = h(ROOTS[size1]!);
        const root2 = h(ROOTS[size2]!);

        it("equal the published proof", function () {
          expect(tree.consistencyProof(size1, size2).map(toHex)).to.deep.equal(proof);
        });

        it("verify between the published roots", function () {
          expect(() => verifyConsistency(size1, size2, root1, root2, published)).not.to.throw();
        });

        if (published.length > 0) {
          it("are rejected under every corruption of verify_test.go's corruptConsistencyProof", function () {
            const wrongRoot = new TextEncoder().encode("WrongRoot");
            const probes: [string, () => void][] = [
              ["size1 - 1", () => verifyConsistency(size1 - 1, size2, root1, root2, published)],
              ["size1 + 1", () => verifyConsistency(size1 + 1, size2, root1, root2, published)],
              ["size1 ^ 2", () => verifyConsistency(size1 ^ 2, size2, root1, root2, published)],
              ["size2 * 2", () => verifyConsistency(size1, size2 * 2, root1, root2, published)],
              ["size2 / 2", () => verifyConsistency(size1, Math.floor(size2 / 2), root1, root2, published)],
              ["wrong root1", () => verifyConsistency(size1, size2, wrongRoot, root2, published)],
              ["wrong root2", () => verifyConsistency(size1, size2, root1, wrongRoot, published)],
              ["swapped roots", () => verifyConsistency(size1, size2, root2, root1, published)],
              ["empty proof", () => verifyConsistency(size1, size2, root1, root2, [])],
              ["trailing garbage", () => verifyConsistency(size1, size2, root1, root2, [...published, new Uint8Array()])],
              ["trailing root1", () => verifyConsistency(size1, size2, root1, root2, [...published, root1])],
              ["trailing root2", () => verifyConsistency(size1, size2, root1, root2, [...published, root2])],
              ["preceding garbage", () => verifyConsistency(size1, size2, root1, root2, [new Uint8Array(), ...published])],
              ["preceding root1", () => verifyConsistency(size1, size2, root1, root2, [root1, ...published])],
              ["preceding root2", () => verifyConsistency(size1, size2, root1, root2, [root2, ...published])],
              ["preceding proof[0]", () => verifyConsistency(size1, size2, root1, root2, [published[0]!, ...published])],
              ["truncated proof", () => verifyConsistency(size1, size2, root1, root2, published.slice(0, -1))],
              ...published.map((_, i): [string, () => void] => [`modified proof[${i}] bit 4`, () => verifyConsistency(size1, size2, root1, root2, flipBit(published, i, 16))]),
            ];
            for (const [desc, probe] of probes) expect(probe, desc).to.throw(VerificationError);
          });
        }
      });
    }

    describe("in the edge cases of verify_test.go's TestVerifyConsistency", function () {
      // The published cases use short "don't care" roots; we require 32-byte
      // hashes, so the same cases are run with 32-byte roots.
      const r1 = h(ROOTS[3]!);
      const r2 = h(ROOTS[5]!);
      const empty = h(EMPTY_ROOT_HASH);

      it("agree on the cases that must fail", function () {
        const probes: [string, () => void][] = [
          ["0, 0 with different roots", () => verifyConsistency(0, 0, r1, r2, [])],
          ["1, 1 with different roots", () => verifyConsistency(1, 1, r1, r2, [])],
          ["time travel 1 → 0", () => verifyConsistency(1, 0, r1, r2, [])],
          ["time travel 2 → 1", () => verifyConsistency(2, 1, r1, r2, [])],
          ["empty proof 1 → 2", () => verifyConsistency(1, 2, r1, r2, [])],
          ["0, 0: roots match but the proof is not empty", () => verifyConsistency(0, 0, empty, empty, [empty])],
          ["0, 1: roots match but the proof is not empty", () => verifyConsistency(0, 1, empty, empty, [empty])],
          ["1, 1: roots match but the proof is not empty", () => verifyConsistency(1, 1, empty, empty, [empty])],
        ];
        for (const [desc, probe] of probes) expect(probe, desc).to.throw(VerificationError);
      });

      it("agree on the cases that must pass, when root1 of an empty tree is the empty-tree root", function () {
        expect(() => verifyConsistency(0, 0, empty, empty, [])).not.to.throw();
        expect(() => verifyConsistency(0, 1, empty, r2, [])).not.to.throw();
        expect(() => verifyConsistency(1, 1, r2, r2, [])).not.to.throw();
      });

      it("are deliberately stricter for an empty old tree: root1 must be the empty-tree root (transparency-dev ignores it)", function () {
        expect(() => verifyConsistency(0, 0, r1, r1, [])).to.throw(VerificationError);
        expect(() => verifyConsistency(0, 1, r1, r2, [])).to.throw(VerificationError);
      });
    });
  });

  describe("proof plans", function () {
    for (const { size, index, want } of INCLUSION_NODES) {
      it(`name proof_test.go's nodes for inclusion of ${index} in ${size}`, function () {
        expect(planInclusion(index, size).nodes).to.deep.equal(toGroups(want));
      });
    }

    for (const { size1, size2, want } of CONSISTENCY_NODES) {
      it(`name proof_test.go's nodes for consistency from ${size1} to ${size2}`, function () {
        expect(planConsistency(size1, size2).nodes).to.deep.equal(toGroups(want));
      });
    }

    it("reject proof_test.go's invalid parameters", function () {
      for (const [size, index] of [
        [0, 0],
        [0, 1],
        [1, 2],
        [0, 3],
        [7, 8],
      ] as const)
        expect(() => planInclusion(index, size), `inclusion ${index} in ${size}`).to.throw();
      for (const [size1, size2] of [
        [5, 0],
        [9, 8],
      ] as const)
        expect(() => planConsistency(size1, size2), `consistency ${size1} → ${size2}`).to.throw();
    });
  });
});
