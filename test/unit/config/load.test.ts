import { describe, expect, it } from 'vitest';
import { ConfigError, formatIssue, joinPath, show } from '../../../src/config/issues.js';
import { finishDraft, loadConfigText, MAX_CONFIG_BYTES, parseConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import {
  API_VERSION,
  cniJson,
  egressRouterJson,
  example,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  nadYaml,
  spec,
} from './helpers.js';

const ACCEPTED =
  /^expected an EgressRouter \(apiVersion network\.operator\.openshift\.io\/v1\), a NetworkAttachmentDefinition whose spec\.config is an egress-router CNI config, or an egress-router CNI network config \(JSON with "type": "egress-router"\); use --from-env for the legacy EGRESS_\* variables/;

const ER_YAML = `apiVersion: ${API_VERSION}
kind: EgressRouter
metadata: {name: from-yaml}
spec:
  addresses: [{ip: 192.0.2.100/24}]
  redirect: {fallbackIP: 192.0.2.20}
`;

describe('format detection', () => {
  it.each([
    ['egressrouter.yaml', 'EgressRouter'],
    ['egressrouter-dualstack.yaml', 'EgressRouter'],
    ['cni.json', 'CNI'],
    ['nad.yaml', 'NetworkAttachmentDefinition'],
  ])('%s is read as %s', (file, format) => {
    expect(expectOk(load(example(file))).format).toBe(format);
  });

  it('detects by kind before type', () => {
    const text = JSON.stringify({
      apiVersion: API_VERSION,
      kind: 'EgressRouter',
      type: 'egress-router',
      spec: spec(),
    });
    expect(expectOk(load(text)).format).toBe('EgressRouter');
  });

  it.each([
    ['{"a":1}', 'an object with neither "kind" nor "type"'],
    ['kind: Service', 'kind "Service"'],
    ['{"type":"bridge"}', 'type "bridge"'],
    ['{"kind":5,"type":7}', 'an object with neither "kind" nor "type"'],
    ['[1, 2]', 'a list'],
    ['42', 'number'],
    ['true', 'boolean'],
    ['"text"', 'string'],
    ['just some words', 'string'],
  ])('names the accepted formats for %j and says what it got', (text, got) => {
    const issue = expectOnlyIssue(load(text), '', ACCEPTED);
    expect(issue.message.endsWith(`; got ${got}`)).toBe(true);
  });

  it('shortens a long kind in the message', () => {
    const issue = expectOnlyIssue(load(JSON.stringify({ kind: 'K'.repeat(1000) })), '', ACCEPTED);
    expect(issue.message.length).toBeLessThan(450);
  });

  it('rejects a kind in the wrong case', () => {
    expectOnlyIssue(load('kind: egressrouter\n'), '', /got kind "egressrouter"$/);
  });
});

describe('empty input', () => {
  it.each(['', '   ', '\n\n', '# only a comment\n', '---\n', '---\n---\n', 'null', '~'])(
    'rejects %j as empty',
    (text) => {
      expectOnlyIssue(load(text), '', /^input is empty; expected an EgressRouter/);
    },
  );
});

describe('multi-document YAML', () => {
  it('takes the one config among other documents', () => {
    const text = `kind: ConfigMap\napiVersion: v1\n---\n${ER_YAML}---\nkind: Service\n`;
    expect(expectOk(load(text)).name).toBe('from-yaml');
  });

  it('skips empty documents', () => {
    expect(expectOk(load(`---\n---\n${ER_YAML}---\n`)).name).toBe('from-yaml');
  });

  it('rejects two configs', () => {
    expectOnlyIssue(
      load(`${ER_YAML}---\n${ER_YAML}`),
      '',
      /^input holds 2 documents, 2 of them a config; expected exactly one$/,
    );
  });

  it('rejects several documents none of which is a config', () => {
    expectOnlyIssue(
      load('kind: A\n---\nkind: B\n---\n[1]\n'),
      '',
      /^input holds 3 documents, 0 of them a config; expected exactly one$/,
    );
  });

  it('reports a syntax error in any document', () => {
    expectOnlyIssue(load(`${ER_YAML}---\na: [\n`), '', /^not valid YAML or JSON: /);
  });

  it('reads a NAD next to other documents', () => {
    const text = `kind: Namespace\n---\n${nadYaml(cniJson({ ip: { addresses: ['192.0.2.5/24'] } }))}`;
    expect(expectOk(load(text)).format).toBe('NetworkAttachmentDefinition');
  });
});

describe('syntax errors', () => {
  it.each(['a: [', '{"a": ', 'a: b: c', '\tkey: value', 'a: "unterminated', '[1, 2'])(
    'reports %j as not YAML or JSON',
    (text) => {
      const issue = expectOnlyIssue(load(text), '', /^not valid YAML or JSON: /);
      // One line, no pretty-printed context.
      expect(issue.message).not.toContain('\n');
    },
  );

  it('rejects duplicate keys in YAML, with the path and the line', () => {
    const lines = ER_YAML.split('\n').length;
    expectOnlyIssue(
      load(`${ER_YAML}metadata: {name: again}\n`),
      'metadata',
      new RegExp(`^is given twice in the same mapping \\(line ${lines}\\); keep one$`),
    );
  });

  it('reads JSON that is not strict JSON as YAML', () => {
    const text = egressRouterJson(spec()).replace(/}$/, ',}');
    expect(() => JSON.parse(text)).toThrow();
    expectOk(load(text));
  });
});

