/**
 * A small strict XML 1.0 reader for tests: it refuses what is not well-formed
 * (mismatched or unclosed tags, a bare `&` or `<` in text, an unknown entity,
 * an unquoted or repeated attribute, a second root, a DOCTYPE, characters XML
 * cannot carry) and returns the element tree. Namespaces are not resolved:
 * names are kept as written. No new dependency for the feed tests.
 */

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own character data (its children's excluded), entities decoded. */
  readonly text: string;
}

export class XmlError extends Error {
  override readonly name = "XmlError";
}

const NAME = /^[A-Za-z_:][A-Za-z0-9._:-]*/;
const PREDEFINED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const BAD_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function decode(raw: string, at: number): string {
  if (BAD_CHAR.test(raw)) throw new XmlError(`a character XML cannot carry near offset ${at}`);
  return raw.replace(/&([^;]*);|&/g, (m, ref: string | undefined) => {
    if (ref === undefined) throw new XmlError(`a bare '&' near offset ${at}`);
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const num = /^#x([0-9A-Fa-f]+)$/.exec(ref) ?? /^#([0-9]+)$/.exec(ref);
    if (num === null) throw new XmlError(`unknown entity &${ref}; near offset ${at}`);
    const cp = parseInt(num[1]!, ref.startsWith("#x") ? 16 : 10);
    const ch = String.fromCodePoint(cp);
    if (BAD_CHAR.test(ch)) throw new XmlError(`character reference &${ref}; is not an XML character`);
    return ch;
  });
}

/** Parses `text` strictly; throws XmlError on anything not well-formed. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const skipMisc = () => {
    for (;;) {
      const ws = /^[ \t\r\n]*/.exec(text.slice(i))![0];
      i += ws.length;
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) throw new XmlError("unclosed comment");
        i = end + 3;
      } else if (text.startsWith("<?", i) && !text.startsWith("<?xml ", i)) {
        const end = text.indexOf("?>", i);
        if (end < 0) throw new XmlError("unclosed processing instruction");
        i = end + 2;
      } else return;
    }
  };
  if (text.startsWith("<?xml ")) {
    const end = text.indexOf("?>");
    if (end < 0 || !/^<\?xml version="1\.[0-9]"( encoding="[A-Za-z0-9._-]+")?( standalone="(yes|no)")? ?\?>$/.test(text.slice(0, end + 2)))
      throw new XmlError("malformed XML declaration");
    i = end + 2;
  }
  skipMisc();
  if (text.startsWith("<!DOCTYPE", i)) throw new XmlError("a DOCTYPE is not expected here");

  const element = (): XmlElement => {
    if (text[i] !== "<") throw new XmlError(`expected an element at offset ${i}`);
    i += 1;
    const name = NAME.exec(text.slice(i))?.[0];
    if (name === undefined) throw new XmlError(`expected an element name at offset ${i}`);
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^[ \t\r\n]*/.exec(text.slice(i))![0];
      i += ws.length;
      if (text.startsWith("/>", i)) {
        i += 2;
        return { name, attrs, children: [], text: "" };
      }
      if (text[i] === ">") {
        i += 1;
        break;
      }
      if (ws.length === 0) throw new XmlError(`expected whitespace before an attribute at offset ${i}`);
      const a = NAME.exec(text.slice(i))?.[0];
      if (a === undefined) throw new XmlError(`expected an attribute name at offset ${i}`);
      i += a.length;
      const m = /^[ \t\r\n]*=[ \t\r\n]*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(i));
      if (m === null) throw new XmlError(`attribute ${a} has no quoted value at offset ${i}`);
      if (a in attrs) throw new XmlError(`attribute ${a} repeated`);
      attrs[a] = decode(m[2] ?? m[3]!, i);
      i += m[0].length;
    }
    const children: XmlElement[] = [];
    let own = "";
    for (;;) {
      if (i >= text.length) throw new XmlError(`element ${name} is not closed`);
      if (text.startsWith("</", i)) {
        const m = /^<\/([A-Za-z_:][A-Za-z0-9._:-]*)[ \t\r\n]*>/.exec(text.slice(i));
        if (m === null || m[1] !== name) throw new XmlError(`expected </${name}> at offset ${i}`);
        i += m[0].length;
        return { name, attrs, children, text: own };
      }
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) throw new XmlError("unclosed comment");
        i = end + 3;
      } else if (text.startsWith("<![CDATA[", i)) {
        const end = text.indexOf("]]>", i);
        if (end < 0) throw new XmlError("unclosed CDATA section");
        own += text.slice(i + 9, end);
        i = end + 3;
      } else if (text[i] === "<") children.push(element());
      else {
        const next = text.indexOf("<", i);
        const raw = text.slice(i, next < 0 ? text.length : next);
        if (raw.includes("]]>")) throw new XmlError("']]>' in character data");
        own += decode(raw, i);
        i += raw.length;
      }
    }
  };
  const root = element();
  skipMisc();
  if (i !== text.length) throw new XmlError(`content after the root element at offset ${i}`);
  return root;
}

/** The children of `e` named `name`. */
export function childrenNamed(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c) => c.name === name);
}

/** The one child of `e` named `name`; throws unless there is exactly one. */
export function child(e: XmlElement, name: string): XmlElement {
  const found = childrenNamed(e, name);
  if (found.length !== 1) throw new XmlError(`${e.name} has ${found.length} <${name}> children, expected 1`);
  return found[0]!;
}
