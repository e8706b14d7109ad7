/** Step 2: forwarding, and unsolicited neighbour advertisements for new IPv6 addresses. */
import type { Family } from '../../config/model.js';
import { readSysctl, type Sysctl, sysctl, sysctlName, writeSysctl } from '../../link/sysctl.js';
import type { StepContext } from '../context.js';
import { inStep } from '../stepError.js';

export interface WantedSysctl {
  readonly key: Sysctl;
  readonly value: string;
  /** False: nice to have; when it cannot be set (read-only /proc/sys in a pod) apply warns and goes on. */
  readonly required: boolean;
}

/** The sysctls the data path needs, and nothing more. */
export function wantedSysctls(families: ReadonlySet<Family>, egressInterface: string): WantedSysctl[] {
  const wanted: WantedSysctl[] = [];
  if (families.has(4)) wanted.push({ key: sysctl('net', 'ipv4', 'ip_forward'), value: '1', required: true });
  if (families.has(6)) {
    wanted.push({ key: sysctl('net', 'ipv6', 'conf', 'all', 'forwarding'), value: '1', required: true });
    // The kernel then announces each new address (unsolicited NA) as soon as DAD completes.
    wanted.push({
      key: sysctl('net', 'ipv6', 'conf', egressInterface, 'ndisc_notify'),
      value: '1',
      required: false,
    });
  }
  return wanted;
}

/** Returns warnings for optional sysctls that could not be set. */
export async function ensureSysctls(ctx: StepContext): Promise<string[]> {
  const families = new Set(ctx.config.addresses.map((a) => a.family));
  const warnings: string[] = [];
  for (const { key, value, required } of wantedSysctls(families, ctx.options.egressInterface)) {
    const name = sysctlName(key);
    const ensure = async () => {
      const before = await readSysctl(key);
      if (before === value) return;
      await writeSysctl(key, value);
      ctx.undo.push(`${name}=${value}`, () => writeSysctl(key, before));
      ctx.changed('sysctl', `set ${name}=${value} (was ${before})`);
    };
    if (required) await inStep('sysctls', 'SysctlFailed', name, ensure);
    else {
      await ensure().catch((error: Error) => {
        warnings.push(
          `${error.message}; new IPv6 addresses are not announced (set it with the tuning CNI plugin)`,
        );
      });
    }
  }
  return warnings;
}
