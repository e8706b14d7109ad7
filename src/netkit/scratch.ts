/**
 * One bare namespace (only `lo`, up) under a claimed kit prefix, for tests that need a kernel
 * to talk to but no network (e.g. `nft -c` on rendered rulesets): `createScratchNamespace()` →
 * `{ name, exec(argv), destroy() }`. Same ownership rules as a topology: swept if the run dies.
 */
import { deleteNamespace } from './netns.js';
import { claimPrefix, releasePrefix, sweepLeftovers } from './ownership.js';
import { type RunOptions, type RunResult, run } from './process.js';

export interface ScratchNamespace {
  readonly name: string;
  /** `ip netns exec NAME argv…`; throws on failure unless reject: false. */
  exec(argv: readonly string[], options?: Omit<RunOptions, 'cwd'>): Promise<RunResult>;
  /** Kills what runs inside and deletes it; idempotent. */
  destroy(): Promise<void>;
}

export async function createScratchNamespace(kind: 'ert' | 'erb' = 'ert'): Promise<ScratchNamespace> {
  await sweepLeftovers();
  const prefix = await claimPrefix(kind);
  const name = `${prefix}chk`;
  try {
    await run(['ip', 'netns', 'add', name]);
    await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await deleteNamespace(name);
    releasePrefix(prefix);
    throw error;
  }
  let destroying: Promise<void> | undefined;
  return {
    name,
    exec: (argv, options = {}) =>
      run(['ip', 'netns', 'exec', name, ...argv], { timeoutMs: 60_000, ...options }),
    destroy: () => {
      destroying ??= (async () => {
        await deleteNamespace(name);
        releasePrefix(prefix);
      })();
      return destroying;
    },
  };
}
