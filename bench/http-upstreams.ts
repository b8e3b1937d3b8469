// The HTTP benchmark's upstreams, in their own process (so they do not share the bench's thread): a
// small JSON API on node:http and the demo's local S3 stand-in (s3rver) with its bucket. Prints one
// JSON line with their addresses, then serves until SIGINT or SIGTERM.
// Run by bench/run.ts: node --import tsx bench/http-upstreams.ts <dir>

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startLocalS3 } from '../src/demo/local-s3.js';
import { freeLoopbackPort } from '../src/demo/free-loopback-port.js';
import { API_BODY } from './http-api-body.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: http-upstreams.ts <dir>');

const body = Buffer.from(API_BODY);
const api = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
api.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiPort = (api.address() as { port: number }).port;

const s3 = await startLocalS3(dir, await freeLoopbackPort());
process.stdout.write(
  JSON.stringify({
    api: `http://127.0.0.1:${apiPort}`,
    s3: {
      url: s3.url,
      accessKeyId: s3.accessKeyId,
      secretFile: s3.secretFile,
      secretAccessKey: readFileSync(s3.secretFile, 'utf8').trim(),
    },
  }) + '\n',
);

const stop = () => {
  api.close();
  void s3.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
