/** Issue 15's hostile-input items and the validation rules added with them. */
import fc from 'fast-check';
import { dump, EVENT_ID, parseEvents } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CONTROL_CHARACTERS } from '../../../src/config/issues.js';
import { jsonStructureIssue } from '../../../src/config/jsonStructure.js';
import { MAX_MAPPING_KEYS } from '../../../src/config/limits.js';
import { decodeBlockYaml } from '../../../src/config/yamlBlock.js';
import { decodeYaml, yamlNodeBound } from '../../../src/config/yamlDecode.js';
import { runCli } from '../../helpers/runCli.js';
import {
  API_VERSION,
  cniJson,
  egressRouterJson,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  loadEnv,
  nadYaml,
  paths,
  rule,
  spec,
  withAddresses,
  withRedirect,
} from './helpers.js';

/** An EgressRouter in block YAML with the given lines under `spec:` (indented by the caller). */
function routerYaml(specLines: readonly string[], metadata: readonly string[] = ['  name: r']): string {
  return [
    `apiVersion: ${API_VERSION}`,
    'kind: EgressRouter',
    'metadata:',
    ...metadata,
    'spec:',
    '  addresses:',
    '  - ip: 192.0.2.100/24',
    '    gateway: 192.0.2.1',
    ...specLines,
    '',
  ].join('\n');
}

describe('YAML: duplicate keys are found in linear time, with the path', () => {
  it('refuses 40,000 keys in one mapping at the key limit, naming it', () => {
    const labels = Array.from({ length: 40_000 }, (_, i) => `    k${i}: "x"`);
    const issue = expectOnlyIssue(
      load(routerYaml(['  redirect: {}'], ['  name: r', '  labels:', ...labels])),
      'metadata.labels.k10000',
      /^a mapping has more than the limit of 10,000 keys in one mapping \(line \d+\)$/,
    );
    expect(issue.message).toContain('10,000');
  });

  it('finds a duplicate among as many keys as the limit allows', () => {
    const labels = Array.from({ length: MAX_MAPPING_KEYS - 1 }, (_, i) => `    k${i}: "x"`);
    labels.push('    k1234: "again"');
    expectOnlyIssue(
      load(routerYaml(['  redirect: {}'], ['  name: r', '  labels:', ...labels])),
      'metadata.labels.k1234',
      /^is given twice in the same mapping \(line 10005\); keep one$/,
    );
  });

  it('reports a duplicated rule field at the rule', () => {
    const text = routerYaml([
      '  redirect:',
      '    redirectRules:',
      '    - {destinationIP: 192.0.2.10, port: 80, protocol: TCP}',
      '    - destinationIP: 192.0.2.11',
      '      port: 81',
      '      protocol: TCP',
      '      port: 82',
    ]);
    expectOnlyIssue(
      load(text),
      'spec.redirect.redirectRules[1].port',
      /^is given twice in the same mapping \(line 15\); keep one$/,
    );
  });

  it('quotes a key that is not a plain name, so it cannot forge a path or a line', () => {
    const issues = expectIssues(load(egressRouterJson({ ...spec(), 'x\ny': 1, 'a.b': 2 })));
    expect(paths(issues)).toEqual(['spec["x\\ny"]', 'spec["a.b"]']);
  });
});

