/**
 * Canonical entry encoding: RFC 8785 (JSON Canonicalization Scheme).
 *
 * Expected outputs are the RFC's own examples (§3.2.2 sample, §3.2.3 property
 * sorting, Appendix B number serialisation), not values produced by the code
 * under test.
 */
import { expect } from "chai";
import {
  assertJsonValue,
  canonicalBytes,
  decodeEntry,
  encodeEntry,
  EncodingError,
  entryLeafHash,
  isCanonicalText,
  ENTRY_FORMAT_VERSION,
  MAX_NESTING_DEPTH,
  type EncodingErrorCode,
} from "../../service/log";
import canonicalize from "canonicalize";
import fc from "fast-check";
import * as ref from "../../scripts/lib/rfc6962-reference";
import { fcAssert } from "../helpers/fc";

const utf8 = new TextEncoder();
const text = (value: unknown): string => new TextDecoder().decode(canonicalBytes(value));

/** The encoders as a caller with untyped data sees them. */
const anyEncodeEntry = encodeEntry as (entry: unknown) => Uint8Array;

/** Runs `fn`, expects an EncodingError with `code` (and `path`, when given), and returns it. */
function expectEncodingError(fn: () => unknown, code: EncodingErrorCode, path?: string): EncodingError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected an EncodingError to be thrown").to.be.instanceOf(EncodingError);
  const err = caught as EncodingError;
  expect(err.code, err.message).to.equal(code);
  if (path !== undefined) expect(err.path).to.equal(path);
  return err;
}

/** An IEEE 754 binary64 from its big-endian hex, as RFC 8785 Appendix B writes them. */
const float = (hex: string): number => Buffer.from(hex, "hex").readDoubleBE(0);

