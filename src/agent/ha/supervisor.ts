/**
 * The HA engine: keepalived as the agent's child, its notify FIFO turned into role events.
 *
 * keepalived runs with `-n` (stays the agent's child), `-l -D` (detailed log lines on its
 * output, forwarded to `onLog`), `-P` (VRRP only), `-G` (no syslog), `-R` (if its VRRP process
 * dies the parent exits too, so one supervisor, this one, decides about restarts), and private
 * pid files, config, FIFO and track file in a private temporary directory. A parent-death
 * signal (setpriv --pdeathsig KILL) ends keepalived when the agent dies, and keepalived gives
 * its VRRP process SIGTERM when it dies, which sends a priority-0 advertisement on the way out.
 *
 * The engine never touches the egress addresses: the agent adds them on `active` and removes
 * them on anything else. It does touch one thing of its own: the link-local VIP a killed
 * keepalived may have left on the interface is removed before keepalived starts again (a
 * restarted keepalived would otherwise take it as the interface's address and advertise from
 * it, the same source address as the new master's).
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from '../../config/issues.js';
import {
  INSTANCE_NAME,
  type KeepalivedSettings,
  keepalivedSettingsIssues,
  linkLocalVip,
  peersOtherThan,
  renderKeepalivedConfig,
  VIP_PREFIX_LENGTH,
} from './config.js';
import { parseNotifyLine, stripLogTimestamp } from './notify.js';
import {
  deleteAddressIfPresent,
  findProgram,
  interfaceAddresses,
  isKeepalivedWithConfig,
  type LineReader,
  makeFifo,
  processExists,
  type RunningProgram,
  readFifoLines,
  readPidFile,
  signalPid,
  startProgram,
  withPrefix,
} from './process.js';
import { DEFAULT_RESTART_POLICY, planRestart, type RestartPolicy } from './restart.js';
import {
  type HaRole,
  initialRoleState,
  nextRoleState,
  type RoleChange,
  type RoleInput,
  type RoleState,
} from './role.js';
import { createRuntimeDir, removeAbandonedRuntimeDirs } from './runtimeDirs.js';

export type HaEvent =
  /** The role changed: on `active` add and announce the egress addresses, on anything else remove them. */
  | ({ readonly type: 'role' } & RoleChange)
  /** Active, and another master of lower priority was heard (a healed partition): announce the addresses again. */
  | { readonly type: 'rival'; readonly atMs: number; readonly priority: number }
  /** keepalived applied a new effective priority. */
  | { readonly type: 'priority'; readonly atMs: number; readonly priority: number }
  | { readonly type: 'started'; readonly atMs: number; readonly pid: number; readonly restarts: number }
  /** keepalived ended without being asked to; it starts again after `restartInMs`. */
  | {
      readonly type: 'exited';
      readonly atMs: number;
      readonly code: number | null;
      readonly signal: string | null;
      readonly restartInMs: number;
    };

