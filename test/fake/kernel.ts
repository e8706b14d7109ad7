/**
 * createFakeKernel: namespaces, the programs that act on them, and the test's handles (system(),
 * dump(), commands(), fault and drift injection). See index.ts for what it models and where it
 * deliberately simplifies.
 */
import { CommandError, type CommandResult, type RunOptions } from '../../src/system/command.js';
import type { System } from '../../src/system/system.js';
import { type Clock, globalClock } from './clock.js';
import { dumpNamespace } from './dump.js';
import { INSTANT_TIMING, type KernelEnv, Lan, macSequence, REAL_TIMING, type Timing } from './env.js';
import { runIp } from './ip/cli.js';
import { createLink, setUp } from './kernel/links.js';
import { defaultRules } from './kernel/rules.js';
import { fakeStreamLines, type Stream } from './monitor.js';
import { runNft } from './nft/cli.js';
import { type CommitResult, NftError, NftRuleset } from './nft/ruleset.js';
import type { Host, Program, ProgramResult } from './program.js';
import {
  type CommandMatch,
  type CommandRecord,
  commandMatches,
  type FailOptions,
  Processes,
} from './runner.js';
import type { ConntrackEntry, Netns as NetnsState } from './state.js';
import { Netns } from './state.js';
import { initSysctls, sysctlIo, writeSysctlPath } from './sysctl.js';
import { arping, conntrack, na6, ping } from './tools.js';

export interface FakeKernelOptions {
  /** The agent's process id: `ip link set … netns PID` with it moves a link into the pod. Default process.pid. */
  readonly pid?: number;
  /** More paths that open the pod's namespace than /proc/self/ns/net and /proc/PID/ns/net. */
  readonly podPaths?: readonly string[];
  /** Other namespaces, by the path that opens them (e.g. /run/netns/node). */
  readonly namespaces?: readonly string[];
  /** How long DAD and silent probes take: 'real' (default) or 'instant', or your own. */
  readonly timing?: 'real' | 'instant' | Partial<Timing>;
  /** Time source; default the global timers, so vitest's fake timers drive the whole fake. */
  readonly clock?: Clock;
  /** Seed of the MAC address sequence (dumps do not show MACs; link-locals derive from them). */
  readonly seed?: number;
}

export interface Announcement {
  readonly namespace: string;
  readonly argv: readonly string[];
}

const PROGRAMS: Record<string, Program> = {
  ip: runIp,
  nft: (args, ctx) => runNft(ctx.ns, args, ctx.pid),
  ping,
  arping,
  conntrack,
  na6,
};

function timingOf(option: FakeKernelOptions['timing']): Timing {
  if (option === 'instant') return INSTANT_TIMING;
  if (option === undefined || option === 'real') return REAL_TIMING;
  return { ...REAL_TIMING, ...option };
}

export class FakeKernel {
  readonly lan: Lan;
  /** The agent's own namespace. */
  readonly pod: NetnsState;
  private readonly all: NetnsState[] = [];
  private readonly env: KernelEnv;
  private readonly processes: Processes;
  private readonly streams = new Set<Stream>();
  private readonly recorded: Announcement[] = [];
  private readonly agentPid: number;
  private readonly host: Host;

  constructor(options: FakeKernelOptions = {}) {
    const nextMac = macSequence(options.seed);
    this.lan = new Lan(nextMac);
    this.env = {
      clock: options.clock ?? globalClock,
      timing: timingOf(options.timing),
      lan: this.lan,
      nextMac,
      namespaces: () => this.all,
    };
    this.agentPid = options.pid ?? process.pid;
    this.host = {
      namespaceAt: (path) => this.namespaceAt(path),
      namespaceOfPid: (pid) => (pid === this.agentPid ? this.pod : undefined),
      record: (ns, argv) => this.recorded.push({ namespace: ns.name, argv: [...argv] }),
    };
    this.processes = new Processes(this.env.clock, (ns, argv, pid, run) => this.execute(ns, argv, pid, run));
    this.pod = this.addNamespace('pod', options.podPaths ?? []);
    for (const path of options.namespaces ?? []) this.addNamespace(path, [path]);
  }

  /** A new namespace with its loopback up, as a pod or `ip netns add` + `ip link set lo up` gives. */
  addNamespace(name: string, paths: readonly string[] = [name]): NetnsState {
    const ns = new Netns(name, new Set(paths), new NftRuleset(), this.env);
    initSysctls(ns);
    defaultRules(ns);
    this.all.push(ns);
    setUp(createLink(ns, { name: 'lo', kind: 'loopback' }), true);
    return ns;
  }

