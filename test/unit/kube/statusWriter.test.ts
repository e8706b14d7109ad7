// The status writer and the Kubernetes sinks, against a stand-in for the API server: an HTTPS
// server this test starts (FakeApiServer), which implements the EgressRouter status subresource
// and Events as the API documents them. No real API server can run on these machines. Time is a
// ManualClock: debounce and backoff are checked as the delays the writer asks for, never by sleeping.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StatusSink } from '../../../src/agent/status/snapshot.js';
import { readInClusterConfig } from '../../../src/kube/inCluster.js';
import { createKubernetesSinks } from '../../../src/kube/index.js';
import { StatusWriter } from '../../../src/kube/statusWriter.js';
import { FakeApiServer, serviceAccountDir } from './apiServer.js';
import { ManualClock } from './manualClock.js';
import { memoryLog, snapshot } from './snapshots.js';

const NS = 'egress';
const NAME = 'router-a';
const ROUTER_PATH = `/apis/network.operator.openshift.io/v1/namespaces/${NS}/egressrouters/${NAME}`;
const STATUS_PATH = `${ROUTER_PATH}/status?fieldManager=egress-router-agent`;

let server: FakeApiServer;
let account: ReturnType<typeof serviceAccountDir>;
let clock: ManualClock;
let logs: ReturnType<typeof memoryLog>;
let writer: StatusSink;

/** The agent's own sinks, built by the factory the control loop uses, on the stand-in server. */
let port: string;

async function sinks(): Promise<StatusSink[]> {
  port ??= await server.start();
  account ??= serviceAccountDir(server, NS);
  return createKubernetesSinks({
    name: NAME,
    log: logs.log,
    clock,
    serviceAccountDir: account.dir,
    env: {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: port,
      POD_NAME: 'router-a-5d8f-x2',
      NODE_NAME: 'node-1',
    },
  });
}

const requests = () => server.requests.map((r) => `${r.method} ${r.path}`);
const settle = (count: number) => vi.waitFor(() => expect(server.requests.length).toBe(count));
/** The writer has armed its timer (a response it was still reading could delay that). */
const armed = () => vi.waitFor(() => expect(clock.pendingDelays().length).toBeGreaterThan(0));

beforeEach(async () => {
  server = new FakeApiServer();
  port = undefined as unknown as string;
  account = undefined as unknown as ReturnType<typeof serviceAccountDir>;
  clock = new ManualClock();
  logs = memoryLog();
  [writer] = (await sinks()) as [StatusSink];
  expect(writer.name).toBe('kubernetes-status');
});

afterEach(async () => {
  await writer.stop();
  await server.close();
  account.remove();
});

describe('status writer: what it sends', () => {
  it('GETs the object, then merge-patches its status with a resourceVersion precondition and the bearer token', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot());
    expect(server.requests).toEqual([]);
    clock.advance(1000);
    await settle(2);
    expect(server.requests[0]).toEqual({
      method: 'GET',
      path: ROUTER_PATH,
      contentType: undefined,
      authorization: 'Bearer token-1',
      body: undefined,
    });
    expect(server.requests[1]).toEqual({
      method: 'PATCH',
      path: STATUS_PATH,
      contentType: 'application/merge-patch+json',
      authorization: 'Bearer token-1',
      body: {
        metadata: { resourceVersion: '101' },
        status: {
          conditions: [
            {
              type: 'Available',
              status: 'True',
              lastTransitionTime: '2026-01-02T03:00:00Z',
              reason: 'Applied',
              message: 'in place and verified',
            },
            {
              type: 'Progressing',
              status: 'False',
              lastTransitionTime: '2026-01-02T03:00:00Z',
              reason: 'Applied',
              message: 'the config is applied',
            },
            {
              type: 'Degraded',
              status: 'False',
              lastTransitionTime: '2026-01-02T03:00:00Z',
              reason: 'AsExpected',
              message: 'everything is as configured',
            },
          ],
        },
      },
    });
    expect(server.statusOf(NS, NAME)).toEqual((server.requests[1]!.body as { status: unknown }).status);
  });

  it('writes only when the content changed, and a burst of passes as one write (debounced)', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(2);
    for (let i = 0; i < 5; i++) writer.publish(snapshot());
    clock.advance(5000);
    expect(clock.pendingDelays()).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.requests).toHaveLength(2);
    for (let i = 1; i <= 5; i++) {
      writer.publish(snapshot({ message: `in place, pass ${i}` }));
      if (i === 1) await armed();
      clock.advance(200);
    }
    clock.advance(1000);
    await settle(3);
    expect(requests()[2]).toBe(`PATCH ${STATUS_PATH}`);
    const conditions = (server.requests[2]!.body as { status: { conditions: { message: string }[] } }).status
      .conditions;
    expect(conditions[0]!.message).toBe('in place, pass 5');
    expect((server.requests[2]!.body as { metadata: unknown }).metadata).toEqual({ resourceVersion: '102' });
  });

  it("keeps the object's lastTransitionTime for a condition whose status did not change", async () => {
    server.putRouter(NS, NAME, {
      conditions: [
        {
          type: 'Available',
          status: 'True',
          lastTransitionTime: '2025-06-01T00:00:00Z',
          reason: 'Applied',
          message: 'old',
        },
        {
          type: 'Degraded',
          status: 'True',
          lastTransitionTime: '2025-06-01T00:00:00Z',
          reason: 'InvalidConfig',
          message: 'old',
        },
      ],
    });
    writer.publish(snapshot({ at: '2026-01-02T03:00:00Z' }));
    clock.advance(1000);
    await settle(2);
    const written = server.statusOf(NS, NAME) as {
      conditions: { type: string; lastTransitionTime: string }[];
    };
    expect(written.conditions.map((c) => [c.type, c.lastTransitionTime])).toEqual([
      ['Available', '2025-06-01T00:00:00Z'],
      ['Progressing', '2026-01-02T03:00:00Z'],
      ['Degraded', '2026-01-02T03:00:00Z'],
    ]);
  });

  it('sends nothing when the object already holds these conditions', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(2);
    // A second agent (a restart): the object already says it all.
    const [second] = (await sinks()) as [StatusSink];
    second.publish(snapshot());
    clock.advance(1000);
    await settle(3);
    expect(requests()).toEqual([`GET ${ROUTER_PATH}`, `PATCH ${STATUS_PATH}`, `GET ${ROUTER_PATH}`]);
    await second.stop();
  });
});

