/**
 * An entry proven well-formed from its leaf's bytes and token tape alone,
 * and built from what that proof found, without strings until the end.
 *
 * Why: the main thread bounded the audit's throughput, and almost half of
 * its time went to reading entries: looking fields up on the tape, regular
 * expressions for ids, amounts, commitments and timestamps, decimal strings
 * to bigints. None of that needs the replay's state, only the leaf; this
 * checks the same formats on the bytes (no string made) and writes what it
 * found into typed arrays ({@link EntryFacts}), about a third of the
 * reader's cost. The leaf worker proves the first leaves of each batch,
 * after its scan, and the arrays are transferred with its other results;
 * the main thread proves the rest itself; how many each takes is balanced
 * by ./balance.ts. The main thread then builds each proven entry
 * ({@link entryOfFacts}): a few string cuts and one object.
 *
 * It decides only "proven" or "not proven". A proven leaf is one that
 * `readEntryFields` (./entries.ts) accepts and reads to exactly the entry
 * {@link entryOfFacts} builds; anything it is not sure of (a kind it does not
 * cover, a missing, extra or malformed field, an escaped string, hour 24 …)
 * is left unproven, and the main thread reads that leaf with the reader as
 * before, which also writes the message for a malformed one. So the findings
 * do not depend on this module, only the time they take.
 *
 * Covered: applications, decisions, payouts and confirmations, nearly all of
 * a ledger; programmes and corrections (a few in a thousand) take the reader.
 * Pure: no I/O; the only state is a cache of the last minute and date parsed
 * (per thread).
 */
import { textOfBytes } from "./canonical";
import { Kind } from "./columns";
import { ROLES, type AuditEntry } from "./entries";
import { Token, type Tape } from "./tape";

/** What the worker proved of each leaf of a batch, leaf i at position i (struct of arrays, transferable). */
export interface EntryFacts {
  /** The {@link Kind} code of a proven entry; 0: not proven, read it with readEntryFields. */
  readonly kinds: Uint8Array;
  /** The role's index in ROLES (two bits) and the {@link Bit} flags. */
  readonly bits: Uint8Array;
  /** recordedAt in milliseconds since the epoch. */
  readonly ms: Float64Array;
  /** The entry's amount in fen (requested, approved, paid; 0 for a confirmation). */
  readonly fen: BigInt64Array;
  /** {@link STRIDE} int32 per leaf, see {@link At}: byte ranges into the batch's data, and tape tokens. */
  readonly at: Int32Array;
  /** Leaves [0, done) were looked at; the main thread may prove the others itself ({@link proveEntry}). */
  readonly done: number;
}

/** Flags in {@link EntryFacts.bits}, above the role's two bits. */
export const Bit = {
  /** Decision: approved (else rejected). */
  APPROVED: 4,
  /** Payout: needsConfirmation is true. */
  NEEDS_CONFIRMATION: 8,
  /** The official's name holds non-ASCII text (its bytes are UTF-8, to be decoded). */
  OFFICIAL_NON_ASCII: 16,
  /** refs is one id, byte for byte the body's reference. */
  REFS_ARE_LINK: 32,
} as const;

