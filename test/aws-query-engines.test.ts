// Code a data service runs with the caller's credentials — here the gateway's (docs/security.md,
// class 323). Athena reads and writes S3 as the caller, where its SQL says: with a deny of the
// `vault` bucket and Athena queries allowed, `CREATE EXTERNAL TABLE loot … LOCATION 's3://vault/'` was
// forwarded (a SELECT on it then reads vault), and a Glue job run told `--scriptLocation` runs the
// caller's script as the job's role. Neither names vault anywhere Gatehouse reads as a resource. They
// are now decided as SendCommand is (class 127): as selecting every resource. A Glue run with its own
// job's script, given only its own arguments, is decided on its names. The AWS CLI through the
// gateway against moto's server (skipped without it).

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'queries and jobs a data service runs with the gateway’s credentials',
  { timeout: 180_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;
    let ops: AwsCli;

    beforeAll(async () => {
      moto = await startMoto();
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_323: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREAL00323',
                secretAccessKey: { env: 'GW_REAL_SECRET_323' },
              },
              endpoints: { athena: moto.url, glue: moto.url },
            },
          },
        },
        policies: [
          {
            id: 'agents',
            subjects: { agent: true },
            connections: ['aws'],
            rules: [
              { id: 'no-vault', effect: 'deny' as const, match: { awsResources: ['vault', 'vault/*'] } },
              {
                id: 'analytics',
                effect: 'allow' as const,
                match: { operations: ['athena:StartQueryExecution', 'glue:StartJobRun'] },
              },
            ],
          },
          {
            id: 'ops',
            subjects: { agent: false },
            connections: ['aws'],
            rules: [{ id: 'ops-all', effect: 'allow' as const, match: { operations: ['*'] } }],
          },
        ],
      });
      agent = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
      ops = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'olga' }));
      await ops.run(
        'glue',
        'create-job',
        '--name',
        'etl',
        '--role',
        'arn:aws:iam::123456789012:role/glue-etl',
        '--command',
        'Name=glueetl,ScriptLocation=s3://scripts/etl.py',
      );
    }, 90_000);

    afterAll(async () => {
      agent?.stop();
      ops?.stop();
      await gw?.stop();
      await moto?.stop();
    });

    const refusal = (args: string[]): Promise<string | undefined> =>
      agent.run(...args).then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      );

    it('refuses an Athena query whose SQL names a denied bucket; nothing reaches Athena', async () => {
      const err = await refusal([
        'athena',
        'start-query-execution',
        '--query-string',
        "CREATE EXTERNAL TABLE loot (line string) LOCATION 's3://vault/'",
        '--result-configuration',
        'OutputLocation=s3://scratch/results/',
      ]);
      const ran = (await ops.run('athena', 'list-query-executions')).stdout;
      expect(JSON.parse(ran).QueryExecutionIds, 'the query reached Athena').toEqual([]);
      expect(err, 'StartQueryExecution was forwarded').toBeDefined();
      expect(err).toContain('no-vault');
      expect(err).toContain('instructions it hands another principal');
    });

    it('refuses a Glue run told to execute another script; runs the job’s own with its arguments', async () => {
      const err = await refusal([
        'glue',
        'start-job-run',
        '--job-name',
        'etl',
        '--arguments',
        JSON.stringify({ '--scriptLocation': 's3://scratch/copy-vault.py' }),
      ]);
      const runs = JSON.parse((await ops.run('glue', 'get-job-runs', '--job-name', 'etl')).stdout) as {
        JobRuns: unknown[];
      };
      expect(runs.JobRuns, 'the run reached Glue').toHaveLength(0);
      expect(err, 'StartJobRun with --scriptLocation was forwarded').toBeDefined();
      expect(err).toContain('no-vault');
      await agent.run(
        'glue',
        'start-job-run',
        '--job-name',
        'etl',
        '--arguments',
        JSON.stringify({ '--day': '2026-12-07' }),
      );
    });
  },
);
