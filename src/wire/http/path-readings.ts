// Other paths an upstream's framework may route a request path as, besides the path itself
// (docs/security.md, class 207). Pure. Gatehouse forwards exactly the canonical path
// (canonical-path.ts), but the application behind the upstream server may read part of it as its own
// route:
//
// - PATH_INFO: a path whose segment names a script (`/index.php/admin/users`) runs that script with
//   the rest as PATH_INFO (CGI, PHP under php -S, Apache and nginx's fastcgi_split_path_info, IIS for
//   ASP.NET handlers), and front controllers route on it: CodeIgniter's default URLs, Slim, Symfony
//   and Laravel's path info. So `/index.php/admin/users` is `/admin/users` to the application.
// - A format suffix: Rails routes `/admin.json` as `/admin` with format json, and so do Spring MVC's
//   suffix patterns (before 5.3) and Django REST framework's format_suffix_patterns.
//
// Deny and review rules match these readings too (a restriction holds whichever route the
// application takes); allow rules match only the path itself, so nothing is allowed that was not.

/** Extensions of scripts a server runs with the rest of the path as PATH_INFO. */
const SCRIPT =
  /\.(?:php\d?|phtml|phar|cgi|fcgi|pl|py|rb|aspx|asmx|ashx|axd|asp|dll|exe|jsp|jspx|do|action)$/i;

/** At most this many readings of one path (a path of many script segments is still read, not all of it). */
const MAX_READINGS = 16;

/** `/admin.json` → `/admin`: the last segment up to its first `.` (not a leading one). */
function withoutSuffix(path: string): string | undefined {
  const slash = path.lastIndexOf('/');
  const last = path.slice(slash + 1);
  const dot = last.indexOf('.', 1);
  if (dot < 0) return undefined;
  return `${path.slice(0, slash + 1)}${last.slice(0, dot)}`;
}

/**
 * The other paths `path` (canonical, decoded, starting with `/`) may be routed as: the rest after each
 * script segment (PATH_INFO), and each of these and the path itself without its last segment's format
 * suffix. Without the path itself; empty when there are none.
 */
export function pathReadings(path: string): string[] {
  const out = new Set<string>();
  const segments = path.split('/');
  for (let i = 1; i < segments.length - 1 && out.size < MAX_READINGS; i++) {
    if (SCRIPT.test(segments[i]!)) out.add(`/${segments.slice(i + 1).join('/')}`);
  }
  for (const p of [path, ...out]) {
    if (out.size >= MAX_READINGS) break;
    const stripped = withoutSuffix(p);
    if (stripped !== undefined && stripped !== '/') out.add(stripped);
  }
  out.delete(path);
  return [...out];
}
