import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { leanRunArgv, RUN_NODE_FLAGS } from '../../../src/cli/leanTiers.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const module = join(repo, 'src/cli/leanTiers.ts');
const scratch = mkdtempSync(join(tmpdir(), 'ert-lean-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a script (with tsx, as the repository's sources need) that calls reexecLean; its stdout. */
function runScript(name: string, body: string): string {
  const file = join(scratch, name);
  writeFileSync(file, `import { reexecLean } from ${JSON.stringify(module)};\n${body}\n`);
  return execFileSync(process.execPath, ['--import', 'tsx', file, 'run', 'config.yaml'], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, LEAN_FIRST_PID: '' },
  });
}

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
    for (const flag of ['--max-opt=3', '--max-opt=0', '--max_opt=3']) {
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

describe('reexecLean, for real', () => {
  it('replaces the process in place: same pid, same arguments and environment, the lean tiers added', () => {
    const out = runScript(
      'inPlace.mts',
      [
        'if (process.env.LEAN_FIRST_PID === "") process.env.LEAN_FIRST_PID = String(process.pid);',
        'reexecLean((text) => process.stdout.write("warned: " + text));',
        'console.log(JSON.stringify({ first: process.env.LEAN_FIRST_PID, pid: String(process.pid), execArgv: process.execArgv, args: process.argv.slice(2) }));',
      ].join('\n'),
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const seen = JSON.parse(lines[0] ?? '{}') as {
      first: string;
      pid: string;
      execArgv: string[];
      args: string[];
    };
    expect(seen.pid).toBe(seen.first);
    expect(seen.execArgv).toEqual(['--import', 'tsx', '--max-opt=1']);
    expect(seen.args).toEqual(['run', 'config.yaml']);
  });

  it('when the node executable cannot be executed again, says so and runs on (the exec is not tried)', () => {
    // A failed execve system call makes Node abort the process, so this is checked before it.
    const out = runScript(
      'gone.mts',
      [
        'process.execPath = "/nonexistent/node";',
        'reexecLean((text) => process.stdout.write("warned: " + text));',
        'console.log("continued with " + JSON.stringify(process.execArgv));',
      ].join('\n'),
    );
    expect(out).toMatch(
      /^warned: egress-router-agent: could not re-execute without the optimising compilers \(ENOENT[^\n]*\/nonexistent\/node'?\); running with them\ncontinued with \["--import","tsx"\]\n$/,
    );
  });

  it('when Node refuses the exec before the system call, says so and runs on', () => {
    const out = runScript(
      'refused.mts',
      [
        'process.execve = () => { throw new Error("ERR_ACCESS_DENIED: the permission model forbids it"); };',
        'reexecLean((text) => process.stdout.write("warned: " + text));',
        'console.log("continued with " + JSON.stringify(process.execArgv));',
      ].join('\n'),
    );
    expect(out).toBe(
      'warned: egress-router-agent: could not re-execute without the optimising compilers (ERR_ACCESS_DENIED: the permission model forbids it); running with them\n' +
        'continued with ["--import","tsx"]\n',
    );
  });
});
