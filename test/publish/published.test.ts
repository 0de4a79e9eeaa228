/**
 * Which checkpoint is published (service/publish/published.ts): the
 * anchorer's anchored one, nothing without it, and the witness stage's answer
 * when one is configured.
 */
import { expect } from "chai";
import { publishedCheckpoint, type AnchoredSource } from "../../service/publish/published";

describe("the published checkpoint", function () {
  describe("without a chain", function () {
    it("is none", async function () {
      expect(await publishedCheckpoint(undefined)()).to.equal(null);
    });
  });

  describe("with a chain", function () {
    it("is none until a checkpoint is anchored, then the anchored one, following it as it moves", async function () {
      const chain: { anchored: AnchoredSource["anchored"] } = { anchored: null };
      const published = publishedCheckpoint(chain);
      expect(await published()).to.equal(null);
      chain.anchored = { size: 5, signedCheckpoint: "note 5" };
      expect(await published()).to.deep.equal({ size: 5, note: "note 5" });
      chain.anchored = { size: 9, signedCheckpoint: "note 9" };
      expect(await published()).to.deep.equal({ size: 9, note: "note 9" });
    });
  });

  describe("with a witness stage", function () {
    it("is what the stage returns for the anchored checkpoint: an older cosigned one, or none", async function () {
      const seen: number[] = [];
      let answer: { size: number; note: string } | null = { size: 3, note: "note 3 + cosignatures" };
      const published = publishedCheckpoint(
        { anchored: { size: 9, signedCheckpoint: "note 9" } },
        {
          async cosigned(a) {
            seen.push(a.size);
            return answer;
          },
        },
      );
      expect(await published()).to.deep.equal({ size: 3, note: "note 3 + cosignatures" });
      answer = null;
      expect(await published()).to.equal(null);
      expect(seen).to.deep.equal([9, 9]);
    });
  });
});
