/**
 * The one JSON-RPC transport (service/format/anchor.ts httpProvider), used by
 * the auditor, the mirror and the portal: what it sends, and what its errors
 * show.
 */
import { expect } from "chai";
import { AnchorReadError, httpProvider, type FetchLike } from "../../service/format";

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
});
