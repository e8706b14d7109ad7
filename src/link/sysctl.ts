/** Network sysctls of the agent's own namespace, through /proc/sys (no shell, no sysctl binary). */
import { readFile, writeFile } from 'node:fs/promises';

/** A sysctl named by its path segments, so interface names with dots (eth0.100) stay intact. */
export interface Sysctl {
  readonly segments: readonly string[];
}

export const sysctl = (...segments: string[]): Sysctl => ({ segments });
export const sysctlName = (s: Sysctl): string => s.segments.join('.');
const pathOf = (s: Sysctl): string => `/proc/sys/${s.segments.join('/')}`;

export async function readSysctl(s: Sysctl): Promise<string> {
  return (await readFile(pathOf(s), 'utf8')).trim();
}

export async function writeSysctl(s: Sysctl, value: string): Promise<void> {
  try {
    await writeFile(pathOf(s), value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
        ? ' (allow it in the pod spec: securityContext.sysctls)'
        : '';
    throw new Error(`cannot set ${sysctlName(s)}=${value}: ${(error as Error).message}${hint}`);
  }
}

/** How sysctls are read and written: injected, so a fake kernel can stand in for /proc/sys. */
export interface SysctlIo {
  read(s: Sysctl): Promise<string>;
  write(s: Sysctl, value: string): Promise<void>;
}

export const procSysctl: SysctlIo = { read: readSysctl, write: writeSysctl };
