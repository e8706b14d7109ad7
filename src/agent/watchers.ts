/**
 * What tells the reconciler to look again: the config's directory (Kubernetes swaps the
 * `..data` symlink of a mounted ConfigMap, which watching the file alone misses), kernel
 * events for links, addresses and routes (`ip monitor`), ruleset events (`nft monitor`), and
 * a cheap poll of the forwarding sysctls, which have no events.
 */
import { type FSWatcher, watch } from 'node:fs';
import { dirname } from 'node:path';
import { readSysctl, type Sysctl } from '../link/sysctl.js';
import { TABLE_NAME } from '../nft/model.js';
import { streamLines } from '../system/command.js';

export interface Stoppable {
  stop(): void;
}

/** Calls `onChange` (debounced) when anything in the config file's directory changes. */
export function watchConfigDirectory(path: string, onChange: () => void, debounceMs = 50): Stoppable {
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  // Any event may be the `..data` swap; the reconciler compares fingerprints, so extra events cost one read.
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

function monitor(
  argv: [string, ...string[]],
  onLine: (line: string) => void,
  onExit: (why: string) => void,
): Stoppable {
  return streamLines(argv, onLine, onExit);
}

export function monitorLinksAddressesRoutes(
  onEvent: (line: string) => void,
  onExit: (why: string) => void,
): Stoppable {
  return monitor(['ip', '-o', 'monitor', 'link', 'address', 'route', 'rule'], onEvent, onExit);
}

export function monitorRuleset(onEvent: (line: string) => void, onExit: (why: string) => void): Stoppable {
  return monitor(
    ['nft', 'monitor'],
    (line) => {
      if (line.includes(TABLE_NAME)) onEvent(line);
    },
    onExit,
  );
}

/** Polls sysctls every `intervalMs` and calls `onDrift` when one differs from its wanted value. */
export function pollSysctls(
  wanted: () => readonly { key: Sysctl; value: string }[],
  onDrift: (description: string) => void,
  intervalMs = 1_000,
): Stoppable {
  const timer = setInterval(async () => {
    for (const { key, value } of wanted()) {
      const current = await readSysctl(key).catch(() => undefined);
      if (current !== undefined && current !== value) {
        onDrift(`${key.segments.join('.')} is ${current}, wanted ${value}`);
        return;
      }
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