/** Positions in {@link EntryFacts.at}, per leaf. */
export const At = {
  ID: 0, // byte range: 2 int32
  RECORDED_AT: 2,
  OFFICIAL: 4,
  /** The body's reference: programmeId, applicationId, decisionId or payoutId. */
  LINK: 6,
  /** Payout: paidOn. */
  DATE: 8,
  /** The refs array's token on the tape. */
  REFS: 10,
  /** The commitments object's token, -1 without commitments. */
  COMMITMENTS: 11,
} as const;
export const STRIDE = 12;

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const KEY = {
  actor: enc("actor"),
  body: enc("body"),
  commitments: enc("commitments"),
  id: enc("id"),
  kind: enc("kind"),
  recordedAt: enc("recordedAt"),
  refs: enc("refs"),
  v: enc("v"),
  agency: enc("agency"),
  official: enc("official"),
  role: enc("role"),
  outcome: enc("outcome"),
  needsConfirmation: enc("needsConfirmation"),
  paidOn: enc("paidOn"),
  programmeId: enc("programmeId"),
  applicationId: enc("applicationId"),
  decisionId: enc("decisionId"),
  payoutId: enc("payoutId"),
  requestedFen: enc("requestedFen"),
  approvedFen: enc("approvedFen"),
  amountFen: enc("amountFen"),
};
/** Kind names and id prefixes by Kind code. */
const KIND_TEXT = ["", "programme", "application", "decision", "payout", "confirmation", "correction"].map(enc);
const PREFIX = ["", "prg", "app", "dec", "pay", "cnf", "cor"].map(enc);
const ROLE_TEXT = ROLES.map(enc);
const APPROVED = enc("approved");
const REJECTED = enc("rejected");
const ACTOR_KEYS = [KEY.official, KEY.agency, KEY.role];
/** Per kind covered, the body's keys read: its reference, its amount, then the kind's own (by Kind code). */
const BODY_KEYS: readonly (readonly Uint8Array[])[] = [
  [],
  [],
  [KEY.programmeId, KEY.requestedFen],
  [KEY.applicationId, KEY.approvedFen, KEY.outcome],
  [KEY.decisionId, KEY.amountFen, KEY.needsConfirmation, KEY.paidOn],
  [KEY.payoutId],
];

/** An int64 written as two 32-bit words (see fenInto), then copied into the facts. */
const fenScratch = new BigInt64Array(1);
const fenScratchWords = new Uint32Array(fenScratch.buffer);

/** Whether the int64 words of a BigInt64Array lie low word first (they do on every platform Node runs on; checked, not assumed). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The facts of the first `count` leaves with a root on the tape (`roots[i]`
 * ≥ 0, see ./leaves.ts): runs in the leaf worker after the canonical-form
 * scan. The rest are left to the main thread, which sets `count` so that
 * the two threads finish together (see LeafProcessor in ./leaves.ts).
 */
export function entryFactsOf(data: Uint8Array, tape: Int32Array, roots: Int32Array, count = roots.length): EntryFacts {
  const n = roots.length;
  const done = Math.max(0, Math.min(n, count));
  const facts: EntryFacts = {
    kinds: new Uint8Array(n),
    bits: new Uint8Array(n),
    ms: new Float64Array(n),
    fen: new BigInt64Array(n),
    at: new Int32Array(n * STRIDE).fill(-1),
    done,
  };
  for (let i = 0; i < done; i++) if (roots[i]! >= 0) proveEntry(data, tape, roots[i]!, i, facts);
  return facts;
}

/**
 * Proves leaf i (its root token `root`) and writes its facts; false, with
 * kinds[i] 0, when the reader must decide. The main thread calls it too,
 * for the leaves the worker left (cheaper there as well than the reader).
 */
export function proveEntry(data: Uint8Array, tape: Int32Array, root: number, i: number, facts: EntryFacts): boolean {
  if (leafFacts(data, tape, root, i, facts)) return true;
  facts.kinds[i] = 0;
  facts.bits[i] = 0;
  return false;
}

// ---- the tape, read as bytes (see ./tape.ts for the layout)

const type = (t: Int32Array, k: number) => t[k * 3]!;
const from = (t: Int32Array, k: number) => t[k * 3 + 1]!;
const to = (t: Int32Array, k: number) => t[k * 3 + 2]!;
/** The token after `k` and its descendants. */
const after = (t: Int32Array, k: number) => (type(t, k) === Token.OBJECT || type(t, k) === Token.ARRAY ? to(t, k) : k + 1);

/** Whether bytes d[a, b) are `s`. */
function bytesAre(d: Uint8Array, a: number, b: number, s: Uint8Array): boolean {
  if (b - a !== s.length) return false;
  for (let j = 0; j < s.length; j++) if (d[a + j] !== s[j]) return false;
  return true;
}

