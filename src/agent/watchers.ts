/**
 * What tells the loop to look again: the config's directory (Kubernetes swaps the `..data`
 * symlink of a mounted ConfigMap, which watching the file alone misses), kernel events for links,
 * addresses, routes and rules (`ip monitor`), ruleset events (`nft monitor`), and a cheap poll of
 * the forwarding sysctls, which have no events. Monitors are restarted with backoff when they
 * exit, report whether they run, and die with the agent (parent-death signal).
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Sysctl } from '../link/sysctl.js';
import { TABLE_NAME } from '../nft/model.js';
import type { LineStream } from '../system/command.js';
import type { System } from '../system/system.js';

export interface Stoppable {
  stop(): void;
}

/** The link kubelet renames over to publish a ConfigMap's new version in one step. */
const CONFIGMAP_SWAP = '..data';

/**
 * Calls `onChange` when the config file's directory shows a new version of it: at once (after
 * `swapDebounceMs`) when kubelet's atomic `..data` swap lands, since that rename is the moment
 * the new version is complete; after `debounceMs` of quiet when the file itself is written or
 * replaced (a writer in place may still be writing). Kubelet's other steps (the new version's
 * directory, `..data_tmp`, removing the old version) are not changes of the config.
 */
export function watchConfigDirectory(
  path: string,
  onChange: () => void,
  debounceMs = 50,
  swapDebounceMs = 2,
): Stoppable {
  let timer: NodeJS.Timeout | undefined;
  const file = basename(path);
  const fire = (_event: string, filename: string | Buffer | null) => {
    const name = filename?.toString();
    // No name (not on Linux, but possible elsewhere): anything may be the change.
    const delay =
      name === CONFIGMAP_SWAP ? swapDebounceMs : name === undefined || name === file ? debounceMs : undefined;
    if (delay === undefined) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, delay);
  };
  // The loop compares the file's version and fingerprint, so an extra event costs one stat.
  let watcher: FSWatcher | undefined = watch(dirname(path), { persistent: false }, fire);
  watcher.on('error', () => {
    watcher?.close();
    watcher = undefined;
  });
  return {
    stop() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

export interface Monitor extends Stoppable {
  /** Whether the monitor runs now. */
  alive(): boolean;
  readonly restarts: number;
}

export interface MonitorHooks {
  /** The monitor ended on its own (it will be restarted after `retryInMs`). */
  readonly onExit: (why: string, retryInMs: number) => void;
  readonly onRestart?: () => void;
  /** The monitor's process started (the first time and after each restart). */
  readonly onStart?: () => void;
}

/** Runs a monitor, restarting it with backoff (1 s doubling to 30 s) whenever it exits. */
export function superviseMonitor(
  system: System,
  argv: readonly [string, ...string[]],
  onLine: (line: string) => void,
  hooks: MonitorHooks,
): Monitor {
  let stream: LineStream | undefined;
  let stopped = false;
  let running = false;
  let delay = 1_000;
  let restarts = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let healthyTimer: ReturnType<typeof setTimeout> | undefined;
  const start = () => {
    running = true;
    // Before the spawn: an exit reported at once still comes after it.
    hooks.onStart?.();
    stream = system.streamLines(argv, onLine, (why) => {
      running = false;
      if (stopped) return;
      if (healthyTimer) clearTimeout(healthyTimer);
      hooks.onExit(why, delay);
      timer = setTimeout(() => {
        restarts++;
        start();
        hooks.onRestart?.();
      }, delay);
      timer.unref?.();
      delay = Math.min(delay * 2, 30_000);
    });
    // A monitor that stays up for a minute has recovered: the next exit starts the backoff over.
    healthyTimer = setTimeout(() => {
      delay = 1_000;
    }, 60_000);
    healthyTimer.unref?.();
  };
  start();
  return {
    alive: () => running,
    get restarts() {
      return restarts;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (healthyTimer) clearTimeout(healthyTimer);
      stream?.stop();
    },
  };
}

export function monitorLinksAddressesRoutes(
  system: System,
  onEvent: () => void,
  hooks: MonitorHooks,
): Monitor {
  return superviseMonitor(
    system,
    ['ip', '-o', 'monitor', 'link', 'address', 'route', 'rule'],
    onEvent,
    hooks,
  );
}

const GENERATION = /^# new generation \d+ by process (\d+)/;

/**
 * `nft monitor`: the lines of one transaction come first, then `# new generation N by process PID`.
 * A transaction by another process that touched the agent's table is drift; so is one that
 * printed no detail at all (nft 1.0.6 prints only the generation line after some chain
 * rewrites, and "unknown set" warnings). The agent's own transactions are not.
 */
export function monitorRuleset(system: System, onForeignChange: () => void, hooks: MonitorHooks): Monitor {
  let touched = false;
  let details = 0;
  return superviseMonitor(
    system,
    ['nft', 'monitor'],
    (line) => {
      const generation = GENERATION.exec(line);
      if (!generation) {
        details++;
        if (line.includes(TABLE_NAME)) touched = true;
        return;
      }
      const foreign = !system.isOwnProcess(Number(generation[1]));
      if (foreign && (touched || details === 0)) onForeignChange();
      touched = false;
      details = 0;
    },
    hooks,
  );
}

/** Polls sysctls every `intervalMs` and calls `onDrift` when one differs from its wanted value. */
export function pollSysctls(
  system: System,
  wanted: () => readonly { key: Sysctl; value: string }[],
  onDrift: (description: string) => void,
  intervalMs = 1_000,
): Stoppable {
  const timer = setInterval(async () => {
    for (const { key, value } of wanted()) {
      const current = await system.sysctl.read(key).catch(() => undefined);
      if (current !== undefined && current !== value) {
        onDrift(`${key.segments.join('.')} is ${current}, wanted ${value}`);
        return;
      }
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
