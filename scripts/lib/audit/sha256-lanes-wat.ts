/**
 * The generator of ./sha256-lanes.ts's WebAssembly module, as WebAssembly
 * text (WAT). `npm run gen:sha256-lanes` (scripts/gen-sha256-lanes.ts)
 * assembles it with wabt into ./sha256-lanes.wasm.ts; a test checks that
 * file is what this generator makes today.
 *
 * SHA-256 four messages at a time: lane k of every i32x4 value is message k.
 * node:crypto's one-shot hash costs about 2 µs a call on the audit's machine,
 * nearly all of it per-call cost (the compression itself, with SHA-NI, is a
 * tenth of that); here one JS→WASM call hashes a whole batch, so a hash costs
 * its compression and little else. The rounds are unrolled here, by the
 * generator, with the working variables renamed round by round instead of
 * moved; the message schedule of a block is expanded first into a scratch
 * area (W[t] + K[t]), so the rounds need only the eight working variables in
 * registers.
 *
 * Both entry points hash tagged messages, tag ‖ message (RFC 6962: tag 0 for
 * leaves, 1 for interior nodes). A message's first block is loaded from one
 * byte before it, and that byte is then replaced by the tag, so the caller
 * never copies a message to prepend its tag: every message must start at
 * address 1 or later.
 */

/** Layout of the module's first page; callers use memory from {@link HEAP_BASE} on. */
export const LAYOUT = {
  /** A zero-length message for the lanes of an incomplete last group. */
  dummy: 16,
  /** Per lane, the padded last one or two blocks of its message (128 bytes each). */
  tail: 256,
  /** W[t] + K[t] of the block being compressed, 64 × 16 bytes. */
  schedule: 1024,
  /** Where the lanes of an incomplete last group write their digest. */
  dummyOut: 2048,
} as const;

/** First byte of memory the module does not use itself. */
export const HEAP_BASE = 4096;

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// --- expressions (folded WAT) -------------------------------------------------

const get = (x: string) => `(local.get $${x})`;
const set = (x: string, e: string) => `(local.set $${x} ${e})`;
const add = (a: string, b: string) => `(i32x4.add ${a} ${b})`;
const xor = (a: string, b: string) => `(v128.xor ${a} ${b})`;
const i32 = (n: number) => `(i32.const ${n | 0})`;
const splat = (v: number) => {
  const h = `0x${(v >>> 0).toString(16)}`;
  return `(v128.const i32x4 ${h} ${h} ${h} ${h})`;
};
/** Rotate right; `x` must be a local (it is read twice). */
const rotr = (x: string, n: number) => `(v128.or (i32x4.shr_u ${get(x)} ${i32(n)}) (i32x4.shl ${get(x)} ${i32(32 - n)}))`;
const bigSigma0 = (x: string) => xor(xor(rotr(x, 2), rotr(x, 13)), rotr(x, 22));
const bigSigma1 = (x: string) => xor(xor(rotr(x, 6), rotr(x, 11)), rotr(x, 25));
const smallSigma0 = (x: string) => xor(xor(rotr(x, 7), rotr(x, 18)), `(i32x4.shr_u ${get(x)} ${i32(3)})`);
const smallSigma1 = (x: string) => xor(xor(rotr(x, 17), rotr(x, 19)), `(i32x4.shr_u ${get(x)} ${i32(10)})`);
const shuffle = (a: string, b: string, lanes: readonly number[]) => `(i8x16.shuffle ${lanes.join(" ")} ${a} ${b})`;

// The same on numbers, to fold constant words of the schedule.
const rotrN = (x: number, n: number) => ((x >>> n) | (x << (32 - n))) >>> 0;
const s0N = (x: number) => (rotrN(x, 7) ^ rotrN(x, 18) ^ (x >>> 3)) >>> 0;
const s1N = (x: number) => (rotrN(x, 17) ^ rotrN(x, 19) ^ (x >>> 10)) >>> 0;

/** A schedule word: known to the generator (the same in every lane), or held in a local. */
type Word = { readonly c: number } | { readonly local: string };

