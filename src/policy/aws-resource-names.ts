// The names an AWS resource goes by, for rules on `awsResources`.
//
// A service takes the same resource under several spellings: Secrets Manager's SecretId is a name, a
// complete ARN (`arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf`) or a partial
// one (`…:secret:prod/db`); DynamoDB's TableName is a name or `arn:…:table/secrets`; Lambda's
// FunctionName is a name, `name:qualifier`, `123456789012:function:name` or an ARN; an SQS queue is
// named by its URL. Gatehouse matched a rule's globs against the string the client sent, so a deny of
// `prod/*` was walked around with the secret's ARN, and a rule written as an ARN never saw a request
// naming the resource by name (docs/security.md, class 70).
//
// So a request's resource is matched in every spelling that names it for certain (as sent, and the
// name an ARN, a partial ARN or a queue URL of the request's own service gives), and a rule written as
// an ARN also matches by the name it gives. Deny and review rules, which must not be walked around,
// go further: they also match the spellings that may name it (a secret's name without the `-XXXXXX`
// suffix the service adds, the name an ARN of another service gives), and ARN patterns pinned to a
// region or account also by name (Gatehouse does not know the account a name resolves in). Allow rules
// take only what is certain: where Gatehouse cannot tell, the request falls to the next rule or the
// connection's default, never to an allow.

import { compileCaseSensitiveGlob } from './glob.js';

export interface ResourceNames {
  /** Spellings that name this resource for certain: the string as sent first. */
  readonly certain: readonly string[];
  /** Further spellings that may name it (for deny and review rules only). */
  readonly possible: readonly string[];
}

/** A Secrets Manager secret's complete ARN ends in `-` and six characters the service chose. */
const SECRET_SUFFIX = /-[A-Za-z0-9]{6}$/;

interface ArnParts {
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** Everything after the account: `secret:prod/db`, `table/secrets`, `function:f:1`, `my-topic`. */
  readonly resource: string;
}

function arnParts(s: string): ArnParts | undefined {
  if (!s.startsWith('arn:')) return undefined;
  const parts = s.split(':');
  if (parts.length < 6) return undefined;
  return {
    service: parts[2]!,
    region: parts[3]!,
    account: parts[4]!,
    resource: parts.slice(5).join(':'),
  };
}

/** The part after `type/` or `type:` (`stream/orders` → `orders`), or undefined when untyped. */
function afterType(resource: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9-]*[/:]/.exec(resource);
  return m === null ? undefined : resource.slice(m[0].length);
}

/**
 * The name an ARN's resource part gives the resource in the service's own requests, by service:
 * certain names, and names it may stand for (a secret without its suffix). Works on globs too (a rule's
 * `secret:prod/*` gives `prod/*`).
 */
