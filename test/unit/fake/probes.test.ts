// The fake's LAN (pings, ARP, DAD), conntrack, announcements, sysctls and namespace identity.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { sysctl } from '../../../src/link/sysctl.js';
import type { System } from '../../../src/system/system.js';
import { createFakeKernel, egressRouterTopology, FAKE_TOPOLOGY, type FakeKernel } from '../../fake/index.js';

let fake: FakeKernel;
let system: System;

beforeEach(async () => {
  fake = createFakeKernel({ timing: 'instant' });
  await egressRouterTopology(fake);
  system = fake.system();
  const node = system.namespace(FAKE_TOPOLOGY.node);
  await node.run(['ip', 'link', 'add', 'ert1', 'link', 'eth1', 'type', 'macvlan', 'mode', 'bridge']);
  await node.run(['ip', 'link', 'set', 'dev', 'ert1', 'netns', String(process.pid)]);
  await system.pod.run(['ip', 'link', 'set', 'dev', 'ert1', 'name', 'net1']);
  await system.pod.run(['ip', 'link', 'set', 'dev', 'net1', 'up']);
  await system.pod.run(['ip', 'address', 'add', '192.0.2.100/24', 'dev', 'net1']);
});

const outcome = (promise: Promise<string>) =>
  promise.then(
    (stdout) => ({ exitCode: 0, stdout }),
    (error: { exitCode?: number; stderr?: string }) => ({ exitCode: error.exitCode, stdout: error.stderr }),
  );