/** Whether d[a, a + n) and d[b, b + n) are the same bytes. */
function sameBytes(d: Uint8Array, a: number, b: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (d[a + j] !== d[b + j]) return false;
  return true;
}

/** Copies d[a, a + n) into `to`, answering whether it was there already. */
function remember(to: Uint8Array, d: Uint8Array, a: number, n: number): boolean {
  let same = true;
  for (let j = 0; j < n; j++) {
    const c = d[a + j]!;
    if (to[j] !== c) {
      to[j] = c;
      same = false;
    }
  }
  return same;
}

/** Whether the key token `k` is `s`. */
const keyIs = (d: Uint8Array, t: Int32Array, k: number, s: Uint8Array) => bytesAre(d, from(t, k), to(t, k), s);

/** The value tokens of `keys` in the object at `obj` (-1 for a key it lacks), into `found`: one walk of its keys. */
function fields(d: Uint8Array, t: Int32Array, obj: number, keys: readonly Uint8Array[], found: Int32Array): void {
  found.fill(-1);
  const end = to(t, obj);
  for (let k = obj + 1; k < end; k = after(t, k + 1)) {
    const a = from(t, k);
    const len = to(t, k) - a;
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j]!;
      if (key.length === len && key[0] === d[a] && bytesAre(d, a, a + len, key)) {
        found[j] = k + 1;
        break;
      }
    }
  }
}
const found = new Int32Array(4);

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** 1 for the bytes of lowercase hex digits. */
const HEX = new Uint8Array(256);
for (const c of enc("0123456789abcdef")) HEX[c] = 1;
/** Id prefixes as 24-bit numbers (three bytes), and the kind of each. */
const prefixCode = (d: Uint8Array, a: number) => (d[a]! << 16) | (d[a + 1]! << 8) | d[a + 2]!;
const KIND_OF_PREFIX = new Map(PREFIX.map((p, k) => [prefixCode(p, 0), k] as const).filter(([, k]) => k > 0));

/** Whether token `k` is a plain string matching ENTRY_ID (./entries.ts); with `prefix`, of that kind. */
function isId(d: Uint8Array, t: Int32Array, k: number, prefix?: Uint8Array): boolean {
  if (type(t, k) !== Token.STRING) return false;
  const a = from(t, k);
  if (to(t, k) - a !== 28 || d[a + 3] !== 0x5f) return false;
  if (prefix !== undefined ? d[a] !== prefix[0] || d[a + 1] !== prefix[1] || d[a + 2] !== prefix[2] : !KIND_OF_PREFIX.has(prefixCode(d, a))) return false;
  let hex = 1;
  for (let j = a + 4; j < a + 28; j++) hex &= HEX[d[j]!]!;
  return hex === 1;
}

/** Whether token `k` is a plain string of 64 lowercase hex digits (HEX64). */
function isHex64(d: Uint8Array, t: Int32Array, k: number): boolean {
  if (type(t, k) !== Token.STRING) return false;
  const a = from(t, k);
  if (to(t, k) - a !== 64) return false;
  let hex = 1;
  for (let j = a; j < a + 64; j++) hex &= HEX[d[j]!]!;
  return hex === 1;
}

/**
 * Writes the fen amount of token `k` (FEN: "0" or 1–18 digits without a
 * leading zero) as an int64, two 32-bit words, into `words`; false if it is
 * not one. Exact: lo stays below 2^36 and hi below 2^32 in doubles.
 */
function fenInto(d: Uint8Array, t: Int32Array, k: number, words: Uint32Array): boolean {
  if (type(t, k) !== Token.STRING) return false;
  const a = from(t, k);
  const b = to(t, k);
  if (b - a < 1 || b - a > 18 || (d[a] === 0x30 && b - a > 1)) return false;
  let lo = 0;
  let hi = 0;
  for (let j = a; j < b; j++) {
    const c = d[j]!;
    if (!isDigit(c)) return false;
    lo = lo * 10 + (c - 0x30);
    const carry = Math.floor(lo / 0x100000000);
    lo -= carry * 0x100000000;
    hi = hi * 10 + carry;
  }
  words[LITTLE_ENDIAN ? 0 : 1] = lo;
  words[LITTLE_ENDIAN ? 1 : 0] = hi;
  return true;
}

