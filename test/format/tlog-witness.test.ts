import { expect } from "chai";
import { formatAddCheckpointRequest, parseAddCheckpointRequest, parseTlogSize, WitnessRequestError } from "../../service/format";

/** The example request body of c2sp.org/tlog-witness, verbatim. */
const SPEC_EXAMPLE =
  "old 20852014\n" +
  "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n" +
  "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n" +
  "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n" +
  "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n" +
  "\n" +
  "example.com/behind-the-sofa\n" +
  "20852163\n" +
  "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n" +
  "\n" +
  "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n" +
  "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

describe("add-checkpoint request body (c2sp.org/tlog-witness)", () => {
  describe("the spec's example", () => {
    const req = parseAddCheckpointRequest(new TextEncoder().encode(SPEC_EXAMPLE));
    it("parses into the old size, four proof hashes and the checkpoint note", () => {
      expect(req.oldSize).to.equal(20852014);
      expect(req.proof.map((h) => Buffer.from(h).toString("base64"))).to.deep.equal(SPEC_EXAMPLE.split("\n").slice(1, 5));
      expect(req.checkpoint.startsWith("example.com/behind-the-sofa\n20852163\n")).to.equal(true);
    });
    it("formats back to the same bytes", () => {
      expect(formatAddCheckpointRequest(req)).to.equal(SPEC_EXAMPLE);
    });
  });

  describe("formatting", () => {
    it("refuses a proof with old size 0", () => {
      expect(() => formatAddCheckpointRequest({ oldSize: 0, proof: [new Uint8Array(32)], checkpoint: "x\n" })).to.throw(WitnessRequestError);
    });
  });

  describe("the 409 size body", () => {
    it("parses a decimal and a newline, and nothing else", () => {
      expect(parseTlogSize("20852014\n")).to.equal(20852014);
      for (const bad of ["20852014", "020\n", " 1\n", "-1\n", "1\n\n", "99999999999999999999\n"]) expect(() => parseTlogSize(bad), bad).to.throw(WitnessRequestError);
    });
  });
});