/**
 * Expands the schedule of one block from W[0..15] (locals w0..w15, or
 * constants) into W[t] + K[t], stored at LAYOUT.schedule for the variable
 * words; returns, per round, the expression the round adds.
 */
function schedule(w0: readonly Word[]): { code: string[]; wk: string[] } {
  const code: string[] = [];
  const wk: string[] = [];
  const W: Word[] = [...w0];
  for (let t = 16; t < 64; t++) {
    const terms: Array<[Word, (x: string) => string, (x: number) => number]> = [
      [W[t - 2]!, smallSigma1, s1N],
      [W[t - 7]!, get, (x) => x],
      [W[t - 15]!, smallSigma0, s0N],
      [W[t - 16]!, get, (x) => x],
    ];
    let c = 0;
    const vars: string[] = [];
    for (const [w, f, fN] of terms) {
      if ("c" in w) c = (c + fN(w.c)) >>> 0;
      else vars.push(f(w.local));
    }
    if (vars.length === 0) {
      W.push({ c });
      continue;
    }
    let e = vars.reduce((a, b) => add(a, b));
    if (c !== 0) e = add(e, splat(c));
    const local = `w${t % 16}`;
    code.push(set(local, e));
    W.push({ local });
    // Store W[t] + K[t] now: w{t%16} is overwritten 16 rounds on.
    code.push(`(v128.store offset=${LAYOUT.schedule + 16 * t} ${i32(0)} ${add(get(local), splat(K[t]!))})`);
  }
  for (let t = 0; t < 64; t++) {
    const w = W[t]!;
    wk.push("c" in w ? splat((w.c + K[t]!) >>> 0) : `(v128.load offset=${LAYOUT.schedule + 16 * t} ${i32(0)})`);
  }
  // W[0..15] that are variables are stored before the rounds start, with the rest.
  const first: string[] = [];
  for (let t = 0; t < 16; t++) {
    const w = W[t]!;
    if (!("c" in w)) first.push(`(v128.store offset=${LAYOUT.schedule + 16 * t} ${i32(0)} ${add(get(w.local), splat(K[t]!))})`);
  }
  return { code: [...first, ...code], wk };
}

/** 64 rounds on the working variables x0..x7, renamed each round rather than moved. */
function rounds(wk: readonly string[]): string[] {
  const code: string[] = [];
  let r = ["x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"];
  for (let t = 0; t < 64; t++) {
    const [a, b, c, d, e, f, g, h] = r as [string, string, string, string, string, string, string, string];
    // T1 = h + Σ1(e) + Ch(e,f,g) + K[t] + W[t]; Ch = bitselect(f, g, e)
    code.push(set("t1", add(add(get(h), bigSigma1(e)), add(`(v128.bitselect ${get(f)} ${get(g)} ${get(e)})`, wk[t]!))));
    code.push(set(d, add(get(d), get("t1"))));
    // a' = T1 + Σ0(a) + Maj(a,b,c); Maj = bitselect(c, b, a ^ b)
    code.push(set(h, add(get("t1"), add(bigSigma0(a), `(v128.bitselect ${get(c)} ${get(b)} ${xor(get(a), get(b))})`))));
    r = [h, a, b, c, d, e, f, g];
  }
  return code;
}

/**
 * Loads the 16 words of one block for four lanes (lane k's at the address in
 * local `${addr}${k}`) and transposes them so that w{j} holds word j of every lane, each
 * byte-swapped to big-endian on the way (one shuffle does both).
 */
function loadBlock(addr: string): string[] {
  const code: string[] = [];
  const lo = [3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20];
  const hi = [11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28];
  const half0 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  const half1 = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
  for (let j = 0; j < 4; j++) {
    const ld = (k: number) => `(v128.load offset=${16 * j} align=1 ${get(`${addr}${k}`)})`;
    code.push(set("u0", shuffle(ld(0), ld(1), lo)));
    code.push(set("u1", shuffle(ld(0), ld(1), hi)));
    code.push(set("u2", shuffle(ld(2), ld(3), lo)));
    code.push(set("u3", shuffle(ld(2), ld(3), hi)));
    code.push(set(`w${4 * j}`, shuffle(get("u0"), get("u2"), half0)));
    code.push(set(`w${4 * j + 1}`, shuffle(get("u0"), get("u2"), half1)));
    code.push(set(`w${4 * j + 2}`, shuffle(get("u1"), get("u3"), half0)));
    code.push(set(`w${4 * j + 3}`, shuffle(get("u1"), get("u3"), half1)));
  }
  return code;
}

