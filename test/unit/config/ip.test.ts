import { describe, expect, it } from 'vitest';
import {
  type IpLiteral,
  type IpPrefix,
  ipv4EdgeAddress,
  networkOf,
  parseIp,
  parsePrefix,
  prefixContains,
  specialKind,
} from '../../../src/config/ip.js';

function ip(text: string): IpLiteral {
  const parsed = parseIp(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error}`);
  return parsed.value;
}

function prefix(text: string): IpPrefix {
  const parsed = parsePrefix(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error}`);
  return parsed.value;
}

function ipError(text: string): string {
  const parsed = parseIp(text);
  if (parsed.ok) throw new Error(`${JSON.stringify(text)} unexpectedly parsed as ${parsed.value.address}`);
  return parsed.error;
}

function prefixError(text: string): string {
  const parsed = parsePrefix(text);
  if (parsed.ok) throw new Error(`${JSON.stringify(text)} unexpectedly parsed`);
  return parsed.error;
}

describe('parseIp: IPv4', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['10.0.0.0', '10.0.0.0'],
    ['1.2.3.4', '1.2.3.4'],
  ])('accepts %s', (text, canonical) => {
    expect(parseIp(text)).toEqual({ ok: true, value: { address: canonical, family: 4 } });
  });

  it.each(['01.2.3.4', '1.02.3.4', '1.2.3.04', '192.168.010.1', '00.0.0.0', '1.2.3.00'])(
    'rejects the leading zero in %s (octal in some tools)',
    (text) => {
      expect(ipError(text)).toMatch(/leading zero/);
      expect(ipError(text)).toContain(JSON.stringify(text));
    },
  );

  it.each(['256.1.1.1', '1.2.3.256', '999.0.0.1', '1.300.2.3'])(
    'rejects the octet above 255 in %s',
    (text) => {
      expect(ipError(text)).toMatch(/octet above 255/);
    },
  );

  it.each([
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.',
    '.1.2.3',
    '1..2.3',
    '0x1.2.3.4',
    '1.2.3.0x4',
    '16909060',
    '1.2.3.4a',
    'a.b.c.d',
    '1.2.3.-4',
    '1.2.3.+4',
    '1,2,3,4',
    '1.2.3.1234',
    '１.2.3.4',
    '1.2.3.4\n',
    'localhost',
  ])('rejects the malformed IPv4 literal %j', (text) => {
    expect(parseIp(text).ok).toBe(false);
  });

  it('rejects empty text', () => {
    expect(ipError('')).toBe('must not be empty');
  });

  it.each([' 1.2.3.4', '1.2.3.4 ', '\t1.2.3.4', '1.2.3.4\n'])(
    'rejects surrounding whitespace in %j',
    (text) => {
      expect(ipError(text)).toMatch(/surrounding whitespace/);
    },
  );

  it('rejects text too long to be an address without scanning it', () => {
    expect(ipError('1'.repeat(65))).toBe('is too long to be an IP address');
    expect(ipError(`1.2.3.4${' '.repeat(1_000_000)}`)).toBe('is too long to be an IP address');
  });

  it('quotes the offending text in the error', () => {
    expect(ipError('foo')).toBe('is not an IP address, got "foo"');
  });
});

