import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests each start real servers; two cores are shared with them.
    pool: 'forks',
    maxWorkers: 2,
    // Test files share their worker's module cache instead of loading the gateway's modules (and the
    // AWS SDK, oidc-provider, ssh2, playwright-core…) again for each of ~270 files: vitest's `import`
    // time went from ~380 s to ~80 s summed over both workers. Each file still starts and stops its
    // own servers and gateways; nothing in src/ keeps state across gateways in one process (the whole
    // suite passes so, and a test that leaks such state should fail on its own, not be hidden by a
    // fresh process). `npx vitest run --isolate` restores a process per file for comparison.
    isolate: false,
    globalSetup: ['test/testkit/global-setup.ts'],
  },
});
