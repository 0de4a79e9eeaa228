/**
 * The service as its users run it, in real processes: `npm start` and
 * `npm run demo` stopped by their process id; the data directory private to
 * the user; a taken port, a data directory others can read, --help, an
 * unknown argument and a bad setting each stopping the start before
 * anything is created; and a first admin token that was never shown.
 *
 * The npm tests run the package's own `start` and `demo` scripts, copied
 * verbatim from package.json into a temporary project whose
 * .cache/service/main.js links to the test bundle (test/chain/service-process.ts):
 * npm and the shell behave as for a user, without the prestart builds.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { loadConfig } from "../../service/config";
import { FIRST_TOKEN_PENDING } from "../../service/data-dir";
import { startService } from "../../service/main";
import { serviceSettingNames } from "../../service/settings";
import { LevelStore } from "../../service/store/level";
import { runCli } from "../../scripts/admin";
import { killAllChildren, poll, programmeBody, REPO, serviceBundle, ServiceProcess } from "../chain/service-process";

const BANNER = "subsidy-ledger is running on ";

/** A process the test started, its output collected. */
class Child {
  out = "";
  err = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (this.out += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (this.err += d));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }
  get pid(): number {
    if (this.child.pid === undefined) throw new Error("not started");
    return this.child.pid;
  }
  /** The URL of the start-up banner, once printed. */
  async url(timeoutMs = 60_000): Promise<string> {
    let done = false;
    void this.exited.then(() => (done = true));
    return poll(
      "the start-up banner",
      async () => {
        const m = new RegExp(`${BANNER}(\\S+)`).exec(this.out);
        if (m) return m[1];
        if (done) throw new Error(`exited before its banner: ${this.err}`);
        return undefined;
      },
      timeoutMs,
      50,
    );
  }
}

const started = new Set<Child>();

