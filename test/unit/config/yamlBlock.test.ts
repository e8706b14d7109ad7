/**
 * The plain-block reader must never disagree with the general YAML reader: on every text it
 * answers, both give the same values, and it never answers a text the general reader refuses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { dump } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { decodeBlockYaml } from '../../../src/config/yamlBlock.js';
import { decodeYaml } from '../../../src/config/yamlDecode.js';

function general(text: string): unknown {
  const decoded = decodeYaml(text);
  return decoded.ok ? decoded.documents.filter((d) => d !== null && d !== undefined) : decoded.issue;
}

/** Checks the contract on one text; true when the block reader answered. */
function agrees(text: string): boolean {
  const block = decodeBlockYaml(text);
  if (block === undefined) return false;
  expect(block.ok ? block.documents : block.issue, text).toEqual(general(text));
  return true;
}

const key = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.-]{0,8}$/) },
  fc.constantFrom(
    'spec',
    'port',
    'destinationIP',
    'yes',
    'on',
    '1',
    '0x1',
    'a.b/c',
    'a-b',
    '__proto__',
    '<<',
  ),
  fc.stringMatching(/^[a-zA-Z0-9_ :#'"-]{1,8}$/),
);
const leaf = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9 ./:_-]{0,10}$/) },
  fc.constantFrom(
    'yes',
    'No',
    '~',
    'null',
    '',
    '1:20',
    '0120',
    '0x50',
    '1_000',
    '.inf',
    '.nan',
    '-1',
    '+1',
    '80.0',
    '1e3',
  ),
  fc.constantFrom(
    "it's",
    'say "hi"',
    'a: b',
    'a #b',
    'a#b',
    '- x',
    '[x]',
    '{x}',
    '&a',
    '*a',
    '!t',
    '%x',
    '@x',
    '`x',
  ),
  fc.constantFrom('tab\there', 'new\nline', 'back\\slash', 'uni\u00e9', 'ctl\u0001', 'nel\u0085', 'ls\u2028'),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('list'), tie('map')),
  list: fc.array(tie('node'), { maxLength: 4 }),
  map: fc.dictionary(key, tie('node'), { maxKeys: 4 }),
})).node;

const dumpOptions = fc.record({
  indent: fc.constantFrom(1, 2, 4),
  seqNoIndent: fc.boolean(),
  quoteStyle: fc.constantFrom('single' as const, 'double' as const),
  forceQuotes: fc.boolean(),
  seqInlineFirst: fc.boolean(),
  flowLevel: fc.constantFrom(-1, -1, 1, 2, 3),
  flowBracketPadding: fc.boolean(),
});

describe('the plain-block reader', () => {
  it('answers for the shipped configs, as the general reader does', () => {
    const files = [
      ...readdirSync('examples')
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `examples/${f}`),
      // The router config deploy/ ships (the other files there are manifests' output, not configs).
      'deploy/egressrouter.yaml',
    ];
    const answered = files.filter((file) => agrees(readFileSync(file, 'utf8')));
    // Every shipped file is in the style it reads (flow collections on one line, literal blocks).
    expect(answered).toEqual(files);
  });

  it('reads what js-yaml writes in block style exactly as the general reader does', () => {
    let answered = 0;
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), dumpOptions, (v, options) => {
        let text: string;
        try {
          text = dump(v, { ...options, lineWidth: -1 });
        } catch {
          return;
        }
        if (agrees(text)) answered += 1;
      }),
      { numRuns: Number(process.env.YAML_BLOCK_RUNS ?? 1500) },
    );
    // Many generated strings need quotes with escapes (the general reader's); the comparison must
    // still not pass by never answering.
    expect(answered).toBeGreaterThan(250);
  });

  it('never answers a text the general reader refuses, and agrees on the rest (line soup)', () => {
    const line = fc.tuple(
      fc.constantFrom('', ' ', '  ', '    ', '      '),
      fc.constantFrom('', '- ', '-', '- - '),
      fc.constantFrom('', 'a:', 'b: ', 'a: ', 'c:  ', '"q": ', 'x y:', '<<: '),
      fc.constantFrom(
        '',
        '1',
        'x',
        "'s'",
        "'it''s'",
        '"d"',
        '"e\\n"',
        '"x\\q"',
        '[]',
        '{}',
        '[1]',
        '# c',
        'v # c',
        'a: b',
        '1:20',
        '&a x',
        '*a',
        '{a: 1}',
        '{ a: 1, b: [x, "y"] }',
        '[x, y]',
        '[a: b]',
        '[1,]',
        '[1, , 2]',
        "{'q': 1}",
        '{a: 1, a: 2}',
        '[x] # c',
        '|',
        '|-',
        '|+',
        '|2',
        '>',
      ),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.boolean(), (lines, crlf) => {
        const text = lines.map((parts) => parts.join('')).join(crlf ? '\r\n' : '\n');
        const block = decodeBlockYaml(text);
        if (block === undefined) return;
        // Same values, or the same problem at the same path and line.
        expect(block.ok ? block.documents : block.issue, JSON.stringify(text)).toEqual(general(text));
      }),
      { numRuns: Number(process.env.YAML_BLOCK_RUNS ?? 4000) },
    );
  });

  it('leaves odd indentation and several documents to the general reader', () => {
    for (const text of ['a:\n  b: 1\n c: 2\n', 'a: 1\n  b: 2\n', '- a\nb: 1\n', 'a: b\n---\nc: d\n']) {
      expect(decodeBlockYaml(text), text).toBeUndefined();
    }
  });

  it('words a duplicate key as the general reader does, with the path and line', () => {
    const text = 'a:\n  list:\n  - x: 1\n    y: 2\n    x: 3\n';
    const issue = { path: 'a.list[0].x', message: 'is given twice in the same mapping (line 5); keep one' };
    expect(decodeBlockYaml(text)).toEqual({ ok: false, issue });
    expect(general(text)).toEqual(issue);
  });
});
