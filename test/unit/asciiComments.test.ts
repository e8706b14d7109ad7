import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script, without type declarations
import { asciiComments } from '../../scripts/asciiComments.mjs';

const ascii = asciiComments as (text: string, name: string) => string;

describe('asciiComments (the bundle step that keeps chunk sources one byte per character)', () => {
  it('escapes non-ASCII characters in line comments and in block comments over several lines', () => {
    const text = [
      'const a = 1;',
      '  // nothing is a multiple of zero — so it fails',
      '/**',
      ' * Address → the MACs',
      ' */',
      '  /** one line → */',
      'const b = 2;',
    ].join('\n');
    expect(ascii(text, 'chunk.js')).toBe(
      [
        'const a = 1;',
        '  // nothing is a multiple of zero \\u{2014} so it fails',
        '/**',
        ' * Address \\u{2192} the MACs',
        ' */',
        '  /** one line \\u{2192} */',
        'const b = 2;',
      ].join('\n'),
    );
  });

  it('leaves ASCII text as it is', () => {
    const text = 'const x = "http://example"; // plain\n';
    expect(ascii(text, 'chunk.js')).toBe(text);
  });

  it('refuses what is not certainly a comment rather than change what code means', () => {
    // A regular expression after a `//` inside a string: escaping it would change the pattern.
    expect(() => ascii('if (s.startsWith("http://") && /—/.test(s)) f();', 'chunk-A.js')).toThrow(
      /^chunk-A\.js:1: a non-ASCII character outside a comment: /,
    );
    // A generator method's line starts with `*`, not a comment.
    expect(() => ascii('class C {\n  *items() { yield "é"; }\n}', 'chunk-B.js')).toThrow(/^chunk-B\.js:2: /);
    // A block comment after code on the line, and code after a block comment's end.
    expect(() => ascii('f(); /* — */', 'c.js')).toThrow(/^c\.js:1: /);
    expect(() => ascii('/* ok */ const s = /é/;', 'c.js')).toThrow(/^c\.js:1: /);
    expect(() => ascii('/*\n  still comment\n*/ g(/é/);', 'c.js')).toThrow(/^c\.js:3: /);
  });
});
