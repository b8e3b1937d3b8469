// Secrets AWS hands back under names the masked field lists did not know: a virtual MFA device's TOTP
// seed (IAM CreateVirtualMFADevice's `Base32StringSeed`, and the same seed drawn as `QRCodePNG`), with
// which whoever holds it makes the device's codes for ever; a KMS data key pair's private key
// (`PrivateKeyPlaintext`); a Cognito user's software token seed (`SecretCode`). None is a shape a
// detector knows (a base32 run, a base64 PNG or DER), so they reached a masked principal in clear.
// Through the gateway against moto's server (skipped without it), with the real AWS CLI.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

describe.skipIf(!hasMoto() || !hasCommand('aws'))('key material under AWS names', { timeout: 90_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let agent: AwsCli;
  let key: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    moto = await startMoto();
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_KEYMAT: `RealSecret${randomBytes(15).toString('hex')}` },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREALKEYMT',
              secretAccessKey: { env: 'GW_REAL_SECRET_KEYMAT' },
            },
            endpoints: { iam: moto.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            {
              id: 'agents-mfa',
              effect: 'allow' as const,
              match: { operations: ['iam:CreateVirtualMFADevice', 'iam:ListVirtualMFADevices'] },
              mask: true,
            },
          ],
        },
      ],
    });
    key = await gw.awsKey({ subject: 'claude', agent: true });
    agent = awsCli(gw.endpoint('aws'), key);
  }, 60_000);

  afterAll(async () => {
    agent?.stop();
    await gw?.stop();
    await moto?.stop();
  });

  /** An IAM query request signed as the agent, through the gateway: the answer's XML as sent. */
  async function iam(params: Record<string, string>): Promise<string> {
    const u = new URL(gw.endpoint('aws'));
    const body = new URLSearchParams({ ...params, Version: '2010-05-08' }).toString();
    const signer = new SignatureV4({ credentials: key, region: 'us-east-1', service: 'iam', sha256: Sha256 });
    const req = await signer.sign(
      new HttpRequest({
        method: 'POST',
        hostname: u.hostname,
        port: Number(u.port),
        path: '/',
        headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      }),
    );
    const res = await request(`${gw.endpoint('aws')}/`, { method: 'POST', headers: req.headers, body });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    return text;
  }

  it("CreateVirtualMFADevice: a masked agent gets the device's seed masked, in both forms (before: in clear)", async () => {
    const xml = await iam({ Action: 'CreateVirtualMFADevice', VirtualMFADeviceName: 'agent-device' });
    expect(xml).toContain('<SerialNumber>');
    expect(xml).toMatch(/<Base32StringSeed>\[REDACTED:base32stringseed\]<\/Base32StringSeed>/);
    expect(xml).toMatch(/<QRCodePNG>\[REDACTED:qrcodepng\]<\/QRCodePNG>/);
    // The AWS CLI as the agent: the seed it writes out is not the device's.
    const outfile = path.join(agent.home, 'mfa-seed');
    await agent.run(
      'iam',
      'create-virtual-mfa-device',
      '--virtual-mfa-device-name',
      'agent-cli',
      '--outfile',
      outfile,
      '--bootstrap-method',
      'Base32StringSeed',
    );
    expect(Buffer.from(readFileSync(outfile)).toString('base64')).toBe(
      Buffer.from('[REDACTED:base32stringseed]', 'base64').toString('base64'),
    );
  });
});
