/**
 * The agent's side of HA: one keepalived engine per agent, started after the first pass that
 * made the interface; the role it reports decides who holds the egress addresses (only
 * `active`); its priority follows the gateway; on stop it hands over.
 *
 * A role change takes or gives up the addresses at once (`take` / `release`: one `ip -batch`,
 * see addresses.ts), is published (`onRoleChange`: leaving `active` before the release, so
 * readiness drops first; becoming `active` after the take, so it rises last), and then the
 * control loop is asked for a pass (`requestPass`), which goes through the address step as every
 * pass does and finds them in place: the pass stays the authority, so drift repair and HA never
 * fight. Follow-ups run one at a time, in the order of the events.
 *
 * Until keepalived has said anything the replica is `standby` (it holds nothing); if keepalived
 * cannot be started (missing, a bad setting) it is `fault`, and every later pass tries again.
 */
import type { HaStatus } from '../status/snapshot.js';
import { createKeepalivedEngine, type HaEngine, type HaEngineOptions, type HaEvent } from './supervisor.js';

export interface HaSettings {
  readonly group: number;
  readonly priority: number;
  readonly advertIntervalSeconds: number;
  readonly unicastPeers: readonly string[];
  /** Priority while the gateway does not answer: below any healthy peer's, so one takes over. */
  readonly degradedPriority?: number;
}

/** Default priority while the gateway does not answer: below a healthy peer's default (100). */
export const DEGRADED_PRIORITY = 50;

/** How long a hand-over waits for keepalived to give the role up (its STOP) before releasing anyway. */
const HAND_OVER_WAIT_MS = 2_000;

export interface HaLog {
  info(message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(message: string): void;
}

export interface RoleNotice {
  readonly role: HaStatus['role'];
  readonly previous: HaStatus['role'];
  readonly cause: string;
}

export interface HaControllerDeps {
  readonly settings: HaSettings;
  /** The egress interface: VRRP runs over its IPv6 link-local address. */
  readonly interface: string;
  readonly log: HaLog;
  /**
   * The role changed (or keepalived could not start): publish it. `followed`: the addresses are
   * where the role wants them (or on their way off), so readiness may follow at once; false
   * when taking them failed (the pass that follows decides).
   */
  readonly onRoleChange: (change: RoleNotice, followed: boolean) => void;
  /** Puts the egress addresses on the interface and announces them (becoming active). */
  readonly take: () => Promise<void>;
  /** Takes the egress addresses off the interface (leaving active). */
  readonly release: () => Promise<void>;
  /** After a role change has been followed: a pass, to verify and to set the conditions. */
  readonly requestPass: () => void;
  /** Active, and a rival master was heard (a healed partition): announce the addresses again. */
  readonly onRival: () => void;
  /** Replaces keepalived (tests); default the real engine. */
  readonly createEngine?: (options: HaEngineOptions) => HaEngine;
  readonly now?: () => number;
}

export class HaController {
  private readonly deps: HaControllerDeps;
  private readonly engine: HaEngine;
  private readonly now: () => number;
  private started: Promise<void> | undefined;
  /** Why keepalived could not be started, and since when (the replica is in fault meanwhile). */
  private startFailure: { readonly message: string; readonly sinceMs: number } | undefined;
  private stopping = false;
  /** Woken by the next role event (a hand-over waits for keepalived's STOP). */
  private waiters: (() => void)[] = [];
  /** Role follow-ups, one at a time in event order. */
  private following: Promise<void> = Promise.resolve();
  /** Whether the addresses may be on the interface (taken, or a release that failed). */
  private holding = false;
  private priority: number;

  constructor(deps: HaControllerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    const { settings } = deps;
    this.priority = settings.priority;
    this.engine = (deps.createEngine ?? createKeepalivedEngine)({
      interface: deps.interface,
      group: settings.group,
      priority: settings.priority,
      advertIntervalSeconds: settings.advertIntervalSeconds,
      // An empty list would mean "no peers at all" to the engine; multicast is no list.
      ...(settings.unicastPeers.length > 0 ? { unicastPeers: settings.unicastPeers } : {}),
      onEvent: (event) => this.onEvent(event),
      onLog: (line) => deps.log.info({ component: 'keepalived' }, line),
      now: this.now,
    });
  }

  /** The role as the loop must follow it: keepalived's, or fault while it could not be started. */
  status(): HaStatus {
    const status = this.engine.status();
    if (!this.startFailure) return status;
    return { ...status, role: 'fault', since: new Date(this.startFailure.sinceMs).toISOString() };
  }

