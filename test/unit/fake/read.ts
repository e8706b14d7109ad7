/** Small `ip -json` readers for the fake's unit tests (the agent reads whole namespaces at once). */
import type { AddressInfo, LinkInfo, RouteInfo, RuleInfo } from '../../../src/link/iproute.js';
import type { Runner } from '../../../src/system/command.js';

async function json<T>(runner: Runner, args: readonly string[]): Promise<T> {
  const out = await runner.run(['ip', '-json', ...args]);
  return (out.trim() ? JSON.parse(out) : []) as T;
}

export async function findLink(runner: Runner, name: string): Promise<LinkInfo | undefined> {
  return (await json<LinkInfo[]>(runner, ['-details', 'link', 'show'])).find((l) => l.ifname === name);
}

export async function listAddresses(
  runner: Runner,
  device?: string,
): Promise<(AddressInfo & { ifname: string })[]> {
  const entries = await json<{ ifname: string; addr_info?: AddressInfo[] }[]>(runner, [
    'address',
    'show',
    ...(device ? ['dev', device] : []),
  ]);
  return entries.flatMap((e) => (e.addr_info ?? []).map((a) => ({ ...a, ifname: e.ifname })));
}

/** A table that never had a route does not exist for the kernel: read as empty. */
export async function listRoutes(runner: Runner, family: 4 | 6, table = 'main'): Promise<RouteInfo[]> {
  try {
    return await json<RouteInfo[]>(runner, [`-${family}`, 'route', 'show', 'table', table]);
  } catch (error) {
    if (/table does not exist/.test((error as { stderr?: string }).stderr ?? '')) return [];
    throw error;
  }
}

export async function listRules(runner: Runner, family: 4 | 6): Promise<RuleInfo[]> {
  return json<RuleInfo[]>(runner, [`-${family}`, 'rule', 'show']);
}
