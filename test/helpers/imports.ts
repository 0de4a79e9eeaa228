/**
 * The import graph of the service's TypeScript, read from the source, for
 * the layering tests: a rule about which folder may import which fails in a
 * test rather than in review.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Every module specifier of a TypeScript file's import and export-from statements, and of its dynamic imports. */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g)) out.push(m[1]!);
  for (const m of source.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) out.push(m[1]!);
  for (const m of source.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) out.push(m[1]!);
  return out;
}

/** The file a relative specifier in `fromFile` names: `x.ts`, `x/index.ts`, or `x` itself (JSON, CSS). */
export function resolveRelative(fromFile: string, specifier: string): string {
  const base = resolve(dirname(fromFile), specifier);
  if (existsSync(`${base}.ts`)) return `${base}.ts`;
  if (existsSync(base) && statSync(base).isDirectory() && existsSync(join(base, "index.ts"))) return join(base, "index.ts");
  return base;
}

/** The files a TypeScript file imports by relative path (type-only imports included), resolved. */
export function relativeImports(file: string): string[] {
  return specifiers(readFileSync(file, "utf8"))
    .filter((s) => s.startsWith("."))
    .map((s) => resolveRelative(file, s));
}

/**
 * Every TypeScript file reachable from `roots` through relative imports,
 * with the file that first reached it (undefined for a root).
 */
export function reachable(roots: readonly string[]): Map<string, string | undefined> {
  const seen = new Map<string, string | undefined>(roots.map((r) => [r, undefined]));
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (!file.endsWith(".ts")) continue;
    for (const next of relativeImports(file))
      if (!seen.has(next)) {
        seen.set(next, file);
        queue.push(next);
      }
  }
  return seen;
}

/** The chain of imports from a root to `file`, for a failure message. */
export function pathTo(graph: Map<string, string | undefined>, file: string, root: string): string {
  const chain: string[] = [];
  for (let f: string | undefined = file; f !== undefined; f = graph.get(f)) chain.unshift(f.slice(root.length + 1));
  return chain.join(" → ");
}
