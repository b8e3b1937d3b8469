// XML character data helpers for AWS responses: entity decoding/encoding and reading one element's
// text. Not an XML parser: no DTDs, no namespaces beyond ignoring a prefix.

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the five predefined entities and character references (XML 1.0 §4.1, §4.6). */
export function decodeXmlText(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|lt|gt|amp|quot|apos);/g, (_, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return NAMED[ref]!;
  });
}

export function encodeXmlText(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as const)[c as '&']};`,
  );
}

/** The decoded text of the first `<name>…</name>` (any namespace prefix), or undefined. */
export function readXmlElement(xml: string, localName: string): string | undefined {
  const re = new RegExp(
    `<(?:[A-Za-z_][\\w.-]*:)?${localName}(?:\\s[^>]*)?>([^<]*)</(?:[A-Za-z_][\\w.-]*:)?${localName}\\s*>`,
  );
  const m = re.exec(xml);
  return m ? decodeXmlText(m[1]!) : undefined;
}
