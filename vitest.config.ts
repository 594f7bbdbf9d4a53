import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the slow fault-injection suite runs alone: npm run test:faults (vitest.faults.config.ts)
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    environment: 'node',
    pool: 'forks',
    globalSetup: ['./test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 15_000,
  },
});
