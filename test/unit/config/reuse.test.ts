// A reload reads the new config against the last valid one: rules it holds unchanged, in the same
// place, are taken as they are. The result must be exactly what a fresh read gives, for every
// kind of edit, and the reuse must really happen (the unchanged rules are the very same objects).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startsLikeJson } from '../../../src/config/decode.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';
import {
  ConfigReader,
  INLINE_PARSE_BYTES,
  jsonValueBound,
  MAIN_THREAD_JSON_VALUES,
  parsesInline,
} from '../../../src/config/reader.js';

interface Rule {
  destinationIP: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number;
}

const BASE: Rule[] = Array.from({ length: 200 }, (_, i) => ({
  destinationIP: i % 2 ? '192.0.2.10' : '192.0.2.11',
  port: 20_000 + i,
  protocol: i % 3 ? 'TCP' : 'UDP',
}));

function text(rules: Rule[], ip = '192.0.2.100/24', gateway = '192.0.2.1'): string {
  return JSON.stringify({
    apiVersion: 'network.operator.openshift.io/v1',
    kind: 'EgressRouter',
    metadata: { name: 'reuse' },
    spec: { addresses: [{ ip, gateway }], redirect: { redirectRules: rules } },
  });
}

function load(source: string, previous?: RouterConfig, options = DEFAULT_OPTIONS) {
  return loadConfigText(
    source,
    options,
    previous ? { config: previous, options: DEFAULT_OPTIONS } : undefined,
  );
}

