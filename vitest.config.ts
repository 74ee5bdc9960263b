import { defineConfig } from 'vitest/config';

// Three projects: pure unit tests, integration tests against real PostgreSQL / PgBouncer
// (`*.int.test.ts`), and e2e specs against the real local Kubernetes control plane (`e2e/`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['proxy/src/**/*.test.ts', 'proxy/bench/**/*.test.ts', 'operator/src/**/*.test.ts', 'e2e/agent/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['proxy/**/*.int.test.ts', 'operator/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/specs/**/*.e2e.test.ts'],
          globalSetup: ['e2e/specs/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
