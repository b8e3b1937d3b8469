// A small cookie jar over fetch, like a browser on one origin: sends the cookies it was given, keeps
// the ones set (dropping those cleared or expired with Max-Age=0), never follows redirects.

export class CookieJarClient {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, in order. */
  readonly setCookieHeaders: string[] = [];

  constructor(private readonly base: () => string) {}

  async go(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${this.base()}${path}`, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
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
