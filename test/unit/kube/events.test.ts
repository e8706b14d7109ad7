// Kubernetes Events from the snapshot's notices, against the stand-in API server (FakeApiServer:
// an HTTPS server this test starts; no real API server can run here). Time is a ManualClock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Notice, StatusSink } from '../../../src/agent/status/snapshot.js';
import { createClientNodeApi } from '../../../src/kube/clientNode.js';
import { EventRecorder, truncateMessage } from '../../../src/kube/events.js';
import { readInClusterConfig } from '../../../src/kube/inCluster.js';
import { createKubernetesSinks } from '../../../src/kube/index.js';
import { FakeApiServer, serviceAccountDir } from './apiServer.js';
import { ManualClock } from './manualClock.js';
import { memoryLog, snapshot } from './snapshots.js';

const NS = 'egress';
const NAME = 'router-a';
const EVENTS_PATH = `/api/v1/namespaces/${NS}/events`;

let server: FakeApiServer;
let account: ReturnType<typeof serviceAccountDir>;
let clock: ManualClock;
let logs: ReturnType<typeof memoryLog>;
let port: string;

const applied: Notice = {
  type: 'Normal',
  reason: 'Applied',
  message: 'in place and verified: 4 redirect rules',
};
const degraded: Notice = {
  type: 'Warning',
  reason: 'GatewayUnreachable',
  message: 'gateway 192.0.2.1 does not answer',
};

beforeEach(async () => {
  server = new FakeApiServer();
  port = await server.start();
  account = serviceAccountDir(server, NS);
  clock = new ManualClock();
  logs = memoryLog();
  server.putRouter(NS, NAME);
});

afterEach(async () => {
  await server.close();
  account.remove();
});

