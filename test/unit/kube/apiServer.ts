/**
 * A stand-in for the Kubernetes API server (none can run on these machines): an HTTPS server
 * started by the test, with a self-signed certificate made by openssl, that implements what the
 * agent uses as the API documents it:
 * - GET  /apis/network.operator.openshift.io/v1/namespaces/{ns}/egressrouters/{name}
 * - PATCH …/egressrouters/{name}/status with Content-Type application/merge-patch+json (RFC 7386;
 *   other patch types → 415): only .status changes (the status subresource ignores the rest); a
 *   metadata.resourceVersion in the patch is a precondition (stale → 409 Conflict); the result is
 *   validated against the EgressRouter CRD schema (→ 422 Invalid); resourceVersion moves on.
 * - POST /api/v1/namespaces/{ns}/events (name taken → 409 AlreadyExists) and
 *   PATCH /api/v1/namespaces/{ns}/events/{name} (merge patch; 404 when gone).
 * - Bearer token checked on every request (401), a switch for 403, canned failures (5xx, 429 with
 *   Retry-After) and a hang, and errors as metav1.Status objects.
 * Every request is recorded (method, path with query, Content-Type, Authorization, body).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCrdFixture, type StructuralSchema, schemaProblems } from '../manifests/schemas.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

type Json = Record<string, unknown>;

const STATUS_SCHEMA = (
  loadCrdFixture('egressrouters.crd.json').spec.versions[0]!.schema.openAPIV3Schema.properties as Record<
    string,
    StructuralSchema
  >
).status!;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

export interface Failure {
  readonly status: number;
  readonly headers?: Record<string, string>;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly routers = new Map<string, Json>();
  readonly events = new Map<string, Json>();
  token = 'token-1';
  forbidden = false;
  hang = false;
  /** Failures answered before the next requests are served, in order. */
  readonly failures: Failure[] = [];
  private resourceVersion = 100;
  private server: Server | undefined;
  private readonly dir: string;
  readonly caFile: string;
  private readonly keyFile: string;
  private readonly hanging: ServerResponse[] = [];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'kn-apiserver-'));
    this.keyFile = join(this.dir, 'key.pem');
    this.caFile = join(this.dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        this.keyFile,
        '-out',
        this.caFile,
        '-days',
        '1',
        '-subj',
        '/CN=kubernetes',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  }

  async start(): Promise<string> {
    this.server = createServer(
      { key: readFileSync(this.keyFile), cert: readFileSync(this.caFile) },
      (req, res) => {
        void this.handle(req, res);
      },
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Creates (or replaces) an EgressRouter, as `kubectl apply` would. */
  putRouter(namespace: string, name: string, status?: Json): Json {
    const object: Json = {
      apiVersion: 'network.operator.openshift.io/v1',
      kind: 'EgressRouter',
      metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: this.nextVersion(), generation: 1 },
      spec: {
        mode: 'Redirect',
        networkInterface: { macvlan: { mode: 'Bridge' } },
        addresses: [{ ip: '192.0.2.100/24' }],
      },
      ...(status ? { status } : {}),
    };
    this.routers.set(`${namespace}/${name}`, object);
    return object;
  }

  /** Someone else changes the object: its resourceVersion moves on. */
  touch(namespace: string, name: string): void {
    const object = this.routers.get(`${namespace}/${name}`)!;
    (object.metadata as Json).resourceVersion = this.nextVersion();
  }

  statusOf(namespace: string, name: string): Json | undefined {
    return this.routers.get(`${namespace}/${name}`)?.status as Json | undefined;
  }

  private nextVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  /** Answers one request; the boolean only lets every branch end in `return this.send(…)`. */
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    this.requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      contentType: req.headers['content-type']?.split(';')[0],
      authorization: req.headers.authorization,
      body,
    });
    if (this.hang) {
      this.hanging.push(res);
      return false;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.fail(res, 401, 'Unauthorized', 'Unauthorized');
    const failure = this.failures.shift();
    if (failure) return this.fail(res, failure.status, 'InternalError', 'injected failure', failure.headers);
    if (this.forbidden)
      return this.fail(res, 403, 'Forbidden', 'egressrouters.network.operator.openshift.io is forbidden');
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const router =
      /^\/apis\/network\.operator\.openshift\.io\/v1\/namespaces\/([^/]+)\/egressrouters\/([^/]+)(\/status)?$/.exec(
        url.pathname,
      );
    if (router)
      return this.routerRequest(
        req.method ?? '',
        router[1]!,
        router[2]!,
        router[3] !== undefined,
        req,
        body,
        res,
      );
    const event = /^\/api\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/.exec(url.pathname);
    if (event) return this.eventRequest(req.method ?? '', event[1]!, event[2], req, body, res);
    return this.fail(
      res,
      404,
      'NotFound',
      `the server could not find the requested resource ${url.pathname}`,
    );
  }

  private routerRequest(
    method: string,
    namespace: string,
    name: string,
    status: boolean,
    req: IncomingMessage,
    body: unknown,
    res: ServerResponse,
  ): boolean {
    const key = `${namespace}/${name}`;
    const object = this.routers.get(key);
    if (!object)
      return this.fail(
        res,
        404,
        'NotFound',
        `egressrouters.network.operator.openshift.io "${name}" not found`,
      );
    if (method === 'GET') return this.send(res, 200, object);
    if (method !== 'PATCH' || !status)
      return this.fail(res, 405, 'MethodNotAllowed', `${method} not supported here`);
    if (req.headers['content-type']?.split(';')[0] !== 'application/merge-patch+json')
      return this.fail(
        res,
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format: ${req.headers['content-type']}`,
      );
    const patch = (body ?? {}) as Json;
    const precondition = (patch.metadata as Json | undefined)?.resourceVersion;
    const current = (object.metadata as Json).resourceVersion;
    if (precondition !== undefined && precondition !== current)
      return this.fail(
        res,
        409,
        'Conflict',
        `Operation cannot be fulfilled on egressrouters.network.operator.openshift.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    const patched = mergePatch(object, patch) as Json;
    const next: Json = { ...object, status: patched.status };
    const problems = schemaProblems(next.status ?? {}, STATUS_SCHEMA, 'status');
    if (problems.length > 0)
      return this.fail(
        res,
        422,
        'Invalid',
        `EgressRouter.network.operator.openshift.io "${name}" is invalid: ${problems.join('; ')}`,
      );
    if (JSON.stringify(next.status) !== JSON.stringify(object.status))
      next.metadata = { ...(object.metadata as Json), resourceVersion: this.nextVersion() };
    this.routers.set(key, next);
    return this.send(res, 200, next);
  }

  private eventRequest(
    method: string,
    namespace: string,
    name: string | undefined,
    req: IncomingMessage,
    body: unknown,
    res: ServerResponse,
  ): boolean {
    if (method === 'POST' && name === undefined) {
      const event = body as Json;
      const eventName = (event.metadata as Json).name as string;
      if (this.events.has(`${namespace}/${eventName}`))
        return this.fail(res, 409, 'AlreadyExists', `events "${eventName}" already exists`);
      const stored = {
        apiVersion: 'v1',
        kind: 'Event',
        ...event,
        metadata: { ...(event.metadata as Json), resourceVersion: this.nextVersion() },
      };
      this.events.set(`${namespace}/${eventName}`, stored);
      return this.send(res, 201, stored);
    }
    if (method === 'PATCH' && name !== undefined) {
      const existing = this.events.get(`${namespace}/${name}`);
      if (!existing) return this.fail(res, 404, 'NotFound', `events "${name}" not found`);
      if (req.headers['content-type']?.split(';')[0] !== 'application/merge-patch+json')
        return this.fail(res, 415, 'UnsupportedMediaType', 'unknown patch type');
      const patched = mergePatch(existing, body) as Json;
      this.events.set(`${namespace}/${name}`, patched);
      return this.send(res, 200, patched);
    }
    return this.fail(res, 405, 'MethodNotAllowed', `${method} not supported here`);
  }

  private send(
    res: ServerResponse,
    code: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): boolean {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
    return true;
  }

  private fail(
    res: ServerResponse,
    code: number,
    reason: string,
    message: string,
    headers: Record<string, string> = {},
  ): boolean {
    return this.send(
      res,
      code,
      { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code },
      headers,
    );
  }
}

/** A service-account directory for the agent: the token, the server's certificate as the CA, the namespace. */
export function serviceAccountDir(
  server: FakeApiServer,
  namespace: string,
): { dir: string; writeToken(token: string): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kn-sa-'));
  writeFileSync(join(dir, 'token'), `${server.token}\n`);
  writeFileSync(join(dir, 'ca.crt'), readFileSync(server.caFile));
  writeFileSync(join(dir, 'namespace'), namespace);
  return {
    dir,
    writeToken: (token) => writeFileSync(join(dir, 'token'), token),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