/** Nests `inner` in `depth` single-element arrays. */
function nested(depth: number, inner: unknown = 0): unknown {
  let v = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe("canonical encoding (RFC 8785)", function () {
  describe("the RFC 8785 §3.2.2 sample", function () {
    it("canonicalises to the RFC's output", function () {
      const input = String.raw`{
        "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
      }`;
      const want = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
      expect(text(JSON.parse(input))).to.equal(want);
    });
  });

  describe("object keys", function () {
    it("are sorted by UTF-16 code units, as in the RFC 8785 §3.2.3 example", function () {
      const value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
      };
      const want =
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
      expect(text(value)).to.equal(want);
    });

    it("put a non-BMP character (a surrogate pair) before U+E000, unlike code-point order", function () {
      expect(text({ "\ue000": 1, "\u{10000}": 2 })).to.equal('{"\u{10000}":2,"\ue000":1}');
    });

    it("sort integer-like keys as strings, not numbers: \"10\" before \"2\"", function () {
      expect(text({ 2: "b", 10: "a", 1: "c" })).to.equal('{"1":"c","10":"a","2":"b"}');
    });

    it("sort upper case before lower case and the empty key first", function () {
      expect(text({ b: 1, a: 2, B: 3, "": 4 })).to.equal('{"":4,"B":3,"a":2,"b":1}');
    });

    it("are sorted at every depth, inside arrays too", function () {
      expect(text({ z: [{ y: 1, x: 2 }], a: { c: { e: 1, d: 2 }, b: 3 } })).to.equal('{"a":{"b":3,"c":{"d":2,"e":1}},"z":[{"x":2,"y":1}]}');
    });

    it("do not depend on insertion order", function () {
      expect(text({ a: 1, b: 2, c: 3 })).to.equal(text({ c: 3, b: 2, a: 1 }));
    });

    it("accept an object without a prototype", function () {
      const o = Object.create(null) as Record<string, unknown>;
      o.b = 1;
      o.a = 2;
      expect(text(o)).to.equal('{"a":2,"b":1}');
    });
  });

  describe("numbers", function () {
    // RFC 8785 Appendix B, "Number Serialization Samples".
    const appendixB: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, want] of appendixB) {
      it(`serialises the binary64 ${bits} as ${want}`, function () {
        expect(text(float(bits))).to.equal(want);
      });
    }

    it("serialises the literals the brief calls out: 1e21, -0, 0.000001, 1e-7, 333333333.33333329, 1e20", function () {
      expect(text([1e21, -0, 0.000001, 1e-7, 333333333.33333329, 1e20])).to.equal("[1e+21,0,0.000001,1e-7,333333333.3333333,100000000000000000000]");
    });

    describe("when a number is not finite", function () {
      for (const [what, bad, path] of [
        ["NaN (7fffffffffffffff)", float("7fffffffffffffff"), "$"],
        ["Infinity (7ff0000000000000)", float("7ff0000000000000"), "$"],
        ["-Infinity inside an object", { a: { b: Number.NEGATIVE_INFINITY } }, "$.a.b"],
        ["NaN inside an array", [1, 2, Number.NaN], "$[2]"],
      ] as [string, unknown, string][]) {
        it(`throws NON_FINITE_NUMBER for ${what}, naming the path`, function () {
          expectEncodingError(() => canonicalBytes(bad), "NON_FINITE_NUMBER", path);
        });
      }
    });
  });

  describe("strings", function () {
    it("escape exactly \\\", \\\\ and the C0 controls, short forms where JSON has them", function () {
      expect(text('"\\/')).to.equal(String.raw`"\"\\/"`);
      expect(text("\b\t\n\f\r")).to.equal(String.raw`"\b\t\n\f\r"`);
      expect(text("\u0000\u0001\u001f")).to.equal(String.raw`"\u0000\u0001\u001f"`);
    });

    it("use lowercase hex in \\u escapes", function () {
      expect(text("\u001e\u000b")).to.equal(String.raw`"\u001e\u000b"`);
    });

    it("leave DEL, U+2028, U+2029 and everything non-ASCII unescaped, as UTF-8", function () {
      const bytes = canonicalBytes("\u007f\u2028\u2029é€😀");
      expect(ref.hex(bytes)).to.equal(
        "22" + "7f" + "e280a8" + "e280a9" + "c3a9" + "e282ac" + "f09f9880" + "22",
      );
    });

    it("do not normalise Unicode: precomposed and decomposed forms stay distinct", function () {
      expect(text("\u00e9")).not.to.equal(text("e\u0301"));
      expect(ref.hex(canonicalBytes("e\u0301"))).to.equal("22" + "65" + "cc81" + "22");
    });

    describe("when a string holds a lone surrogate", function () {
      for (const [what, bad] of [
        ["a lone high surrogate", "\ud800"],
        ["a lone low surrogate", "\udc00"],
        ["a high surrogate before a letter", "a\udbffb"],
        ["a reversed pair", "\udc00\ud800"],
        ["a pair followed by a lone low surrogate", "\ud83d\ude00\ude00"],
        ["a high surrogate at the end", "ok\ud83d"],
      ]) {
        it(`throws LONE_SURROGATE for ${what} in a value`, function () {
          expectEncodingError(() => canonicalBytes({ a: [bad] }), "LONE_SURROGATE", "$.a[0]");
        });

        it(`throws LONE_SURROGATE for ${what} in a key`, function () {
          expectEncodingError(() => canonicalBytes({ a: { [bad!]: 1 } }), "LONE_SURROGATE", "$.a");
        });
      }
    });
  });

  describe("literals and containers", function () {
    it("serialise null, true, false, empty arrays and empty objects without whitespace", function () {
      expect(text({ a: [null, true, false, [], {}] })).to.equal('{"a":[null,true,false,[],{}]}');
    });

    it("accept the same object twice when it is not a cycle", function () {
      const shared = { x: 1 };
      expect(text({ a: shared, b: [shared, shared] })).to.equal('{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
    });

    it(`accept nesting up to MAX_NESTING_DEPTH (${MAX_NESTING_DEPTH}) arrays or objects`, function () {
      expect(text(nested(MAX_NESTING_DEPTH))).to.equal("[".repeat(MAX_NESTING_DEPTH) + "0" + "]".repeat(MAX_NESTING_DEPTH));
    });

    describe("when values nest deeper than MAX_NESTING_DEPTH", function () {
      it("throws NOT_JSON_VALUE instead of overflowing the stack", function () {
        expectEncodingError(() => canonicalBytes(nested(MAX_NESTING_DEPTH + 1)), "NOT_JSON_VALUE");
        expectEncodingError(() => canonicalBytes(nested(100_000)), "NOT_JSON_VALUE");
      });
    });
  });

  describe("values JSON cannot represent exactly", function () {
    class Point {
      constructor(
        readonly x = 1,
        readonly y = 2,
      ) {}
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    const cyclicArray: unknown[] = [1];
    cyclicArray.push(cyclicArray);
    const withSymbolKey = { a: 1, [Symbol("k")]: 2 };

    const cases: [string, unknown, EncodingErrorCode, string][] = [
      ["undefined", undefined, "UNDEFINED_VALUE", "$"],
      ["an undefined property", { a: 1, b: undefined }, "UNDEFINED_VALUE", "$.b"],
      ["undefined in an array", [1, undefined], "UNDEFINED_VALUE", "$[1]"],
      // eslint-disable-next-line no-sparse-arrays
      ["an array hole", [1, , 3], "UNDEFINED_VALUE", "$[1]"],
      ["a trailing array hole", new Array<number>(2), "UNDEFINED_VALUE", "$[0]"],
      ["a Date", { when: new Date(0) }, "NON_PLAIN_OBJECT", "$.when"],
      ["a Map", new Map([["a", 1]]), "NON_PLAIN_OBJECT", "$"],
      ["a Set", new Set([1]), "NON_PLAIN_OBJECT", "$"],
      ["a class instance", new Point(), "NON_PLAIN_OBJECT", "$"],
      ["a Uint8Array", { bytes: new Uint8Array([1, 2]) }, "NON_PLAIN_OBJECT", "$.bytes"],
      ["a Buffer", Buffer.from("hi"), "NON_PLAIN_OBJECT", "$"],
      ["a boxed string", Object("s") as unknown, "NON_PLAIN_OBJECT", "$"],
      ["a RegExp", /x/, "NON_PLAIN_OBJECT", "$"],
      ["an Error", new Error("x"), "NON_PLAIN_OBJECT", "$"],
      ["a bigint", { n: 10n }, "NOT_JSON_VALUE", "$.n"],
      ["a function", { f: () => 1 }, "NOT_JSON_VALUE", "$.f"],
      ["an object with a toJSON method", { toJSON: () => "x" }, "NOT_JSON_VALUE", "$.toJSON"],
      ["a symbol", [Symbol("s")], "NOT_JSON_VALUE", "$[0]"],
      ["a symbol key", withSymbolKey, "NOT_JSON_VALUE", "$"],
      ["a cyclic object", cyclic, "NOT_JSON_VALUE", "$.self.back"],
      ["a cyclic array", cyclicArray, "NOT_JSON_VALUE", "$[1]"],
    ];
    for (const [what, bad, code, path] of cases) {
      describe(`when given ${what}`, function () {
        it(`throws ${code} at ${path}`, function () {
          expectEncodingError(() => canonicalBytes(bad), code, path);
          expectEncodingError(() => assertJsonValue(bad), code, path);
        });
      });
    }

    it("puts the path in the message", function () {
      const err = expectEncodingError(() => canonicalBytes({ a: [0, { b: Number.NaN }] }), "NON_FINITE_NUMBER", "$.a[1].b");
      expect(err.message).to.contain("$.a[1].b");
      expect(err.name).to.equal("EncodingError");
    });
  });
});

