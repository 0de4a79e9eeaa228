import { expect } from "chai";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runAdmin } from "../helpers/admin-cli";
import { hashToken } from "../../service/auth/tokens";
import { Ledger } from "../../service/ledger/ledger";
import { LevelStore } from "../../service/store/level";
import { loadOrCreateAccessCodes } from "../../service/auth/access-codes";
import { ACTORS, applicationRequest, programmeRequest, submit } from "../helpers/ledger-fixtures";
import type { AddressInfo } from "node:net";
import { applicationBody, createWorld, OFFICIALS, programmeBody, record } from "../http/helpers";

/** A stopped data directory holding a programme and an application with distinctive private values. */
async function ledgerWithApplication(dir: string, secret: string): Promise<{ prg: string; app: string }> {
  const store = await LevelStore.open(dir);
  try {
    const ledger = await Ledger.open({ store });
    const prg = (await submit(ledger, ACTORS.admin, "programme", programmeRequest({ opensOn: "2000-01-01", closesOn: "2099-12-31" }))).body.id;
    const app = (await submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg, { private: { contactPerson: secret, phone: "+86 139 0000 1111", bankAccount: "6222000011112222" } }))).body.id;
    await ledger.close();
    return { prg, app };
  } finally {
    await store.close();
  }
}

/** Every file of a directory, read whole. */
async function filesOf(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isFile()) out.push(await readFile(path.join(dir, e.name)));
  return out;
}

/** Runs the CLI with stdout and stderr captured. */
const run = (args: string[]) => runAdmin(args);

