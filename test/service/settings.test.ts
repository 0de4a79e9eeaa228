/**
 * The service's settings and command line (service/settings.ts,
 * service/config.ts, service/chain/config.ts, parseArguments in
 * service/main.ts): every setting validated, misspelt ones refused, and the
 * help printed from the same schemas that validate them.
 */
import { expect } from "chai";
import { ConfigError, EnvSchema } from "../../service/config";
import { ChainEnvSchema } from "../../service/chain/config";
import { MetricsEnvSchema } from "../../service/metrics/config";
import { LeaderEnvSchema } from "../../service/leader/config";
import { parseArguments } from "../../service/main";
import { loadSettings, OTHER_TOOLS_SETTINGS, serviceSettingNames, settingsHelp } from "../../service/settings";

/** The ConfigError loadSettings throws for `env`. */
function refusal(env: Record<string, string>): ConfigError {
  try {
    loadSettings(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("the service's settings", () => {
  describe("with nothing set", () => {
    it("run the local chain, on 127.0.0.1:8080, with the HTTP limits' defaults", () => {
      const s = loadSettings({});
      expect(s.chain).to.not.equal(false);
      expect(s.config).to.include({ port: 8080, host: "127.0.0.1", chain: true });
      expect(s.config.http).to.deep.equal({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 1000 });
    });
  });

  describe("LEDGER_CHAIN", () => {
    it("is on or off", () => {
      expect(loadSettings({ LEDGER_CHAIN: "off" }).chain).to.equal(false);
      expect(loadSettings({ LEDGER_CHAIN: "on" }).chain).to.not.equal(false);
    });
    for (const bad of ["no", "false", "0", "OFF", ""])
      it(`refuses "${bad}" on one line naming the variable`, () => {
        const e = refusal({ LEDGER_CHAIN: bad });
        expect(e.message).to.include("LEDGER_CHAIN").and.not.include("\n");
      });
    it("still checks the chain's settings when off", () => {
      expect(refusal({ LEDGER_CHAIN: "off", LEDGER_ANCHOR_EVERY_MS: "soon" }).message).to.include("LEDGER_ANCHOR_EVERY_MS");
    });
  });

  describe("numbers", () => {
    for (const [name, bad] of [
      ["PORT", ""],
      ["PORT", " "],
      ["PORT", "1e3"],
      ["PORT", "0x50"],
      ["PORT", "65536"],
      ["LEDGER_ANCHOR_EVERY_MS", ""],
      ["LEDGER_ANCHOR_EVERY_MS", "1.5"],
      ["LEDGER_ANCHOR_CONFIRMATIONS", "0"],
      ["LEDGER_RATE_PUBLIC_PER_MINUTE", "-1"],
      ["LEDGER_IDEMPOTENCY_HOURS", "23"],
      ["LEDGER_HTTP_HEADERS_TIMEOUT_MS", "0"],
      ["LEDGER_HTTP_MAX_CONNECTIONS", "many"],
    ] as const)
      it(`refuse ${name}="${bad}"`, () => {
        expect(refusal({ [name]: bad }).message).to.include(name).and.not.include("\n");
      });

    it("read decimal digits", () => {
      const s = loadSettings({ PORT: "0", LEDGER_HTTP_REQUEST_TIMEOUT_MS: "60000", LEDGER_HTTP_HEADERS_TIMEOUT_MS: "60000", LEDGER_HTTP_MAX_CONNECTIONS: "5" });
      expect(s.config.port).to.equal(0);
      expect(s.config.http).to.include({ requestTimeoutMs: 60_000, headersTimeoutMs: 60_000, maxConnections: 5 });
    });

    it("refuse a headers timeout longer than the request timeout", () => {
      expect(refusal({ LEDGER_HTTP_HEADERS_TIMEOUT_MS: "40000" }).message).to.include("LEDGER_HTTP_HEADERS_TIMEOUT_MS");
    });
  });

  describe("the chain's", () => {
    for (const [desc, env, name] of [
      ["a chain id without a node URL", { LEDGER_CHAIN_ID: "1337" }, "LEDGER_CHAIN_ID"],
      ["a contract address without a node URL", { LEDGER_ANCHOR_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }, "LEDGER_ANCHOR_ADDRESS"],
      ["a first block without a node URL", { LEDGER_ANCHOR_FROM_BLOCK: "5" }, "LEDGER_ANCHOR_FROM_BLOCK"],
      [
        "the local chain's redeploy flag with a node URL",
        { LEDGER_RPC_URL: "http://127.0.0.1:8545", LEDGER_CHAIN_ID: "1", LEDGER_ANCHOR_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3", LEDGER_LOCAL_CHAIN_REDEPLOY: "1" },
        "LEDGER_LOCAL_CHAIN_REDEPLOY",
      ],
      ["a redeploy flag other than 0 or 1", { LEDGER_LOCAL_CHAIN_REDEPLOY: "yes" }, "LEDGER_LOCAL_CHAIN_REDEPLOY"],
      ["a first block that is not a number", { LEDGER_RPC_URL: "http://x", LEDGER_CHAIN_ID: "1", LEDGER_ANCHOR_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3", LEDGER_ANCHOR_FROM_BLOCK: "" }, "LEDGER_ANCHOR_FROM_BLOCK"],
    ] as const)
      it(`refuse ${desc}`, () => {
        expect(refusal(env).message).to.include(name).and.not.include("\n");
      });
  });

  describe("a LEDGER_ variable the service does not know", () => {
    it("is refused as a likely typo, naming it", () => {
      const e = refusal({ LEDGER_DATADIR: "/srv/ledger", LEDGER_ANCHOR_EVERY_SECONDS: "5" });
      expect(e.message).to.include("LEDGER_DATADIR").and.include("LEDGER_ANCHOR_EVERY_SECONDS").and.include("--help");
    });
    it("is accepted when another tool of the project reads it", () => {
      expect(() => loadSettings(Object.fromEntries(OTHER_TOOLS_SETTINGS.map((n) => [n, "x"])))).to.not.throw();
    });
    it("other than LEDGER_ is none of the service's business", () => {
      expect(() => loadSettings({ HOME: "/root", NODE_OPTIONS: "", npm_lifecycle_event: "start" })).to.not.throw();
    });
  });

  describe("--help's table", () => {
    it("names every setting the schemas validate, each with its help and its default", () => {
      const help = settingsHelp();
      const names = [...Object.keys(EnvSchema.shape), ...Object.keys(ChainEnvSchema.shape), ...Object.keys(MetricsEnvSchema.shape), ...Object.keys(LeaderEnvSchema.shape)];
      expect(serviceSettingNames()).to.have.members(names);
      for (const n of names) expect(help, n).to.match(new RegExp(`^  ${n}(=|$)`, "m"));
      expect(help).to.match(/^ {2}PORT=8080$/m);
      expect(help).to.match(/^ {2}LEDGER_CHAIN=on$/m);
      expect(help).to.match(/^ {2}LEDGER_HTTP_HEADERS_TIMEOUT_MS=10000$/m);
      expect(help).to.match(/^ {2}LEDGER_RPC_URL$/m);
      expect(help).to.match(/^ {2}LEDGER_LEADER_LEASE_MS=5000$/m);
      for (const line of help.split("\n")) expect(line.trim(), "no setting without help").to.not.equal("");
    });
  });
});

describe("the leadership settings", () => {
  it("default to a 5 s lease and a generated replica id", () => {
    const { leader } = loadSettings({});
    expect(leader.leaseMs).to.equal(5000);
    expect(leader.replicaId).to.match(/^.+-[0-9]+-[0-9a-f]{6}$/);
  });

  it("take a lease in milliseconds and a replica name", () => {
    expect(loadSettings({ LEDGER_LEADER_LEASE_MS: "2000", LEDGER_REPLICA_ID: "api-2" }).leader).to.deep.equal({ leaseMs: 2000, replicaId: "api-2" });
  });

  it("refuse a lease too short or not a number, and a replica name with spaces, naming each", () => {
    for (const [name, value] of [
      ["LEDGER_LEADER_LEASE_MS", "100"],
      ["LEDGER_LEADER_LEASE_MS", "5s"],
      ["LEDGER_REPLICA_ID", "api 2"],
    ] as const)
      expect(() => loadSettings({ [name]: value }), `${name}=${value}`).to.throw(ConfigError, name);
  });
});

describe("the command line", () => {
  const run = (argv: string[]) => {
    let out = "";
    let err = "";
    const r = parseArguments(
      argv,
      (s) => (out += s),
      (s) => (err += s),
    );
    return { r, out, err };
  };

  it("runs the service with no arguments, and loads the demo first with --demo", () => {
    expect(run([]).r).to.deep.equal({ run: true, demo: false });
    expect(run(["--demo"]).r).to.deep.equal({ run: true, demo: true });
  });

  for (const flag of ["--help", "-h"])
    it(`prints the usage and the settings for ${flag}, and asks for exit 0`, () => {
      const { r, out, err } = run([flag]);
      expect(r).to.deep.equal({ run: false, exitCode: 0 });
      expect(out).to.include("--demo").and.include("--help").and.include("LEDGER_DATA_DIR=./data").and.include("LEDGER_CHAIN=on");
      expect(err).to.equal("");
    });

  for (const argv of [["--bogus"], ["demo"], ["--demo", "extra"], ["--port", "80"]])
    it(`refuses ${argv.join(" ")} with one line and exit 2`, () => {
      const { r, out, err } = run(argv);
      expect(r).to.deep.equal({ run: false, exitCode: 2 });
      expect(out).to.equal("");
      expect(err).to.match(/^subsidy-ledger: .+\n$/);
    });
});
