// The fake's runners keep the real runner's contract (src/system/command.ts), its faults behave
// as documented, the command log is what a test counts, and the whole fake runs under vitest's
// fake timers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, CommandError } from '../../../src/system/command.js';
import { createFakeKernel } from '../../fake/index.js';

afterEach(() => {
  vi.useRealTimers();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the command succeeded'),
    (error: unknown) => error,
  );
}

describe('fake runner contract', () => {
  it('resolves with stdout on exit 0 and rejects with the program’s own words otherwise', async () => {
    const pod = createFakeKernel().system().pod;
    expect(JSON.parse(await pod.run(['ip', '-json', 'link', 'show', 'dev', 'lo']))).toMatchObject([
      { ifname: 'lo' },
    ]);
    const error = await rejection(pod.run(['ip', 'link', 'set', 'dev', 'nosuch', 'up']));
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({
      argv: ['ip', 'link', 'set', 'dev', 'nosuch', 'up'],
      exitCode: 1,
      stderr: 'Cannot find device "nosuch"\n',
    });
  });

  it('reports a program that does not exist the way a failed spawn is reported', async () => {
    const error = await rejection(createFakeKernel().system().pod.run(['keepalived', '--version']));
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ exitCode: undefined, stderr: 'spawn keepalived ENOENT' });
  });

  it('runs another namespace’s commands through nsenter, as the real namespace runner does', async () => {
    const fake = createFakeKernel({ namespaces: ['/run/netns/node'] });
    const node = fake.system().namespace('/run/netns/node');
    expect(node.where).toBe('the namespace /run/netns/node');
    await node.run(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    expect(fake.dump('/run/netns/node')).toContain('link br0 bridge down mtu 1500');
    expect(fake.dump()).not.toContain('br0');
    expect(fake.commands().map((c) => c.argv)).toEqual([
      ['nsenter', '--net=/run/netns/node', '--', 'ip', 'link', 'add', 'br0', 'type', 'bridge'],
    ]);
    const missing = await rejection(fake.system().namespace('/run/netns/gone').run(['ip', 'link', 'show']));
    expect(missing).toMatchObject({
      exitCode: 1,
      stderr: 'nsenter: cannot open /run/netns/gone: No such file or directory\n',
    });
  });

  it('logs every command with its stdin, its nft batch file and a pid; someone else’s commands are not logged', async () => {
    const fake = createFakeKernel();
    const pod = fake.system().pod;
    const dir = await mkdtemp(join(tmpdir(), 'fake-runner-'));
    try {
      const file = join(dir, 'batch.json');
      const batch = JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 't' } } }] });
      await writeFile(file, batch);
      await pod.run(['nft', '-j', '-f', file]);
      await pod.run(['ip', '-batch', '-'], { input: 'link set dev lo mtu 65000\n' });
      await fake.sh(['ip', 'link', 'set', 'dev', 'lo', 'mtu', '65536']);
      const log = fake.commands();
      expect(log.map((c) => ({ argv: c.argv, input: c.input, file: c.file, exitCode: c.exitCode }))).toEqual([
        { argv: ['nft', '-j', '-f', file], input: undefined, file: batch, exitCode: 0 },
        { argv: ['ip', '-batch', '-'], input: 'link set dev lo mtu 65000\n', file: undefined, exitCode: 0 },
      ]);
      expect(log[1]?.pid).toBeGreaterThan(log[0]?.pid ?? Number.POSITIVE_INFINITY);
      fake.clearCommands();
      expect(fake.commands()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fake faults', () => {
  it('failNext fails the next matching command without running it, then lets the next one through', async () => {
    const fake = createFakeKernel();
    const pod = fake.system().pod;
    fake.failNext('link set dev lo down', {
      exitCode: 2,
      stderr: 'RTNETLINK answers: Operation not permitted\n',
    });
    const error = await rejection(pod.run(['ip', 'link', 'set', 'dev', 'lo', 'down']));
    expect(error).toMatchObject({ exitCode: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' });
    expect(fake.dump()).toContain('link lo loopback up');
    await pod.run(['ip', 'link', 'set', 'dev', 'lo', 'down']);
    expect(fake.dump()).toContain('link lo loopback down');
  });

  it('matches batch lines on stdin and honours a count', async () => {
    const fake = createFakeKernel();
    const pod = fake.system().pod;
    fake.failNext(/route replace/, { times: 2, stderr: 'Error: boom\n' });
    for (let i = 0; i < 2; i++) {
      await expect(
        pod.run(['ip', '-batch', '-'], { input: 'route replace blackhole 203.0.113.0/24\n' }),
      ).rejects.toThrow('boom');
    }
    await pod.run(['ip', '-batch', '-'], { input: 'route replace blackhole 203.0.113.0/24\n' });
    expect(fake.dump()).toContain('route blackhole 203.0.113.0/24');
  });

  it('hang: the call ends at its deadline as the real runner reports a kill', async () => {
    vi.useFakeTimers();
    const fake = createFakeKernel();
    fake.hang('nft');
    const pending = rejection(fake.system().pod.run(['nft', 'list', 'tables'], { timeoutMs: 5000 }));
    await vi.advanceTimersByTimeAsync(4999);
    expect(fake.commands()[0]?.exitCode).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    const error = await pending;
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ exitCode: -1, stderr: 'timed out after 5000 ms (killed)' });
    expect(fake.commands()[0]?.exitCode).toBe(-1);
  });

  it('hang: aborting the signal rejects with AbortedError; an aborted signal never starts a command', async () => {
    const fake = createFakeKernel();
    const pod = fake.system().pod;
    fake.hang('ip', { times: Number.POSITIVE_INFINITY });
    const controller = new AbortController();
    const pending = rejection(pod.run(['ip', 'monitor'], { signal: controller.signal }));
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as Error).message).toBe('ip monitor: stopped');
    const early = await rejection(pod.run(['ip', 'link', 'show'], { signal: controller.signal }));
    expect(early).toBeInstanceOf(AbortedError);
    expect((early as Error).message).toBe('ip: not started, stopping');
    expect(fake.commands()).toHaveLength(1);
  });
});

