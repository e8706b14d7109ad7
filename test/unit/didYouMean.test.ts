import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../../src/cli/didYouMean.js';

describe('editDistance (optimal string alignment)', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['validate', 'validate', 0],
    ['vaildate', 'validate', 1], // adjacent swap
    ['valdate', 'validate', 1], // deletion
    ['validatee', 'validate', 1], // insertion
    ['valitate', 'validate', 1], // substitution
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3], // OSA, not full Damerau (which gives 2)
  ])('%j → %j is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it('is a metric-like measure: zero only for equal strings, symmetric, at most the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe('closest', () => {
  const commands = ['validate', 'render', 'apply', 'cleanup', 'run', 'demo', 'status', 'completion'];

  it('allows one edit up to four characters, two beyond', () => {
    expect(closest('rn', commands)).toBe('run');
    expect(closest('dmeo', commands)).toBe('demo');
    expect(closest('dxmx', commands)).toBeUndefined();
    expect(closest('rendrr', commands)).toBe('render');
    expect(closest('clnup', commands)).toBe('cleanup');
    expect(closest('rndrx', commands)).toBeUndefined();
  });

  it('takes a unique prefix of three or more characters', () => {
    expect(closest('stat', commands)).toBe('status');
    expect(closest('comp', commands)).toBe('completion');
    expect(closest('re', commands)).toBeUndefined();
  });

  it('ignores case, prefers the nearest, and keeps the candidate spelling', () => {
    expect(closest('VALIDATE', commands)).toBe('validate');
    expect(closest('--outpt', ['--interface', '--output', '--outputs'])).toBe('--output');
  });

  it('suggests nothing for an empty word or far-off words', () => {
    expect(closest('', commands)).toBeUndefined();
    expect(closest('kubectl', commands)).toBeUndefined();
    expect(didYouMean('kubectl', commands)).toBe('');
    expect(didYouMean('statsu', commands)).toBe(' (did you mean status?)');
  });
});
