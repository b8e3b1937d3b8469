// OpenAPI 3.1 description of the approvals routes (merged into /openapi.json by openapi.ts).
// Keep it in step with approval-routes.ts; docs/approvals.md describes the flow around them.

const problem = { $ref: '#/components/schemas/Problem' };
const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problem } },
});
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'approval request id',
};
const details = { $ref: '#/components/schemas/ApprovalDetails' };

export const approvalSchemas = {
  ApprovalPrincipal: {
    type: 'object',
    required: ['subject', 'issuer', 'groups', 'agent'],
    properties: {
      subject: { type: 'string' },
      issuer: { type: 'string' },
      groups: { type: 'array', items: { type: 'string' } },
      agent: { type: 'boolean' },
    },
  },
  ImpactPreview: {
    type: 'object',
    required: ['kind', 'notes', 'tookMs'],
    properties: {
      kind: { enum: ['plan', 'objects', 'none'] },
      plan: { type: 'array', items: { type: 'string' }, description: 'EXPLAIN output (never ANALYZE)' },
      rowCount: { type: 'integer', description: "rows the statement's own FROM/WHERE selects" },
      objects: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            type: { type: 'string' },
            exists: { type: 'boolean' },
            bytes: { type: 'integer' },
            estimatedRows: { type: 'integer' },
          },
        },
      },
      notes: { type: 'array', items: { type: 'string' } },
      tookMs: { type: 'number' },
    },
  },
  ApprovalRequest: {
    type: 'object',
    required: [
      'id',
      'kind',
      'mode',
      'status',
      'ruleName',
      'connection',
      'requester',
      'createdAt',
      'expiresAt',
      'uses',
    ],
    properties: {
      id: { type: 'string' },
      kind: { enum: ['statement', 'access'] },
      mode: { enum: ['hold', 'defer', 'access'] },
      status: { enum: ['pending', 'approved', 'denied', 'expired', 'withdrawn'] },
      ruleName: { type: 'string', description: 'approval rule (approvals.rules)' },
      policyRuleId: { type: 'string' },
      connection: { type: 'string' },
      requester: { $ref: '#/components/schemas/ApprovalPrincipal' },
      sessionId: { type: 'string' },
      statementId: { type: 'string' },
      statement: {
        type: 'object',
        properties: {
          text: { type: 'string' },
          kind: { type: 'string' },
          categories: { type: 'array', items: { type: 'string' } },
          params: { type: 'array', items: { type: ['string', 'null'] } },
          hash: { type: 'string', description: 'SHA-256 over the canonical action (docs/approvals.md)' },
        },
      },
      reason: { type: 'string' },
      message: { type: 'string' },
      preview: { $ref: '#/components/schemas/ImpactPreview' },
      grantName: { type: 'string' },
      requestedDurationMs: { type: 'integer' },
      createdAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: 'string', format: 'date-time' },
      decidedAt: { type: 'string', format: 'date-time' },
      decidedBy: { type: 'string' },
      decisionComment: { type: 'string' },
      usesAllowed: { type: 'integer' },
      uses: { type: 'integer' },
      validUntil: { type: 'string', format: 'date-time' },
    },
  },
  ApprovalDetails: {
    type: 'object',
    properties: {
      request: { $ref: '#/components/schemas/ApprovalRequest' },
      votes: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            approver: { $ref: '#/components/schemas/ApprovalPrincipal' },
            vote: { enum: ['approve', 'deny'] },
            comment: { type: 'string' },
            via: { enum: ['api', 'page', 'cli', 'slack'] },
            at: { type: 'string', format: 'date-time' },
          },
        },
      },
      history: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            at: { type: 'string', format: 'date-time' },
            type: { type: 'string' },
            actor: { type: 'string' },
            data: { type: 'object' },
          },
        },
      },
      approvalUrl: { type: 'string' },
    },
  },
} as const;

