/**
 * `npm run verify -- --tlog … --witness-policy …`: the published checkpoint
 * must carry a quorum of valid cosignatures from the policy's witnesses,
 * else a finding; without a policy the cosignatures it carries are listed,
 * unverified. The published log is a directory of its files.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { cosignCheckpoint, cosignerKeyOf, noteKeyFromSeed, parseCosignerKey, parseSignerKey, splitSignedNote } from "../../service/log";
import { tileQueriesReader } from "../../service/publish/continuous";
import { StaticLogDir } from "../../service/publish/static-dir";
import { TileQueries } from "../../service/queries/tiles";
import type { AuditReport } from "../../scripts/lib/audit";
import { buildDb, LOG_KEY, signedCheckpoint, tempDir, verifyCli, type DbWorld } from "./helpers";

const witness = (name: string, byte: number) => parseSignerKey(noteKeyFromSeed(name, new Uint8Array(32).fill(byte)).signerKey);
const W1 = witness("w1.audit.example.gov", 81);
const W2 = witness("w2.finance.example.gov", 82);
const W3 = witness("w3.university.example.edu", 83);
const T = 1_780_000_000;

describe("verify --tlog with witness cosignatures", function () {
  this.timeout(120_000);
  let tmp: { dir: string; remove: () => Promise<void> };
  let w: DbWorld;
  let pub: string;
  let note: string;
  let text: string;
  let policy: string;

  before(async () => {
    tmp = await tempDir();
    w = await buildDb(path.join(tmp.dir, "data"), (n) => [10, n]);
    note = await signedCheckpoint(w.store);
    text = splitSignedNote(note).text;
    pub = path.join(tmp.dir, "pub");
    const tiles = new TileQueries({ store: w.store, published: async () => ({ size: w.ledger.size, note }) });
    await (await StaticLogDir.open(pub)).publish(tileQueriesReader(tiles));
    policy = path.join(tmp.dir, "policy");
    await writeFile(
      policy,
      `witness w1 ${cosignerKeyOf(W1)}\nwitness w2 ${cosignerKeyOf(W2)}\nwitness w3 ${cosignerKeyOf(W3)} https://w3.example.edu\ngroup two-of-three 2 w1 w2 w3\nquorum two-of-three\n`,
    );
  });
  after(async () => {
    await w.close();
    await tmp.remove();
  });

  /** Publishes the log's checkpoint with these cosignature lines, and audits the directory. */
  async function verify(cosignatures: string[], withPolicy = true): Promise<{ code: number; report: AuditReport; out: string }> {
    await writeFile(path.join(pub, "checkpoint"), note + cosignatures.join(""));
    const args = ["--tlog", pub, "--rpc", "http://hardhat.invalid", "--contract", w.chain.address, "--log-key", LOG_KEY, "--workers", "0"];
    const json = await verifyCli([...args, "--json", ...(withPolicy ? ["--witness-policy", policy] : [])], w.chain.reader);
    const plain = await verifyCli([...args, ...(withPolicy ? ["--witness-policy", policy] : [])], w.chain.reader);
    expect(plain.code, plain.err).to.equal(json.code);
    return { code: json.code, report: JSON.parse(json.out) as AuditReport, out: plain.out };
  }

  describe("when a quorum of the policy's witnesses cosigned the published checkpoint", () => {
    it("audits clean and says who vouched", async () => {
      const { code, report, out } = await verify([cosignCheckpoint(text, W1, T), cosignCheckpoint(text, W3, T)]);
      expect(code).to.equal(0);
      expect(report.discrepancies.listed).to.deep.equal([]);
      expect(report.published[0]!.witnesses.policy).to.deep.equal({ quorum: "two-of-three", vouched: ["w1", "w3"], satisfied: true });
      expect(out).to.include("vouched by w1, w3: quorum two-of-three met");
    });
  });

  describe("when fewer than a quorum cosigned it", () => {
    it("reports a witness-cosignature finding", async () => {
      const other = witness("w2.finance.example.gov", 99);
      // W1, and a key outside the policy under W2's name: it counts for nothing.
      const { code, report, out } = await verify([cosignCheckpoint(text, W1, T), cosignCheckpoint(text, other, T)]);
      expect(code).to.equal(1);
      expect(report.discrepancies.byKind).to.deep.equal({ "witness-cosignature": 1 });
      expect(report.discrepancies.listed[0]!.message).to.include("cosigned by w1: the policy's quorum two-of-three is not met");
      expect(report.published[0]!.witnesses.policy).to.deep.equal({ quorum: "two-of-three", vouched: ["w1"], satisfied: false });
      expect(out).to.include("quorum two-of-three NOT met");
    });

    it("reports a checkpoint with no cosignature at all", async () => {
      const { code, report } = await verify([]);
      expect(code).to.equal(1);
      expect(report.discrepancies.listed[0]!.message).to.include("cosigned by no witness of the policy");
    });
  });

  describe("when a policy witness's cosignature does not verify", () => {
    it("reports it even beside a quorum of valid ones", async () => {
      // W3's cosignature of another checkpoint's text, moved onto this one.
      const forged = cosignCheckpoint(text.replace(/\n[0-9]+\n/, "\n1\n"), W3, T);
      const { code, report } = await verify([cosignCheckpoint(text, W1, T), cosignCheckpoint(text, W2, T), forged]);
      expect(code).to.equal(1);
      expect(report.discrepancies.byKind).to.deep.equal({ "witness-cosignature": 1 });
      expect(report.discrepancies.listed[0]!.message).to.include("does not verify");
    });
  });

  describe("without --witness-policy", () => {
    it("lists the cosignatures it saw, unverified, and finds nothing", async () => {
      const { code, report, out } = await verify([cosignCheckpoint(text, W1, T), cosignCheckpoint(text, W2, T)], false);
      expect(code).to.equal(0);
      const id = (s: typeof W1) => `${s.name}+${parseCosignerKey(cosignerKeyOf(s)).keyId.toString(16).padStart(8, "0")}`;
      expect(report.published[0]!.witnesses).to.deep.equal({ seen: [id(W1), id(W2)], policy: null });
      expect(report.notices).to.include("no --witness-policy was given: the cosignatures listed were not verified");
      expect(out).to.include(`cosigned by ${W1.name}+`).and.include("not verified: no --witness-policy");
    });
  });

  describe("with --witness-policy but no --tlog", () => {
    it("is a usage error", async () => {
      const r = await verifyCli(["--service", "http://127.0.0.1:9", "--rpc", "http://x", "--witness-policy", policy]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include("--witness-policy is read with --receipt or --tlog only");
    });
  });
});
