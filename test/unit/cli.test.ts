// The CLI through its in-process dispatcher: exit codes, help, output shapes, option handling.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type HealthServer, startHealthServer } from '../../src/agent/http.js';
import { LOG_LEVELS } from '../../src/agent/logger.js';
import { systemOptionsFrom } from '../../src/cli/commands/apply.js';
import { COMMANDS } from '../../src/cli/commandTable.js';
import { LOG_LEVEL_NAMES, parseFlags } from '../../src/cli/flags.js';
import { readEnvFile } from '../helpers/envFile.js';
import { runCli } from '../helpers/runCli.js';

const EXAMPLE = 'examples/egressrouter.yaml';
const run = promisify(execFile);
const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;
const packageVersion = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

function egressRouterYaml(rules: string[], extra = ''): string {
  return [
    'apiVersion: network.operator.openshift.io/v1',
    'kind: EgressRouter',
    'metadata: {name: cli-test}',
    'spec:',
    '  addresses:',
    '    - {ip: 192.0.2.100/24, gateway: 192.0.2.1}',
    '  redirect:',
    '    redirectRules:',
    ...(rules.length === 0 ? ['      []'] : rules.map((r) => `      - ${r}`)),
    extra,
  ].join('\n');
}

const HEALTH_PORT_RULE = egressRouterYaml(['{destinationIP: 192.0.2.10, port: 9099, protocol: TCP}']);

const INVALID = egressRouterYaml([
  '{destinationIP: 192.0.2.10, port: 70000, protocol: TCP}',
  '{destinationIP: 2001:db8::1, port: 80, protocol: UDP}',
  '{destinationIP: 192.0.2.10, port: 81, protocol: TCP, extra: 1}',
]);

/** The lines of an "invalid config in ORIGIN:" report, checked for the "  path: message" shape. */
function issueLines(stderr: string, origin: string): string[] {
  const lines = stderr.split('\n');
  expect(lines[0]).toBe(`invalid config in ${origin}:`);
  expect(lines.at(-1)).toBe('');
  const issues = lines.slice(1, -1);
  expect(issues.length).toBeGreaterThan(0);
  for (const line of issues) expect(line).toMatch(/^ {2}\S.*?: \S.*$/);
  return issues;
}