/** Whether d[a, a+len) has digits at the positions of `shape`'s '9's and `shape`'s other bytes elsewhere. */
function shaped(d: Uint8Array, a: number, shape: Uint8Array): boolean {
  for (let j = 0; j < shape.length; j++) {
    const c = d[a + j]!;
    if (shape[j] === 0x39 ? !isDigit(c) : c !== shape[j]) return false;
  }
  return true;
}
const TIMESTAMP_SHAPE = enc("9999-99-99T99:99:99");
const DATE_SHAPE = enc("9999-99-99");

// The last minute and date parsed: entries come in time order.
const lastMinute = new Uint8Array(17);
let lastMinuteMs = NaN;
const lastDate = new Uint8Array(10);
let lastDateValid = false; // lastDate is zeros at first, which is no date

const text = (d: Uint8Array, a: number, b: number) => String.fromCharCode(...d.subarray(a, b));

/**
 * recordedAt of token `k` in ms, as TIMESTAMP and timestampMs (./entries.ts)
 * read it; NaN when the reader would refuse it or for hour 24 (which the
 * reader hands to Date.parse: left to it).
 */
function timestampOf(d: Uint8Array, t: Int32Array, k: number): number {
  if (type(t, k) !== Token.STRING) return NaN;
  const a = from(t, k);
  const len = to(t, k) - a;
  if (len < 20 || len === 21 || len > 30 || !shaped(d, a, TIMESTAMP_SHAPE) || d[a + len - 1] !== 0x5a /* Z */) return NaN;
  if (len > 20) {
    if (d[a + 19] !== 0x2e /* . */) return NaN;
    for (let j = a + 20; j < a + len - 1; j++) if (!isDigit(d[j]!)) return NaN;
  }
  if (d[a + 11] === 0x32 && d[a + 12] === 0x34) return NaN;
  if (!remember(lastMinute, d, a, 17)) lastMinuteMs = Date.parse(`${text(d, a, a + 17)}00Z`);
  const sec = (d[a + 17]! - 0x30) * 10 + (d[a + 18]! - 0x30);
  if (sec > 59) return NaN;
  let ms = 0;
  for (let j = a + 20, scale = 100; scale >= 1 && j < a + len - 1; j++, scale /= 10) ms += (d[j]! - 0x30) * scale;
  return lastMinuteMs + sec * 1000 + ms;
}

/** Whether token `k` is a date DATE matches and Date.parse takes (./entries.ts, date). */
function isDate(d: Uint8Array, t: Int32Array, k: number): boolean {
  if (type(t, k) !== Token.STRING) return false;
  const a = from(t, k);
  if (to(t, k) - a !== 10 || !shaped(d, a, DATE_SHAPE)) return false;
  if (remember(lastDate, d, a, 10)) return lastDateValid;
  lastDateValid = !Number.isNaN(Date.parse(`${text(d, a, a + 10)}T00:00:00Z`));
  return lastDateValid;
}

/** Whether token `k` is a non-empty string (escapes allowed: the reader only needs a string). */
const isText = (t: Int32Array, k: number) => (type(t, k) === Token.STRING || type(t, k) === Token.STRING_ESCAPED) && to(t, k) > from(t, k);

