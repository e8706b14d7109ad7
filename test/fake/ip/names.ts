/** iproute2's names for numbers: route protocols, tables, scopes (rt_protos, rt_tables, rt_scopes). */

const PROTOCOLS: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  18: 'keepalived',
  42: 'babel',
  99: 'openr',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};

const TABLES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };
const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

const lookup = (names: Record<number, string>, text: string, max: number): number | undefined => {
  const named = Object.entries(names).find(([, name]) => name === text);
  if (named) return Number(named[0]);
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) {
    const value = Number(text);
    return value <= max ? value : undefined;
  }
  return undefined;
};

export const protocolName = (n: number): string => PROTOCOLS[n] ?? String(n);
export const tableName = (n: number): string => TABLES[n] ?? String(n);
export const scopeName = (n: number): string => SCOPES[n] ?? String(n);

export const parseProtocol = (text: string): number | undefined => lookup(PROTOCOLS, text, 255);
export const parseTable = (text: string): number | undefined => lookup(TABLES, text, 0xffffffff);
export const parseScope = (text: string): number | undefined => lookup(SCOPES, text, 255);

export const RTPROT = { unspec: 0, kernel: 2, boot: 3 } as const;
export const RT_SCOPE = { universe: 0, link: 253, host: 254 } as const;
