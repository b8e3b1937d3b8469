// Relays bytes both ways between a client's ssh2 channel and the host's (a port forward, a subsystem
// such as sftp): data with backpressure each way (a side whose window is full pauses the other), end
// passed on, both channels closed when either closes, and the byte counts told once at the end.
// Nothing here looks at the bytes: what may be relayed was decided before the pipe was made.

import type { Duplex } from 'node:stream';

/** An ssh2 channel as the pipe uses it (ServerChannel and ClientChannel both are). */
export type PipeChannel = Duplex & { close(): void };

export interface BytePipeCounts {
  readonly toHost: number;
  readonly toClient: number;
}

export interface BytePipe {
  /** Closes both channels; `onClose` is told (once). */
  close(): void;
}

function relay(from: PipeChannel, to: PipeChannel, count: (n: number) => void): void {
  from.on('data', (d: Buffer) => {
    count(d.length);
    if (!to.write(d)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
}

export function pipeBytes(
  client: PipeChannel,
  host: PipeChannel,
  onClose: (counts: BytePipeCounts) => void,
): BytePipe {
  let toHost = 0;
  let toClient = 0;
  let done = false;
  relay(client, host, (n) => (toHost += n));
  relay(host, client, (n) => (toClient += n));
  const close = (): void => {
    if (done) return;
    done = true;
    client.close();
    host.close();
    onClose({ toHost, toClient });
  };
  client.on('close', close);
  host.on('close', close);
  // Errors end the pipe (a reset under a forward); the close that follows is what settles it.
  client.on('error', close);
  host.on('error', close);
  return { close };
}
