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

export default defineConfig({
  test: {
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
          // These tests change kernel state in namespaces they create; one file at a time.
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
