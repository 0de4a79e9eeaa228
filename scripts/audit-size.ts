/**
 * The size of the auditor's default path: `npm run audit:size`.
 *
 * The default path is every module under scripts/ that `scripts/verify.ts`
 * loads statically, following relative imports, re-exports and `require`
 * calls, plus the leaf worker's entry module (a worker thread runs it by
 * path, not by import). `import type` and modules loaded with `await
 * import()` are not on it: those are the optional modes, listed apart.
 * service/log and service/format are the shared pure core and are not
 * counted; any other import from service/ is a violation.
 *
 * A line counts as code when a token that is not a comment starts or runs
 * through it (so a multi-line string counts, a comment line does not).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
export const ENTRY = "scripts/verify.ts";
/** Run by path in worker threads (LeafReaders), so on the default path without an import. */
export const WORKER_ENTRIES = ["scripts/lib/audit/leaf-worker.ts"];
/** What the auditor may import from the service: the pure core. */
export const ALLOWED_SERVICE = ["service/log", "service/format"];
/** The ceiling on the default path, in lines of code (not blank, not only a comment); issue 12's goal is 1,500. Lower it as the path shrinks. */
export const BUDGET_LINES = 1499;
/** Issue 12's goal for the default path. */
export const GOAL_LINES = 1500;

export interface FileSize {
  /** Relative to the repository, with forward slashes. */
  readonly file: string;
  readonly lines: number;
  /** Lines holding code: not blank, not only a comment. */
  readonly code: number;
}

export interface PathSize {
  readonly files: readonly FileSize[];
  readonly lines: number;
  readonly code: number;
  /** Modules of scripts/ loaded with `await import()` from the default path and not on it. */
  readonly optional: readonly string[];
  /** Imports into service/ from the default path (repository-relative, without extension). */
  readonly service: readonly string[];
  /** Package imports (node: built-ins and npm packages) from the default path. */
  readonly packages: readonly string[];
}

const rel = (abs: string): string => path.relative(ROOT, abs).split(path.sep).join("/");

function resolve(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const f of [base, `${base}.ts`, path.join(base, "index.ts")]) {
    try {
      readFileSync(f);
      return f;
    } catch {
      // try the next form
    }
  }
  throw new Error(`${rel(from)}: cannot resolve ${spec}`);
}

/** Counts a file's physical lines and its lines holding code. */
export function measure(source: string, file = "x.ts"): { lines: number; code: number } {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const codeLines = new Set<number>();
  const visit = (node: ts.Node): void => {
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    const children = node.getChildren(sf);
    if (children.length === 0) {
      if (node.kind === ts.SyntaxKind.EndOfFileToken) return;
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      for (let l = first; l <= last; l++) codeLines.add(l);
      return;
    }
    for (const c of children) visit(c);
  };
  visit(sf);
  const lines = source.length === 0 ? 0 : source.split("\n").length - (source.endsWith("\n") ? 1 : 0);
  return { lines, code: codeLines.size };
}

/** The module specifiers a file loads: statically (imports, re-exports, require) and on demand (import()). */
export function specifiers(source: string, file = "x.ts"): { static: string[]; dynamic: string[] } {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const out = { static: [] as string[], dynamic: [] as string[] };
  const typeOnly = (clause: ts.ImportClause | undefined): boolean => {
    if (clause === undefined) return false; // import "x": for its effects
    if (clause.isTypeOnly) return true;
    const named = clause.namedBindings;
    return clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!typeOnly(node.importClause)) out.static.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause;
      const allTypes = node.isTypeOnly || (named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
      if (!allTypes) out.static.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && !node.isTypeOnly) {
      const e = node.moduleReference.expression;
      if (ts.isStringLiteral(e)) out.static.push(e.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const spec = (node.arguments[0] as ts.StringLiteral).text;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) out.dynamic.push(spec);
      else if (ts.isIdentifier(node.expression) && node.expression.text === "require") out.static.push(spec);
    } else if (ts.isImportTypeNode(node)) return; // typeof import("x"): a type
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The default path's files, from ENTRY and WORKER_ENTRIES, with their sizes. */
export function defaultPathSize(): PathSize {
  const seen = new Set<string>();
  const optional = new Set<string>();
  const service = new Set<string>();
  const packages = new Set<string>();
  const queue = [ENTRY, ...WORKER_ENTRIES].map((f) => path.join(ROOT, f));
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const { static: deps, dynamic } = specifiers(readFileSync(file, "utf8"), file);
    for (const spec of deps) {
      if (!spec.startsWith(".")) {
        packages.add(spec);
        continue;
      }
      const target = resolve(file, spec);
      const r = rel(target);
      if (r.startsWith("scripts/")) queue.push(target);
      else if (r.startsWith("service/")) service.add(r.replace(/(\/index)?\.ts$/, ""));
      else throw new Error(`${rel(file)} imports ${spec}, outside scripts/ and service/`);
    }
    for (const spec of dynamic) if (spec.startsWith(".")) optional.add(rel(resolve(file, spec)));
  }
  const files = [...seen].map((f) => ({ file: rel(f), ...measure(readFileSync(f, "utf8"), f) })).sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
  return {
    files,
    lines: files.reduce((s, f) => s + f.lines, 0),
    code: files.reduce((s, f) => s + f.code, 0),
    optional: [...optional].filter((f) => !files.some((x) => x.file === f)).sort(),
    service: [...service].sort(),
    packages: [...packages].sort(),
  };
}

/** Whether a service/ module is part of the pure core the auditor may import. */
export function allowedServiceImport(module: string): boolean {
  return ALLOWED_SERVICE.some((m) => module === m || module.startsWith(`${m}/`));
}

if (require.main === module) {
  const s = defaultPathSize();
  const w = Math.max(...s.files.map((f) => f.file.length), 10);
  const row = (a: string, b: string | number, c: string | number) => `${a.padEnd(w)}  ${String(b).padStart(6)}  ${String(c).padStart(6)}`;
  const out = [`The auditor's default path, from ${ENTRY} (export file source) to the printed report`, "", row("file", "lines", "code"), ...s.files.map((f) => row(f.file, f.lines, f.code))];
  out.push(row("total", s.lines, s.code), "", `lines of code: ${s.code}; ceiling ${BUDGET_LINES} (${s.code <= BUDGET_LINES ? "within it" : "OVER IT"}), goal ${GOAL_LINES}`);
  out.push(`loaded only when used (await import): ${s.optional.join(", ") || "none"}`);
  out.push(`imports from service/: ${s.service.join(", ") || "none"}`, `packages: ${s.packages.join(", ")}`);
  process.stdout.write(`${out.join("\n")}\n`);
  if (s.service.some((m) => !allowedServiceImport(m)) || s.code >= BUDGET_LINES) process.exitCode = 1;
}