describe('parseIp: IPv6', () => {
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['FE80::ABCD', 'fe80::abcd'],
    ['::', '::'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1::', '1::'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
  ])('canonicalizes %s to %s (RFC 5952)', (text, canonical) => {
    expect(parseIp(text)).toEqual({ ok: true, value: { address: canonical, family: 6 } });
  });

  it.each(['fe80::1%eth0', 'fe80::1%1', '2001:db8::1%', 'fe80::1%25eth0'])(
    'rejects the zone in %s',
    (text) => {
      expect(ipError(text)).toMatch(/must not carry a zone/);
    },
  );

  it.each(['::ffff:192.0.2.1', '::FFFF:192.0.2.1', '0:0:0:0:0:ffff:192.0.2.1', '::ffff:c000:201'])(
    'rejects the IPv4-mapped address %s',
    (text) => {
      expect(ipError(text)).toMatch(/IPv4-mapped IPv6 address .*write the IPv4 address itself/);
    },
  );

  it('reads embedded IPv4 notation as the address it encodes', () => {
    expect(ip('64:ff9b::192.0.2.33')).toEqual({ address: '64:ff9b::c000:221', family: 6 });
    expect(ip('2001:db8::1.2.3.4')).toEqual({ address: '2001:db8::102:304', family: 6 });
    expect(ip('1:2:3:4:5:6:1.2.3.4')).toEqual({ address: '1:2:3:4:5:6:102:304', family: 6 });
  });

  it('reads the deprecated IPv4-compatible form ::a.b.c.d as ::a.b.c.d, not as IPv4-mapped', () => {
    // RFC 4291 §2.5.5.1: ::1.2.3.4 is ::102:304; ipaddr.js alone misreads it as ::ffff:1.2.3.4.
    expect(ip('::1.2.3.4')).toEqual({ address: '::102:304', family: 6 });
    expect(ip('::1.2.3.4')).toEqual(ip('::102:304'));
  });

  it.each(['::01.2.3.4', '::1.2.3.256', '64:ff9b::1.2.3', '2001:db8::1.2.3.4.5'])(
    'rejects the malformed embedded IPv4 part in %s',
    (text) => {
      expect(parseIp(text).ok).toBe(false);
    },
  );

  it.each([
    '2001:db8::1::1',
    '2001:db8:::1',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::1',
    'g::1',
    ':1',
    '1:',
    '[::1]',
    '2001:db8::/64',
    '::ffff:1.2.3.4:80',
  ])('rejects the malformed IPv6 literal %s', (text) => {
    expect(parseIp(text).ok).toBe(false);
  });
});

describe('parsePrefix', () => {
  it('takes CIDR form and records that it was not bare', () => {
    expect(parsePrefix('192.0.2.100/24')).toEqual({
      ok: true,
      value: { address: '192.0.2.100', family: 4, prefixLength: 24, bare: false },
    });
    expect(parsePrefix('2001:DB8::64/64')).toEqual({
      ok: true,
      value: { address: '2001:db8::64', family: 6, prefixLength: 64, bare: false },
    });
  });

  it('reads a bare address as the host prefix', () => {
    expect(prefix('192.0.2.1')).toMatchObject({ prefixLength: 32, bare: true });
    expect(prefix('2001:db8::1')).toMatchObject({ prefixLength: 128, bare: true });
  });

  it.each([
    ['192.0.2.1/0', 0],
    ['192.0.2.1/1', 1],
    ['192.0.2.1/32', 32],
    ['2001:db8::1/0', 0],
    ['2001:db8::1/128', 128],
    ['2001:db8::1/99', 99],
  ])('accepts the prefix length in %s', (text, length) => {
    expect(prefix(text).prefixLength).toBe(length);
  });

  it.each([
    ['192.0.2.1/33', '"33" (must be 0..32)'],
    ['2001:db8::1/129', '"129" (must be 0..128)'],
    ['192.0.2.1/', '"" (must be 0..32)'],
    ['192.0.2.1/024', '"024"'],
    ['192.0.2.1/00', '"00"'],
    ['192.0.2.1/+24', '"+24"'],
    ['192.0.2.1/-1', '"-1"'],
    ['192.0.2.1/24 ', '"24 "'],
    ['192.0.2.1/ 24', '" 24"'],
    ['192.0.2.1/2.4', '"2.4"'],
    ['192.0.2.1/0x18', '"0x18"'],
    ['192.0.2.1/1000', '"1000"'],
    ['192.0.2.1/255.255.255.0', '"255.255.255.0"'],
    ['192.0.2.1/24/24', '"24/24"'],
  ])('rejects the prefix length in %s', (text, shown) => {
    const error = prefixError(text);
    expect(error).toMatch(/invalid prefix length/);
    expect(error).toContain(shown);
  });

  it('reports the address problem before the prefix', () => {
    expect(prefixError('01.2.3.4/24')).toMatch(/leading zero/);
    expect(prefixError('fe80::1%eth0/64')).toMatch(/zone/);
    expect(prefixError('/24')).toBe('must not be empty');
  });
});

