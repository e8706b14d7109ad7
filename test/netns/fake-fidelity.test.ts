// The fake kernel (test/fake) against the real one: the same command sequences run in a real
// namespace trio created here (pod, node, lan) and in a fake with the same namespace paths, and
// every answer (exit code, stdout, stderr) and the state after every step (the agent's read
// batch) must match once normalised. Normalising drops what legitimately differs: ifindex
// numbers, MACs and the fe80:: addresses derived from them, handles, counters, timings, and the
// order of nft map elements (which the kernel does not keep either).
//
// The one deliberate difference in setup: the fake has no other hosts, so what the real `lan`
// namespace answers (the gateway 192.0.2.1, the node's 192.0.2.5, a host holding an address)
// is declared on the fake's LAN model instead (fake.lan.gateway / claim).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { type AgentOptions, DEFAULT_OPTIONS, type RouterConfig } from '../../src/config/model.js';
import { deleteNamespace } from '../../src/netkit/netns.js';
import { run as runTool } from '../../src/netkit/process.js';
import { diffTables } from '../../src/nft/diff.js';
import { replaceTableBatch } from '../../src/nft/json.js';
import { planRuleset } from '../../src/plan/ruleset.js';
import { type CommandResult, runProgram, type StreamLines, streamLines } from '../../src/system/command.js';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';

const PREFIX = `fkf${randomBytes(3).toString('hex')}`;
const NAMES = { pod: `${PREFIX}-pod`, node: `${PREFIX}-node`, lan: `${PREFIX}-lan` } as const;
type Where = keyof typeof NAMES;
const PATH: Record<Where, string> = {
  pod: `/run/netns/${NAMES.pod}`,
  node: `/run/netns/${NAMES.node}`,
  lan: `/run/netns/${NAMES.lan}`,
};

/** DAD probes (a second each) for a new address in the pod, on both sides: see beforeAll. */
const DAD_TRANSMITS = 3;

let fake: FakeKernel;
let dir = '';
const created: string[] = [];

// ---- running the same thing on both sides ----

type Side = 'real' | 'fake';

function run(side: Side, where: Where, argv: readonly string[], input?: string): Promise<CommandResult> {
  const full = ['nsenter', `--net=${PATH[where]}`, '--', ...argv];
  const options = { timeoutMs: 20_000, ...(input !== undefined ? { input } : {}) };
  return side === 'real' ? runProgram(full, options) : fake.exec(full, options);
}

const MAC = /\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi;
const LINK_LOCAL = /\bfe80::[0-9a-f:]+(?=[/"\s]|$)/g;
const VOLATILE = new Set([
  'ifindex',
  'link_index',
  'num_tx_queues',
  'num_rx_queues',
  'gso_max_size',
  'gso_max_segs',
  'tso_max_size',
  'tso_max_segs',
  'gro_max_size',
  'handle',
]);

/** Text with MACs and derived link-local addresses replaced. */
function normalText(text: string): string {
  return text
    .replace(MAC, (mac) => (/^(00:){5}00$|^(ff:){5}ff$/i.test(mac) ? mac : 'MAC'))
    .replace(LINK_LOCAL, (ll) => (ll === 'fe80::' ? ll : 'fe80::LL'));
}

const byText = (a: unknown, b: unknown): number => JSON.stringify(a).localeCompare(JSON.stringify(b));

/**
 * Entries whose order follows the random part of an address (local routes of fe80:: addresses
 * derived from MACs) are sorted among themselves; so are nft map elements, kept in no order.
 */
function normalArray(values: unknown[]): unknown[] {
  const out = values.map(normalJson);
  const linkLocal = (v: unknown) => (v as { dst?: unknown })?.dst === 'fe80::LL';
  for (let i = 0; i < out.length; ) {
    let j = i;
    while (j < out.length && linkLocal(out[j])) j++;
    if (j > i + 1) out.splice(i, j - i, ...out.slice(i, j).sort(byText));
    i = Math.max(j, i + 1);
  }
  return out;
}

function normalJson(value: unknown): unknown {
  if (Array.isArray(value)) return normalArray(value);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (VOLATILE.has(key)) continue;
      if (key === 'counter' && inner && typeof inner === 'object') out[key] = { packets: 'N', bytes: 'N' };
      else if (key === 'elem' && Array.isArray(inner)) out[key] = normalArray(inner).sort(byText);
      else out[key] = normalJson(inner);
    }
    return out;
  }
  return typeof value === 'string' ? normalText(value) : value;
}

