import { describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import { createDetectorSet } from './detector-set.js';

const set = createDetectorSet();

/** [input, matched text] pairs that the named detector must find. */
const positives: Record<string, readonly (readonly [string, string])[]> = {
  credit_card: [
    ['4111111111111111', '4111111111111111'],
    ['4111 1111 1111 1111', '4111 1111 1111 1111'],
    ['4111-1111-1111-1111', '4111-1111-1111-1111'],
    ['Card: 5555 5555 5555 4444, exp 12/27', '5555 5555 5555 4444'],
    ['5105105105105100', '5105105105105100'],
    ['mc2 2223003122003222', '2223003122003222'],
    ['amex 378282246310005', '378282246310005'],
    ['3782 822463 10005', '3782 822463 10005'],
    ['371449635398431', '371449635398431'],
    ['6011111111111117', '6011111111111117'],
    ['6011 0009 9013 9424', '6011 0009 9013 9424'],
    ['jcb 3530111333300000', '3530111333300000'],
    ['3566002020360505', '3566002020360505'],
    ['diners 30569309025904', '30569309025904'],
    ['3056 930902 5904', '3056 930902 5904'],
    ['38520000023237', '38520000023237'],
    ['unionpay 6200000000000005', '6200000000000005'],
    ['maestro 6759649826438453', '6759649826438453'],
    ['5018000000000009', '5018000000000009'],
    ['mir 2200000000000004', '2200000000000004'],
    ['visa13 4222222222222', '4222222222222'],
    ['ref-4111111111111111', '4111111111111111'],
    ['42,4111111111111111,EUR', '4111111111111111'],
    ['"4111111111111111"', '4111111111111111'],
    ['4111 1111 1111 1111 12 25', '4111 1111 1111 1111'],
    ['(4111111111111111)', '4111111111111111'],
    ['4111 1111 1111 1111 110', '4111 1111 1111 1111 110'],
    ['4111 1111 1111 1111 111', '4111 1111 1111 1111'],
  ],
  email: [
    ['alice@example.com', 'alice@example.com'],
    ['Contact: bob.smith+tag@mail.example.co.uk.', 'bob.smith+tag@mail.example.co.uk'],
    ['<carol_o-neil@sub-domain.example.org>', 'carol_o-neil@sub-domain.example.org'],
    ['x@example.io', 'x@example.io'],
    ['mailto:dave@example.com?subject=hi', 'dave@example.com'],
    ['alice@example.com: see below', 'alice@example.com'],
  ],
  phone: [
    ['+14155550123', '+14155550123'],
    ['+1 415-555-0123', '+1 415-555-0123'],
    ['+1 (415) 555-0123', '+1 (415) 555-0123'],
    ['(415) 555-0123', '(415) 555-0123'],
    ['415-555-0123', '415-555-0123'],
    ['415.555.0123', '415.555.0123'],
    ['415 555 0123', '415 555 0123'],
    ['1-415-555-0123', '1-415-555-0123'],
    ['+44 20 7946 0958', '+44 20 7946 0958'],
    ['+49 30 1234567', '+49 30 1234567'],
    ['+33 1 23 45 67 89', '+33 1 23 45 67 89'],
    ['Call me at (415) 555-0123 today', '(415) 555-0123'],
    ['tel: +442079460958.', '+442079460958'],
  ],
  ssn: [
    ['123-45-6789', '123-45-6789'],
    ['SSN: 078-05-1120', '078-05-1120'],
    ['123 45 6789', '123 45 6789'],
    ['ssn=665-12-3456;', '665-12-3456'],
  ],
  iban: [
    ['DE89370400440532013000', 'DE89370400440532013000'],
    ['DE89 3704 0044 0532 0130 00', 'DE89 3704 0044 0532 0130 00'],
    ['GB82 WEST 1234 5698 7654 32', 'GB82 WEST 1234 5698 7654 32'],
    ['FR1420041010050500013M02606', 'FR1420041010050500013M02606'],
    ['NL91ABNA0417164300', 'NL91ABNA0417164300'],
    ['NO9386011117947', 'NO9386011117947'],
    ['CH9300762011623852957', 'CH9300762011623852957'],
    ['IBAN: BE68539007547034.', 'BE68539007547034'],
  ],
  aws_access_key_id: [
    ['AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['aws_access_key_id=ASIAY34FZKBOKMUTVV7A', 'ASIAY34FZKBOKMUTVV7A'],
    ['"AROA1234567890ABCDEF"', 'AROA1234567890ABCDEF'],
  ],
  aws_secret_access_key: [
    ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    [
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
    [
      '{"SecretAccessKey": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}',
      'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
    ],
    [
      'AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
    [
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
  ],
  gcp_api_key: [['key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q']],
  azure_key: [
    [
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${'Ab1+'.repeat(22)}==;EndpointSuffix=core.windows.net`,
      `${'Ab1+'.repeat(22)}==`,
    ],
    [
      `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${'xY9/'.repeat(11)}`,
      'xY9/'.repeat(11),
    ],
    [`${'Zq7+'.repeat(21)}Zq==`, `${'Zq7+'.repeat(21)}Zq==`],
    [`accountkey = ${'kP3/'.repeat(11)}`, 'kP3/'.repeat(11)],
  ],
  azure_sas_signature: [
    [
      'https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&sp=r&se=2024-06-01T00:00:00Z&sig=AbCdEf0123456789%2BgHiJkLmNoPqRsTuVwXyZ%3D',
      'AbCdEf0123456789%2BgHiJkLmNoPqRsTuVwXyZ%3D',
    ],
  ],
  github_token: [
    [`token ghp_${'aB3'.repeat(12)}`, `ghp_${'aB3'.repeat(12)}`],
    [`gho_${'Zz9'.repeat(12)}`, `gho_${'Zz9'.repeat(12)}`],
    [
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456',
    ],
  ],
  gitlab_token: [['PRIVATE-TOKEN: glpat-xYz12AbC34dEf56GhI78', 'glpat-xYz12AbC34dEf56GhI78']],
  slack_token: [
    [
      'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy',
      'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy',
    ],
    [
      'xapp-1-A0123456789-1234567890123-abcdef0123456789',
      'xapp-1-A0123456789-1234567890123-abcdef0123456789',
    ],
  ],
  slack_webhook: [
    [
      'post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now',
      'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    ],
  ],
  stripe_key: [
    [`sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`, 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['sk_test_4eC39HqLyjWDarjtT1zdp7dc', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'],
    ['rk_live_51H8aBcDeFgHiJkLmNoPqRsTuV', 'rk_live_51H8aBcDeFgHiJkLmNoPqRsTuV'],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  ],
  openai_key: [
    ['sk-proj-Ab12_cd34-EF56gh78IJ90kl12MN34op56', 'sk-proj-Ab12_cd34-EF56gh78IJ90kl12MN34op56'],
    [`OPENAI_API_KEY=sk-${'aB3dE5'.repeat(8)}`, `sk-${'aB3dE5'.repeat(8)}`],
  ],
  anthropic_key: [
    [`x-api-key: sk-ant-api03-${'Ab9_-'.repeat(19)}AA`, `sk-ant-api03-${'Ab9_-'.repeat(19)}AA`],
  ],
  jwt: [
    [
      'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    ],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
  ],
  private_key: [
    [
      'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----\nrest',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----',
    ],
    [
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----',
    ],
    [
      '-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\r\n-----END EC PRIVATE KEY-----',
      '-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\r\n-----END EC PRIVATE KEY-----',
    ],
    [
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----',
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----',
    ],
    [
      '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n", "client_email": "x"}',
      '-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----',
    ],
    [
      '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0000000\n-----END PGP PRIVATE KEY BLOCK-----',
      '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0000000\n-----END PGP PRIVATE KEY BLOCK-----',
    ],
    // Truncated: no END line; the body is masked anyway.
    [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn',
    ],
  ],
  password_hash: [
    [
      // PostgreSQL's older md5 verifier (md5 of the password and the role name).
      'passwd md53175bce1d3201d16594cebf9d7eb3f9d',
      'md53175bce1d3201d16594cebf9d7eb3f9d',
    ],
    [
      // PostgreSQL's SCRAM verifier, as pg_authid.rolpassword holds it.
      'rolpassword SCRAM-SHA-256$4096:jlG9AoZywv+Tv7xmFNMGpQ==$M3wk2pK6JQ6mpyc9xC1OaLnv2J/VmkTcrFK6uZb1+yY=:D3w3mtkdjk+gc8m5x5k58FhgizC6Yb6gzBl3A682aDQ=',
      'SCRAM-SHA-256$4096:jlG9AoZywv+Tv7xmFNMGpQ==$M3wk2pK6JQ6mpyc9xC1OaLnv2J/VmkTcrFK6uZb1+yY=:D3w3mtkdjk+gc8m5x5k58FhgizC6Yb6gzBl3A682aDQ=',
    ],
    [
      `$2b$12$${'R9h/cIPz0gi.URNNX3kh2O'}${'PST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'}`,
      `$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW`,
    ],
    [
      '$2y$10$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTO2c1x2iYgm',
      '$2y$10$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTO2c1x2iYgm',
    ],
    [
      'hash=$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG',
      '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG',
    ],
    [
      '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E',
      '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E',
    ],
    [
      '$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D',
      '$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D',
    ],
    [
      `$6$rounds=5000$saltsalt$${'a'.repeat(43)}${'B'.repeat(43)}`,
      `$6$rounds=5000$saltsalt$${'a'.repeat(43)}${'B'.repeat(43)}`,
    ],
  ],
};

/** Inputs in which the named detector must find nothing. */
const negatives: Record<string, readonly string[]> = {
  credit_card: [
    '4111111111111112',
    '4111 1111 1111 111',
    '41111 11111 11111 1',
    '4111.1111.1111.1111',
    '0.4111111111111111',
    '4111111111111111.5',
    'x4111111111111111',
    '4111111111111111x',
    '41111111111111111111',
    '1714567890123',
    '7992739871300006',
    '4006381333931',
    '4111 1111-1111 1111',
    '4111  1111  1111  1111',
  ],
  email: [
    'user@host',
    '@types/node',
    'icon@2x.png',
    'git@github.com:org/repo',
    'a@b.c',
    'lodash@4.17.21',
    'x@-bad.com',
  ],
  phone: [
    '2024-05-01',
    '123-456-7890',
    '415-555-01234',
    'ORD-415-555-0123',
    '415-555-0123-77',
    '192.168.100.200',
    '911-555-0123',
    '+05:30',
    '+1234567',
    '4155550123',
    '415-555.0123',
    'v415.555.0123',
  ],
  ssn: [
    '000-12-3456',
    '666-12-3456',
    '900-12-3456',
    '123-00-4567',
    '123-45-0000',
    '123456789',
    '123-45-6789-0',
    'a123-45-6789',
    '123-45 6789',
  ],
  iban: [
    'DE89370400440532013001',
    'XX89370400440532013000',
    'DE8937040044053201300',
    'DE893704004405320130001',
    'de89370400440532013000',
    'DE89 3704 0044 0532 0130 0',
    'xDE89370400440532013000',
  ],
  aws_access_key_id: [
    'AKIAIOSFODNN7EXAMPL',
    'AKIAIOSFODNN7EXAMPLEX',
    'AKIAiosfodnn7example',
    'ABIAIOSFODNN7EXAMPLE',
    'xAKIAIOSFODNN7EXAMPLE',
  ],
  aws_secret_access_key: [
    'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709',
    'note: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY in some text',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYx',
  ],
  gcp_api_key: ['AIzaSyA1b2C3d4E5f6G7h8I9j0K1', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7'],
  azure_key: [`${'a'.repeat(86)}==`, 'AccountKey=short', 'AccountName=acct'],
  azure_sas_signature: ['design=AbCdEf0123456789AbCdEf', '?sig=short'],
  github_token: [`ghp_${'a'.repeat(20)}`, 'ghp_short', `ghp_${'aB3'.repeat(11)}!`.slice(0, 20)],
  gitlab_token: ['glpat-short', 'glpat'],
  slack_token: ['xoxb-abcdefghijklmnop', 'xoxb-123'],
  slack_webhook: ['https://hooks.slack.com/', 'https://slack.com/services/T0/B0/X'],
  stripe_key: ['pk_live_51H8aBcDeFgHiJkLmNoPqRsTuV', 'sk_live_short', 'pk_test_4eC39HqLyjWDarjtT1zdp7dc'],
  openai_key: ['sk-the-quick-brown-fox-jumps-over-the-lazy-dog', 'sk-short', 'task-1234567890abcdefABCDEF'],
  anthropic_key: ['sk-ant-short'],
  jwt: [
    'eyJmb28iOiJiYXIifQ.eyJzdWIiOiJ4In0.c2ln',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0',
    'eyJhbGciOiJIUzI1NiJ9',
    'eyJub3QganNvbg.eyJzdWIiOiJ4In0.sig',
  ],
  private_key: [
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----',
    '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----',
    '----- PRIVATE KEY -----',
  ],
  password_hash: [
    '$5.00',
    '$2 off',
    '$1$abc$def',
    'price $2b$',
    '$2b$12$tooShort',
    '$argon2id$v=19$m=65536',
    'SCRAM-SHA-256$4096:salt$short:short',
    'md53175bce1d3201d16594cebf9d7eb3f9',
    'xmd53175bce1d3201d16594cebf9d7eb3f9d',
    'md53175BCE1D3201D16594CEBF9D7EB3F9D',
  ],
};

function found(text: string): { detector: string; text: string }[] {
  return set.scan(text).map((f) => ({ detector: f.detector, text: f.text }));
}

describe('built-in detectors: positives', () => {
  for (const [detector, cases] of Object.entries(positives)) {
    it.each(cases)(`${detector}: %j`, (input, match) => {
      expect(found(input)).toContainEqual({ detector, text: match });
    });
  }
});

describe('built-in detectors: negatives', () => {
  for (const [detector, cases] of Object.entries(negatives)) {
    it.each(cases)(`${detector}: %j`, (input) => {
      expect(found(input).filter((f) => f.detector === detector)).toEqual([]);
    });
  }
});

describe('findings', () => {
  it('reports UTF-16 positions of each match', () => {
    const text = 'Zoë: 4111 1111 1111 1111 / alice@example.com';
    const f = set.scan(text);
    expect(f.map((x) => [x.detector, x.start, x.end])).toEqual([
      ['credit_card', 5, 24],
      ['email', 27, 44],
    ]);
    for (const x of f) expect(text.slice(x.start, x.end)).toBe(x.text);
  });

  it('returns one shared frozen empty array when nothing is found', () => {
    const a = set.scan('alice');
    expect(a).toHaveLength(0);
    expect(a).toBe(set.scan('2024-05-01'));
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('merges overlapping findings into one span', () => {
    const custom = createDetectorSet({ custom: [{ name: 'card_suffix', pattern: '1111 end' }] });
    const f = custom.scan('x 4111 1111 1111 1111 end');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      detector: 'credit_card',
      start: 2,
      end: 25,
      text: '4111 1111 1111 1111 end',
    });
  });

  it.each([
    ['SSN 123-45-6789 2024-05-01 12:34:56', [['ssn', '123-45-6789']]],
    ['(415) 555-0123 2024-05-01', [['phone', '(415) 555-0123']]],
    [
      '4111111111111111 (415) 555-0123',
      [
        ['credit_card', '4111111111111111'],
        ['phone', '(415) 555-0123'],
      ],
    ],
    [
      '+44 20 7946 0958+44 20 7946 0958',
      [
        ['phone', '+44 20 7946 0958'],
        ['phone', '+44 20 7946 0958'],
      ],
    ],
    [
      '4111111111111111-123-45-6789',
      [
        ['credit_card', '4111111111111111'],
        ['ssn', '123-45-6789'],
      ],
    ],
    ['12 415 555 0123 99', [['phone', '415 555 0123']]],
  ])('separates numbers that share one run of digit groups: %j', (input, expected) => {
    expect(set.scan(input).map((f) => [f.detector, f.text])).toEqual(expected);
  });

  it('masks a value again when masking revealed a neighbour', () => {
    // The phone is glued to the address, so it is not a phone until the address is gone.
    expect(set.scan('alice@example.com+14155550123').map((f) => f.detector)).toEqual(['email']);
    const r = set.mask('alice@example.com+14155550123', 'redact');
    expect(r?.text).toBe('[REDACTED:email][REDACTED:phone]');
    expect(r?.counts).toEqual({ email: 1, phone: 1 });
    expect(set.mask(r?.text ?? '', 'redact')).toBeNull();
  });

  it('masks every occurrence of an AWS secret key once one occurrence has context', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const text = `copy: ${key}${' '.repeat(400)}aws_secret_access_key=${key}`;
    expect(set.scan(text).map((f) => [f.detector, f.start])).toEqual([
      ['aws_secret_access_key', 6],
      ['aws_secret_access_key', 468],
    ]);
    expect(set.scan(`copy: ${key}${' '.repeat(400)}other=${key}`)).toEqual([]);
  });

  it('runs only the enabled built-ins', () => {
    const onlyEmail = createDetectorSet({ enabled: ['email'] });
    expect(onlyEmail.scan('4111111111111111 alice@example.com').map((f) => f.detector)).toEqual(['email']);
    expect(onlyEmail.names).toEqual(['email']);
  });

  it('accepts the bare 9-digit SSN only when asked', () => {
    expect(found('123456789')).toEqual([]);
    const column = createDetectorSet({ enabled: ['ssn'], bareSsn: true });
    expect(column.scan('123456789').map((f) => f.detector)).toEqual(['ssn']);
    expect(column.scan('000456789')).toEqual([]);
    expect(column.scan('987654321')).toEqual([]);
  });

  it('rejects unknown or clashing detector names', () => {
    expect(() => createDetectorSet({ enabled: ['credit_cards'] })).toThrow(GatewayError);
    expect(() => createDetectorSet({ custom: [{ name: 'email', pattern: 'x' }] })).toThrow(/defined twice/);
    expect(() => createDetectorSet({ custom: [{ name: 'Bad Name', pattern: 'x' }] })).toThrow(/must match/);
    expect(() => createDetectorSet({ hashKey: Buffer.alloc(8) })).toThrow(/16 bytes/);
  });
});

describe('custom regex detectors', () => {
  const custom = createDetectorSet({
    enabled: [],
    custom: [
      { name: 'employee_id', pattern: 'EMP-\\d{6}' },
      { name: 'project_code', pattern: 'proj_[a-z]+', flags: 'i' },
    ],
  });

  it('reports every match under the detector name', () => {
    expect(custom.scan('EMP-123456 and EMP-654321, PROJ_Falcon').map((f) => [f.detector, f.text])).toEqual([
      ['employee_id', 'EMP-123456'],
      ['employee_id', 'EMP-654321'],
      ['project_code', 'PROJ_Falcon'],
    ]);
    expect(custom.mask('id EMP-123456', 'redact')?.text).toBe('id [REDACTED:employee_id]');
  });

  it('refuses invalid patterns, patterns matching nothing, and unknown flags', () => {
    expect(() => createDetectorSet({ custom: [{ name: 'bad', pattern: '(' }] })).toThrow(/invalid regex/);
    expect(() => createDetectorSet({ custom: [{ name: 'empty', pattern: 'a*' }] })).toThrow(/empty string/);
    expect(() => createDetectorSet({ custom: [{ name: 'flags', pattern: 'a', flags: 'x' }] })).toThrow(
      /flags/,
    );
  });
});

describe('dictionary detectors', () => {
  const dict = createDetectorSet({
    enabled: [],
    dictionaries: [{ name: 'codenames', words: ['nightingale', 'Project   Falcon', 'Zoë', 'c++'] }],
  });

  it('matches whole words case-insensitively, phrases with any spacing', () => {
    const text = 'The NIGHTINGALE met zoë about project falcon; nightingales and Zoëy do not count.';
    expect(dict.scan(text).map((f) => f.text)).toEqual(['NIGHTINGALE', 'zoë', 'project falcon']);
  });

  it('does not match inside words', () => {
    expect(dict.scan('nightingales')).toEqual([]);
    expect(dict.scan('xnightingale')).toEqual([]);
    expect(dict.scan('nightingale_1')).toEqual([]);
  });

  it('matches entries with punctuation as phrases', () => {
    expect(dict.scan('we use c++ daily').map((f) => f.text)).toEqual(['c++']);
  });
});

describe('bounded work on hostile input', () => {
  it.each([
    ['unterminated PEM lines', '-----BEGIN RSA PRIVATE KEY-----"'.repeat(8000)],
    ['digit groups', '1 '.repeat(100_000)],
    ['at signs', 'a@b.'.repeat(50_000)],
    ['IBAN-like prefixes', 'DE89 '.repeat(50_000)],
    ['token prefixes', `${'ghp_'.repeat(10)} `.repeat(5000)],
    ['JWT-like headers', 'eyJhbGciOiJub25lIn0.'.repeat(10_000)],
    ['long base64', 'QUJD'.repeat(100_000)],
  ])('%s (~200 KB) scans in well under a second', (_label, text) => {
    const t0 = performance.now();
    set.mask(text, 'redact', 'text');
    expect(performance.now() - t0).toBeLessThan(1500);
  });
});
