// A small cookie jar over fetch, like a browser on one origin: sends the cookies it was given, keeps
// the ones set (dropping those cleared or expired with Max-Age=0), never follows redirects. Like the
// pages' script (src/api/browser-binding.ts) it keeps the binding secret a sign-in hands over, per
// storage key, and sends it with every request (header `x-gatehouse-bind`); `script: false` is a
// program holding only the cookies.

const BIND_KEY = /<meta name="gatehouse-bind-key" content="([^"]+)"/;
const BIND = /<meta name="gatehouse-bind" content="([^"]+)" data-next="([^"]*)"/;
const BIND_CLEAR = /<meta name="gatehouse-bind-clear"/;

export class CookieJarClient {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, in order. */
  readonly setCookieHeaders: string[] = [];
  /** The origin storage of the binding script: storage key → secret. */
  readonly storage = new Map<string, string>();
  /** Where the last sign-in's binding page goes on to. */
  nextAfterSignIn: string | undefined;

  constructor(
    private readonly base: () => string,
    private readonly opts: { script?: boolean } = {},
  ) {}

  /** The storage key of the pages at `path` (the approval pages' and the console's are apart). */
  static keyFor(path: string): string {
    return path.startsWith('/approvals') ? 'gatehouse.approvals' : 'gatehouse.console';
  }

  async go(path: string, init: RequestInit = {}): Promise<Response> {
    const secret = this.opts.script === false ? undefined : this.storage.get(CookieJarClient.keyFor(path));
    const res = await fetch(`${this.base()}${path}`, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(secret ? { 'x-gatehouse-bind': secret } : {}),
        ...(init.headers as Record<string, string>),
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    if (this.opts.script !== false && /text\/html/.test(res.headers.get('content-type') ?? '')) {
      const text = await res.clone().text();
      const key = BIND_KEY.exec(text)?.[1];
      const given = BIND.exec(text);
      if (key && given) {
        this.storage.set(key, given[1]!);
        this.nextAfterSignIn = given[2]!.replace(/&#38;/g, '&');
      } else if (key && BIND_CLEAR.test(text)) this.storage.delete(key);
    }
    for (const c of res.headers.getSetCookie()) {
      this.setCookieHeaders.push(c);
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (!value || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** A form post (application/x-www-form-urlencoded), with any more headers. */
  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.go(path, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }
}