  /** Why keepalived is not running, when it could not be started. */
  get faultMessage(): string | undefined {
    return this.startFailure?.message;
  }

  pids(): ReturnType<HaEngine['pids']> {
    return this.engine.pids();
  }

  /**
   * After every successful pass: starts keepalived once the interface is there (tried again
   * after each pass while it cannot start), and sets the priority from the gateway's health.
   */
  afterPass(gatewayDown: boolean): void {
    if (this.stopping) return;
    if (!this.started) {
      this.started = this.start();
      return;
    }
    if (this.startFailure) return;
    const { settings, log } = this.deps;
    const wanted = gatewayDown ? (settings.degradedPriority ?? DEGRADED_PRIORITY) : settings.priority;
    if (wanted === this.priority) return;
    this.priority = wanted;
    log.warn(
      { priority: wanted },
      gatewayDown
        ? 'gateway lost: lowering the VRRP priority so a replica with a working gateway takes over'
        : 'gateway back: VRRP priority restored',
    );
    void this.engine
      .setPriority(wanted)
      .catch((error: Error) => log.error(`VRRP priority: ${error.message}`));
  }

  private async start(): Promise<void> {
    try {
      await this.engine.start();
      const previous = this.startFailure;
      if (previous) {
        this.startFailure = undefined;
        this.deps.log.info(`keepalived started (after: ${previous.message})`);
        this.changed({ role: this.engine.status().role, previous: 'fault', cause: 'keepalived started' });
      }
    } catch (error) {
      const message = `keepalived could not start: ${(error as Error).message}`;
      const first = !this.startFailure;
      this.deps.log.error(message);
      this.startFailure = { message, sinceMs: this.startFailure?.sinceMs ?? this.now() };
      this.started = undefined; // tried again after the next pass
      if (first) this.changed({ role: 'fault', previous: 'standby', cause: message });
    }
  }

  private onEvent(event: HaEvent): void {
    const { log } = this.deps;
    switch (event.type) {
      case 'role':
        log.info({ role: event.role, from: event.previous, cause: event.cause }, `HA role: ${event.role}`);
        for (const wake of this.waiters.splice(0)) wake();
        this.changed({ role: event.role, previous: event.previous, cause: event.cause });
        return;
      case 'rival':
        this.deps.onRival();
        return;
      case 'exited':
        log.warn(
          { code: event.code, signal: event.signal, restartInMs: event.restartInMs },
          'keepalived exited; restarting it',
        );
        return;
      default:
        return;
    }
  }

  /** Takes or releases the addresses, publishes the change, then asks for a pass. */
  private changed(change: RoleNotice): void {
    const take = change.role === 'active';
    // Stopping: the hand-over releases, once the loop (and any pass it was undoing) has stopped.
    if (!take || this.stopping) this.deps.onRoleChange(change, true);
    if (this.stopping) return;
    this.following = this.following
      .then(() => this.follow(take))
      .then((followed) => {
        if (take) this.deps.onRoleChange(change, followed);
        if (!this.stopping) this.deps.requestPass();
      });
  }

  /** Resolves whether the addresses are now where `take` wants them. */
  private async follow(take: boolean): Promise<boolean> {
    if (!take && !this.holding) return true;
    try {
      await (take ? this.deps.take() : this.deps.release());
      this.holding = take;
      return true;
    } catch (error) {
      // The pass that follows puts it right through the address step.
      this.holding = true;
      this.deps.log.warn(
        `HA: ${take ? 'taking' : 'releasing'} the egress addresses failed: ${(error as Error).message}`,
      );
      return false;
    }
  }

  /**
   * Graceful hand-over: keepalived is asked to stop at once, sends priority 0 (a standby takes
   * over in about one advertisement interval) and reports STOP; as soon as it has, and the
   * control loop has stopped (`loopStopped`: no pass may put them back), the addresses are
   * released, while keepalived still lingers (about a second). Resolves when keepalived is gone.
   */
  async handOver(loopStopped: Promise<void>): Promise<void> {
    this.stopping = true;
    await this.started;
    const stopped = this.engine.stop();
    await loopStopped;
    if (this.engine.status().role === 'active') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push(resolve)),
        stopped,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, HAND_OVER_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    const released = this.following.then(() => this.follow(false));
    this.following = released.then(() => undefined);
    await released;
    await stopped;
  }
}
