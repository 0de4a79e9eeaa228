/**
 * Witness policies in the C2SP tlog-policy text format (c2sp.org/tlog-policy),
 * the one Tessera reads:
 *
 * ```
 * log <vkey> [<url>]
 * witness <name> <cosigner vkey> [<submission prefix URL>]
 * group <name> all|any|<k> <member>...
 * quorum <name>|none
 * ```
 *
 * Items are separated by spaces and tabs; blank lines and lines starting
 * with `#` are ignored. A group or the quorum may only name witnesses and
 * groups defined on earlier lines (so no cycles); witnesses and groups share
 * one namespace, `none` is reserved; each member appears at most once in a
 * group; `1 ≤ k ≤ n`; no two logs or witnesses share a public key; exactly one
 * quorum line. The spec treats names as opaque octets; we require UTF-8 text,
 * which compares the same way.
 *
 * Pure: parsing throws {@link WitnessPolicyError} with a code and the line
 * number, never a stray error. Witness keys are cosignature/v1 vkeys (type
 * 0x04, ../log/cosignature.ts), log keys signed-note Ed25519 vkeys (0x01).
 * {@link parseWitnessPolicy} checks key IDs with node:crypto,
 * {@link parseWitnessPolicyAsync} with WebCrypto, for the browser.
 */
import {
  CheckpointError,
  CodedError,
  parseCosignerKey,
  parseCosignerKeyAsync,
  parseVerifierKey,
  parseVerifierKeyAsync,
  verifyCosignatures,
  verifyCosignaturesAsync,
  type CosignerVerifier,
  type NoteVerifier,
  type VerifiedCosignature,
  type WebCosignerVerifier,
  type WebNoteVerifier,
} from "../log";

export type WitnessPolicyErrorCode =
  | "CHARSET_INVALID"
  | "TOO_LARGE"
  | "LINE_INVALID"
  | "KEYWORD_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_DUPLICATE"
  | "NAME_UNDEFINED"
  | "MEMBER_DUPLICATE"
  | "THRESHOLD_INVALID"
  | "KEY_INVALID"
  | "KEY_DUPLICATE"
  | "URL_INVALID"
  | "QUORUM_MISSING"
  | "QUORUM_DUPLICATE";

/** A policy file was refused. `line` is 1-based, absent for whole-file problems. */
export class WitnessPolicyError extends CodedError<WitnessPolicyErrorCode> {
  override readonly name = "WitnessPolicyError";
  constructor(
    code: WitnessPolicyErrorCode,
    message: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(code, line === undefined ? message : `line ${line}: ${message}`, options);
  }
}

/** The name a quorum uses to require no cosignature at all. */
export const QUORUM_NONE = "none";

/** Largest policy file parsed, in bytes. */
export const MAX_POLICY_SIZE = 64 * 1024;
/** Most logs, witnesses or groups in one policy; the spec asks implementations to support at least 32. */
export const MAX_POLICY_ITEMS = 256;

export interface PolicyLog<L> {
  readonly vkey: string;
  readonly url?: string;
  readonly verifier: L;
}

export interface PolicyWitness<C> {
  readonly name: string;
  readonly vkey: string;
  /** The witness's submission prefix: add-checkpoint is at `<url>/add-checkpoint`. */
  readonly url?: string;
  readonly cosigner: C;
}

export interface PolicyGroup {
  readonly name: string;
  /** How many members must have witnessed: 1 ≤ threshold ≤ members.length. */
  readonly threshold: number;
  readonly members: readonly string[];
}

/** A parsed policy; `quorum` is a witness or group name, or {@link QUORUM_NONE}. */
export interface WitnessPolicy<C = CosignerVerifier, L = NoteVerifier> {
  readonly logs: readonly PolicyLog<L>[];
  readonly witnesses: readonly PolicyWitness<C>[];
  readonly groups: readonly PolicyGroup[];
  readonly quorum: string;
}

export type WebWitnessPolicy = WitnessPolicy<WebCosignerVerifier, WebNoteVerifier>;

interface RawPolicy {
  logs: { vkey: string; url?: string; line: number }[];
  witnesses: { name: string; vkey: string; url?: string; line: number }[];
  groups: PolicyGroup[];
  quorum: string;
}