describe('parseConfigText and finishDraft', () => {
  it('hands back a draft for a structurally sound config, issues for an unsound one', () => {
    const good = parseConfigText(egressRouterJson(spec()));
    expect(good.issues).toEqual([]);
    expect(good.draft?.format).toBe('EgressRouter');
    const bad = parseConfigText('kind: x');
    expect(bad.draft).toBeUndefined();
    expect(bad.issues).toHaveLength(1);
  });

  it('keeps parser issues even when the draft validates', () => {
    const result = finishDraft(
      {
        draft: {
          format: 'CNI',
          macvlanMode: 'Bridge',
          addressesPath: 'ip.addresses',
          addresses: [{ ip: { value: '192.0.2.5/24', path: 'ip.addresses[0]' } }],
          rules: [],
          notes: [],
        },
        issues: [{ path: 'interfaceArgs.mode', message: 'bad' }],
      },
      DEFAULT_OPTIONS,
    );
    expect(result).toEqual({ ok: false, issues: [{ path: 'interfaceArgs.mode', message: 'bad' }] });
  });

  it('drops "at least one address" only when the parser already reported that path', () => {
    const draft = {
      format: 'CNI' as const,
      macvlanMode: 'Bridge' as const,
      addressesPath: 'ip.addresses',
      addresses: [],
      rules: [],
      notes: [],
    };
    expect(finishDraft({ draft, issues: [{ path: 'ip.addresses', message: 'x' }] }, DEFAULT_OPTIONS)).toEqual(
      {
        ok: false,
        issues: [{ path: 'ip.addresses', message: 'x' }],
      },
    );
    expect(finishDraft({ draft, issues: [{ path: 'other', message: 'x' }] }, DEFAULT_OPTIONS)).toEqual({
      ok: false,
      issues: [
        { path: 'other', message: 'x' },
        { path: 'ip.addresses', message: 'must list at least one address' },
      ],
    });
  });
});

describe('ConfigError', () => {
  it('carries every issue of a config, one line each', () => {
    const result = loadConfigText(
      egressRouterJson({ addresses: [{ ip: 'x' }, { ip: 'y' }], redirect: {} }),
      DEFAULT_OPTIONS,
    );
    if (result.ok) throw new Error('the config should be invalid');
    const error = new ConfigError(result.issues);
    expect(error.name).toBe('ConfigError');
    expect(error.issues.map((i) => i.path)).toEqual(['spec.addresses[0].ip', 'spec.addresses[1].ip']);
    expect(error.message.split('\n')).toHaveLength(2);
    expect(error.message).toMatch(/^spec\.addresses\[0\]\.ip: must be an IP address/);
  });

  it('formats an issue without a path as just its message', () => {
    expect(formatIssue({ path: '', message: 'm' })).toBe('m');
    expect(formatIssue({ path: 'a.b', message: 'm' })).toBe('a.b: m');
  });
});

describe('issue helpers', () => {
  it('joinPath reads like a Kubernetes field path', () => {
    expect(joinPath('', 'spec')).toBe('spec');
    expect(joinPath('spec', 'addresses')).toBe('spec.addresses');
    expect(joinPath('spec.addresses', 2)).toBe('spec.addresses[2]');
    expect(joinPath('', 0)).toBe('[0]');
  });

  it('show renders values short and safe', () => {
    expect(show('x')).toBe('"x"');
    expect(show(undefined)).toBe('nothing');
    expect(show(null)).toBe('null');
    expect(show([1])).toBe('a list');
    expect(show({})).toBe('an object');
    expect(show(5)).toBe('5');
    expect(show('y'.repeat(1000))).toHaveLength(80);
    expect(show('y'.repeat(1000)).endsWith('...')).toBe(true);
  });
});

describe('input limits', () => {
  it('exposes a 64 MiB limit', () => {
    expect(MAX_CONFIG_BYTES).toBe(64 * 1024 * 1024);
  });

  it('counts bytes, not characters', () => {
    // 22 million 3-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
    const text = '€'.repeat(22_400_000);
    expect(text.length).toBeLessThan(MAX_CONFIG_BYTES);
    expectOnlyIssue(load(text), '', /^input is 67200000 bytes; the limit is 67108864$/);
  });

  it('returns every issue for a problem config', () => {
    expect(
      expectIssues(load(egressRouterJson({ addresses: [{ ip: 'x' }], redirect: { fallbackIP: 'y' } }))),
    ).toHaveLength(2);
  });
});

describe('a NetworkAttachmentDefinition whose spec.config is a conflist', () => {
  it('uses the egress-router plugin and reports paths under spec.config.plugins[N]', () => {
    const conflist = JSON.stringify({
      cniVersion: '0.4.0',
      name: 'egress',
      plugins: [
        { type: 'tuning' },
        {
          type: 'egress-router',
          ip: { addresses: ['192.0.2.100/24'], destinations: ['80 tcp 192.0.2.10', '70000 tcp 192.0.2.11'] },
        },
      ],
    });
    const issues = expectIssues(load(nadYaml(conflist)));
    expectIssueAt(issues, 'spec.config.plugins[1].ip.destinations[1].port', /1\.\.65535/);
  });

  it('is read as a NetworkAttachmentDefinition when valid', () => {
    const conflist = JSON.stringify({
      plugins: [{ type: 'egress-router', ip: { addresses: ['192.0.2.100/24'] } }],
    });
    expect(expectOk(load(nadYaml(conflist))).format).toBe('NetworkAttachmentDefinition');
  });
});
