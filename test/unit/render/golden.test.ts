// The bundled examples rendered through the CLI must match rules/golden/ byte for byte.
// After an intended change to the renderer: `npx tsx test/update-golden.ts`, then review the diff.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenCases, goldenPath } from '../../helpers/golden.js';
import { runCli } from '../../helpers/runCli.js';

const cases = goldenCases();

describe('render matches rules/golden/', () => {
  it('covers every bundled example', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(
      ['cni', 'egressrouter', 'egressrouter-dualstack', 'legacy', 'nad'].sort(),
    );
  });

  describe.each(cases)('$name', (c) => {
    it.each(['nft', 'json'] as const)('%s', async (format) => {
      const output = format === 'nft' ? 'text' : 'json';
      const result = await runCli(['render', ...c.args, '-o', output], c.env ? { env: c.env } : {});
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const expected = readFileSync(goldenPath(c.name, format));
      const actual = Buffer.from(result.stdout, 'utf8');
      // Byte for byte; on a mismatch, compare as text for a readable diff.
      if (!actual.equals(expected)) expect(result.stdout).toBe(expected.toString('utf8'));
      expect(actual.equals(expected)).toBe(true);
    });
  });

  it('the default format is nft', async () => {
    const result = await runCli(['render', 'examples/egressrouter.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(goldenPath('egressrouter', 'nft'), 'utf8'));
  });
});
