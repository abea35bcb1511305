/**
 * `npm run test:faults`: the fault-injection suite alone (tests/faults/), outside `npm test`. It needs
 * DATABASE_URL (an admin URL of a PostgreSQL cluster it may create databases on) and `redis-server`
 * on PATH; it starts its own Redis and service instances, and stops them whatever happens.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
