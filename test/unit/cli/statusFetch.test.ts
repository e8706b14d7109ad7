// The status command's GET: a slow answer on an accepted connection is "slow" (exit 1), never
// "unreachable" (exit 2); nobody listening is unreachable. Against a real local HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchStatus } from '../../../src/cli/statusFetch.js';

let server: Server | undefined;

async function serve(delayMs: number, status = 200): Promise<string> {
  server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end('{"conditions":[]}');
    }, delayMs);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

describe('fetchStatus', () => {
  it('waits for an answer slower than the connect deadline', async () => {
    const url = await serve(500);
    expect(await fetchStatus(url, { connectMs: 100, answerMs: 10_000 })).toEqual({
      kind: 'ok',
      body: '{"conditions":[]}',
    });
  });

  it('calls an accepted connection without an answer slow, not unreachable', async () => {
    const url = await serve(5_000);
    const result = await fetchStatus(url, { connectMs: 2_000, answerMs: 200 });
    expect(result.kind).toBe('slow');
  });

  it('calls a port nobody listens on unreachable', async () => {
    const url = await serve(0);
    server?.close();
    const result = await fetchStatus(url, { connectMs: 2_000, answerMs: 2_000 });
    expect(result.kind).toBe('unreachable');
  });

  it('reports an HTTP error with its status', async () => {
    const url = await serve(0, 503);
    expect(await fetchStatus(url)).toMatchObject({ kind: 'http', status: 503 });
  });
});
