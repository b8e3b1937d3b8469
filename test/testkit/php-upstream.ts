// PHP's built-in server (`php -S`) as an upstream: the parameter and header names PHP hands an
// application are PHP's own reading of the request (`.` and ` ` in a parameter name read as `_`; `-`
// and then `.` in a header name read as `_`), which is what Laravel and Symfony see.
// Its one script runs Symfony's Request::getMethod() with the method-override parameter enabled (as
// Laravel's HTTP kernel does) and prints one JSON line per request it runs.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './free-port.js';

export interface PhpRan {
  /** The method the application ran (after any override). */
  readonly method: string;
  readonly uri: string;
}

export interface PhpUpstream {
  readonly url: string;
  readonly ran: PhpRan[];
  stop(): Promise<void>;
}

const SCRIPT = `<?php
$method = $_SERVER['REQUEST_METHOD'];
if ($method === 'POST') {
  $o = $_SERVER['HTTP_X_HTTP_METHOD_OVERRIDE'] ?? null;
  if (!$o) $o = $_POST['_method'] ?? ($_GET['_method'] ?? 'POST');
  if (is_string($o)) $method = strtoupper($o);
}
file_put_contents('php://stdout', json_encode(['method' => $method, 'uri' => $_SERVER['REQUEST_URI']]) . "\\n");
header('Content-Type: text/plain');
echo "ran $method\\n";
`;

export function hasPhp(): boolean {
  return spawnSync('sh', ['-c', 'command -v php']).status === 0;
}

/**
 * The names among `keys` (raw query parameter names, percent-encoded) that PHP reads as `_method`,
 * a string or an array, by its own query parser (parse_str, the one $_GET is filled by).
 */
export function phpReadsAsMethod(keys: readonly string[]): string[] {
  const code =
    '$keys = json_decode(stream_get_contents(STDIN)); $out = [];' +
    'foreach ($keys as $k) { $o = []; parse_str($k . "=DELETE", $o); if (isset($o["_method"])) $out[] = $k; }' +
    'echo json_encode($out);';
  const r = spawnSync('php', ['-r', code], { input: JSON.stringify(keys), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`php -r failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

export async function startPhpUpstream(): Promise<PhpUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-php-'));
  writeFileSync(join(dir, 'index.php'), SCRIPT);
  return startPhpServer(dir, [join(dir, 'index.php')]);
}

/** `php -S` on a free port in `dir` with `args` (a router script, or `-t <docroot>`), until it listens. */
async function startPhpServer(dir: string, args: readonly string[]): Promise<PhpUpstream> {
  const port = await freePort();
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const ran: PhpRan[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) ran.push(JSON.parse(line) as PhpRan);
  });
  const stop = () =>
    new Promise<void>((done) => {
      rmSync(dir, { recursive: true, force: true });
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill();
    });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return { url: `http://127.0.0.1:${port}`, ran, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error('php -S did not start');
}

/**
 * PHP's built-in server in document-root mode, with a front controller at `/v1/index.php` that routes
 * on PATH_INFO, as CodeIgniter's default URLs and Slim do: `GET /v1/index.php/admin/users` runs the
 * script with PATH_INFO `/admin/users`, the route the application takes. `ran` holds each route run.
 */
export async function startPhpFrontController(): Promise<PhpUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-php-fc-'));
  mkdirSync(join(dir, 'v1'));
  writeFileSync(
    join(dir, 'v1', 'index.php'),
    `<?php
$route = $_SERVER['PATH_INFO'] ?? '/';
file_put_contents('php://stdout', json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'uri' => $route]) . "\\n");
header('Content-Type: text/plain');
echo "route $route\\n";
`,
  );
  return startPhpServer(dir, ['-t', dir]);
}
