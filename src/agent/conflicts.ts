/**
 * Address conflicts that appear while the router runs: another host starts answering ARP for an
 * IPv4 egress address this replica holds (a static assignment, a second router pod, a VM cloned
 * with its address). The address add was probed (steps/addresses.ts); this catches what comes
 * later. A round of RFC 5227 probes (`arping -D`: only a host holding the address answers, and
 * this pod's own kernel never sees its own probe) runs in the background when a resync asks for
 * one, at most once per interval, and the next pass reports what it found (Degraded
 * AddressConflict, with the other host's MAC). The agent does not fight: it neither removes the
 * address nor re-announces it in a loop, which would only make both hosts' traffic flap.
 */
import type { Runner } from '../system/command.js';
import { arpProbe } from './effects.js';
import type { Logger } from './logger.js';
import type { Finding } from './steps/step.js';

export const CONFLICT_PROBES = { count: 1, deadlineSeconds: 1 } as const;
export const MIN_CONFLICT_INTERVAL_MS = 5_000;

export class ConflictWatch {
  /** Address → the MACs that answered for it in the last round. */
  private found = new Map<string, readonly string[]>();
  private running: Promise<void> | undefined;
  private startedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly runner: Runner,
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
    private readonly minIntervalMs = MIN_CONFLICT_INTERVAL_MS,
  ) {}

  /**
   * What the last round found for `addresses` (the IPv4 egress addresses held now), and a new
   * round started in the background when `due` and none ran for the interval.
   */
  check(device: string, addresses: readonly string[], due: boolean): Finding[] {
    const held = new Set(addresses);
    for (const address of this.found.keys()) if (!held.has(address)) this.found.delete(address);
    if (due && !this.running && addresses.length > 0 && this.now() - this.startedAt >= this.minIntervalMs) {
      this.startedAt = this.now();
      this.running = this.round(device, addresses).finally(() => {
        this.running = undefined;
      });
    }
    return [...this.found].map(([address, macs]) => ({
      reason: 'AddressConflict',
      message: `another host (${macs.join(', ')}) answers ARP for ${address}, an egress address this router holds: replies may go to either host; find it and give it another address (the agent does not fight over the address)`,
    }));
  }

  /** The addresses another host answered for in the last round. */
  contested(): string[] {
    return [...this.found.keys()];
  }

  private async round(device: string, addresses: readonly string[]): Promise<void> {
    await Promise.all(
      addresses.map(async (address) => {
        let macs: string[];
        try {
          macs = await arpProbe(this.runner, device, address, CONFLICT_PROBES);
        } catch (error) {
          this.log.debug({ address, err: (error as Error).message }, 'address conflict probe failed');
          return;
        }
        const before = this.found.get(address);
        if (macs.length > 0) {
          if (!before)
            this.log.warn({ address, macs }, `address conflict: another host answers ARP for ${address}`);
          this.found.set(address, macs);
        } else if (before) {
          this.log.info({ address }, `address conflict over: nobody else answers for ${address}`);
          this.found.delete(address);
        }
      }),
    );
  }
}
