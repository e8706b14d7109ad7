import { describe, expect, it } from 'vitest';
import { leanRunArgv, RUN_NODE_FLAGS } from '../../../src/cli/leanTiers.js';

const NODE = '/usr/bin/node';

describe('leanRunArgv', () => {
  it('keeps Node flags and the script with its arguments, and adds the lean tiers', () => {
    expect(RUN_NODE_FLAGS).toEqual(['--max-opt=1']);
    expect(
      leanRunArgv({
        execPath: NODE,
        execArgv: ['--max-semi-space-size=1', '--cpu-prof'],
        script: ['/opt/agent/dist/cli.js', 'run', '/etc/egress-router/config.yaml', '--log-level', 'debug'],
      }),
    ).toEqual([
      NODE,
      '--max-semi-space-size=1',
      '--cpu-prof',
      '--max-opt=1',
      '/opt/agent/dist/cli.js',
      'run',
      '/etc/egress-router/config.yaml',
      '--log-level',
      'debug',
    ]);
  });

  it('does nothing once the process runs with them: one re-execution, never a loop', () => {
    const first = leanRunArgv({ execPath: NODE, execArgv: [], script: ['cli.js', 'run', 'c.yaml'] });
    expect(first).toBeDefined();
    const [, ...rest] = first ?? [];
    const scriptAt = rest.indexOf('cli.js');
    expect(
      leanRunArgv({ execPath: NODE, execArgv: rest.slice(0, scriptAt), script: rest.slice(scriptAt) }),
    ).toBe(undefined);
  });

  it("leaves an operator's own --max-opt as it is", () => {
    for (const flag of ['--max-opt=3', '--max-opt=0']) {
      expect(leanRunArgv({ execPath: NODE, execArgv: [flag], script: ['cli.js', 'run', 'c.yaml'] })).toBe(
        undefined,
      );
    }
    expect(leanRunArgv({ execPath: NODE, execArgv: ['--max-opt', '2'], script: ['cli.js', 'run'] })).toBe(
      undefined,
    );
  });

  it('does nothing without a script to run again (node -e, the REPL)', () => {
    expect(leanRunArgv({ execPath: NODE, execArgv: [], script: [] })).toBe(undefined);
  });
});
