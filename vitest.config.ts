import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** This checkout's sandbox sources (node_modules may be shared with another worktree). */
const SANDBOX_SRC = fileURLToPath(new URL('./packages/sandbox/src', import.meta.url));

/**
 * Two projects: `unit` (pure code: no Redis, no servers, no processes; a few seconds) and
 * `integration` (real Redis, the sandbox org and CM over HTTP, real child processes). A unit test is
 * named `*.unit.test.ts`; the unit project points Redis at a closed port, so one that reaches for
 * Redis fails instead of passing by luck. `npm test` runs both; `npm run test:unit` the first.
 */
export default defineConfig({
  resolve: {
    alias: [{ find: /^@sf-cm-bridge\/sandbox(?:\/(\w+))?$/, replacement: `${SANDBOX_SRC}/$1/index.ts` }],
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests start real servers and Redis clients; two cores, so keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.unit.test.ts', 'packages/*/test/**/*.unit.test.ts'],
          env: { TEST_REDIS_URL: 'redis://127.0.0.1:1' },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: ['**/*.unit.test.ts', '**/node_modules/**'],
        },
      },
    ],
  },
});
