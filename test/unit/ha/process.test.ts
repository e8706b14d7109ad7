import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProgram, withPrefix } from '../../../src/agent/ha/process.js';

describe('withPrefix', () => {
  it('runs argv through a prefix, or as it is without one', () => {
    expect(withPrefix(['nsenter', '--net=/run/netns/x', '--'], ['keepalived', '-n'])).toEqual([
      'nsenter',
      '--net=/run/netns/x',
      '--',
      'keepalived',
      '-n',
    ]);
    expect(withPrefix([], ['keepalived', '-n'])).toEqual(['keepalived', '-n']);
  });
});

describe('findProgram', () => {
  it('finds a program on PATH and an executable path', async () => {
    expect(await findProgram('sh')).toMatch(/\/sh$/);
    expect(await findProgram('/bin/sh')).toBe('/bin/sh');
  });

  it('finds nothing for a missing file, a file without execute bits, or a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'find-program-'));
    try {
      await writeFile(join(dir, 'plain'), 'x', { mode: 0o644 });
      expect(await findProgram('no-such-program-egress-router')).toBeUndefined();
      expect(await findProgram('/nonexistent/keepalived')).toBeUndefined();
      expect(await findProgram(join(dir, 'plain'))).toBeUndefined();
      expect(await findProgram(dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
