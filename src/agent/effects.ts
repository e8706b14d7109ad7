/**
 * Actions that are not kernel state: probing IPv4 addresses before they are added (RFC 5227),
 * waiting for IPv6 duplicate address detection, and announcing addresses on the LAN.
 * Announcements never hold up a pass: they start at once and repeat in the background (the 3.x
 * router sent two gratuitous ARPs 2 s apart; a switch or a host that missed the first one learns
 * from the second). A repeat goes out only while the interface still holds the address: an HA
 * replica that gave the role up within those seconds must not announce it again (na6 would send
 * the NA anyway and point the LAN at the wrong MAC).
 */
import type { Family } from '../config/model.js';
import type { AddressInfo } from '../link/iproute.js';
import { AbortedError, CommandError, type Runner } from '../system/command.js';
import type { System } from '../system/system.js';
import { StepError } from './stepError.js';

export interface Effects {
  /** ARP-probes IPv4 addresses not yet added; throws DuplicateAddress when another host answers. */
  probeAddresses(device: string, addresses: readonly string[], signal?: AbortSignal): Promise<void>;
  waitDad(device: string, address: string, cidr: string, signal?: AbortSignal): Promise<void>;
  /** Starts announcing; problems are reported through `onProblem` later, never thrown. */
  announce(device: string, address: string, family: Family, byKernel: boolean): void;
  /**
   * Cancels the announcements still to come and reports nothing more: after the agent stops (and
   * perhaps removed the interface), an arping that finds it gone is no problem of the router's.
   */
  stop(): void;
}

/** Gaps between announcement rounds after the first: two more, spaced. */
export const ANNOUNCE_REPEATS_MS: readonly number[] = [2_000, 4_000];

/**
 * Probes before an IPv4 address is added: RFC 5227 asks for three probes 1–2 s apart; two, 1 s
 * apart, keep a pass that adds an address near two seconds and still give a host that missed
 * the first a second chance. The probes of several addresses run side by side.
 */
export const ADD_PROBES = { count: 2, deadlineSeconds: 2 } as const;

/** The MAC addresses in arping's "Unicast reply from 192.0.2.1 [AA:BB:CC:DD:EE:FF]" lines. */
export function arpingReplyMacs(output: string): string[] {
  const macs = [...output.matchAll(/reply from \S+ \[([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\]/g)].map((m) =>
    (m[1] ?? '').toLowerCase(),
  );
  return [...new Set(macs)];
}

/**
 * ARP probes for `address` on `device` (`arping -D`: sender 0.0.0.0, so no host's cache learns
 * anything from them), answered only by a host that holds the address; resolves with the MACs
 * that answered (none: nobody holds it). arping stops at the first answer.
 */
export async function arpProbe(
  runner: Runner,
  device: string,
  address: string,
  probes: { readonly count: number; readonly deadlineSeconds: number },
  signal?: AbortSignal,
): Promise<string[]> {
  const argv = ['arping', '-D', '-c', String(probes.count), '-w', String(probes.deadlineSeconds)];
  try {
    const out = await runner.run([...argv, '-I', device, address], {
      timeoutMs: (probes.deadlineSeconds + 3) * 1_000,
      ...(signal ? { signal } : {}),
    });
    return arpingReplyMacs(out);
  } catch (error) {
    // -D exits 1 when someone answered; its output then holds the reply lines.
    if (error instanceof CommandError && error.exitCode === 1) {
      const macs = arpingReplyMacs(error.stderr);
      if (macs.length > 0) return macs;
    }
    throw error;
  }
}

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
  let stopped = false;
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const onProblem = (message: string) => {
    if (!stopped) settings.onProblem?.(message);
  };
  const dadTimeoutMs = settings.dadTimeoutMs ?? 10_000;
  return {
    stop() {
      stopped = true;
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
    async probeAddresses(device, addresses, signal) {
      const answers = await Promise.all(
        addresses.map(async (address) => ({
          address,
          macs: await arpProbe(system.pod, device, address, ADD_PROBES, signal),
        })),
      );
      const taken = answers.find((a) => a.macs.length > 0);
      if (taken)
        throw new StepError(
          'addresses',
          'DuplicateAddress',
          taken.address,
          `${taken.address} is already in use on the LAN: ${taken.macs.join(', ')} answered an ARP probe for it (RFC 5227); the agent does not take an address another host holds`,
        );
    },
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
      if (byKernel || stopped) return;
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
        const timer = setTimeout(() => {
          pending.delete(timer);
          void stillHeld().then((held) => held && !stopped && send());
        }, at);
        timer.unref();
        pending.add(timer);
      }
    },
  };
}