export interface HaEngineOptions
  extends Omit<KeepalivedSettings, 'notifyFifo' | 'priorityFile' | 'priority'> {
  /** The configured priority, 1..254; setPriority() moves the effective one. Default 100. */
  readonly priority?: number;
  readonly onEvent: (event: HaEvent) => void;
  /** keepalived's log lines, without keepalived's own timestamp. */
  readonly onLog?: (line: string) => void;
  /** The keepalived program. Default `keepalived` (from PATH). */
  readonly keepalived?: string;
  /** Runs keepalived (and `ip`) elsewhere, e.g. `['nsenter', '--net=/run/netns/x', '--']` in tests. */
  readonly commandPrefix?: readonly string[];
  /** Where the private directory is made. Default the OS temporary directory. */
  readonly runtimeDir?: string;
  readonly restartPolicy?: RestartPolicy;
  /** stop(): SIGKILL after this long without a clean exit. Default 5000 ms. */
  readonly stopTimeoutMs?: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

export interface HaStatus {
  readonly mode: 'vrrp';
  readonly role: HaRole;
  readonly group: number;
  /** The effective priority keepalived last reported. */
  readonly priority: number;
  /** RFC 3339: when this replica entered `role`. */
  readonly since: string;
  readonly transitions: number;
}

export interface HaEngine {
  /** Renders and checks the config (ConfigError naming the field), then starts keepalived. */
  start(): Promise<void>;
  /**
   * Sets the effective priority (1..254) through keepalived's track file, without a reload.
   * Below a peer's, that peer takes the role over (pre-emption); back to equal, nothing moves.
   */
  setPriority(priority: number): Promise<void>;
  status(): HaStatus;
  /** keepalived's own pids (parent and VRRP process) from its private pid files. */
  pids(): Promise<{ readonly keepalived?: number; readonly vrrp?: number }>;
  /**
   * SIGTERM: keepalived sends a priority-0 advertisement (a standby takes over in about one
   * interval) and exits. Resolves when both processes are gone; SIGKILL after stopTimeoutMs.
   */
  stop(): Promise<void>;
}

const KEEPALIVED_FLAGS = ['-n', '-l', '-D', '-P', '-G', '-R'] as const;

export function createKeepalivedEngine(options: HaEngineOptions): HaEngine {
  const now = options.now ?? Date.now;
  const basePriority = options.priority ?? 100;
  const prefix = options.commandPrefix ?? [];
  const policy = options.restartPolicy ?? DEFAULT_RESTART_POLICY;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const vip = `${linkLocalVip(options.group)}/${VIP_PREFIX_LENGTH}`;

  let role: RoleState = initialRoleState(basePriority, now());
  let desiredPriority = basePriority;
  let dir: string | undefined;
  let fifo: LineReader | undefined;
  let program: RunningProgram | undefined;
  let startedAtMs = 0;
  let launches = 0;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let launching: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const paths = (base: string) => ({
    config: join(base, 'keepalived.conf'),
    fifo: join(base, 'notify.fifo'),
    priority: join(base, 'priority'),
    pid: join(base, 'keepalived.pid'),
    vrrpPid: join(base, 'vrrp.pid'),
    checkersPid: join(base, 'checkers.pid'),
  });

  const emit = (event: HaEvent): void => {
    try {
      options.onEvent(event);
    } catch {
      // A listener's failure is the listener's; the engine carries on.
    }
  };
  const log = (line: string): void => {
    try {
      options.onLog?.(line);
    } catch {
      // As above.
    }
  };

  const apply = (input: RoleInput): void => {
    const result = nextRoleState(role, input, now());
    role = result.state;
    if (result.change) emit({ type: 'role', ...result.change });
  };

  const onNotify = (line: string): void => {
    const notice = parseNotifyLine(line);
    if (!notice || notice.instance !== INSTANCE_NAME) return;
    if (notice.kind === 'state') apply({ kind: 'state', state: notice.state, priority: notice.priority });
    else if (notice.kind === 'priority') {
      apply({ kind: 'priority', priority: notice.priority });
      emit({ type: 'priority', atMs: now(), priority: notice.priority });
    } else if (role.role === 'active') emit({ type: 'rival', atMs: now(), priority: notice.priority });
  };

  const settings = (base: string, ownAddresses: readonly string[] = []): KeepalivedSettings => {
    const p = paths(base);
    return {
      interface: options.interface,
      group: options.group,
      priority: basePriority,
      ...(options.advertIntervalSeconds === undefined
        ? {}
        : { advertIntervalSeconds: options.advertIntervalSeconds }),
      ...(options.unicastPeers === undefined
        ? {}
        : { unicastPeers: peersOtherThan(options.unicastPeers, ownAddresses) }),
      ...(options.nopreempt === undefined ? {} : { nopreempt: options.nopreempt }),
      notifyFifo: p.fifo,
      priorityFile: p.priority,
    };
  };

  /** The track file holds the difference to the configured priority; replaced atomically (keepalived watches renames). */
  const writePriorityFile = async (base: string): Promise<void> => {
    const target = paths(base).priority;
    await writeFile(`${target}.new`, `${desiredPriority - basePriority}\n`, { mode: 0o600 });
    await rename(`${target}.new`, target);
  };

  /** Kills what is left of a previous keepalived of ours (its VRRP process, found by pid file and command line). */
  const killLeftovers = async (base: string): Promise<void> => {
    const p = paths(base);
    for (const file of [p.vrrpPid, p.pid]) {
      const pid = await readPidFile(file);
      if (pid !== undefined && (await isKeepalivedWithConfig(pid, p.config))) signalPid(pid, 'SIGKILL');
      await rm(file, { force: true });
    }
  };

  const launch = async (base: string): Promise<void> => {
    const p = paths(base);
    await killLeftovers(base);
    await deleteAddressIfPresent(prefix, vip, options.interface);
    // Rendered at every (re)start: the interface (and so its own addresses) may have been re-created.
    const own = options.unicastPeers ? await interfaceAddresses(prefix, options.interface) : [];
    await writeFile(p.config, renderKeepalivedConfig(settings(base, own)), { mode: 0o600 });
    const argv = withPrefix(prefix, [
      options.keepalived ?? 'keepalived',
      ...KEEPALIVED_FLAGS,
      '-f',
      p.config,
      '-p',
      p.pid,
      '-r',
      p.vrrpPid,
      '-c',
      p.checkersPid,
    ]);
    const started = await startProgram(argv, (line) => log(stripLogTimestamp(line)));
    program = started;
    startedAtMs = now();
    launches += 1;
    emit({ type: 'started', atMs: startedAtMs, pid: started.pid, restarts: launches - 1 });
    void started.exited.then((status) => onExit(started, status.code, status.signal));
  };

  const relaunch = (base: string): void => {
    restartTimer = undefined;
    if (stopping) return;
    launching = launch(base).catch((error: unknown) => {
      log(`keepalived restart failed: ${error instanceof Error ? error.message : String(error)}`);
      scheduleRestart(base, 0, null, null);
    });
  };

  const scheduleRestart = (base: string, ranForMs: number, code: number | null, signal: string | null) => {
    const plan = planRestart(failures, ranForMs, policy);
    failures = plan.failures;
    emit({ type: 'exited', atMs: now(), code, signal, restartInMs: plan.delayMs });
    restartTimer = setTimeout(() => relaunch(base), plan.delayMs);
  };

  const onExit = (which: RunningProgram, code: number | null, signal: NodeJS.Signals | null): void => {
    if (program !== which) return;
    program = undefined;
    if (stopping || !dir) return;
    apply({ kind: 'exited' });
    scheduleRestart(dir, now() - startedAtMs, code, signal);
  };

  const waitGone = async (pids: readonly number[], deadline: number): Promise<boolean> => {
    for (;;) {
      const alive = [];
      for (const pid of pids) if (await processExists(pid)) alive.push(pid);
      if (alive.length === 0) return true;
      if (now() >= deadline) return false;
      await delay(20);
    }
  };

  const shutdown = async (): Promise<void> => {
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = undefined;
    await launching?.catch(() => undefined);
    const base = dir;
    if (base) {
      const p = paths(base);
      const running = program;
      const pids = [await readPidFile(p.pid), await readPidFile(p.vrrpPid), running?.pid].filter(
        (pid): pid is number => pid !== undefined,
      );
      const ours: number[] = [];
      for (const pid of new Set(pids)) if (await isKeepalivedWithConfig(pid, p.config)) ours.push(pid);
      running?.signal('SIGTERM');
      const deadline = now() + stopTimeoutMs;
      if (!(await waitGone(ours, deadline))) {
        log(`keepalived did not stop within ${stopTimeoutMs} ms; killing it`);
        for (const pid of ours) signalPid(pid, 'SIGKILL');
        await waitGone(ours, now() + 2_000);
        await deleteAddressIfPresent(prefix, vip, options.interface).catch(() => false);
      }
      if (running) await running.exited;
      program = undefined;
    }
    apply({ kind: 'stopped' });
    fifo?.close();
    fifo = undefined;
    if (base) await rm(base, { recursive: true, force: true });
  };

  return {
    async start() {
      if (dir || stopping) throw new Error('the HA engine was already started');
      // Check everything before touching anything: a bad setting leaves no directory, no process.
      const issues = keepalivedSettingsIssues(settings('/check'));
      if (issues.length > 0) throw new ConfigError(issues);
      const executable = options.keepalived ?? 'keepalived';
      if (!(await findProgram(executable))) {
        throw new Error(`${executable}: not found or not executable (HA needs the keepalived package)`);
      }
      const parent = options.runtimeDir ?? tmpdir();
      // Directories of agents killed before they could remove their own (best effort).
      await removeAbandonedRuntimeDirs(parent).catch(() => []);
      const base = await createRuntimeDir(parent);
      dir = base;
      try {
        const p = paths(base);
        await writePriorityFile(base);
        await makeFifo(p.fifo);
        fifo = readFifoLines(p.fifo, onNotify);
        role = initialRoleState(desiredPriority, now());
        launching = launch(base);
        await launching;
      } catch (error) {
        fifo?.close();
        fifo = undefined;
        dir = undefined;
        await rm(base, { recursive: true, force: true });
        throw error;
      }
    },

    async setPriority(priority) {
      if (!Number.isInteger(priority) || priority < 1 || priority > 254) {
        throw new ConfigError([{ path: 'priority', message: `must be an integer 1..254, got ${priority}` }]);
      }
      desiredPriority = priority;
      if (dir && !stopping) await writePriorityFile(dir);
    },

    status() {
      return {
        mode: 'vrrp',
        role: role.role,
        group: options.group,
        priority: role.priority,
        since: new Date(role.sinceMs).toISOString(),
        transitions: role.transitions,
      };
    },

    async pids() {
      if (!dir) return {};
      const p = paths(dir);
      const [keepalived, vrrp] = await Promise.all([readPidFile(p.pid), readPidFile(p.vrrpPid)]);
      return {
        ...(keepalived === undefined ? {} : { keepalived }),
        ...(vrrp === undefined ? {} : { vrrp }),
      };
    },

    stop() {
      stopping ??= shutdown();
      return stopping;
    },
  };
}