describe('status writer: conflicts, failures and backoff', () => {
  it('on 409 (someone else wrote) reads the object again and retries at once', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(2);
    server.touch(NS, NAME);
    writer.publish(snapshot({ message: 'changed' }));
    await armed();
    clock.advance(1000);
    await settle(3);
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([0]));
    clock.advance(0);
    await settle(5);
    expect(requests().slice(2)).toEqual([
      `PATCH ${STATUS_PATH}`,
      `GET ${ROUTER_PATH}`,
      `PATCH ${STATUS_PATH}`,
    ]);
    expect((server.requests[2]!.body as { metadata: unknown }).metadata).toEqual({ resourceVersion: '102' });
    expect((server.requests[4]!.body as { metadata: unknown }).metadata).toEqual({ resourceVersion: '103' });
    expect((server.statusOf(NS, NAME) as { conditions: { message: string }[] }).conditions[0]!.message).toBe(
      'changed',
    );
  });

  it('retries 5xx with capped exponential backoff: 1 s, 2 s, 4 s … 60 s', async () => {
    server.putRouter(NS, NAME);
    for (let i = 0; i < 8; i++) server.failures.push({ status: 503 });
    writer.publish(snapshot());
    clock.advance(1000);
    const delays: number[] = [];
    for (let i = 1; i <= 8; i++) {
      await settle(i);
      await vi.waitFor(() => expect(clock.pendingDelays()).toHaveLength(1));
      const [delay] = clock.pendingDelays();
      delays.push(delay!);
      clock.advance(delay!);
    }
    await settle(10);
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(server.statusOf(NS, NAME)).toBeDefined();
    const warnings = logs.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/failed \(503\); retrying/);
    expect(logs.lines.some((l) => l.message === 'status writing works again')).toBe(true);
  });

  it('waits as long as a 429 Retry-After asks', async () => {
    server.putRouter(NS, NAME);
    server.failures.push({ status: 429, headers: { 'retry-after': '7' } });
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(1);
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([7000]));
  });

  it('404: the object does not exist yet; says so once, backs off, and writes once it is created', async () => {
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(1);
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([1000]));
    clock.advance(1000);
    await settle(2);
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([2000]));
    expect(logs.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `EgressRouter ${NS}/${NAME} does not exist (404): its status is written once it does (kubectl apply it; the CRD comes from manifests --crd)`,
    ]);
    server.putRouter(NS, NAME);
    clock.advance(2000);
    await settle(4);
    expect(requests().slice(2)).toEqual([`GET ${ROUTER_PATH}`, `PATCH ${STATUS_PATH}`]);
  });

  it('403: names the RBAC to check, and retries', async () => {
    server.putRouter(NS, NAME);
    server.forbidden = true;
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(1);
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([1000]));
    expect(logs.lines.find((l) => l.level === 'warn')?.message).toMatch(
      /\(403\): check the Role and RoleBinding/,
    );
    server.forbidden = false;
    clock.advance(1000);
    await settle(3);
  });

  it('401: backs off, and re-reads the rotated token (kept at most a minute, as client-go does)', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(2);
    const rotatedAt = clock.now();
    server.token = 'token-2';
    account.writeToken('token-2\n');
    writer.publish(snapshot({ message: 'after rotation' }));
    await armed();
    clock.advance(1000);
    const delays: number[] = [];
    for (let seen = 3; ; seen++) {
      await vi.waitFor(() => expect(server.requests.length).toBeGreaterThanOrEqual(seen));
      if (server.requests.at(-1)?.authorization === 'Bearer token-2') break;
      await vi.waitFor(() => expect(clock.pendingDelays()).toHaveLength(1));
      delays.push(clock.pendingDelays()[0]!);
      clock.advance(delays.at(-1)!);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000]);
    expect(clock.now() - rotatedAt).toBeLessThan(70_000);
    expect(logs.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'the API server does not accept the service-account token (401); retrying',
    ]);
    await vi.waitFor(() =>
      expect(
        (server.statusOf(NS, NAME) as { conditions: { message: string }[] }).conditions[0]!.message,
      ).toBe('after rotation'),
    );
  });

  it('422: content the API refuses is not retried; the next change is written', async () => {
    server.putRouter(NS, NAME);
    const invalid = snapshot();
    (invalid.conditions.Available as { status: string }).status = 'Maybe';
    writer.publish(invalid);
    clock.advance(1000);
    await settle(2);
    await vi.waitFor(() => expect(logs.lines.some((l) => l.level === 'error')).toBe(true));
    expect(clock.pendingDelays()).toEqual([]);
    writer.publish(snapshot({ message: 'valid again' }));
    clock.advance(1000);
    await settle(4);
    expect(server.statusOf(NS, NAME)).toBeDefined();
  });
});