function namesFromArnResource(service: string, resource: string): { certain: string[]; possible: string[] } {
  const certain: string[] = [];
  const possible: string[] = [];
  const typed = (type: string): string | undefined =>
    resource.startsWith(type) ? resource.slice(type.length) : undefined;
  switch (service) {
    case 'secretsmanager': {
      const name = typed('secret:');
      if (name !== undefined) {
        certain.push(name);
        const bare = name
          .replace(SECRET_SUFFIX, '')
          .replace(/-\?{6}$/, '')
          .replace(/-\*$/, '');
        if (bare !== name && bare !== '') possible.push(bare);
      }
      break;
    }
    case 'dynamodb': {
      // table/NAME, and what belongs to it: table/NAME/stream/…, /index/…, /backup/…, /export/…
      const rest = typed('table/');
      if (rest !== undefined) certain.push(rest.split('/')[0]!);
      break;
    }
    case 'lambda': {
      const rest = typed('function:');
      if (rest !== undefined) certain.push(rest.split(':')[0]!);
      break;
    }
    case 'kms': {
      const key = typed('key/');
      if (key !== undefined) certain.push(key);
      if (resource.startsWith('alias/')) certain.push(resource);
      break;
    }
    case 'ssm': {
      const name = typed('parameter');
      // parameter/NAME for a name without `/`, parameter/a/b for the hierarchical `/a/b`.
      if (name !== undefined && name.startsWith('/')) {
        const bare = name.slice(1);
        certain.push(bare.includes('/') ? `/${bare}` : bare);
        possible.push(bare.includes('/') ? bare : `/${bare}`);
      }
      break;
    }
    case 'logs': {
      const name = typed('log-group:');
      if (name !== undefined) certain.push(name.replace(/:\*$/, ''));
      break;
    }
    case 'sqs':
    case 'sns':
      if (!resource.includes(':') && !resource.includes('/')) certain.push(resource);
      break;
    case 's3':
      certain.push(resource);
      break;
    case 'iam': {
      // role/PATH/NAME, user/…, group/…, policy/…, instance-profile/…: requests name the last part.
      const rest = afterType(resource);
      if (rest !== undefined) certain.push(rest.slice(rest.lastIndexOf('/') + 1));
      break;
    }
    case 'cloudformation': {
      const rest = typed('stack/');
      if (rest !== undefined) certain.push(rest.split('/')[0]!);
      break;
    }
    case 'rds': {
      const rest = afterType(resource);
      if (rest !== undefined) certain.push(rest);
      break;
    }
    default: {
      const rest = afterType(resource);
      if (rest !== undefined) certain.push(rest);
      else if (resource !== '') certain.push(resource);
      // A service not listed here may name it by its last part (for deny and review).
      const last = resource.slice(Math.max(resource.lastIndexOf('/'), resource.lastIndexOf(':')) + 1);
      if (last !== '' && last !== rest) possible.push(last);
    }
  }
  return { certain, possible };
}

/** Spellings of a resource a request of `service` (an IAM prefix: `secretsmanager`, `dynamodb`) names. */
export function resourceNames(service: string | undefined, resource: string): ResourceNames {
  const certain = [resource];
  const possible: string[] = [];
  // `resolve:ssm:NAME[:VERSION]`: an EC2 launch parameter (ImageId, in a launch template too) that
  // EC2 replaces with the SSM parameter's value, read with the caller's credentials (class 345).
  const resolved = /^resolve:ssm:(.+)$/.exec(resource);
  if (resolved !== null) {
    const named = resolved[1]!;
    // A version or label after the name's last `:` (a name holds none; an ARN's last part holds `/`).
    const unversioned = named.replace(/:[^:/]*$/, '');
    for (const n of new Set([named, unversioned])) {
      const inner = resourceNames('ssm', n);
      possible.push(...inner.certain, ...inner.possible);
    }
  }
  const arn = arnParts(resource);
  if (arn !== undefined) {
    const n = namesFromArnResource(arn.service, arn.resource);
    // An ARN of another service names that service's resource: not certainly this request's.
    (arn.service === service ? certain : possible).push(...n.certain);
    possible.push(...n.possible);
  } else if (service === 'lambda') {
    // `123456789012:function:NAME[:QUALIFIER]`, `NAME:QUALIFIER`: the function NAME.
    const partial = /^\d{12}:function:([^:]+)(?::[^:]*)?$/.exec(resource);
    if (partial !== null) certain.push(partial[1]!);
    else if (/^[^:]+:[^:]*$/.test(resource)) certain.push(resource.slice(0, resource.indexOf(':')));
  } else if (service === 'sqs' && /^\d{12}\/[^/]+$/.test(resource)) {
    // A queue named by its URL's path (ACCOUNT/NAME): the queue NAME.
    certain.push(resource.slice(resource.indexOf('/') + 1));
  } else if (service === 'sqs' && /^https?:\/\//i.test(resource)) {
    // A queue URL, https://sqs.us-east-1.amazonaws.com/123456789012/NAME: the queue NAME.
    const path = resource.replace(/^https?:\/\/[^/]*/i, '').replace(/\/+$/, '');
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (name !== '') certain.push(name);
  } else if (service === 'secretsmanager') {
    // A secret named with the suffix a complete ARN carries may be asked for without it, and back.
    const bare = resource.replace(SECRET_SUFFIX, '');
    if (bare !== resource) possible.push(bare);
  }
  return { certain: dedupe(certain), possible: dedupe(possible).filter((p) => !certain.includes(p)) };
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}