// Well-formed strings only: lone surrogates are refused by us and escaped by canonicalize, a tested difference above.
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }).filter((s) => s.isWellFormed()), tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 6 }),
  object: fc.dictionary(fc.string({ unit: "binary" }).filter((s) => s.isWellFormed()), tie("value"), { maxKeys: 6 }),
}));

describe("canonical encoding against the canonicalize package, an independent RFC 8785 implementation", function () {

  it("writes the same bytes for any JSON value", function () {
    fcAssert(
      fc.property(json.value, (value) => {
        expect(text(value)).to.equal(canonicalize(value));
      }),
    );
  });

  it("decodes what it encodes, and refuses the same value with its keys in another order", function () {
    fcAssert(
      fc.property(fc.dictionary(fc.string({ unit: "binary" }).filter((s) => s.isWellFormed()), json.value, { minKeys: 2, maxKeys: 6 }), (body) => {
        const entry = { v: 1, body };
        expect(decodeEntry(encodeEntry(entry))).to.deep.equal(JSON.parse(canonicalize(entry)!));
        const keys = Object.keys(body);
        const reversed = `{"body":{${keys.reverse().map((k) => `${JSON.stringify(k)}:${canonicalize(body[k])}`).join(",")}},"v":1}`;
        if (reversed !== canonicalize(entry)) expect(() => decodeEntry(utf8.encode(reversed))).to.throw(EncodingError);
      }),
    );
  });
});

