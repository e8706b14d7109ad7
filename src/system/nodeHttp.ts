/**
 * Node's http module, loaded with require rather than `import`. An ESM import of a built-in
 * reads every export to build its namespace, and node:http's lazy WebSocket, CloseEvent and
 * MessageEvent exports then load undici, http2, tls, zlib and crypto: about 95 internal modules
 * and 13 MiB resident for the life of the process (measured on Node 24), none of which the
 * agent uses. require returns the exports object and leaves those getters alone.
 */
import { createRequire } from 'node:module';

type Http = typeof import('node:http');

export const nodeHttp: Http = createRequire(import.meta.url)('node:http') as Http;
