// A reload of a big JSON EgressRouter reads only the rules its change touches (src/config/jsonRules.ts).
// Whatever the edit, the answer must be the one a fresh read of the whole text gives; for the edits
// an operator makes to a big config (a rule changed, added or removed) the quick path must be the
// one taken; and its index must stay right over a chain of reloads.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  indexJsonRules,
  type JsonRulesIndex,
  type JsonSource,
  reloadJsonRules,
  ruleSpans,
} from '../../../src/config/jsonRules.js';
import { finishDraft, loadConfigText, parseConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';

interface Rule {
  destinationIP: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number;
}

const rulesOf = (n: number): Rule[] =>
  Array.from({ length: n }, (_, i) => ({
    destinationIP: i % 2 ? '192.0.2.10' : '192.0.2.11',
    port: 20_000 + i,
    protocol: 'TCP',
    ...(i % 5 === 0 ? { targetPort: 8080 } : {}),
  }));

const documentOf = (rules: unknown[], fallbackIP?: string) => ({
  apiVersion: 'network.operator.openshift.io/v1',
  kind: 'EgressRouter',
  metadata: { name: 'quick', namespace: 'egress' },
  spec: {
    addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
    mode: 'Redirect',
    networkInterface: { macvlan: { mode: 'Bridge', master: 'eth1' } },
    redirect: { redirectRules: rules, ...(fallbackIP ? { fallbackIP } : {}) },
  },
});

const layouts: [string, (value: unknown) => string][] = [
  ['compact', (v) => JSON.stringify(v)],
  ['indented', (v) => JSON.stringify(v, null, 2)],
];

/** The index keeps the text, or the bytes of an ASCII text (what the reader gives it for a file). */
let kind: 'text' | 'bytes' = 'text';
const sourceOf = (text: string): JsonSource => (kind === 'bytes' ? Buffer.from(text, 'latin1') : text);

function indexOf(text: string): JsonRulesIndex {
  const drafted = parseConfigText(text);
  const result = finishDraft(drafted, DEFAULT_OPTIONS);
  if (!result.ok || !drafted.draft) throw new Error(JSON.stringify(result));
  const index = indexJsonRules(text, drafted.draft, result.config, DEFAULT_OPTIONS, sourceOf(text));
  if (!index) throw new Error('not indexed');
  return index;
}

/** Reads `next` against the index, checks it against a fresh read, and returns the new index. */
function step(index: JsonRulesIndex, next: string, expectQuick: boolean): JsonRulesIndex {
  const fresh = loadConfigText(next, DEFAULT_OPTIONS);
  const quick = reloadJsonRules(index, sourceOf(next), DEFAULT_OPTIONS);
  if (quick) expect(quick.result).toEqual(fresh);
  expect(quick !== undefined).toBe(expectQuick);
  if (quick) {
    // The new index is what indexing the new text afresh gives.
    const again = indexOf(next);
    expect([...quick.index.starts]).toEqual([...again.starts]);
    expect([...quick.index.ends]).toEqual([...again.ends]);
    expect(quick.index.close).toBe(again.close);
    return quick.index;
  }
  return fresh.ok ? indexOf(next) : index;
}

describe('ruleSpans', () => {
  it('finds each rule of the array, whatever the layout, and nothing in other arrays', () => {
    for (const [, write] of layouts) {
      const rules = rulesOf(3);
      const text = write(documentOf(rules));
      const spans = ruleSpans(text);
      if (!spans) throw new Error('no spans');
      const items = [...spans.starts].map((s, i) => JSON.parse(text.slice(s, spans.ends[i])));
      expect(items).toEqual(rules);
      expect(text[spans.open]).toBe('[');
      expect(text[spans.close]).toBe(']');
    }
    expect(ruleSpans(JSON.stringify({ spec: { addresses: [{ a: 1 }] } }))).toBeUndefined();
    expect(ruleSpans(JSON.stringify({ spec: { redirect: { redirectRules: ['x'] } } }))).toBeUndefined();
    expect(ruleSpans(JSON.stringify({ other: { redirect: { redirectRules: [{}] } } }))).toBeUndefined();
  });
});

for (const source of ['text', 'bytes'] as const)
  describe(`reloadJsonRules, the index holding the ${source}`, () => {
    beforeEach(() => {
      kind = source;
    });

    for (const [layout, write] of layouts) {
      it(`takes the quick path for rule edits and answers as a fresh read does (${layout})`, () => {
        let rules = rulesOf(400);
        let index = indexOf(write(documentOf(rules)));
        const apply = (next: Rule[], quick = true) => {
          rules = next;
          index = step(index, write(documentOf(rules)), quick);
        };
        apply(rules.map((r, i) => (i === 123 ? { ...r, destinationIP: '192.0.2.12' } : r)));
        apply(rules.map((r, i) => (i === 0 ? { ...r, targetPort: 9 } : r)));
        apply(rules.map((r, i) => (i === rules.length - 1 ? { ...r, port: 40_000 } : r)));
        apply([...rules, { destinationIP: '192.0.2.13', port: 50_000, protocol: 'UDP' }]);
        apply([{ destinationIP: '192.0.2.13', port: 50_001, protocol: 'SCTP' }, ...rules]);
        apply(rules.filter((_, i) => i !== 200));
        apply(rules.filter((_, i) => i !== 0));
        apply(rules.filter((_, i) => i !== rules.length - 1));
        apply(rules.map((r, i) => (i === 10 || i === 300 ? { ...r, destinationIP: '192.0.2.14' } : r)));
        // Nothing changed at all.
        apply(rules);
        // Every rule removed, then two back.
        apply([]);
        apply(rulesOf(2));
      });

      it(`leaves everything else to a fresh read (${layout})`, () => {
        const rules = rulesOf(50);
        const index = indexOf(write(documentOf(rules)));
        // A change outside the rules.
        step(index, write(documentOf(rules, '192.0.2.99')), false);
        // A rule that is not plainly valid: a fresh read words the problem.
        step(index, write(documentOf(rules.map((r, i) => (i === 5 ? { ...r, port: 0 } : r)))), false);
        step(index, write(documentOf(rules.map((r, i) => (i === 5 ? { ...r, extra: 1 } : r)))), false);
        // Valid rules that together are not: a duplicate.
        step(index, write(documentOf(rules.map((r, i) => (i === 7 ? { ...r, port: 20_000 } : r)))), false);
        // Broken JSON.
        const text = write(documentOf(rules));
        step(
          index,
          text.replace('"port": 20010', '"port": 20010,').replace('"port":20010', '"port":20010,'),
          false,
        );
      });
    }

    it('refuses a key given twice inside a changed rule, as a fresh read does', () => {
      const rules = rulesOf(20);
      const text = JSON.stringify(documentOf(rules));
      const index = indexOf(text);
      const twice = text.replace('"port":20003', '"port":20003,"port":20004');
      expect(reloadJsonRules(index, sourceOf(twice), DEFAULT_OPTIONS)).toBeUndefined();
      expect(loadConfigText(twice, DEFAULT_OPTIONS).ok).toBe(false);
    });

    it('stays right over many random edits in a row', () => {
      let seed = 7;
      const random = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      let rules = rulesOf(300);
      let index = indexOf(JSON.stringify(documentOf(rules), null, 1));
      for (let k = 0; k < 60; k++) {
        const at = random(rules.length);
        const kind = random(4);
        if (kind === 0)
          rules = rules.map((r, i) => (i === at ? { ...r, destinationIP: `192.0.2.${20 + random(50)}` } : r));
        else if (kind === 1) rules = rules.filter((_, i) => i !== at);
        else if (kind === 2) {
          const port = 30_000 + k;
          rules = [
            ...rules.slice(0, at),
            { destinationIP: '192.0.2.15', port, protocol: 'UDP' },
            ...rules.slice(at),
          ];
        } else rules = rules.map((r, i) => (i === at ? { ...r, targetPort: 1 + random(65_535) } : r));
        index = step(index, JSON.stringify(documentOf(rules), null, 1), true);
      }
    });
  });

describe('reloadJsonRules on bytes', () => {
  beforeEach(() => {
    kind = 'bytes';
  });

  it('leaves a change that is not ASCII to a fresh read (its offsets would not be characters)', () => {
    const rules = rulesOf(30);
    const text = JSON.stringify(documentOf(rules));
    const index = indexOf(text);
    const next = Buffer.from(text.replace('"192.0.2.10"', '"192.0.2.10\u00e9"'), 'utf8');
    expect(reloadJsonRules(index, next, DEFAULT_OPTIONS)).toBeUndefined();
    // An ASCII edit of the same rule is read quickly.
    expect(
      reloadJsonRules(index, sourceOf(text.replace('"192.0.2.10"', '"192.0.2.19"')), DEFAULT_OPTIONS),
    ).toBeDefined();
  });

  it('is not indexed from bytes that are not ASCII, and never mixes text with bytes', () => {
    const text = JSON.stringify(documentOf(rulesOf(5)));
    const drafted = parseConfigText(text);
    const result = finishDraft(drafted, DEFAULT_OPTIONS);
    if (!result.ok || !drafted.draft) throw new Error('invalid');
    const utf8 = Buffer.from(`${text.slice(0, -1)},"x":"\u00e9"}`, 'utf8');
    expect(indexJsonRules(text, drafted.draft, result.config, DEFAULT_OPTIONS, utf8)).toBeUndefined();
    const index = indexOf(text);
    expect(reloadJsonRules(index, text.replace('192.0.2.10', '192.0.2.19'), DEFAULT_OPTIONS)).toBeUndefined();
  });
});
