// Relays bytes both ways between a client's ssh2 channel and the host's (a port forward, a subsystem
// such as sftp): data with backpressure each way (a side whose window is full pauses the other), end
// passed on, both channels closed when either closes, and the byte counts told once at the end.
// Nothing here looks at the bytes: what may be relayed was decided before the pipe was made.

import type { Duplex, Writable } from 'node:stream';

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

/**
 * After a write to a client channel: when the channel (its window) or the client's socket under it
 * is full, `from` pauses until both have room. ssh2 writes a channel's data to the socket without
 * looking at the socket's buffer, so a client that grants a large window and then reads nothing
 * would otherwise have the gateway buffer whatever the host sends.
 */
export function holdForRoom(
  wrote: boolean,
  from: { pause(): unknown; resume(): unknown },
  to: Writable,
  socket: Writable | undefined,
): void {
  if (wrote && socket?.writableNeedDrain !== true) return;
  from.pause();
  const resumeWhenRoom = (): void => {
    if (to.destroyed || socket?.destroyed) return;
    if (to.writableNeedDrain) return void to.once('drain', resumeWhenRoom);
    if (socket?.writableNeedDrain) return void socket.once('drain', resumeWhenRoom);
    from.resume();
  };
  resumeWhenRoom();
}

function relay(
  from: PipeChannel,
  to: PipeChannel,
  count: (n: number) => void,
  socket: Writable | undefined,
): void {
  from.on('data', (d: Buffer) => {
    count(d.length);
    holdForRoom(to.write(d), from, to, socket);
  });
  from.on('end', () => to.end());
}

/** `clientSocket`: the client's TCP socket under its channel (see holdForRoom). */
export function pipeBytes(
  client: PipeChannel,
  host: PipeChannel,
  onClose: (counts: BytePipeCounts) => void,
  clientSocket?: Writable,
): BytePipe {
  let toHost = 0;
  let toClient = 0;
  let done = false;
  relay(client, host, (n) => (toHost += n), undefined);
  relay(host, client, (n) => (toClient += n), clientSocket);
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