describe('YAML: nesting, aliases and tags', () => {
  it('refuses nesting past the limit with the limit in the message', () => {
    const text = `a: ${'['.repeat(65)}${']'.repeat(65)}`;
    expectOnlyIssue(
      load(text),
      '',
      /^not valid YAML or JSON: nests deeper than the limit of 64 levels at line 1, column \d+$/,
    );
    const block = `a:\n${Array.from({ length: 70 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}`;
    expectOnlyIssue(load(block), '', /nests deeper than the limit of 64 levels/);
  });

  it('refuses an alias to the node it is in (a cycle)', () => {
    expectOnlyIssue(
      load('a: &x [1, *x]\n'),
      'a[1]',
      /^uses the alias \*x inside the node it names \(a cycle\)/,
    );
  });

  it('keeps merge keys, explicit keys winning, and refuses a merge of a non-mapping', () => {
    const text = routerYaml([
      '  redirect:',
      '    redirectRules:',
      '    - &web {destinationIP: 192.0.2.10, port: 80, protocol: TCP}',
      '    - <<: *web',
      '      port: 81',
      '    - {<<: [{port: 82}, *web], protocol: UDP}',
    ]);
    const rules = expectOk(load(text)).redirectRules.map((r) => `${r.protocol} ${r.port} ${r.destinationIP}`);
    expect(rules).toEqual(['tcp 80 192.0.2.10', 'tcp 81 192.0.2.10', 'udp 82 192.0.2.10']);
    expectOnlyIssue(
      load('a: {<<: 5}\n'),
      'a["<<"]',
      /^\(a merge key\) takes a mapping or a list of mappings/,
    );
  });

  it.each([
    ['a: !!binary aGVsbG8=', 'a', /has the tag "!!binary", which a config cannot use/],
    ['a: !custom x', 'a', /has the tag "!custom"/],
    ['a: !!set {x, y}', 'a', /has the tag "!!set"/],
    ['a: !e!x y', '', /^not valid YAML or JSON: undeclared tag handle "!e!"/],
    ['a: !!int abc', 'a', /"abc" is not an integer/],
    ['? [a, b]\n: 1\n', '', /keys must be strings/],
  ])('refuses %j with the path', (text, path, message) => {
    expectOnlyIssue(load(text), path, message);
  });

  it('reads explicit core tags', () => {
    expect(
      decodeYaml('a: !!str 80\nb: !!int "0x50"\nc: !!float 1\nd: !!bool yes\ne: !!null ~\nf: ! 80\n'),
    ).toEqual({ ok: true, documents: [{ a: '80', b: 80, c: 1, d: true, e: null, f: '80' }] });
  });
});

describe('YAML 1.1 scalars as kubectl reads them', () => {
  const portOf = (port: string) =>
    load(
      routerYaml([
        '  redirect:',
        '    redirectRules:',
        `    - {destinationIP: 192.0.2.10, port: ${port}, protocol: TCP}`,
      ]),
    );

  it.each(['1:20', '1:20:00', '+1:20'])('refuses the base-60 port %s with the path', (port) => {
    expectOnlyIssue(
      portOf(port),
      'spec.redirect.redirectRules[0].port',
      /^must be a number, got the string ".*" \(YAML 1\.1 base 60, which some readers take as a number and kubectl as text: write the number in decimal\)$/,
    );
  });

  it('reads an uncompressed IPv6 destination that looks like base 60 as the address', () => {
    const text = routerYaml(
      [
        '  redirect:',
        '    redirectRules:',
        '    - {destinationIP: 2001:0:0:0:0:0:0:10, port: 80, protocol: TCP}',
      ],
      ['  name: r'],
    ).replace('- ip: 192.0.2.100/24\n    gateway: 192.0.2.1', '- ip: 2001::5/64');
    expect(expectOk(load(text)).redirectRules[0]?.destinationIP).toBe('2001::10');
  });

  it.each([
    ['0120', 80],
    ['0x50', 80],
    ['0b1010000', 80],
    ['1_000', 1000],
    ['+80', 80],
    ['80.0', 80],
  ])('still reads %s as %i', (port, value) => {
    expect(expectOk(portOf(port)).redirectRules[0]?.port).toBe(value);
  });
});

describe('JSON: duplicate keys are refused with the path, as in YAML', () => {
  it('refuses a duplicated rule field (JSON.parse would keep the last silently)', () => {
    const text = withRedirect({ redirectRules: [] }).replace(
      '"redirectRules":[]',
      '"redirectRules":[{"destinationIP":"192.0.2.10","port":80,"protocol":"TCP"},\n{"destinationIP":"192.0.2.11","port":81,"port":82,"protocol":"TCP"}]',
    );
    expectOnlyIssue(
      load(text),
      'spec.redirect.redirectRules[1].port',
      /^is given twice in the same object \(line 2\); keep one$/,
    );
  });

  it('refuses a duplicated redirectRules list that would drop rules', () => {
    const text = egressRouterJson(spec()).replace(
      '"redirect":{}',
      '"redirect":{"redirectRules":[{"destinationIP":"192.0.2.10","port":80,"protocol":"TCP"}],"redirectRules":[]}',
    );
    expectOnlyIssue(load(text), 'spec.redirect.redirectRules', /^is given twice in the same object/);
  });

  it('compares keys after unescaping', () => {
    expect(jsonStructureIssue('{"a":1,"\\u0061":2}')).toEqual({
      path: 'a',
      message: 'is given twice in the same object (line 1); keep one',
    });
    expect(jsonStructureIssue('{"a\\"":1,"a":2,"b":{"a":1}}')).toBeUndefined();
  });

  it('checks a NAD spec.config too', () => {
    const config = cniJson({ ip: { addresses: ['192.0.2.5/24'] } }).replace('"ip":', '"name":"n2","ip":');
    expectOnlyIssue(load(nadYaml(config)), 'spec.config.name', /^is given twice in the same object/);
  });

  it('counts nodes and keys against the limits', () => {
    const many = `{${Array.from({ length: MAX_MAPPING_KEYS + 1 }, (_, i) => `"k${i}":1`).join(',')}}`;
    expect(jsonStructureIssue(many)).toEqual({
      path: `k${MAX_MAPPING_KEYS}`,
      message: 'an object has more than the limit of 10,000 keys in one mapping',
    });
  });
});

