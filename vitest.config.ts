import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests each start real servers; two cores are shared with them.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/testkit/global-setup.ts'],
  },
});
