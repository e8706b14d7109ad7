// The compile cache's directory choice, on the real filesystem in a private temp dir.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateCacheDir } from '../../src/cli/compileCache.js';

const uid = process.getuid?.() ?? 0;

describe('privateCacheDir', () => {
  let base = '';
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'ert-cache-'));
  });
  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('creates a directory only its user can use, and finds it again', () => {
    const dir = privateCacheDir(base, uid);
    expect(dir).toBe(join(base, `egress-router-agent-compile-cache-${uid}`));
    const info = statSync(dir!);
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);
    expect(privateCacheDir(base, uid)).toBe(dir);
  });

  it('refuses a directory others can write', () => {
    const dir = join(base, `egress-router-agent-compile-cache-${uid}`);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(privateCacheDir(base, uid)).toBeUndefined();
    chmodSync(dir, 0o755);
    expect(privateCacheDir(base, uid)).toBe(dir);
  });

  it('refuses a symlink planted where the directory goes', () => {
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, join(base, `egress-router-agent-compile-cache-${uid}`));
    expect(privateCacheDir(base, uid)).toBeUndefined();
  });

  it.skipIf(uid !== 0)('refuses a directory another user made', () => {
    const dir = join(base, `egress-router-agent-compile-cache-${uid}`);
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(privateCacheDir(base, uid)).toBeUndefined();
  });

  it('gives up when the base cannot hold it', () => {
    expect(privateCacheDir(join(base, 'missing', 'deeper'), uid)).toBeUndefined();
  });
});
