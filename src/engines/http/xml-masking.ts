// Masks an XML response body (S3 and the query protocols: IAM, STS…): the text of elements whose name is
// a sensitive field (and everything nested in them) is masked whole; all other character data and
// attribute values are scanned by the detector set. Tags, order and formatting are kept.
//
// A small tokenizer, not a validating parser: it understands elements, attributes, comments, CDATA and
// processing instructions. A document it cannot follow (DOCTYPE, unbalanced tags) is masked as plain text.

import type { DetectorSet, MaskResult, MaskStyle } from '../../masking/index.js';
import type { FieldMatcher } from './field-names.js';
import { decodeXmlText, encodeXmlText } from './xml-text.js';

class InvalidXml extends Error {}

interface Frame {
  readonly name: string;
  /** Field tag when this element, or an ancestor, is a sensitive field. */
  readonly tag: string | undefined;
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

class XmlMasker {
  private readonly pieces: string[] = [];
  private copied = 0;
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly xml: string,
    private readonly set: DetectorSet,
    private readonly style: MaskStyle,
    private readonly fields: FieldMatcher,
  ) {}

  private count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }

  private replace(start: number, end: number, text: string): void {
    this.pieces.push(this.xml.slice(this.copied, start), text);
    this.copied = end;
  }

  /** Masks the character data xml[start, end) (entity-encoded unless cdata). */
  private text(start: number, end: number, tag: string | undefined, cdata: boolean): void {
    const raw = this.xml.slice(start, end);
    if (raw.trim() === '') return;
    const value = cdata ? raw : decodeXmlText(raw);
    const encode = (s: string): string => (cdata ? s.replaceAll(']]>', ']]]]><![CDATA[>') : encodeXmlText(s));
    if (tag !== undefined) {
      const masked = this.set.maskWhole(value, this.style, tag) ?? `[REDACTED:${tag}]`;
      if (masked !== value) {
        this.replace(start, end, encode(masked));
        this.count(tag);
      }
      return;
    }
    const r = this.set.mask(value, this.style, 'text');
    if (r) {
      this.replace(start, end, encode(r.text));
      for (const [k, v] of Object.entries(r.counts)) this.count(k, v);
    }
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
        } else this.text(pos, textEnd, stack[stack.length - 1]!.tag, false);
      }
      if (lt < 0) break;
      if (x.startsWith('<!--', lt)) {
        const end = x.indexOf('-->', lt + 4);
        if (end < 0) throw new InvalidXml();
        pos = end + 3;
      } else if (x.startsWith('<![CDATA[', lt)) {
        const end = x.indexOf(']]>', lt + 9);
        if (end < 0 || stack.length === 0) throw new InvalidXml();
        this.text(lt + 9, end, stack[stack.length - 1]!.tag, true);
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
        pos = end + 1;
      } else {
        pos = this.startTag(lt, stack);
      }
    }
    if (stack.length !== 0) throw new InvalidXml();
    if (this.pieces.length === 0) return null;
    return this.pieces.join('') + x.slice(this.copied);
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
        stack.push({ name, tag });
        return p + 1;
      }
      if (x.startsWith('/>', p)) return p + 2;
      const attr = /^([A-Za-z_][\w.:-]*)\s*=\s*(["'])/.exec(x.slice(p, p + 300));
      if (!attr) throw new InvalidXml();
      const quote = attr[2]!;
      const valueStart = p + attr[0].length;
      const valueEnd = x.indexOf(quote, valueStart);
      if (valueEnd < 0) throw new InvalidXml();
      const attrName = localName(attr[1]!);
      if (!attr[1]!.startsWith('xmlns')) this.text(valueStart, valueEnd, tag ?? this.fields(attrName), false);
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
  const m = new XmlMasker(xml, set, style, fields);
  try {
    const out = m.run();
    return out === null ? null : { text: out, counts: m.counts, isNull: false };
  } catch (e) {
    if (!(e instanceof InvalidXml)) throw e;
    return asText(xml);
  }
}