/** stdout that is JSON (one document per line, as ip -batch prints) is compared as normalised JSON. */
function normalOutput(stdout: string): unknown {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return normalJson(JSON.parse(line));
      } catch {
        return normalText(line);
      }
    });
}

const normal = (r: CommandResult) => ({
  exitCode: r.exitCode,
  stdout: normalOutput(r.stdout),
  stderr: normalText(r.stderr),
});

/** Runs argv on both sides and expects the same answer. */
async function same(where: Where, argv: readonly string[], input?: string): Promise<CommandResult> {
  const real = await run('real', where, argv, input);
  const faked = await run('fake', where, argv, input);
  expect(normal(faked), `${where}: ${argv.join(' ')}${input ? `\n${input}` : ''}`).toEqual(normal(real));
  return real;
}

/** The agent's read of a namespace: one batch for links, addresses, routes, IPv4 rules; IPv6 rules. */
async function observe(side: Side, where: Where): Promise<unknown> {
  const batch = await run(side, where, ['ip', '-json', '-details', '-batch', '-'], READ_BATCH);
  const rules6 = await run(side, where, ['ip', '-6', '-json', 'rule', 'show']);
  return { batch: normal(batch), rules6: normal(rules6) };
}
const READ_BATCH = 'link show\naddress show\nroute show table all\nrule show\n';

interface ListedLink {
  ifname: string;
  flags: string[];
  addr_info: { local: string; scope: string; tentative?: boolean; dadfailed?: boolean }[];
}

/**
 * Neither side has an address still in DAD (a dadfailed one stays tentative for good), and every
 * running link has its fe80:: address (the real kernel adds it only once carrier is seen, a
 * moment after `link set up`).
 */
