import { describe, expect, it } from 'vitest';
import {
  chooseSubprotocol,
  decodeChannelMessage,
  decodeResize,
  encodeChannelMessage,
  encodeCloseSignal,
} from './channel-protocol.js';
import { exitCodeOf, exitStatus } from './status.js';

describe('channel protocol', () => {
  it('prefers v5, then v4', () => {
    expect(chooseSubprotocol(['v4.channel.k8s.io', 'v5.channel.k8s.io'])).toBe('v5.channel.k8s.io');
    expect(chooseSubprotocol(['v4.channel.k8s.io', 'channel.k8s.io'])).toBe('v4.channel.k8s.io');
    expect(chooseSubprotocol(['channel.k8s.io'])).toBeUndefined();
  });

  it('round-trips data and v5 close signals; refuses unknown channels and v4 close signals', () => {
    expect(decodeChannelMessage(encodeChannelMessage(1, 'hi'), 'v5.channel.k8s.io')).toEqual({
      type: 'data',
      channel: 1,
      payload: Buffer.from('hi'),
    });
    expect(decodeChannelMessage(encodeCloseSignal(0), 'v5.channel.k8s.io')).toEqual({
      type: 'close',
      channel: 0,
    });
    expect(() => decodeChannelMessage(encodeCloseSignal(0), 'v4.channel.k8s.io')).toThrow();
    expect(() => decodeChannelMessage(Buffer.from([9, 1]), 'v5.channel.k8s.io')).toThrow();
    expect(() => decodeChannelMessage(Buffer.alloc(0), 'v5.channel.k8s.io')).toThrow();
  });

  it('reads resizes and exit codes', () => {
    expect(decodeResize(Buffer.from('{"Width":120,"Height":40}'))).toEqual({ width: 120, height: 40 });
    expect(decodeResize(Buffer.from('{"Width":-1,"Height":40}'))).toBeUndefined();
    expect(exitCodeOf(exitStatus(0))).toBe(0);
    expect(exitCodeOf(exitStatus(42))).toBe(42);
    expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'x' })).toBeUndefined();
  });
});
