/**
 * The read-only health server: /healthz, /readyz, /status, /metrics. GET and HEAD only,
 * no request bodies, short timeouts, and nothing internal (stacks, secrets) in responses.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthAddr } from '../config/healthAddr.js';
import { nodeHttp } from '../system/nodeHttp.js';

export interface HealthSource {
  alive(): boolean;
  ready(): { ready: boolean; reason: string; message: string };
  /** The status document; `query` carries paging and filters (`?rules=all`, `?offset=`, `?port=`). */
  status(query: URLSearchParams): Promise<unknown>;
  metrics(): Promise<{ contentType: string; body: string }>;
}

/** /metrics requests in flight at most; more get 503 at once (probes are never limited). */
const MAX_METRICS_IN_FLIGHT = 32;
let metricsInFlight = 0;

const PATHS = new Set(['/healthz', '/readyz', '/status', '/metrics']);

function send(res: ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function handle(source: HealthSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // The raw path, not a normalised one: `/../status` is not `/status`.
  const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
  const query = new URLSearchParams(search);
  if (!PATHS.has(path)) return send(res, 404, 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > 0 || req.headers['transfer-encoding'])
    return send(res, 413, 'request bodies are not accepted\n');
  switch (path) {
    case '/healthz':
      return source.alive() ? send(res, 200, 'ok\n') : send(res, 503, 'control loop stuck\n');
    case '/readyz': {
      const { ready, reason, message } = source.ready();
      return send(res, ready ? 200 : 503, ready ? 'ready\n' : `not ready: ${reason}: ${message}\n`);
    }
    case '/status':
      return send(res, 200, `${JSON.stringify(await source.status(query), null, 2)}\n`, 'application/json');
    default: {
      if (metricsInFlight >= MAX_METRICS_IN_FLIGHT) {
        res.setHeader('retry-after', '1');
        return send(res, 503, 'busy\n');
      }
      metricsInFlight++;
      try {
        const metrics = await source.metrics();
        return send(res, 200, metrics.body, metrics.contentType);
      } finally {
        metricsInFlight--;
      }
    }
  }
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.message;
      reject(new Error(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${why}`));
    });
    server.listen({ port, host }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
}

export async function startHealthServer(
  addr: HealthAddr,
  source: HealthSource,
  onError: (message: string) => void,
): Promise<HealthServer> {
  const server = nodeHttp.createServer(
    // Node enforces the two timeouts only when it checks its connections, every 30 s by default:
    // check every second, or a client that never finishes its headers holds a socket for ~30 s.
    {
      maxHeaderSize: 8192,
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle(source, req, res).catch((error: unknown) => {
        onError(`health server: ${(error as Error).message}`);
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5_000;
  if (addr.host) await listen(server, addr.port, addr.host);
  else {
    // Every address: dual-stack where the pod has IPv6, IPv4 only where it does not.
    await listen(server, addr.port, '::').catch((error: Error) =>
      /in use/.test(error.message) ? Promise.reject(error) : listen(server, addr.port, '0.0.0.0'),
    );
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
