import { describe, expect, it } from 'vitest';
import { parseHealthAddr } from '../../../src/config/healthAddr.js';

function error(text: string): string {
  const parsed = parseHealthAddr(text);
  if (parsed.ok) throw new Error(`${JSON.stringify(text)} unexpectedly parsed`);
  return parsed.error;
}

describe('parseHealthAddr', () => {
  it.each([
    [':9099', { port: 9099 }],
    [':1', { port: 1 }],
    [':65535', { port: 65535 }],
    ['0.0.0.0:9099', { host: '0.0.0.0', port: 9099 }],
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['[::]:9099', { host: '::', port: 9099 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['[2001:DB8:0::1]:80', { host: '2001:db8::1', port: 80 }],
    ['localhost:9099', { host: 'localhost', port: 9099 }],
  ])('accepts %s', (text, value) => {
    expect(parseHealthAddr(text)).toEqual({ ok: true, value });
  });

  it('treats an empty host, bracketed or not, as every address', () => {
    expect(parseHealthAddr(':80')).toEqual({ ok: true, value: { port: 80 } });
    expect(parseHealthAddr('[]:80')).toEqual({ ok: true, value: { port: 80 } });
  });

  it.each(['', '9099', '::1:80', '1.2.3.4:80:80', '[::1]80', '[::1', '::1]:80', 'a[b]:80', '[::1]:80:'])(
    'rejects %j as not HOST:PORT',
    (text) => {
      expect(error(text)).toMatch(/^must be HOST:PORT, \[IPv6\]:PORT or :PORT, got /);
    },
  );

  it.each([
    [':0', /^port must be 1\.\.65535, got 0$/],
    [':65536', /^port must be 1\.\.65535, got 65536$/],
    [':99999999999999999999', /^port must be 1\.\.65535/],
    [':', /^port must be a decimal port number, got ""$/],
    [':+80', /^port must be a decimal port number, got "\+80"$/],
    [':0x50', /^port must be a decimal port number/],
    [':8e1', /^port must be a decimal port number/],
    [':-1', /^port must be a decimal port number/],
    [':80 ', /^port must be a decimal port number/],
    [': 80', /^port must be a decimal port number/],
    [':080', /^port must not have leading zeros, got "080"$/],
    ['[::]:', /^port must be a decimal port number/],
  ])('rejects the port in %j', (text, message) => {
    expect(error(text)).toMatch(message);
  });

  it.each([
    ['host:80', /^host is not an IP address, got "host"$/],
    ['LOCALHOST:80', /^host is not an IP address/],
    ['01.2.3.4:80', /^host has a leading zero/],
    [' :80', /^host has surrounding whitespace/],
    ['[fe80::1%eth0]:80', /^host must not carry a zone/],
    ['[::ffff:1.2.3.4]:80', /^host is an IPv4-mapped IPv6 address/],
  ])('rejects the host in %j', (text, message) => {
    expect(error(text)).toMatch(message);
  });

  it('requires brackets for IPv6 and only for IPv6', () => {
    expect(error('[127.0.0.1]:80')).toBe('brackets are for IPv6 hosts only');
    expect(error('[localhost]:80')).toBe('brackets are for IPv6 hosts only');
    // `::` without brackets cannot even be split; a single-colon IPv6 form does not exist.
    expect(error('::80')).toMatch(/^must be HOST:PORT/);
  });
});
