/**
 * Talking to the agent's health server from inside a namespace (a Node process cannot switch its
 * own namespace, so this is curl under `ip netns exec`), and reading Prometheus text.
 *
 * - `http(topo, path, { ns, host, port, method, body, headers })` → `{ status, headers, body }`;
 *   status 0 when nothing answered. Defaults: the first pod, 127.0.0.1, port 9099.
 * - `metricValue(text, name, labels)`: the sample whose labels are exactly `labels`.
 */
import type { Topology } from './topology.js';

export interface HttpReply {
  /** 0 when there was no HTTP answer at all. */
  readonly status: number;
  /** Response headers, names in lower case. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface HttpOptions {
  readonly method?: string;
  readonly body?: string;
  readonly headers?: readonly string[];
  /** Namespace to ask from (default the first pod) and host to ask (default 127.0.0.1). */
  readonly ns?: string;
  readonly host?: string;
  /** Default 9099, the agent's default health port. */
  readonly port?: number;
  /** curl's own limit in seconds (default 3). */
  readonly maxSeconds?: number;
}

export async function http(topo: Topology, path: string, options: HttpOptions = {}): Promise<HttpReply> {
  const args = [
    'curl',
    '-s',
    '-i',
    '--path-as-is',
    '-m',
    String(options.maxSeconds ?? 3),
    '-w',
    '\n%{http_code}',
  ];
  // curl -X HEAD would wait for a body that never comes: -I makes a real HEAD request.
  if (options.method === 'HEAD') args.push('-I');
  else if (options.method) args.push('-X', options.method);
  if (options.body !== undefined) args.push('--data-binary', options.body);
  for (const header of options.headers ?? []) args.push('-H', header);
  const host = options.host ?? '127.0.0.1';
  args.push(`http://${host.includes(':') ? `[${host}]` : host}:${options.port ?? 9099}${path}`);
  const result = await topo.exec(options.ns ?? topo.pod().role, args, {
    reject: false,
    timeoutMs: ((options.maxSeconds ?? 3) + 7) * 1000,
  });
  const cut = result.stdout.lastIndexOf('\n');
  const statusCode = Number(result.stdout.slice(cut + 1)) || 0;
  const raw = result.stdout.slice(0, cut);
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: statusCode, headers, body: split < 0 ? '' : raw.slice(split + 4) };
}

/** The value of the sample `name{labels}` (labels matched exactly, any order); undefined if absent. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      found[pair[1] ?? ''] = pair[2] ?? '';
    }
    const wanted = Object.entries(labels);
    if (wanted.length !== Object.keys(found).length) continue;
    if (wanted.every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}