describe('addresses that mean nothing', () => {
  it.each(['192.0.2.100/0', '2001:db8::5/0'])('refuses the egress address %s', (ip) => {
    expectOnlyIssue(load(withAddresses([{ ip }])), 'spec.addresses[0].ip', /\/0 makes every address on-link/);
  });

  it.each([
    ['192.0.2.0', 'network'],
    ['192.0.2.255', 'broadcast'],
  ])('refuses the destination %s (the %s address of the egress subnet)', (ip, edge) => {
    expectOnlyIssue(
      load(withRedirect({ redirectRules: [rule(ip, 80)] })),
      'spec.redirect.redirectRules[0].destinationIP',
      new RegExp(
        `^${ip.replaceAll('.', '\\.')} is the ${edge} address of the egress subnet 192\\.0\\.2\\.0/24 \\(spec\\.addresses\\[0\\]\\.ip\\), not a host$`,
      ),
    );
    expectOnlyIssue(load(withRedirect({ fallbackIP: ip })), 'spec.redirect.fallbackIP', new RegExp(edge));
    expectOnlyIssue(
      loadEnv({ EGRESS_SOURCE: '192.0.2.100/24', EGRESS_DESTINATION: `80 tcp ${ip}` }),
      'EGRESS_DESTINATION line 1 destinationIP',
      new RegExp(edge),
    );
  });

  it('still takes the edges of another subnet and hosts of a /31', () => {
    expectOk(load(withRedirect({ redirectRules: [rule('198.51.100.0', 80)], fallbackIP: '198.51.100.255' })));
    expectOk(load(withRedirect({ redirectRules: [rule('192.0.2.101', 80)] }, [{ ip: '192.0.2.100/31' }])));
  });
});

describe('control characters never reach an output', () => {
  it.each([
    'a\nb',
    'a\rb',
    'a\tb',
    'a\u001b[31mb',
    'a\u0085b',
    'a\u009bb',
    'a\u2028b',
    'a\u2029b',
    'a\u007fb',
  ])('refuses %j in metadata.name and metadata.namespace with the path', (name) => {
    const issues = expectIssues(load(egressRouterJson(spec(), { metadata: { name, namespace: name } })));
    expect(paths(issues)).toEqual(['metadata.name', 'metadata.namespace']);
    expect(issues[0]?.message).toMatch(/must not contain control characters/);
  });

  it('refuses them in the CNI name, also inside a NAD', () => {
    const cni = cniJson({ name: 'x\ny', ip: { addresses: ['192.0.2.5/24'] } });
    expectOnlyIssue(load(cni), 'name', /control characters/);
    expectOnlyIssue(load(nadYaml(cni)), 'spec.config.name', /control characters/);
  });

  it('escapes them in every path and message it reports', () => {
    const text = egressRouterJson({ ...spec(), 'x\u2028\u0085\u001b': 1 }).replace(
      '"192.0.2.1"',
      '"192.0.2.1\\u009b"',
    );
    for (const issue of expectIssues(load(text))) {
      expect(`${issue.path}: ${issue.message}`).not.toMatch(CONTROL_CHARACTERS);
    }
  });

  it('render --format nft refuses a newline in metadata.name instead of printing an nft command', async () => {
    const yaml = routerYaml(['  redirect: {}'], ['  name: "x\\nflush ruleset"']);
    const result = await runCli(['render', '-', '--format', 'nft'], { stdin: yaml });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('metadata.name: must not contain control characters');
  });
});

