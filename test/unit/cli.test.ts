// The CLI through its in-process dispatcher: exit codes, help, output shapes, option handling.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEnvFile } from '../helpers/envFile.js';
import { runCli } from '../helpers/runCli.js';

const EXAMPLE = 'examples/egressrouter.yaml';
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

  it('--output other than text|json exits 2', async () => {
    const result = await runCli(['validate', EXAMPLE, '--output', 'yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--output must be text or json');
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
  it('--format json: the nft batch plus the plan and the notes', async () => {
    const result = await runCli(['render', EXAMPLE, '--format', 'json']);
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

  it('--format nft (default): the plan as comments, then the table', async () => {
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
    expect(result.stderr).toContain('--format must be nft or json');
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
    const json = await runCli([...args, ...more, '--format', 'json']);
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
    expect(text.stdout).toContain('oifname "egress0" meta nfproto ipv4 snat ip to 192.0.2.100');
    expect(text.stdout).toContain('# route 10.128.0.0/14 via <current default gateway of ens3> dev ens3');
    expect(text.stdout).toContain('# interface egress0: macvlan');
  });

  it('an invalid config: exit 2 with "  path: message" lines, nothing on stdout', async () => {
    const result = await runCli(['render', '-', '--format', 'json'], { stdin: INVALID });
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
    const fromFile = await runCli(['render', EXAMPLE, '--format', 'json']);
    const fromStdin = await runCli(['render', '-', '--format', 'json'], {
      stdin: readFileSync(EXAMPLE, 'utf8'),
    });
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  it('--from-env renders the legacy environment given to the CLI', async () => {
    const result = await runCli(['render', '--from-env', '--format', 'json'], {
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
    const moved = await runCli(['render', '-', '--health-addr', ':9100', '--format', 'json'], {
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