describe('fake clock', () => {
  it('sleep and now follow vitest’s fake timers, and sleep stops on abort', async () => {
    vi.useFakeTimers();
    const system = createFakeKernel().system();
    const start = system.now();
    let woke = false;
    const sleeping = system.sleep(1000).then(() => {
      woke = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(system.now() - start).toBe(1000);
    const controller = new AbortController();
    const aborted = system.sleep(60_000, controller.signal).then(
      () => 'slept',
      (error: Error) => error.name,
    );
    controller.abort();
    expect(await aborted).toBe('AbortError');
  });

  it('DAD runs on the same timers: tentative for a second, then ready', async () => {
    vi.useFakeTimers();
    const fake = createFakeKernel();
    await fake.sh(['ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    await fake.sh(['ip', 'link', 'set', 'v1', 'up']);
    await fake.sh(['ip', 'link', 'set', 'v0', 'up']);
    await fake.sh(['ip', '-6', 'address', 'add', '2001:db8::7/64', 'dev', 'v0']);
    expect(fake.dump()).toContain('address v0 2001:db8::7/64 tentative');
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.dump()).toContain('address v0 2001:db8::7/64\n');
  });
});

describe('fake monitors', () => {
  it('streams a line per change, whoever made it, until stopped', async () => {
    const fake = createFakeKernel();
    const lines: string[] = [];
    const stream = fake.system().streamLines(
      ['ip', '-o', 'monitor', 'link', 'address', 'route', 'rule'],
      (l) => lines.push(l),
      () => {
        lines.push('exited');
      },
    );
    await fake.sh([
      'ip',
      'rule',
      'add',
      'fwmark',
      '0x4552',
      'lookup',
      '17746',
      'priority',
      '17746',
      'protocol',
      '77',
    ]);
    await fake.sh(['ip', 'link', 'set', 'dev', 'lo', 'mtu', '1500']);
    await Promise.resolve();
    expect(lines).toEqual([
      '17746:\tfrom all fwmark 0x4552 lookup 17746 proto 77',
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN group default \\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
    ]);
    stream.stop();
    await fake.sh(['ip', 'link', 'set', 'dev', 'lo', 'mtu', '65536']);
    await Promise.resolve();
    expect(lines).toHaveLength(2);
    expect(fake.commands().map((c) => c.kind)).toEqual(['stream']);
  });

  it('listens only to the objects asked for, in the namespace nsenter names', async () => {
    const fake = createFakeKernel({ namespaces: ['/run/netns/node'] });
    const lines: string[] = [];
    fake.system().streamLines(
      ['nsenter', '--net=/run/netns/node', '--', 'ip', '-o', 'monitor', 'rule'],
      (l) => lines.push(l),
      () => undefined,
    );
    await fake.sh(['ip', 'rule', 'add', 'priority', '5', 'nop']);
    await fake.sh(['ip', 'rule', 'add', 'priority', '6', 'nop'], { namespace: '/run/netns/node' });
    await fake.sh(['ip', 'link', 'set', 'dev', 'lo', 'mtu', '1500'], { namespace: '/run/netns/node' });
    await Promise.resolve();
    expect(lines).toEqual(['6:\tfrom all nop']);
  });

  it('ends a stream on request, and one whose program does not exist at once', async () => {
    const fake = createFakeKernel();
    const exits: string[] = [];
    fake.system().streamLines(
      ['nft', 'monitor'],
      () => undefined,
      (why) => exits.push(why),
    );
    fake.system().streamLines(
      ['keepalived', '-n'],
      () => undefined,
      (why) => exits.push(why),
    );
    expect(fake.endStreams('nft')).toBe(1);
    await Promise.resolve();
    expect(exits).toEqual(['keepalived -n failed: spawn keepalived ENOENT', 'nft monitor exited (1)']);
  });
});

describe('fake processes the agent did not wait for, and whose they are', () => {
  it('background runs a program, logs it, and reports a bad exit through onError', async () => {
    const fake = createFakeKernel({ timing: 'instant' });
    const problems: string[] = [];
    const system = fake.system();
    system.background(['na6', '-i', 'lo', '-t', '::1'], (m) => problems.push(m));
    system.background(
      ['arping', '-U', '-c', '1', '-I', 'nosuch', '-s', '192.0.2.1', '192.0.2.1'],
      (m) => problems.push(m),
      [0, 1],
    );
    system.background(['keepalived'], (m) => problems.push(m));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // In whatever order they end, as with real children.
    expect([...problems].sort()).toEqual([
      'arping -U -c 1 -I nosuch -s 192.0.2.1 192.0.2.1: arping: Device nosuch not available.',
      'keepalived: spawn keepalived ENOENT',
    ]);
    expect(fake.commands().map((c) => c.kind)).toEqual(['background', 'background', 'background']);
  });

  it('isOwnProcess tells the agent’s nft from someone else’s, by the pid nft monitor prints', async () => {
    const fake = createFakeKernel();
    const system = fake.system();
    const generations: number[] = [];
    system.streamLines(
      ['nft', 'monitor'],
      (line) => {
        const pid = /by process (\d+)/.exec(line)?.[1];
        if (pid) generations.push(Number(pid));
      },
      () => undefined,
    );
    const dir = await mkdtemp(join(tmpdir(), 'fake-owner-'));
    try {
      const file = join(dir, 'batch.json');
      await writeFile(
        file,
        JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 'mine' } } }] }),
      );
      await system.pod.run(['nft', '-j', '-f', file]);
      await fake.nft([{ add: { table: { family: 'inet', name: 'theirs' } } }]);
      await Promise.resolve();
      expect(generations.map((pid) => system.isOwnProcess(pid))).toEqual([true, false]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
