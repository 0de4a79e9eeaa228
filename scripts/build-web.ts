/**
 * Builds the portal (service/web/) into .cache/web/: ES modules with code
 * splitting (the dashboard and its chart library load only on the dashboard),
 * minified, content-hashed names, and index.html pointing at them.
 *
 * The log core is bundled as it is, except for its one Node module:
 * service/log/crypto-node.ts is replaced by crypto-node.browser.ts, so the
 * bundle never contains node:crypto (and platform "browser" makes any other
 * node: import a build error). In the browser the portal calls the log
 * core's *Async functions, which use WebCrypto.
 *
 *   npm run build:web            (also run by npm start and npm test)
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = path.join(__dirname, "..");
export const WEB_SRC = path.join(ROOT, "service", "web");
export const WEB_OUT = path.join(ROOT, ".cache", "web");

/** Swaps the log core's node:crypto boundary module for its browser twin. */
const browserCrypto: Plugin = {
  name: "log-core-browser-crypto",
  setup(b) {
    b.onResolve({ filter: /(^|\/)crypto-node$/ }, (args) => {
      const target = path.join(args.resolveDir, "crypto-node.browser.ts");
      if (!target.startsWith(path.join(ROOT, "service", "log"))) return undefined;
      return { path: target };
    });
  },
};

export async function buildWeb(outDir = WEB_OUT): Promise<{ files: string[] }> {
  await fs.rm(outDir, { recursive: true, force: true });
  const assets = path.join(outDir, "assets");
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: path.join(WEB_SRC, "main.ts"), styles: path.join(WEB_SRC, "styles.css") },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: false,
    legalComments: "none",
    outdir: assets,
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    metafile: true,
    logLevel: "warning",
    plugins: [browserCrypto],
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(assets, path.join(ROOT, p)));
  const main = outputs.find((f) => /^main-[A-Z0-9]+\.js$/.test(f));
  const styles = outputs.find((f) => /^styles-[A-Z0-9]+\.css$/.test(f));
  if (main === undefined || styles === undefined) throw new Error(`build-web: no main script or stylesheet among ${outputs.join(", ")}`);
  for (const [file, out] of Object.entries(result.metafile.outputs))
    for (const imp of out.imports) if (imp.path.startsWith("node:")) throw new Error(`build-web: ${file} imports ${imp.path}`);
  const html = (await fs.readFile(path.join(WEB_SRC, "index.html"), "utf8")).replace("/assets/MAIN", `/assets/${main}`).replace("/assets/STYLES", `/assets/${styles}`);
  await fs.writeFile(path.join(outDir, "index.html"), html);
  return { files: ["index.html", ...outputs.map((f) => `assets/${f}`)] };
}

if (require.main === module) {
  buildWeb().then(
    ({ files }) => process.stdout.write(`portal built in ${path.relative(ROOT, WEB_OUT)}: ${files.length} files\n`),
    (e: unknown) => {
      process.stderr.write(`build-web: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
