/**
 * The chain client: bounded retries with backoff and jitter, the HTTP
 * transport's failure modes, the classification of node answers (checked
 * against Hardhat's real messages and typical geth/Besu/anvil texts), and
 * legacy transactions with an explicit chain id.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet } from "ethers";
import { LedgerAnchor__factory } from "../../.cache/typechain";
import {
  backoffDelay,
  ChainClient,
  ChainError,
  HttpJsonRpc,
  JsonRpcError,
  withRetry,
  type Eip1193Provider,
} from "../../service/chain/client";
import { freePort } from "../../service/chain/local-chain";
import { encodeCheckpointAt, encodeLatestCheckpoint } from "../../service/format";
import { recorderKey } from "./helpers";
import { rejection } from "../helpers/rejection";

const ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A transport that answers from a script. */
function scripted(answer: (method: string, params: readonly unknown[]) => unknown): Eip1193Provider & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async request({ method, params }) {
      calls.push(method);
      const a = answer(method, params ?? []);
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

describe("chain client", function () {
  describe("backoff", function () {
    it("doubles from the base up to the cap, half fixed and half random", function () {
      const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
      expect([1, 2, 3, 4, 5, 6].map((k) => backoffDelay(k, policy, () => 0))).to.deep.equal([50, 100, 200, 400, 500, 500]);
      expect([1, 2, 3, 4, 5].map((k) => backoffDelay(k, policy, () => 0.999999))).to.deep.equal([99, 199, 399, 799, 999]);
      expect(backoffDelay(1000, policy, () => 0.5)).to.equal(750);
    });

    it("retries only what is retryable, at most `attempts` times in all, sleeping between tries", async function () {
      const sleeps: number[] = [];
      let calls = 0;
      const e = await rejection(
        withRetry(
          async () => {
            calls += 1;
            throw new ChainError("UNAVAILABLE", "down");
          },
          { attempts: 4, baseDelayMs: 10, maxDelayMs: 1_000 },
          (x) => x instanceof ChainError && x.code === "UNAVAILABLE",
          async (ms) => void sleeps.push(ms),
          () => 0,
        ),
      );
      expect((e as ChainError).code).to.equal("UNAVAILABLE");
      expect(calls).to.equal(4);
      expect(sleeps).to.deep.equal([5, 10, 20]);

      calls = 0;
      await rejection(
        withRetry(
          async () => {
            calls += 1;
            throw new ChainError("REVERTED", "no");
          },
          { attempts: 4, baseDelayMs: 10, maxDelayMs: 1_000 },
          (x) => x instanceof ChainError && x.code === "UNAVAILABLE",
          async () => {},
          () => 0,
        ),
      );
      expect(calls).to.equal(1);
    });

    it("a client gives up after its attempts and reports UNAVAILABLE", async function () {
      const t = scripted(() => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
      const slept: number[] = [];
      const client = new ChainClient({ transport: t, address: ADDRESS, chainId: 31337, retry: { attempts: 3, baseDelayMs: 8, maxDelayMs: 100 }, clock: { sleep: async (ms) => void slept.push(ms) }, random: () => 0 });
      const e = await rejection(client.blockNumber());
      expect((e as ChainError).code).to.equal("UNAVAILABLE");
      expect(t.calls).to.deep.equal(["eth_blockNumber", "eth_blockNumber", "eth_blockNumber"]);
      expect(slept).to.deep.equal([4, 8]);
    });
  });

  describe("HttpJsonRpc", function () {
    let server: Server;
    let url: string;
    let respond: (body: string) => { status: number; body: string; delayMs?: number };

    beforeEach(async function () {
      server = createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          const r = respond(body);
          setTimeout(() => {
            res.writeHead(r.status, { "content-type": "application/json" });
            res.end(r.body);
          }, r.delayMs ?? 0);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async function () {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it("never shows the node's URL (whose path may hold an API key) in an error or any of its causes", async function () {
      const messages = (e: unknown): string[] => (e instanceof Error ? [e.message, ...messages(e.cause)] : []);
      const unreachable = await rejection(new HttpJsonRpc("http://user:secret@127.0.0.1:9/v3/APIKEY123?token=abc").request({ method: "eth_chainId" }));
      respond = () => ({ status: 502, body: "<html>bad gateway</html>" });
      const gateway = await rejection(new HttpJsonRpc(`${url}/v3/APIKEY123?token=abc`).request({ method: "eth_chainId" }));
      for (const e of [unreachable, gateway]) {
        expect(e).to.be.instanceOf(ChainError).and.include({ code: "UNAVAILABLE" });
        expect(messages(e).join(" | ")).to.not.match(/APIKEY123|token=abc|secret/);
      }
    });

    it("sends a JSON-RPC 2.0 request and returns the result", async function () {
      let seen: { jsonrpc?: string; method?: string; params?: unknown } = {};
      respond = (body) => {
        seen = JSON.parse(body) as typeof seen;
        return { status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x2a" }) };
      };
      expect(await new HttpJsonRpc(url).request({ method: "eth_blockNumber" })).to.equal("0x2a");
      expect(seen).to.include({ jsonrpc: "2.0", method: "eth_blockNumber" });
      expect(seen.params).to.deep.equal([]);
    });

    it("turns a JSON-RPC error into a JsonRpcError with code, message and data", async function () {
      respond = () => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 3, message: "execution reverted", data: "0xd93c0665" } }) });
      const e = await rejection(new HttpJsonRpc(url).request({ method: "eth_call" }));
      expect(e).to.be.instanceOf(JsonRpcError);
      expect(e).to.include({ code: 3, message: "execution reverted", data: "0xd93c0665" });
    });

    for (const status of [429, 500, 502, 503]) {
      it(`reports HTTP ${status} as UNAVAILABLE`, async function () {
        respond = () => ({ status, body: "busy" });
        const e = await rejection(new HttpJsonRpc(url).request({ method: "eth_chainId" }));
        expect((e as ChainError).code).to.equal("UNAVAILABLE");
      });
    }

    it("reports a body that is not JSON as BAD_RESPONSE", async function () {
      respond = () => ({ status: 200, body: "<html>proxy error</html>" });
      expect(((await rejection(new HttpJsonRpc(url).request({ method: "eth_chainId" }))) as ChainError).code).to.equal("BAD_RESPONSE");
    });

    it("reports a timeout as UNAVAILABLE", async function () {
      respond = () => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1" }), delayMs: 500 });
      const e = await rejection(new HttpJsonRpc(url, { timeoutMs: 50 }).request({ method: "eth_chainId" }));
      expect((e as ChainError).code).to.equal("UNAVAILABLE");
      expect((e as Error).message).to.include("timed out");
    });

    it("reports a refused connection as UNAVAILABLE without printing the URL", async function () {
      const port = await freePort();
      const e = await rejection(new HttpJsonRpc(`http://user:secret@127.0.0.1:${port}`).request({ method: "eth_chainId" }));
      expect((e as ChainError).code).to.equal("UNAVAILABLE");
      expect((e as Error).message).to.include("ECONNREFUSED").and.not.include("secret");
    });

    it("reports HTTP 5xx as UNAVAILABLE even when the body is a JSON-RPC error", async function () {
      respond = () => ({ status: 503, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32000, message: "nonce too low" } }) });
      const e = await rejection(new HttpJsonRpc(url).request({ method: "eth_sendRawTransaction" }));
      expect(e).to.be.instanceOf(ChainError).and.to.include({ code: "UNAVAILABLE" });
      expect((e as Error).message).to.include("HTTP 503");
    });

    it("reports an HTTP error status without JSON as RPC (not retried), and one with a JSON-RPC error as that error", async function () {
      respond = () => ({ status: 401, body: "<html>unauthorized</html>" });
      const e = await rejection(new HttpJsonRpc(url).request({ method: "eth_chainId" }));
      expect(e).to.be.instanceOf(ChainError).and.to.include({ code: "RPC" });
      expect((e as Error).message).to.include("HTTP 401");
      respond = () => ({ status: 400, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32602, message: "invalid params" } }) });
      expect(await rejection(new HttpJsonRpc(url).request({ method: "eth_call" }))).to.be.instanceOf(JsonRpcError).and.to.include({ code: -32602, message: "invalid params" });
    });

    it("reads a JSON-RPC error without a code as an internal error (retried), and one without a message as 'unknown error'", async function () {
      respond = () => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { message: "busy" } }) });
      expect(await rejection(new HttpJsonRpc(url).request({ method: "eth_chainId" }))).to.include({ code: -32603, message: "busy" });
      respond = () => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 3, data: "0x12" } }) });
      expect(await rejection(new HttpJsonRpc(url).request({ method: "eth_call" }))).to.include({ code: 3, message: "unknown error", data: "0x12" });
    });

    it("returns the result beside an error of null; refuses an answer that is not a JSON-RPC object, or has no result, as BAD_RESPONSE", async function () {
      respond = () => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x5", error: null }) });
      expect(await new HttpJsonRpc(url).request({ method: "eth_chainId" })).to.equal("0x5");
      for (const body of ["42", "[]", "null", JSON.stringify({ jsonrpc: "2.0", id: 1 })]) {
        respond = () => ({ status: 200, body });
        expect(await rejection(new HttpJsonRpc(url).request({ method: "eth_chainId" })), body).to.be.instanceOf(ChainError).and.to.include({ code: "BAD_RESPONSE" });
      }
    });

    it("refuses a URL that is not http(s) when built", function () {
      expect(() => new HttpJsonRpc("not a url")).to.throw(ChainError, /not a valid URL/);
      expect(() => new HttpJsonRpc("ws://127.0.0.1:8545")).to.throw(ChainError, /http or https/);
    });

    it("a client retries HTTP 503 and gives up with UNAVAILABLE, over the real transport", async function () {
      let hits = 0;
      respond = () => ((hits += 1), { status: 503, body: "busy" });
      const client = new ChainClient({ transport: new HttpJsonRpc(url), address: ADDRESS, chainId: 31337, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
      expect(((await rejection(client.blockNumber())) as ChainError).code).to.equal("UNAVAILABLE");
      expect(hits).to.equal(3);
    });

    it("sends credentials in the URL as HTTP Basic authentication", async function () {
      let auth: string | undefined;
      server.removeAllListeners("request");
      server.on("request", (req, res) => {
        auth = req.headers.authorization;
        req.resume();
        req.on("end", () => res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1" })));
      });
      const withCreds = url.replace("http://", "http://node%40op:p%3Ass@");
      expect(await new HttpJsonRpc(withCreds).request({ method: "eth_chainId" })).to.equal("0x1");
      expect(auth).to.equal(`Basic ${Buffer.from("node@op:p:ss").toString("base64")}`);
    });
  });

  describe("classifying what a node answers to eth_sendRawTransaction", function () {
    const raw = { raw: "0x01", hash: `0x${"ab".repeat(32)}` };
    const cases: [string, number, string | null][] = [
      ["already known", -32000, null], // geth, GoQuorum
      ["Known transaction: 0xabab", -32000, null], // Hardhat
      ["transaction already imported", -32003, null], // anvil
      ["nonce too low", -32000, "NONCE_TOO_LOW"], // geth
      ["Nonce too low. Expected nonce to be 1 but got 0.", -32000, "NONCE_TOO_LOW"], // Hardhat
      ["replacement transaction underpriced", -32000, "UNDERPRICED"], // geth, anvil
      ["Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 5 is necessary", -32000, "UNDERPRICED"], // Hardhat
      ["Gas price below configured minimum gas price", -32000, "UNDERPRICED"], // Besu
      ["insufficient funds for gas * price + value", -32000, "INSUFFICIENT_FUNDS"], // geth
      ["Upfront cost exceeds account balance", -32000, "INSUFFICIENT_FUNDS"], // Besu
      ["invalid sender", -32000, "RPC"],
      ["Internal error", -32603, "UNAVAILABLE"],
    ];
    for (const [message, code, want] of cases) {
      it(`"${message}" → ${want ?? "success (the node has it)"}`, async function () {
        const t = scripted((method) => (method === "eth_sendRawTransaction" ? new JsonRpcError(code, message) : null));
        const client = new ChainClient({ transport: t, address: ADDRESS, chainId: 31337, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
        if (want === null) expect(await client.sendRaw(raw)).to.equal(raw.hash);
        else expect(((await rejection(client.sendRaw(raw))) as ChainError).code).to.equal(want);
      });
    }
  });

  describe("checkpoint views, through the one contract reader", function () {
    const word = (n: number | bigint) => BigInt(n).toString(16).padStart(64, "0");

    it("encodes the views as service/format/anchor.ts does, at the block asked for, and decodes the checkpoint", async function () {
      const seen: unknown[][] = [];
      const t = scripted((method, params) => {
        seen.push([...params]);
        return `0x${word(7)}${word(1_700_000_000)}${"ab".repeat(32)}`;
      });
      const client = new ChainClient({ transport: t, address: ADDRESS, chainId: 31337 });
      expect(await client.latestCheckpoint(255)).to.deep.equal({ treeSize: 7, timestamp: 1_700_000_000, rootHex: `0x${"ab".repeat(32)}` });
      expect(await client.checkpointAt(2)).to.deep.equal({ treeSize: 7, timestamp: 1_700_000_000, rootHex: `0x${"ab".repeat(32)}` });
      expect(seen).to.deep.equal([
        [{ to: ADDRESS, data: encodeLatestCheckpoint() }, "0xff"],
        [{ to: ADDRESS, data: encodeCheckpointAt(2) }, "latest"],
      ]);
    });

    it("retries a view on a transient failure, like every other call", async function () {
      let calls = 0;
      const t = scripted(() => (++calls < 3 ? Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) : `0x${word(4)}`));
      const client = new ChainClient({ transport: t, address: ADDRESS, chainId: 31337, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 }, clock: { sleep: async () => {} } });
      expect(await client.checkpointCount()).to.equal(4);
      expect(t.calls).to.deep.equal(["eth_call", "eth_call", "eth_call"]);
    });

    it("throws the transport's ChainError as it is, and an answer that is not the view's encoding as BAD_RESPONSE", async function () {
      const down = new ChainClient({ transport: scripted(() => new JsonRpcError(-32601, "method not found")), address: ADDRESS, chainId: 31337 });
      const e = await rejection(down.checkpointCount());
      expect(e).to.be.instanceOf(ChainError).and.to.include({ code: "RPC", rpcCode: -32601 });
      for (const answer of ["0x", `0x${word(2)}`, `0x${"zz".repeat(32)}`, `0x${word(1n << 64n)}${word(0)}${word(0)}`]) {
        const client = new ChainClient({ transport: scripted(() => answer), address: ADDRESS, chainId: 31337 });
        const bad = await rejection(client.latestCheckpoint());
        expect(bad, answer).to.be.instanceOf(ChainError).and.to.include({ code: "BAD_RESPONSE" });
        expect((bad as Error).message).to.include("a LedgerAnchor?");
      }
      const notBool = new ChainClient({ transport: scripted(() => `0x${word(2)}`), address: ADDRESS, chainId: 31337 });
      expect(await rejection(notBool.isAnchored(1, `0x${"00".repeat(32)}`))).to.include({ code: "BAD_RESPONSE" });
    });
  });

  describe("against LedgerAnchor on Hardhat", function () {
    async function deployed() {
      const [admin] = await ethers.getSigners();
      const anchor = await new LedgerAnchor__factory(admin).deploy(0, admin!.address);
      const { chainId } = await ethers.provider.getNetwork();
      return { anchor, admin: admin!, address: await anchor.getAddress(), chainId: Number(chainId) };
    }

    it("reads the empty contract: latest checkpoint of size 0, count 0, nothing anchored", async function () {
      const fx = await loadFixture(deployed);
      const client = new ChainClient({ transport: network.provider, address: fx.address, chainId: fx.chainId });
      await client.verify();
      expect(await client.latestCheckpoint()).to.deep.equal({ treeSize: 0, timestamp: 0, rootHex: `0x${"0".repeat(64)}` });
      expect(await client.checkpointCount()).to.equal(0);
      expect(await client.isAnchored(1, `0x${"0".repeat(64)}`)).to.equal(false);
      expect(await client.findCheckpointIndex(1)).to.equal(undefined);
      const outOfRange = (await rejection(client.checkpointAt(0))) as ChainError;
      expect(outOfRange).to.be.instanceOf(ChainError).and.to.have.property("code", "REVERTED");
      expect(outOfRange.revert?.name, "the revert data is decoded").to.equal("LedgerAnchorCheckpointOutOfRange");
    });

    it("reads the views at a block: before the first anchor, the contract was empty", async function () {
      const fx = await loadFixture(deployed);
      const client = new ChainClient({ transport: network.provider, address: fx.address, chainId: fx.chainId });
      await (await fx.anchor.grantRole(await fx.anchor.RECORDER_ROLE(), fx.admin.address)).wait();
      const before = await client.blockNumber();
      await (await fx.anchor.anchor(3, `0x${"22".repeat(32)}`, [])).wait();
      expect(await client.checkpointCount()).to.equal(1);
      expect(await client.checkpointCount(before)).to.equal(0);
      expect((await client.latestCheckpoint()).treeSize).to.equal(3);
      expect(await client.latestCheckpoint(before)).to.deep.equal({ treeSize: 0, timestamp: 0, rootHex: `0x${"0".repeat(64)}` });
      expect(await client.isAnchored(3, `0x${"22".repeat(32)}`)).to.equal(true);
      expect(await client.isAnchored(3, `0x${"22".repeat(32)}`, before)).to.equal(false);
      expect(((await rejection(client.checkpointAt(0, before))) as ChainError).revert?.name).to.equal("LedgerAnchorCheckpointOutOfRange");
    });

    it("refuses a node on another chain, or an address without code", async function () {
      const fx = await loadFixture(deployed);
      const wrongChain = new ChainClient({ transport: network.provider, address: fx.address, chainId: 1 });
      expect(((await rejection(wrongChain.verify())) as ChainError).code).to.equal("CHAIN_MISMATCH");
      const noCode = new ChainClient({ transport: network.provider, address: Wallet.createRandom().address, chainId: fx.chainId });
      expect(((await rejection(noCode.verify())) as ChainError).code).to.equal("NO_CONTRACT");
    });

    it("decodes the custom error of a gas estimate that would revert", async function () {
      const fx = await loadFixture(deployed);
      const client = new ChainClient({ transport: network.provider, address: fx.address, chainId: fx.chainId });
      const outsider = recorderKey();
      const e = (await rejection(client.estimateGas({ from: outsider.address, to: fx.address, data: client.anchorCalldata(1, `0x${"11".repeat(32)}`, []) }))) as ChainError;
      expect(e.code).to.equal("REVERTED");
      expect(e.revert?.name).to.equal("AccessControlUnauthorizedAccount");
      expect(e.revert?.args[0]).to.equal(outsider.address);
    });

    it("sends legacy transactions with an explicit nonce and chain id, and classifies Hardhat's refusals", async function () {
      const fx = await loadFixture(deployed);
      const client = new ChainClient({ transport: network.provider, address: fx.address, chainId: fx.chainId });
      const key = recorderKey();
      await (await fx.admin.sendTransaction({ to: key.address, value: 10n ** 18n })).wait();
      await (await fx.anchor.grantRole(await fx.anchor.RECORDER_ROLE(), key.address)).wait();

      const data = client.anchorCalldata(1, `0x${"11".repeat(32)}`, []);
      const gasLimit = (await client.estimateGas({ from: key.address, to: fx.address, data })) + 10_000n;
      const gasPrice = await client.gasPrice();
      const nonce = await client.getTransactionCount(key.address, "pending");
      const signed = await client.sign(key, { to: fx.address, data, nonce, gasLimit, gasPrice });
      expect(await client.sign(key, { to: fx.address, data, nonce, gasLimit, gasPrice }), "deterministic").to.deep.equal(signed);

      await network.provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        expect(await client.sendRaw(signed)).to.equal(signed.hash);
        expect(await client.sendRaw(signed), "Hardhat's 'Known transaction' counts as sent").to.equal(signed.hash);
        const cheaper = await client.sign(key, { to: fx.address, data, nonce, gasLimit, gasPrice: gasPrice + 1n });
        expect(((await rejection(client.sendRaw(cheaper))) as ChainError).code).to.equal("UNDERPRICED");
        const tx = (await network.provider.request({ method: "eth_getTransactionByHash", params: [signed.hash] })) as { type: string; v: string; nonce: string };
        expect(tx.type).to.equal("0x0");
        // EIP-155: v = 2 × chainId + 35 or 36.
        expect((BigInt(tx.v) - 35n) / 2n).to.equal(BigInt(fx.chainId));
        expect(Number(tx.nonce)).to.equal(nonce);
        await network.provider.request({ method: "evm_mine", params: [] });
      } finally {
        await network.provider.request({ method: "evm_setAutomine", params: [true] });
      }
      const receipt = await client.getReceipt(signed.hash);
      expect(receipt?.status).to.equal(1);
      expect(client.anchoredEvents(receipt!)).to.deep.equal([
        { index: 0, treeSize: 1, rootHash: `0x${"11".repeat(32)}`, blockNumber: receipt!.blockNumber, transactionHash: signed.hash },
      ]);
      expect(await client.confirmations(receipt!.blockNumber)).to.equal(1);
      expect(((await rejection(client.sendRaw(signed))) as ChainError).code, "mined: nonce too low").to.equal("NONCE_TOO_LOW");

      const poor = new Wallet(Wallet.createRandom().privateKey);
      const broke = await client.sign(poor, { to: fx.address, data: "0x", nonce: 0, gasLimit: 21_000n, gasPrice });
      expect(((await rejection(client.sendRaw(broke))) as ChainError).code).to.equal("INSUFFICIENT_FUNDS");
      expect((await client.findAnchoredEvent(0))?.transactionHash).to.equal(signed.hash);
    });
  });
});