function first(): RouterConfig {
  const result = load(text(BASE));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

const edits: [string, (rules: Rule[]) => Rule[]][] = [
  ['one destination moved', (r) => r.map((x, i) => (i === 50 ? { ...x, destinationIP: '192.0.2.12' } : x))],
  ['one target port set', (r) => r.map((x, i) => (i === 7 ? { ...x, targetPort: 8080 } : x))],
  [
    'the default target port written out',
    (r) => r.map((x, i) => (i === 9 ? { ...x, targetPort: x.port } : x)),
  ],
  ['a rule added at the end', (r) => [...r, { destinationIP: '192.0.2.10', port: 30_000, protocol: 'SCTP' }]],
  ['a rule removed in the middle', (r) => r.filter((_, i) => i !== 100)],
  ['two rules swapped', (r) => r.map((x, i) => (i === 3 ? (r[4] as Rule) : i === 4 ? (r[3] as Rule) : x))],
  [
    'a destination written another way',
    (r) => r.map((x, i) => (i === 11 ? { ...x, destinationIP: '192.0.2.010' } : x)),
  ],
  ['a duplicate made', (r) => r.map((x, i) => (i === 120 ? { ...x, port: 20_000, protocol: 'UDP' } : x))],
  ['a bad port', (r) => r.map((x, i) => (i === 60 ? { ...x, port: 70_000 } : x))],
  [
    'the health port',
    (r) => r.map((x, i) => (i === 61 ? { ...x, port: DEFAULT_OPTIONS.healthPort, protocol: 'TCP' } : x)),
  ],
  [
    'a destination in the egress subnet edge',
    (r) => r.map((x, i) => (i === 62 ? { ...x, destinationIP: '192.0.2.255' } : x)),
  ],
];

describe('reading a config against the previous one', () => {
  for (const [name, edit] of edits) {
    it(`gives what a fresh read gives: ${name}`, () => {
      const previous = first();
      const next = text(edit(BASE));
      expect(load(next, previous)).toEqual(load(next));
    });
  }

  it('keeps unchanged rules as the same objects, and checks the changed one again', () => {
    const previous = first();
    const result = load(
      text(BASE.map((x, i) => (i === 50 ? { ...x, destinationIP: '192.0.2.12' } : x))),
      previous,
    );
    if (!result.ok) throw new Error('invalid');
    const same = result.config.redirectRules.filter((r, i) => r === previous.redirectRules[i]).length;
    expect(same).toBe(BASE.length - 1);
    expect(result.config.redirectRules[50]?.destinationIP).toBe('192.0.2.12');
  });

  it('checks every rule again when the egress subnet changed, or the options are others', () => {
    const previous = first();
    // 192.0.2.11 is the broadcast address of 192.0.2.8/30: a reused rule would hide the problem.
    const moved = load(text(BASE, '192.0.2.9/30', '192.0.2.10'), previous);
    expect(moved).toEqual(load(text(BASE, '192.0.2.9/30', '192.0.2.10')));
    expect(moved.ok ? [] : moved.issues.map((i) => i.message)).toContain(
      '192.0.2.11 is the broadcast address of the egress subnet 192.0.2.8/30 (spec.addresses[0].ip), not a host',
    );
    const other = { ...DEFAULT_OPTIONS, healthPort: 20_001 };
    const result = loadConfigText(text(BASE), other, { config: previous, options: DEFAULT_OPTIONS });
    expect(result).toEqual(loadConfigText(text(BASE), other));
    expect(result.ok).toBe(false);
  });
});

describe('where a config is parsed', () => {
  it('parses small configs and bounded JSON at once, large YAML in a worker', () => {
    expect(parsesInline('spec: {}', 8)).toBe(true);
    const json = text(BASE);
    expect(startsLikeJson(`\ufeff \n${json}`)).toBe(true);
    expect(startsLikeJson('kind: EgressRouter')).toBe(false);
    expect(parsesInline(json, INLINE_PARSE_BYTES + 1)).toBe(true);
    expect(parsesInline('kind: EgressRouter\n', INLINE_PARSE_BYTES + 1)).toBe(false);
    const crowded = `{"a":[${'0,'.repeat(MAIN_THREAD_JSON_VALUES)}0]}`;
    expect(jsonValueBound(crowded, MAIN_THREAD_JSON_VALUES)).toBeGreaterThan(MAIN_THREAD_JSON_VALUES);
    expect(parsesInline(crowded, crowded.length)).toBe(false);
  });

  it('reuses the last valid config on the next read, and not an invalid one', async () => {
    const reader = new ConfigReader(DEFAULT_OPTIONS);
    const a = await reader.read(text(BASE), 1);
    const bad = await reader.read(text(BASE.map((x, i) => (i === 1 ? { ...x, port: 0 } : x))), 1);
    const b = await reader.read(text(BASE.map((x, i) => (i === 2 ? { ...x, targetPort: 9 } : x))), 1);
    if (!a.ok || !b.ok) throw new Error('invalid');
    expect(bad.ok).toBe(false);
    expect(b.config.redirectRules[0]).toBe(a.config.redirectRules[0]);
    expect(b.config.redirectRules[2]).not.toBe(a.config.redirectRules[2]);
    expect(b.config.redirectRules[2]?.targetPort).toBe(9);
  });

  it('reads a big JSON config once, then only what each reload changed', async () => {
    const many: Rule[] = Array.from({ length: 5_000 }, (_, i) => ({
      destinationIP: '192.0.2.10',
      port: 10_000 + i,
      protocol: 'TCP',
    }));
    const reader = new ConfigReader(DEFAULT_OPTIONS);
    const first = text(many);
    expect(first.length).toBeGreaterThan(INLINE_PARSE_BYTES);
    const a = await reader.read(first, first.length);
    const changed = text(many.map((r, i) => (i === 4_000 ? { ...r, destinationIP: '192.0.2.20' } : r)));
    const b = await reader.read(changed, changed.length);
    expect(b).toEqual(loadConfigText(changed, DEFAULT_OPTIONS));
    if (!a.ok || !b.ok) throw new Error('invalid');
    expect(b.config.redirectRules.filter((r, i) => r === a.config.redirectRules[i]).length).toBe(4_999);
  });

  it('reads big JSON files from their bytes while ASCII, and from their text once not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reader-bytes-'));
    try {
      const path = join(dir, 'config.json');
      const many: Rule[] = Array.from({ length: 5_000 }, (_, i) => ({
        destinationIP: '192.0.2.10',
        port: 10_000 + i,
        protocol: 'TCP',
      }));
      const reader = new ConfigReader(DEFAULT_OPTIONS);
      const versions = [
        text(many),
        text(many.map((r, i) => (i === 10 ? { ...r, destinationIP: '192.0.2.20' } : r))),
        // Not ASCII any more (outside the rules): read whole, then indexed on its text.
        text(many).replace('"name":"reuse"', '"name":"reuse","labels":{"owner":"\u00e9quipe"}'),
        text(many)
          .replace('"name":"reuse"', '"name":"reuse","labels":{"owner":"\u00e9quipe"}')
          .replace('"port":10020', '"port":30020'),
      ];
      for (const version of versions) {
        await writeFile(path, version, 'utf8');
        const expected = loadConfigText(await readFile(path, 'utf8'), DEFAULT_OPTIONS);
        expect(expected.ok).toBe(true);
        const { fingerprint: _fingerprint, ...read } = await reader.readFile(path);
        expect(read).toEqual(expected);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the file again only when it is another version, and never trusts a failed read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reader-file-'));
    try {
      const path = join(dir, 'config.json');
      const reader = new ConfigReader(DEFAULT_OPTIONS);
      await writeFile(path, text(BASE));
      const first = await reader.readFile(path);
      expect(first.ok).toBe(true);
      // Unchanged: the same answer, not a new read.
      expect(await reader.readFile(path)).toBe(first);
      // Changed in place: read again.
      await writeFile(path, text(BASE.map((x, i) => (i === 1 ? { ...x, targetPort: 9 } : x))));
      const second = await reader.readFile(path);
      expect(second).not.toBe(first);
      expect(second.ok && second.config.redirectRules[1]?.targetPort).toBe(9);
      // Gone: says why, every time.
      await rm(path);
      const gone = await reader.readFile(path);
      expect(gone.ok).toBe(false);
      expect((await reader.readFile(path)).ok).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
