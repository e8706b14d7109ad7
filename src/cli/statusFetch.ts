/**
 * GET of the agent's /status for the `status` command, with two deadlines: one for the
 * connection (nobody listening, or nothing answering SYNs, is "unreachable") and a longer one
 * for the answer (a busy agent that accepted the connection is slow, not unreachable).
 */
import { nodeHttp } from '../system/nodeHttp.js';

export const CONNECT_TIMEOUT_MS = 3_000;
export const ANSWER_TIMEOUT_MS = 30_000;

export type StatusFetch =
  | { readonly kind: 'ok'; readonly body: string }
  | { readonly kind: 'unreachable'; readonly message: string }
  | { readonly kind: 'slow'; readonly message: string }
  | { readonly kind: 'http'; readonly status: number; readonly message: string };

/** The size of a /status answer this command reads at most (a summary is a few KiB). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export function fetchStatus(
  url: string,
  timeouts: { connectMs?: number; answerMs?: number } = {},
): Promise<StatusFetch> {
  const connectMs = timeouts.connectMs ?? CONNECT_TIMEOUT_MS;
  const answerMs = timeouts.answerMs ?? ANSWER_TIMEOUT_MS;
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: StatusFetch) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = nodeHttp.request(url, { method: 'GET', headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES)
          finish({ kind: 'http', status: res.statusCode ?? 0, message: 'the answer is too large' });
        else chunks.push(chunk);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        finish(status === 200 ? { kind: 'ok', body } : { kind: 'http', status, message: `HTTP ${status}` });
      });
      res.on('error', (error) => finish({ kind: 'unreachable', message: error.message }));
    });
    timers.push(
      setTimeout(
        () => finish({ kind: 'unreachable', message: `no connection within ${connectMs / 1000} s` }),
        connectMs,
      ),
    );
    req.on('socket', (socket) => {
      const connected = () => {
        clearTimeout(timers[0]);
        timers.push(
          setTimeout(
            () =>
              finish({
                kind: 'slow',
                message: `connected, but no answer within ${answerMs / 1000} s (the agent is busy)`,
              }),
            answerMs,
          ),
        );
      };
      if (socket.connecting) socket.once('connect', connected);
      else connected();
    });
    req.on('error', (error) => finish({ kind: 'unreachable', message: error.message }));
    req.end();
  });
}