describe("isCanonicalText", function () {
  const accepts = (t: string): boolean => isCanonicalText(JSON.parse(t), t);

  it("accepts canonical text", function () {
    for (const t of ['{"a":[1,{"b":"x\\n"}],"c":null,"d":-1.5e-7}', '"Ørsted"', "[]", "{}", '{"":0,"a":true}']) expect(accepts(t), t).to.equal(true);
  });

  it("never accepts text that is not canonical, or whose value has no canonical form", function () {
    const refused = ['{"b":1,"a":2}', '{"a":1,"a":1}', '{"a": 1}', "-0", "1e999", "1.0", '"\\ud800"', '"\\u0041"', '{"10":1,"9":2}', `${"[".repeat(MAX_NESTING_DEPTH + 1)}${"]".repeat(MAX_NESTING_DEPTH + 1)}`];
    for (const t of refused) expect(accepts(t), t).to.equal(false);
  });

  it("accepts only what canonicalText writes, for any JSON value written in any key order", function () {
    fcAssert(
      fc.property(json.value, (value) => {
        for (const t of [canonicalize(value)!, JSON.stringify(value)]) {
          const parsed: unknown = JSON.parse(t);
          if (isCanonicalText(parsed, t)) expect(t).to.equal(text(parsed));
        }
        const t = canonicalize(value)!;
        if (!t.includes("\\u")) expect(accepts(t), t).to.equal(true);
      }),
    );
  });
});

