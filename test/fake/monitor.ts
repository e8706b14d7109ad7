/**
 * `System.streamLines` over the fake: `ip -o monitor [link] [address] [route] [rule]` and
 * `nft monitor` (optionally behind `nsenter --net=PATH --`) get a line per change of their
 * namespace, whoever made it, delivered on a microtask (like a pipe, never inside the change).
 * Anything else ends at once the way a missing program does.
 */
import type { LineStream, StreamLines } from '../../src/system/command.js';
import type { CommandRecord } from './runner.js';
import type { EventGroup, KernelEvent, Netns } from './state.js';

const IP_GROUPS: readonly [string, EventGroup][] = [
  ['link', 'link'],
  ['address', 'address'],
  ['route', 'route'],
  ['rule', 'rule'],
];

/** The event groups an argv listens to, or a reason it cannot run. */
function groupsOf(argv: readonly string[]): Set<EventGroup> | string {
  const [program, ...args] = argv;
  if (program === 'nft') return args[0] === 'monitor' ? new Set(['nft']) : `${argv.join(' ')} exited (1)`;
  if (program !== 'ip') return `${argv.join(' ')} failed: spawn ${program} ENOENT`;
  const at = args.findIndex((a) => a === 'monitor' || a === 'mon');
  if (at < 0) return `${argv.join(' ')} exited (255)`;
  const objects = args.slice(at + 1).filter((a) => a !== 'all');
  if (objects.length === 0) return new Set(IP_GROUPS.map(([, g]) => g));
  const groups = new Set<EventGroup>();
  for (const word of objects) {
    const group = IP_GROUPS.find(([name]) => name.startsWith(word))?.[1];
    if (!group) return `${argv.join(' ')} exited (255)`;
    groups.add(group);
  }
  return groups;
}

export interface Stream {
  readonly argv: readonly string[];
  /** Ends the stream as if the program had exited on its own. */
  readonly end: (why: string) => void;
}

export interface MonitorHost {
  readonly namespaceAt: (path: string) => Netns | undefined;
  readonly record: (record: CommandRecord) => void;
  readonly pid: () => number;
  readonly streams: Set<Stream>;
}

export function fakeStreamLines(home: Netns, host: MonitorHost): StreamLines {
  return (argv, onLine, onExit): LineStream => {
    let ns: Netns | undefined = home;
    let program: readonly string[] = argv;
    if (argv[0] === 'nsenter') {
      const net = argv.find((a) => a.startsWith('--net='))?.slice('--net='.length) ?? '';
      ns = host.namespaceAt(net);
      program = argv.slice(argv.indexOf('--') + 1);
    }
    host.record({ argv: [...argv], namespace: home.name, pid: host.pid(), kind: 'stream' });
    let stopped = false;
    const groups = ns ? groupsOf(program) : `${argv.join(' ')} exited (1)`;
    if (typeof groups === 'string' || !ns) {
      queueMicrotask(() => {
        if (!stopped) onExit(typeof groups === 'string' ? groups : `${argv.join(' ')} exited (1)`);
      });
      return {
        stop: () => {
          stopped = true;
        },
      };
    }
    const target = ns;
    const listener = (event: KernelEvent) => {
      if (groups.has(event.group)) queueMicrotask(() => stopped || onLine(event.line));
    };
    const stream: Stream = {
      argv,
      end: (why) => {
        if (stopped) return;
        stop();
        queueMicrotask(() => onExit(why));
      },
    };
    const stop = () => {
      stopped = true;
      target.listeners.delete(listener);
      host.streams.delete(stream);
    };
    target.listeners.add(listener);
    host.streams.add(stream);
    return { stop };
  };
}
