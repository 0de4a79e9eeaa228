/**
 * The files of a Hyperledger Besu QBFT network, computed without I/O so they
 * can be tested here, where no Besu runs: the validators' extraData, the
 * genesis, each node's enode URL, the local permissioning file and each
 * node's config.toml. generate-qbft.ts writes them to disk.
 *
 * QBFT genesis extraData (Besu's QbftExtraDataCodec) is the RLP list
 *   [vanity (32 bytes), [validator addresses], vote, round, [seals]]
 * with, in the genesis block, no vote (an empty list), round 0 (the empty
 * byte string) and no seals (an empty list).
 */
import { decodeRlp, encodeRlp, getAddress, SigningKey, computeAddress, zeroPadValue, type RlpStructuredData } from "ethers";

export interface QbftValidator {
  /** The node key (secp256k1 private key, 0x and 64 hex digits). Its address is the validator's. */
  readonly privateKey: string;
  /** Host name or IP address other nodes reach it at (the enode URL's host). */
  readonly host: string;
  /** devp2p port. Default 30303. */
  readonly p2pPort?: number;
}

export interface QbftNetworkOptions {
  readonly chainId: number;
  readonly validators: readonly QbftValidator[];
  /** Seconds between blocks. The anchoring delay's floor is one period. */
  readonly blockPeriodSeconds: number;
  /** Blocks between validator-vote resets. */
  readonly epochLength: number;
  /** Seconds before a round change when no block is agreed; more than the block period. */
  readonly requestTimeoutSeconds: number;
  /** The only accounts that may send transactions: the deployer (contract admin) and the recorder. */
  readonly allowedAccounts: readonly string[];
  /** Genesis gas limit per block. Default 0x1fffffffffffff (Besu's private-network examples). */
  readonly gasLimit?: string;
  /** Given 1000 ether in the genesis: the deployer. */
  readonly fundedAccount?: string;
  /** RPC port of every node. Default 8545. */
  readonly rpcPort?: number;
}

/** A validator's address: the address of its node key. */
export function validatorAddress(privateKey: string): string {
  return computeAddress(privateKey);
}

/** enode://<public key without the 04 prefix>@host:port */
export function enodeUrl(v: QbftValidator): string {
  const pub = new SigningKey(v.privateKey).publicKey; // 0x04 + 128 hex digits
  return `enode://${pub.slice(4)}@${v.host}:${v.p2pPort ?? 30303}`;
}

/** RLP of the genesis QBFT extraData for `validators` (addresses), in the order given. */
export function encodeQbftExtraData(validators: readonly string[]): string {
  if (validators.length === 0) throw new RangeError("a QBFT network needs at least one validator");
  const addresses = validators.map((a) => getAddress(a).toLowerCase());
  if (new Set(addresses).size !== addresses.length) throw new RangeError("a validator is listed twice");
  return encodeRlp([zeroPadValue("0x", 32), addresses, [], "0x", []]);
}

/** The validator addresses of a QBFT extraData; throws if it is not the five-field QBFT form. */
export function decodeQbftExtraData(extraData: string): {
  vanity: string;
  validators: string[];
  vote: RlpStructuredData;
  round: string;
  seals: RlpStructuredData;
} {
  const d = decodeRlp(extraData);
  if (!Array.isArray(d) || d.length !== 5) throw new Error("QBFT extraData is an RLP list of 5 items");
  const [vanity, validators, vote, round, seals] = d as [RlpStructuredData, RlpStructuredData, RlpStructuredData, RlpStructuredData, RlpStructuredData];
  if (typeof vanity !== "string" || vanity.length !== 66) throw new Error("the vanity is 32 bytes");
  if (!Array.isArray(validators) || validators.some((v) => typeof v !== "string" || v.length !== 42))
    throw new Error("the validators are a list of 20-byte addresses");
  if (typeof round !== "string") throw new Error("the round is a byte string");
  return { vanity, validators: (validators as string[]).map((v) => getAddress(v)), vote, round, seals };
}

