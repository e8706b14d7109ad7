// The conntrack step: which established flows a pass must cut loose, worked out from the table as
// committed (or listed) against the planned one, and the conntrack commands that do it.
import { describe, expect, it } from 'vitest';
import { conntrackDeleteArgv } from '../../../src/agent/actions.js';
import type { ApplyOptions } from '../../../src/agent/context.js';
import { conntrackFlushes, conntrackStep } from '../../../src/agent/steps/conntrack.js';
import type { StepInput } from '../../../src/agent/steps/step.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';
import type { DeviceAddress } from '../../../src/link/iproute.js';
import type { NftTable } from '../../../src/nft/model.js';
import { packTable } from '../../../src/nft/packed.js';
import { planRouter } from '../../../src/plan/routerPlan.js';
import { planRuleset, redirectTargets } from '../../../src/plan/ruleset.js';

interface Rule {
  destinationIP: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number;
}

function config(rules: Rule[], fallbackIP?: string, v6 = false): RouterConfig {
  const text = JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: 'ct' },
    spec: {
      addresses: [
        { ip: '192.0.2.100/24', gateway: '192.0.2.1' },
        ...(v6 ? [{ ip: '2001:db8:100::100/64', gateway: '2001:db8:100::1' }] : []),
      ],
      redirect: { redirectRules: rules, ...(fallbackIP ? { fallbackIP } : {}) },
    },
  });
  const result = loadConfigText(text, DEFAULT_OPTIONS);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

const table = (rules: Rule[], fallbackIP?: string, v6 = false): NftTable =>
  planRuleset(config(rules, fallbackIP, v6), DEFAULT_OPTIONS);

const DNS: Rule = { destinationIP: '192.0.2.10', port: 5353, protocol: 'UDP', targetPort: 53 };
const WEB: Rule = { destinationIP: '192.0.2.10', port: 80, protocol: 'TCP' };
const SYSLOG: Rule = { destinationIP: '192.0.2.10', port: 514, protocol: 'UDP' };

describe('redirectTargets', () => {
  it('reads the rules and the fallback of each family back from a table', () => {
    const t = packTable(
      table([DNS, WEB, { destinationIP: '2001:db8:100::10', port: 53, protocol: 'UDP' }], '192.0.2.20', true),
    );
    if (!t) throw new Error('not packable');
    const v4 = redirectTargets(t, 4);
    expect(v4?.addresses.toArray()).toEqual([
      [['tcp', 80], '192.0.2.10'],
      [['udp', 5353], '192.0.2.10'],
    ]);
    expect(v4?.ports.toArray()).toEqual([
      [['tcp', 80], 80],
      [['udp', 5353], 53],
    ]);
    expect(v4?.fallback).toBe('192.0.2.20');
    const v6 = redirectTargets(t, 6);
    expect(v6?.addresses.toArray()).toEqual([[['udp', 53], '2001:db8:100::10']]);
    expect(v6?.fallback).toBeUndefined();
    const v4only = packTable(table([DNS]));
    if (!v4only) throw new Error('not packable');
    expect(redirectTargets(v4only, 6)).toBeUndefined();
  });
});