describe('did you mean, beyond case', () => {
  it.each([
    [{ adresses: [] }, 'spec.adresses', 'addresses'],
    [{ redirect: { redirectRule: [] } }, 'spec.redirect.redirectRule', 'redirectRules'],
    [{ redirect: { fallbackIp: '192.0.2.9' } }, 'spec.redirect.fallbackIp', 'fallbackIP'],
  ])('suggests the field for %j', (extra, path, suggestion) => {
    const issues = expectIssues(load(egressRouterJson({ ...spec(), ...extra })));
    expectIssueAt(issues, path, new RegExp(`^unknown field \\(did you mean "${suggestion}"\\?\\)$`));
  });

  it('suggests destinationIP for destinationIp and port for prot', () => {
    const text = withRedirect({
      redirectRules: [{ destinationIp: '192.0.2.10', prot: 80, protocol: 'TCP' }],
    });
    const issues = expectIssues(load(text));
    expectIssueAt(issues, 'spec.redirect.redirectRules[0].destinationIp', /did you mean "destinationIP"/);
    expectIssueAt(issues, 'spec.redirect.redirectRules[0].prot', /did you mean "port"/);
  });

  it('suggests nothing for a word that is not close to any field', () => {
    const issues = expectIssues(load(egressRouterJson({ ...spec(), somethingElse: 1 })));
    expectIssueAt(issues, 'spec.somethingElse', /^unknown field$/);
  });
});

describe('large configs', () => {
  /** Block YAML as kubectl writes it: every port of TCP and UDP but the health port. */
  function everyPort(ruleLine: (port: number, protocol: string) => string): string {
    const lines = [`apiVersion: ${API_VERSION}`, 'kind: EgressRouter', 'metadata:', '  name: all', 'spec:'];
    lines.push(
      '  addresses:',
      '  - ip: 192.0.2.100/24',
      '    gateway: 192.0.2.1',
      '  redirect:',
      '    redirectRules:',
    );
    for (let port = 1; port <= 65_535; port += 1) {
      for (const protocol of ['TCP', 'UDP']) {
        if (protocol === 'TCP' && port === 9099) continue;
        lines.push(ruleLine(port, protocol));
      }
    }
    return `${lines.join('\n')}\n`;
  }

  it('reads 131,069 rules in block YAML, streaming, every rule kept with its source', () => {
    const text = everyPort((port, protocol) =>
      [`    - destinationIP: 192.0.2.10`, `      port: ${port}`, `      protocol: ${protocol}`].join('\n'),
    );
    expect(decodeBlockYaml(text)?.ok).toBe(true);
    const config = expectOk(load(text));
    expect(config.redirectRules).toHaveLength(131_069);
    expect(config.redirectRules[131_068]).toEqual({
      protocol: 'udp',
      port: 65_535,
      destinationIP: '192.0.2.10',
      targetPort: 65_535,
      family: 4,
      source: 'spec.redirect.redirectRules[131068]',
    });
  });

  it('reads the same rules written one flow mapping per line (PyYAML style)', () => {
    const text = everyPort(
      (port, protocol) => `    - {destinationIP: 192.0.2.10, port: ${port}, protocol: ${protocol}}`,
    );
    expect(expectOk(load(text)).redirectRules).toHaveLength(131_069);
  });

  it('refuses a large text outside the streamed style before parsing it, saying why', () => {
    // Flow sequences over several lines are the general reader's, whose events are bounded.
    const text = `a: [\n${'1,\n'.repeat(400_000)}]\n`;
    expect(decodeBlockYaml(text)).toBeUndefined();
    expect(yamlNodeBound(text)).toBeGreaterThan(600_000);
    expectOnlyIssue(
      load(text),
      '',
      /^the input is YAML with up to more than 600,000 nodes outside plain block style .* or as JSON$/,
    );
  });

  it('bounds from above the nodes the js-yaml parser makes, in any style', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 6 }),
        fc.integer(),
        tie('list'),
        tie('map'),
      ),
      list: fc.array(tie('node'), { maxLength: 4 }),
      map: fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 4 }),
    })).node;
    fc.assert(
      fc.property(value, fc.constantFrom(-1, 0, 1, 2), fc.boolean(), (v, flowLevel, padding) => {
        const text = dump(v, { flowLevel, flowBracketPadding: padding, lineWidth: -1 });
        const nodes = parseEvents(text, {}).filter(
          (e) => e.type !== EVENT_ID.POP && e.type !== EVENT_ID.DOCUMENT,
        );
        expect(yamlNodeBound(text), text).toBeGreaterThanOrEqual(nodes.length);
      }),
      { numRuns: 1000 },
    );
    for (const text of [
      '{a, b, c}',
      '? a\n: b\n',
      '[a: b, c: d]',
      '- - - x\n',
      'a: 2001:db8::1\n',
      '{"a":1,"b":[2]}',
    ]) {
      const nodes = parseEvents(text, {}).filter(
        (e) => e.type !== EVENT_ID.POP && e.type !== EVENT_ID.DOCUMENT,
      );
      expect(yamlNodeBound(text), text).toBeGreaterThanOrEqual(nodes.length);
    }
  });
});
