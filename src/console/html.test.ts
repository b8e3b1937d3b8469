import { describe, expect, it } from 'vitest';
import { escapeHtml, href, html, joinHtml } from './html.js';

describe('html templates', () => {
  it('escapes every interpolated value, including in attributes', () => {
    const hostile = `<img src=x onerror=alert(1)>"'\`&`;
    const out = html`<p title="${hostile}">${hostile}</p>`.toString();
    expect(out).toBe(
      '<p title="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;&amp;">&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;&amp;</p>',
    );
  });

  it('keeps nested templates and arrays of them, and drops nullish values', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    const list = html`<ul>
      ${items}${undefined}${null}${false}
    </ul>`.toString();
    expect(list.replace(/>\s+</g, '><')).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>');
    expect(joinHtml([html`<b>1</b>`, html`<b>2</b>`], '<,>').toString()).toBe('<b>1</b>&lt;,&gt;<b>2</b>');
  });

  it('cannot be forged from a plain object or string', () => {
    const fake = { toString: () => '<script>x</script>' };
    expect(html`${fake}`.toString()).not.toContain('<script>');
    expect(escapeHtml('</script>')).toBe('&lt;/script&gt;');
  });

  it('builds same-origin links with encoded values', () => {
    expect(href('/sessions', { q: 'a&b=<c>', empty: '' })).toBe('/sessions?q=a%26b%3D%3Cc%3E');
  });
});
