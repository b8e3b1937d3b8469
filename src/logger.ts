// The gateway's structured logger (pino, JSON lines to stderr). Field names that could carry a
// secret are redacted by path as a second line of defence; code must not log secrets at all.

import pino from 'pino';
import type { Logger } from './core/ports.js';

export function createLogger(
  level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info',
  service = 'gatehouse',
): Logger & pino.Logger {
  return pino(
    {
      level,
      base: { service },
      redact: {
        paths: ['password', 'token', 'secret', '*.password', '*.token', '*.secret', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
