/**
 * /proc/sys/net of a fake namespace. The defaults are the kernel's in a fresh namespace (read on
 * this machine kind; the fidelity test compares them). Per-interface keys appear with the
 * interface, copied from `conf/default`, and go with it. Writing `ip_forward` or IPv6
 * `conf/all/forwarding` sets every interface too, as the kernel does.
 */
import type { Sysctl, SysctlIo } from '../../src/link/sysctl.js';
import type { Netns } from './state.js';

const GLOBAL: Record<string, string> = {
  'net/ipv4/ip_forward': '0',
  'net/ipv4/ip_nonlocal_bind': '0',
  'net/ipv6/ip_nonlocal_bind': '0',
  'net/ipv4/icmp_ratelimit': '1000',
  'net/ipv6/icmp/ratelimit': '100',
};

const IPV4_CONF: Record<string, string> = {
  forwarding: '0',
  rp_filter: '0',
  arp_notify: '0',
  arp_ignore: '0',
  arp_announce: '0',
  promote_secondaries: '0',
  accept_local: '0',
  send_redirects: '1',
  proxy_arp: '0',
  route_localnet: '0',
};

const IPV6_CONF: Record<string, string> = {
  forwarding: '0',
  disable_ipv6: '0',
  accept_dad: '1',
  dad_transmits: '1',
  ndisc_notify: '0',
  keep_addr_on_down: '0',
  accept_ra: '1',
  autoconf: '1',
  addr_gen_mode: '0',
};

/** `conf/all` differs from the per-device default here. */
const IPV6_ALL: Record<string, string> = { ...IPV6_CONF, accept_dad: '0' };

const confKeys = (family: 'ipv4' | 'ipv6', device: string, values: Record<string, string>) =>
  Object.entries(values).map(([key, value]) => [`net/${family}/conf/${device}/${key}`, value] as const);

/** The kernel default of a key, whatever the device (undefined for keys the fake does not know). */
export function defaultOf(path: string): string | undefined {
  if (path in GLOBAL) return GLOBAL[path];
  const match = /^net\/(ipv4|ipv6)\/conf\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const [, family, device, key = ''] = match;
  if (family === 'ipv4') return IPV4_CONF[key];
  return (device === 'all' ? IPV6_ALL : IPV6_CONF)[key];
}

export function initSysctls(ns: Netns): void {
  for (const [path, value] of Object.entries(GLOBAL)) ns.sysctls.set(path, value);
  for (const [path, value] of [
    ...confKeys('ipv4', 'all', IPV4_CONF),
    ...confKeys('ipv4', 'default', IPV4_CONF),
    ...confKeys('ipv6', 'all', IPV6_ALL),
    ...confKeys('ipv6', 'default', IPV6_CONF),
  ])
    ns.sysctls.set(path, value);
}

const deviceKeys = (ns: Netns, device: string): string[] =>
  [...ns.sysctls.keys()].filter(
    (path) => /^net\/ipv[46]\/conf\/[^/]+\//.test(path) && path.split('/')[3] === device,
  );

/** A new device starts from the namespace's current `conf/default` values. */
export function addDeviceSysctls(ns: Netns, device: string): void {
  for (const path of deviceKeys(ns, 'default')) {
    const value = ns.sysctls.get(path);
    if (value !== undefined) ns.sysctls.set(path.replace('/conf/default/', `/conf/${device}/`), value);
  }
}

export function removeDeviceSysctls(ns: Netns, device: string): void {
  for (const path of deviceKeys(ns, device)) {
    ns.sysctls.delete(path);
    ns.readOnlySysctls.delete(path);
  }
}

export function renameDeviceSysctls(ns: Netns, from: string, to: string): void {
  for (const path of deviceKeys(ns, from)) {
    const value = ns.sysctls.get(path) ?? '';
    ns.sysctls.delete(path);
    ns.sysctls.set(path.replace(`/conf/${from}/`, `/conf/${to}/`), value);
  }
}

function fsError(code: string, text: string, syscall: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${text}, ${syscall} '${path}'`);
  error.code = code;
  error.syscall = syscall;
  error.path = path;
  return error;
}

export function readSysctlPath(ns: Netns, path: string): string {
  const value = ns.sysctls.get(path);
  if (value === undefined) throw fsError('ENOENT', 'no such file or directory', 'open', `/proc/sys/${path}`);
  return value;
}

/** Throws what writeFile on /proc/sys would: ENOENT, EROFS, EINVAL. */
export function writeSysctlPath(ns: Netns, path: string, raw: string): void {
  const file = `/proc/sys/${path}`;
  if (!ns.sysctls.has(path)) throw fsError('ENOENT', 'no such file or directory', 'open', file);
  if (ns.readOnlySysctls.has(path)) throw fsError('EROFS', 'read-only file system', 'open', file);
  const value = raw.trim();
  if (!/^-?\d+$/.test(value)) throw fsError('EINVAL', 'invalid argument', 'write', file);
  const normal = String(Number(value));
  ns.sysctls.set(path, normal);
  if (path === 'net/ipv4/ip_forward' || path === 'net/ipv4/conf/all/forwarding') {
    ns.sysctls.set('net/ipv4/ip_forward', normal);
    for (const key of ns.sysctls.keys())
      if (/^net\/ipv4\/conf\/[^/]+\/forwarding$/.test(key)) ns.sysctls.set(key, normal);
  }
  if (path === 'net/ipv6/conf/all/forwarding') {
    for (const key of ns.sysctls.keys())
      if (/^net\/ipv6\/conf\/[^/]+\/forwarding$/.test(key)) ns.sysctls.set(key, normal);
  }
}

/** The shape of `writeSysctl`'s error (src/link/sysctl.ts), so messages read the same. */
function writeFailure(name: string, value: string, error: NodeJS.ErrnoException): Error {
  const hint =
    error.code === 'EROFS' || error.code === 'EACCES' || error.code === 'EPERM'
      ? ' (allow it in the pod spec: securityContext.sysctls)'
      : '';
  return new Error(`cannot set ${name}=${value}: ${error.message}${hint}`);
}

export function sysctlIo(ns: Netns): SysctlIo {
  const pathOf = (s: Sysctl): string => s.segments.join('/');
  return {
    read: async (s) => readSysctlPath(ns, pathOf(s)),
    write: async (s, value) => {
      try {
        writeSysctlPath(ns, pathOf(s), value);
      } catch (error) {
        throw writeFailure(s.segments.join('.'), value, error as NodeJS.ErrnoException);
      }
    },
  };
}
