/**
 * Is the gateway answering? Reads its neighbour entry (ARP/ND); when there is none, or it is
 * failing, one ping prompts the kernel to resolve it, and the entry is read again.
 */
import type { Family } from '../config/model.js';
import type { Runner } from '../system/command.js';

export interface GatewayHealth {
  readonly family: Family;
  readonly gateway: string;
  readonly reachable: boolean;
  readonly state: string;
}

async function neighbourState(runner: Runner, gateway: string, device: string): Promise<string | undefined> {
  const out = await runner.run(['ip', '-json', 'neigh', 'show', gateway, 'dev', device]);
  const entries = (out.trim() ? JSON.parse(out) : []) as { state?: string[] }[];
  return entries[0]?.state?.join(',');
}

const usable = (state: string | undefined): boolean =>
  state !== undefined &&
  /REACHABLE|STALE|DELAY|PROBE|PERMANENT|NOARP/.test(state) &&
  !/FAILED|INCOMPLETE/.test(state);

export async function checkGateway(
  runner: Runner,
  family: Family,
  gateway: string,
  device: string,
): Promise<GatewayHealth> {
  let state = await neighbourState(runner, gateway, device);
  if (!usable(state)) {
    await runner
      .run(['ping', family === 4 ? '-4' : '-6', '-c', '1', '-W', '1', '-I', device, gateway], {
        timeoutMs: 3_000,
      })
      .catch(() => undefined);
    state = await neighbourState(runner, gateway, device);
  }
  return { family, gateway, reachable: usable(state), state: state ?? 'none' };
}
