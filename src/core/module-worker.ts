// A worker thread running one of Gatehouse's own modules (the off-thread classifier, the masking
// thread), from dist/ or from the TypeScript sources alike.

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

// Evaluated in the worker (plain CommonJS): from the sources (tests, `GATEHOUSE_FROM_SOURCE`), tsx's
// loader is registered first so that the TypeScript entry can be imported; from dist/ it is not needed.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(workerData.tsx ? import(workerData.tsx).then((api) => api.register()) : Promise.resolve())
  .then(() => import(workerData.entry))
  .catch((e) => { setImmediate(() => { throw e; }); });
`;

/** The URL of tsx's ESM loader API (its package's `./esm/api` export), found from its package.json. */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const exports = (require(manifest) as { exports: Record<string, { import: { default: string } }> }).exports;
  return pathToFileURL(path.join(path.dirname(manifest), exports['./esm/api']!.import.default)).href;
}

/**
 * Starts a worker running the module `name` beside `from` (the caller's `import.meta.url`): `name.js`
 * when the caller runs from dist/, `name.ts` through tsx's loader when it runs from the sources. The
 * module reads `workerData` (with `entry` and `tsx` added). Not the process's flags (`--input-type`,
 * profilers): the bootstrap is CommonJS and needs none. Its output is not shown.
 */
export function startModuleWorker(
  from: string,
  name: string,
  options: { readonly workerData?: Record<string, unknown>; readonly resourceLimits?: ResourceLimits } = {},
): Worker {
  const fromSource = from.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, from).href;
  return new Worker(BOOTSTRAP, {
    eval: true,
    workerData: { ...options.workerData, entry, tsx: fromSource ? tsxApiUrl() : '' },
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    execArgv: [],
    stdout: false,
    stderr: false,
  });
}
