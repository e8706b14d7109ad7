/**
 * Network namespaces on this machine, as the kit needs them: list them, list the links of the
 * caller's own namespace, find and kill the processes inside a namespace, delete a namespace,
 * and remove every namespace with a given prefix (the demo's teardown).
 *
 * Namespaces are named (`ip netns add`), so /run/netns/<name> is the path an agent takes as
 * `--master-netns`. Processes inside are found with `ip netns pids`, which reports every process
 * whose network namespace it is, whoever started it.
 */
import { readFileSync } from 'node:fs';
import { pollUntil, run } from './process.js';

/** The named network namespaces. */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list'], { timeoutMs: 20_000 });
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** The link names in the caller's own namespace. */
export async function rootLinkNames(): Promise<string[]> {
  const { stdout } = await run(['ip', '-o', 'link', 'show'], { timeoutMs: 20_000 });
  return stdout
    .split('\n')
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? '')
    .filter((name) => name !== '');
}

/** The pids of the processes in namespace `name` (empty when it does not exist). */
export async function namespacePids(name: string): Promise<number[]> {
  const result = await run(['ip', 'netns', 'pids', name], { reject: false, timeoutMs: 10_000 });
  return result.stdout
    .split(/\s+/)
    .filter((word) => /^\d+$/.test(word))
    .map(Number);
}

/** `argv` of a process, from /proc (empty once it is gone). */
export function processArgv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}

/** The environment of a process, from /proc (empty once it is gone). */
export function processEnv(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } catch {
    // gone
  }
  return env;
}

/** SIGKILL to every process in the namespace (they are ours: the namespace is). */
export async function killProcessesIn(name: string): Promise<number> {
  const pids = await namespacePids(name);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}

export interface DeleteOptions {
  /**
   * `nft flush ruleset` inside first: the kernel frees a large table in the background after the
   * namespace goes, which would slow down what is timed next.
   */
  readonly flushNft?: boolean;
}

/** Kills what runs inside and deletes the namespace; a namespace already gone is fine. */
export async function deleteNamespace(name: string, options: DeleteOptions = {}): Promise<void> {
  await killProcessesIn(name);
  if (options.flushNft)
    await run(['ip', 'netns', 'exec', name, 'nft', 'flush', 'ruleset'], { reject: false, timeoutMs: 60_000 });
  const result = await run(['ip', 'netns', 'delete', name], { reject: false });
  if (result.failed && !/No such file|Invalid argument/.test(result.stderr))
    throw new Error(`ip netns delete ${name}: ${result.stderr.trim()}`);
}

/** Waits until the namespace name is free again. */
export async function waitNamespaceGone(name: string, timeoutMs = 10_000): Promise<void> {
  await pollUntil(async () => !(await listNetns()).includes(name), timeoutMs, `namespace ${name} to go`);
}

/**
 * Kills the processes in, and deletes, every namespace whose name starts with `prefix`; returns
 * how many there were. Only for a caller-chosen fixed prefix (the demo's): the kit's own runs
 * are removed by their topology or by the sweep, which checks the owner first.
 */
export async function destroyNamespacesWithPrefix(prefix: string): Promise<number> {
  if (prefix.length < 3 || !prefix.endsWith('-')) throw new Error(`refusing a prefix this broad: ${prefix}`);
  const names = (await listNetns()).filter((name) => name.startsWith(prefix));
  for (const name of names) await killProcessesIn(name);
  for (const name of names) await deleteNamespace(name);
  return names.length;
}
