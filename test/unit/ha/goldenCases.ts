/**
 * The keepalived.conf goldens (test/unit/ha/golden/*.conf): the unit test compares the renderer's
 * output with them byte for byte, and a namespace test runs `keepalived -t` on each.
 * After an intended change: `UPDATE_GOLDEN=1 npx vitest run test/unit/ha/config.test.ts`, then review the diff.
 */
import { fileURLToPath } from 'node:url';
import type { KeepalivedSettings } from '../../../src/agent/ha/config.js';

export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

const paths = {
  notifyFifo: '/run/egress-router/ha/notify.fifo',
  priorityFile: '/run/egress-router/ha/priority',
};

export const GOLDEN_CASES: readonly { readonly name: string; readonly settings: KeepalivedSettings }[] = [
  { name: 'multicast', settings: { interface: 'net1', group: 42, priority: 100, ...paths } },
  {
    name: 'unicast',
    settings: {
      interface: 'net1',
      group: 255,
      priority: 150,
      advertIntervalSeconds: 0.25,
      unicastPeers: ['fe80::1', 'FE80::0:2', '2001:db8:100::7'],
      ...paths,
    },
  },
  {
    name: 'nopreempt',
    settings: {
      interface: 'eth1.100',
      group: 1,
      priority: 254,
      advertIntervalSeconds: 1,
      nopreempt: true,
      ...paths,
    },
  },
];