type Matcher = (input: string) => boolean;

interface DerivedPattern {
  /** Which services' requests the derived name applies to (the ARN pattern's service part). */
  readonly service: Matcher;
  readonly name: Matcher;
  /** The name pattern as written. */
  readonly glob: string;
  /** The name pattern in lower case, for services whose names are not distinguished by case. */
  readonly folded: Matcher;
}

/** Whether some name starting with `prefix` matches the glob `pattern` (`*` spans anything). */
export function mayMatchUnder(pattern: string, prefix: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern.startsWith(prefix);
  const head = pattern.slice(0, star);
  return head.startsWith(prefix) || prefix.startsWith(head);
}

/** The compiled `awsResources` of one rule. */
export interface AwsResourceMatch {
  readonly raw: readonly string[];
  /** Allow rules: the request's own resource, in a certain spelling, matches a pattern or an exact name pattern. */
  allows(service: string | undefined, resource: string): boolean;
  /** Deny and review rules: a name the request holds, in any spelling, matches any pattern or name pattern. */
  restricts(service: string | undefined, name: string): boolean;
  /** restricts() of a name whose spellings were read already (resourceNames): once per request, not per rule. */
  restrictsSpelled(service: string | undefined, names: ResourceNames): boolean;
  /** Deny and review rules: some name under `prefix` (a request reads all of them) may match. */
  restrictsUnder(service: string | undefined, prefix: string): boolean;
  /**
   * Why restricts() matched: a spelling of the name (`name`), or a KMS alias that may name a key the
   * rule names by id (`alias`), or a key id an alias the rule names may point at (`key`); undefined
   * when it did not.
   */
  restrictsWhy(service: string | undefined, name: string): 'name' | 'alias' | 'key' | undefined;
}

/**
 * KMS takes a key by its id (`1234abcd-…`, `mrk-…`), its ARN, an alias (`alias/prod`) or an alias's
 * ARN, and which key an alias names is the service's to say: any alias may point at any key of the
 * account, and UpdateAlias moves it. Gatehouse does not ask (the answer could change before the
 * request runs), so for deny and review rules an alias may be any key a rule names by id, and a key id
 * may be what any alias a rule names points at (docs/security.md, class 110).
 */
const KMS_KEY_ID = /^(?:mrk-)?[0-9a-fA-F-]+$/;
/** Whether a glob may match a KMS key id: its literal characters are all ones a key id has. */
function mayNameKmsKeyId(glob: string): boolean {
  return glob !== '' && /^[0-9a-fA-Fmrk*-]+$/.test(glob);
}
/** Whether a glob may match a KMS alias name. */
function mayNameKmsAlias(glob: string): boolean {
  return mayMatchUnder(glob, 'alias/');
}
/** Whether a name, as a request of `service` spells it, is a KMS alias, a KMS key id, or neither. */
function kmsSpelling(service: string | undefined, names: ResourceNames): 'alias' | 'key' | undefined {
  const sent = names.certain[0] ?? '';
  const arn = arnParts(sent);
  if (arn !== undefined) {
    if (arn.service !== 'kms') return undefined;
    if (arn.resource.startsWith('alias/')) return 'alias';
    return arn.resource.startsWith('key/') ? 'key' : undefined;
  }
  if (service !== 'kms') return undefined;
  if (sent.startsWith('alias/')) return 'alias';
  return KMS_KEY_ID.test(sent) ? 'key' : undefined;
}

/**
 * Services whose names are not distinguished by case: IAM's users, groups, roles, policies and
 * instance profiles ("names are not distinguished by case"), and identifiers RDS, Redshift and
 * ElastiCache keep in lower case (`PROD-DB` is `prod-db`). Deny and review rules match them folded.
 */
const CASELESS_SERVICES: ReadonlySet<string> = new Set(['iam', 'rds', 'redshift', 'elasticache']);

