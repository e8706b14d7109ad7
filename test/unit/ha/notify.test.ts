import { describe, expect, it } from 'vitest';
import { parseNotifyLine, stripLogTimestamp } from '../../../src/agent/ha/notify.js';

describe('parseNotifyLine', () => {
  it.each([
    [
      'INSTANCE "egress_router" MASTER 100',
      { kind: 'state', instance: 'egress_router', state: 'MASTER', priority: 100 },
    ],
    [
      'INSTANCE "egress_router" BACKUP 50',
      { kind: 'state', instance: 'egress_router', state: 'BACKUP', priority: 50 },
    ],
    [
      'INSTANCE "egress_router" FAULT 1',
      { kind: 'state', instance: 'egress_router', state: 'FAULT', priority: 1 },
    ],
    [
      'INSTANCE "egress_router" STOP 100',
      { kind: 'state', instance: 'egress_router', state: 'STOP', priority: 100 },
    ],
    ['INSTANCE "VI_1" DELETED 254', { kind: 'state', instance: 'VI_1', state: 'DELETED', priority: 254 }],
    [
      'INSTANCE "egress_router" MASTER_RX_LOWER_PRI 100',
      { kind: 'rival', instance: 'egress_router', priority: 100 },
    ],
    [
      'INSTANCE "egress_router" MASTER_PRIORITY 50',
      { kind: 'priority', instance: 'egress_router', state: 'MASTER', priority: 50 },
    ],
    [
      'INSTANCE "egress_router" BACKUP_PRIORITY 254',
      { kind: 'priority', instance: 'egress_router', state: 'BACKUP', priority: 254 },
    ],
    [
      'INSTANCE "egress_router" MASTER 100\r',
      { kind: 'state', instance: 'egress_router', state: 'MASTER', priority: 100 },
    ],
  ])('%s', (line, expected) => {
    expect(parseNotifyLine(line)).toEqual(expected);
  });

  it.each([
    '',
    'GROUP "g" MASTER 0',
    'INSTANCE "egress_router" LEADER 100',
    'INSTANCE "egress_router" MASTER',
    'INSTANCE "egress_router" MASTER 256',
    'INSTANCE "egress_router" MASTER -1',
    'INSTANCE egress_router MASTER 100',
    'VS [192.0.2.1]:tcp:80 UP',
    'INSTANCE "a" MASTER 100 extra',
  ])('ignores %j', (line) => {
    expect(parseNotifyLine(line)).toBeUndefined();
  });
});

describe('stripLogTimestamp', () => {
  it.each([
    [
      'Wed Dec  2 08:52:02 2026: (egress_router) Entering MASTER STATE',
      '(egress_router) Entering MASTER STATE',
    ],
    [
      'Mon Jan 12 23:59:59 2026: Starting Keepalived v2.2.7 (01/16,2022)',
      'Starting Keepalived v2.2.7 (01/16,2022)',
    ],
    [
      'setpriv: failed to execute keepalived: No such file or directory',
      'setpriv: failed to execute keepalived: No such file or directory',
    ],
    ['              -c r1/c.pid', '              -c r1/c.pid'],
  ])('%j', (line, expected) => {
    expect(stripLogTimestamp(line)).toBe(expected);
  });
});
