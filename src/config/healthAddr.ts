/** `--health-addr HOST:PORT` (`:PORT`, `0.0.0.0:PORT`, `[::]:PORT`). An empty host means every address. */
import { parseIp } from './ip.js';
import { quote } from './issues.js';
import { parsePortText } from './ports.js';

export interface HealthAddr {
  /** Undefined: listen on every address (dual-stack where the pod has IPv6). */
  readonly host?: string;
  readonly port: number;
}

export type HealthAddrResult = { ok: true; value: HealthAddr } | { ok: false; error: string };

export function parseHealthAddr(text: string): HealthAddrResult {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(text);
  if (!match) return { ok: false, error: `must be HOST:PORT, [IPv6]:PORT or :PORT, got ${quote(text)}` };
  const host = match[1] ?? match[2] ?? '';
  const port = parsePortText(match[3] ?? '');
  if (!port.ok) return { ok: false, error: `port ${port.error}` };
  if (port.value < 1 || port.value > 65535)
    return { ok: false, error: `port must be 1..65535, got ${port.value}` };
  if (host === '') return { ok: true, value: { port: port.value } };
  if (host === 'localhost' && match[1] !== undefined)
    return { ok: false, error: 'brackets are for IPv6 hosts only' };
  if (host !== 'localhost') {
    const ip = parseIp(host);
    if (!ip.ok) return { ok: false, error: `host ${ip.error}` };
    if (match[1] !== undefined && ip.value.family !== 6)
      return { ok: false, error: 'brackets are for IPv6 hosts only' };
    if (match[2] !== undefined && ip.value.family === 6)
      return { ok: false, error: 'write an IPv6 host in brackets: [::]:PORT' };
    return { ok: true, value: { host: ip.value.address, port: port.value } };
  }
  return { ok: true, value: { host, port: port.value } };
}