/**
 * The genesis: QBFT with block-header validator selection, every fork up to
 * London at block 0 and no Shanghai (the contract is compiled for paris, and
 * older Besu/GoQuorum nodes in a network may not know later forks), and a
 * zero base fee, so that transactions at gas price 0 are valid: a free-gas
 * network where the recorder needs no ether. Only `fundedAccount` (the
 * deployer) gets ether, so that tools which add a priority fee of their own
 * (Hardhat's deploy) still work.
 */
export function qbftGenesis(o: QbftNetworkOptions): Record<string, unknown> {
  if (!Number.isSafeInteger(o.chainId) || o.chainId <= 0) throw new RangeError("chainId must be a positive integer");
  if (o.requestTimeoutSeconds <= o.blockPeriodSeconds) throw new RangeError("requestTimeoutSeconds must be more than blockPeriodSeconds");
  return {
    config: {
      chainId: o.chainId,
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      zeroBaseFee: true,
      contractSizeLimit: 24576,
      qbft: {
        blockperiodseconds: o.blockPeriodSeconds,
        epochlength: o.epochLength,
        requesttimeoutseconds: o.requestTimeoutSeconds,
      },
    },
    nonce: "0x0",
    timestamp: "0x0",
    gasLimit: o.gasLimit ?? "0x1fffffffffffff",
    difficulty: "0x1",
    mixHash: "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365",
    coinbase: "0x0000000000000000000000000000000000000000",
    alloc: o.fundedAccount === undefined ? {} : { [getAddress(o.fundedAccount).slice(2).toLowerCase()]: { balance: "0x3635c9adc5dea00000" } },
    extraData: encodeQbftExtraData(o.validators.map((v) => validatorAddress(v.privateKey))),
  };
}

function tomlStrings(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(",")}]`;
}

/**
 * Besu local permissioning (permissions_config.toml), the same on every node:
 * only the validators may connect, and only the allowed accounts may send
 * transactions. Besu checks the accounts list when a transaction reaches the
 * pool (by JSON-RPC or gossip) and when a block is built, so every node must
 * carry the same list.
 */
export function permissionsConfig(o: QbftNetworkOptions): string {
  const accounts = o.allowedAccounts.map((a) => getAddress(a));
  if (accounts.length === 0) throw new RangeError("at least one account must be allowed to send");
  return [
    "# Generated by scripts/chain/generate-qbft.ts. The same file on every node.",
    `accounts-allowlist=${tomlStrings(accounts)}`,
    `nodes-allowlist=${tomlStrings(o.validators.map(enodeUrl))}`,
    "",
  ].join("\n");
}

/**
 * One node's config.toml, for files laid out as the README says under
 * /etc/besu (genesis.json, key, permissions_config.toml) and /var/lib/besu (data).
 * Free gas: min-gas-price 0. RPC on every interface for the service, with ETH,
 * NET, WEB3 and QBFT only (no ADMIN, no PERM); restrict it with a firewall.
 */
export function nodeConfig(o: QbftNetworkOptions, index: number): string {
  const v = o.validators[index];
  if (v === undefined) throw new RangeError(`no validator ${index}`);
  const others = o.validators.filter((_, i) => i !== index).map(enodeUrl);
  return [
    `# Besu QBFT validator ${index + 1} of ${o.validators.length}. Generated by scripts/chain/generate-qbft.ts.`,
    'data-path="/var/lib/besu"',
    'genesis-file="/etc/besu/genesis.json"',
    'node-private-key-file="/etc/besu/key"',
    `p2p-host="${v.host}"`,
    `p2p-port=${v.p2pPort ?? 30303}`,
    `bootnodes=${tomlStrings(others)}`,
    "min-gas-price=0",
    "rpc-http-enabled=true",
    'rpc-http-host="0.0.0.0"',
    `rpc-http-port=${o.rpcPort ?? 8545}`,
    'rpc-http-api=["ETH","NET","WEB3","QBFT"]',
    'host-allowlist=["*"]',
    "permissions-nodes-config-file-enabled=true",
    "permissions-accounts-config-file-enabled=true",
    'permissions-nodes-config-file="/etc/besu/permissions_config.toml"',
    'permissions-accounts-config-file="/etc/besu/permissions_config.toml"',
    "",
  ].join("\n");
}
