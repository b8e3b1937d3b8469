// A bare TCP relay in Node: every byte from a client to the upstream and back, nothing parsed,
// decided, recorded or masked (`socket.pipe` both ways, Nagle off as the gateway sets it). Not a
// product and not a result: the ceiling any Node gateway on this machine starts from, beside PgBouncer.
// Run: node bench/bare-relay.mjs <listen port> <upstream port>   (bench/hold.ts starts one with HOLD_BARE_RELAY=1)

import net from 'node:net';
import process from 'node:process';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort))
  throw new Error('usage: node bench/bare-relay.mjs <listen port> <upstream port>');

net
  .createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  })
  .listen(listenPort, '127.0.0.1', () => process.stdout.write('listening\n'));