async function settle(): Promise<void> {
  for (const side of ['real', 'fake'] as const) {
    for (const where of ['pod', 'node'] as const) {
      for (let i = 0; ; i++) {
        const links = JSON.parse(
          (await run(side, where, ['ip', '-json', 'address', 'show'])).stdout,
        ) as ListedLink[];
        const busy = links.flatMap((l) => [
          ...l.addr_info
            .filter((a) => a.tentative && !a.dadfailed)
            .map((a) => `${l.ifname} ${a.local} in DAD`),
          ...(l.flags.includes('LOWER_UP') &&
          !l.flags.includes('LOOPBACK') &&
          !l.addr_info.some((a) => a.scope === 'link')
            ? [`${l.ifname} without a link-local address`]
            : []),
        ]);
        if (busy.length === 0) break;
        if (i === 100) throw new Error(`${side} ${where} not settled after 10 s: ${busy.join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** Runs commands on both sides, then expects the pod and node namespaces to read the same. */
async function step(commands: readonly (readonly [Where, readonly string[], string?])[]): Promise<void> {
  for (const [where, argv, input] of commands) await same(where, argv, input);
  await settle();
  for (const where of ['pod', 'node'] as const) {
    expect(await observe('fake', where), `state of ${where}`).toEqual(await observe('real', where));
  }
}

async function batchFile(name: string, batch: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(batch), { mode: 0o600 });
  return path;
}

// ---- setup and teardown ----

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `${PREFIX}-`));
  for (const name of Object.values(NAMES)) {
    await runTool(['ip', 'netns', 'add', name], { timeoutMs: 20_000 });
    created.push(name);
  }
  // A new IPv6 address in the real pod stays tentative for exactly DAD_TRANSMITS seconds (one
  // probe a second, no random start delay), as long as the fake's: both still say "tentative"
  // when a step lists it right after adding it, however slowly a loaded machine runs the step.
  // (The kernel's default, one probe after a random 0-1 s delay, ends anywhere in 1-2 s: a step
  // that took over a second saw the fake done and the real kernel not.) The node keeps the
  // defaults, which the sysctls test compares; the pod's devices, net1 included when it moves
  // in, take these.
  await runTool(
    [
      'ip',
      'netns',
      'exec',
      NAMES.pod,
      'sysctl',
      '-q',
      '-w',
      `net.ipv6.conf.default.dad_transmits=${DAD_TRANSMITS}`,
      'net.ipv6.conf.default.router_solicitation_delay=0',
    ],
    { timeoutMs: 20_000 },
  );
  fake = createFakeKernel({
    podPaths: [PATH.pod],
    namespaces: [PATH.node, PATH.lan],
    timing: { dadMs: DAD_TRANSMITS * 1000 },
  });
  // What the real lan namespace answers for, declared on the fake's LAN.
  for (const address of ['192.0.2.1', '2001:db8:100::1', '192.0.2.5', '2001:db8:100::5'])
    fake.lan.claim(address);
  const setup: [Where, string[]][] = [
    ['pod', ['ip', 'link', 'set', 'lo', 'up']],
    ['node', ['ip', 'link', 'set', 'lo', 'up']],
    ['lan', ['ip', 'link', 'set', 'lo', 'up']],
    ['node', ['ip', 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', PATH.lan]],
    ['node', ['ip', 'link', 'set', 'eth1', 'up']],
    ['lan', ['ip', 'link', 'set', 'lan0', 'up']],
    ['pod', ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'pod0', 'netns', PATH.node]],
    ['pod', ['ip', 'link', 'set', 'eth0', 'up']],
    ['node', ['ip', 'link', 'set', 'pod0', 'up']],
    ['pod', ['ip', 'address', 'add', '198.18.0.2/24', 'dev', 'eth0']],
    ['pod', ['ip', '-6', 'address', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']],
    ['node', ['ip', 'address', 'add', '198.18.0.1/24', 'dev', 'pod0']],
    ['node', ['ip', '-6', 'address', 'add', '2001:db8::1/64', 'dev', 'pod0', 'nodad']],
    ['pod', ['ip', 'route', 'add', 'default', 'via', '198.18.0.1', 'dev', 'eth0']],
    ['pod', ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8::1', 'dev', 'eth0']],
    ['pod', ['ip', 'route', 'add', '198.18.0.0/15', 'via', '198.18.0.1', 'dev', 'eth0']],
    ['node', ['ip', 'address', 'add', '192.0.2.5/24', 'dev', 'eth1']],
    ['node', ['ip', '-6', 'address', 'add', '2001:db8:100::5/64', 'dev', 'eth1', 'nodad']],
    ['lan', ['ip', 'address', 'add', '192.0.2.1/24', 'dev', 'lan0']],
    ['lan', ['ip', '-6', 'address', 'add', '2001:db8:100::1/64', 'dev', 'lan0', 'nodad']],
  ];
  for (const [where, argv] of setup) {
    for (const side of ['real', 'fake'] as const) {
      const result = await run(side, where, argv);
      if (result.exitCode !== 0) throw new Error(`${side} setup ${argv.join(' ')}: ${result.stderr}`);
    }
  }
  await settle();
});

afterAll(async () => {
  const problems: string[] = [];
  for (const name of created) {
    await deleteNamespace(name).catch((error: Error) => problems.push(`${name}: ${error.message}`));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  if (problems.length > 0) throw new Error(`teardown: ${problems.join('; ')}`);
});

// ---- the sequences ----

describe('fake kernel fidelity: links, addresses, routes, rules', () => {
  it('starts from the same topology', async () => {
    await step([]);
  });

  it('creates a macvlan on a master in another namespace, moves, renames and configures it', async () => {
    await step([
      ['node', ['ip', 'link', 'add', 'ert0a1b2c3d', 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']],
      ['node', ['ip', '-json', '-details', 'link', 'show', 'dev', 'ert0a1b2c3d']],
      ['node', ['ip', 'link', 'set', 'dev', 'ert0a1b2c3d', 'netns', PATH.pod]],
      ['pod', ['ip', 'link', 'set', 'dev', 'ert0a1b2c3d', 'name', 'net1']],
      [
        'pod',
        ['ip', 'link', 'set', 'dev', 'net1', 'alias', 'egress-router-agent: created', 'mtu', '1400', 'up'],
      ],
      ['pod', ['ip', '-json', '-details', 'link', 'show', 'dev', 'net1']],
      ['pod', ['ip', '-json', 'link', 'show']],
    ]);
  });

  it('creates a macvlan straight into the pod from the master’s namespace, as the agent does', async () => {
    const add = [
      'ip',
      'link',
      'add',
      'ertmp0000feed',
      'link',
      'eth1',
      'netns',
      PATH.pod,
      'address',
      '02:00:00:00:fe:ed',
    ];
    await step([
      ['node', [...add, 'type', 'macvlan', 'mode', 'bridge']],
      ['node', [...add, 'type', 'macvlan', 'mode', 'bridge']],
      ['pod', ['ip', '-json', '-details', 'link', 'show', 'dev', 'ertmp0000feed']],
      ['pod', ['ip', 'link', 'delete', 'dev', 'ertmp0000feed']],
    ]);
  });

  it('refuses what the kernel refuses, with the same words', async () => {
    await step([
      ['node', ['ip', 'link', 'add', 'ertdup', 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']],
      ['node', ['ip', 'link', 'add', 'ertdup', 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']],
      ['node', ['ip', 'link', 'add', 'ertnone', 'link', 'nosuch', 'type', 'macvlan', 'mode', 'bridge']],
      ['node', ['ip', 'link', 'add', 'ertpt', 'link', 'eth1', 'type', 'macvlan', 'mode', 'passthru']],
      [
        'node',
        [
          'ip',
          'link',
          'add',
          'ertmac',
          'link',
          'eth1',
          'type',
          'macvlan',
          'mode',
          'bridge',
          'address',
          '02:00:00:00:00:01',
        ],
      ],
      ['node', ['ip', 'link', 'set', 'dev', 'ertdup', 'type', 'macvlan', 'mode', 'passthru']],
      ['node', ['ip', 'link', 'set', 'dev', 'ertdup', 'type', 'macvlan', 'mode', 'private']],
      ['node', ['ip', 'link', 'set', 'dev', 'ertdup', 'mtu', '9000']],
      ['node', ['ip', 'link', 'set', 'dev', 'ertdup', 'netns', '/run/netns/nosuch-fkf']],
      ['node', ['ip', 'link', 'set', 'dev', 'nosuch', 'up']],
      ['node', ['ip', 'link', 'delete', 'dev', 'nosuch']],
      ['node', ['ip', '-json', 'link', 'show', 'dev', 'nosuch']],
      ['node', ['ip', 'link', 'delete', 'dev', 'ertdup']],
      ['pod', ['ip', 'link', 'set', 'dev', 'net1', 'bogus']],
    ]);
  });

  it('adds IPv4 and IPv6 addresses, with the connected routes the kernel makes', async () => {
    await step([
      ['pod', ['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']],
      ['pod', ['ip', 'address', 'add', '192.0.2.101/24', 'dev', 'net1']],
      ['pod', ['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']],
      ['pod', ['ip', '-6', 'address', 'add', '2001:db8:100::100/64', 'dev', 'net1']],
      ['pod', ['ip', '-6', 'address', 'add', '2001:db8:100::100/64', 'dev', 'net1']],
      ['pod', ['ip', 'address', 'add', '192.0.2.300/24', 'dev', 'net1']],
      ['pod', ['ip', 'address', 'add', '192.0.2.102/24', 'dev', 'nosuch']],
      ['pod', ['ip', 'address', 'delete', '192.0.2.200/24', 'dev', 'net1']],
      ['pod', ['ip', '-6', 'address', 'delete', '2001:db8:100::200/64', 'dev', 'net1']],
      ['pod', ['ip', '-json', 'address', 'show', 'dev', 'net1']],
      ['pod', ['ip', '-4', '-json', 'address', 'show']],
    ]);
  });

  it('moves the default route and keeps the old one at a high metric', async () => {
    await step([
      [
        'pod',
        [
          'ip',
          '-4',
          'route',
          'replace',
          'default',
          'via',
          '198.18.0.1',
          'dev',
          'eth0',
          'proto',
          'boot',
          'metric',
          '30000',
        ],
      ],
      ['pod', ['ip', '-4', 'route', 'delete', 'default', 'via', '198.18.0.1', 'dev', 'eth0']],
      ['pod', ['ip', '-4', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'net1', 'proto', '77']],
      [
        'pod',
        [
          'ip',
          '-6',
          'route',
          'replace',
          'default',
          'via',
          '2001:db8::1',
          'dev',
          'eth0',
          'proto',
          'boot',
          'metric',
          '30000',
        ],
      ],
      [
        'pod',
        ['ip', '-6', 'route', 'delete', 'default', 'via', '2001:db8::1', 'dev', 'eth0', 'metric', '1024'],
      ],
      [
        'pod',
        ['ip', '-6', 'route', 'replace', 'default', 'via', '2001:db8:100::1', 'dev', 'net1', 'proto', '77'],
      ],
      ['pod', ['ip', '-4', 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'net1', 'proto', '77']],
      ['pod', ['ip', '-4', 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.1', 'dev', 'net1']],
      ['pod', ['ip', '-4', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1', 'dev', 'eth0']],
      ['pod', ['ip', '-6', 'route', 'add', '2001:db8:5::/64', 'via', '2001:db8:200::1', 'dev', 'net1']],
      ['pod', ['ip', '-4', 'route', 'delete', '198.51.100.0/24', 'dev', 'net1']],
      ['pod', ['ip', '-6', 'route', 'delete', '2001:db8:5::/64', 'dev', 'net1']],
      ['pod', ['ip', '-json', '-4', 'route', 'show', 'table', 'main']],
      ['pod', ['ip', '-json', '-6', 'route', 'show']],
    ]);
  });

  it('keeps reply routes in their own table and a policy rule for both families', async () => {
    await step([
      ['pod', ['ip', '-json', '-4', 'route', 'show', 'table', '17746']],
      ['pod', ['ip', '-json', '-6', 'route', 'show', 'table', '17746']],
      [
        'pod',
        ['ip', '-4', 'route', 'replace', '198.18.0.0/24', 'dev', 'eth0', 'table', '17746', 'proto', '77'],
      ],
      [
        'pod',
        [
          'ip',
          '-4',
          'route',
          'replace',
          'default',
          'via',
          '198.18.0.1',
          'dev',
          'eth0',
          'table',
          '17746',
          'proto',
          '77',
        ],
      ],
      [
        'pod',
        [
          'ip',
          '-4',
          'rule',
          'add',
          'fwmark',
          '0x4552',
          'lookup',
          '17746',
          'priority',
          '17746',
          'protocol',
          '77',
        ],
      ],
      [
        'pod',
        [
          'ip',
          '-4',
          'rule',
          'add',
          'fwmark',
          '0x4552',
          'lookup',
          '17746',
          'priority',
          '17746',
          'protocol',
          '77',
        ],
      ],
      [
        'pod',
        [
          'ip',
          '-6',
          'rule',
          'add',
          'fwmark',
          '0x4552',
          'lookup',
          '17746',
          'priority',
          '17746',
          'protocol',
          '77',
        ],
      ],
      ['pod', ['ip', '-json', '-6', 'route', 'show', 'table', '17746']],
      ['pod', ['ip', '-4', 'rule', 'add', 'priority', '100', 'nop']],
      ['pod', ['ip', '-4', 'rule', 'delete', 'priority', '100', 'protocol', '77']],
      ['pod', ['ip', '-4', 'rule', 'delete', 'priority', '100']],
      ['pod', ['ip', '-json', '-4', 'route', 'show', 'table', '17746']],
      ['pod', ['ip', '-json', 'rule', 'show']],
    ]);
  });

  it('runs batches line by line and stops at the first failure, naming its line', async () => {
    await step([
      [
        'pod',
        ['ip', '-batch', '-'],
        'address add 192.0.2.103/24 dev net1\n\naddress add 192.0.2.103/24 dev net1\naddress add 192.0.2.104/24 dev net1\n',
      ],
      [
        'pod',
        ['ip', '-4', '-batch', '-'],
        'route replace 203.0.113.0/24 via 192.0.2.1 dev net1 proto 77\nroute add 198.51.100.0/24 via 198.51.100.1 dev net1\n',
      ],
      [
        'pod',
        ['ip', '-batch', '-'],
        'link set dev net1 alias "quoted alias text" up\nlink set dev nosuch up\nlink set dev net1 mtu 1300\n',
      ],
      ['pod', ['ip', '-6', '-batch', '-'], 'route add 198.51.100.0/24 via 192.0.2.1 dev net1\n'],
      ['pod', ['ip', '-batch', '-'], 'link set dev net1 garbage-word\nlink set dev net1 mtu 1300\n'],
      ['pod', ['ip', '-json', '-batch', '-'], 'route show table 4242\nlink show dev lo\n'],
      [
        'pod',
        ['ip', '-force', '-batch', '-'],
        'link set dev nosuch up\nlink set dev net1 alias forced\naddress add 192.0.2.9/24 dev nosuch\n',
      ],
      [
        'pod',
        ['ip', '-force', '-batch', '-'],
        'link set dev net1 garbage-word\nlink set dev net1 mtu 1300\n',
      ],
      [
        'pod',
        ['ip', '-4', '-batch', '-'],
        'rule add priority 17747 protocol 77 nop\nrule add priority 17747 protocol 77 nop\n',
      ],
    ]);
  });

  it('removes the routes through a device with its last IPv4 address, and on link down', async () => {
    await step([
      ['pod', ['ip', 'address', 'delete', '192.0.2.101/24', 'dev', 'net1']],
      ['pod', ['ip', 'address', 'delete', '192.0.2.100/24', 'dev', 'net1']],
      ['pod', ['ip', '-json', 'route', 'show', 'table', 'all']],
      ['pod', ['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']],
      ['pod', ['ip', '-4', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'net1', 'proto', '77']],
      ['pod', ['ip', '-6', 'route', 'replace', '2001:db8:6::/64', 'dev', 'net1', 'proto', '77']],
      ['pod', ['ip', 'link', 'set', 'dev', 'net1', 'down']],
      ['pod', ['ip', '-4', 'route', 'add', '198.51.100.0/24', 'dev', 'net1']],
      ['pod', ['ip', 'link', 'set', 'dev', 'net1', 'up']],
    ]);
  });

  it('reports DAD failure for an address a LAN host holds, and loses carrier with the master', async () => {
    await runTool(
      ['ip', '-n', NAMES.lan, '-6', 'address', 'add', '2001:db8:100::101/64', 'dev', 'lan0', 'nodad'],
      {
        timeoutMs: 20_000,
      },
    );
    fake.lan.claim('2001:db8:100::101');
    await step([['pod', ['ip', '-6', 'address', 'add', '2001:db8:100::101/64', 'dev', 'net1']]]);
    await step([
      ['node', ['ip', 'link', 'set', 'dev', 'eth1', 'down']],
      ['pod', ['ip', '-json', 'link', 'show', 'dev', 'net1']],
      ['node', ['ip', 'link', 'set', 'dev', 'eth1', 'up']],
    ]);
  });

  it('answers probes and keeps neighbour entries like the real tools', async () => {
    await step([
      ['pod', ['ip', '-4', 'route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'net1', 'proto', '77']],
    ]);
    const probes: readonly string[][] = [
      ['ping', '-4', '-c', '1', '-W', '1', '-I', 'net1', '192.0.2.1'],
      ['ip', '-json', 'neigh', 'show', '192.0.2.1', 'dev', 'net1'],
      ['ping', '-4', '-c', '1', '-W', '1', '-I', 'net1', '192.0.2.77'],
      ['ip', '-json', 'neigh', 'show', '192.0.2.77', 'dev', 'net1'],
      ['ping', '-6', '-c', '1', '-W', '1', '-I', 'net1', '2001:db8:100::1'],
      ['ip', '-json', 'neigh', 'show', '2001:db8:100::1', 'dev', 'net1'],
      ['ip', '-json', 'neigh', 'show', '2001:db8:100::9', 'dev', 'net1'],
      ['ping', '-4', '-c', '1', '-W', '1', '-I', 'nosuch', '192.0.2.1'],
      ['arping', '-D', '-c', '2', '-w', '3', '-I', 'net1', '192.0.2.1'],
      ['arping', '-D', '-c', '2', '-w', '3', '-I', 'net1', '192.0.2.123'],
      ['arping', '-U', '-c', '1', '-I', 'net1', '-s', '192.0.2.100', '192.0.2.100'],
      ['conntrack', '-D', '-p', 'tcp', '--orig-dst', '192.0.2.100', '--orig-port-dst', '80'],
    ];
    for (const argv of probes) {
      const real = await run('real', 'pod', argv);
      const faked = await run('fake', 'pod', argv);
      const timing = (text: string) =>
        normalText(text)
          .replace(/\d+\.\d+(ms| ms|\/)/g, 'T$1')
          .replace(/time \d+ms/g, 'time Tms');
      expect({ ...normal(faked), stdout: timing(faked.stdout) }, argv.join(' ')).toEqual({
        ...normal(real),
        stdout: timing(real.stdout),
      });
    }
  });
});

describe('fake kernel fidelity: sysctls', () => {
  it('starts every namespace and device with the kernel defaults', async () => {
    const keys = [...fake.state(PATH.node).sysctls.keys()].filter(
      (k) => !/\/conf\/(eth1|lo|pod0)\//.test(k) || k.includes('/conf/eth1/'),
    );
    for (const key of keys) {
      const real = await run('real', 'node', ['cat', `/proc/sys/${key}`]);
      expect(fake.state(PATH.node).sysctls.get(key), key).toBe(real.stdout.trim());
    }
    expect(keys.length).toBeGreaterThan(40);
  });
});

describe('fake kernel fidelity: nftables', () => {
  const options: AgentOptions = DEFAULT_OPTIONS;
  let first: ReturnType<typeof planRuleset>;

  const config = (text: string): RouterConfig => {
    const loaded = loadConfigText(text, options);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded));
    return loaded.config;
  };

  const routerYaml = (rules: string) => `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: { name: fidelity }
spec:
  networkInterface: { macvlan: { mode: Bridge } }
  addresses:
    - { ip: 192.0.2.100/24, gateway: 192.0.2.1 }
    - { ip: 2001:db8:100::100/64, gateway: 2001:db8:100::1 }
  mode: Redirect
  redirect:
    redirectRules:
${rules}`;

  const listing = async (side: Side) => {
    const out = await run(side, 'pod', ['nft', '-j', 'list', 'table', 'inet', 'egress_router']);
    const parsed = normalJson(JSON.parse(out.stdout)) as { nftables: Record<string, { elem?: unknown[] }>[] };
    // The kernel keeps map elements in no particular order.
    for (const entry of parsed.nftables) {
      const map = entry.map;
      if (map?.elem)
        map.elem = [...map.elem].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    return { exitCode: out.exitCode, stderr: out.stderr, nftables: parsed.nftables };
  };

  it('loads the agent’s table in one transaction and lists it in nft 1.0.6’s shape', async () => {
    first = planRuleset(
      config(
        routerYaml(`      - { destinationIP: 192.0.2.10, port: 80, protocol: TCP }
      - { destinationIP: 192.0.2.20, port: 5353, protocol: UDP, targetPort: 53 }
      - { destinationIP: 2001:db8:100::10, port: 443, protocol: TCP }
      - { destinationIP: 192.0.2.20, port: 9000, protocol: SCTP }`),
      ),
      options,
    );
    const file = await batchFile('replace.json', replaceTableBatch(first));
    await same('pod', ['nft', '-c', '-j', '-f', file]);
    await same('pod', ['nft', '-j', '-f', file]);
    expect(await listing('fake')).toEqual(await listing('real'));
    await same('pod', ['nft', 'list', 'tables']);
    await same('pod', ['nft', '-j', 'list', 'map', 'inet', 'egress_router', 'redirect_port4']);
    await same('pod', ['nft', '-j', 'list', 'map', 'inet', 'egress_router', 'redirect_port6']);
    await same('pod', ['nft', '-j', 'list', 'map', 'inet', 'egress_router', 'nosuch']);
    await same('pod', ['nft', '-j', 'list', 'table', 'inet', 'nosuch']);
    await same('pod', ['nft', 'delete', 'table', 'inet', 'nosuch']);
  });

  it('applies an incremental diff and refuses a failing batch as a whole', async () => {
    const next = planRuleset(
      config(
        routerYaml(`      - { destinationIP: 192.0.2.11, port: 80, protocol: TCP }
      - { destinationIP: 192.0.2.20, port: 5353, protocol: UDP, targetPort: 53 }
      - { destinationIP: 192.0.2.30, port: 8080, protocol: TCP, targetPort: 80 }`),
      ),
      options,
    );
    const update = diffTables(first, next);
    expect(update.kind).toBe('incremental');
    await same('pod', ['nft', '-j', '-f', await batchFile('diff.json', update.batch)]);
    expect(await listing('fake')).toEqual(await listing('real'));
    const element = (verb: string, port: number, value: string) => ({
      [verb]: {
        element: {
          family: 'inet',
          table: 'egress_router',
          name: 'redirect_addr4',
          elem: [[{ concat: ['tcp', port] }, value]],
        },
      },
    });
    const broken = {
      nftables: [
        { metainfo: { json_schema_version: 1 } },
        element('add', 9999, '192.0.2.99'),
        element('add', 80, '192.0.2.12'),
      ],
    };
    const brokenFile = await batchFile('broken.json', broken);
    await same('pod', ['nft', '-c', '-j', '-f', brokenFile]);
    await same('pod', ['nft', '-j', '-f', brokenFile]);
    await same('pod', [
      'nft',
      '-j',
      '-f',
      await batchFile('same.json', { nftables: [element('add', 80, '192.0.2.11')] }),
    ]);
    await same('pod', [
      'nft',
      '-j',
      '-f',
      await batchFile('family.json', { nftables: [element('add', 81, '2001:db8::1')] }),
    ]);
    const missing = {
      nftables: [
        {
          delete: {
            element: {
              family: 'inet',
              table: 'egress_router',
              name: 'redirect_port4',
              elem: [{ concat: ['tcp', 1] }],
            },
          },
        },
      ],
    };
    await same('pod', ['nft', '-j', '-f', await batchFile('missing.json', missing)]);
    const busy = {
      nftables: [{ delete: { map: { family: 'inet', table: 'egress_router', name: 'redirect_addr4' } } }],
    };
    await same('pod', ['nft', '-j', '-f', await batchFile('busy.json', busy)]);
    await same('pod', ['nft', '-j', '-f', join(dir, 'does-not-exist.json')]);
    expect(await listing('fake')).toEqual(await listing('real'));
  });

  it('flushes a table but keeps its maps, and deletes it', async () => {
    const flush = { nftables: [{ flush: { table: { family: 'inet', name: 'egress_router' } } }] };
    await same('pod', ['nft', '-j', '-f', await batchFile('flush.json', flush)]);
    expect(await listing('fake')).toEqual(await listing('real'));
    await same('pod', ['nft', 'delete', 'table', 'inet', 'egress_router']);
    await same('pod', ['nft', 'list', 'tables']);
  });
});

describe('fake kernel fidelity: monitors', () => {
  /** Lines each side's monitor printed while `act` ran, normalised. */
  async function watch(argv: readonly string[], act: () => Promise<void>): Promise<Record<Side, string[]>> {
    const lines: Record<Side, string[]> = { real: [], fake: [] };
    const start = (side: Side, stream: StreamLines) =>
      stream(
        ['nsenter', `--net=${PATH.pod}`, '--', ...(argv as [string, ...string[]])],
        (line) => lines[side].push(line),
        () => undefined,
      );
    const real = start('real', streamLines);
    const faked = start('fake', fake.system().streamLines);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await act();
    await new Promise((resolve) => setTimeout(resolve, 500));
    real.stop();
    faked.stop();
    const clean = (l: string) =>
      normalText(l)
        .replace(/^(Deleted )?\d+: /, '$1N: ')
        .replace(/@if\d+/, '@ifN');
    return { real: lines.real.map(clean), fake: lines.fake.map(clean) };
  }

  it('prints a line per change for links, addresses, routes and rules', async () => {
    const seen = await watch(['ip', '-o', 'monitor', 'link', 'address', 'route', 'rule'], async () => {
      for (const argv of [
        ['ip', 'address', 'add', '192.0.2.110/24', 'dev', 'net1'],
        ['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1', 'dev', 'net1', 'proto', '77'],
        ['ip', 'rule', 'add', 'fwmark', '0x10', 'lookup', '100', 'priority', '300', 'protocol', '77'],
        ['ip', 'link', 'set', 'dev', 'net1', 'mtu', '1350'],
        ['ip', 'route', 'delete', '198.51.100.0/24', 'via', '192.0.2.1', 'dev', 'net1'],
        ['ip', 'rule', 'delete', 'priority', '300'],
        ['ip', 'address', 'delete', '192.0.2.110/24', 'dev', 'net1'],
      ]) {
        for (const side of ['real', 'fake'] as const) expect((await run(side, 'pod', argv)).exitCode).toBe(0);
      }
    });
    expect(seen.fake).toEqual(seen.real);
  });

  it('reports nft element changes and a new generation', async () => {
    const table = {
      nftables: [
        { add: { table: { family: 'inet', name: 'fidelity' } } },
        {
          add: {
            map: {
              family: 'inet',
              table: 'fidelity',
              name: 'ports',
              type: ['inet_proto', 'inet_service'],
              map: 'inet_service',
            },
          },
        },
      ],
    };
    const change = {
      nftables: [
        {
          add: {
            element: {
              family: 'inet',
              table: 'fidelity',
              name: 'ports',
              elem: [[{ concat: ['tcp', 80] }, 8080]],
            },
          },
        },
        { delete: { table: { family: 'inet', name: 'fidelity' } } },
      ],
    };
    const files = [await batchFile('mon1.json', table), await batchFile('mon2.json', change)];
    const seen = await watch(['nft', 'monitor'], async () => {
      for (const file of files)
        for (const side of ['real', 'fake'] as const) await run(side, 'pod', ['nft', '-j', '-f', file]);
    });
    const shape = (lines: string[]) =>
      lines.map((l) => l.replace(/generation \d+ by process \d+/, 'generation G by process P'));
    expect(shape(seen.fake)).toEqual(shape(seen.real));
  });
});
