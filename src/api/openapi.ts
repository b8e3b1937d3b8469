// OpenAPI 3.1 description of the admin HTTP API, served at /openapi.json.

import { approvalPaths, approvalSchemas } from './approval-openapi.js';

const problem = { $ref: '#/components/schemas/Problem' };

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Gatehouse admin API',
    version: '0.1.0',
    description: 'Session records and gateway health.',
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'a Gatehouse service token or OIDC access token',
      },
    },
    schemas: {
      Problem: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
        },
      },
      ...approvalSchemas,
    },
  },
  security: [{ bearer: [] }],
  paths: {
    ...approvalPaths,
    '/healthz': {
      get: { summary: 'liveness', security: [], responses: { '200': { description: 'the gateway is up' } } },
    },
    '/api/sessions': {
      get: {
        summary: 'list recorded sessions, newest first',
        parameters: ['subject', 'connection', 'since', 'until', 'decision', 'category', 'text', 'limit'].map(
          (name) => ({
            name,
            in: 'query',
            required: false,
            schema: { type: 'string' },
          }),
        ),
        responses: {
          '200': { description: 'sessions' },
          '401': {
            description: 'no or bad token',
            content: { 'application/problem+json': { schema: problem } },
          },
          '403': {
            description: 'not an admin',
            content: { 'application/problem+json': { schema: problem } },
          },
        },
      },
    },
    '/api/sessions/{id}': {
      get: {
        summary: 'one session with its statements',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description:
              'the session and its statements in order; a statement whose request was reviewed with a body has body: {sha256, bytes} (hex SHA-256 and size of the body the approval covered)',
          },
          '404': { description: 'no such session' },
        },
      },
    },
  },
} as const;
