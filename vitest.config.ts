import { defineConfig } from 'vitest/config';

// The project runs on Node 24 (scripts/node-runtime.sh); vitest 5 half-works on older ones and
// the tests start the agent with this same node (process.execPath), so say so at once.
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 24) {
  throw new Error(
    `the tests need Node 24 or newer, this is ${process.version}: run scripts/setup.sh, then ` +
      '`. scripts/node-runtime.sh && use_node_runtime` (or use scripts/test.sh)',
  );
}

/**
 * Two test files at a time, the machine's two cores (vitest's own default would be one, cores
 * less one). The netns files mostly wait (timers, keepalived intervals, traffic), so two of them
 * side by side nearly halve the suite; each builds its network under its own prefix and shares
 * nothing else on the host (see test/netns/kit/globalSetup.ts for dist/).
 */
const WORKERS = 2;

export default defineConfig({
  test: {
    maxWorkers: WORKERS,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'netns',
          include: ['test/netns/**/*.test.ts'],
          // dist/ (the agent the tests run) is built here once, never by a test file: a build
          // rewrites dist/ under the agents of files running meanwhile.
          globalSetup: ['test/netns/kit/globalSetup.ts'],
          // These tests change kernel state in namespaces they create, each file under its
          // own prefix: files run side by side, each in its own process.
          pool: 'forks',
          maxWorkers: WORKERS,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