describe('fake LAN', () => {
  it('arping -D sees a LAN host that holds the address, and silence otherwise', async () => {
    fake.lan.claim('192.0.2.150');
    const taken = await outcome(
      system.pod.run(['arping', '-D', '-c', '2', '-w', '3', '-I', 'net1', '192.0.2.150']),
    );
    expect(taken.exitCode).toBe(1);
    const free = await outcome(
      system.pod.run(['arping', '-D', '-c', '2', '-w', '3', '-I', 'net1', '192.0.2.151']),
    );
    expect(free).toEqual({
      exitCode: 0,
      stdout:
        'ARPING 192.0.2.151 from 0.0.0.0 net1\nSent 2 probes (2 broadcast(s))\nReceived 0 response(s)\n',
    });
  });

  it('records gratuitous ARP and unsolicited NA instead of sending them', async () => {
    await system.pod.run(['arping', '-U', '-c', '1', '-I', 'net1', '-s', '192.0.2.100', '192.0.2.100']);
    await system.pod.run(['na6', '-i', 'net1', '-t', '2001:db8:100::100', '-o']);
    expect(fake.announcements()).toEqual([
      {
        namespace: 'pod',
        argv: ['arping', '-U', '-c', '1', '-I', 'net1', '-s', '192.0.2.100', '192.0.2.100'],
      },
      { namespace: 'pod', argv: ['na6', '-i', 'net1', '-t', '2001:db8:100::100', '-o'] },
    ]);
  });

  it('pings a gateway while it answers and leaves the neighbour entry the kernel would', async () => {
    const ping = ['ping', '-4', '-c', '1', '-W', '1', '-I', 'net1', '192.0.2.1'];
    const neigh = ['ip', '-json', 'neigh', 'show', '192.0.2.1', 'dev', 'net1'];
    expect((await outcome(system.pod.run(ping))).exitCode).toBe(0);
    expect(JSON.parse(await system.pod.run(neigh))).toEqual([
      {
        dst: '192.0.2.1',
        lladdr: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
        state: ['REACHABLE'],
      },
    ]);
    fake.lan.gateway('192.0.2.1', 'down');
    expect((await outcome(system.pod.run(ping))).exitCode).toBe(1);
    expect(JSON.parse(await system.pod.run(neigh))).toMatchObject([{ dst: '192.0.2.1', state: ['FAILED'] }]);
    expect(
      await outcome(system.pod.run(['ping', '-4', '-c', '1', '-W', '1', '-I', 'net9', '192.0.2.1'])),
    ).toEqual({
      exitCode: 2,
      stdout: 'ping: SO_BINDTODEVICE net9: No such device\n',
    });
  });

  it('a silent probe takes as long as the real tool waits, on the fake’s clock', async () => {
    vi.useFakeTimers();
    try {
      const slow = createFakeKernel({ timing: 'real' });
      await egressRouterTopology(slow);
      const pod = slow.system().pod;
      let exitCode: number | undefined;
      const silent = pod
        .run(['ping', '-4', '-c', '1', '-W', '2', '-I', 'eth0', '198.18.0.77'])
        .catch((error: { exitCode: number }) => {
          exitCode = error.exitCode;
        });
      await vi.advanceTimersByTimeAsync(1999);
      expect(exitCode).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await silent;
      expect(exitCode).toBe(1);
      const killed = pod.run(['ping', '-4', '-c', '1', '-W', '2', '-I', 'eth0', '198.18.0.77'], {
        timeoutMs: 500,
      });
      const rejected = expect(killed).rejects.toMatchObject({
        exitCode: -1,
        stderr: 'timed out after 500 ms (killed)',
      });
      await vi.advanceTimersByTimeAsync(500);
      await rejected;
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('fake conntrack', () => {
  it('deletes the entries of a destination and port, and says so when there were none', async () => {
    fake.addConntrack({ proto: 'tcp', src: '198.18.1.2', dst: '198.18.0.2', sport: 40000, dport: 80 });
    fake.addConntrack({ proto: 'udp', src: '198.18.1.2', dst: '198.18.0.2', sport: 40001, dport: 53 });
    const deleted = await system.pod.run([
      'conntrack',
      '-D',
      '-p',
      'tcp',
      '--orig-dst',
      '198.18.0.2',
      '--orig-port-dst',
      '80',
    ]);
    expect(deleted).toMatch(/^tcp +6 \d+ src=198\.18\.1\.2 dst=198\.18\.0\.2 sport=40000 dport=80 /);
    expect(fake.conntrack()).toEqual([
      { proto: 'udp', src: '198.18.1.2', dst: '198.18.0.2', sport: 40001, dport: 53 },
    ]);
    await expect(
      system.pod.run(['conntrack', '-D', '-p', 'tcp', '--orig-dst', '198.18.0.2']),
    ).rejects.toMatchObject({
      exitCode: 1,
      stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n',
    });
  });
});

describe('fake sysctls and namespaces', () => {
  it('reads the kernel defaults, per device too, and writes like /proc/sys', async () => {
    expect(await system.sysctl.read(sysctl('net', 'ipv4', 'ip_forward'))).toBe('0');
    expect(await system.sysctl.read(sysctl('net', 'ipv6', 'conf', 'net1', 'ndisc_notify'))).toBe('0');
    await system.sysctl.write(sysctl('net', 'ipv4', 'ip_forward'), '1');
    // ip_forward is conf/all/forwarding: every device follows.
    expect(await system.sysctl.read(sysctl('net', 'ipv4', 'conf', 'net1', 'forwarding'))).toBe('1');
    await expect(
      system.sysctl.read(sysctl('net', 'ipv6', 'conf', 'net9', 'ndisc_notify')),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(fake.dump()).toContain('sysctl net.ipv4.ip_forward = 1');
    expect(fake.dump()).not.toContain('ndisc_notify');
  });

  it('refuses writes to a read-only key the way writeSysctl reports them', async () => {
    fake.readOnlySysctl('net.ipv6.conf.net1.ndisc_notify');
    await expect(
      system.sysctl.write(sysctl('net', 'ipv6', 'conf', 'net1', 'ndisc_notify'), '1'),
    ).rejects.toThrow(
      "cannot set net.ipv6.conf.net1.ndisc_notify=1: EROFS: read-only file system, open '/proc/sys/net/ipv6/conf/net1/ndisc_notify' (allow it in the pod spec: securityContext.sysctls)",
    );
  });

  it('per-device keys follow the device: renamed with it, gone with it', async () => {
    await system.pod.run(['ip', 'link', 'set', 'dev', 'net1', 'down']);
    await system.pod.run(['ip', 'link', 'set', 'dev', 'net1', 'name', 'net2']);
    expect(await system.sysctl.read(sysctl('net', 'ipv6', 'conf', 'net2', 'accept_dad'))).toBe('1');
    await system.pod.run(['ip', 'link', 'delete', 'dev', 'net2']);
    await expect(
      system.sysctl.read(sysctl('net', 'ipv6', 'conf', 'net2', 'accept_dad')),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('knows which paths are the agent’s own namespace', async () => {
    expect(await system.isOwnNamespace('/proc/self/ns/net')).toBe(true);
    expect(await system.isOwnNamespace(`/proc/${process.pid}/ns/net`)).toBe(true);
    expect(await system.isOwnNamespace(FAKE_TOPOLOGY.node)).toBe(false);
    await expect(system.isOwnNamespace('/run/netns/nosuch')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
