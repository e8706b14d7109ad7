import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  advertCentiseconds,
  type KeepalivedSettings,
  keepalivedSettingsIssues,
  linkLocalVip,
  peersOtherThan,
  renderKeepalivedConfig,
} from '../../../src/agent/ha/config.js';
import { ConfigError } from '../../../src/config/issues.js';
import { GOLDEN_CASES, GOLDEN_DIR } from './goldenCases.js';

const base: KeepalivedSettings = {
  interface: 'net1',
  group: 42,
  priority: 100,
  notifyFifo: '/tmp/x/notify.fifo',
  priorityFile: '/tmp/x/priority',
};

function issuesOf(changes: Partial<Record<keyof KeepalivedSettings, unknown>>): string[] {
  return keepalivedSettingsIssues({ ...base, ...changes } as KeepalivedSettings).map(
    (issue) => `${issue.path}: ${issue.message}`,
  );
}

describe('renderKeepalivedConfig: goldens', () => {
  it.each(GOLDEN_CASES)('$name', ({ name, settings }) => {
    const file = join(GOLDEN_DIR, `${name}.conf`);
    const text = renderKeepalivedConfig(settings);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });
});

describe('renderKeepalivedConfig: content', () => {
  const text = renderKeepalivedConfig(base);

  it('is a VRRPv3 instance over IPv6 that starts as a backup', () => {
    expect(text).toMatch(/^ {4}vrrp_version 3$/m);
    expect(text).toMatch(/^ {4}native_ipv6$/m);
    expect(text).toMatch(/^ {4}state BACKUP$/m);
    expect(text).toMatch(/^ {4}virtual_router_id 42$/m);
    expect(text).toMatch(/^ {4}advert_int 0\.1$/m);
  });

  it('holds only the link-local VIP: no egress address, no excluded addresses', () => {
    expect(text).toMatch(/virtual_ipaddress \{\n {8}fe80::5e:2a\/64\n {4}\}/);
    expect(text).not.toMatch(/virtual_ipaddress_excluded/);
    expect(text.match(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g)).toBeNull();
  });

  it('keeps pre-emption unless nopreempt is asked for', () => {
    expect(text).not.toMatch(/nopreempt/);
    expect(renderKeepalivedConfig({ ...base, nopreempt: true })).toMatch(/^ {4}nopreempt$/m);
  });

  it('makes two masters settle at once and tells the survivor', () => {
    expect(text).toMatch(/^ {4}lower_prio_no_advert false$/m);
    expect(text).toMatch(/^ {4}higher_prio_send_advert true$/m);
  });

  it('writes state changes and priority changes to the FIFO and tracks the priority file', () => {
    expect(text).toMatch(/^ {4}notify_fifo \/tmp\/x\/notify\.fifo$/m);
    expect(text).toMatch(/^ {4}vrrp_notify_priority_changes true$/m);
    expect(text).toMatch(/ {4}file "\/tmp\/x\/priority"\n {4}weight 1\n/);
  });

  it('lists unicast peers in canonical form, multicast otherwise', () => {
    expect(text).not.toMatch(/unicast_peer/);
    const unicast = renderKeepalivedConfig({ ...base, unicastPeers: ['FE80::0:1', '2001:DB8::0:5'] });
    expect(unicast).toMatch(/unicast_peer \{\n {8}fe80::1\n {8}2001:db8::5\n {4}\}/);
  });

  it('is deterministic', () => {
    expect(renderKeepalivedConfig({ ...base })).toBe(text);
  });
});

