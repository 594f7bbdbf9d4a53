import { defineConfig } from 'vitest/config';

// The slow fault-injection suite (issue #9): hostlock processes killed, stopped and restarted on
// one database. One file at a time, so the children do not fight over the CI's two cores.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['./test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