/** Proves leaf i (its root token `root`) and writes its facts; false when the reader must decide. */
function leafFacts(d: Uint8Array, t: Int32Array, root: number, i: number, f: EntryFacts): boolean {
  if (type(t, root) !== Token.OBJECT) return false;
  // The top-level keys, exactly, in canonical (sorted) order; commitments optional.
  const end = to(t, root);
  const actor = root + 2;
  if (!(actor < end && keyIs(d, t, actor - 1, KEY.actor))) return false;
  const body = after(t, actor) + 1;
  if (!(body < end && keyIs(d, t, body - 1, KEY.body))) return false;
  let k = after(t, body);
  let commitments = -1;
  if (k < end && keyIs(d, t, k, KEY.commitments)) {
    commitments = k + 1;
    k = after(t, commitments);
  }
  const id = k + 1;
  if (!(k < end && keyIs(d, t, k, KEY.id) && (k = after(t, id)) < end)) return false;
  const kindTok = k + 1;
  if (!(keyIs(d, t, k, KEY.kind) && (k = after(t, kindTok)) < end)) return false;
  const recordedAt = k + 1;
  if (!(keyIs(d, t, k, KEY.recordedAt) && (k = after(t, recordedAt)) < end)) return false;
  const refs = k + 1;
  if (!(keyIs(d, t, k, KEY.refs) && (k = after(t, refs)) < end)) return false;
  const v = k + 1;
  if (!(keyIs(d, t, k, KEY.v) && after(t, v) === end)) return false;
  if (type(t, v) !== Token.NUMBER || to(t, v) - from(t, v) !== 1 || d[from(t, v)] !== 0x31) return false;

  if (type(t, kindTok) !== Token.STRING) return false;
  let kind = 0;
  for (let c = Kind.application; c <= Kind.confirmation && kind === 0; c++) if (bytesAre(d, from(t, kindTok), to(t, kindTok), KIND_TEXT[c]!)) kind = c;
  if (kind === 0 || !isId(d, t, id, PREFIX[kind]!)) return false;
  const ms = timestampOf(d, t, recordedAt);
  if (Number.isNaN(ms)) return false;

  // actor: official, agency, role (other keys are not the reader's concern).
  if (type(t, actor) !== Token.OBJECT) return false;
  fields(d, t, actor, ACTOR_KEYS, found);
  const official = found[0]!;
  const agency = found[1]!;
  const roleTok = found[2]!;
  if (official < 0 || type(t, official) !== Token.STRING || to(t, official) === from(t, official)) return false;
  if (agency < 0 || !isText(t, agency) || roleTok < 0 || type(t, roleTok) !== Token.STRING) return false;
  let role = -1;
  for (let r = 0; r < ROLE_TEXT.length && role < 0; r++) if (bytesAre(d, from(t, roleTok), to(t, roleTok), ROLE_TEXT[r]!)) role = r;
  if (role < 0) return false;
  let bits = role;
  for (let j = from(t, official); j < to(t, official); j++) if (d[j]! >= 0x80) bits |= Bit.OFFICIAL_NON_ASCII;

  if (type(t, refs) !== Token.ARRAY) return false;
  for (let r = refs + 1; r < to(t, refs); r++) if (!isId(d, t, r)) return false;
  if (commitments >= 0) {
    if (type(t, commitments) !== Token.OBJECT) return false;
    for (let c = commitments + 1; c < to(t, commitments); c = after(t, c + 1)) if (!isHex64(d, t, c + 1)) return false;
  }

  // The body, by kind.
  if (type(t, body) !== Token.OBJECT) return false;
  fields(d, t, body, BODY_KEYS[kind]!, found);
  const link = found[0]!;
  if (link < 0 || !isId(d, t, link)) return false;
  if (kind === Kind.confirmation) f.fen[i] = 0n;
  else if (found[1]! < 0 || !fenInto(d, t, found[1]!, fenScratchWords)) return false;
  else f.fen[i] = fenScratch[0]!;
  const at = i * STRIDE;
  if (kind === Kind.decision) {
    const outcome = found[2]!;
    if (outcome < 0 || type(t, outcome) !== Token.STRING) return false;
    if (bytesAre(d, from(t, outcome), to(t, outcome), APPROVED)) bits |= Bit.APPROVED;
    else if (!bytesAre(d, from(t, outcome), to(t, outcome), REJECTED)) return false;
  } else if (kind === Kind.payout) {
    const needs = found[2]!;
    if (needs < 0 || (type(t, needs) !== Token.TRUE && type(t, needs) !== Token.FALSE)) return false;
    if (type(t, needs) === Token.TRUE) bits |= Bit.NEEDS_CONFIRMATION;
    const paidOn = found[3]!;
    if (paidOn < 0 || !isDate(d, t, paidOn)) return false;
    f.at[at + At.DATE] = from(t, paidOn);
    f.at[at + At.DATE + 1] = to(t, paidOn);
  }
  // refs holds ids only (checked above), so one of 28 bytes.
  if (to(t, refs) === refs + 2 && sameBytes(d, from(t, refs + 1), from(t, link), 28)) bits |= Bit.REFS_ARE_LINK;

  f.kinds[i] = kind;
  f.bits[i] = bits;
  f.ms[i] = ms;
  f.at[at + At.ID] = from(t, id);
  f.at[at + At.ID + 1] = to(t, id);
  f.at[at + At.RECORDED_AT] = from(t, recordedAt);
  f.at[at + At.RECORDED_AT + 1] = to(t, recordedAt);
  f.at[at + At.OFFICIAL] = from(t, official);
  f.at[at + At.OFFICIAL + 1] = to(t, official);
  f.at[at + At.LINK] = from(t, link);
  f.at[at + At.LINK + 1] = to(t, link);
  f.at[at + At.REFS] = refs;
  f.at[at + At.COMMITMENTS] = commitments;
  return true;
}

