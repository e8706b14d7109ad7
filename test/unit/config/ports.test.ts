import { describe, expect, it } from 'vitest';
import { interfaceNameProblem } from '../../../src/config/names.js';
import { parsePortText } from '../../../src/config/ports.js';

describe('parsePortText', () => {
  it.each([
    ['1', 1],
    ['80', 80],
    ['65535', 65535],
    ['0', 0],
    ['65536', 65536],
    ['999999999999999', 999999999999999],
  ])('reads %s as %d (range is left to the validator)', (text, value) => {
    expect(parsePortText(text)).toEqual({ ok: true, value });
  });

  it('clamps absurdly long digit strings to a safe integer instead of losing precision', () => {
    expect(parsePortText('1234567890123456789012345')).toEqual({ ok: true, value: Number.MAX_SAFE_INTEGER });
  });

  it.each([
    '+80',
    '-80',
    '0x50',
    '8e1',
    '80.0',
    '80.',
    ' 80',
    '80 ',
    '',
    '٨٠',
    '８０',
    'Infinity',
    'NaN',
    '1_000',
  ])('rejects %j as not plain decimal', (text) => {
    const parsed = parsePortText(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(/^must be a decimal port number, got /);
  });

  it.each(['080', '00', '0080', '065535'])('rejects the leading zero in %s', (text) => {
    expect(parsePortText(text)).toEqual({
      ok: false,
      error: `must not have leading zeros, got ${JSON.stringify(text)}`,
    });
  });

  it('shows at most 40 characters of the text', () => {
    const parsed = parsePortText(`x${'9'.repeat(1000)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.length).toBeLessThan(100);
  });
});

describe('interfaceNameProblem', () => {
  it.each([
    'eth0',
    'ens4',
    'ens4f0',
    'eth0.100',
    'bond0',
    'br-ex',
    'x'.repeat(15),
    'a_b',
    '..a',
    'TCP0',
    'tcpdump',
  ])('accepts %j', (name) => {
    expect(interfaceNameProblem(name)).toBeUndefined();
  });

  it('counts bytes, not characters, against the 15-byte limit', () => {
    expect(interfaceNameProblem('x'.repeat(16))).toMatch(/^must be at most 15 bytes/);
    // 8 characters, 16 bytes: the length check speaks first.
    expect(interfaceNameProblem('é'.repeat(8))).toMatch(/^must be at most 15 bytes/);
  });

  it.each([
    'a/b',
    'a:b',
    'a b',
    'a\tb',
    'a\nb',
    'a\u0000b',
    'a\u007fb',
    'a\u001bb',
    '\u00a0x',
    'é',
    '@set',
    'eth*',
    'a"b',
    "a'b",
    'a\\b',
    'a;b',
  ])('rejects %j', (name) => {
    expect(interfaceNameProblem(name)).toMatch(/^may contain only letters, digits, '_', '\.' and '-', got /);
  });

  it.each(['tcp', 'UDP', 'sctp', 'icmp', 'icmpv6', 'redirect', 'Redirect'])(
    'rejects the nftables keyword %j',
    (name) => {
      expect(interfaceNameProblem(name)).toBe(`${JSON.stringify(name)} is an nftables keyword`);
    },
  );

  it('rejects empty, "." and ".."', () => {
    expect(interfaceNameProblem('')).toBe('must not be empty');
    expect(interfaceNameProblem('.')).toBe('cannot be "."');
    expect(interfaceNameProblem('..')).toBe('cannot be ".."');
  });

  it('shows at most 40 characters of the name', () => {
    expect(interfaceNameProblem('a b')).toBe(`may contain only letters, digits, '_', '.' and '-', got "a b"`);
  });
});
