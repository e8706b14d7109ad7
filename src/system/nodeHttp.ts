/**
 * Node's http module, loaded with require rather than `import`. An ESM import of a built-in
 * reads every export to build its namespace, and node:http's lazy WebSocket, CloseEvent and
 * MessageEvent exports then load undici, http2, tls, zlib and crypto: about 95 internal modules
 * (13 MiB resident in a process that loads nothing else, on Node 24), none of which the agent
 * uses. require returns the exports object and leaves those getters alone. In the agent, with
 * promClient.ts, it took 5 to 8 MiB off `run` at rest (docs/benchmarks.md).
 */
import { createRequire } from 'node:module';

type Http = typeof import('node:http');

export const nodeHttp: Http = createRequire(import.meta.url)('node:http') as Http;
