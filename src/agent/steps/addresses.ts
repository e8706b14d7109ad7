/**
 * Step 3: the egress addresses. The egress interface belongs to the router: global addresses
 * on it that the config does not list are removed. New IPv6 addresses wait for DAD; new IPv4
 * addresses are announced with gratuitous ARP (IPv6 ones by the kernel, see sysctls).
 */
import { spawn } from 'node:child_process';
import type { EgressAddress } from '../../config/model.js';
import {
  type AddressInfo,
  AGENT_ROUTE_PROTO,
  ip,
  listAddresses,
  listRoutes,
  routeArgs,
} from '../../link/iproute.js';
import type { StepContext } from '../context.js';
import { inStep, StepError } from '../stepError.js';

const cidrOf = (a: { local: string; prefixlen: number }): string => `${a.local}/${a.prefixlen}`;
const wantedCidr = (a: EgressAddress): string => `${a.address}/${a.prefixLength}`;

async function waitForDad(ctx: StepContext, device: string, address: EgressAddress): Promise<void> {
  const deadline = Date.now() + (ctx.options.dadTimeoutMs ?? 10_000);
  for (;;) {
    const entry = (await listAddresses(ctx.pod, device)).find((a) => a.local === address.address);
    if (entry?.dadfailed) {
      throw new StepError(
        'addresses',
        'DuplicateAddress',
        wantedCidr(address),
        `duplicate address detection failed: another host on the LAN already uses ${address.address}`,
      );
    }
    if (entry && !entry.tentative) return;
    if (!entry)
      throw new StepError(
        'addresses',
        'AddressFailed',
        wantedCidr(address),
        'the address vanished during DAD',
      );
    if (Date.now() > deadline) {
      throw new StepError(
        'addresses',
        'AddressFailed',
        wantedCidr(address),
        `DAD did not finish within ${ctx.options.dadTimeoutMs ?? 10_000} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Gratuitous ARP, request- and reply-style like the 3.x router, so upstream caches move at once.
 * arping sends at once but then waits its one-second interval before exiting; apply does not
 * wait for that: it waits only for each arping to start sending (or fail), then lets it finish.
 */
export async function announceIPv4(device: string, address: string): Promise<string | undefined> {
  const send = (style: '-U' | '-A') =>
    new Promise<string | undefined>((resolve) => {
      const child = spawn('arping', [style, '-c', '1', '-w', '2', '-I', device, '-s', address, address], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const sent = setTimeout(() => {
        // Neither the process nor its stderr pipe may keep `apply` alive until arping's interval ends.
        child.unref();
        (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
        resolve(undefined);
      }, ARPING_SEND_MS);
      child.on('error', (error) => {
        clearTimeout(sent);
        resolve(`arping: ${error.message}`);
      });
      child.on('exit', (code) => {
        clearTimeout(sent);
        // Exit 1 means "no reply", which unsolicited ARP never expects.
        resolve(code === 0 || code === 1 ? undefined : `arping: ${stderr.trim() || `exit ${code}`}`);
      });
    });
  const problems = (await Promise.all([send('-U'), send('-A')])).filter(Boolean);
  return problems[0];
}

/** How long arping gets to send before apply moves on (it sends within a few milliseconds). */
const ARPING_SEND_MS = 150;

export interface AddressOutcome {
  readonly added: readonly EgressAddress[];
  readonly warnings: readonly string[];
}

export async function ensureAddresses(ctx: StepContext): Promise<AddressOutcome> {
  const device = ctx.options.egressInterface;
  const present = await inStep('addresses', 'AddressFailed', device, () => listAddresses(ctx.pod, device));
  const wanted = new Set(ctx.config.addresses.map(wantedCidr));
  const stale = present.filter((a: AddressInfo) => a.scope === 'global' && !wanted.has(cidrOf(a)));
  for (const address of stale) {
    const cidr = cidrOf(address);
    const family = address.family === 'inet' ? 4 : 6;
    // Deleting the last IPv4 address of a device makes the kernel drop every IPv4 route through
    // it, the agent's default route included: putting the address back must bring them back too.
    const routesBefore = await inStep('addresses', 'AddressFailed', cidr, () => listRoutes(ctx.pod, family));
    const ours = routesBefore
      .filter((r) => r.dev === device && r.protocol === AGENT_ROUTE_PROTO)
      .sort((a, b) => Number(Boolean(a.gateway)) - Number(Boolean(b.gateway)));
    await inStep('addresses', 'AddressFailed', cidr, () =>
      ip(ctx.pod, ['address', 'delete', cidr, 'dev', device]),
    );
    ctx.undo.push(`removing ${cidr}`, async () => {
      await ip(ctx.pod, ['address', 'add', cidr, 'dev', device]);
      for (const route of ours) {
        await ip(
          ctx.pod,
          routeArgs(family, {
            dst: route.dst,
            ...(route.gateway ? { gateway: route.gateway } : {}),
            dev: device,
            protocol: AGENT_ROUTE_PROTO,
            ...(route.metric !== undefined ? { metric: route.metric } : {}),
          }),
        );
      }
    });
    ctx.changed('address', `removed address ${cidr} from ${device} (not in the config)`);
  }
  const presentCidrs = new Set(present.map(cidrOf));
  const added: EgressAddress[] = [];
  for (const address of ctx.config.addresses) {
    const cidr = wantedCidr(address);
    if (presentCidrs.has(cidr)) continue;
    await inStep('addresses', 'AddressFailed', cidr, () =>
      ip(ctx.pod, ['address', 'add', cidr, 'dev', device]),
    );
    ctx.undo.push(`adding ${cidr}`, () => ip(ctx.pod, ['address', 'delete', cidr, 'dev', device]));
    ctx.changed('address', `added address ${cidr} to ${device}`);
    added.push(address);
  }
  await Promise.all(added.filter((a) => a.family === 6).map((a) => waitForDad(ctx, device, a)));
  const warnings: string[] = [];
  for (const address of added.filter((a) => a.family === 4)) {
    const problem = await announceIPv4(device, address.address);
    if (problem) warnings.push(`gratuitous ARP for ${address.address} not sent: ${problem}`);
    else ctx.changed('announce', `announced ${address.address} with gratuitous ARP`);
  }
  return { added, warnings };
}
