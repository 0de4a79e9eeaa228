/**
 * The asynchronous (WebCrypto) verifiers the portal runs in the browser give
 * exactly the results and errors of the synchronous (node:crypto) ones: the
 * same generator drives both (service/log/steps.ts), and these tests run both
 * over every vector in test/vectors/, the published signed-note keys and
 * checkpoints, and a set of mutated notes and keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import {
  EMPTY_ROOT,
  ed25519KeyId,
  ed25519KeyIdAsync,
  fromHex,
  hashChildren,
  hashChildrenAsync,
  hashLeaf,
  hashLeafAsync,
  noteKeyFromSeed,
  openNote,
  openNoteAsync,
  parseSignerKey,
  parseVerifierKey,
  parseVerifierKeyAsync,
  rootFromInclusionProof,
  rootFromInclusionProofAsync,
  sha256,
  sha256Async,
  signCheckpoint,
  toHex,
  verifyCheckpoint,
  verifyCheckpointAsync,
  verifyConsistency,
  verifyConsistencyAsync,
  verifyInclusion,
  verifyInclusionAsync,
  LogArgumentError,
} from "../../service/log";
import { VECTORS_DIR, type ConsistencyVector, type InclusionVector } from "../../scripts/gen-vectors";

/** What a call did: its result, or its error's class, code and message. */
type Outcome = { ok: true; value: unknown } | { ok: false; name: string; code: unknown; message: string; detail?: unknown };

function errorOutcome(e: unknown): Outcome {
  if (!(e instanceof Error)) throw new Error(`a non-Error was thrown: ${String(e)}`);
  const coded = e as Error & { code?: unknown; detail?: unknown };
  return { ok: false, name: e.name, code: coded.code, message: e.message, ...(coded.detail !== undefined ? { detail: coded.detail } : {}) };
}

function syncOutcome(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return errorOutcome(e);
  }
}

async function asyncOutcome(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return errorOutcome(e);
  }
}

/** Node verifier keys hold a KeyObject and WebCrypto ones a CryptoKey: compare what they say, not the key objects. */
function comparable(o: Outcome): Outcome {
  if (!o.ok || typeof o.value !== "object" || o.value === null || !("key" in o.value)) return o;
  const { key: _key, ...rest } = o.value as Record<string, unknown>;
  return { ok: true, value: rest };
}

function listJson(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.endsWith(".json")).map((p) => p.split(path.sep).join("/")).sort();
}
const vectors = listJson(VECTORS_DIR).map((rel) => ({ rel, v: JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, rel), "utf8")) as Record<string, unknown> }));

