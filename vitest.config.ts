import { defineConfig } from 'vitest/config';

/**
 * Files that measure the event loop of their own process (the gateway under test runs in it): they
 * get a process of their own, so that what earlier files left in a shared worker (a larger heap, its
 * collector's pauses) is not counted against them.
 */
const OWN_PROCESS = ['test/kubernetes-client-limits.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests each start real servers; two cores are shared with them.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/testkit/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: OWN_PROCESS,
          // Test files share their worker's module cache instead of loading the gateway's modules (and
          // the AWS SDK, oidc-provider, ssh2, playwright-core…) again for each of ~280 files: vitest's
          // `import` time went from ~380 s to ~80 s summed over both workers. Each file still starts and
          // stops its own servers and gateways; nothing in src/ keeps state across gateways in one
          // process. `npx vitest run --isolate` gives every file a fresh process for comparison.
          isolate: false,
        },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, isolate: true } },
    ],
  },
});
