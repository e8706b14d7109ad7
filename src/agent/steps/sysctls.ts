/** Step 2: forwarding, and unsolicited neighbour advertisements for new IPv6 addresses. */
import type { Family } from '../../config/model.js';
import { readSysctl, type Sysctl, sysctl, sysctlName, writeSysctl } from '../../link/sysctl.js';
import type { StepContext } from '../context.js';
import { inStep } from '../stepError.js';

/** The sysctls the data path needs, and nothing more. */
export function wantedSysctls(
  families: ReadonlySet<Family>,
  egressInterface: string,
): { key: Sysctl; value: string }[] {
  const wanted: { key: Sysctl; value: string }[] = [];
  if (families.has(4)) wanted.push({ key: sysctl('net', 'ipv4', 'ip_forward'), value: '1' });
  if (families.has(6)) {
    wanted.push({ key: sysctl('net', 'ipv6', 'conf', 'all', 'forwarding'), value: '1' });
    // The kernel then announces each new address (unsolicited NA) as soon as DAD completes.
    wanted.push({ key: sysctl('net', 'ipv6', 'conf', egressInterface, 'ndisc_notify'), value: '1' });
  }
  return wanted;
}

export async function ensureSysctls(ctx: StepContext): Promise<void> {
  const families = new Set(ctx.config.addresses.map((a) => a.family));
  for (const { key, value } of wantedSysctls(families, ctx.options.egressInterface)) {
    const name = sysctlName(key);
    await inStep('sysctls', 'SysctlFailed', name, async () => {
      const before = await readSysctl(key);
      if (before === value) return;
      await writeSysctl(key, value);
      ctx.undo.push(`${name}=${value}`, () => writeSysctl(key, before));
      ctx.changed('sysctl', `set ${name}=${value} (was ${before})`);
    });
  }
}