/** Replaces the first byte of every lane's block (the byte before its message) with the tag. */
const putTag = () => set("w0", `(v128.or (v128.and ${get("w0")} ${splat(0x00ffffff)}) (i32x4.splat (i32.shl ${get("tag")} ${i32(24)})))`);

/** Writes state s0..s7 as four big-endian digests, lane k's at address local o{k}. */
function storeDigests(): string[] {
  const code: string[] = [];
  const w01 = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
  const w23 = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31];
  const lane0 = [3, 2, 1, 0, 7, 6, 5, 4, 19, 18, 17, 16, 23, 22, 21, 20];
  const lane1 = [11, 10, 9, 8, 15, 14, 13, 12, 27, 26, 25, 24, 31, 30, 29, 28];
  for (const half of [0, 1]) {
    const s = (i: number) => get(`s${4 * half + i}`);
    code.push(set("u0", shuffle(s(0), s(1), w01)));
    code.push(set("u1", shuffle(s(0), s(1), w23)));
    code.push(set("u2", shuffle(s(2), s(3), w01)));
    code.push(set("u3", shuffle(s(2), s(3), w23)));
    code.push(`(v128.store offset=${16 * half} align=1 ${get("o0")} ${shuffle(get("u0"), get("u2"), lane0)})`);
    code.push(`(v128.store offset=${16 * half} align=1 ${get("o1")} ${shuffle(get("u0"), get("u2"), lane1)})`);
    code.push(`(v128.store offset=${16 * half} align=1 ${get("o2")} ${shuffle(get("u1"), get("u3"), lane0)})`);
    code.push(`(v128.store offset=${16 * half} align=1 ${get("o3")} ${shuffle(get("u1"), get("u3"), lane1)})`);
  }
  return code;
}

const V128_LOCALS = [
  ...Array.from({ length: 16 }, (_, i) => `w${i}`),
  ...Array.from({ length: 8 }, (_, i) => `x${i}`),
  ...Array.from({ length: 8 }, (_, i) => `s${i}`),
  "t1", "u0", "u1", "u2", "u3", "live",
];
const declareV128 = () => V128_LOCALS.map((l) => `(local $${l} v128)`).join(" ");
const lanes = [0, 1, 2, 3];
const copyState = (from: (i: number) => string, to: string) => Array.from({ length: 8 }, (_, i) => set(`${to}${i}`, from(i)));

/**
 * `tagged(desc, count, tag)`: SHA-256(tag ‖ message) of `count` messages.
 * desc holds three i32 per message: address (≥ 1), length, address of its
 * 32-byte digest. Lanes whose message has fewer blocks than the longest of
 * their group keep their state through the extra blocks (a mask on the
 * feed-forward); the caller may order messages by length to waste less.
 */
