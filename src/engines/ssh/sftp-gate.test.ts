import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PipeChannel } from './byte-pipe.js';
import { pipeSftp, sftpOperation } from './sftp-gate.js';

/** A channel end: what is written to it is kept; `feed` makes it emit data; close() closes it. */
function fakeChannel(): PipeChannel & { written: Buffer[]; feed(b: Buffer): void; shut: boolean } {
  const written: Buffer[] = [];
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  }) as Duplex & { close(): void; written: Buffer[]; feed(b: Buffer): void; shut: boolean };
  d.written = written;
  d.shut = false;
  d.feed = (b) => d.push(b);
  d.close = () => {
    if (d.shut) return;
    d.shut = true;
    d.emit('close');
  };
  return d;
}

/** An INIT or VERSION packet: length, type, version. */
function versionPacket(type: number, version: number): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt32BE(5);
  b[4] = type;
  b.writeUInt32BE(version, 5);
  return b;
}

/** An SFTP packet: length, type, id, then each field (a Buffer/string as an SSH string, a number as uint32). */
function packet(type: number, ...fields: (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([type]), u32(7)];
  for (const f of fields) {
    if (typeof f === 'number') parts.push(u32(f));
    else {
      const b = typeof f === 'string' ? Buffer.from(f, 'utf8') : f;
      parts.push(u32(b.length), b);
    }
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

const noHandles = (): undefined => undefined;

describe('sftpOperation', () => {
  it('lets reads through and decides writes on their paths, relative ones at home', () => {
    expect(sftpOperation(packet(17, 'x'), noHandles)).toBeUndefined(); // stat
    expect(sftpOperation(packet(3, 'notes.txt', 0x1, 0), noHandles)).toBeUndefined(); // open to read
    expect(sftpOperation(packet(3, 'notes.txt', 0x1a, 0), noHandles)).toEqual({
      op: 'open-write',
      text: 'open-write ~/notes.txt',
      categories: ['write'],
      // Where it lands is asked of the host before it is decided (class 108).
      through: [{ path: '~/notes.txt', follows: true }],
    });
    expect(sftpOperation(packet(3, '.bashrc', 0x2, 0), noHandles)).toMatchObject({
      categories: ['privilege'],
    });
  });

  it('judges both paths of links and renames, and OpenSSH extensions', () => {
    expect(sftpOperation(packet(20, '/etc/cron.d', 'd'), noHandles)).toMatchObject({
      text: 'symlink /etc/cron.d ~/d',
      categories: ['write', 'privilege'],
    });
    expect(sftpOperation(packet(200, 'hardlink@openssh.com', '/etc/passwd', 'pw'), noHandles)).toMatchObject({
      categories: ['write', 'privilege'],
    });
    expect(sftpOperation(packet(200, 'posix-rename@openssh.com', 'a', 'b'), noHandles)).toMatchObject({
      text: 'posix-rename@openssh.com ~/a ~/b',
      categories: ['write'],
    });
    expect(sftpOperation(packet(200, 'statvfs@openssh.com', '/'), noHandles)).toBeUndefined();
    expect(sftpOperation(packet(200, 'frobnicate@example.com', 'x'), noHandles)).toMatchObject({
      categories: ['unknown'],
    });
    expect(sftpOperation(packet(77, 'x'), noHandles)).toMatchObject({ categories: ['unknown'] });
  });

  it('setuid bits and owners are privilege; an fsetstat on a handle not seen opened is unknown', () => {
    // ATTRS: flags PERMISSIONS (0x4), then the mode.
    expect(sftpOperation(packet(9, 'tool', 0x4, 0o4755), noHandles)).toMatchObject({
      categories: ['write', 'privilege'],
    });
    expect(sftpOperation(packet(9, 'tool', 0x4, 0o755), noHandles)).toMatchObject({ categories: ['write'] });
    expect(sftpOperation(packet(10, 'h1', 0x4, 0o755), noHandles)).toMatchObject({ categories: ['unknown'] });
    expect(sftpOperation(packet(10, 'h1', 0x4, 0o755), () => '~/.profile')).toMatchObject({
      text: 'fsetstat ~/.profile',
      categories: ['privilege'],
    });
  });

  it('refuses a path the host would read otherwise: a NUL, bytes that are not UTF-8', () => {
    expect(sftpOperation(packet(14, 'ok\0/../.bashrc', 0), noHandles)).toMatchObject({
      refuse: expect.stringMatching(/NUL/),
    });
    expect(sftpOperation(packet(13, Buffer.from([0x2e, 0x62, 0xff])), noHandles)).toMatchObject({
      refuse: expect.stringMatching(/UTF-8/),
    });
  });
});

describe('pipeSftp', () => {
  it('pins the protocol version to 3, the layout requests are read in', async () => {
    const client = fakeChannel();
    const host = fakeChannel();
    pipeSftp(client, host, {
      connection: 'c',
      decide: async () => true,
      refused: () => undefined,
      onClose: () => undefined,
    });
    client.feed(versionPacket(1, 6));
    await new Promise((r) => setTimeout(r, 20));
    expect(Buffer.concat(host.written).readUInt32BE(5)).toBe(3);
    // A host answering with another version (whose OPEN and RENAME carry other fields) is not relayed.
    host.feed(versionPacket(2, 6));
    await new Promise((r) => setTimeout(r, 20));
    expect(client.written).toEqual([]);
    expect(client.shut && host.shut).toBe(true);
  });

  it('relays a version 3 answer and answers a refused request between the host packets', async () => {
    const client = fakeChannel();
    const host = fakeChannel();
    pipeSftp(client, host, {
      connection: 'c',
      decide: async () => 'no',
      refused: () => undefined,
      onClose: () => undefined,
    });
    client.feed(versionPacket(1, 3));
    host.feed(versionPacket(2, 3));
    client.feed(packet(13, '.bashrc')); // remove: refused
    await new Promise((r) => setTimeout(r, 20));
    // Gatehouse first asks the host where the path's directory leads (its own REALPATH, id of its own):
    // the host's answer is kept from the client.
    const asked = host.written[1]!;
    expect(asked[4]).toBe(16);
    const status = Buffer.alloc(4 + 1 + 4 + 4 + 4 + 4);
    status.writeUInt32BE(status.length - 4, 0);
    status[4] = 101;
    status.writeUInt32BE(asked.readUInt32BE(5), 5);
    status.writeUInt32BE(2, 9);
    host.feed(status);
    await new Promise((r) => setTimeout(r, 20));
    const out = Buffer.concat(client.written);
    expect(out.subarray(0, 9).equals(versionPacket(2, 3))).toBe(true);
    expect(out[13]).toBe(101); // SSH_FXP_STATUS
    expect(out.readUInt32BE(14)).toBe(7); // the request's id
    expect(out.readUInt32BE(18)).toBe(3); // permission denied
    expect(host.written.length).toBe(2); // the INIT and Gatehouse's REALPATH, not the remove
    expect(out.includes(asked.subarray(5, 9))).toBe(false); // the host's answer to it is not relayed
  });
});
