/**
 * Actions that are not kernel state: waiting for IPv6 duplicate address detection, and
 * announcing addresses on the LAN. Announcements never hold up a pass: they start at once and
 * repeat in the background (the 3.x router sent two gratuitous ARPs 2 s apart; a switch or a
 * host that missed the first one learns from the second). A repeat goes out only while the
 * interface still holds the address: an HA replica that gave the role up within those seconds
 * must not announce it again (na6 would send the NA anyway and point the LAN at the wrong MAC).
 */
import type { Family } from '../config/model.js';
import type { AddressInfo } from '../link/iproute.js';
import { AbortedError } from '../system/command.js';
import type { System } from '../system/system.js';
import { StepError } from './stepError.js';

export interface Effects {
  waitDad(device: string, address: string, cidr: string, signal?: AbortSignal): Promise<void>;
  /** Starts announcing; problems are reported through `onProblem` later, never thrown. */
  announce(device: string, address: string, family: Family, byKernel: boolean): void;
}

/** Gaps between announcement rounds after the first: two more, spaced. */
export const ANNOUNCE_REPEATS_MS: readonly number[] = [2_000, 4_000];

export interface EffectSettings {
  readonly dadTimeoutMs?: number;
  readonly onProblem?: (message: string) => void;
}

function announceArgv(device: string, address: string, family: Family): [string, ...string[]][] {
  if (family === 4)
    // Request-style and reply-style, as the 3.x router: some hosts update on one, some on the other.
    return [
      ['arping', '-U', '-c', '1', '-w', '1', '-I', device, '-s', address, address],
      ['arping', '-A', '-c', '1', '-w', '1', '-I', device, '-s', address, address],
    ];
  // Unsolicited NA to all-nodes: Override set, Solicited and Router never (RFC 4861 7.2.6), with the
  // target link-layer address option so neighbours update their caches.
  return [['na6', '-i', device, '-s', address, '-d', 'ff02::1', '-t', address, '-o', '-e']];
}

export function realEffects(system: System, settings: EffectSettings = {}): Effects {
  const onProblem = settings.onProblem ?? (() => undefined);
  const dadTimeoutMs = settings.dadTimeoutMs ?? 10_000;
  return {
    async waitDad(device, address, cidr, signal) {
      const deadline = system.now() + dadTimeoutMs;
      for (;;) {
        const out = await system.pod.run(['ip', '-json', 'address', 'show', 'dev', device], {
          ...(signal ? { signal } : {}),
        });
        const entries = (out.trim() ? JSON.parse(out) : []) as { addr_info?: AddressInfo[] }[];
        const entry = entries.flatMap((e) => e.addr_info ?? []).find((a) => a.local === address);
        if (!entry)
          throw new StepError('addresses', 'AddressFailed', cidr, 'the address vanished during DAD');
        if (entry.dadfailed)
          throw new StepError(
            'addresses',
            'DuplicateAddress',
            cidr,
            `duplicate address detection failed: another host on the LAN already uses ${address}`,
          );
        if (!entry.tentative) return;
        if (system.now() > deadline)
          throw new StepError(
            'addresses',
            'AddressFailed',
            cidr,
            `DAD did not finish within ${dadTimeoutMs} ms`,
          );
        try {
          await system.sleep(100, signal);
        } catch {
          throw new AbortedError(`waiting for DAD on ${cidr}: stopped`);
        }
      }
    },
    announce(device, address, family, byKernel) {
      if (byKernel) return;
      const send = () => {
        // arping exits 1 when nobody replies, which unsolicited ARP never expects.
        for (const argv of announceArgv(device, address, family))
          system.background(argv, (message) => onProblem(`announcing ${address}: ${message}`), [0, 1]);
      };
      const stillHeld = async (): Promise<boolean> => {
        try {
          const out = await system.pod.run(['ip', '-json', 'address', 'show', 'dev', device]);
          const entries = (out.trim() ? JSON.parse(out) : []) as { addr_info?: AddressInfo[] }[];
          return entries.flatMap((e) => e.addr_info ?? []).some((a) => a.local === address);
        } catch {
          return false;
        }
      };
      send();
      let at = 0;
      for (const gap of ANNOUNCE_REPEATS_MS) {
        at += gap;
        setTimeout(() => void stillHeld().then((held) => held && send()), at).unref();
      }
    },
  };
}