/**
 * The entry of a proven leaf i (main thread), exactly as readEntryFields
 * reads it from the tape: `tape` holds the leaf (Tape.load). Object
 * literals written as in ./entries.ts, so both give one shape per kind.
 */
export function entryOfFacts(f: EntryFacts, i: number, tape: Tape): AuditEntry {
  const at = f.at;
  const p = i * STRIDE;
  const bits = f.bits[i]!;
  const id = tape.cut(at[p + At.ID]!, at[p + At.ID + 1]!);
  const recordedAt = tape.cut(at[p + At.RECORDED_AT]!, at[p + At.RECORDED_AT + 1]!);
  const name = tape.cut(at[p + At.OFFICIAL]!, at[p + At.OFFICIAL + 1]!);
  const official = bits & Bit.OFFICIAL_NON_ASCII ? textOfBytes(name) : name;
  const link = tape.cut(at[p + At.LINK]!, at[p + At.LINK + 1]!);
  const refs = bits & Bit.REFS_ARE_LINK ? [link] : (tape.value(at[p + At.REFS]!) as string[]);
  const com = at[p + At.COMMITMENTS]!;
  // Commitment names are keys: ASCII without escapes (the scan proved it), their own text.
  const committed = com < 0 ? [] : tape.keyTexts(com);
  const role = ROLES[bits & 3]!;
  const recordedMs = f.ms[i]!;
  switch (f.kinds[i]) {
    case Kind.application:
      return { kind: "application", id, recordedAt, recordedMs, official, role, refs, committed, programmeId: link, requestedFen: f.fen[i]! };
    case Kind.decision:
      return {
        kind: "decision",
        id,
        recordedAt,
        recordedMs,
        official,
        role,
        refs,
        committed,
        applicationId: link,
        outcome: bits & Bit.APPROVED ? "approved" : "rejected",
        approvedFen: f.fen[i]!,
      };
    case Kind.payout:
      return {
        kind: "payout",
        id,
        recordedAt,
        recordedMs,
        official,
        role,
        refs,
        committed,
        decisionId: link,
        amountFen: f.fen[i]!,
        paidOn: tape.cut(at[p + At.DATE]!, at[p + At.DATE + 1]!),
        needsConfirmation: (bits & Bit.NEEDS_CONFIRMATION) !== 0,
      };
    case Kind.confirmation:
      return { kind: "confirmation", id, recordedAt, recordedMs, official, role, refs, committed, payoutId: link };
    default:
      throw new Error(`no entry facts for leaf ${i} (kind code ${f.kinds[i]})`);
  }
}