describe('conntrackFlushes', () => {
  it('flushes nothing when nothing changes, or when there was no table before', () => {
    expect(conntrackFlushes(table([DNS, WEB]), true, table([DNS, WEB]), true)).toEqual([]);
    expect(conntrackFlushes(undefined, false, table([DNS, WEB]), true)).toEqual([]);
  });

  it('flushes a UDP port whose destination or target port changed, and one that was removed', () => {
    const before = table([DNS, SYSLOG]);
    const moved = table([
      { ...DNS, destinationIP: '192.0.2.20' },
      { ...SYSLOG, targetPort: 1514 },
    ]);
    expect(conntrackFlushes(before, true, moved, false)).toEqual([
      { family: 4, protocol: 'udp', port: 514, why: 'its mapping changed: 192.0.2.10:514 → 192.0.2.10:1514' },
      { family: 4, protocol: 'udp', port: 5353, why: 'its mapping changed: 192.0.2.10:53 → 192.0.2.20:53' },
    ]);
    expect(conntrackFlushes(before, true, table([SYSLOG]), false)).toEqual([
      { family: 4, protocol: 'udp', port: 5353, why: 'its mapping to 192.0.2.10:53 was removed' },
    ]);
  });

  it('leaves TCP alone unless asked, and leaves unchanged ports alone', () => {
    const before = table([WEB, DNS]);
    const after = table([{ ...WEB, destinationIP: '192.0.2.20' }, DNS]);
    expect(conntrackFlushes(before, true, after, false)).toEqual([]);
    expect(conntrackFlushes(before, true, after, true)).toEqual([
      { family: 4, protocol: 'tcp', port: 80, why: 'its mapping changed: 192.0.2.10:80 → 192.0.2.20:80' },
    ]);
  });

  it('counts the fallback as a mapping: a port moving to or from it, and the fallback itself changing', () => {
    // A rule removed under a fallback: the port now goes to the fallback.
    expect(conntrackFlushes(table([DNS], '192.0.2.20'), true, table([], '192.0.2.20'), false)).toEqual([
      { family: 4, protocol: 'udp', port: 5353, why: 'its mapping changed: 192.0.2.10:53 → 192.0.2.20:5353' },
    ]);
    // A new rule takes a port the fallback had.
    expect(conntrackFlushes(table([], '192.0.2.20'), true, table([DNS], '192.0.2.20'), false)).toEqual([
      { family: 4, protocol: 'udp', port: 5353, why: 'its mapping changed: 192.0.2.20:5353 → 192.0.2.10:53' },
    ]);
    // The fallback moves: everything that was sent to it, by its reply source.
    expect(conntrackFlushes(table([DNS], '192.0.2.20'), true, table([DNS], '192.0.2.30'), false)).toEqual([
      {
        family: 4,
        protocol: 'udp',
        replySource: '192.0.2.20',
        why: 'the fallback moved: 192.0.2.20 → 192.0.2.30',
      },
      {
        family: 4,
        protocol: 'sctp',
        replySource: '192.0.2.20',
        why: 'the fallback moved: 192.0.2.20 → 192.0.2.30',
      },
    ]);
    expect(conntrackFlushes(table([DNS], '192.0.2.20'), true, table([DNS]), true).map((f) => f.why)).toEqual([
      'the fallback 192.0.2.20 was removed',
      'the fallback 192.0.2.20 was removed',
      'the fallback 192.0.2.20 was removed',
    ]);
  });

  it('flushes every UDP and SCTP flow of a family when the table in the kernel could not be read back', () => {
    expect(conntrackFlushes(undefined, true, table([DNS]), false)).toEqual([
      { family: 4, protocol: 'udp', why: 'the table found in the kernel could not be read back' },
      { family: 4, protocol: 'sctp', why: 'the table found in the kernel could not be read back' },
    ]);
  });

  it('walks both tables in key order: TCP, UDP, SCTP, then port as a number', () => {
    const many = (to: string): Rule[] =>
      [9, 10, 100].flatMap((port) => [
        { destinationIP: to, port, protocol: 'SCTP' as const },
        { destinationIP: to, port, protocol: 'UDP' as const },
      ]);
    const flushes = conntrackFlushes(table(many('192.0.2.10')), true, table(many('192.0.2.20')), false);
    expect(flushes.map((f) => `${f.protocol} ${f.port}`)).toEqual([
      'udp 9',
      'udp 10',
      'udp 100',
      'sctp 9',
      'sctp 10',
      'sctp 100',
    ]);
  });

  it('flushes the removed family whole when the router drops IPv6', () => {
    const v6dns: Rule = { destinationIP: '2001:db8:100::10', port: 53, protocol: 'UDP' };
    expect(conntrackFlushes(table([DNS, v6dns], undefined, true), true, table([DNS]), false)).toEqual([
      { family: 6, protocol: 'udp', port: 53, why: 'its mapping to [2001:db8:100::10]:53 was removed' },
    ]);
  });
});