describe('specialKind', () => {
  it.each([
    ['0.0.0.0', 'the unspecified address'],
    ['::', 'the unspecified address'],
    ['127.0.0.1', 'a loopback address'],
    ['127.255.255.254', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.255', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['255.255.255.255', 'the broadcast address'],
    ['fe80::1', 'a link-local address (it would need a zone)'],
    ['febf::1', 'a link-local address (it would need a zone)'],
  ])('%s is %s', (text, kind) => {
    expect(specialKind(ip(text))).toBe(kind);
  });

  it.each(['192.0.2.1', '10.0.0.1', '169.254.1.1', '100.64.0.1', '2001:db8::1', 'fd00::1', 'fec0::1'])(
    '%s is an ordinary address here',
    (text) => {
      expect(specialKind(ip(text))).toBeUndefined();
    },
  );
});

describe('prefixContains', () => {
  it.each([
    ['192.0.2.100/24', '192.0.2.1', true],
    ['192.0.2.100/24', '192.0.2.255', true],
    ['192.0.2.100/24', '192.0.3.1', false],
    ['192.0.2.100/25', '192.0.2.127', true],
    ['192.0.2.100/25', '192.0.2.128', false],
    ['192.0.2.100/32', '192.0.2.100', true],
    ['192.0.2.100/32', '192.0.2.101', false],
    ['10.1.2.3/0', '198.51.100.1', true],
    ['2001:db8::64/64', '2001:db8::1', true],
    ['2001:db8::64/64', '2001:db8:0:1::1', false],
    ['2001:db8::64/128', '2001:db8::64', true],
    ['2001:db8::64/0', '2001:dead::1', true],
  ])('%s contains %s: %s', (p, candidate, expected) => {
    expect(prefixContains(prefix(p), ip(candidate))).toBe(expected);
  });

  it('never matches across families', () => {
    expect(prefixContains(prefix('192.0.2.1/0'), ip('2001:db8::1'))).toBe(false);
    expect(prefixContains(prefix('::1.2.3.4/0'), ip('1.2.3.4'))).toBe(false);
    expect(prefixContains(prefix('2001:db8::/0'), ip('192.0.2.1'))).toBe(false);
  });
});

describe('ipv4EdgeAddress', () => {
  it.each([
    ['192.0.2.0/24', 'network'],
    ['192.0.2.255/24', 'broadcast'],
    ['10.0.0.0/30', 'network'],
    ['10.0.0.3/30', 'broadcast'],
    ['10.0.0.64/26', 'network'],
    ['10.0.0.127/26', 'broadcast'],
  ] as const)('%s is the %s address', (text, edge) => {
    expect(ipv4EdgeAddress(prefix(text))).toBe(edge);
  });

  it.each(['192.0.2.1/24', '192.0.2.254/24', '10.0.0.1/30', '10.0.0.0/31', '10.0.0.1/31', '10.0.0.0/32'])(
    '%s is not an edge address (a /31 and /32 have no network/broadcast)',
    (text) => {
      expect(ipv4EdgeAddress(prefix(text))).toBeUndefined();
    },
  );

  it('does not apply to IPv6', () => {
    expect(ipv4EdgeAddress(prefix('2001:db8::/64'))).toBeUndefined();
  });
});

describe('networkOf', () => {
  it.each([
    ['192.0.2.100/24', '192.0.2.0/24'],
    ['192.0.2.77/26', '192.0.2.64/26'],
    ['192.0.2.77/32', '192.0.2.77/32'],
    ['192.0.2.77/0', '0.0.0.0/0'],
    ['10.255.255.255/8', '10.0.0.0/8'],
    ['2001:db8::64/64', '2001:db8::/64'],
    ['2001:db8:1:2:3::1/48', '2001:db8:1::/48'],
    ['2001:db8:1:2:3::1/0', '::/0'],
    ['2001:db8:1:2:3::1/128', '2001:db8:1:2:3::1/128'],
    ['2001:db8:ffff:ffff::1/33', '2001:db8:8000::/33'],
    ['2001:db8::ffff/127', '2001:db8::fffe/127'],
  ])('%s is in %s', (text, network) => {
    expect(networkOf(prefix(text))).toBe(network);
  });
});