function taggedFunction(): string {
  const body: string[] = [];
  const i32Locals = ["i", "b", "nb", ...lanes.flatMap((k) => [`p${k}`, `n${k}`, `o${k}`, `f${k}`, `e${k}`, `m${k}`, `tl${k}`, `q${k}`])];
  body.push(`(local.set $i ${i32(0)})`);
  body.push(`(block $done (loop $group`);
  body.push(`(br_if $done (i32.ge_u ${get("i")} ${get("count")}))`);
  body.push(set("nb", i32(0)));
  for (const k of lanes) {
    // The message of lane k, or an empty one written to a dummy digest when the group is short.
    const d = `(i32.add ${get("desc")} (i32.mul (i32.add ${get("i")} ${i32(k)}) ${i32(12)}))`;
    const inRange = `(i32.lt_u (i32.add ${get("i")} ${i32(k)}) ${get("count")})`;
    body.push(`(if ${inRange} (then ${set(`p${k}`, `(i32.load ${d})`)} ${set(`n${k}`, `(i32.load offset=4 ${d})`)} ${set(`o${k}`, `(i32.load offset=8 ${d})`)})`);
    body.push(`(else ${set(`p${k}`, i32(LAYOUT.dummy))} ${set(`n${k}`, i32(0))} ${set(`o${k}`, i32(LAYOUT.dummyOut))}))`);
    // m = tag ‖ message bytes; f = whole blocks; e = its total block count; the rest goes to the tail.
    body.push(set(`m${k}`, `(i32.add ${get(`n${k}`)} ${i32(1)})`));
    body.push(set(`f${k}`, `(i32.shr_u ${get(`m${k}`)} ${i32(6)})`));
    body.push(set(`e${k}`, `(i32.add (i32.add ${get(`f${k}`)} ${i32(1)}) (i32.ge_u (i32.and ${get(`m${k}`)} ${i32(63)}) ${i32(56)}))`));
    body.push(`(if (i32.gt_u ${get(`e${k}`)} ${get("nb")}) (then ${set("nb", get(`e${k}`))}))`);
    // The tail: the last m mod 64 bytes, 0x80, zeros, and the length in bits, big-endian, ending its last block.
    const tail = LAYOUT.tail + 128 * k;
    body.push(`(memory.fill ${i32(tail)} ${i32(0)} ${i32(128)})`);
    body.push(`(memory.copy ${i32(tail)} (i32.add (i32.sub ${get(`p${k}`)} ${i32(1)}) (i32.shl ${get(`f${k}`)} ${i32(6)})) (i32.and ${get(`m${k}`)} ${i32(63)}))`);
    body.push(`(i32.store8 (i32.add ${i32(tail)} (i32.and ${get(`m${k}`)} ${i32(63)})) ${i32(0x80)})`);
    body.push(set(`tl${k}`, `(i32.add ${i32(tail)} (i32.shl (i32.sub ${get(`e${k}`)} ${get(`f${k}`)}) ${i32(6)}))`));
    // Bit length m·8 (below 2^35), big-endian, in the last 5 of its 8 bytes (the tail was zeroed).
    body.push(`(i32.store8 (i32.sub ${get(`tl${k}`)} ${i32(1)}) (i32.shl ${get(`m${k}`)} ${i32(3)}))`);
    for (const [j, shift] of [[2, 5], [3, 13], [4, 21], [5, 29]] as const)
      body.push(`(i32.store8 (i32.sub ${get(`tl${k}`)} ${i32(j)}) (i32.shr_u ${get(`m${k}`)} ${i32(shift)}))`);
  }
  body.push(...copyState((i) => splat(IV[i]!), "s"));
  body.push(set("b", i32(0)));
  body.push(`(loop $block`);
  for (const k of lanes) {
    // Block b of lane k: in place while whole, else from its tail (the tail's first block again once past its end: masked).
    const inPlace = `(i32.add (i32.sub ${get(`p${k}`)} ${i32(1)}) (i32.shl ${get("b")} ${i32(6)}))`;
    const fromTail = `(i32.add ${i32(LAYOUT.tail + 128 * k)} (i32.shl (i32.and (i32.eq (i32.sub ${get("b")} ${get(`f${k}`)}) ${i32(1)}) ${i32(1)}) ${i32(6)}))`;
    body.push(`(local.set $q${k} (select ${inPlace} ${fromTail} (i32.lt_u ${get("b")} ${get(`f${k}`)})))`);
  }
  body.push(...loadBlock("q"));
  body.push(`(if (i32.eqz ${get("b")}) (then ${putTag()}))`);
  const sched = schedule(Array.from({ length: 16 }, (_, i) => ({ local: `w${i}` })));
  body.push(...sched.code);
  body.push(...copyState((i) => get(`s${i}`), "x"));
  body.push(...rounds(sched.wk));
  // Feed-forward only in the lanes whose message has a block b.
  const counts = lanes.reduce((v, k) => `(i32x4.replace_lane ${k} ${v} ${get(`e${k}`)})`, `(i32x4.splat ${i32(0)})`);
  body.push(set("live", `(i32x4.gt_s ${counts} (i32x4.splat ${get("b")}))`));
  body.push(...copyState((i) => `(v128.bitselect ${add(get(`s${i}`), get(`x${i}`))} ${get(`s${i}`)} ${get("live")})`, "s"));
  body.push(set("b", `(i32.add ${get("b")} ${i32(1)})`));
  body.push(`(br_if $block (i32.lt_u ${get("b")} ${get("nb")}))`);
  body.push(`)`);
  body.push(...storeDigests());
  body.push(set("i", `(i32.add ${get("i")} ${i32(4)})`));
  body.push(`(br $group)))`);
  return `(func (export "tagged") (param $desc i32) (param $count i32) (param $tag i32) ${i32Locals.map((l) => `(local $${l} i32)`).join(" ")} ${declareV128()}\n${body.join("\n")})`;
}