describe("log entries", function () {
  describe("encodeEntry", function () {
    it("is the canonical bytes of the entry", function () {
      const entry = { v: ENTRY_FORMAT_VERSION, payee: "Ørsted A/S", amount: 1250.5, tags: ["wind", "grant"] };
      expect(new TextDecoder().decode(encodeEntry(entry))).to.equal('{"amount":1250.5,"payee":"Ørsted A/S","tags":["wind","grant"],"v":1}');
    });

    it("accepts any positive safe-integer version", function () {
      for (const v of [1, 2, 17, Number.MAX_SAFE_INTEGER]) expect(() => encodeEntry({ v })).not.to.throw();
    });

    describe("when the entry has no positive integer `v`", function () {
      for (const [what, bad] of [
        ["no v", {}],
        ["v = 0", { v: 0 }],
        ["v = -1", { v: -1 }],
        ["v = 1.5", { v: 1.5 }],
        ["v = 2^53", { v: 2 ** 53 }],
        ["v = NaN", { v: Number.NaN }],
        ['v = "1"', { v: "1" }],
        ["v = null", { v: null }],
        ["v = true", { v: true }],
        ["v = [1]", { v: [1] }],
      ] as [string, unknown][]) {
        it(`throws MISSING_VERSION for ${what}`, function () {
          expectEncodingError(() => anyEncodeEntry(bad), "MISSING_VERSION", "$.v");
        });
      }
    });

    describe("when the entry is not an object", function () {
      for (const [what, bad] of [
        ["an array", [{ v: 1 }]],
        ["null", null],
        ["a string", '{"v":1}'],
        ["a number", 1],
        ["undefined", undefined],
      ] as [string, unknown][]) {
        it(`throws NOT_JSON_VALUE for ${what}`, function () {
          expectEncodingError(() => anyEncodeEntry(bad), "NOT_JSON_VALUE", "$");
        });
      }
    });

    describe("when a field cannot be encoded", function () {
      it("throws the field's EncodingError", function () {
        expectEncodingError(() => anyEncodeEntry({ v: 1, at: new Date(0) }), "NON_PLAIN_OBJECT", "$.at");
      });
    });
  });

  describe("entryLeafHash", function () {
    it("is the RFC 6962 leaf hash of the canonical bytes", function () {
      const entry = { v: 1, b: [true], a: "x" };
      expect(ref.hex(entryLeafHash(entry))).to.equal(ref.hex(ref.leafHash(utf8.encode('{"a":"x","b":[true],"v":1}'))));
    });
  });

  describe("decodeEntry", function () {
    it("returns the entry encoded by the canonical bytes", function () {
      const entry = decodeEntry(utf8.encode('{"a":[1,{"b":null}],"v":1}'));
      expect(entry).to.deep.equal({ a: [1, { b: null }], v: 1 });
    });

    it("round-trips an entry with Unicode, escapes and awkward numbers", function () {
      const entry = { v: 3, "\u{10000}": "😀\u0000\n\"", n: [1e21, 1e-7, 0.000001, -5e-324, 333333333.3333333] };
      const bytes = encodeEntry(entry);
      expect(decodeEntry(bytes)).to.deep.equal(entry);
      expect(ref.hex(encodeEntry(decodeEntry(bytes)))).to.equal(ref.hex(bytes));
    });

    it("keeps a __proto__ key as data, without touching the prototype", function () {
      const entry = decodeEntry(utf8.encode('{"__proto__":{"polluted":true},"v":1}'));
      expect(Object.getPrototypeOf(entry)).to.equal(Object.prototype);
      expect(Object.keys(entry)).to.deep.equal(["__proto__", "v"]);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    describe("when the bytes are JSON but not canonical", function () {
      for (const [what, json] of [
        ["whitespace", '{"v": 1}'],
        ["a trailing newline", '{"v":1}\n'],
        ["leading whitespace", ' {"v":1}'],
        ["unsorted keys", '{"v":1,"a":2}'],
        ["a non-canonical number", '{"v":1.0}'],
        ["an exponent", '{"v":1e0}'],
        ["a number that loses precision", '{"n":12345678901234567890,"v":1}'],
        ["an unnecessary \\u escape", '{"a":"\\u0041","v":1}'],
        ["an escaped slash", '{"a":"\\/","v":1}'],
        ["uppercase hex in an escape", '{"a":"\\u001F","v":1}'],
        ["an escaped non-ASCII character", '{"a":"\\u00e9","v":1}'],
        ["a duplicate key", '{"v":1,"v":1}'],
        ["a -0", '{"n":-0,"v":1}'],
      ]) {
        it(`throws NOT_JSON_VALUE for ${what}`, function () {
          expectEncodingError(() => decodeEntry(utf8.encode(json!)), "NOT_JSON_VALUE", "$");
        });
      }
    });

    describe("when the bytes are not valid UTF-8", function () {
      for (const [what, hex] of [
        ["a stray 0xff", "7b2276223a317dff"],
        ["an overlong encoding of NUL", "7b2261223a22c080222c2276223a317d"],
        ["an encoded surrogate (CESU-8)", "7b2261223a22eda080222c2276223a317d"],
        ["a truncated sequence", "7b2261223a22e282222c2276223a317d"],
        ["a continuation byte on its own", "7b2261223a2280222c2276223a317d"],
      ]) {
        it(`throws INVALID_UTF8 for ${what}`, function () {
          expectEncodingError(() => decodeEntry(Buffer.from(hex!, "hex")), "INVALID_UTF8", "$");
        });
      }
    });

    describe("when the bytes are not JSON", function () {
      for (const [what, s] of [
        ["empty input", ""],
        ["a JavaScript object literal", "{v:1}"],
        ["a trailing comma", '{"v":1,}'],
        ["two documents", '{"v":1}{"v":1}'],
        ["a byte-order mark", '\ufeff{"v":1}'],
        ["single quotes", "{'v':1}"],
        ["NaN", '{"n":NaN,"v":1}'],
      ]) {
        it(`throws NOT_JSON_VALUE for ${what}`, function () {
          expectEncodingError(() => decodeEntry(utf8.encode(s!)), "NOT_JSON_VALUE", "$");
        });
      }
    });

    describe("when the JSON is not an entry", function () {
      it("throws NOT_JSON_VALUE for a non-object", function () {
        for (const s of ["[]", "null", "1", '"v"']) expectEncodingError(() => decodeEntry(utf8.encode(s)), "NOT_JSON_VALUE", "$");
      });

      it("throws MISSING_VERSION for an object without a positive integer v", function () {
        for (const s of ["{}", '{"v":0}', '{"v":-1}', '{"v":"1"}', '{"v":1.5}'])
          expectEncodingError(() => decodeEntry(utf8.encode(s)), "MISSING_VERSION", "$.v");
      });

      it("throws LONE_SURROGATE for an escaped lone surrogate", function () {
        expectEncodingError(() => decodeEntry(utf8.encode('{"a":"\\ud800","v":1}')), "LONE_SURROGATE");
      });
    });

    describe("when the JSON nests deeper than MAX_NESTING_DEPTH", function () {
      it("throws NOT_JSON_VALUE instead of a RangeError", function () {
        const depth = 50_000;
        const bytes = utf8.encode(`{"a":${"[".repeat(depth)}${"]".repeat(depth)},"v":1}`);
        expectEncodingError(() => decodeEntry(bytes), "NOT_JSON_VALUE");
      });
    });
  });
});
