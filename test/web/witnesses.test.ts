/**
 * The portal with witnesses: a service with three real witnesses on loopback
 * (quorum two of three) and the local anvil. The page reads the keys it trusts
 * from /portal/trust, checks the checkpoint's cosignatures against that
 * policy, names the witnesses that vouched, and refuses a receipt whose
 * cosignatures were stripped.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import type { Browser, Page } from "playwright-core";
import { buildWeb } from "../../scripts/build-web";
import { loadChainConfig } from "../../service/chain";
import { loadConfig } from "../../service/config";
import { noteKeyFromSeed, parseSignerKey, parseVerifierKey } from "../../service/log";
import { loadOrCreateLogKey } from "../../service/keys";
import { startService, type RunningService } from "../../service/main";
import { startWitness, type RunningWitness } from "../../service/witness/server";
import { recordProgramme, until } from "../helpers/service-http";
import { launchChromium } from "../../scripts/lib/portal-world";

const silent = pino({ level: "silent" });
const ORIGIN = "portal.example.gov/log";

describe("the portal with a witness policy of three witnesses, quorum two", function () {
  this.timeout(180_000);
  let dir: string;
  let service: RunningService | undefined;
  const witnesses: RunningWitness[] = [];
  let browser: Browser;
  let page: Page;
  let entryId: string;

  before(async function () {
    await buildWeb();
    dir = await mkdtemp(path.join(tmpdir(), "ledger-portal-witnessed-"));
    const logKeyFile = path.join(dir, "log.key");
    const logKey = await loadOrCreateLogKey(logKeyFile, ORIGIN);
    for (const i of [1, 2, 3])
      witnesses.push(
        await startWitness({
          signer: parseSignerKey(noteKeyFromSeed(`w${i}.example.org`, new Uint8Array(32).fill(60 + i)).signerKey),
          logs: new Map([[ORIGIN, [parseVerifierKey(logKey.verifierKey)]]]),
          stateDir: await mkdtemp(path.join(dir, `witness-${i}-`)),
          host: "127.0.0.1",
          port: 0,
          logger: silent,
        }),
      );
    const policyFile = path.join(dir, "witnesses.policy");
    await writeFile(
      policyFile,
      witnesses.map((w, i) => `witness w${i + 1} ${w.witness.cosignerKey} http://127.0.0.1:${w.port}\n`).join("") + "group two-of-three 2 w1 w2 w3\nquorum two-of-three\n",
    );
    const env = {
      PORT: "0",
      LEDGER_DATA_DIR: path.join(dir, "data"),
      LOG_LEVEL: "silent",
      LEDGER_ORIGIN: ORIGIN,
      LEDGER_LOG_KEY_FILE: logKeyFile,
      LEDGER_ANCHOR_EVERY_MS: "200",
      LEDGER_WITNESS_POLICY_FILE: policyFile,
    };
    const config = loadConfig(env);
    service = await startService(config, silent, {
      chain: loadChainConfig(env, config.dataDir),
      witnessing: { everyMs: 100, backoffMinMs: 100, backoffMaxMs: 500, timeoutMs: 3000 },
    });
    const res = await recordProgramme(service.url, service.firstAdminToken!, "WITNESSED-1");
    expect(res.status).to.equal(201);
    entryId = ((await res.json()) as { id: string }).id;
    // Published once the quorum cosigned.
    await until("size 1 cosigned by a quorum", async () => {
      const r = await fetch(`${service!.url}/tlog/checkpoint`);
      if (r.status !== 200) return undefined;
      const note = await r.text();
      return note.split("\n").filter((l) => /^— w\d\.example\.org /.test(l)).length >= 2 ? note : undefined;
    });
    browser = await launchChromium();
  });

  after(async function () {
    await browser?.close();
    await service?.close();
    await Promise.all(witnesses.map((w) => w.close().catch(() => undefined)));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeEach(async function () {
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  });

  afterEach(async function () {
    await page.close();
  });

  async function open(hash: string): Promise<void> {
    await page.goto(`${service!.url}/${hash}`);
    await page.waitForSelector('body[data-ready="1"]');
  }

  describe("an entry page", function () {
    it("checks the checkpoint's cosignatures against the pinned policy and names the witnesses that vouched", async function () {
      const receipt = (await (await fetch(`${service!.url}/v1/entries/${entryId}/receipt`)).json()) as { checkpoint: string };
      const cosigned = new Set(receipt.checkpoint.split("\n").flatMap((l) => /^— (w\d)\.example\.org /.exec(l)?.[1] ?? []));
      expect(cosigned.size).to.be.at.least(2);
      await open(`#/entry/${entryId}`);
      const panel = page.locator("#verify");
      expect(await panel.getAttribute("data-verify-state")).to.equal("verified");
      expect(await panel.locator('[data-step="witnesses"]').getAttribute("class")).to.include("ok");
      for (const w of ["w1", "w2", "w3"]) expect(await panel.locator(`#trust [data-witness="${w}"]`).getAttribute("data-vouched"), w).to.equal(String(cosigned.has(w)));
      const trust = await panel.locator("#trust").textContent();
      expect(trust).to.include("two-of-three");
      expect(trust).to.include(witnesses[0]!.witness.cosignerKey);
      expect(trust).to.include(service!.verifierKey); // the pinned log key, shown
    });
  });

  describe("the dashboard", function () {
    it("shows the published checkpoint, its signature checked under the pinned key and its quorum met", async function () {
      await open("#/dashboard");
      await page.waitForSelector("#published [data-quorum]");
      expect(await page.locator("#published [data-signature]").getAttribute("data-signature")).to.equal("true");
      expect(await page.locator("#published [data-quorum]").getAttribute("data-quorum")).to.equal("true");
      expect(await page.locator("#published").innerText()).to.include("满足法定人数 two-of-three");
    });
  });

  describe("a receipt whose cosignatures were stripped", function () {
    it("fails the witness step, saying the quorum is not met", async function () {
      const receipt = (await (await fetch(`${service!.url}/v1/entries/${entryId}/receipt`)).json()) as { checkpoint: string };
      const stripped = { ...receipt, checkpoint: receipt.checkpoint.split("\n").filter((l) => !/^— w\d\.example\.org /.test(l)).join("\n") };
      expect(stripped.checkpoint).to.not.equal(receipt.checkpoint);
      await open("#/receipt");
      await page.locator("#receipt-text").fill(JSON.stringify(stripped));
      await page.getByRole("button", { name: "核验", exact: true }).click();
      await page.waitForSelector('#receipt-result[data-verify-state="failed"]');
      expect(await page.locator('#receipt-result [data-step="witnesses"]').getAttribute("class")).to.include("fail");
      expect(await page.locator('#receipt-result [data-step="signature"]').getAttribute("class")).to.include("ok"); // the log's own signature still holds
      expect(await page.locator("#receipt-result .alert.fail").first().innerText()).to.include("法定人数");
    });
  });
});
