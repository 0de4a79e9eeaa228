import { expect } from "chai";
import {
  checkCosignedCheckpoint,
  checkCosignedCheckpointAsync,
  describeQuorum,
  parseWitnessPolicy,
  parseWitnessPolicyAsync,
  quorumSatisfied,
  WitnessPolicyError,
  type WitnessPolicyErrorCode,
} from "../../service/format";
import { cosignCheckpoint, cosignerKeyOf, formatCheckpoint, noteKeyFromSeed, parseSignerKey, signCheckpoint } from "../../service/log";
import { LOG, ORIGIN } from "../log/note-keys";

function cosigner(b: number) {
  const { signerKey } = noteKeyFromSeed(`w${b}.example.org`, new Uint8Array(32).fill(b));
  const signer = parseSignerKey(signerKey);
  return { signer, vkey: cosignerKeyOf(signer) };
}
const W = [10, 11, 12, 13, 14, 15].map(cosigner);
const LOG_VKEY = "ledger.example.gov/subsidies+" + LOG.verifier.keyId.toString(16).padStart(8, "0") + "+" + Buffer.concat([Buffer.of(1), LOG.verifier.publicKey]).toString("base64");

function expectPolicyError(text: string, code: WitnessPolicyErrorCode, line?: number): void {
  let thrown: unknown;
  try {
    parseWitnessPolicy(text);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected WitnessPolicyError ${code}`).to.be.instanceOf(WitnessPolicyError);
  expect((thrown as WitnessPolicyError).code).to.equal(code);
  if (line !== undefined) expect((thrown as WitnessPolicyError).line).to.equal(line);
}

const NESTED = `
# Two organisations: two of three X witnesses and any one Y witness.
log ${LOG_VKEY} https://ledger.example.gov/tlog
witness X1 ${W[0]!.vkey} http://127.0.0.1:7001
witness X2 ${W[1]!.vkey}
\twitness X3 ${W[2]!.vkey}   
group X-witnesses 2 X1 X2 X3

witness Y1 ${W[3]!.vkey}
witness Y2 ${W[4]!.vkey}
group Y-witnesses any Y1 Y2
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`;

describe("witness policy (c2sp.org/tlog-policy)", () => {
  describe("a well-formed policy", () => {
    const p = parseWitnessPolicy(NESTED);
    it("parses logs, witnesses with optional URLs, groups and the quorum", () => {
      expect(p.logs.map((l) => [l.verifier.name, l.url])).to.deep.equal([[ORIGIN, "https://ledger.example.gov/tlog"]]);
      expect(p.witnesses.map((w) => [w.name, w.url])).to.deep.equal([
        ["X1", "http://127.0.0.1:7001"],
        ["X2", undefined],
        ["X3", undefined],
        ["Y1", undefined],
        ["Y2", undefined],
      ]);
      expect(p.groups).to.deep.equal([
        { name: "X-witnesses", threshold: 2, members: ["X1", "X2", "X3"] },
        { name: "Y-witnesses", threshold: 1, members: ["Y1", "Y2"] },
        { name: "X-and-Y", threshold: 2, members: ["X-witnesses", "Y-witnesses"] },
      ]);
      expect(p.quorum).to.equal("X-and-Y");
    });
    it("parses the same from UTF-8 bytes and with WebCrypto", async () => {
      expect(parseWitnessPolicy(new TextEncoder().encode(NESTED)).groups).to.deep.equal(p.groups);
      const web = await parseWitnessPolicyAsync(NESTED);
      expect(web.witnesses.map((w) => w.cosigner.keyId)).to.deep.equal(p.witnesses.map((w) => w.cosigner.keyId));
    });
    it("accepts quorum none with no witnesses", () => {
      expect(parseWitnessPolicy("quorum none\n").quorum).to.equal("none");
    });
    it("accepts a single witness as the quorum", () => {
      expect(quorumSatisfied(parseWitnessPolicy(`witness A ${W[0]!.vkey}\nquorum A`), new Set(["A"]))).to.equal(true);
    });
  });

  describe("a malformed policy", () => {
    const cases: [string, string, WitnessPolicyErrorCode, number?][] = [
      ["no quorum line", `witness A ${W[0]!.vkey}\n`, "QUORUM_MISSING"],
      ["two quorum lines", `witness A ${W[0]!.vkey}\nquorum A\nquorum none\n`, "QUORUM_DUPLICATE", 3],
      ["a quorum naming nothing defined", `quorum B\n`, "NAME_UNDEFINED", 1],
      ["a quorum defined before its group", `witness A ${W[0]!.vkey}\nquorum G\ngroup G any A\n`, "NAME_UNDEFINED", 2],
      ["a group member defined later", `group G any A\nwitness A ${W[0]!.vkey}\nquorum G\n`, "NAME_UNDEFINED", 1],
      ["a group listing a member twice", `witness A ${W[0]!.vkey}\ngroup G 1 A A\nquorum G\n`, "MEMBER_DUPLICATE", 2],
      ["a group with none as a member", `witness A ${W[0]!.vkey}\ngroup G any A none\nquorum G\n`, "NAME_INVALID", 2],
      ["a group with no members", `group G any\nquorum none\n`, "LINE_INVALID", 1],
      ["a threshold above n", `witness A ${W[0]!.vkey}\ngroup G 2 A\nquorum G\n`, "THRESHOLD_INVALID", 2],
      ["a zero threshold", `witness A ${W[0]!.vkey}\ngroup G 0 A\nquorum G\n`, "THRESHOLD_INVALID", 2],
      ["a threshold with a leading zero", `witness A ${W[0]!.vkey}\ngroup G 01 A\nquorum G\n`, "THRESHOLD_INVALID", 2],
      ["a threshold word that is not all or any", `witness A ${W[0]!.vkey}\ngroup G most A\nquorum G\n`, "THRESHOLD_INVALID", 2],
      ["a witness and a group of one name", `witness A ${W[0]!.vkey}\ngroup A any A\nquorum A\n`, "NAME_DUPLICATE", 2],
      ["two witnesses of one name", `witness A ${W[0]!.vkey}\nwitness A ${W[1]!.vkey}\nquorum A\n`, "NAME_DUPLICATE", 2],
      ["a witness named none", `witness none ${W[0]!.vkey}\nquorum none\n`, "NAME_INVALID", 1],
      ["two witnesses with one key", `witness A ${W[0]!.vkey}\nwitness B ${W[0]!.vkey}\nquorum A\n`, "KEY_DUPLICATE", 2],
      ["two logs with one key", `log ${LOG_VKEY}\nlog ${LOG_VKEY}\nquorum none\n`, "KEY_DUPLICATE", 2],
      ["a witness key of note type 0x01", `witness A ${LOG_VKEY}\nquorum A\n`, "KEY_INVALID", 1],
      ["a witness key with a wrong key ID", `witness A ${W[0]!.vkey.replace(/\+[0-9a-f]{8}\+/, "+00000000+")}\nquorum A\n`, "KEY_INVALID", 1],
      ["a log key that is a cosigner key", `log ${W[0]!.vkey}\nquorum none\n`, "KEY_INVALID", 1],
      ["a witness line without a key", `witness A\nquorum none\n`, "LINE_INVALID", 1],
      ["a witness line with trailing words", `witness A ${W[0]!.vkey} http://x.example extra\nquorum none\n`, "LINE_INVALID", 1],
      ["a witness URL that is not a URL", `witness A ${W[0]!.vkey} not-a-url\nquorum none\n`, "URL_INVALID", 1],
      ["a witness URL of another scheme", `witness A ${W[0]!.vkey} ftp://x.example\nquorum none\n`, "URL_INVALID", 1],
      ["an unknown keyword", `witnes A ${W[0]!.vkey}\nquorum none\n`, "KEYWORD_UNKNOWN", 1],
      ["CRLF line endings", `quorum none\r\n`, "CHARSET_INVALID", 1],
      ["a NUL byte", `# a\u0000b\nquorum none\n`, "CHARSET_INVALID", 1],
      ["a quorum line with two names", `quorum none none\n`, "LINE_INVALID", 1],
      ["a file over the size limit", "#".repeat(70_000) + "\nquorum none\n", "TOO_LARGE"],
    ];
    for (const [what, text, code, line] of cases)
      it(`refuses ${what} with ${code}${line === undefined ? "" : ` at line ${line}`}`, () => expectPolicyError(text, code, line));

    it("refuses bytes that are not UTF-8", () => {
      let thrown: unknown;
      try {
        parseWitnessPolicy(Uint8Array.of(0x71, 0xff, 0x0a));
      } catch (e) {
        thrown = e;
      }
      expect((thrown as WitnessPolicyError).code).to.equal("CHARSET_INVALID");
    });
    it("refuses a bad key the same way with WebCrypto", async () => {
      let thrown: unknown;
      try {
        await parseWitnessPolicyAsync(`witness A ${LOG_VKEY}\nquorum A\n`);
      } catch (e) {
        thrown = e;
      }
      expect((thrown as WitnessPolicyError).code).to.equal("KEY_INVALID");
    });
  });

  describe("quorum evaluation", () => {
    const p = parseWitnessPolicy(NESTED);
    const sat = (...names: string[]) => quorumSatisfied(p, new Set(names));
    it("needs 2 of X and any of Y for the nested all", () => {
      expect(sat("X1", "X2", "Y1")).to.equal(true);
      expect(sat("X2", "X3", "Y2")).to.equal(true);
      expect(sat("X1", "Y1", "Y2")).to.equal(false);
      expect(sat("X1", "X2", "X3")).to.equal(false);
      expect(sat()).to.equal(false);
    });
    it("counts unknown names for nothing", () => {
      expect(sat("X1", "Y1", "X-witnesses", "Z")).to.equal(false);
    });
    it("treats all as every member and any as one", () => {
      const all = parseWitnessPolicy(`witness A ${W[0]!.vkey}\nwitness B ${W[1]!.vkey}\ngroup G all A B\nquorum G\n`);
      expect(quorumSatisfied(all, new Set(["A"]))).to.equal(false);
      expect(quorumSatisfied(all, new Set(["A", "B"]))).to.equal(true);
      const any = parseWitnessPolicy(`witness A ${W[0]!.vkey}\nwitness B ${W[1]!.vkey}\ngroup G any A B\nquorum G\n`);
      expect(quorumSatisfied(any, new Set(["B"]))).to.equal(true);
      expect(quorumSatisfied(any, new Set())).to.equal(false);
    });
    it("is always satisfied by quorum none", () => {
      expect(quorumSatisfied(parseWitnessPolicy("quorum none"), new Set())).to.equal(true);
    });
    it("is spelled out in witness names, whatever the groups are called", () => {
      expect(describeQuorum(p)).to.equal("all of (2 of X1, X2, X3), (1 of Y1, Y2)");
      expect(describeQuorum(parseWitnessPolicy(`witness A ${W[0]!.vkey}\nwitness B ${W[1]!.vkey}\nwitness C ${W[2]!.vkey}\ngroup two-of-three 2 A B C\nquorum two-of-three\n`))).to.equal("2 of A, B, C");
      expect(describeQuorum(parseWitnessPolicy(`witness A ${W[0]!.vkey}\nquorum A`))).to.equal("A");
      expect(describeQuorum(parseWitnessPolicy("quorum none"))).to.equal("none");
    });
  });

  describe("checking a cosigned checkpoint against a policy", () => {
    const cp = { origin: ORIGIN, size: 5, rootHash: new Uint8Array(32).fill(3), extensions: [] };
    const signed = signCheckpoint(cp, LOG.signer);
    const body = formatCheckpoint(cp);
    const p = parseWitnessPolicy(NESTED);
    it("names the witnesses that vouched and says whether the quorum is met", async () => {
      const two = signed + cosignCheckpoint(body, W[0]!.signer, 100) + cosignCheckpoint(body, W[3]!.signer, 101);
      expect(checkCosignedCheckpoint(two, p)).to.include({ satisfied: false });
      expect(checkCosignedCheckpoint(two, p).vouched).to.deep.equal(["X1", "Y1"]);
      const three = two + cosignCheckpoint(body, W[2]!.signer, 102);
      expect(checkCosignedCheckpoint(three, p).vouched).to.deep.equal(["X1", "X3", "Y1"]);
      expect(checkCosignedCheckpoint(three, p).satisfied).to.equal(true);
      expect((await checkCosignedCheckpointAsync(three, await parseWitnessPolicyAsync(NESTED))).satisfied).to.equal(true);
    });
    it("does not count a cosigner outside the policy", () => {
      const stranger = signed + cosignCheckpoint(body, W[5]!.signer, 100);
      expect(checkCosignedCheckpoint(stranger, p).vouched).to.deep.equal([]);
    });
  });
});