/** Control characters other than tab and newline, and DEL: the spec's forbidden octets. */
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B-\u001F\u007F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DECIMAL_K = /^[1-9][0-9]*$/;
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function fail(code: WitnessPolicyErrorCode, message: string, line?: number): never {
  throw new WitnessPolicyError(code, message, line);
}

function policyText(input: unknown): string {
  if (input instanceof Uint8Array) {
    if (input.length > MAX_POLICY_SIZE) fail("TOO_LARGE", `policy exceeds ${MAX_POLICY_SIZE} bytes`);
    try {
      return utf8Strict.decode(input);
    } catch {
      fail("CHARSET_INVALID", "policy is not valid UTF-8");
    }
  }
  if (typeof input !== "string") fail("LINE_INVALID", "policy must be text");
  if (input.length > MAX_POLICY_SIZE || new TextEncoder().encode(input).length > MAX_POLICY_SIZE) fail("TOO_LARGE", `policy exceeds ${MAX_POLICY_SIZE} bytes`);
  if (LONE_SURROGATE.test(input)) fail("CHARSET_INVALID", "policy is not valid Unicode");
  return input;
}

function checkUrl(url: string | undefined, line: number): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail("URL_INVALID", `not a URL: ${JSON.stringify(url)}`, line);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") fail("URL_INVALID", `URL must be http or https: ${JSON.stringify(url)}`, line);
  return url;
}

/** The structure of a policy, keys not yet checked cryptographically. */
function parseStructure(input: unknown): RawPolicy {
  const text = policyText(input);
  const raw: RawPolicy = { logs: [], witnesses: [], groups: [], quorum: "" };
  const names = new Set<string>();
  const lines = text.split("\n");
  let quorumLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!;
    const bad = FORBIDDEN_CHAR.exec(line);
    if (bad !== null)
      fail("CHARSET_INVALID", `control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()} (only tab and newline are allowed${bad[0] === "\r" ? "; save the file with LF line endings" : ""})`, n);
    const trimmed = line.replace(/^[ \t]+|[ \t]+$/g, "");
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [keyword, ...args] = trimmed.split(/[ \t]+/);
    switch (keyword) {
      case "log": {
        if (args.length < 1 || args.length > 2) fail("LINE_INVALID", "want: log <vkey> [<url>]", n);
        if (raw.logs.length >= MAX_POLICY_ITEMS) fail("TOO_LARGE", `more than ${MAX_POLICY_ITEMS} logs`, n);
        raw.logs.push({ vkey: args[0]!, url: checkUrl(args[1], n), line: n });
        break;
      }
      case "witness": {
        if (args.length < 2 || args.length > 3) fail("LINE_INVALID", "want: witness <name> <vkey> [<url>]", n);
        const name = args[0]!;
        defineName(names, name, n);
        if (raw.witnesses.length >= MAX_POLICY_ITEMS) fail("TOO_LARGE", `more than ${MAX_POLICY_ITEMS} witnesses`, n);
        raw.witnesses.push({ name, vkey: args[1]!, url: checkUrl(args[2], n), line: n });
        break;
      }
      case "group": {
        if (args.length < 3) fail("LINE_INVALID", "want: group <name> all|any|<k> <member>...", n);
        const [name, k, ...members] = args as [string, string, ...string[]];
        const seen = new Set<string>();
        for (const m of members) {
          if (m === QUORUM_NONE) fail("NAME_INVALID", `"${QUORUM_NONE}" cannot be a group member`, n);
          if (!names.has(m)) fail("NAME_UNDEFINED", `member ${JSON.stringify(m)} is not defined on an earlier line`, n);
          if (seen.has(m)) fail("MEMBER_DUPLICATE", `member ${JSON.stringify(m)} is listed twice`, n);
          seen.add(m);
        }
        let threshold: number;
        if (k === "all") threshold = members.length;
        else if (k === "any") threshold = 1;
        else if (DECIMAL_K.test(k) && Number(k) <= members.length) threshold = Number(k);
        else fail("THRESHOLD_INVALID", `threshold ${JSON.stringify(k)} must be all, any or a decimal k with 1 <= k <= ${members.length}`, n);
        defineName(names, name, n);
        if (raw.groups.length >= MAX_POLICY_ITEMS) fail("TOO_LARGE", `more than ${MAX_POLICY_ITEMS} groups`, n);
        raw.groups.push({ name, threshold, members });
        break;
      }
      case "quorum": {
        if (args.length !== 1) fail("LINE_INVALID", "want: quorum <name>", n);
        if (quorumLine !== undefined) fail("QUORUM_DUPLICATE", `a second quorum line (the first is line ${quorumLine})`, n);
        const name = args[0]!;
        if (name !== QUORUM_NONE && !names.has(name)) fail("NAME_UNDEFINED", `quorum ${JSON.stringify(name)} is not defined on an earlier line`, n);
        raw.quorum = name;
        quorumLine = n;
        break;
      }
      default:
        fail("KEYWORD_UNKNOWN", `unknown keyword ${JSON.stringify(keyword)} (want log, witness, group or quorum)`, n);
    }
  }
  if (quorumLine === undefined) fail("QUORUM_MISSING", `the policy has no quorum line (write "quorum ${QUORUM_NONE}" to require no cosignatures)`);
  return raw;
}