  /** The namespace a path opens, like open(2) on /run/netns/x or /proc/PID/ns/net. */
  namespaceAt(path: string): NetnsState | undefined {
    if (
      path === '/proc/self/ns/net' ||
      path === `/proc/${this.agentPid}/ns/net` ||
      path === '/proc/thread-self/ns/net'
    )
      return this.pod;
    return this.all.find((ns) => ns.paths.has(path));
  }

  /** A namespace by path, or the pod's by default; throws for a path no namespace has. */
  state(path?: string): NetnsState {
    const ns = path === undefined ? this.pod : this.namespaceAt(path);
    if (!ns) throw new Error(`fake kernel: no namespace at ${path}`);
    return ns;
  }

  private async execute(
    ns: NetnsState,
    argv: readonly string[],
    pid: number,
    run: RunOptions,
  ): Promise<ProgramResult> {
    const [file, ...args] = argv;
    if (file === 'nsenter') {
      const net = args.find((a) => a.startsWith('--net='))?.slice('--net='.length) ?? '';
      const target = this.namespaceAt(net);
      if (!target)
        return {
          exitCode: 1,
          stdout: '',
          stderr: `nsenter: cannot open ${net}: No such file or directory\n`,
        };
      return this.execute(target, args.slice(args.indexOf('--') + 1), pid, run);
    }
    const program = file === undefined ? undefined : PROGRAMS[file];
    if (!program) throw new CommandError(argv, undefined, `spawn ${file} ENOENT`);
    return program(args, {
      ns,
      host: this.host,
      pid,
      ...(run.input !== undefined ? { input: run.input } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
  }

  /** The System the agent gets: runners, sysctls and monitors of the fake; the fake's clock. */
  system(): System {
    const clock = this.env.clock;
    const system: System = {
      pod: this.processes.runner(this.pod, 'the pod'),
      namespace: (path) =>
        this.processes.runner(this.pod, `the namespace ${path}`, ['nsenter', `--net=${path}`, '--']),
      isOwnNamespace: async (path) => {
        const ns = this.namespaceAt(path);
        if (!ns) {
          const error: NodeJS.ErrnoException = new Error(`ENOENT: no such file or directory, stat '${path}'`);
          error.code = 'ENOENT';
          throw error;
        }
        return ns === this.pod;
      },
      sysctl: sysctlIo(this.pod),
      streamLines: fakeStreamLines(this.pod, {
        namespaceAt: (path) => this.namespaceAt(path),
        record: (record) => this.processes.log.push(record),
        pid: () => this.processes.pid(),
        streams: this.streams,
      }),
      background: (argv, onError, okExitCodes = [0]) => {
        this.processes.runProgram(this.pod, argv, {}, true, 'background').then(
          (result) => {
            if (!okExitCodes.includes(result.exitCode))
              onError(`${argv.join(' ')}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
          },
          (error: Error) =>
            onError(`${argv[0]}: ${error instanceof CommandError ? error.stderr : error.message}`),
        );
      },
      isOwnProcess: (pid) => this.processes.isOwn(pid),
      sleep: (ms, signal) => clock.sleep(ms, signal),
      now: () => clock.now(),
    };
    return system;
  }

  // ---- inspection ----

  /** The state of a namespace (default the pod's) as sorted text; see dump.ts for what it leaves out. */
  dump(path?: string): string {
    return dumpNamespace(this.state(path));
  }

  /** Every command the agent ran through system() (not those run with exec()), in order. */
  commands(): readonly CommandRecord[] {
    return [...this.processes.log];
  }

  clearCommands(): void {
    this.processes.log.length = 0;
  }

  /** Gratuitous ARP (`arping -U`/`-A`) and `na6` runs, in order. */
  announcements(): readonly Announcement[] {
    return [...this.recorded];
  }

  // ---- faults ----

  /** The next matching command fails with this result, without running. */
  failNext(match: CommandMatch, options: FailOptions = {}): void {
    this.processes.failNext(match, options);
  }

  /** The next matching command never answers: it ends at its deadline or when its signal aborts. */
  hang(match: CommandMatch, options: { readonly times?: number } = {}): void {
    this.processes.hang(match, options.times ?? 1);
  }

  /** Ends the matching monitor streams as if their program had exited. */
  endStreams(match: CommandMatch = () => true, why = 'exited (1)'): number {
    const ended = [...this.streams].filter((s) => commandMatches(match, s.argv));
    for (const stream of ended) stream.end(`${stream.argv.join(' ')} ${why}`);
    return ended.length;
  }

  // ---- someone else ----

  /** Runs a command as someone else (an admin, another tool): not logged, never throws for its exit code. */
  exec(
    argv: readonly string[],
    options: { readonly namespace?: string; readonly input?: string } = {},
  ): Promise<CommandResult> {
    return this.processes.runProgram(
      this.state(options.namespace),
      argv,
      options.input === undefined ? {} : { input: options.input },
      false,
    );
  }

  /** Runs a command as someone else and throws when it fails: for setting up and drifting state. */
  async sh(
    argv: readonly string[],
    options: { readonly namespace?: string; readonly input?: string } = {},
  ): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.exitCode !== 0) throw new CommandError(argv, result.exitCode, result.stderr || result.stdout);
    return result.stdout;
  }

  /** Applies nft JSON commands as someone else's `nft -j -f` (one transaction). */
  async nft(commands: readonly Record<string, unknown>[], namespace?: string): Promise<void> {
    const ns = this.state(namespace);
    const pid = this.processes.pid();
    let commit: CommitResult;
    try {
      commit = ns.nft.apply(commands, false, ns.listeners.size > 0);
    } catch (error) {
      if (error instanceof NftError) throw new Error(`fake nft: ${error.text.trim()}`);
      throw error;
    }
    for (const line of commit.changes) ns.emit('nft', line);
    ns.emit('nft', `# new generation ${commit.generation} by process ${pid} (nft)`);
  }

  /** Drift: removes an address as someone else would (`ip address delete`). */
  deleteAddress(dev: string, cidr: string, namespace?: string): Promise<string> {
    return this.sh(['ip', 'address', 'delete', cidr, 'dev', dev], { ...(namespace ? { namespace } : {}) });
  }

  /** Drift: removes a route (`ip route delete ARGS…`, e.g. `['default', 'dev', 'net1']`). */
  deleteRoute(args: readonly string[], namespace?: string): Promise<string> {
    return this.sh(['ip', 'route', 'delete', ...args], { ...(namespace ? { namespace } : {}) });
  }

  /** Drift: changes a macvlan's mode in place. */
  setMode(dev: string, mode: string, namespace?: string): Promise<string> {
    return this.sh(['ip', 'link', 'set', 'dev', dev, 'type', 'macvlan', 'mode', mode], {
      ...(namespace ? { namespace } : {}),
    });
  }

  /** Drift: empties a chain of an inet table. */
  flushChain(table: string, chain: string, namespace?: string): Promise<void> {
    return this.nft([{ flush: { chain: { family: 'inet', table, name: chain } } }], namespace);
  }

  /** Drift: deletes a map element by key (e.g. `{ concat: ['tcp', 80] }`). */
  deleteElement(table: string, map: string, key: unknown, namespace?: string): Promise<void> {
    return this.nft([{ delete: { element: { family: 'inet', table, name: map, elem: [key] } } }], namespace);
  }

  /** Sets a sysctl as someone else (`sysctl -w`), e.g. `net.ipv4.ip_forward`. */
  setSysctl(name: string, value: string, namespace?: string): void {
    writeSysctlPath(this.state(namespace), name.split('.').join('/'), value);
  }

  /** Makes a sysctl read-only (EROFS on write), as /proc/sys is in an unprivileged pod. */
  readOnlySysctl(name: string, readOnly = true, namespace?: string): void {
    const ns = this.state(namespace);
    const path = name.split('.').join('/');
    if (readOnly) ns.readOnlySysctls.add(path);
    else ns.readOnlySysctls.delete(path);
  }

  // ---- traffic ----

  /**
   * One more connection through the redirect maps: every counter-carrying map keyed by
   * (protocol, port) counts it on its element, as the kernel's per-element counter would.
   */
  countConnection(
    protocol: 'tcp' | 'udp' | 'sctp',
    port: number,
    options: { readonly family?: 4 | 6; readonly namespace?: string } = {},
  ): number {
    let counted = 0;
    for (const table of this.state(options.namespace).nft.tables) {
      for (const set of table.sets) {
        if (!set.counter) continue;
        if (options.family && set.map !== (options.family === 4 ? 'ipv4_addr' : 'ipv6_addr')) continue;
        for (const element of set.elements.values()) {
          const key = (element.key as { concat?: unknown[] }).concat;
          if (key?.[0] !== protocol || key[1] !== port) continue;
          element.packets++;
          element.bytes += 60;
          counted++;
        }
      }
    }
    return counted;
  }

  /** A connection-tracking entry, for `conntrack -D` to find. */
  addConntrack(entry: ConntrackEntry, namespace?: string): void {
    this.state(namespace).conntrack.push({ ...entry });
  }

  conntrack(namespace?: string): readonly ConntrackEntry[] {
    return [...this.state(namespace).conntrack];
  }
}

export function createFakeKernel(options: FakeKernelOptions = {}): FakeKernel {
  return new FakeKernel(options);
}