/**
 * `pairs(from, count, to, tag)`: SHA-256(tag ‖ left ‖ right) of `count`
 * 64-byte pairs lying contiguously at `from` (≥ 1), the digests contiguous
 * at `to`. The 65-byte message is two blocks; the second is the last byte of
 * `right`, padding and a constant length, so most of its schedule is folded
 * here. A group of four pairs is read whole before its digests are written.
 */
function pairsFunction(): string {
  const body: string[] = [];
  const i32Locals = ["i", ...lanes.flatMap((k) => [`p${k}`, `o${k}`])];
  body.push(`(local.set $i ${i32(0)})`);
  body.push(`(block $done (loop $group`);
  body.push(`(br_if $done (i32.ge_u ${get("i")} ${get("count")}))`);
  for (const k of lanes) {
    const inRange = `(i32.lt_u (i32.add ${get("i")} ${i32(k)}) ${get("count")})`;
    const p = `(i32.add ${get("from")} (i32.sub (i32.shl (i32.add ${get("i")} ${i32(k)}) ${i32(6)}) ${i32(1)}))`;
    const o = `(i32.add ${get("to")} (i32.shl (i32.add ${get("i")} ${i32(k)}) ${i32(5)}))`;
    body.push(`(if ${inRange} (then ${set(`p${k}`, p)} ${set(`o${k}`, o)}) (else ${set(`p${k}`, i32(LAYOUT.tail))} ${set(`o${k}`, i32(LAYOUT.dummyOut))}))`);
  }
  // Block 1: tag ‖ left ‖ right[0..31).
  body.push(...loadBlock("p"));
  body.push(putTag());
  const s1 = schedule(Array.from({ length: 16 }, (_, i) => ({ local: `w${i}` })));
  body.push(...s1.code);
  body.push(...copyState((i) => splat(IV[i]!), "x"));
  body.push(...rounds(s1.wk));
  body.push(...copyState((i) => add(get(`x${i}`), splat(IV[i]!)), "s"));
  // Block 2: right[31], 0x80, zeros, length 65·8 bits. right[31] is the top byte of the
  // little-endian word at p + 61 (p is one byte before the message).
  const last = lanes.reduce((v, k) => `(i32x4.replace_lane ${k} ${v} (i32.load offset=61 align=1 ${get(`p${k}`)}))`, `(i32x4.splat ${i32(0)})`);
  body.push(set("w0", `(v128.or (v128.and ${last} ${splat(0xff000000)}) ${splat(0x00800000)})`));
  const s2 = schedule([{ local: "w0" }, ...Array.from({ length: 14 }, () => ({ c: 0 })), { c: 65 * 8 }]);
  body.push(...s2.code);
  body.push(...copyState((i) => get(`s${i}`), "x"));
  body.push(...rounds(s2.wk));
  body.push(...copyState((i) => add(get(`s${i}`), get(`x${i}`)), "s"));
  body.push(...storeDigests());
  body.push(set("i", `(i32.add ${get("i")} ${i32(4)})`));
  body.push(`(br $group)))`);
  return `(func (export "pairs") (param $from i32) (param $count i32) (param $to i32) (param $tag i32) ${i32Locals.map((l) => `(local $${l} i32)`).join(" ")} ${declareV128()}\n${body.join("\n")})`;
}

/** The whole module: one memory (exported, grown by the caller) and the two entry points. */
export function sha256LanesWat(): string {
  return `(module\n(memory (export "memory") 1)\n${taggedFunction()}\n${pairsFunction()}\n)\n`;
}
