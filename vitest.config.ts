import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The workspace packages' own tests run with the bridge's, so `npm test` covers everything.
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests start real servers and Redis clients; two cores, so keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
  },
});
