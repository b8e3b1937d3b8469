// One Kubernetes request → one Action: the target split (origin-form only), the path canonicalised
// (ambiguous forms refused), the API server's RequestInfo attributes derived from the canonical path
// and the query, and for exec the command's shell risk categories. What cannot be classified is refused.

import { kubernetesAction, type KubernetesAction } from '../../core/action.js';
import { canonicalPath, type CanonicalPath } from '../../wire/http/canonical-path.js';
import {
  parseQuery,
  requestInfo,
  UnclassifiableRequest,
  type KubeRequestInfo,
} from '../../wire/kubernetes/request-info.js';

/** Risk categories of an exec command's argv (the shared shell-command classifier, src/shell). */
export type CommandClassifier = (argv: readonly string[]) => readonly string[];

export interface ClassifiedRequest {
  readonly ok: true;
  readonly info: KubeRequestInfo;
  readonly path: CanonicalPath;
  /**
   * The query to forward (and record): rebuilt from what was read where the request's attributes
   * come from it (list/watch, exec, attach, port-forward), else as received (it parses the same way
   * the API server parses it).
   */
  readonly query: string;
  readonly action: KubernetesAction;
}

export interface UnclassifiedRequest {
  readonly ok: false;
  /** For the client: what is wrong and how to send it instead. */
  readonly message: string;
}

export function classifyRequest(
  connection: string,
  method: string,
  url: string | undefined,
  classifyCommand: CommandClassifier | undefined,
): ClassifiedRequest | UnclassifiedRequest {
  if (url === undefined || !url.startsWith('/') || url.includes('#'))
    return { ok: false, message: 'Gatehouse: the request target is not an origin-form path.' };
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const path = canonicalPath(rawPath);
  if (!path.ok)
    return {
      ok: false,
      message: `Gatehouse refused the request path: ${path.reason}. Send the path in its plain form (no encoded "/", "\\" or ".", no "..", "." or "//").`,
    };
  let info: KubeRequestInfo;
  try {
    info = requestInfo(method, path, parseQuery(rawQuery));
  } catch (e) {
    if (!(e instanceof UnclassifiableRequest)) throw e;
    return {
      ok: false,
      message: `Gatehouse cannot classify this request (${e.message}), so it was refused: only requests it can decide on are forwarded.`,
    };
  }
  const command = info.exec?.command;
  const commandCategories =
    command !== undefined && info.subresource === 'exec'
      ? (classifyCommand?.(command) ?? ['unknown'])
      : undefined;
  const query = info.query ?? rawQuery;
  const requestLine = `${method.toUpperCase()} ${path.path}${query === '' ? '' : `?${query}`}`;
  const action = kubernetesAction({
    connection,
    verb: info.verb,
    resourceRequest: info.isResourceRequest,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    path: path.decoded,
    requestLine,
    ...(command !== undefined ? { command } : {}),
    ...(commandCategories !== undefined ? { commandCategories } : {}),
    ...(info.exec ? { container: info.exec.container, tty: info.exec.tty, stdin: info.exec.stdin } : {}),
    ...(info.ports ? { ports: info.ports } : {}),
  });
  return { ok: true, info, path, query, action };
}