function run(command: string, args: readonly string[], cwd: string, env: Readonly<Record<string, string>>): Child {
  const child = new Child(
    spawn(command, [...args], {
      cwd,
      // A clean environment: only PATH (node first) and HOME, plus what the test sets.
      env: { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? os.tmpdir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  started.add(child);
  void child.exited.then(() => started.delete(child));
  return child;
}

/** The bundled service (what npm start runs), with `args`, in `cwd`. */
async function runService(args: readonly string[], cwd: string, env: Readonly<Record<string, string>>): Promise<Child> {
  return run(process.execPath, ["--enable-source-maps", await serviceBundle(), ...args], cwd, env);
}

async function exitWithin(c: Child, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      c.exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; stderr: ${c.err}`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------ processes, from /proc (Linux)

/** Whether `pid` is a live process (a zombie, exited but not yet reaped, is not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Every live process below `pid`, with its command line, parents before children. */
async function descendants(pid: number): Promise<{ pid: number; ppid: number; cmd: string }[]> {
  const all: { pid: number; ppid: number; cmd: string }[] = [];
  for (const name of await fs.readdir("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = await fs.readFile(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      const cmd = (await fs.readFile(`/proc/${name}/cmdline`, "utf8")).split("\0").filter(Boolean).join(" ");
      all.push({ pid: Number(name), ppid: Number(fields[1]), cmd });
    } catch {
      // gone meanwhile
    }
  }
  const out: { pid: number; ppid: number; cmd: string }[] = [];
  const walk = (p: number) => {
    for (const c of all.filter((x) => x.ppid === p)) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(pid);
  return out;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Every file and directory under `dir` (itself included) with its permission bits. */
async function modes(dir: string): Promise<{ path: string; dir: boolean; mode: number }[]> {
  const st = await fs.stat(dir);
  const out = [{ path: dir, dir: true, mode: st.mode & 0o777 }];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await modes(p)));
    else out.push({ path: p, dir: false, mode: (await fs.stat(p)).mode & 0o777 });
  }
  return out;
}

const baseEnv = (dataDir: string): Record<string, string> => ({
  PORT: "0",
  LEDGER_DATA_DIR: dataDir,
  LOG_LEVEL: "info",
  LEDGER_ANCHOR_EVERY_MS: "200",
});

async function recordProgramme(url: string, token: string, code: string): Promise<void> {
  const res = await fetch(`${url}/v1/programmes`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "idempotency-key": code, "content-type": "application/json" },
    body: JSON.stringify(programmeBody(code)),
  });
  expect(res.status, await res.text()).to.equal(201);
}

describe("the service process", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    await serviceBundle();
  });
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "ledger-process-"));
  });
  afterEach(async () => {
    for (const c of started) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
    await Promise.all([...started].map((c) => c.exited));
    await killAllChildren();
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("started by npm and stopped by npm's process id", () => {
    /** A project holding the package's start and demo scripts as they are, and the bundle where `start` runs it from. */
    async function project(): Promise<string> {
      const pkg = JSON.parse(await fs.readFile(path.join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };
      const root = path.join(dir, "project");
      await fs.mkdir(path.join(root, ".cache", "service"), { recursive: true });
      await fs.writeFile(
        path.join(root, "package.json"),
        JSON.stringify({ name: "subsidy-ledger-under-test", private: true, scripts: { start: pkg.scripts.start, demo: pkg.scripts.demo } }),
      );
      await fs.symlink(await serviceBundle(), path.join(root, ".cache", "service", "main.js"));
      return root;
    }

    for (const [script, signal] of [
      ["start", "SIGTERM"],
      ["start", "SIGINT"],
      ["demo", "SIGTERM"],
    ] as const) {
      describe(`npm ${script === "start" ? "start" : "run demo"}, sent ${signal}`, () => {
        it("stops within a few seconds: npm, node and anvil gone, the port free, the data directory free to open", async () => {
          const dataDir = path.join(dir, "data");
          const npm = run("npm", script === "start" ? ["start"] : ["run", "demo"], await project(), baseEnv(dataDir));
          const url = await npm.url();
          const port = Number(new URL(url).port);
          const tree = await descendants(npm.pid);
          // npm, then (through a second npm for demo) node, then anvil: no shell in between that would not pass the signal on.
          expect(
            tree.filter((p) => /sh -c/.test(p.cmd)),
            JSON.stringify(tree),
          ).to.deep.equal([]);
          const node = tree.find((p) => p.cmd.includes("main.js"));
          const anvil = tree.find((p) => /anvil/.test(p.cmd));
          expect(node, JSON.stringify(tree)).to.not.equal(undefined);
          expect(anvil, JSON.stringify(tree)).to.not.equal(undefined);

          // Connections a stop must not wait for: an idle keep-alive one, and a request whose body never finishes.
          const idle = net.connect(port, "127.0.0.1");
          const stalled = net.connect(port, "127.0.0.1");
          for (const s of [idle, stalled]) s.on("error", () => undefined);
          idle.write("GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n");
          stalled.write("POST /v1/programmes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
          await new Promise((r) => setTimeout(r, 200));

          const t0 = Date.now();
          process.kill(npm.pid, signal);
          await exitWithin(npm, 8000);
          expect(Date.now() - t0, "npm's exit after the signal (ms)").to.be.below(6000);
          idle.destroy();
          stalled.destroy();
          await poll(
            "every process of the tree to be gone",
            async () => (tree.every((p) => !alive(p.pid)) ? true : undefined),
            5000,
            50,
          );
          expect(await portIsFree(port), "the service's port is free").to.equal(true);
          const store = await LevelStore.open(dataDir);
          await store.close();
          expect(npm.out).to.include('"msg":"shutting down"');
        });
      });
    }
  });

  describe("sent a signal", () => {
    /** A running service (chain off) with a request whose body never finishes, which holds a stop for its 2 s grace. */
    async function busyService(): Promise<{ svc: Child; stalled: net.Socket }> {
      const svc = await runService([], dir, { ...baseEnv(path.join(dir, "data")), LEDGER_CHAIN: "off" });
      const port = Number(new URL(await svc.url()).port);
      const stalled = net.connect(port, "127.0.0.1");
      stalled.on("error", () => undefined);
      stalled.write("POST /v1/programmes HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{");
      await new Promise((r) => setTimeout(r, 200));
      return { svc, stalled };
    }

    it("twice within a second (Ctrl-C: from the terminal and from npm) stops cleanly, once", async () => {
      const { svc, stalled } = await busyService();
      process.kill(svc.pid, "SIGINT");
      await new Promise((r) => setTimeout(r, 50));
      process.kill(svc.pid, "SIGINT");
      const exit = await exitWithin(svc, 8000);
      stalled.destroy();
      expect(exit).to.deep.equal({ code: 0, signal: null });
      expect(svc.out).to.not.include("second signal");
    });

    it("again after a second, exits at once without finishing the shutdown", async () => {
      const { svc, stalled } = await busyService();
      process.kill(svc.pid, "SIGTERM");
      await new Promise((r) => setTimeout(r, 1200));
      const t0 = Date.now();
      process.kill(svc.pid, "SIGTERM");
      const exit = await exitWithin(svc, 8000);
      stalled.destroy();
      expect(Date.now() - t0).to.be.below(600);
      expect(exit.code).to.equal(1);
      expect(svc.out).to.include("second signal");
    });

    it("during start-up, stops once started: the banner and first admin token printed, exit 0, anvil gone", async () => {
      const dataDir = path.join(dir, "data");
      const svc = await runService([], dir, baseEnv(dataDir));
      await poll("the local chain to run", async () => (svc.out.includes("local chain (anvil) is running") ? true : undefined), 60_000, 10);
      const tree = await descendants(svc.pid);
      process.kill(svc.pid, "SIGTERM");
      const exit = await exitWithin(svc, 20_000);
      expect(exit).to.deep.equal({ code: 0, signal: null });
      expect(svc.out).to.include(BANNER).and.include("first admin token");
      await poll("anvil to be gone", async () => (tree.every((p) => !alive(p.pid)) ? true : undefined), 5000, 50);
      await fs.access(path.join(dataDir, FIRST_TOKEN_PENDING)).then(
        () => expect.fail("the first token was printed, yet recorded as never shown"),
        () => undefined,
      );
    });
  });

  describe("on a fresh start, after writes and anchoring", () => {
    it("keeps the data directory private: every directory 0700, every file 0600", async function () {
      const dataDir = path.join(dir, "data");
      const svc = await ServiceProcess.start(baseEnv(dataDir));
      await recordProgramme(svc.url, svc.firstAdminToken!, "P-1");
      await svc.anchoredAll();
      await svc.stop();
      const all = await modes(dataDir);
      const names = all.map((e) => path.relative(dataDir, e.path));
      // What the issue names: LevelDB, the tile cache, the keys, the local chain's state, the anchorer's state.
      for (const expected of ["CURRENT", "tiles.cache", path.join("keys", "log-signer.key"), path.join("keys", "recorder.key"), "chain"])
        expect(names, expected).to.include(expected);
      expect(names.some((n) => n.startsWith("chain" + path.sep) && n.includes("anvil")), "the local chain's state").to.equal(true);
      expect(names.some((n) => n.includes("anchor")), "the anchorer's state").to.equal(true);
      const wider = all.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600)).map((e) => `${path.relative(dataDir, e.path) || "."} ${e.mode.toString(8)}`);
      expect(wider).to.deep.equal([]);
    });
  });

  describe("on a data directory that others can read", () => {
    it("refuses to start with one line naming the path, the mode and the chmod, and creates nothing", async () => {
      const dataDir = path.join(dir, "data");
      await fs.mkdir(dataDir);
      await fs.chmod(dataDir, 0o755);
      const svc = await runService([], dir, baseEnv(dataDir));
      const exit = await exitWithin(svc, 20_000);
      expect(exit.code).to.equal(1);
      expect(svc.err).to.equal(`subsidy-ledger: the data directory ${dataDir} is accessible to other users (mode 755); make it private with: chmod -R go-rwx ${dataDir}\n`);
      expect(await fs.readdir(dataDir)).to.deep.equal([]);
      expect((await fs.stat(dataDir)).mode & 0o777).to.equal(0o755);
    });
  });

  describe("on a port already in use", () => {
    it("fails with one line and exit 1 before creating anything: no data directory, no keys, no chain", async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        const dataDir = path.join(dir, "data");
        const svc = await runService([], dir, { ...baseEnv(dataDir), PORT: String(port) });
        const exit = await exitWithin(svc, 20_000);
        expect(exit.code).to.equal(1);
        expect(svc.err).to.match(new RegExp(`^subsidy-ledger: port ${port} on 127\\.0\\.0\\.1 is already in use[^\\n]*\\n$`));
        expect(await fs.readdir(dir)).to.deep.equal([]);
      } finally {
        await new Promise((r) => blocker.close(r));
      }
    });
  });

  describe("with --help, -h, a bad argument or a bad setting", () => {
    for (const flag of ["--help", "-h"])
      it(`${flag} prints the usage with every setting and exits 0, creating nothing`, async () => {
        const svc = await runService([flag], dir, {});
        const exit = await exitWithin(svc, 20_000);
        expect(exit.code).to.equal(0);
        expect(svc.out).to.include("--demo");
        for (const name of serviceSettingNames()) expect(svc.out, name).to.include(name);
        expect(await fs.readdir(dir), "no ./data").to.deep.equal([]);
      });

    for (const [desc, args, env, pattern] of [
      ["an unknown option", ["--bogus"], {}, /--bogus/],
      ["an argument", ["serve"], {}, /argument/],
      ["LEDGER_CHAIN=no", [], { LEDGER_CHAIN: "no" }, /LEDGER_CHAIN/],
      ["a misspelt setting", [], { LEDGER_DATADIR: "/srv/ledger" }, /LEDGER_DATADIR/],
      ["an empty PORT", [], { PORT: "" }, /PORT/],
      // Replicas would each anchor on a private anvil: refused before any database is reached.
      ["LEDGER_DATABASE_URL without LEDGER_RPC_URL", [], { LEDGER_DATABASE_URL: "postgres://ledger@db.invalid/ledger" }, /LEDGER_RPC_URL.*LEDGER_LOCAL_CHAIN_SINGLE_REPLICA=1/],
    ] as const)
      it(`stops on ${desc} with one line and exit 2, creating nothing`, async () => {
        const svc = await runService(args, dir, env);
        const exit = await exitWithin(svc, 20_000);
        expect(exit.code).to.equal(2);
        expect(svc.err).to.match(/^subsidy-ledger: [^\n]+\n$/);
        expect(svc.err).to.match(pattern);
        expect(await fs.readdir(dir), "no ./data").to.deep.equal([]);
      });
  });

  describe("the first admin token", () => {
    it("is printed once; a normal restart neither prints it nor says it was never shown", async () => {
      const dataDir = path.join(dir, "data");
      const first = await ServiceProcess.start({ ...baseEnv(dataDir), LEDGER_CHAIN: "off" });
      expect(first.firstAdminToken).to.match(/^sl_/);
      await first.stop();
      await fs.access(path.join(dataDir, FIRST_TOKEN_PENDING)).then(
        () => expect.fail("the pending note is left after the token was printed"),
        () => undefined,
      );
      const again = await ServiceProcess.start({ ...baseEnv(dataDir), LEDGER_CHAIN: "off" });
      expect(again.firstAdminToken).to.equal(undefined);
      expect(again.stdout.join("\n")).to.not.include("ever shown");
      await again.stop();
    });

    describe("when a start created it but stopped before printing it", () => {
      it("says at every start how to get one, until an admin token is created with the admin CLI", async () => {
        const dataDir = path.join(dir, "data");
        const config = loadConfig({ PORT: "0", LEDGER_DATA_DIR: dataDir, LOG_LEVEL: "silent" });
        // The start that dies between creating the token and printing it: it never calls firstAdminTokenShown.
        const lost = await startService(config, pino({ level: "silent" }), { chain: false });
        expect(lost.firstAdminToken).to.match(/^sl_/);
        await lost.close();

        const told = await ServiceProcess.start({ ...baseEnv(dataDir), LEDGER_CHAIN: "off" });
        const banner = told.stdout.join("\n");
        await told.stop();
        expect(told.firstAdminToken).to.equal(undefined);
        expect(banner).to.include("admin token: none was ever shown for this data directory");
        expect(banner).to.include(`npm run admin -- --data-dir ${dataDir} token create --official <id> --agency <code> --role admin`);

        // The command it names works on the stopped directory, and afterwards the start is quiet.
        const write = process.stdout.write.bind(process.stdout);
        const writeErr = process.stderr.write.bind(process.stderr);
        process.stdout.write = (() => true) as typeof process.stdout.write;
        process.stderr.write = (() => true) as typeof process.stderr.write;
        let code: number;
        try {
          code = await runCli(["--data-dir", dataDir, "token", "create", "--official", "ops", "--agency", "local", "--role", "admin"]);
        } finally {
          process.stdout.write = write;
          process.stderr.write = writeErr;
        }
        expect(code).to.equal(0);
        const quiet = await ServiceProcess.start({ ...baseEnv(dataDir), LEDGER_CHAIN: "off" });
        expect(quiet.stdout.join("\n")).to.not.include("ever shown");
        await quiet.stop();
      });
    });
  });
});