function defineName(names: Set<string>, name: string, line: number): void {
  if (name === QUORUM_NONE) fail("NAME_INVALID", `"${QUORUM_NONE}" is reserved`, line);
  if (names.has(name)) fail("NAME_DUPLICATE", `${JSON.stringify(name)} is already defined`, line);
  names.add(name);
}

function keyError(cause: unknown, what: string, line: number): never {
  if (cause instanceof CheckpointError) throw new WitnessPolicyError("KEY_INVALID", `${what}: ${cause.message}`, line, { cause });
  throw cause;
}

function hexOf(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function assemble<C extends { publicKey: Uint8Array }, L extends { publicKey: Uint8Array }>(
  raw: RawPolicy,
  logs: readonly L[],
  cosigners: readonly C[],
): WitnessPolicy<C, L> {
  // Duplicates are by public key, whatever the name or key ID (the spec's rule).
  const seenLog = new Map<string, number>();
  raw.logs.forEach((l, i) => {
    const k = hexOf(logs[i]!.publicKey);
    const prior = seenLog.get(k);
    if (prior !== undefined) fail("KEY_DUPLICATE", `log key repeats the key of line ${prior}`, l.line);
    seenLog.set(k, l.line);
  });
  const seenWitness = new Map<string, number>();
  raw.witnesses.forEach((w, i) => {
    const k = hexOf(cosigners[i]!.publicKey);
    const prior = seenWitness.get(k);
    if (prior !== undefined) fail("KEY_DUPLICATE", `witness ${JSON.stringify(w.name)} has the key of line ${prior}`, w.line);
    seenWitness.set(k, w.line);
  });
  return Object.freeze({
    logs: raw.logs.map((l, i) => Object.freeze({ vkey: l.vkey, ...(l.url === undefined ? {} : { url: l.url }), verifier: logs[i]! })),
    witnesses: raw.witnesses.map((w, i) => Object.freeze({ name: w.name, vkey: w.vkey, ...(w.url === undefined ? {} : { url: w.url }), cosigner: cosigners[i]! })),
    groups: raw.groups.map((g) => Object.freeze({ ...g, members: Object.freeze([...g.members]) })),
    quorum: raw.quorum,
  });
}

/** Parses a policy file (text or UTF-8 bytes), checking every key with node:crypto. Throws WitnessPolicyError. */
export function parseWitnessPolicy(input: string | Uint8Array): WitnessPolicy {
  const raw = parseStructure(input);
  const logs = raw.logs.map((l) => {
    try {
      return parseVerifierKey(l.vkey);
    } catch (e) {
      return keyError(e, "log key", l.line);
    }
  });
  const cosigners = raw.witnesses.map((w) => {
    try {
      return parseCosignerKey(w.vkey);
    } catch (e) {
      return keyError(e, `witness ${JSON.stringify(w.name)} key (a cosignature/v1 vkey, type 0x04)`, w.line);
    }
  });
  return assemble(raw, logs, cosigners);
}

/** {@link parseWitnessPolicy} with WebCrypto keys, for the browser. Rejects with the same WitnessPolicyError. */
export async function parseWitnessPolicyAsync(input: string | Uint8Array): Promise<WebWitnessPolicy> {
  const raw = parseStructure(input);
  const logs: WebNoteVerifier[] = [];
  for (const l of raw.logs) {
    try {
      logs.push(await parseVerifierKeyAsync(l.vkey));
    } catch (e) {
      keyError(e, "log key", l.line);
    }
  }
  const cosigners: WebCosignerVerifier[] = [];
  for (const w of raw.witnesses) {
    try {
      cosigners.push(await parseCosignerKeyAsync(w.vkey));
    } catch (e) {
      keyError(e, `witness ${JSON.stringify(w.name)} key (a cosignature/v1 vkey, type 0x04)`, w.line);
    }
  }
  return assemble(raw, logs, cosigners);
}

/**
 * Whether the witnesses named in `vouched` (witness names of the policy)
 * satisfy its quorum: a witness is satisfied if it is in `vouched`, a group if
 * at least `threshold` of its members are. `none` is always satisfied.
 * Names in `vouched` that the policy does not define count for nothing.
 */
export function quorumSatisfied(policy: WitnessPolicy<unknown, unknown>, vouched: ReadonlySet<string>): boolean {
  if (policy.quorum === QUORUM_NONE) return true;
  const witnesses = new Set(policy.witnesses.map((w) => w.name));
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const memo = new Map<string, boolean>();
  const satisfied = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    let result = false;
    if (witnesses.has(name)) result = vouched.has(name);
    else {
      const g = groups.get(name);
      // Groups only name earlier definitions, so this recursion ends.
      if (g !== undefined) result = g.members.filter(satisfied).length >= g.threshold;
    }
    memo.set(name, result);
    return result;
  };
  return satisfied(policy.quorum);
}

