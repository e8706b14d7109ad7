/**
 * The built-in demo, end to end, as a newcomer runs it: it must show every request reaching
 * its destination from the egress address, and leave nothing behind. A unique --prefix keeps
 * it apart from a demo a person may have left running.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltAgent } from './kit/build.js';

const prefix = `ed${randomBytes(2).toString('hex')}-`;
const cli = ['dist/cli.js', 'demo', '--prefix', prefix];

async function ourNamespaces(): Promise<string[]> {
  const { stdout } = await execa('ip', ['-json', 'netns', 'list']);
  return ((stdout.trim() ? JSON.parse(stdout) : []) as { name: string }[])
    .map((n) => n.name)
    .filter((n) => n.startsWith(prefix));
}

beforeAll(() => {
  requireBuiltAgent();
});

afterAll(async () => {
  await execa(process.execPath, [...cli, '--teardown'], { reject: false });
  expect(await ourNamespaces()).toEqual([]);
});

describe('demo', () => {
  it('shows TCP, UDP, off-link and fallback requests arriving from the egress address, then tears down', async () => {
    const result = await execa(process.execPath, cli, { reject: false, timeout: 90_000 });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const out = result.stdout;
    for (const [server, proto, port] of [
      ['dst1', 'TCP', 80],
      ['dst2', 'TCP', 80],
      ['dst1', 'UDP', 53],
      ['far', 'TCP', 443],
      ['dst2', 'TCP', 7000],
    ] as const) {
      expect(out).toContain(`${server} saw: ${proto} on port ${port} from 192.0.2.100: the egress address`);
    }
    expect(out).toMatch(/Available\s+True\s+Applied/);
    expect(out).toContain('fallback: everything else -> 192.0.2.20');
    expect(out).not.toContain('undefined');
    expect(out).toMatch(/egress_router_redirect_connections_total\{protocol="tcp",port="80",[^}]*\} 1/);
    expect(out).toContain('all five requests went where the rules say');
    expect(await ourNamespaces()).toEqual([]);
  }, 120_000);

  it('--keep leaves a working router that --teardown removes', async () => {
    const kept = await execa(process.execPath, [...cli, '--keep'], { reject: false, timeout: 90_000 });
    expect(kept.exitCode).toBe(0);
    expect(kept.stdout).toContain('left running (--keep)');
    expect((await ourNamespaces()).length).toBe(8);
    const status = await execa(
      'ip',
      [
        'netns',
        'exec',
        `${prefix}pod`,
        process.execPath,
        'dist/cli.js',
        'status',
        '--health-addr',
        '127.0.0.1:9099',
      ],
      { reject: false },
    );
    expect(status.exitCode).toBe(0);
    const removed = await execa(process.execPath, [...cli, '--teardown'], { reject: false });
    expect(removed.exitCode).toBe(0);
    expect(removed.stdout).toContain(`removed 8 demo namespaces (${prefix}*)`);
    expect(await ourNamespaces()).toEqual([]);
  }, 120_000);
});