describe('global flags', () => {
  it("--version prints package.json's version", async () => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag]);
      expect(result).toEqual({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
    }
  });

  it('--help lists the commands and an example, exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const result = await runCli([flag]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('Usage: egress-router-agent COMMAND');
      expect(result.stdout).toMatch(/^ {2}validate\s+\S/m);
      expect(result.stdout).toMatch(/^ {2}render\s+\S/m);
      expect(result.stdout).toContain('Example');
    }
  });

  it('no arguments: the help, but exit 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Usage: egress-router-agent COMMAND');
  });

  it('an unknown command exits 2 and names it', async () => {
    const result = await runCli(['apply-everything', EXAMPLE]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown command "apply-everything"');
  });

  it.each(['validate', 'render'])('%s --help shows its usage and an example, exit 0', async (command) => {
    for (const flag of ['--help', '-h']) {
      const result = await runCli([command, flag]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`Usage: egress-router-agent ${command} CONFIG|-`);
      expect(result.stdout).toContain('Example');
      expect(result.stdout).toContain(`egress-router-agent ${command} `);
      for (const option of ['--from-env', '--interface', '--cluster-interface', '--health-addr']) {
        expect(result.stdout).toContain(option);
      }
    }
  });

  it.each(['validate', 'render'])('%s: an unknown option or a missing CONFIG exits 2', async (command) => {
    const unknown = await runCli([command, EXAMPLE, '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--bogus');
    expect(unknown.stderr).toContain(`see "egress-router-agent ${command} --help"`);
    const missing = await runCli([command]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing CONFIG');
    const two = await runCli([command, EXAMPLE, EXAMPLE]);
    expect(two.code).toBe(2);
    const both = await runCli([command, EXAMPLE, '--from-env']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });
});

describe('validate', () => {
  it('a valid config: exit 0 and a one-line summary', async () => {
    const result = await runCli(['validate', EXAMPLE]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      `valid: EgressRouter "egress-router-demo" from ${EXAMPLE}: 1 address, 4 redirect rules, fallback 192.0.2.20\n`,
    );
  });

  it('prints the notes of a valid config', async () => {
    const result = await runCli(['validate', 'examples/egressrouter-dualstack.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 addresses, 4 redirect rules, no fallback');
    expect(result.stdout).toContain('note: no IPv4 fallbackIP');
    expect(result.stdout).toContain('note: no IPv6 fallbackIP');
  });

  it('an invalid config: exit 2, every problem as "  path: message" on stderr', async () => {
    const result = await runCli(['validate', '-'], { stdin: INVALID });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = issueLines(result.stderr, 'stdin');
    expect(lines).toEqual(
      expect.arrayContaining([
        '  spec.redirect.redirectRules[0].port: must be 1..65535, got 70000',
        '  spec.redirect.redirectRules[2].extra: unknown field',
        expect.stringMatching(/^ {2}spec\.redirect\.redirectRules\[1\]\.destinationIP: .*no IPv6 address/),
      ]),
    );
    expect(lines).toHaveLength(3);
  });

  it('a missing file: exit 1, "cannot read"', async () => {
    const path = join(tmpdir(), `ert-missing-${process.pid}-${Date.now()}.yaml`);
    const result = await runCli(['validate', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`cannot read ${path}`);
  });

  it('a directory: exit 1, "cannot read"', async () => {
    const result = await runCli(['validate', 'examples']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read examples');
  });

  it('not a config at all: exit 2', async () => {
    for (const stdin of ['', 'just: yaml\n', '{"type": "bridge"}', '{ not json']) {
      const result = await runCli(['validate', '-'], { stdin });
      expect(result.code, JSON.stringify(stdin)).toBe(2);
      expect(result.stderr).toMatch(/^invalid config in stdin:\n {2}\S/);
    }
  });

  it('--output json, valid: {valid: true, format, errors: [], config}', async () => {
    const result = await runCli(['validate', EXAMPLE, '--output', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(document)).toEqual(['valid', 'format', 'errors', 'config']);
    expect(document).toMatchObject({ valid: true, format: 'EgressRouter', errors: [] });
    expect(document.config).toMatchObject({
      format: 'EgressRouter',
      name: 'egress-router-demo',
      namespace: 'egress',
      addresses: [{ address: '192.0.2.100', prefixLength: 24, family: 4, gateway: '192.0.2.1' }],
      fallback: { address: '192.0.2.20', family: 4 },
    });
    const config = document.config as { redirectRules: unknown[] };
    expect(config.redirectRules).toHaveLength(4);
    expect(config.redirectRules).toContainEqual({
      protocol: 'tcp',
      port: 8080,
      destinationIP: '192.0.2.20',
      targetPort: 80,
      family: 4,
      source: 'spec.redirect.redirectRules[1]',
    });
  });

  it('--output json, invalid: exit 2, {valid: false, errors: [{path, message}]} on stdout', async () => {
    const result = await runCli(['validate', '-', '--output', 'json'], { stdin: INVALID });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as {
      valid: boolean;
      errors: { path: string; message: string }[];
    };
    expect(document.valid).toBe(false);
    expect(document).not.toHaveProperty('config');
    expect(document.errors).toHaveLength(3);
    for (const error of document.errors) expect(Object.keys(error).sort()).toEqual(['message', 'path']);
    expect(document.errors).toContainEqual({
      path: 'spec.redirect.redirectRules[0].port',
      message: 'must be 1..65535, got 70000',
    });
  });

  it('-o other than text|json|yaml|wide exits 2, naming the formats and the closest one', async () => {
    const result = await runCli(['validate', EXAMPLE, '--output', 'xml']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('-o/--output must be one of text, json, yaml, wide, got "xml"');
    expect(result.stderr).not.toContain('did you mean');
    const typo = await runCli(['validate', EXAMPLE, '-o', 'jsno']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('got "jsno" (did you mean json?)');
  });

  it('reads stdin with "-"', async () => {
    const result = await runCli(['validate', '-'], { stdin: readFileSync(EXAMPLE, 'utf8') });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid: EgressRouter "egress-router-demo" from stdin:');
  });

  it('--from-env reads the legacy environment given to the CLI', async () => {
    const result = await runCli(['validate', '--from-env'], { env: readEnvFile('examples/legacy.env') });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'valid: LegacyEnv from the EGRESS_* environment: 1 address, 3 redirect rules, fallback 192.0.2.20\n',
    );
  });

  it('--from-env: problems name the variable and line', async () => {
    const result = await runCli(['validate', '--from-env'], {
      env: { EGRESS_SOURCE: '192.0.2.100', EGRESS_DESTINATION: '80 tcp 192.0.2.10\n99999 tcp 192.0.2.10\n' },
    });
    expect(result.code).toBe(2);
    const lines = issueLines(result.stderr, 'the EGRESS_* environment');
    expect(lines.some((l) => l.startsWith('  EGRESS_DESTINATION line 2'))).toBe(true);
    const empty = await runCli(['validate', '--from-env'], { env: {} });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('  EGRESS_SOURCE: is required');
  });

  it('a redirect of TCP 9099 is rejected unless --health-addr moves the port', async () => {
    const rejected = await runCli(['validate', '-'], { stdin: HEALTH_PORT_RULE });
    expect(rejected.code).toBe(2);
    expect(issueLines(rejected.stderr, 'stdin')).toEqual([
      "  spec.redirect.redirectRules[0].port: TCP 9099 is the agent's health port (change --health-addr or the rule)",
    ]);
    for (const addr of [':8080', '127.0.0.1:8080', '[::]:8080']) {
      const moved = await runCli(['validate', '-', '--health-addr', addr], { stdin: HEALTH_PORT_RULE });
      expect(moved.code, addr).toBe(0);
    }
    const udp = await runCli(['validate', '-'], {
      stdin: egressRouterYaml(['{destinationIP: 192.0.2.10, port: 9099, protocol: UDP}']),
    });
    expect(udp.code).toBe(0);
    const otherPort = await runCli(['validate', EXAMPLE, '--health-addr', ':80']);
    expect(otherPort.code).toBe(2);
    expect(otherPort.stderr).toContain("TCP 80 is the agent's health port");
  });
});

describe('render', () => {
  it('-o json: the nft batch plus the plan and the notes', async () => {
    const result = await runCli(['render', EXAMPLE, '-o', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as {
      nftables: Record<string, unknown>[];
      plan: Record<string, unknown>;
      notes: unknown[];
    };
    expect(Object.keys(document)).toEqual(['nftables', 'plan', 'notes']);
    expect(Array.isArray(document.nftables)).toBe(true);
    expect(document.nftables[0]).toEqual({ metainfo: { json_schema_version: 1 } });
    expect(document.nftables.length).toBeGreaterThan(4);
    expect(document.plan).toMatchObject({
      link: { name: 'net1', kind: 'macvlan', mode: 'bridge' },
      clusterInterface: 'eth0',
      sysctls: [{ key: 'net.ipv4.ip_forward', value: '1' }],
    });
    expect(document.notes).toEqual([]);
  });

  it('-o text (default): the plan as comments, then the table', async () => {
    const result = await runCli(['render', EXAMPLE]);
    expect(result.code).toBe(0);
    const [comments, table] = result.stdout.split('\n\n', 2) as [string, string];
    for (const line of comments.split('\n')) expect(line.startsWith('# ')).toBe(true);
    expect(table.startsWith('table inet egress_router {')).toBe(true);
    expect(result.stdout.endsWith('}\n')).toBe(true);
  });

  it('rejects a bad --format', async () => {
    const result = await runCli(['render', EXAMPLE, '--format', 'yaml']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--format must be one of nft, json, got "yaml"');
  });

  it.each([
    ['x'],
    ['9099'],
    [':0'],
    [':65536'],
    [':http'],
    ['::1:9099'],
    ['[192.0.2.1]:9099'],
    ['host.example:9099'],
  ])('rejects --health-addr %s', async (addr) => {
    const result = await runCli(['render', EXAMPLE, '--health-addr', addr]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--health-addr');
  });

  it.each([['10.0.0.1'], ['10.0.0.0/33'], ['not-a-cidr'], [''], ['2001:db8::/129']])(
    'rejects --cluster-cidr %j',
    async (cidr) => {
      const result = await runCli(['render', EXAMPLE, '--cluster-cidr', cidr]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('--cluster-cidr');
    },
  );

  it.each([['a/b'], ['has space'], ['x:y'], ['waytoolonginterface'], [''], ['.'], ['..']])(
    'rejects the interface name %j',
    async (name) => {
      for (const flag of ['--interface', '--cluster-interface']) {
        const result = await runCli(['render', EXAMPLE, flag, name]);
        expect(result.code, flag).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(`${flag}: interface name`);
      }
    },
  );

  it('rejects the same name for --interface and --cluster-interface', async () => {
    for (const args of [
      ['--interface', 'eth0'],
      ['--cluster-interface', 'net1'],
      ['--interface', 'x1', '--cluster-interface', 'x1'],
    ]) {
      const result = await runCli(['render', EXAMPLE, ...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--interface and --cluster-interface are both');
    }
  });

  it('--interface, --cluster-interface, --health-addr and --cluster-cidr are reflected', async () => {
    const args = ['render', EXAMPLE, '--interface', 'egress0', '--cluster-interface', 'ens3'];
    const more = [
      '--health-addr',
      '[::]:8443',
      '--cluster-cidr',
      '10.128.0.0/14',
      '--cluster-cidr',
      'fd00::/48',
    ];
    const json = await runCli([...args, ...more, '--output=json']);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout) as {
      nftables: unknown[];
      plan: {
        link: { name: string };
        clusterInterface: string;
        routes: { destination: string; device: string }[];
      };
    };
    expect(document.plan.link.name).toBe('egress0');
    expect(document.plan.clusterInterface).toBe('ens3');
    expect(document.plan.routes.filter((r) => r.device === 'ens3').map((r) => r.destination)).toEqual([
      '10.128.0.0/14',
      'fd00::/48',
    ]);
    const batch = JSON.stringify(document.nftables);
    expect(batch).toContain('"right":"ens3"');
    expect(batch).toContain('"right":"egress0"');
    expect(batch).toContain('"right":8443');
    expect(batch).not.toContain('"eth0"');
    expect(batch).not.toContain('"net1"');
    expect(batch).not.toContain('9099');

    const text = await runCli([...args, ...more]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('iifname "ens3" fib daddr type local tcp dport 8443 accept');
    expect(text.stdout).toContain(
      'oifname "egress0" meta nfproto ipv4 ct status dnat snat ip to 192.0.2.100',
    );
    expect(text.stdout).toContain('# route 10.128.0.0/14 via <current default gateway of ens3> dev ens3');
    expect(text.stdout).toContain('# interface egress0: macvlan');
  });

  it('an invalid config: exit 2 with "  path: message" lines, nothing on stdout', async () => {
    const result = await runCli(['render', '-', '-o', 'json'], { stdin: INVALID });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(issueLines(result.stderr, 'stdin')).toHaveLength(3);
  });

  it('a missing file: exit 1', async () => {
    const result = await runCli(['render', join(tmpdir(), `ert-missing-${process.pid}.yaml`)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read');
  });

  it('reads stdin with "-" and renders the same as from the file', async () => {
    const fromFile = await runCli(['render', EXAMPLE, '-o', 'json']);
    const fromStdin = await runCli(['render', '-', '-o', 'json'], {
      stdin: readFileSync(EXAMPLE, 'utf8'),
    });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  it('--from-env renders the legacy environment given to the CLI', async () => {
    const result = await runCli(['render', '--from-env', '-o', 'json'], {
      env: readEnvFile('examples/legacy.env'),
    });
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout) as { plan: { link: { mode: string } } };
    expect(document.plan.link.mode).toBe('private');
    expect(result.stdout).toContain('"192.0.2.20"');
    const nothing = await runCli(['render', '--from-env'], { env: {} });
    expect(nothing.code).toBe(2);
  });

  it('a redirect of TCP 9099 is rejected unless --health-addr moves the port', async () => {
    const rejected = await runCli(['render', '-'], { stdin: HEALTH_PORT_RULE });
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain("TCP 9099 is the agent's health port");
    const moved = await runCli(['render', '-', '--health-addr', ':9100', '-o', 'json'], {
      stdin: HEALTH_PORT_RULE,
    });
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('9099');
    const batch = JSON.parse(moved.stdout) as {
      nftables: { add?: { map?: { name: string; elem?: unknown } } }[];
    };
    const addr4 = batch.nftables.find((c) => c.add?.map?.name === 'redirect_addr4');
    expect(addr4?.add?.map?.elem).toEqual([[{ concat: ['tcp', 9099] }, '192.0.2.10']]);
    expect(moved.stdout).toContain('"right": 9100');
  });
});

describe('apply --from-env with EGRESS_ROUTER_MODE=unit-test (the 3.x dry run)', () => {
  it('prints the plan and the table, changes nothing, exits 0', async () => {
    const result = await runCli(['apply', '--from-env'], {
      env: {
        EGRESS_SOURCE: '192.0.2.100/24',
        EGRESS_GATEWAY: '192.0.2.1',
        EGRESS_ROUTER_MODE: 'unit-test',
        EGRESS_DESTINATION: '80 tcp 192.0.2.10\n192.0.2.20',
      },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('# EGRESS_ROUTER_MODE=unit-test: the plan only; nothing is changed');
    expect(result.stdout).toContain('# redirect TCP 80 -> 192.0.2.10:80');
    expect(result.stdout).toContain('table inet egress_router {');
    expect(result.stdout).not.toContain('changed:');
  });
});

describe('one output flag: -o/--output text|json|yaml|wide', () => {
  it('validate -o yaml prints the json document as YAML', async () => {
    const json = await runCli(['validate', EXAMPLE, '-o', 'json']);
    const yaml = await runCli(['validate', EXAMPLE, '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    expect(yaml.stderr).toBe('');
    expect(yaml.stdout.startsWith('valid: true\n')).toBe(true);
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    const invalid = await runCli(['validate', '-', '--output=yaml'], { stdin: INVALID });
    expect(invalid.code).toBe(2);
    expect(parseYaml(invalid.stdout)).toMatchObject({ valid: false, errors: expect.any(Array) });
  });

  it('validate -o wide adds the addresses and the rules as the agent reads them', async () => {
    const text = await runCli(['validate', EXAMPLE]);
    const wide = await runCli(['validate', EXAMPLE, '-o', 'wide']);
    expect(wide.code).toBe(0);
    expect(wide.stdout.startsWith(text.stdout)).toBe(true);
    const lines = wide.stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^ADDRESS\s+FAMILY\s+GATEWAY$/));
    expect(lines).toContainEqual(expect.stringMatching(/^192\.0\.2\.100\/24\s+IPv4\s+192\.0\.2\.1$/));
    expect(lines).toContainEqual(expect.stringMatching(/^PROTOCOL\s+PORT\s+DESTINATION\s+TARGET PORT$/));
    // targetPort defaulted from port; the 8080 rule keeps its own.
    expect(lines).toContainEqual(expect.stringMatching(/^TCP\s+8080\s+192\.0\.2\.20\s+80$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\*\s+\*\s+192\.0\.2\.20\s+\(same\)$/));
    const invalid = await runCli(['validate', '-', '-o', 'wide'], { stdin: INVALID });
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toBe('');
    expect(issueLines(invalid.stderr, 'stdin')).toHaveLength(3);
  });

  it('render -o yaml is the json document; -o wide is the nft file', async () => {
    const json = await runCli(['render', EXAMPLE, '-o', 'json']);
    const yaml = await runCli(['render', EXAMPLE, '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    expect(parseYaml(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    const text = await runCli(['render', EXAMPLE]);
    const wide = await runCli(['render', EXAMPLE, '-o', 'wide']);
    expect(wide.stdout).toBe(text.stdout);
  });

  it('render --format, the old spelling, still works and warns; with -o it is refused', async () => {
    const json = await runCli(['render', EXAMPLE, '-o', 'json']);
    const legacy = await runCli(['render', EXAMPLE, '--format', 'json']);
    expect(legacy.code).toBe(0);
    expect(legacy.stdout).toBe(json.stdout);
    expect(legacy.stderr).toBe('warning: --format is deprecated: use -o text (nft) or -o json\n');
    const nft = await runCli(['render', EXAMPLE, '--format', 'nft']);
    expect(nft.stdout).toBe((await runCli(['render', EXAMPLE])).stdout);
    const both = await runCli(['render', EXAMPLE, '--format', 'json', '-o', 'json']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });

  it('every command that prints a result takes -o, and its help says so', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      if (!['validate', 'render', 'status', 'demo'].includes(name)) continue;
      expect(command.flags.output, name).toBeDefined();
      const help = await runCli([name, '--help']);
      expect(help.stdout, name).toMatch(/^ {2}-o, --output FORMAT\s+text \(default\), json, yaml, or wide/m);
    }
  });
});

describe('status output against a health server', () => {
  // The agent's own HTTP server (src/agent/http.ts) serving a status document in the shape
  // Agent.statusDocument() builds; the document stands in for a live reconciler, which the
  // netns run-mode tests cover.
  const transition = '2026-01-02T03:04:05.000Z';
  const document = {
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouterAgentStatus',
    version: '0.1.0',
    conditions: [
      {
        type: 'Available',
        status: 'True',
        reason: 'Applied',
        message: 'in place and verified',
        lastTransitionTime: transition,
      },
      {
        type: 'Progressing',
        status: 'False',
        reason: 'Applied',
        message: 'the config is applied',
        lastTransitionTime: transition,
      },
      {
        type: 'Degraded',
        status: 'True',
        reason: 'GatewayUnreachable',
        message: 'gateway 192.0.2.1 does not answer',
        lastTransitionTime: transition,
      },
    ],
    config: { fallback: { address: '192.0.2.20', family: 4 } },
    configSource: '/etc/egress-router/egressrouter.yaml',
    configIssues: [],
    interface: {
      name: 'net1',
      clusterInterface: 'eth0',
      createdByAgent: true,
      master: 'eth1',
      addresses: ['192.0.2.100/24'],
    },
    gateways: [{ family: 4, gateway: '192.0.2.1', reachable: false, state: 'FAILED' }],
    rules: [
      { protocol: 'tcp', port: 80, destinationIP: '192.0.2.10', targetPort: 80, family: 4, connections: 3 },
      {
        protocol: 'udp',
        port: 53,
        destinationIP: '2001:db8::53',
        targetPort: 5353,
        family: 6,
        connections: 0,
      },
    ],
    lastApplyTime: transition,
    lastRepair: {
      time: transition,
      changes: [{ kind: 'route', message: 'added route default via 192.0.2.1 dev net1' }],
    },
  };
  let server: HealthServer | undefined;
  let addr = '';

  beforeAll(async () => {
    server = await startHealthServer(
      { host: '127.0.0.1', port: 0 },
      {
        alive: () => true,
        ready: () => ({ ready: true, reason: 'Applied', message: '' }),
        status: async () => document,
        metrics: async () => ({ contentType: 'text/plain', body: '' }),
      },
      () => {},
    );
    addr = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('-o text: the conditions and rules tables', async () => {
    const result = await runCli(['status', '--health-addr', addr]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE$/);
    expect(lines[3]).toMatch(
      /^Degraded\s+True\s+GatewayUnreachable\s+\d+d\s+gateway 192\.0\.2\.1 does not answer$/,
    );
    expect(lines).toContainEqual(expect.stringMatching(/^UDP\s+53\s+\[2001:db8::53\]:5353\s+0$/));
    expect(result.stdout).not.toContain('interface:');
  });

  it('-o wide: transition times, families, interface, gateways, last apply and repair, version', async () => {
    const result = await runCli(['status', '--health-addr', addr, '-o', 'wide']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+STATUS\s+REASON\s+AGE\s+LAST TRANSITION\s+MESSAGE$/);
    expect(lines[1]).toMatch(
      new RegExp(`^Available\\s+True\\s+Applied\\s+\\d+d\\s+${transition}\\s+in place`),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^PROTOCOL\s+PORT\s+FAMILY\s+DESTINATION\s+CONNECTIONS$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^TCP\s+80\s+IPv4\s+192\.0\.2\.10:80\s+3$/));
    expect(lines).toContain('interface: net1 on eth1, created by the agent: 192.0.2.100/24');
    expect(lines).toContain('gateway: 192.0.2.1 (IPv4) unreachable: FAILED');
    expect(lines).toContain(`last apply: ${transition}`);
    expect(lines).toContain(`last drift repair: ${transition}: added route default via 192.0.2.1 dev net1`);
    expect(lines).toContain('agent version: 0.1.0');
  });

  it('-o json and -o yaml print the document as served; --json still works and warns', async () => {
    const json = await runCli(['status', '--health-addr', addr, '-o', 'json']);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual(document);
    const yaml = await runCli(['status', '--health-addr', addr, '-o', 'yaml']);
    expect(parseYaml(yaml.stdout)).toEqual(document);
    const legacy = await runCli(['status', '--health-addr', addr, '--json']);
    expect(legacy.stdout).toBe(json.stdout);
    expect(legacy.stderr).toBe('warning: --json is deprecated: use -o json\n');
    const both = await runCli(['status', '--health-addr', addr, '--json', '-o', 'yaml']);
    expect(both.code).toBe(2);
  });
});

describe('did you mean', () => {
  it.each([
    ['valdiate', 'validate'],
    ['rendr', 'render'],
    ['stauts', 'status'],
    ['stat', 'status'],
    ['completon', 'completion'],
    ['Apply', 'apply'],
  ])('the unknown command %s suggests %s', async (typed, meant) => {
    const result = await runCli([typed, EXAMPLE]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `egress-router-agent: unknown command "${typed}" (did you mean ${meant}?); see --help\n`,
    );
  });

  it('suggests nothing when nothing is close', async () => {
    for (const typed of ['apply-everything', 'x', 'kubectl']) {
      const result = await runCli([typed]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`egress-router-agent: unknown command "${typed}"; see --help\n`);
    }
  });

  it('an unknown global flag suggests the closest one', async () => {
    const result = await runCli(['--verison']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option "--verison" (did you mean --version?)');
  });

  it.each([
    ['validate', '--outptu', '--output'],
    ['validate', '--from-evn', '--from-env'],
    ['render', '--cluster-cdir', '--cluster-cidr'],
    ['render', '--interfce', '--interface'],
    ['status', '--health-adr', '--health-addr'],
    ['demo', '--kep', '--keep'],
    // apply and run parse through the same shared parser.
    ['apply', '--master-nets', '--master-netns'],
    ['run', '--resync-intreval', '--resync-interval'],
  ])('%s %s suggests %s', async (command, typed, meant) => {
    const result = await runCli([command, EXAMPLE, typed, 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `egress-router-agent ${command}: unknown option ${typed} (did you mean ${meant}?); see "egress-router-agent ${command} --help"\n`,
    );
  });

  it('an unknown flag far from every known one gets no suggestion', async () => {
    const result = await runCli(['validate', EXAMPLE, '--bogus']);
    expect(result.stderr).toContain('unknown option --bogus;');
    expect(result.stderr).not.toContain('did you mean');
  });
});

describe('help and the flag tables', () => {
  it('"help COMMAND" is "COMMAND --help"; "help" alone is the main help', async () => {
    expect(await runCli(['help', 'render'])).toEqual(await runCli(['render', '--help']));
    const main = await runCli(['help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^ {2}completion\s+print a shell completion script/m);
  });

  // Every flag a command's help lists is in its table (which completion and "did you mean" use),
  // and every visible flag of the table is in its help: for apply, cleanup and run too, whose
  // help texts are written by hand.
  it.each(Object.keys(COMMANDS))('%s: --help and the flag table list the same flags', async (name) => {
    const help = await runCli([name, '--help']);
    expect(help.code).toBe(0);
    const options = help.stdout.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
    const inHelp = [...options.matchAll(/^ {2}(?:-\w, )?--([a-z][a-z-]*)/gm)].map((m) => m[1]).sort();
    const table = COMMANDS[name]!.flags;
    const visible = Object.keys(table)
      .filter((flag) => table[flag]!.deprecated === undefined)
      .sort();
    expect(inHelp).toEqual(visible);
  });

  it('apply and run take --flush-tcp-on-change into their options; cleanup has no such flag', () => {
    for (const name of ['apply', 'run']) {
      const table = COMMANDS[name]!.flags;
      const flagged = parseFlags(['--flush-tcp-on-change', 'router.yaml'], table);
      expect(systemOptionsFrom(flagged.values, flagged.positionals).options.flushTcpOnChange).toBe(true);
      const plain = parseFlags(['router.yaml'], table);
      expect(systemOptionsFrom(plain.values, plain.positionals).options.flushTcpOnChange).toBeUndefined();
    }
    expect(COMMANDS.cleanup!.flags['flush-tcp-on-change']).toBeUndefined();
  });

  it('run --log-level takes the levels the logger knows', () => {
    expect([...LOG_LEVEL_NAMES]).toEqual([...LOG_LEVELS]);
    expect(COMMANDS.run!.flags['log-level']!.complete).toEqual(LOG_LEVELS);
  });
});

describe('completion', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ert-completion-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function script(shell: string): Promise<string> {
    const result = await runCli(['completion', shell]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const path = join(dir, `completion.${shell}`);
    writeFileSync(path, result.stdout);
    return path;
  }

  /** What the bash completion offers for a command line (the last word is completed). */
  async function bashOffers(path: string, words: string[]): Promise<string[]> {
    const program = [
      `source ${JSON.stringify(path)}`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      '_egress_router_agent',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's own ${...}
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', program], { cwd: dir });
    return stdout.split('\n').filter(Boolean).sort();
  }

  it('bash accepts the script: complete registers the function for the program', async () => {
    const path = await script('bash');
    const { stdout } = await run('bash', [
      '--norc',
      '--noprofile',
      '-c',
      `source ${JSON.stringify(path)} && complete -p egress-router-agent`,
    ]);
    expect(stdout.trim()).toBe('complete -o default -F _egress_router_agent egress-router-agent');
  });

  it('bash completes commands, flags, -o values and config files from the tables', async () => {
    const path = await script('bash');
    writeFileSync(join(dir, 'router.yaml'), 'kind: EgressRouter\n');
    expect(await bashOffers(path, ['egress-router-agent', ''])).toEqual(
      [...Object.keys(COMMANDS), 'help', '--help', '--version'].sort(),
    );
    expect(await bashOffers(path, ['egress-router-agent', 'va'])).toEqual(['validate']);
    expect(await bashOffers(path, ['egress-router-agent', 'validate', '--out'])).toEqual(['--output']);
    expect(await bashOffers(path, ['egress-router-agent', 'status', '-o', ''])).toEqual([
      'json',
      'text',
      'wide',
      'yaml',
    ]);
    expect(await bashOffers(path, ['egress-router-agent', 'run', '--log-level', 'd'])).toEqual(['debug']);
    expect(await bashOffers(path, ['egress-router-agent', 'render', 'rou'])).toEqual(['router.yaml']);
    expect(await bashOffers(path, ['egress-router-agent', 'completion', ''])).toEqual(['bash', 'zsh']);
    // Deprecated aliases are accepted but not offered.
    expect(await bashOffers(path, ['egress-router-agent', 'render', '--f'])).toEqual(['--from-env']);
    expect(await bashOffers(path, ['egress-router-agent', 'apply', '--m'])).toEqual(['--master-netns']);
    for (const command of ['apply', 'run'])
      expect(await bashOffers(path, ['egress-router-agent', command, '--fl'])).toEqual([
        '--flush-tcp-on-change',
      ]);
    expect(await bashOffers(path, ['egress-router-agent', 'cleanup', '--fl'])).toEqual([]);
  });

  it.skipIf(!hasZsh)('zsh parses the script and registers it with compdef', async () => {
    const path = await script('zsh');
    await run('zsh', ['-n', path]);
    const { stdout } = await run('zsh', [
      '-f',
      '-c',
      `autoload -U compinit && compinit -u -D && source ${JSON.stringify(path)} && print -r -- $_comps[egress-router-agent]`,
    ]);
    expect(stdout.trim()).toBe('_egress_router_agent');
  });

  it('needs a known shell', async () => {
    const missing = await runCli(['completion']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing the shell: bash or zsh');
    const fish = await runCli(['completion', 'bsh']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toContain('the shell must be one of bash, zsh, got "bsh" (did you mean bash?)');
  });
});