function stepInput(before: NftTable | undefined, cfg: RouterConfig, options: ApplyOptions): StepInput {
  const address = (local: string, family: 'inet' | 'inet6', ifname = 'eth0'): DeviceAddress => ({
    ifname,
    family,
    local,
    prefixlen: family === 'inet' ? 24 : 64,
    scope: 'global',
  });
  return {
    config: cfg,
    options,
    plan: planRouter(cfg, options),
    facts: {},
    observed: {
      pod: {
        links: [],
        addresses: [
          address('198.18.0.2', 'inet'),
          address('198.18.9.2', 'inet'),
          address('2001:db8::2', 'inet6'),
          address('192.0.2.100', 'inet', 'net1'),
        ],
        routes: [],
        rules: { 4: [], 6: [] },
      },
      masterIsPod: true,
      sysctls: new Map(),
      table: {
        // The observation holds the table packed, as observe and the committed table do.
        ...(before ? { model: packTable(before) } : {}),
        present: before !== undefined,
        differences: [],
        trusted: true,
      },
    },
    mayCreateInterface: true,
    holdAddresses: true,
    ha: false,
    podNamespaceRef: '1',
    nonce: '00000000',
    freshDevices: new Set(),
    flushedFamilies: new Set(),
  };
}

describe('the conntrack step', () => {
  it('deletes the entries to each of the router’s cluster addresses, as an optional action', () => {
    const input = stepInput(table([DNS]), config([{ ...DNS, destinationIP: '192.0.2.20' }]), DEFAULT_OPTIONS);
    const { actions } = conntrackStep.converge(input);
    expect(actions.map((a) => a.message)).toEqual([
      'flushed UDP conntrack entries to 198.18.0.2:5353 (its mapping changed: 192.0.2.10:53 → 192.0.2.20:53)',
      'flushed UDP conntrack entries to 198.18.9.2:5353 (its mapping changed: 192.0.2.10:53 → 192.0.2.20:53)',
    ]);
    expect(actions.every((a) => a.kind === 'conntrack' && a.optional !== undefined && !a.undo)).toBe(true);
    const op = actions[0]?.op;
    if (op?.type !== 'conntrack-flush') throw new Error('not a flush');
    expect(conntrackDeleteArgv(op)).toEqual([
      'conntrack',
      '-D',
      '-f',
      'ipv4',
      '-p',
      'udp',
      '--orig-dst',
      '198.18.0.2',
      '--orig-port-dst',
      '5353',
    ]);
  });

  it('flushes TCP too with --flush-tcp-on-change, and by reply source for a moved fallback', () => {
    const input = stepInput(
      table([WEB], '192.0.2.20'),
      config([{ ...WEB, targetPort: 8080 }], '192.0.2.30'),
      { ...DEFAULT_OPTIONS, flushTcpOnChange: true },
    );
    const ops = conntrackStep.converge(input).actions.map((a) => a.op);
    const argv = ops.map((op) =>
      op.type === 'conntrack-flush' ? conntrackDeleteArgv(op).slice(4).join(' ') : '',
    );
    expect(argv).toEqual([
      '-p tcp --orig-dst 198.18.0.2 --orig-port-dst 80',
      '-p tcp --orig-dst 198.18.9.2 --orig-port-dst 80',
      '-p tcp --orig-dst 198.18.0.2 --reply-src 192.0.2.20',
      '-p tcp --orig-dst 198.18.9.2 --reply-src 192.0.2.20',
      '-p udp --orig-dst 198.18.0.2 --reply-src 192.0.2.20',
      '-p udp --orig-dst 198.18.9.2 --reply-src 192.0.2.20',
      '-p sctp --orig-dst 198.18.0.2 --reply-src 192.0.2.20',
      '-p sctp --orig-dst 198.18.9.2 --reply-src 192.0.2.20',
    ]);
  });

  it('does nothing on a pass that changes no mapping', () => {
    const cfg = config([DNS, WEB], '192.0.2.20');
    expect(
      conntrackStep.converge(stepInput(table([DNS, WEB], '192.0.2.20'), cfg, DEFAULT_OPTIONS)).actions,
    ).toEqual([]);
  });
});