describe('status writer: HA, never blocking, stopping', () => {
  it('under HA only the active writes: a standby sends nothing, and a write armed before losing the role is dropped', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot({ available: 'False', role: 'standby' }));
    clock.advance(5000);
    writer.publish(snapshot({ role: 'active' }));
    writer.publish(snapshot({ available: 'False', role: 'standby' }));
    clock.advance(5000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.requests).toEqual([]);
    writer.publish(snapshot({ role: 'active' }));
    clock.advance(1000);
    await settle(2);
  });

  it('publish returns at once even while the API server hangs; stop gives up after its bound', async () => {
    server.putRouter(NS, NAME);
    server.hang = true;
    writer.publish(snapshot());
    clock.advance(1000);
    await settle(1);
    const started = performance.now();
    for (let i = 0; i < 100; i++) writer.publish(snapshot({ message: `pass ${i}` }));
    expect(performance.now() - started).toBeLessThan(1000);
    let stopped = false;
    const stopping = writer.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    clock.advance(2000);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('stop writes a change still waiting for its debounce', async () => {
    server.putRouter(NS, NAME);
    writer.publish(snapshot({ available: 'False', message: 'stopping' }));
    await writer.stop();
    expect(requests()).toEqual([`GET ${ROUTER_PATH}`, `PATCH ${STATUS_PATH}`]);
    expect((server.statusOf(NS, NAME) as { conditions: { status: string }[] }).conditions[0]!.status).toBe(
      'False',
    );
    writer.publish(snapshot({ message: 'after stop' }));
    clock.advance(5000);
    expect(server.requests).toHaveLength(2);
  });
});

describe('in-cluster config', () => {
  it('needs the kubelet-provided host and port, and the token', async () => {
    await expect(readInClusterConfig({}, account.dir)).rejects.toThrow(
      /not running in a pod: KUBERNETES_SERVICE_HOST/,
    );
    await expect(
      readInClusterConfig(
        { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: 'https' },
        account.dir,
      ),
    ).rejects.toThrow(/KUBERNETES_SERVICE_PORT is not a port/);
    await expect(
      readInClusterConfig(
        { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        '/nonexistent',
      ),
    ).rejects.toThrow(/no \/nonexistent\/token: mount the service-account token/);
    expect(
      await readInClusterConfig(
        { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
        account.dir,
      ),
    ).toMatchObject({ server: 'https://[fd00::1]:443', namespace: NS });
  });

  it('the writer works on its own with any KubeApi (the sinks share one)', () => {
    const standalone = new StatusWriter({
      api: {
        getEgressRouter: async () => ({ resourceVersion: '1', conditions: [] }),
        patchEgressRouterStatus: async () => ({ resourceVersion: '2', conditions: [] }),
      },
      clock,
      log: logs.log,
      target: 'x/y',
    });
    standalone.publish(snapshot());
    expect(clock.pendingDelays()).toEqual([1000]);
  });
});