export function compileAwsResources(raw: readonly string[]): AwsResourceMatch {
  const globs = raw.map(compileCaseSensitiveGlob);
  const foldedGlobs = raw.map((p) => compileCaseSensitiveGlob(p.toLowerCase()));
  // Name patterns an ARN pattern gives: exact when its region and account are any (then the name
  // pattern means the same thing), else for deny and review only.
  const exact: DerivedPattern[] = [];
  const conservative: DerivedPattern[] = [];
  for (const p of raw) {
    if (!p.startsWith('arn:')) continue;
    const parts = p.split(':');
    const service = compileCaseSensitiveGlob(parts[2] ?? '*');
    if (parts.length < 6) {
      // `arn:aws:secretsmanager:*`: a trailing `*` spans the rest; anything else names no resource.
      if (p.endsWith('*')) exact.push({ service, name: () => true, glob: '*', folded: () => true });
      continue;
    }
    const anyWhere = (x: string) => x === '*' || x === '';
    const target = anyWhere(parts[3]!) && anyWhere(parts[4]!) ? exact : conservative;
    const resource = parts.slice(5).join(':');
    const services = parts[2]!.includes('*') ? ['*'] : [parts[2]!];
    for (const svc of services) {
      const n =
        svc === '*'
          ? { certain: [afterType(resource) ?? resource], possible: [] as string[] }
          : namesFromArnResource(svc, resource);
      const derived = (glob: string): DerivedPattern => ({
        service,
        name: compileCaseSensitiveGlob(glob),
        glob,
        folded: compileCaseSensitiveGlob(glob.toLowerCase()),
      });
      for (const glob of n.certain) target.push(derived(glob));
      for (const glob of n.possible) conservative.push(derived(glob));
    }
  }
  const derived = [...exact, ...conservative];
  const byName = (list: readonly DerivedPattern[], service: string | undefined, name: string): boolean =>
    list.some((d) => (service === undefined || d.service(service)) && d.name(name));
  // The name patterns that may name a KMS key by id, or a KMS alias (as written, or an ARN's name).
  const kmsPatterns = (test: (glob: string) => boolean): boolean =>
    raw.some((p) => !p.startsWith('arn:') && test(p)) ||
    derived.some((d) => d.service('kms') && test(d.glob));
  const namesKeyIds = kmsPatterns(mayNameKmsKeyId);
  const namesAliases = kmsPatterns(mayNameKmsAlias);
  const restrictsWhy = (
    service: string | undefined,
    names: ResourceNames,
  ): 'name' | 'alias' | 'key' | undefined => {
    const fold = service !== undefined && CASELESS_SERVICES.has(service);
    const one = (name: string): boolean => {
      if (globs.some((g) => g(name)) || byName(derived, service, name)) return true;
      if (!fold) return false;
      const lower = name.toLowerCase();
      return foldedGlobs.some((g) => g(lower)) || derived.some((d) => d.service(service) && d.folded(lower));
    };
    if (names.certain.some(one) || names.possible.some(one)) return 'name';
    const kms = kmsSpelling(service, names);
    if (kms === 'alias' && namesKeyIds) return 'alias';
    if (kms === 'key' && namesAliases) return 'key';
    return undefined;
  };
  const restrictsSpelled = (service: string | undefined, names: ResourceNames): boolean =>
    restrictsWhy(service, names) !== undefined;
  return {
    raw,
    allows(service, resource) {
      for (const name of resourceNames(service, resource).certain) {
        if (globs.some((g) => g(name)) || byName(exact, service, name)) return true;
      }
      return false;
    },
    restricts: (service, resource) => restrictsSpelled(service, resourceNames(service, resource)),
    restrictsSpelled,
    restrictsWhy: (service, name) => restrictsWhy(service, resourceNames(service, name)),
    restrictsUnder(service, prefix) {
      // KMS selects keys (a Decrypt without KeyId uses the key its ciphertext names): only patterns
      // that may name a key or an alias select one.
      if (service === 'kms' && prefix === '') return namesKeyIds || namesAliases;
      if (raw.some((p) => mayMatchUnder(p, prefix))) return true;
      return derived.some(
        (d) => (service === undefined || d.service(service)) && mayMatchUnder(d.glob, prefix),
      );
    },
  };
}
