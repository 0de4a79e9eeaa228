/**
 * The portal's chain step (service/web/verify.ts), run in Node against
 * LedgerAnchor on Hardhat's network, served over JSON-RPC on HTTP as the page
 * reads a node. Two contracts hold the same checkpoint: the ledger's (the one
 * /v1/chain names) and another anyone could deploy. A receipt naming the
 * other one, or another chain, must not verify on the chain.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import {
  canonicalBytes,
  hashLeaf,
  MemoryTree,
  noteKeyFromSeed,
  parseSignerKey,
  parseVerifierKeyAsync,
  RECEIPT_FORMAT,
  RECEIPT_VERSION,
  signCheckpoint,
  toHex,
  type Receipt,
} from "../../service/log";
import { verifyReceiptFile, type VerifyContext } from "../../service/web/verify";

const ORIGIN = "portal-anchor.test.example/log";
const KEY = noteKeyFromSeed(ORIGIN, new Uint8Array(32).fill(7));

/** An HTTP JSON-RPC endpoint over Hardhat's in-process provider. */
async function rpcBridge(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const call = JSON.parse(body) as { id: number; method: string; params?: unknown[] };
      network.provider.request({ method: call.method, params: call.params ?? [] }).then(
        (result) => res.setHeader("content-type", "application/json").end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result })),
        (e: unknown) => res.setHeader("content-type", "application/json").end(JSON.stringify({ jsonrpc: "2.0", id: call.id, error: { code: -32000, message: String(e) } })),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A LedgerAnchor holding (size, root) as its first checkpoint. */
async function anchorOn(size: number, root: Uint8Array): Promise<string> {
  const [admin] = await ethers.getSigners();
  const c = await ethers.deployContract("LedgerAnchor", [0, admin!.address]);
  await c.waitForDeployment();
  await (await c.grantRole(await c.RECORDER_ROLE(), admin!.address)).wait();
  await (await c.anchor(size, root, [])).wait();
  return c.getAddress();
}

describe("the portal's chain step, on Hardhat's network", function () {
  const size = 5;
  const entries = Array.from({ length: size }, (_, i) => ({ v: 1, id: `entry-${i}`, kind: "application", recordedAt: "2026-03-10T02:00:00.000Z", body: { n: i } }));
  const tree = new MemoryTree(entries.map((e) => hashLeaf(canonicalBytes(e))));
  let rpc: { url: string; close(): Promise<void> };
  let ledgerContract: string;
  let otherContract: string;
  let chainId: number;
  let ctx: VerifyContext;

  before(async function () {
    rpc = await rpcBridge();
    // Both contracts hold the very checkpoint the receipt cites, at index 0.
    ledgerContract = await anchorOn(size, tree.root());
    otherContract = await anchorOn(size, tree.root());
    chainId = Number((await ethers.provider.getNetwork()).chainId);
    ctx = {
      policy: null,
      serviceKeyDiffers: false,
      logKey: await parseVerifierKeyAsync(KEY.verifierKey),
      logKeyText: KEY.verifierKey,
      rpcUrl: rpc.url,
      chain: { chainId, contract: ledgerContract, fromBlock: 0, anchored: null },
    };
  });
  after(async () => rpc?.close());

  function receipt(anchor: { chainId: number; contract: string }): string {
    const r: Receipt = {
      format: RECEIPT_FORMAT,
      version: RECEIPT_VERSION,
      entry: entries[2]!,
      leafIndex: 2,
      checkpoint: signCheckpoint({ origin: ORIGIN, size, rootHash: tree.root(), extensions: [] }, parseSignerKey(KEY.signerKey)),
      inclusionProof: tree.inclusionProof(2).map(toHex),
      anchor: { ...anchor, checkpointIndex: 0, txHash: null, blockNumber: null, anchoredAt: "2026-03-10T02:00:01Z" },
      logKey: KEY.verifierKey,
    };
    return JSON.stringify(r);
  }

  async function chainStep(text: string, context: VerifyContext = ctx) {
    const { outcome } = await verifyReceiptFile(text, context);
    if (outcome.state === "pending") throw new Error("a receipt file is never pending");
    return { outcome, step: outcome.steps.find((s) => s.key === "chain") };
  }

  it("verifies a receipt anchored on the ledger's own contract, read from the chain", async function () {
    const { outcome, step } = await chainStep(receipt({ chainId, contract: ledgerContract }));
    expect(step?.status).to.equal("ok");
    expect(outcome.state).to.equal("verified");
    expect(outcome.anchor).to.deep.include({ source: "rpc", size, rootHex: `0x${toHex(tree.root())}` });
  });

  it("refuses a receipt naming another contract that holds the same checkpoint, saying which", async function () {
    const { outcome, step } = await chainStep(receipt({ chainId, contract: otherContract }));
    expect(outcome.state).to.equal("failed");
    expect(step?.status).to.equal("fail");
    expect(step?.failure).to.include(otherContract).and.include(ledgerContract);
    expect(outcome.failedStep?.key).to.equal("chain");
    expect(outcome.contentUntrusted, "the content itself is proved; only the anchor is refused").to.equal(false);
  });

  it("refuses a receipt naming another chain than this ledger's", async function () {
    const { outcome, step } = await chainStep(receipt({ chainId: chainId + 1, contract: ledgerContract }));
    expect(outcome.state).to.equal("failed");
    expect(step?.status).to.equal("fail");
    expect(step?.failure).to.include(String(chainId + 1));
  });

  it("refuses a receipt naming the ledger's chain when the RPC node serves another", async function () {
    // The service and the receipt agree on chain 1, but the node read is Hardhat's: its contract says nothing about chain 1.
    const { outcome, step } = await chainStep(receipt({ chainId: 1, contract: ledgerContract }), { ...ctx, chain: { ...ctx.chain!, chainId: 1 } });
    expect(outcome.state).to.equal("failed");
    expect(step?.status).to.equal("fail");
    expect(step?.detail).to.equal(`the receipt names chain 1, but the RPC node serves chain ${chainId}`);
  });
});
