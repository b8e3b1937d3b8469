// GET /api/recording/status: the recording feature's counters (SIEM queue, sent, dropped; blob writes;
// redactions) for operators and monitoring. Admins only (non-agent members of api.adminGroups).
// It must never return a key, a header or any record content.

import type { Hono } from 'hono';
import type { RecordingStatus } from '../recording/index.js';
import type { ApiEnv, RoutePlugin } from './http-server.js';

export interface RecordingStatusDeps {
  readonly status: () => RecordingStatus;
  readonly adminGroups: () => readonly string[];
}

export function recordingStatusRoutes(deps: RecordingStatusDeps): RoutePlugin {
  return (app: Hono<ApiEnv>) => {
    app.get('/api/recording/status', (c) => {
      const id = c.get('identity');
      const admins = deps.adminGroups();
      if (id.agent || !id.groups.some((g) => admins.includes(g))) {
        return c.json(
          {
            type: 'about:blank',
            title: 'Forbidden',
            status: 403,
            detail: `needs a non-agent identity in one of: ${admins.join(', ')}`,
          },
          403,
          { 'content-type': 'application/problem+json' },
        );
      }
      return c.json(deps.status());
    });
  };
}
