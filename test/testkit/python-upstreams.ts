// Upstream HTTP servers from Python's standard library, a second implementation beside node's own: the
// request-framing tests (test/http-request-smuggling.test.ts) need servers that read the bytes Gatehouse
// sends as they really do. Each prints one JSON line per request it runs (method, target, the
// Authorization header it got, every header name as sent), which the test reads back.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RanRequest {
  readonly method: string;
  readonly target: string;
  readonly authorization: string | null;
  /** Header names as the server received them (http.server), or the WSGI environ keys (wsgiref). */
  readonly headers: string[];
  /** wsgiref only: environ['HTTP_X_HTTP_METHOD_OVERRIDE'], what a method-override middleware reads. */
  readonly override?: string | null;
}

export interface PythonUpstream {
  readonly url: string;
  /** Every request the server ran, in order. */
  readonly ran: RanRequest[];
  stop(): Promise<void>;
}

// http.server with keep-alive (HTTP/1.1) whose handlers answer without reading the request body, as
// many handlers written on it do (a 404, a health check, an early error). /v1/status?code=N&h=Name:value
// answers the status and headers the caller names (as httpbin's /status does), then goes on reading.
const HTTP_SERVER = `
import json, sys
from urllib.parse import urlsplit, parse_qs
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def answer(self):
        print(json.dumps({'method': self.command, 'target': self.path,
                          'authorization': self.headers.get('authorization'),
                          'headers': list(self.headers.keys())}), flush=True)
        q = parse_qs(urlsplit(self.path).query) if self.path.startswith('/v1/status') else {}
        code = int(q.get('code', ['200'])[0])
        self.send_response(code)
        for h in q.get('h', []):
            self.send_header(*h.split(':', 1))
        if code == 101:
            return self.end_headers()
        body = ('ran %s %s\\n' % (self.command, self.path)).encode()
        self.send_header('content-type', 'text/plain')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer
    def log_message(self, *a): pass
s = ThreadingHTTPServer(('127.0.0.1', 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
`;

// wsgiref: a WSGI server, as Flask/Django/werkzeug apps see requests. Header names become environ keys
// with "-" turned to "_", so X-Foo and X_Foo are one key.
const WSGIREF = `
import json
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
def app(environ, start_response):
    print(json.dumps({'method': environ['REQUEST_METHOD'], 'target': environ.get('PATH_INFO', ''),
                      'authorization': environ.get('HTTP_AUTHORIZATION'),
                      'override': environ.get('HTTP_X_HTTP_METHOD_OVERRIDE'),
                      'headers': sorted(k for k in environ if k.startswith('HTTP_'))}), flush=True)
    body = ('ran %s %s\\n' % (environ.get('HTTP_X_HTTP_METHOD_OVERRIDE') or environ['REQUEST_METHOD'],
                              environ.get('PATH_INFO', ''))).encode()
    start_response('200 OK', [('content-type', 'text/plain'), ('content-length', str(len(body)))])
    return [body]
s = make_server('127.0.0.1', 0, app, handler_class=Quiet)
print(s.server_address[1], flush=True)
s.serve_forever()
`;

export function startPythonUpstream(kind: 'http.server' | 'wsgiref'): Promise<PythonUpstream> {
  const child: ChildProcess = spawn('python3', ['-c', kind === 'wsgiref' ? WSGIREF : HTTP_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ran: RanRequest[] = [];
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`python3 ${kind} exited with ${code}`)));
    lines.once('line', (first) => {
      lines.on('line', (line) => ran.push(JSON.parse(line) as RanRequest));
      resolve({
        url: `http://127.0.0.1:${Number(first)}`,
        ran,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill();
          }),
      });
    });
  });
}
