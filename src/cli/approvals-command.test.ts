import { describe, expect, it } from 'vitest';
import { formatDetails, formatList } from './approvals-command.js';

const requester = { subject: 'claude', issuer: 'gatehouse', agent: true, groups: ['ai-agents'] };
const base = {
  id: 'r-1',
  kind: 'statement',
  mode: 'hold',
  status: 'pending',
  ruleName: 'default',
  policyRuleId: 'aws-agents-review-writes',
  connection: 'aws',
  requester,
  createdAt: '2026-03-04T10:00:00.000Z',
  expiresAt: '2026-03-04T10:05:00.000Z',
  uses: 0,
};

describe('approvals CLI output', () => {
  it('shows an HTTP/AWS request by its operation and resource, not an empty category list', () => {
    const out = formatDetails({
      request: {
        ...base,
        statement: {
          text: 'DELETE /demo-bucket/report.csv',
          kind: 's3:DeleteObject',
          categories: [],
          params: ['demo-bucket/report.csv'],
          hash: 'ab12',
        },
      },
      votes: [],
      history: [],
      approvalUrl: 'http://127.0.0.1:8780/approvals/r-1',
    });
    expect(out).toContain('request (s3:DeleteObject), sha256 ab12');
    expect(out).toContain('resource: demo-bucket/report.csv');
    expect(out).not.toMatch(/; \)/);
    expect(out).toContain('page          http://127.0.0.1:8780/approvals/r-1');
  });

  it('keeps the categories of a SQL statement', () => {
    const out = formatDetails({
      request: {
        ...base,
        statement: {
          text: 'UPDATE t SET a = 1 WHERE id = 2',
          kind: 'update',
          categories: ['write'],
          hash: 'cd',
        },
      },
      votes: [],
      history: [],
    });
    expect(out).toContain('statement (update; write), sha256 cd');
  });

  it('lists the approval page of each request', () => {
    const out = formatList([
      {
        ...base,
        statement: { text: 'UPDATE t SET a = 1', kind: 'update', categories: ['write'], hash: 'x' },
        approvalUrl: 'http://127.0.0.1:8780/approvals/r-1',
      },
    ]);
    expect(out).toMatch(/approval pages:\n {2}r-1 {2}http:\/\/127\.0\.0\.1:8780\/approvals\/r-1\n/);
  });
});
