// A CloudFormation template parameter declared `NoEcho: true` is one its service marks secret:
// CloudFormation shows its value as `****` wherever it describes the stack. Its `Default`, written in
// the template, is not: GetTemplate hands the template back as written, and GetTemplateSummary lists
// the parameter's `DefaultValue` beside `NoEcho` (docs/security.md, class 368). This reads a template
// in text (YAML, or JSON, which YAML reads too) for the spans of those defaults; JSON documents and
// XML elements read the `NoEcho` member beside them (json-masking.ts, xml-masking.ts).
//
// Any mapping whose `NoEcho` is true (`true`, `"true"`, any case) has its `Default` masked, wherever it
// is in the document: a template's Parameters, and the same declaration inside a nested stack or a
// stack set's template. A text that says `NoEcho` and that YAML cannot read has every `Default:`
// value masked: more is masked rather than less.

import { isPair, isScalar, parseDocument, visit, type Node } from 'yaml';

/** The tag a NoEcho parameter's default is masked under. */
export const NO_ECHO_TAG = 'noecho';

/** Whether a `NoEcho` member's value declares the parameter NoEcho. */
export function isNoEchoTrue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

/** Whether a member name is a NoEcho parameter's default (`Default`; GetTemplateSummary's `DefaultValue`). */
export function isNoEchoDefaultKey(key: string): boolean {
  const k = key.toLowerCase();
  return k === 'default' || k === 'defaultvalue';
}

/** Texts longer than this that name NoEcho are not parsed: every `Default:` in them is masked. */
const MAX_PARSED_CHARS = 1024 * 1024;

const DEFAULT_LINE = /(^|[\s{,])(["']?)(Default(?:Value)?)\2[ \t]*:[ \t]*/gi;

/** Start and end of each NoEcho default's value in `text` (end exclusive), in text order. */
export function noEchoDefaultSpans(text: string): [number, number][] {
  if (!/noecho/i.test(text)) return [];
  const parsed = text.length <= MAX_PARSED_CHARS ? parsedSpans(text) : undefined;
  return parsed ?? everyDefault(text);
}

function parsedSpans(text: string): [number, number][] | undefined {
  let doc;
  try {
    doc = parseDocument(text, { strict: false, uniqueKeys: false, prettyErrors: false });
  } catch {
    return undefined;
  }
  if (doc.errors.length > 0) return undefined;
  const out: [number, number][] = [];
  visit(doc, {
    Map(_, map) {
      let noEcho = false;
      for (const item of map.items) {
        if (!isPair(item) || !isScalar(item.key)) continue;
        if (String(item.key.value).toLowerCase() === 'noecho' && isScalar(item.value))
          noEcho ||= isNoEchoTrue(item.value.value);
      }
      if (!noEcho) return;
      for (const item of map.items) {
        if (!isPair(item) || !isScalar(item.key) || !isNoEchoDefaultKey(String(item.key.value))) continue;
        const value = item.value as Node | null;
        const range = value?.range;
        if (!range) continue;
        let end = range[1];
        while (end > range[0] && /\s/.test(text[end - 1]!)) end--;
        if (end > range[0]) out.push([range[0], end]);
      }
    },
  });
  return out.sort((a, b) => a[0] - b[0]);
}

/** Every `Default:` value to the end of its line (or its flow mapping's next `,` or `}`). */
function everyDefault(text: string): [number, number][] {
  const out: [number, number][] = [];
  const re = new RegExp(DEFAULT_LINE.source, DEFAULT_LINE.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = re.lastIndex;
    let end = start;
    const q = text[start];
    if (q === '"' || q === "'") {
      end = start + 1;
      while (end < text.length && text[end] !== q) end += text[end] === '\\' && q === '"' ? 2 : 1;
      end = Math.min(text.length, end + 1);
    } else {
      while (end < text.length && !/[\r\n,}]/.test(text[end]!)) end++;
      while (end > start && /\s/.test(text[end - 1]!)) end--;
    }
    if (end > start) out.push([start, end]);
  }
  return out;
}
