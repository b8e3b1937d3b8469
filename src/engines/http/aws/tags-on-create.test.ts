import { describe, expect, it } from 'vitest';
import type { AwsClassification } from './aws-request.js';
import { tagsInJson, tagsInQuery, withTagsOnCreate } from './tags-on-create.js';

const cls = (operation: string, protocol: 'json' | 'query' = 'query'): AwsClassification => ({
  protocol,
  operation,
});
const implied = (c: AwsClassification) => (c.implied ?? []).map((i) => [i.operation, i.headers?.['tags']]);

describe('tags set while doing something else', () => {
  it('reads the JSON forms: a list of Key/Value, a map, and EC2 TagSpecifications', () => {
    expect(tagsInJson({ Tags: [{ Key: 'team', Value: 'admins' }] })).toEqual([['team', 'admins']]);
    expect(tagsInJson({ tags: { team: 'admins', env: 'prod' } })).toEqual([
      ['team', 'admins'],
      ['env', 'prod'],
    ]);
    expect(tagsInJson({ tags: [{ key: 'team', value: 'admins' }] })).toEqual([['team', 'admins']]);
    expect(
      tagsInJson({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] }),
    ).toEqual([['a', 'b']]);
    // Only the request's top level: a DynamoDB item's attribute named Tags is data.
    expect(tagsInJson({ Item: { Tags: { S: 'x' } } })).toEqual([]);
    expect(tagsInJson({ Tags: 'not tags' })).toBe('unreadable');
    expect(tagsInJson({ Tags: Array.from({ length: 300 }, (_, i) => ({ Key: `k${i}`, Value: '' })) })).toBe(
      'unreadable',
    );
  });

  it('reads the query forms (Tags.member.N, Tag.N, TagSpecification.N.Tag.M)', () => {
    const q = (o: Record<string, string>) => tagsInQuery(new Map(Object.entries(o)));
    expect(q({ 'Tags.member.1.Key': 'team', 'Tags.member.1.Value': 'admins' })).toEqual([['team', 'admins']]);
    expect(q({ 'Tag.1.Key': 'team', 'Tag.1.Value': 'x' })).toEqual([['team', 'x']]);
    expect(
      q({
        'TagSpecification.1.ResourceType': 'instance',
        'TagSpecification.1.Tag.1.Key': 'a',
        'TagSpecification.1.Tag.1.Value': 'b',
      }),
    ).toEqual([['a', 'b']]);
    // A tag parameter with neither key nor value still marks the request as tagging.
    expect(q({ 'TagSpecification.1.ResourceType': 'instance' })).toEqual([['', '']]);
    expect(q({ TagKeys: 'x', ImageId: 'ami-1' })).toEqual([]);
  });

  it('decides them as the tagging action IAM asks for', () => {
    const t = () => [['team', 'admins'] as const];
    expect(implied(withTagsOnCreate('ec2', cls('ec2:RunInstances'), t))).toEqual([
      ['ec2:CreateTags', 'team=admins'],
    ]);
    expect(implied(withTagsOnCreate('iam', cls('iam:CreateRole'), t))).toEqual([
      ['iam:TagRole', 'team=admins'],
    ]);
    expect(implied(withTagsOnCreate('iam', cls('iam:CreateVirtualMFADevice'), t))[0]![0]).toBe(
      'iam:TagMFADevice',
    );
    expect(implied(withTagsOnCreate('sts', cls('sts:AssumeRole'), t))[0]![0]).toBe('sts:TagSession');
    expect(implied(withTagsOnCreate('sqs', cls('sqs:CreateQueue', 'json'), t))[0]![0]).toBe('sqs:TagQueue');
    expect(implied(withTagsOnCreate('dynamodb', cls('dynamodb:CreateTable', 'json'), t))[0]![0]).toBe(
      'dynamodb:TagResource',
    );
  });

  it('leaves the tagging operations, requests without tags and unknown requests as they are', () => {
    const t = () => [['a', 'b'] as const];
    for (const op of ['ec2:CreateTags', 'iam:TagRole', 'dynamodb:TagResource', 'rds:AddTagsToResource'])
      expect(withTagsOnCreate(op.split(':')[0]!, cls(op), t).implied).toBeUndefined();
    expect(withTagsOnCreate('ec2', cls('ec2:RunInstances'), () => []).implied).toBeUndefined();
    expect(withTagsOnCreate('ec2', { protocol: 'query', reason: 'x' }, t)).toEqual({
      protocol: 'query',
      reason: 'x',
    });
    expect(withTagsOnCreate('ec2', cls('ec2:RunInstances'), () => 'unreadable').operation).toBeUndefined();
  });

  it('clips what it shows of many tags, saying so', () => {
    const many = () => Array.from({ length: 200 }, (_, i) => [`key${i}`, 'v'.repeat(20)] as const);
    const shown = implied(withTagsOnCreate('ec2', cls('ec2:RunInstances'), many))[0]![1]!;
    expect(shown).toMatch(/… \(clipped: \d+ characters in all\)$/);
  });
});