describe('linkLocalVip and advertCentiseconds', () => {
  it.each([
    [1, 'fe80::5e:1'],
    [42, 'fe80::5e:2a'],
    [255, 'fe80::5e:ff'],
  ])('group %i -> %s', (group, vip) => {
    expect(linkLocalVip(group)).toBe(vip);
  });

  it.each([
    [0.1, 10],
    [0.01, 1],
    [0.3, 30],
    [1, 100],
    [40.95, 4095],
    [0.015, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
  ])('%d s -> %s cs', (seconds, centi) => {
    expect(advertCentiseconds(seconds)).toBe(centi);
  });
});

describe('keepalivedSettingsIssues', () => {
  it('accepts the minimal settings', () => {
    expect(issuesOf({})).toEqual([]);
  });

  it.each([
    [{ interface: '' }, 'interface: must not be empty'],
    [{ interface: 'net1 nopreempt' }, 'interface: may contain only'],
    [{ interface: 'net1\n}' }, 'interface: may contain only'],
    [{ interface: 'averyveryverylongname' }, 'interface: must be at most 15 bytes'],
    [{ interface: 7 }, 'interface: must be a string'],
    [{ group: 0 }, 'group: must be an integer 1..255, got 0'],
    [{ group: 256 }, 'group: must be an integer 1..255, got 256'],
    [{ group: 1.5 }, 'group: must be an integer 1..255, got 1.5'],
    [
      { priority: 255 },
      'priority: must be an integer 1..254 (255 is reserved for an address owner), got 255',
    ],
    [{ priority: 0 }, 'priority: must be an integer 1..254'],
    [{ advertIntervalSeconds: 0 }, 'advertIntervalSeconds: must be 0.01..40.95 in steps of 0.01'],
    [{ advertIntervalSeconds: 41 }, 'advertIntervalSeconds: must be 0.01..40.95'],
    [{ advertIntervalSeconds: 0.005 }, 'advertIntervalSeconds: must be 0.01..40.95'],
    [{ advertIntervalSeconds: 0.123 }, 'advertIntervalSeconds: must be 0.01..40.95'],
    [{ unicastPeers: [] }, 'unicastPeers: must name at least one peer'],
    [{ unicastPeers: '2001:db8::1' }, 'unicastPeers: must be a list'],
    [{ unicastPeers: ['192.0.2.7'] }, 'unicastPeers[0]: must be an IPv6 address (VRRP runs over IPv6 here)'],
    [{ unicastPeers: ['fe80::1%net1'] }, 'unicastPeers[0]: must not carry a zone'],
    [
      { unicastPeers: ['fe80::1', 'ff02::12'] },
      'unicastPeers[1]: must be a unicast address, got the multicast',
    ],
    [{ unicastPeers: ['::'] }, 'unicastPeers[0]: must be a unicast address, got the unspecified'],
    [{ unicastPeers: ['::1'] }, 'unicastPeers[0]: must be a unicast address, got the loopback'],
    [{ unicastPeers: ['fe80::1', 'FE80::0:1'] }, 'unicastPeers[1]: repeats unicastPeers[0] (fe80::1)'],
    [{ unicastPeers: ['fe80::1\n}'] }, 'unicastPeers[0]: is not an IP address'],
    [{ unicastPeers: [3] }, 'unicastPeers[0]: must be a string'],
    [{ notifyFifo: 'relative/fifo' }, 'notifyFifo: must be an absolute path'],
    [{ notifyFifo: '/tmp/a b' }, 'notifyFifo: must be an absolute path'],
    [{ notifyFifo: '/tmp/"x' }, 'notifyFifo: must be an absolute path'],
    [{ priorityFile: '/tmp/../etc/x' }, 'priorityFile: must not contain ".."'],
    [{ priorityFile: '/tmp/x/notify.fifo' }, 'priorityFile: must differ from notifyFifo'],
  ])('%j', (changes, expected) => {
    const issues = issuesOf(changes);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain(expected);
  });

  it('reports every problem at once', () => {
    expect(issuesOf({ interface: '', group: 0, priority: 300, unicastPeers: ['x', '192.0.2.1'] })).toEqual([
      'interface: must not be empty',
      'group: must be an integer 1..255, got 0',
      'priority: must be an integer 1..254 (255 is reserved for an address owner), got 300',
      'unicastPeers[0]: is not an IP address, got "x"',
      'unicastPeers[1]: must be an IPv6 address (VRRP runs over IPv6 here), got "192.0.2.1"',
    ]);
  });

  it('renderKeepalivedConfig refuses invalid settings with a ConfigError naming the fields', () => {
    expect(() => renderKeepalivedConfig({ ...base, group: 0, interface: 'a b' })).toThrow(ConfigError);
    try {
      renderKeepalivedConfig({ ...base, group: 0, interface: 'a b' });
    } catch (error) {
      expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['interface', 'group']);
    }
  });
});

describe('peersOtherThan', () => {
  it('drops this replica’s own addresses, compared canonically', () => {
    expect(
      peersOtherThan(['fe80::1', 'FE80::0:2', '2001:db8::7'], ['fe80::2', '192.0.2.100', '2001:db8::7']),
    ).toEqual(['fe80::1']);
  });

  it('keeps the list when this replica is not in it', () => {
    expect(peersOtherThan(['fe80::1', 'fe80::2'], ['fe80::3'])).toEqual(['fe80::1', 'fe80::2']);
  });

  it('never empties the list (an empty list would mean multicast)', () => {
    expect(peersOtherThan(['fe80::1'], ['fe80::1'])).toEqual(['fe80::1']);
  });
});
