/**
 * Chinese text must be drawn with real glyphs. A browser without a CJK font
 * draws every Chinese character as the same blank box (the font's .notdef
 * glyph) and every other test still passes, so this test draws the portal's
 * own title, in the portal's own font, onto a canvas and compares it with a
 * string of characters no font has (Plane 16 private use): with a CJK font
 * the two differ and each character differs from the next; with none, they
 * are pixel for pixel the same boxes.
 *
 * The check is tried both ways: in the Chromium the other tests use (it must
 * pass), and in one started with a fontconfig that has no CJK font (it must
 * report boxes), so the test is known to be able to fail.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import express from "express";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildWeb } from "../../scripts/build-web";
import { portalRouter } from "../../service/http/portal";
import { CHROMIUM, CHROMIUM_ARGS, launchChromium } from "../../scripts/lib/portal-world";

interface Drawn {
  readonly text: string;
  /** Pixels whose coverage differs between the text and as many missing-glyph characters. */
  readonly differsFromMissing: number;
  /** Distinct drawings among the text's characters, each drawn alone. */
  readonly distinctGlyphs: number;
  readonly inked: number;
}

/** Draws the element's text in its computed font and compares it with glyphs no font has. */
function drawText(page: Page, selector: string): Promise<Drawn> {
  return page.evaluate((sel) => {
    const el = document.querySelector<HTMLElement>(sel);
    if (el === null) throw new Error(`no ${sel}`);
    const text = (el.textContent ?? "").trim();
    const font = getComputedStyle(el).font;
    const draw = (s: string): Uint8ClampedArray => {
      const c = document.createElement("canvas");
      c.width = 600;
      c.height = 60;
      const ctx = c.getContext("2d")!;
      ctx.font = font;
      ctx.fillStyle = "#000";
      ctx.textBaseline = "top";
      ctx.fillText(s, 4, 4);
      return ctx.getImageData(0, 0, c.width, c.height).data;
    };
    const chars = Array.from(text);
    const shown = draw(text);
    const missing = draw("\u{10FFFD}".repeat(chars.length));
    let differsFromMissing = 0;
    let inked = 0;
    for (let i = 3; i < shown.length; i += 4) {
      if (shown[i] !== missing[i]) differsFromMissing++;
      if (shown[i]! > 0) inked++;
    }
    const glyphs = new Set(chars.map((ch) => Array.from(draw(ch).filter((_, i) => i % 4 === 3)).join(",")));
    return { text, differsFromMissing, distinctGlyphs: glyphs.size, inked };
  }, selector);
}

describe("Chinese text in the portal", function () {
  this.timeout(120_000);
  let server: Server;
  let url: string;
  let fontconfigDir: string;

  before(async function () {
    await buildWeb();
    const app = express();
    app.use(portalRouter());
    server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    // A fontconfig with Latin fonts only: the negative control.
    fontconfigDir = await mkdtemp(path.join(tmpdir(), "ledger-fonts-"));
    await writeFile(
      path.join(fontconfigDir, "fonts.conf"),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>/usr/share/fonts/truetype/dejavu</dir>\n  <cachedir>${fontconfigDir}/cache</cachedir>\n</fontconfig>\n`,
    );
  });

  after(async function () {
    await new Promise((resolve) => server?.close(resolve));
    await rm(fontconfigDir, { recursive: true, force: true });
  });

  async function titleIn(browser: Browser): Promise<Drawn> {
    const page = await browser.newPage();
    try {
      await page.goto(`${url}/`);
      await page.waitForSelector("header .brand");
      return await drawText(page, "header .brand");
    } finally {
      await page.close();
    }
  }

  describe("in the Chromium the browser tests use", function () {
    it("is drawn with real glyphs, not blank boxes", async function () {
      const browser = await launchChromium();
      try {
        const drawn = await titleIn(browser);
        expect(drawn.text).to.equal("惠企补贴公开账本");
        expect(drawn.inked, "something is drawn").to.be.greaterThan(0);
        expect(drawn.differsFromMissing, "the title differs from missing-glyph boxes (is a CJK font installed? fonts-noto-cjk)").to.be.greaterThan(100);
        expect(drawn.distinctGlyphs, "each character has its own glyph").to.equal(Array.from(new Set(Array.from(drawn.text))).length);
      } finally {
        await browser.close();
      }
    });
  });

  describe("in a Chromium that has no CJK font", function () {
    it("is found to be drawn as boxes, so the check above can fail", async function () {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, env: { ...process.env, FONTCONFIG_FILE: path.join(fontconfigDir, "fonts.conf") } });
      try {
        const drawn = await titleIn(browser);
        expect(drawn.text).to.equal("惠企补贴公开账本");
        expect(drawn.differsFromMissing, "the same boxes as missing glyphs").to.be.at.most(100);
        expect(drawn.distinctGlyphs, "every character the same box").to.equal(1);
      } finally {
        await browser.close();
      }
    });
  });
});
