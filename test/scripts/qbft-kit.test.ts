/**
 * The Besu QBFT deploy kit (scripts/chain/): what it generates, checked here
 * without a Besu node. The extraData is checked against Besu's QBFT layout
 * and against the example in Besu's documentation, whose bytes were made by
 * Besu itself.
 */
import { expect } from "chai";
import { decodeRlp, Wallet } from "ethers";
import {
  decodeQbftExtraData,
  encodeQbftExtraData,
  enodeUrl,
  nodeConfig,
  permissionsConfig,
  qbftGenesis,
  validatorAddress,
  type QbftNetworkOptions,
} from "../../scripts/chain/qbft";

const KEYS = [
  "0x8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63",
  "0xc87509a1c067bbde78beb793e6fa76530b6382a4c0241e5e4a9ec0a0f44dc0d3",
  "0xae6ae8e5ccbfb04590405997ee2d52d2b330726137b875053c36d94e974d162f",
  "0x0dbbe8e4ae425a6d2687f1a7e3ba17bc98c673636790f1b8ad91193c05875ef1",
];
const RECORDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

function network(): QbftNetworkOptions {
  return {
    chainId: 20260,
    blockPeriodSeconds: 2,
    epochLength: 30_000,
    requestTimeoutSeconds: 10,
    allowedAccounts: [DEPLOYER, RECORDER],
    validators: KEYS.map((privateKey, i) => ({ privateKey, host: `10.0.0.${i + 1}` })),
  };
}

describe("the Besu QBFT deploy kit", function () {
  describe("the validators' extraData", function () {
    it("decodes to the four validator addresses, in order", function () {
      const addresses = KEYS.map(validatorAddress);
      const extra = encodeQbftExtraData(addresses);
      const d = decodeQbftExtraData(extra);
      expect(d.validators).to.deep.equal(addresses);
      expect(d.vanity).to.equal(`0x${"00".repeat(32)}`);
      expect(d.vote, "no vote").to.deep.equal([]);
      expect(d.round, "round 0").to.equal("0x");
      expect(d.seals, "no seals").to.deep.equal([]);
    });

    it("has QBFT's five-item layout: a 32-byte vanity, the address list, then c0 80 c0", function () {
      const extra = encodeQbftExtraData(KEYS.map(validatorAddress));
      // f87a: a list of 122 bytes = 33 (vanity) + 86 (f854 and four 21-byte addresses) + 3.
      expect(extra.slice(0, 6)).to.equal("0xf87a");
      expect(extra.endsWith("c080c0")).to.equal(true);
      expect((decodeRlp(extra) as unknown[]).length).to.equal(5);
    });

    it("encodes the vanity and validator list as the example in Besu's documentation does", function () {
      // IBFT 2.0 and QBFT share the vanity and validators; from Besu's genesis example, 0x9811ebc3… alone.
      const ibft = "0xf83ea00000000000000000000000000000000000000000000000000000000000000000d5949811ebc35d7b06b3fa8dc5809a1f9c52751e1deb808400000000c0";
      const ours = encodeQbftExtraData(["0x9811ebc35d7b06b3fa8dc5809a1f9c52751e1deb"]);
      const prefix = "a0" + "00".repeat(32) + "d5949811ebc35d7b06b3fa8dc5809a1f9c52751e1deb";
      expect(ibft).to.include(prefix);
      expect(ours).to.include(prefix);
      expect(decodeQbftExtraData(ours).validators).to.deep.equal(["0x9811EBc35d7B06b3fa8dc5809A1f9C52751E1dEb"]);
    });

    it("refuses no validators and a validator listed twice", function () {
      expect(() => encodeQbftExtraData([])).to.throw(RangeError);
      expect(() => encodeQbftExtraData([RECORDER, RECORDER.toLowerCase()])).to.throw(RangeError, /twice/);
    });

    it("decodes only a five-item list; an IBFT 2.0 extraData shows its 4-byte round, not QBFT's empty one", function () {
      const ibft = "0xf83ea00000000000000000000000000000000000000000000000000000000000000000d5949811ebc35d7b06b3fa8dc5809a1f9c52751e1deb808400000000c0";
      expect(() => decodeQbftExtraData("0xc0")).to.throw(/5 items/);
      expect(decodeQbftExtraData(ibft).round, "IBFT 2.0's 4-byte round is not QBFT's").to.equal("0x00000000");
    });
  });

  describe("the genesis", function () {
    it("holds the QBFT settings, a zero base fee, no Shanghai, ether for the deployer only and the validators", function () {
      const g = qbftGenesis({ ...network(), fundedAccount: DEPLOYER }) as { config: Record<string, unknown>; alloc: object; extraData: string };
      expect(g.config["qbft"]).to.deep.equal({ blockperiodseconds: 2, epochlength: 30_000, requesttimeoutseconds: 10 });
      expect(g.config["zeroBaseFee"]).to.equal(true);
      expect(g.config["londonBlock"]).to.equal(0);
      expect(g.config).to.not.have.property("shanghaiTime");
      expect(g.config["chainId"]).to.equal(20260);
      expect(g.alloc).to.deep.equal({ [DEPLOYER.slice(2).toLowerCase()]: { balance: "0x3635c9adc5dea00000" } });
      expect(BigInt("0x3635c9adc5dea00000")).to.equal(1000n * 10n ** 18n);
      expect(decodeQbftExtraData(g.extraData).validators).to.deep.equal(KEYS.map(validatorAddress));
    });

    it("refuses a request timeout not above the block period", function () {
      expect(() => qbftGenesis({ ...network(), requestTimeoutSeconds: 2 })).to.throw(RangeError);
    });
  });

  describe("permissioning and node configuration", function () {
    it("allows only the deployer and the recorder to send, and only the four validators to connect", function () {
      const toml = permissionsConfig(network());
      const accounts = /^accounts-allowlist=(.*)$/m.exec(toml)![1]!;
      expect(JSON.parse(accounts)).to.deep.equal([DEPLOYER, RECORDER]);
      const nodes = JSON.parse(/^nodes-allowlist=(.*)$/m.exec(toml)![1]!) as string[];
      expect(nodes).to.have.length(4);
      expect(nodes[0]).to.match(/^enode:\/\/[0-9a-f]{128}@10\.0\.0\.1:30303$/);
    });

    it("gives each node its enode's key, the other three as bootnodes, free gas and both allow-lists", function () {
      const n = network();
      const toml = nodeConfig(n, 1);
      expect(toml).to.include('p2p-host="10.0.0.2"');
      const boot = JSON.parse(/^bootnodes=(.*)$/m.exec(toml)![1]!) as string[];
      expect(boot).to.deep.equal([0, 2, 3].map((i) => enodeUrl(n.validators[i]!)));
      expect(toml).to.include("min-gas-price=0");
      expect(toml).to.include("permissions-accounts-config-file-enabled=true");
      expect(toml).to.include("permissions-nodes-config-file-enabled=true");
      expect(toml).to.not.match(/ADMIN|PERM/);
    });

    it("derives the enode URL from the node key's public key", function () {
      const w = new Wallet(KEYS[0]!);
      expect(enodeUrl({ privateKey: KEYS[0]!, host: "h", p2pPort: 30304 })).to.equal(`enode://${w.signingKey.publicKey.slice(4)}@h:30304`);
    });
  });
});
