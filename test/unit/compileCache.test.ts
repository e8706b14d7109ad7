// The compile cache's directory choice, on the real filesystem in a private temp dir; and what
// the cache does when a module is rebuilt in place, with a real Node process.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

describe('enableCompileCache with a module rebuilt in place', () => {
  let base = '';
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'ert-cache-'));
  });
  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  // Every checkout and build shares one cache directory, keyed by path only: a rebuild that
  // changes a module at the same path, to the same length, must still be served fresh. (Node
  // stores the source's size and CRC32 with each entry and drops a mismatch.)
  it('serves the new source at the same path, never the code cached for the old one', () => {
    const compileCache = fileURLToPath(new URL('../../src/cli/compileCache.ts', import.meta.url));
    const module = join(base, 'module.mjs');
    const main = join(base, 'main.mjs');
    writeFileSync(
      main,
      `import { enableCompileCache } from ${JSON.stringify(compileCache)};\n` +
        'enableCompileCache();\n' +
        "const loaded = await import('./module.mjs');\n" +
        "console.log(Object.keys(loaded).join(','));\n",
    );
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: base };
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    const start = (extra: NodeJS.ProcessEnv = {}) => {
      const result = spawnSync(process.execPath, [main], { env: { ...env, ...extra }, encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      return { exports: result.stdout.trim(), debug: result.stderr };
    };

    writeFileSync(module, 'export const alpha = 1;\n');
    expect(start().exports).toBe('alpha');
    // The next start loads the module's code from the cache, so a stale entry would be served.
    const warm = start({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    expect(warm.exports).toBe('alpha');
    expect(warm.debug).toMatch(/V8 code cache for ESM \S*module\.mjs was accepted/);

    writeFileSync(module, 'export const bravo = 1;\n');
    const rebuilt = start({ NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    expect(rebuilt.debug).toMatch(/code hash mismatch/);
    expect(rebuilt.exports).toBe('bravo');
  });
});