async function recorder(options: { burst?: number; refillMs?: number } = {}): Promise<StatusSink> {
  const cluster = await readInClusterConfig(
    { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
    account.dir,
  );
  const api = createClientNodeApi({ cluster, name: NAME, namespace: NS, now: () => clock.now() });
  return new EventRecorder({
    api,
    clock,
    log: logs.log,
    router: { name: NAME, namespace: NS },
    podName: 'router-a-x1',
    nodeName: 'node-1',
    ...options,
  });
}

const posts = () => server.requests.filter((r) => r.method === 'POST');
const patches = () => server.requests.filter((r) => r.method === 'PATCH');

describe('events', () => {
  it('the factory gives a recorder that posts a core/v1 Event about the EgressRouter, with its uid', async () => {
    const sinks = await createKubernetesSinks({
      name: NAME,
      log: logs.log,
      clock,
      serviceAccountDir: account.dir,
      env: {
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: port,
        POD_NAME: 'router-a-x1',
        NODE_NAME: 'node-1',
      },
    });
    const events = sinks.find((s) => s.name === 'kubernetes-events')!;
    events.publish(snapshot({ notices: [applied] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    const [post] = posts();
    expect(post!.path).toBe(`${EVENTS_PATH}?fieldManager=egress-router-agent`);
    expect(post!.contentType).toBe('application/json');
    expect(post!.authorization).toBe('Bearer token-1');
    const at = '2026-01-02T03:04:05Z';
    expect(post!.body).toEqual({
      metadata: { name: expect.stringMatching(/^router-a\.[0-9a-f]+$/), namespace: NS },
      involvedObject: {
        apiVersion: 'network.operator.openshift.io/v1',
        kind: 'EgressRouter',
        name: NAME,
        namespace: NS,
        uid: `uid-${NAME}`,
      },
      reason: 'Applied',
      message: 'in place and verified: 4 redirect rules',
      type: 'Normal',
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: 'egress-router-agent', host: 'node-1' },
      reportingComponent: 'egress-router-agent',
      reportingInstance: 'router-a-x1',
    });
    for (const sink of sinks) await sink.stop();
  });

  it('a repeat patches the count (merge patch) instead of creating an Event; a new message creates one', async () => {
    const events = await recorder();
    events.publish(snapshot({ notices: [degraded] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    clock.advance(30_000);
    events.publish(snapshot({ notices: [degraded, degraded] }));
    await vi.waitFor(() => expect(patches()).toHaveLength(2));
    const name = (posts()[0]!.body as { metadata: { name: string } }).metadata.name;
    expect(patches().map((p) => [p.path, p.contentType, p.body])).toEqual([
      [
        `${EVENTS_PATH}/${name}?fieldManager=egress-router-agent`,
        'application/merge-patch+json',
        { count: 2, lastTimestamp: '2026-01-02T03:04:35Z' },
      ],
      [
        `${EVENTS_PATH}/${name}?fieldManager=egress-router-agent`,
        'application/merge-patch+json',
        { count: 3, lastTimestamp: '2026-01-02T03:04:35Z' },
      ],
    ]);
    expect(server.events.get(`${NS}/${name}`)).toMatchObject({
      count: 3,
      type: 'Warning',
      reason: 'GatewayUnreachable',
    });
    events.publish(snapshot({ notices: [{ ...degraded, message: 'gateway 192.0.2.1 answers again' }] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(2));
    await events.stop();
  });

  it('rate-limits with a token bucket; a repeat without a token is folded into the next count', async () => {
    const events = await recorder({ burst: 3, refillMs: 10_000 });
    const notices = Array.from({ length: 5 }, (_, i) => ({ ...applied, message: `pass ${i}` }));
    events.publish(snapshot({ notices }));
    await vi.waitFor(() => expect(posts()).toHaveLength(3));
    events.publish(snapshot({ notices: [notices[0]!] }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(3);
    clock.advance(10_000);
    events.publish(snapshot({ notices: [notices[0]!] }));
    await vi.waitFor(() => expect(patches()).toHaveLength(1));
    expect(patches()[0]!.body).toEqual({ count: 3, lastTimestamp: '2026-01-02T03:04:15Z' });
    await events.stop();
    expect(logs.lines.find((l) => l.message.startsWith('events not sent'))?.fields).toEqual({ dropped: 2 });
  });

  it('an Event gone meanwhile is created anew; a 5xx is retried after a backoff', async () => {
    const events = await recorder();
    events.publish(snapshot({ notices: [applied] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    server.events.clear();
    events.publish(snapshot({ notices: [applied] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(2));
    expect(patches()).toHaveLength(1);
    expect((posts()[1]!.body as { count: number }).count).toBe(2);
    server.failures.push({ status: 500 });
    events.publish(snapshot({ notices: [degraded] }));
    await vi.waitFor(() => expect(clock.pendingDelays()).toEqual([1000]));
    clock.advance(1000);
    await vi.waitFor(() => expect(posts()).toHaveLength(4));
    expect(server.events.size).toBe(2);
    await events.stop();
  });

  it('refers to the object by uid, read again after 10 minutes (the object may have been created anew)', async () => {
    const events = await recorder();
    const uids = () =>
      posts().map((p) => (p.body as { involvedObject: { uid?: string } }).involvedObject.uid);
    events.publish(snapshot({ notices: [applied] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(1));
    server.routers.delete(`${NS}/${NAME}`);
    const recreated = server.putRouter(NS, NAME);
    (recreated.metadata as { uid: string }).uid = 'uid-new';
    events.publish(snapshot({ notices: [degraded] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(2));
    clock.advance(600_001);
    events.publish(snapshot({ notices: [{ ...degraded, message: 'later' }] }));
    await vi.waitFor(() => expect(posts()).toHaveLength(3));
    expect(uids()).toEqual([`uid-${NAME}`, `uid-${NAME}`, 'uid-new']);
    await events.stop();
  });

  it('messages are cut to 1 KiB on a character boundary', () => {
    expect(truncateMessage('x'.repeat(10))).toBe('x'.repeat(10));
    const long = truncateMessage('é'.repeat(1000));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(1024);
    expect(long.endsWith('é...')).toBe(true);
  });
});
