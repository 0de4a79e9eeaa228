/**
 * The one JSON-RPC transport (service/format/anchor.ts httpProvider), used by
 * the auditor, the mirror, the portal and (adapted) the service's chain
 * client: what it sends, and what its errors show and carry.
 */
import { expect } from "chai";
import { AnchorReader, AnchorReadError, httpProvider, type FetchLike } from "../../service/format";

type Sent = { url: string; headers: Record<string, string>; body: unknown };

function recording(answer: (body: { id: number; method: string }) => unknown): { fetch: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    const body = JSON.parse(init.body) as { id: number; method: string };
    sent.push({ url, headers: init.headers, body });
    return { ok: true, status: 200, json: async () => answer(body) };
  };
  return { fetch, sent };
}

describe("the JSON-RPC transport", () => {
  it("sends JSON-RPC 2.0 requests with increasing ids and answers their result", async () => {
    const { fetch, sent } = recording((b) => ({ jsonrpc: "2.0", id: b.id, result: "0x7a69" }));
    const p = httpProvider("http://127.0.0.1:8545/", fetch);
    expect(await p.request({ method: "eth_chainId" })).to.equal("0x7a69");
    await p.request({ method: "eth_blockNumber", params: [] });
    expect(sent.map((s) => s.body)).to.deep.equal([
      { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
      { jsonrpc: "2.0", id: 2, method: "eth_blockNumber", params: [] },
    ]);
    expect(sent[0]!.headers).to.not.have.property("authorization");
  });

  it("sends credentials in the URL as HTTP Basic authentication, to the URL without them, and never shows them", async () => {
    const { fetch, sent } = recording((b) => ({ jsonrpc: "2.0", id: b.id, error: { message: "nope" } }));
    const p = httpProvider("https://auditor:s%C3%A9cret%40x@node.example:8545/rpc", fetch);
    expect(p.shown).to.equal("https://node.example:8545/rpc");
    const e = await p.request({ method: "eth_chainId" }).then(
      () => expect.fail("the node refused"),
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(AnchorReadError).and.to.include({ code: "RPC_ERROR" });
    expect((e as Error).message).to.include("https://node.example:8545/rpc").and.not.to.include("cret");
    expect(sent[0]!.url).to.equal("https://node.example:8545/rpc");
    expect(sent[0]!.headers["authorization"]).to.equal(`Basic ${Buffer.from("auditor:sécret@x").toString("base64")}`);
  });

  it("reports a node that cannot be reached as TRANSPORT, without the credentials", async () => {
    const p = httpProvider("http://u:topsecret@127.0.0.1:1/", async () => {
      throw new TypeError("fetch failed");
    });
    const e = await p.request({ method: "eth_chainId" }).catch((x: unknown) => x);
    expect(e).to.be.instanceOf(AnchorReadError).and.to.include({ code: "TRANSPORT" });
    expect((e as Error).message).to.match(/cannot reach the RPC node at http:\/\/127\.0\.0\.1:1\/: fetch failed/).and.not.to.include("topsecret");
  });

  /** A fetch that answers every request with this status and body text, parsed as fetch's json() does. */
  const answering =
    (status: number, text: string): FetchLike =>
    async () => ({ ok: status >= 200 && status < 300, status, json: async () => JSON.parse(text) as unknown });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail("the request should fail"),
      (x: unknown) => x as AnchorReadError,
    );

  it("carries the node's JSON-RPC error (code, message, data) and the HTTP status, for callers that classify", async () => {
    const p = httpProvider("http://127.0.0.1:8545/", answering(200, JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 3, message: "execution reverted", data: "0xd93c0665" } })));
    const e = await failure(p.request({ method: "eth_call" }));
    expect(e).to.be.instanceOf(AnchorReadError).and.to.include({ code: "RPC_ERROR", status: 200 });
    expect(e.rpc).to.deep.equal({ code: 3, message: "execution reverted", data: "0xd93c0665" });
    const odd = await failure(httpProvider("http://n/", answering(200, JSON.stringify({ error: { code: "x", message: 7 } }))).request({ method: "eth_call" }));
    expect(odd.rpc, "fields of the wrong type are left out").to.deep.equal({});
  });

  it("reports HTTP 429 and 5xx as TRANSPORT with the status, whatever the body", async () => {
    for (const [status, text] of [
      [429, "slow down"],
      [502, "<html>bad gateway</html>"],
      [503, JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32000, message: "nonce too low" } })],
    ] as const) {
      const e = await failure(httpProvider("http://n/", answering(status, text)).request({ method: "eth_chainId" }));
      expect(e, `HTTP ${status}`).to.include({ code: "TRANSPORT", status, rpc: undefined });
      expect(e.message).to.include(`HTTP ${status}`);
    }
  });

  it("tells a body that is not JSON (BAD_ANSWER; RPC_ERROR on an HTTP error status) from one that broke off (TRANSPORT)", async () => {
    expect(await failure(httpProvider("http://n/", answering(200, "<html>")).request({ method: "eth_chainId" }))).to.include({ code: "BAD_ANSWER", status: 200 });
    const refused = await failure(httpProvider("http://n/", answering(401, "<html>")).request({ method: "eth_chainId" }));
    expect(refused).to.include({ code: "RPC_ERROR", status: 401, rpc: undefined });
    const reset = new TypeError("terminated");
    const broke = await failure(httpProvider("http://n/", async () => ({ ok: true, status: 200, json: () => Promise.reject(reset) })).request({ method: "eth_chainId" }));
    expect(broke).to.include({ code: "TRANSPORT", status: 200 });
    expect(broke.cause).to.equal(reset);
  });

  it("keeps what fetch threw as the cause of TRANSPORT, with no status", async () => {
    const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    const e = await failure(
      httpProvider("http://n/", async () => {
        throw refused;
      }).request({ method: "eth_chainId" }),
    );
    expect(e).to.include({ code: "TRANSPORT", status: undefined });
    expect(e.cause).to.equal(refused);
  });

  it("returns the result beside an error of null; an answer that is not a JSON-RPC object, or has no result, is BAD_ANSWER", async () => {
    expect(await httpProvider("http://n/", answering(200, JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x1", error: null }))).request({ method: "eth_chainId" })).to.equal("0x1");
    for (const text of ["42", "[]", "null", JSON.stringify({ jsonrpc: "2.0", id: 1 })])
      expect(await failure(httpProvider("http://n/", answering(200, text)).request({ method: "eth_chainId" })), text).to.include({ code: "BAD_ANSWER", status: 200 });
  });

  it("the reader calls a view at the block it is given, as a hex quantity", async () => {
    const { fetch, sent } = recording((b) => ({ jsonrpc: "2.0", id: b.id, result: `0x${"0".repeat(63)}5` }));
    const reader = new AnchorReader(httpProvider("http://n/", fetch), "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    expect(await reader.checkpointCount(1000)).to.equal(5);
    expect(await reader.checkpointCount()).to.equal(5);
    expect(sent.map((s) => (s.body as { params: unknown[] }).params[1])).to.deep.equal(["0x3e8", "latest"]);
  });
});
