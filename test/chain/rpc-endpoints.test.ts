/**
 * Several RPC endpoints for one chain: LEDGER_RPC_URL as a comma-separated
 * list, validated with messages that name an endpoint by position (a URL may
 * carry credentials), and FailoverJsonRpc, which moves to the next endpoint
 * only when one cannot be reached. The anchorer running through it while an
 * endpoint goes down is in situations.test.ts.
 */
import { expect } from "chai";
import { ConfigError } from "../../service/config";
import { ChainError, FailoverJsonRpc, JsonRpcError, type Eip1193Provider } from "../../service/chain/client";
import { loadChainConfig } from "../../service/chain/config";
import { loadSettings } from "../../service/settings";

const NODE = { LEDGER_CHAIN_ID: "1337", LEDGER_ANCHOR_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };

function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadChainConfig(env, "/srv/ledger");
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

/** An endpoint that answers with `answer`, or fails as `fail` says, and counts its calls. */
class Endpoint implements Eip1193Provider {
  calls = 0;
  fail: "unreachable" | "rpc-error" | undefined;
  constructor(private readonly _answer: string) {}
  async request(): Promise<unknown> {
    this.calls += 1;
    if (this.fail === "unreachable") throw new ChainError("UNAVAILABLE", "eth_blockNumber: cannot reach the node (ECONNREFUSED)");
    if (this.fail === "rpc-error") throw new JsonRpcError(-32000, "nonce too low");
    return this._answer;
  }
}

describe("several RPC endpoints", function () {
  describe("LEDGER_RPC_URL", function () {
    it("takes one URL as before", function () {
      const c = loadChainConfig({ LEDGER_RPC_URL: "https://node1.example:8545", ...NODE }, "/srv/ledger");
      expect(c.remote?.rpcUrl).to.equal("https://node1.example:8545");
      expect(c.remote?.rpcUrls).to.deep.equal(["https://node1.example:8545"]);
    });

    it("takes a comma-separated list, spaces around the commas allowed, in the order given", function () {
      const c = loadChainConfig({ LEDGER_RPC_URL: "https://node1.example:8545, https://u:p@node2.example:8545 ,http://10.0.0.3:8545", ...NODE }, "/srv/ledger");
      expect(c.remote?.rpcUrls).to.deep.equal(["https://node1.example:8545", "https://u:p@node2.example:8545", "http://10.0.0.3:8545"]);
      expect(c.remote?.rpcUrl).to.equal("https://node1.example:8545");
    });

    it("is accepted by the service's settings", function () {
      const s = loadSettings({ LEDGER_DATA_DIR: "/srv/ledger", LEDGER_RPC_URL: "http://a.example:8545,http://b.example:8545", ...NODE });
      expect(s.chain === false ? undefined : s.chain.remote?.rpcUrls).to.have.length(2);
    });

    for (const [desc, value, want] of [
      ["an empty item between two commas", "http://a.example:8545,,http://b.example:8545", /LEDGER_RPC_URL: endpoint 2 of 3 is empty/],
      ["a trailing comma", "http://a.example:8545,", /LEDGER_RPC_URL: endpoint 2 of 2 is empty/],
      ["an empty value", "", /LEDGER_RPC_URL: the value is empty/],
      ["a websocket URL in the list", "http://a.example:8545,ws://b.example:8546", /LEDGER_RPC_URL: endpoint 2 of 2 is not an http\(s\) URL/],
      ["a URL given twice", "http://a.example:8545,http://b.example:8545,http://a.example:8545", /LEDGER_RPC_URL: endpoint 3 of 3 repeats endpoint 1/],
    ] as const) {
      it(`refuses ${desc} with one clear line`, function () {
        const message = configError({ LEDGER_RPC_URL: value, ...NODE });
        expect(message).to.match(want);
        expect(message).to.not.include("\n");
      });
    }

    it("never repeats a refused URL, which may carry credentials", function () {
      const message = configError({ LEDGER_RPC_URL: "https://user:s3cret@a.example:8545,ftp://user:s3cret@b.example", ...NODE });
      expect(message).to.match(/endpoint 2 of 2/);
      expect(message).to.not.include("s3cret");
    });
  });

  describe("FailoverJsonRpc", function () {
    it("uses the first endpoint while it answers", async function () {
      const a = new Endpoint("0xa");
      const b = new Endpoint("0xb");
      const rpc = new FailoverJsonRpc([a, b]);
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0xa");
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0xa");
      expect([a.calls, b.calls]).to.deep.equal([2, 0]);
    });

    it("when an endpoint is unreachable, asks the next at once and stays with it", async function () {
      const a = new Endpoint("0xa");
      const b = new Endpoint("0xb");
      const switches: [number, number][] = [];
      const rpc = new FailoverJsonRpc([a, b], (from, to) => switches.push([from, to]));
      a.fail = "unreachable";
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0xb");
      expect(rpc.current).to.equal(1);
      a.fail = undefined;
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0xb");
      expect(switches).to.deep.equal([[0, 1]]);
      expect([a.calls, b.calls]).to.deep.equal([1, 2]);
    });

    it("wraps around to an earlier endpoint when the current one goes down", async function () {
      const a = new Endpoint("0xa");
      const b = new Endpoint("0xb");
      const rpc = new FailoverJsonRpc([a, b]);
      a.fail = "unreachable";
      await rpc.request({ method: "eth_blockNumber" });
      a.fail = undefined;
      b.fail = "unreachable";
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0xa");
      expect(rpc.current).to.equal(0);
    });

    it("returns a node's error answer as it is, without asking another node", async function () {
      const a = new Endpoint("0xa");
      const b = new Endpoint("0xb");
      a.fail = "rpc-error";
      const rpc = new FailoverJsonRpc([a, b]);
      let error: unknown;
      try {
        await rpc.request({ method: "eth_sendRawTransaction", params: ["0x00"] });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(JsonRpcError);
      expect(b.calls).to.equal(0);
    });

    it("fails as unreachable, saying so, only when every endpoint is", async function () {
      const a = new Endpoint("0xa");
      const b = new Endpoint("0xb");
      a.fail = b.fail = "unreachable";
      const rpc = new FailoverJsonRpc([a, b]);
      let error: unknown;
      try {
        await rpc.request({ method: "eth_blockNumber" });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ChainError);
      expect((error as ChainError).code).to.equal("UNAVAILABLE");
      expect((error as Error).message).to.match(/all 2 RPC endpoints are unreachable/);
    });

    it("refuses an empty list", function () {
      expect(() => new FailoverJsonRpc([])).to.throw(RangeError);
    });
  });
});