describe("the asynchronous (WebCrypto) log core", function () {
  describe("hashing", function () {
    it("gives the node:crypto digests for leaves, nodes and the empty string", async function () {
      const data = [new Uint8Array(0), new TextEncoder().encode("subsidy"), new Uint8Array(1000).fill(7)];
      for (const d of data) {
        expect(toHex(await hashLeafAsync(d))).to.equal(toHex(hashLeaf(d)));
        expect(toHex(await sha256Async(d, d))).to.equal(toHex(sha256(d, d)));
      }
      const a = hashLeaf(data[1]!);
      const b = hashLeaf(data[2]!);
      expect(toHex(await hashChildrenAsync(a, b))).to.equal(toHex(hashChildren(a, b)));
    });

    it("keeps EMPTY_ROOT equal to SHA-256 of the empty string", async function () {
      expect(toHex(EMPTY_ROOT)).to.equal(toHex(sha256()));
      expect(toHex(EMPTY_ROOT)).to.equal(toHex(await sha256Async()));
    });

    it("refuses child hashes that are not 32 bytes, as the synchronous hashChildren does", async function () {
      expect(() => hashChildren(new Uint8Array(31), new Uint8Array(32))).to.throw(LogArgumentError);
      const o = await asyncOutcome(() => hashChildrenAsync(new Uint8Array(31), new Uint8Array(32)));
      expect(o).to.include({ ok: false, name: "LogArgumentError" });
    });
  });

  describe("on every vector in test/vectors/", function () {
    it("there are vectors to compare", function () {
      expect(vectors.length).to.be.greaterThan(200);
    });

    for (const { rel, v } of vectors) {
      it(`${rel}: the same outcome as the synchronous verifier`, async function () {
        let sync: Outcome;
        let async_: Outcome;
        if (rel.startsWith("inclusion/")) {
          const x = v as unknown as InclusionVector;
          const args = [fromHex(x.leafHash), x.index, x.size, fromHex(x.root), x.proof.map(fromHex)] as const;
          sync = syncOutcome(() => verifyInclusion(...args));
          async_ = await asyncOutcome(() => verifyInclusionAsync(...args));
          expect(await asyncOutcome(() => rootFromInclusionProofAsync(args[0], args[1], args[2], args[4]))).to.deep.equal(
            syncOutcome(() => rootFromInclusionProof(args[0], args[1], args[2], args[4])),
          );
        } else {
          const x = v as unknown as ConsistencyVector;
          const args = [x.size1, x.size2, fromHex(x.root1), fromHex(x.root2), x.proof.map(fromHex)] as const;
          sync = syncOutcome(() => verifyConsistency(...args));
          async_ = await asyncOutcome(() => verifyConsistencyAsync(...args));
        }
        expect(async_).to.deep.equal(sync);
        // And both agree with the vector itself, so the comparison is not between two wrong answers.
        expect(sync.ok, String(v.desc)).to.equal(v.wantErr !== true);
        if (!sync.ok) expect(sync.code).to.equal(v.wantCode);
      });
    }

    it("rejects malformed arguments with the same errors (not a TypeError)", async function () {
      const h = new Uint8Array(32);
      const cases: ReadonlyArray<readonly [string, () => unknown, () => Promise<unknown>]> = [
        ["a negative index", () => verifyInclusion(h, -1, 4, h, []), () => verifyInclusionAsync(h, -1, 4, h, [])],
        ["a proof that is not an array", () => verifyInclusion(h, 0, 4, h, "x" as never), () => verifyInclusionAsync(h, 0, 4, h, "x" as never)],
        ["a sparse proof", () => verifyInclusion(h, 0, 2, h, new Array(1) as never), () => verifyInclusionAsync(h, 0, 2, h, new Array(1) as never)],
        ["a short root", () => verifyConsistency(1, 2, h, new Uint8Array(3), [h]), () => verifyConsistencyAsync(1, 2, h, new Uint8Array(3), [h])],
        ["size1 > size2", () => verifyConsistency(3, 2, h, h, []), () => verifyConsistencyAsync(3, 2, h, h, [])],
      ];
      for (const [desc, s, a] of cases) {
        const want = syncOutcome(s);
        expect(want.ok, desc).to.equal(false);
        expect(want).to.have.property("name", "VerificationError");
        expect(await asyncOutcome(a), desc).to.deep.equal(want);
      }
    });
  });

  describe("signed notes and checkpoints", function () {
    // Published golang.org/x/mod sumdb/note keys and note (note_test.go), and a
    // real sum.golang.org checkpoint (transparency-dev/formats, log/note_test.go).
    const PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const NEUMANN_NOTE =
      "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n" +
      "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n" +
      "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
    const SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    const SUMDB_CHECKPOINT =
      "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n" +
      "— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";

    const ORIGIN = "ledger.async.test/log";
    const ours = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(5));
    const other = noteKeyFromSeed("other.example/log", new Uint8Array(32).fill(6));
    const rotated = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(8));
    const signed = signCheckpoint({ origin: ORIGIN, size: 41, rootHash: hashLeaf(new Uint8Array([1])), extensions: [] }, parseSignerKey(ours.signerKey));
    const byOther = signCheckpoint({ origin: ORIGIN, size: 41, rootHash: hashLeaf(new Uint8Array([1])), extensions: [] }, parseSignerKey(other.signerKey));

    /** Every single-character change of a note's text and signature, plus the usual malformations. */
    function mutations(note: string): string[] {
      const out: string[] = [note, note + "x", note.slice(0, -1), note.replace("\n\n", "\n"), note.replace("— ", "-- "), note.replace("\n", "\r\n"), "", "\n\n", note + note];
      for (let i = 0; i < note.length; i += 3) {
        const c = note[i]!;
        out.push(note.slice(0, i) + (c === "A" ? "B" : "A") + note.slice(i + 1));
      }
      return out;
    }

    it("parse verifier keys alike: the published ones, ours and broken ones", async function () {
      const keys = [PETER_VKEY, ENOCH_VKEY, SUMDB_VKEY, ours.verifierKey, "", "a+b+c", PETER_VKEY.slice(0, -1), PETER_VKEY.replace("c74f20a3", "c74f20a4"), ours.verifierKey.toUpperCase(), 42 as never];
      for (let i = 0; i < PETER_VKEY.length; i += 2) keys.push(PETER_VKEY.slice(0, i) + (PETER_VKEY[i] === "Z" ? "Y" : "Z") + PETER_VKEY.slice(i + 1));
      let failures = 0;
      for (const k of keys) {
        const want = comparable(syncOutcome(() => parseVerifierKey(k)));
        if (!want.ok) failures++;
        expect(comparable(await asyncOutcome(() => parseVerifierKeyAsync(k))), String(k)).to.deep.equal(want);
      }
      expect(failures, "some keys are refused, so the comparison covers errors").to.be.greaterThan(keys.length / 2);
    });

    it("compute key IDs alike", async function () {
      const v = parseVerifierKey(PETER_VKEY);
      expect(await ed25519KeyIdAsync(v.name, v.publicKey)).to.equal(ed25519KeyId(v.name, v.publicKey));
    });

    it("open the published two-signature note and every mutation of it alike", async function () {
      const nodeKeys = [parseVerifierKey(PETER_VKEY), parseVerifierKey(ENOCH_VKEY)];
      const webKeys = [await parseVerifierKeyAsync(PETER_VKEY), await parseVerifierKeyAsync(ENOCH_VKEY)];
      const codes = new Set<unknown>();
      for (const note of mutations(NEUMANN_NOTE)) {
        for (const n of [1, 2]) {
          const want = syncOutcome(() => openNote(note, nodeKeys.slice(0, n)));
          if (!want.ok) codes.add(want.code);
          expect(await asyncOutcome(() => openNoteAsync(note, webKeys.slice(0, n))), JSON.stringify(note)).to.deep.equal(want);
        }
      }
      for (const c of ["SIGNATURE_INVALID", "SIGNATURE_MALFORMED", "MALFORMED", "ENCODING_INVALID"]) expect([...codes], c).to.include(c);
    });

    it("verify the sum.golang.org checkpoint, ours, and every mutation of them alike", async function () {
      const pairs: ReadonlyArray<readonly [string, string, string | undefined]> = [
        [SUMDB_CHECKPOINT, SUMDB_VKEY, "go.sum database tree"],
        [signed, ours.verifierKey, ORIGIN],
        [signed, ours.verifierKey, "another origin"],
        [signed, other.verifierKey, undefined],
        [signed, rotated.verifierKey, ORIGIN],
        [byOther, ours.verifierKey, ORIGIN],
      ];
      let verified = 0;
      for (const [note, key, origin] of pairs) {
        const nodeKey = parseVerifierKey(key);
        const webKey = await parseVerifierKeyAsync(key);
        for (const m of mutations(note)) {
          const want = syncOutcome(() => verifyCheckpoint(m, nodeKey, origin));
          if (want.ok) verified++;
          expect(await asyncOutcome(() => verifyCheckpointAsync(m, webKey, origin)), JSON.stringify(m)).to.deep.equal(want);
        }
      }
      expect(verified, "the unmutated notes verify").to.be.at.least(2);
    });

    it("refuses a node:crypto verifier on the WebCrypto path with KEY_INVALID", async function () {
      const nodeKey = parseVerifierKey(ours.verifierKey);
      expect(await asyncOutcome(() => verifyCheckpointAsync(signed, nodeKey as never))).to.include({ ok: false, code: "KEY_INVALID" });
    });
  });
});