/**
 * The quorum spelled out in witness names, for banners and health: "2 of w1, w2, w3" for a group named
 * two-of-three, nested groups in parentheses, "none" for {@link QUORUM_NONE}. Group names are the operator's
 * labels and may say anything; this says what the policy actually requires.
 */
export function describeQuorum(policy: WitnessPolicy<unknown, unknown>): string {
  if (policy.quorum === QUORUM_NONE) return QUORUM_NONE;
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const spell = (name: string, nested: boolean): string => {
    const g = groups.get(name);
    if (g === undefined) return name;
    const count = g.threshold === g.members.length && g.members.length > 1 ? "all" : String(g.threshold);
    const text = `${count} of ${g.members.map((m) => spell(m, true)).join(", ")}`;
    return nested ? `(${text})` : text;
  };
  return spell(policy.quorum, false);
}

/** The policy witnesses, by name, whose cosigner key made one of `cosignatures`. */
export function vouchingWitnesses(
  policy: WitnessPolicy<{ name: string; keyId: number }, unknown>,
  cosignatures: readonly Pick<VerifiedCosignature, "name" | "keyId">[],
): Set<string> {
  const made = new Set(cosignatures.map((c) => `${c.name}\n${c.keyId}`));
  return new Set(policy.witnesses.filter((w) => made.has(`${w.cosigner.name}\n${w.cosigner.keyId}`)).map((w) => w.name));
}

/** What a cosigned checkpoint shows against a policy. */
export interface PolicyCheck {
  /** Policy witness names whose cosignature verified, in policy order. */
  readonly vouched: readonly string[];
  readonly cosignatures: readonly VerifiedCosignature[];
  readonly satisfied: boolean;
}

function checkResult(policy: WitnessPolicy<{ name: string; keyId: number }, unknown>, cosignatures: readonly VerifiedCosignature[]): PolicyCheck {
  const vouched = vouchingWitnesses(policy, cosignatures);
  return {
    vouched: policy.witnesses.map((w) => w.name).filter((n) => vouched.has(n)),
    cosignatures,
    satisfied: quorumSatisfied(policy, vouched),
  };
}

/**
 * Checks the witness cosignatures on a signed checkpoint against a policy.
 * Does not check the log's signature (use verifyCheckpoint). Throws
 * CheckpointError if a policy witness's cosignature is present but invalid;
 * otherwise reports who vouched and whether the quorum is met.
 */
export function checkCosignedCheckpoint(signedNote: string | Uint8Array, policy: WitnessPolicy, options: { notAfter?: number } = {}): PolicyCheck {
  return checkResult(policy, verifyCosignatures(signedNote, policy.witnesses.map((w) => w.cosigner), options).cosignatures);
}

/** {@link checkCosignedCheckpoint} with WebCrypto. */
export async function checkCosignedCheckpointAsync(signedNote: string | Uint8Array, policy: WebWitnessPolicy, options: { notAfter?: number } = {}): Promise<PolicyCheck> {
  return checkResult(policy, (await verifyCosignaturesAsync(signedNote, policy.witnesses.map((w) => w.cosigner), options)).cosignatures);
}