describe("the admin CLI", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "ledger-admin-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("token create", () => {
    it("prints the token alone on one line of stdout and stores only its hash", async () => {
      const r = await run(["--data-dir", dir, "token", "create", "--official", "o-1", "--agency", "110101", "--role", "clerk"]);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/^sl_[A-Za-z0-9_-]{43}\n$/);
      const token = r.out.trim();
      const store = await LevelStore.open(dir);
      try {
        const stored = await store.tokenByHash(hashToken(token));
        expect(stored?.official).to.equal("o-1");
        expect(JSON.stringify(await store.tokens())).not.to.include(token);
      } finally {
        await store.close();
      }
    });

    it("stores the official's canonical id, keeping the id as typed as the display name, or --name when given", async () => {
      const a = await run(["--data-dir", dir, "token", "create", "--official", "Dual-1", "--agency", "110101", "--role", "clerk"]);
      const b = await run(["--data-dir", dir, "token", "create", "--official", "DUAL-1", "--name", "王五", "--agency", "110101", "--role", "approver"]);
      expect([a.code, b.code]).to.deep.equal([0, 0]);
      expect(a.err).to.include("clerk for dual-1");
      const store = await LevelStore.open(dir);
      try {
        const tokens = await Promise.all([a, b].map((r) => store.tokenByHash(hashToken(r.out.trim()))));
        expect(tokens.map((t) => [t?.official, t?.name])).to.deep.equal([["dual-1", "Dual-1"], ["dual-1", "王五"]]);
      } finally {
        await store.close();
      }
    });

    it("exits 2 with a message for a role that does not exist, creating nothing", async () => {
      const r = await run(["--data-dir", dir, "token", "create", "--official", "o-1", "--agency", "a", "--role", "banana"]);
      expect(r.code).to.equal(2);
      expect(r.err).to.include("banana");
      expect((await run(["--data-dir", dir, "token", "list"])).out).to.equal("");
    });

    it("exits 2 when --service is given without an admin token", async () => {
      const saved = process.env.LEDGER_ADMIN_TOKEN;
      delete process.env.LEDGER_ADMIN_TOKEN;
      try {
        const r = await run(["--service", "http://127.0.0.1:1", "token", "list"]);
        expect(r.code).to.equal(2);
        expect(r.err).to.include("--token");
      } finally {
        if (saved !== undefined) process.env.LEDGER_ADMIN_TOKEN = saved;
      }
    });
  });

  describe("token list and revoke", () => {
    it("lists tokens without secrets and revokes one by id", async () => {
      const token = (await run(["--data-dir", dir, "token", "create", "--official", "o-2", "--agency", "a", "--role", "payer"])).out.trim();
      const list = await run(["--data-dir", dir, "token", "list"]);
      expect(list.out).to.match(/^tok_[0-9a-f]{16}\tpayer\to-2\ta\t\S+\tactive\n$/);
      expect(list.out).not.to.include(token);
      expect(list.out).not.to.include(hashToken(token));
      const id = list.out.split("\t")[0]!;
      expect((await run(["--data-dir", dir, "token", "revoke", id])).code).to.equal(0);
      expect((await run(["--data-dir", dir, "token", "list"])).out).to.match(/\trevoked \S+\n$/);
    });

    it("exits 1 for an unknown token id", async () => {
      const r = await run(["--data-dir", dir, "token", "revoke", "tok_0000000000000000"]);
      expect(r.code).to.equal(1);
      expect(r.err).to.include("tok_0000000000000000");
    });
  });

  describe("access-code revoke", () => {
    it("prints the application's new code on one line, and the old code is refused from then on", async () => {
      const store = await LevelStore.open(dir);
      let applicationId: string;
      try {
        const ledger = await Ledger.open({ store });
        const prg = await submit(ledger, ACTORS.admin, "programme", programmeRequest());
        applicationId = (await submit(ledger, ACTORS.clerkA, "application", applicationRequest(prg.body.id))).body.id;
        await ledger.close();
      } finally {
        await store.close();
      }
      const r = await run(["--data-dir", dir, "access-code", "revoke", applicationId]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^ac_[A-Za-z0-9_-]{22}\n$/);
      const reopened = await LevelStore.open(dir);
      try {
        const { codes } = await loadOrCreateAccessCodes(path.join(dir, "keys", "access-code.key"), { generations: reopened });
        expect(await codes.verify(r.out.trim(), applicationId)).to.equal("valid");
        expect(await codes.verify(codes.codeFor(applicationId), applicationId)).to.equal("invalid");
      } finally {
        await reopened.close();
      }
    });

    it("exits 1 for an application that does not exist and 2 for something that is not an application id", async () => {
      expect((await run(["--data-dir", dir, "access-code", "revoke", `app_${"0".repeat(24)}`])).code).to.equal(1);
      expect((await run(["--data-dir", dir, "access-code", "revoke", "tok_0000000000000000"])).code).to.equal(2);
    });
  });

  describe("when the service holds the data directory", () => {
    it("exits 1 and says to stop it or use --service", async () => {
      const held = await LevelStore.open(dir);
      try {
        const r = await run(["--data-dir", dir, "token", "list"]);
        expect(r.code).to.equal(1);
        expect(r.err).to.include("--service");
      } finally {
        await held.close();
      }
    });
  });

  describe("on a data directory that others can read", () => {
    it("exits 1 with the service's one line (path, mode, chmod) and opens nothing", async () => {
      const open = path.join(dir, "data");
      await mkdir(open);
      await chmod(open, 0o750);
      const r = await run(["--data-dir", open, "token", "create", "--official", "o-3", "--agency", "a", "--role", "admin"]);
      expect(r.code).to.equal(1);
      expect(r.out).to.equal("");
      expect(r.err).to.equal(`admin: the data directory ${open} is accessible to other users (mode 750); make it private with: chmod -R go-rwx ${open}\n`);
      expect(await readdir(open)).to.deep.equal([]);
    });
  });

  describe("erase", () => {
    const SECRET = "CLI-ERASE-CONTACT-9f1c";
    let ids: { prg: string; app: string };
    beforeEach(async () => {
      ids = await ledgerWithApplication(dir, SECRET);
    });

    it("erases the entry's private values and appends the erasure entry, printing its id alone on stdout", async () => {
      const r = await run(["--data-dir", dir, "erase", ids.app, "--reason", "data-subject-request", "--official", "admin.zhao", "--agency", "110101-FIN"]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^era_[0-9a-f]{24}\n$/);
      const store = await LevelStore.open(dir);
      try {
        expect(await store.openings(ids.app)).to.equal(undefined);
        const head = await store.head();
        expect(head.size).to.equal(3);
        const entry = JSON.parse(new TextDecoder().decode((await store.leaf(2))!.bytes));
        expect(entry).to.deep.include({ id: r.out.trim(), kind: "erasure", refs: [ids.app] });
        expect(entry.actor).to.deep.equal({ official: "admin.zhao", agency: "110101-FIN", role: "admin" });
        expect(entry.body).to.deep.equal({ targetId: ids.app, reasonCode: "data-subject-request", fields: ["bankAccount", "contactPerson", "phone"] });
        expect(((await store.state(`erased:${ids.app}`)) as { id?: string } | undefined)?.id).to.equal(entry.id);
      } finally {
        await store.close();
      }
    });

    it("leaves no copy of the erased values in any file of the data directory", async () => {
      expect((await filesOf(dir)).some((b) => b.includes(SECRET)), "the search finds the value before").to.equal(true);
      expect((await run(["--data-dir", dir, "erase", ids.app, "--reason", "retention-expired", "--official", "admin.zhao", "--agency", "a"])).code).to.equal(0);
      expect((await filesOf(dir)).filter((b) => b.includes(SECRET))).to.have.length(0);
    });

    it("exits 1 and appends nothing when the entry was erased already, has no private values, or does not exist", async () => {
      const args = ["--reason", "data-subject-request", "--official", "admin.zhao", "--agency", "a"];
      expect((await run(["--data-dir", dir, "erase", ids.app, ...args])).code).to.equal(0);
      const again = await run(["--data-dir", dir, "erase", ids.app, ...args]);
      expect(again.code).to.equal(1);
      expect(again.err).to.include("already erased");
      const programme = await run(["--data-dir", dir, "erase", ids.prg, ...args]);
      expect(programme.code).to.equal(1);
      expect(programme.err).to.include("no private values");
      const missing = await run(["--data-dir", dir, "erase", `app_${"0".repeat(24)}`, ...args]);
      expect(missing.code).to.equal(1);
      expect(missing.err).to.include("no entry");
      const store = await LevelStore.open(dir);
      try {
        expect((await store.head()).size).to.equal(3);
      } finally {
        await store.close();
      }
    });

    it("exits 2, appending nothing, for an unknown reason or without the official", async () => {
      const bad = await run(["--data-dir", dir, "erase", ids.app, "--reason", "because", "--official", "o", "--agency", "a"]);
      expect(bad.code).to.equal(2);
      expect(bad.err).to.include("because");
      const anonymous = await run(["--data-dir", dir, "erase", ids.app, "--reason", "retention-expired"]);
      expect(anonymous.code).to.equal(2);
      expect(anonymous.err).to.include("--official");
      const store = await LevelStore.open(dir);
      try {
        expect((await store.head()).size).to.equal(2);
        expect(await store.openings(ids.app)).to.not.equal(undefined);
      } finally {
        await store.close();
      }
    });
  });
});

describe("the admin CLI erase, through a running service", () => {
  it("posts the erasure with the admin token and a fresh Idempotency-Key, printing the erasure id; a second run exits 1", async () => {
    const w = await createWorld();
    await new Promise<void>((resolve) => w.server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = w.server.address() as AddressInfo;
      const app = await record(w, "/v1/applications", "clerk", applicationBody(await record(w, "/v1/programmes", "admin", programmeBody())));
      const args = ["--service", `http://127.0.0.1:${port}`, "--token", w.tokens.admin, "erase", app, "--reason", "consent-withdrawn"];
      const r = await run(args);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^era_[0-9a-f]{24}\n$/);
      expect(await w.store.openings(app)).to.equal(undefined);
      const entry = JSON.parse(new TextDecoder().decode((await w.store.leaf(w.ledger.size - 1))!.bytes));
      expect(entry.actor.official).to.equal(OFFICIALS.admin.official);
      const again = await run(args);
      expect(again.code).to.equal(1);
      expect(again.err).to.include("409");
      const named = await run([...args, "--official", "someone"]);
      expect(named.code).to.equal(2);
    } finally {
      await new Promise<void>((resolve) => w.server.close(() => resolve()));
    }
  });
});