const decisionBody = (withGrant: boolean) => ({
  required: false,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          comment: { type: 'string', maxLength: 2000 },
          ...(withGrant
            ? {
                uses: {
                  type: 'integer',
                  minimum: 1,
                  maximum: 1000,
                  description: 'defer mode: runs allowed (default 1)',
                },
                for: {
                  type: 'string',
                  description:
                    'defer mode: usable for this long, e.g. 30m (then no run limit unless uses is given)',
                },
              }
            : {}),
        },
      },
    },
  },
});

export const approvalPaths = {
  '/api/approvals': {
    get: {
      summary: 'approval requests the caller may see (requester, approver or admin), newest first',
      parameters: [
        {
          name: 'status',
          in: 'query',
          required: false,
          schema: { enum: ['pending', 'approved', 'denied', 'expired', 'withdrawn', 'all'] },
        },
        { name: 'kind', in: 'query', required: false, schema: { enum: ['statement', 'access'] } },
        {
          name: 'mine',
          in: 'query',
          required: false,
          schema: { type: 'boolean' },
          description: "only the caller's own requests",
        },
        { name: 'limit', in: 'query', required: false, schema: { type: 'integer', maximum: 1000 } },
      ],
      responses: {
        '200': { description: '{ requests: ApprovalRequest[] }' },
        '401': problemResponse('no or bad token'),
      },
    },
  },
  '/api/approvals/{id}': {
    get: {
      summary: 'one request with its votes and history',
      parameters: [idParam],
      responses: {
        '200': { description: 'the request', content: { 'application/json': { schema: details } } },
        '403': problemResponse('not the requester, an approver or an admin'),
        '404': problemResponse('no such request'),
      },
    },
  },
  '/api/approvals/{id}/approve': {
    post: {
      summary: "approve (a vote; the request is approved once the rule's approvals are in)",
      parameters: [idParam],
      requestBody: decisionBody(true),
      responses: {
        '200': {
          description: 'the request after the vote',
          content: { 'application/json': { schema: details } },
        },
        '400': problemResponse('bad uses/for'),
        '403': problemResponse(
          'an agent, the requester, not in an approver group, or outside the time windows',
        ),
        '404': problemResponse('no such request'),
        '409': problemResponse('no longer pending, or already voted'),
      },
    },
  },
  '/api/approvals/{id}/deny': {
    post: {
      summary: 'deny (one eligible denial denies the request)',
      parameters: [idParam],
      requestBody: decisionBody(false),
      responses: {
        '200': {
          description: 'the request after the vote',
          content: { 'application/json': { schema: details } },
        },
        '403': problemResponse(
          'an agent, the requester, not in an approver group, or outside the time windows',
        ),
        '404': problemResponse('no such request'),
        '409': problemResponse('no longer pending, or already voted'),
      },
    },
  },
  '/api/access-requests': {
    post: {
      summary: 'ask for a time-bound access grant (JIT access) for the caller',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['connection', 'for', 'reason'],
              properties: {
                connection: { type: 'string' },
                for: { type: 'string', description: 'duration, e.g. 1h (at most the grant maxDuration)' },
                reason: { type: 'string' },
                grant: {
                  type: 'string',
                  description: 'grant name (default: the first that covers the connection)',
                },
              },
            },
          },
        },
      },
      responses: {
        '201': { description: '{ request: ApprovalRequest, approvalUrl }' },
        '400': problemResponse('bad duration or missing reason'),
        '404': problemResponse('no grant covers the connection'),
      },
    },
  },
  '/api/access-grants': {
    get: {
      summary: "the caller's approved, unexpired access grants",
      responses: { '200': { description: '{ grants: ApprovalRequest[] }' } },
    },
  },
  '/approvals/{id}': {
    get: {
      summary: 'the approval page (HTML): statement, principal, reason, impact preview, approve/deny form',
      security: [],
      parameters: [idParam],
      responses: { '200': { description: 'HTML page, or the login form' } },
    },
  },
  '/slack/interactions': {
    post: {
      summary: "Slack interactivity endpoint (approve/deny buttons); verified with Slack's signing secret",
      security: [],
      responses: {
        '200': { description: 'ephemeral answer for Slack' },
        '401': problemResponse('bad or stale signature'),
      },
    },
  },
} as const;
