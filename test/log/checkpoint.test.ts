import { expect } from "chai";
import {
  type Checkpoint,
  type CheckpointErrorCode,
  formatCheckpoint,
  MAX_NOTE_SIZE,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
  hashLeaf,
  toHex,
} from "../../service/log";
import { expectCode, LOG, LOG_ROTATED, ORIGIN, STRANGER, WITNESS } from "./note-keys";

const utf8 = new TextEncoder();

/*
 * A real sum.golang.org checkpoint and the sumdb's published verifier key, from
 * transparency-dev/formats, log/note_test.go (TestSumDBNoteParsing).
 */
const SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_CHECKPOINT = `go.sum database tree
6476701
mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=

— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=
`;

/* The example in C2SP tlog-checkpoint.md (its public key is not published, so only the shape can be checked). */
const C2SP_EXAMPLE = `example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
`;

const ROOT = hashLeaf(utf8.encode("subsidy-ledger test root"));
const ROOT_B64 = Buffer.from(ROOT).toString("base64");
const CP: Checkpoint = { origin: ORIGIN, size: 1234, rootHash: ROOT, extensions: [] };

describe("signed checkpoints (C2SP tlog-checkpoint in a signed note)", function () {
  describe("formatCheckpoint", function () {
    it("writes origin, decimal size and padded base64 root, each line ending in a newline", function () {
      expect(formatCheckpoint(CP)).to.equal(`${ORIGIN}\n1234\n${ROOT_B64}\n`);
    });

    it("writes extension lines after the root, in order", function () {
      expect(formatCheckpoint({ ...CP, extensions: ["ext one", "ext-two"] })).to.equal(`${ORIGIN}\n1234\n${ROOT_B64}\next one\next-two\n`);
    });

    it("writes the empty tree's size as 0", function () {
      expect(formatCheckpoint({ ...CP, size: 0 }).split("\n")[1]).to.equal("0");
    });

    describe("when a field is invalid", function () {
      const cases: ReadonlyArray<[string, unknown, CheckpointErrorCode]> = [
        ["the checkpoint is null", null, "MALFORMED"],
        ["the origin is empty", { ...CP, origin: "" }, "ORIGIN_INVALID"],
        ["the origin spans two lines", { ...CP, origin: "a\nb" }, "ORIGIN_INVALID"],
        ["the origin holds a CR", { ...CP, origin: "a\r" }, "ORIGIN_INVALID"],
        ["the origin holds a lone surrogate", { ...CP, origin: "a\uD800" }, "ORIGIN_INVALID"],
        ["the origin is not a string", { ...CP, origin: 7 }, "ORIGIN_INVALID"],
        ["the size is negative", { ...CP, size: -1 }, "SIZE_INVALID"],
        ["the size is fractional", { ...CP, size: 1.5 }, "SIZE_INVALID"],
        ["the size is above 2^53 - 1", { ...CP, size: 2 ** 53 }, "SIZE_INVALID"],
        ["the size is a string", { ...CP, size: "12" }, "SIZE_INVALID"],
        ["the size is a bigint", { ...CP, size: 12n }, "SIZE_INVALID"],
        ["the root is 31 bytes", { ...CP, rootHash: ROOT.subarray(1) }, "ROOT_INVALID"],
        ["the root is a hex string", { ...CP, rootHash: toHex(ROOT) }, "ROOT_INVALID"],
        ["an extension is empty", { ...CP, extensions: [""] }, "EXTENSION_INVALID"],
        ["an extension spans two lines", { ...CP, extensions: ["a\n"] }, "EXTENSION_INVALID"],
        ["an extension is not a string", { ...CP, extensions: [1] }, "EXTENSION_INVALID"],
        ["extensions are missing", { origin: ORIGIN, size: 1, rootHash: ROOT }, "EXTENSION_INVALID"],
      ];
      for (const [desc, input, code] of cases) {
        it(`throws ${code} when ${desc}`, function () {
          expectCode(() => formatCheckpoint(input as Checkpoint), code);
        });
      }
    });
  });

  describe("parseCheckpoint", function () {
    it("reads back what formatCheckpoint wrote, extensions included", function () {
      const cp = { ...CP, size: 2 ** 53 - 1, extensions: ["a", "b c"] };
      const back = parseCheckpoint(formatCheckpoint(cp));
      expect(back.origin).to.equal(cp.origin);
      expect(back.size).to.equal(cp.size);
      expect(toHex(back.rootHash)).to.equal(toHex(cp.rootHash));
      expect(back.extensions).to.deep.equal(["a", "b c"]);
    });

    it("reads the body of the C2SP tlog-checkpoint example", function () {
      const body = C2SP_EXAMPLE.slice(0, C2SP_EXAMPLE.indexOf("\n\n") + 1);
      const cp = parseCheckpoint(body);
      expect(cp.origin).to.equal("example.com/behind-the-sofa");
      expect(cp.size).to.equal(20852163);
      expect(toHex(cp.rootHash)).to.equal(Buffer.from("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "base64").toString("hex"));
      expect(cp.extensions).to.deep.equal([]);
    });

    it("accepts UTF-8 bytes as well as a string", function () {
      expect(parseCheckpoint(utf8.encode(formatCheckpoint(CP))).size).to.equal(1234);
    });

    it("accepts an origin with spaces (the spec only recommends against them)", function () {
      expect(parseCheckpoint(`go.sum database tree\n1\n${ROOT_B64}\n`).origin).to.equal("go.sum database tree");
    });

    describe("when the input is malformed", function () {
      const good = formatCheckpoint(CP);
      const b64 = (n: number) => Buffer.alloc(n, 7).toString("base64");
      // 32 bytes leave two unused low bits in the last base64 digit; setting one
      // keeps the decoded bytes but makes the encoding non-canonical.
      const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const withPaddingBitSet = (s: string) => s.slice(0, 42) + ALPHABET[ALPHABET.indexOf(s[42]!) | 1]! + s.slice(43);
      const cases: ReadonlyArray<[string, unknown, CheckpointErrorCode]> = [
        ["it is a number", 42, "MALFORMED"],
        ["it is undefined", undefined, "MALFORMED"],
        ["it is an object", { text: good }, "MALFORMED"],
        ["it is empty", "", "MALFORMED"],
        ["the root line is missing", `${ORIGIN}\n1234\n`, "MALFORMED"],
        ["the final newline is missing", good.slice(0, -1), "MALFORMED"],
        ["it is over the size limit", `${ORIGIN}\n1\n${ROOT_B64}\n${"x".repeat(MAX_NOTE_SIZE)}\n`, "TOO_LARGE"],
        ["it is over the size limit in bytes though not in characters", `${ORIGIN}\n1\n${ROOT_B64}\n${"é".repeat(MAX_NOTE_SIZE / 2)}\n`, "TOO_LARGE"],
        ["it has CRLF line endings", good.replace(/\n/g, "\r\n"), "ENCODING_INVALID"],
        ["it holds a NUL", `${ORIGIN}\0\n1234\n${ROOT_B64}\n`, "ENCODING_INVALID"],
        ["it holds a tab", `${ORIGIN}\t\n1234\n${ROOT_B64}\n`, "ENCODING_INVALID"],
        ["it is not valid UTF-8", Uint8Array.from([...utf8.encode(good), 0xff]), "ENCODING_INVALID"],
        ["it holds a lone surrogate", `a\uDC00\n1234\n${ROOT_B64}\n`, "ENCODING_INVALID"],
        ["the origin is empty", `\n1234\n${ROOT_B64}\n`, "ORIGIN_INVALID"],
        ["the size has a leading zero", `${ORIGIN}\n01234\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size is 00", `${ORIGIN}\n00\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size is negative", `${ORIGIN}\n-34\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size has a plus sign", `${ORIGIN}\n+34\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size is hex", `${ORIGIN}\n0x10\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size has an exponent", `${ORIGIN}\n1e3\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size has a space", `${ORIGIN}\n 1234\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size uses non-ASCII digits", `${ORIGIN}\n١٢\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size is empty", `${ORIGIN}\n\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size is 2^53", `${ORIGIN}\n9007199254740992\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the size is huge", `${ORIGIN}\n3438945738945739845734895735\n${ROOT_B64}\n`, "SIZE_INVALID"],
        ["the root is not base64", `${ORIGIN}\n1\nThisIsn'tBase64\n`, "ROOT_INVALID"],
        ["the root is unpadded", `${ORIGIN}\n1\n${ROOT_B64.replace(/=+$/, "")}\n`, "ROOT_INVALID"],
        ["the root is URL-safe base64", `${ORIGIN}\n1\n-_${b64(32).slice(2)}\n`, "ROOT_INVALID"],
        ["the root has non-zero padding bits", `${ORIGIN}\n1\n${withPaddingBitSet(ROOT_B64)}\n`, "ROOT_INVALID"],
        ["the root has a trailing space", `${ORIGIN}\n1\n${ROOT_B64} \n`, "ROOT_INVALID"],
        ["the root is 16 bytes", `${ORIGIN}\n1\n${b64(16)}\n`, "ROOT_INVALID"],
        ["the root is 33 bytes", `${ORIGIN}\n1\n${b64(33)}\n`, "ROOT_INVALID"],
        ["the root is empty", `${ORIGIN}\n1\n\n`, "ROOT_INVALID"],
        ["an extension line is empty", `${ORIGIN}\n1\n${ROOT_B64}\n\next\n`, "EXTENSION_INVALID"],
        ["there is a trailing blank line", `${good}\n`, "EXTENSION_INVALID"],
        ["a signature block is left on it", `${good}\n— ${ORIGIN} AAAAAAA=\n`, "EXTENSION_INVALID"],
      ];
      for (const [desc, input, code] of cases) {
        it(`throws ${code} when ${desc}`, function () {
          expectCode(() => parseCheckpoint(input as string), code);
        });
      }
    });
  });
  describe("signCheckpoint and verifyCheckpoint", function () {
    const signed = signCheckpoint(CP, LOG.signer);

    it("round-trip a checkpoint through the log's key", function () {
      const cp = verifyCheckpoint(signed, LOG.verifier, ORIGIN);
      expect(cp.origin).to.equal(ORIGIN);
      expect(cp.size).to.equal(1234);
      expect(toHex(cp.rootHash)).to.equal(toHex(ROOT));
      expect(cp.extensions).to.deep.equal([]);
    });

    it("round-trip extension lines", function () {
      const cp = verifyCheckpoint(signCheckpoint({ ...CP, extensions: ["x 1"] }, LOG.signer), LOG.verifier);
      expect(cp.extensions).to.deep.equal(["x 1"]);
    });

    it("verify the sum.golang.org checkpoint with its published key", function () {
      const cp = verifyCheckpoint(SUMDB_CHECKPOINT, parseVerifierKey(SUMDB_VKEY), "go.sum database tree");
      expect(cp.size).to.equal(6476701);
      expect(Buffer.from(cp.rootHash).toString("base64")).to.equal("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=");
    });

    it("verify the sum.golang.org checkpoint given as UTF-8 bytes", function () {
      expect(verifyCheckpoint(utf8.encode(SUMDB_CHECKPOINT), parseVerifierKey(SUMDB_VKEY)).size).to.equal(6476701);
    });

    it("throw SIGNATURE_INVALID when one bit of the sum.golang.org root changes", function () {
      const tampered = SUMDB_CHECKPOINT.replace("mb8QLQIs", "mb8QLQIt");
      expectCode(() => verifyCheckpoint(tampered, parseVerifierKey(SUMDB_VKEY)), "SIGNATURE_INVALID");
    });

    it("throw SIGNATURE_MISSING for the C2SP example, whose key we do not hold", function () {
      expectCode(() => verifyCheckpoint(C2SP_EXAMPLE, LOG.verifier), "SIGNATURE_MISSING");
    });

    describe("when the checkpoint was signed by another key", function () {
      it("throws SIGNATURE_MISSING for a stranger's signature", function () {
        expectCode(() => verifyCheckpoint(signCheckpoint(CP, STRANGER.signer), LOG.verifier), "SIGNATURE_MISSING");
      });

      it("throws SIGNATURE_MISSING for a rotated key under the same name", function () {
        expectCode(() => verifyCheckpoint(signCheckpoint(CP, LOG_ROTATED.signer), LOG.verifier), "SIGNATURE_MISSING");
      });

      it("throws SIGNATURE_INVALID for a signature copied from another checkpoint", function () {
        const other = signCheckpoint({ ...CP, size: 1235 }, LOG.signer);
        const forged = formatCheckpoint(CP) + other.slice(other.indexOf("\n\n") + 1);
        expectCode(() => verifyCheckpoint(forged, LOG.verifier), "SIGNATURE_INVALID");
      });
    });

    describe("when the signed text has been tampered with", function () {
      const body = formatCheckpoint(CP);
      const sigs = signed.slice(body.length);
      const otherRoot = Buffer.from(hashLeaf(utf8.encode("other"))).toString("base64");
      const cases: ReadonlyArray<[string, string]> = [
        ["the size", body.replace("\n1234\n", "\n1235\n")],
        ["the root", body.replace(ROOT_B64, otherRoot)],
        ["the origin", body.replace(ORIGIN, "ledger.example.gov/other")],
        ["an added extension", body + "extra\n"],
      ];
      for (const [desc, tampered] of cases) {
        it(`throws SIGNATURE_INVALID for a change to ${desc}`, function () {
          expect(tampered).to.not.equal(body);
          expectCode(() => verifyCheckpoint(tampered + sigs, LOG.verifier), "SIGNATURE_INVALID");
        });
      }
    });

    describe("with several signatures", function () {
      const cosigned = signCheckpoint(CP, [LOG.signer, WITNESS.signer, STRANGER.signer]);

      it("accepts the log's signature and ignores unknown ones", function () {
        const n = openNote(cosigned, LOG.verifier);
        expect(n.signatures.map((s) => s.name)).to.deep.equal([ORIGIN]);
        expect(n.unverifiedSignatures.map((s) => s.name)).to.deep.equal(["witness.example.org/w1", "stranger.example.net"]);
        expect(verifyCheckpoint(cosigned, LOG.verifier, ORIGIN).size).to.equal(1234);
      });

      it("verifies every known signature", function () {
        const n = openNote(cosigned, [LOG.verifier, WITNESS.verifier]);
        expect(n.signatures.map((s) => s.name)).to.deep.equal([ORIGIN, "witness.example.org/w1"]);
      });

      it("accepts a witness signature alone when only the witness is trusted", function () {
        expect(verifyCheckpoint(cosigned, WITNESS.verifier).size).to.equal(1234);
      });

      it("rejects the note if any known signature fails", function () {
        const lines = cosigned.split("\n");
        const witnessLine = lines[5]!;
        const sig = Buffer.from(witnessLine.split(" ")[2]!, "base64");
        sig[10] = sig[10]! ^ 1;
        lines[5] = `— witness.example.org/w1 ${sig.toString("base64")}`;
        const broken = lines.join("\n");
        expect(verifyCheckpoint(broken, LOG.verifier).size).to.equal(1234); // the witness is unknown here: ignored
        expectCode(() => verifyCheckpoint(broken, [LOG.verifier, WITNESS.verifier]), "SIGNATURE_INVALID");
      });
    });

    describe("when the signed text is not a valid checkpoint", function () {
      it("throws the parse error after the signature checks out", function () {
        const note = signNote("if this is a valid checkpoint then I'll eat my hat\n", LOG.signer);
        expectCode(() => verifyCheckpoint(note, LOG.verifier), "MALFORMED");
      });

      it("throws ROOT_INVALID for a signed checkpoint with a 16-byte root", function () {
        const note = signNote("Log\n123\naXQncyBhIHJvb3QgaGFzaA==\n", LOG.signer);
        expectCode(() => verifyCheckpoint(note, LOG.verifier), "ROOT_INVALID");
      });

      it("checks signatures before parsing: an unsigned bad body is SIGNATURE_MISSING", function () {
        expectCode(() => verifyCheckpoint("junk\n\n— someone AAAAAAA=\n", LOG.verifier), "SIGNATURE_MISSING");
      });
    });

    describe("when an origin is expected", function () {
      it("throws ORIGIN_MISMATCH for a different origin", function () {
        expectCode(() => verifyCheckpoint(signed, LOG.verifier, "ledger.example.gov/other"), "ORIGIN_MISMATCH");
      });

      it("compares exactly, not case-insensitively or by prefix", function () {
        expectCode(() => verifyCheckpoint(signed, LOG.verifier, ORIGIN.toUpperCase()), "ORIGIN_MISMATCH");
        expectCode(() => verifyCheckpoint(signed, LOG.verifier, ORIGIN.slice(0, -1)), "ORIGIN_MISMATCH");
      });

      it("throws ORIGIN_INVALID when the expected origin is not a string", function () {
        expectCode(() => verifyCheckpoint(signed, LOG.verifier, 5 as never), "ORIGIN_INVALID");
      });
    });

    it("throws from signCheckpoint with the checkpoint's own code for an invalid checkpoint", function () {
      expectCode(() => signCheckpoint({ ...CP, size: -1 }, LOG.signer), "SIZE_INVALID");
    });
  });
});
