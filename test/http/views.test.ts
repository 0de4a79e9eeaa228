/**
 * The public allow-list: in step with the request schemas, and enforced
 * byte for byte, so a leaf holding anything the list does not name is never
 * served, even if some other bug had put it in the log.
 */
import { expect } from "chai";
import { canonicalBytes, LogInvariantError } from "../../service/log";
import { PUBLIC_BODY_FIELDS, PUBLIC_REPLACEMENT_FIELDS, publicLeaf } from "../../service/http/views";
import { CorrectionReplacement, REQUEST_SCHEMAS, type RecordKind } from "../../service/records/schemas";
import { ERASURE_BODY_FIELDS } from "../../service/format";
import { MemoryStore } from "../../service/store/memory";
import type { StoredLeaf } from "../../service/store/store";
import { applicationBody, createWorld, expectProblem, get, programmeBody, record } from "./helpers";

const baseEntry = {
  v: 1,
  id: "app_0123456789abcdef01234567",
  kind: "application",
  recordedAt: "2026-03-10T02:00:00.000Z",
  actor: { official: "clerk.li", agency: "市工信局", role: "clerk" },
  refs: ["prg_0123456789abcdef01234567"],
  body: { programmeId: "prg_0123456789abcdef01234567", creditCode: "91110101000000001X", enterpriseName: "甲公司", region: "110101", requestedFen: "100" },
  commitments: { bankAccount: "ab".repeat(32) },
};

const leafOf = (entry: unknown): StoredLeaf => ({ index: 0, id: "x", bytes: canonicalBytes(entry), recordedAt: "2026-03-10T02:00:00.000Z" });

describe("HTTP API, the public allow-list", () => {
  describe("the body fields", () => {
    for (const kind of Object.keys(REQUEST_SCHEMAS) as RecordKind[]) {
      it(`for a ${kind} are the request fields without \`private\``, () => {
        const fields = Object.keys(REQUEST_SCHEMAS[kind].shape).filter((f) => f !== "private");
        if (kind === "payout") fields.push("needsConfirmation");
        expect([...PUBLIC_BODY_FIELDS[kind]].sort()).to.deep.equal(fields.sort());
      });
    }

    it("for an erasure are the public erasure format's body fields", () => {
      expect([...PUBLIC_BODY_FIELDS.erasure].sort()).to.deep.equal([...ERASURE_BODY_FIELDS].sort());
    });

    it("for a correction's replacement are the replacement fields without `private`", () => {
      const fields = Object.keys(CorrectionReplacement.shape).filter((f) => f !== "private");
      expect([...PUBLIC_REPLACEMENT_FIELDS].sort()).to.deep.equal(fields.sort());
    });
  });

  describe("a leaf", () => {
    it("made only of allow-listed fields is served as it is", () => {
      const { entry, text } = publicLeaf(leafOf(baseEntry));
      expect(entry).to.deep.equal(baseEntry);
      expect(text).to.equal(new TextDecoder().decode(canonicalBytes(baseEntry)));
    });

    const SMUGGLED: readonly [string, unknown][] = [
      ["a private block in the body", { ...baseEntry, body: { ...baseEntry.body, private: { bankAccount: "6222" } } }],
      ["an unknown body field", { ...baseEntry, body: { ...baseEntry.body, note: "x" } }],
      ["an unknown top-level field", { ...baseEntry, openings: {} }],
      ["an unknown actor field", { ...baseEntry, actor: { ...baseEntry.actor, tokenId: "tok_1" } }],
      ["a commitment that is not a hash", { ...baseEntry, commitments: { bankAccount: "6222020200112233" } }],
      [
        "a private block in a correction's replacement",
        {
          ...baseEntry,
          kind: "correction",
          body: { targetId: "app_1", reasonCode: "superseded", reasonText: "x", replacement: { enterpriseName: "乙", private: { phone: "1" } } },
        },
      ],
      [
        "an unknown field in a policy document",
        {
          ...baseEntry,
          kind: "programme",
          body: { code: "C", policyDocument: { sha256: "ab".repeat(32), url: "https://a.example", uploadedBy: "x" } },
        },
      ],
    ];
    for (const [desc, entry] of SMUGGLED) {
      it(`holding ${desc} is refused with LogInvariantError`, () => {
        expect(() => publicLeaf(leafOf(entry))).to.throw(LogInvariantError);
      });
    }
  });

  describe("when the log held a private value (a bug elsewhere)", () => {
    /** A store that adds a private block to every leaf it returns, as a buggy sequencer might have written. */
    class SmugglingStore extends MemoryStore {
      private smuggle(leaf: StoredLeaf): StoredLeaf {
        const entry = JSON.parse(new TextDecoder().decode(leaf.bytes)) as { body: Record<string, unknown> };
        entry.body["private"] = { bankAccount: "SMUGGLED-6222000000" };
        return { ...leaf, bytes: canonicalBytes(entry) };
      }
      override async leaf(index: number): Promise<StoredLeaf | undefined> {
        const leaf = await super.leaf(index);
        return leaf && this.smuggle(leaf);
      }
      override async leaves(start: number, end: number): Promise<StoredLeaf[]> {
        return (await super.leaves(start, end)).map((l) => this.smuggle(l));
      }
    }

    it("every public route that shows entries answers 500 and shows nothing of it", async () => {
      const w = await createWorld({ store: new SmugglingStore() });
      const prg = await record(w, "/v1/programmes", "admin", programmeBody());
      const app = await record(w, "/v1/applications", "clerk", applicationBody(prg));
      for (const url of [`/v1/entries/${app}`, "/v1/log/entries", `/v1/enterprises/${applicationBody(prg)["creditCode"] as string}`]) {
        const res = await get(w, url);
        expectProblem(res, 500);
        expect(res.text, url).to.not.contain("SMUGGLED");
      }
    });
  });
});
