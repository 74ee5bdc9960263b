import { defineConfig } from 'vitest/config';

// Four projects: pure unit tests, integration tests against real PostgreSQL / PgBouncer
// (`*.int.test.ts`) with the native I/O core as the proxy's mover (where it is built), the proxy's
// integration tests again with Node's sockets as the mover (`int-node`), and e2e specs against the
// real local Kubernetes control plane (`e2e/`).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'contract/**/*.test.ts',
            'proxy/src/**/*.test.ts',
            'proxy/bench/**/*.test.ts',
            'operator/src/**/*.test.ts',
            'e2e/agent/**/*.test.ts',
            'e2e/monitoring/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['contract/**/*.int.test.ts', 'proxy/**/*.int.test.ts', 'operator/**/*.int.test.ts', 'e2e/monitoring/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'int-node',
          include: ['proxy/src/**/*.int.test.ts'],
          // These two test the movers themselves, each one by name.
          exclude: ['proxy/src/io/**', '**/node_modules/**'],
          env: { DBPROXY_IO: 'node' },
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
