/**
 * V8's compile cache (node:module, Node 22.1+): the bytecode of the agent's modules is kept on
 * disk after the first run and reused, so later starts skip most parsing and compiling (see
 * docs/benchmarks.md, "Start-up on Node 24").
 */
import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A cache directory only this user can write: the agent runs as root and executes what the
 * cache holds, so a directory another user made or can write is not used. Undefined when no
 * such directory can be had (a read-only /tmp, for instance).
 */
export function privateCacheDir(base: string, uid: number): string | undefined {
  const dir = join(base, `egress-router-agent-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  try {
    const info = lstatSync(dir);
    const ownedAndPrivate = info.isDirectory() && info.uid === uid && (info.mode & 0o022) === 0;
    return ownedAndPrivate ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns the cache on for the modules loaded after this call. NODE_COMPILE_CACHE, when set,
 * has already chosen a directory (Node reads it at start-up); NODE_DISABLE_COMPILE_CACHE turns it
 * off. Failures only cost the speed-up.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  if (typeof module.enableCompileCache !== 'function' || env.NODE_COMPILE_CACHE) return;
  const dir = privateCacheDir(tmpdir(), process.getuid?.() ?? 0);
  if (dir !== undefined) module.enableCompileCache(dir);
}
