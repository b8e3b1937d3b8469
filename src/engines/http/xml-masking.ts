// Masks an XML response body (S3 and the query protocols: IAM, STS…): the text of elements whose name is
// a sensitive field (and everything nested in them) is masked whole; all other character data and
// attribute values are scanned by the detector set. Tags, order and formatting are kept.
//
// A small tokenizer, not a validating parser: it understands elements, attributes, comments, CDATA and
// processing instructions. A document it cannot follow (DOCTYPE, unbalanced tags) is masked as plain text.

import {
  isNoEchoDefaultKey,
  isNoEchoTrue,
  NO_ECHO_TAG,
  pairMemberRole,
  secretTypeTag,
  type DetectorSet,
  type MaskResult,
  type MaskStyle,
} from '../../masking/index.js';
import type { FieldMatcher } from './field-names.js';
import { decodeXmlText, encodeXmlText } from './xml-text.js';

class InvalidXml extends Error {}

/** An element holding character data only: its local name, its text and where that text is. */
interface Leaf {
  readonly local: string;
  readonly value: string;
  readonly runs: readonly (readonly [number, number, boolean])[];
}

interface Frame {
  readonly name: string;
  /** Field tag when this element, or an ancestor, is a sensitive field. */
  readonly tag: string | undefined;
  /** Its character data (start, end, whether CDATA), while it has no child element. */
  runs: [number, number, boolean][] | undefined;
  /** Its children that hold character data only. */
  readonly leaves: Leaf[];
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

/**
 * A text that may hold a field's name before its value: `=`, a table's `|`, a line break, an escape or
 * markup, or a `:` before a blank or a quote (`key: value`, `"key":`); not an ARN's or a time's `:`.
 */
const MAY_HOLD_FIELDS = /[=|\r\n<&\\%]|:[\s"'{[]|[A-Za-z0-9_"']:$/;

class XmlMasker {
  /** Each masked span of the text, by its start: its end, what replaces it and the counts it adds. */
  private readonly masked = new Map<number, { end: number; text: string; counts: Record<string, number> }>();

  constructor(
    private readonly xml: string,
    private readonly set: DetectorSet,
    private readonly style: MaskStyle,
    private readonly fields: FieldMatcher,
    private readonly asValue: (text: string) => MaskResult | null,
  ) {}

  /** An attribute's value: whole under a sensitive name, else by the detectors. */
  private attribute(start: number, end: number, tag: string | undefined): void {
    const raw = this.xml.slice(start, end);
    if (raw.trim() === '') return;
    const value = decodeXmlText(raw);
    if (tag !== undefined) return this.whole(start, end, false, value, tag);
    const r = this.set.mask(value, this.style, 'text');
    if (r) this.replace(start, end, encodeXmlText(r.text), r.counts);
  }

  private replace(start: number, end: number, text: string, counts: Record<string, number>): void {
    this.masked.set(start, { end, text, counts });
  }

  /**
   * Masks the character data xml[start, end) (entity-encoded unless cdata): whole under a sensitive
   * field's tag; else as a JSON string value is (json-masking.ts): a JSON document in it as JSON, a
   * text by the field names it holds (a template's `MasterUserPassword: …`), then the detectors.
   */
  private text(start: number, end: number, tag: string | undefined, cdata: boolean): void {
    const raw = this.xml.slice(start, end);
    if (raw.trim() === '') return;
    const value = cdata ? raw : decodeXmlText(raw);
    if (tag !== undefined) return this.whole(start, end, cdata, value, tag);
    // A bare scalar (an id, a number, a date) is scanned as before; anything that may be a document is read as one.
    const first = value.trimStart()[0];
    const r =
      first === '{' || first === '[' || MAY_HOLD_FIELDS.test(value)
        ? this.asValue(value)
        : this.set.mask(value, this.style, 'text');
    if (r) this.replace(start, end, this.encode(r.text, cdata), r.counts);
  }

  private encode(s: string, cdata: boolean): string {
    return cdata ? s.replaceAll(']]>', ']]]]><![CDATA[>') : encodeXmlText(s);
  }

  private whole(start: number, end: number, cdata: boolean, value: string, tag: string): void {
    const masked = this.set.maskWhole(value, this.style, tag) ?? `[REDACTED:${tag}]`;
    if (masked !== value) this.replace(start, end, this.encode(masked, cdata), { [tag]: 1 });
  }

  /**
   * An element's children read as a JSON object's members are (json-masking.ts): a name/value pair
   * (`<ParameterKey>DbPassword</ParameterKey><ParameterValue>…`, `<OptionName>DB_PASSWORD</OptionName>
   * <Value>…`, `<Name>…</Name><Value>…`) has its value masked whole when its name is a sensitive key,
   * as does a value beside `<Type>SecureString</Type>`; a default beside `<NoEcho>true</NoEcho>` is
   * (docs/security.md, class 367, 368). Whichever comes first.
   */
  private pairs(frame: Frame): void {
    if (frame.tag !== undefined || frame.leaves.length < 2) return;
    let pairTag: string | undefined;
    let noEcho = false;
    for (const leaf of frame.leaves) {
      const role = pairMemberRole(leaf.local);
      if (role === 'name') pairTag ??= this.fields(leaf.value);
      pairTag ??= secretTypeTag(leaf.local, leaf.value);
      if (leaf.local.toLowerCase() === 'noecho') noEcho ||= isNoEchoTrue(leaf.value);
    }
    for (const leaf of frame.leaves) {
      const tag =
        pairTag !== undefined && pairMemberRole(leaf.local) === 'value'
          ? pairTag
          : noEcho && isNoEchoDefaultKey(leaf.local)
            ? NO_ECHO_TAG
            : undefined;
      if (tag === undefined) continue;
      for (const [start, end, cdata] of leaf.runs) {
        const raw = this.xml.slice(start, end);
        if (raw.trim() === '') continue;
        this.whole(start, end, cdata, cdata ? raw : decodeXmlText(raw), tag);
      }
    }
  }

  private charData(stack: Frame[], start: number, end: number, cdata: boolean): void {
    const top = stack[stack.length - 1]!;
    this.text(start, end, top.tag, cdata);
    top.runs?.push([start, end, cdata]);
  }

  run(): string | null {
    const x = this.xml;
    const stack: Frame[] = [];
    let pos = 0;
    for (;;) {
      const lt = x.indexOf('<', pos);
      const textEnd = lt < 0 ? x.length : lt;
      if (textEnd > pos) {
        if (stack.length === 0) {
          if (x.slice(pos, textEnd).trim() !== '') throw new InvalidXml();
        } else this.charData(stack, pos, textEnd, false);
      }
      if (lt < 0) break;
      if (x.startsWith('<!--', lt)) {
        const end = x.indexOf('-->', lt + 4);
        if (end < 0) throw new InvalidXml();
        pos = end + 3;
      } else if (x.startsWith('<![CDATA[', lt)) {
        const end = x.indexOf(']]>', lt + 9);
        if (end < 0 || stack.length === 0) throw new InvalidXml();
        this.charData(stack, lt + 9, end, true);
        pos = end + 3;
      } else if (x.startsWith('<?', lt)) {
        const end = x.indexOf('?>', lt + 2);
        if (end < 0) throw new InvalidXml();
        pos = end + 2;
      } else if (x.startsWith('<!', lt)) {
        // DOCTYPE and other declarations: not something an API response needs; do not guess.
        throw new InvalidXml();
      } else if (x.startsWith('</', lt)) {
        const end = x.indexOf('>', lt + 2);
        if (end < 0) throw new InvalidXml();
        const name = x.slice(lt + 2, end).trim();
        const top = stack.pop();
        if (top === undefined || top.name !== name) throw new InvalidXml();
        this.closed(top, stack);
        pos = end + 1;
      } else {
        pos = this.startTag(lt, stack);
      }
    }
    if (stack.length !== 0) throw new InvalidXml();
    if (this.masked.size === 0) return null;
    const pieces: string[] = [];
    let copied = 0;
    for (const start of [...this.masked.keys()].sort((a, b) => a - b)) {
      const m = this.masked.get(start)!;
      pieces.push(x.slice(copied, start), m.text);
      copied = m.end;
      for (const [k, v] of Object.entries(m.counts)) this.counts[k] = (this.counts[k] ?? 0) + v;
    }
    return pieces.join('') + x.slice(copied);
  }

  readonly counts: Record<string, number> = {};

  /** An element ended: its children are read as pairs, and it is a leaf of its parent if it holds text only. */
  private closed(frame: Frame, stack: Frame[]): void {
    this.pairs(frame);
    const parent = stack[stack.length - 1];
    if (parent === undefined) return;
    parent.runs = undefined;
    if (frame.runs !== undefined) {
      const value = frame.runs
        .map(([s, e, cdata]) => (cdata ? this.xml.slice(s, e) : decodeXmlText(this.xml.slice(s, e))))
        .join('');
      parent.leaves.push({ local: localName(frame.name), value, runs: frame.runs });
    }
  }

  /** Reads `<name attr="v" …>` or `<name …/>` at lt; masks attribute values; returns the position after it. */
  private startTag(lt: number, stack: Frame[]): number {
    const x = this.xml;
    const nameMatch = /^[A-Za-z_][\w.:-]*/.exec(x.slice(lt + 1, lt + 1 + 256));
    if (!nameMatch) throw new InvalidXml();
    const name = nameMatch[0];
    const parentTag = stack.length > 0 ? stack[stack.length - 1]!.tag : undefined;
    const tag = parentTag ?? this.fields(localName(name));
    let p = lt + 1 + name.length;
    for (;;) {
      while (p < x.length && /\s/.test(x[p]!)) p++;
      if (p >= x.length) throw new InvalidXml();
      if (x[p] === '>') {
        stack.push({ name, tag, runs: [], leaves: [] });
        return p + 1;
      }
      if (x.startsWith('/>', p)) {
        const parent = stack[stack.length - 1];
        if (parent) parent.runs = undefined;
        return p + 2;
      }
      const attr = /^([A-Za-z_][\w.:-]*)\s*=\s*(["'])/.exec(x.slice(p, p + 300));
      if (!attr) throw new InvalidXml();
      const quote = attr[2]!;
      const valueStart = p + attr[0].length;
      const valueEnd = x.indexOf(quote, valueStart);
      if (valueEnd < 0) throw new InvalidXml();
      const attrName = localName(attr[1]!);
      if (!attr[1]!.startsWith('xmlns')) this.attribute(valueStart, valueEnd, tag ?? this.fields(attrName));
      p = valueEnd + 1;
    }
  }
}

/**
 * Masks an XML text; null when nothing changed. A document the tokenizer cannot follow (a DOCTYPE,
 * unbalanced tags) is masked by `asText`: the field names of text (src/masking/text-fields.ts, which
 * read an element's content by its name too, class 241) with the detectors — not the detectors alone,
 * which let `<!DOCTYPE x><password>…</password>` through.
 */
export function maskXmlText(
  xml: string,
  set: DetectorSet,
  style: MaskStyle,
  fields: FieldMatcher,
  asText: (text: string) => MaskResult | null,
): MaskResult | null {
  const m = new XmlMasker(xml, set, style, fields, asText);
  try {
    const out = m.run();
    return out === null ? null : { text: out, counts: m.counts, isNull: false };
  } catch (e) {
    if (!(e instanceof InvalidXml)) throw e;
    return asText(xml);
  }
}
