/**
 * What a pass will do, as data: each action names its step, what it changes, the operation
 * and the operation that takes it back. Steps produce these purely (converge); the executor
 * runs them in as few processes as possible and keeps the undo stack; `apply --dry-run` prints them.
 */
import type { Family } from '../config/model.js';
import type { Sysctl } from '../link/sysctl.js';
import type { NftJsonBatch } from '../nft/json.js';
import type { FailureReason } from './stepError.js';

/** Which namespace an `ip` command runs in. */
export type Where = 'pod' | 'master';

export type Op =
  /** One `ip` command; consecutive ones in the same namespace share one `ip -batch` process. */
  | { readonly type: 'ip'; readonly where: Where; readonly family?: Family; readonly args: readonly string[] }
  | { readonly type: 'sysctl'; readonly key: Sysctl; readonly value: string }
  /**
   * One nftables transaction; `check`: ask `nft -c` before anything in the pass is touched;
   * `fresh`: it loads a table that was not there, so it needs nothing else of the pass and its
   * undo (deleting the table) loses nothing: the executor may run it while an ARP probe waits.
   */
  | {
      readonly type: 'nft';
      readonly batch: NftJsonBatch;
      readonly label: string;
      readonly check?: boolean;
      readonly fresh?: boolean;
    }
  /** Waits for IPv6 duplicate address detection on a new address; fails with DuplicateAddress. */
  | { readonly type: 'wait-dad'; readonly device: string; readonly address: string; readonly cidr: string }
  /** Gratuitous ARP (IPv4) or unsolicited NA (IPv6), sent now and repeated in the background. */
  | {
      readonly type: 'announce';
      readonly device: string;
      readonly address: string;
      readonly family: Family;
      /** IPv6 only: the kernel announces it (ndisc_notify); the agent sends none itself. */
      readonly byKernel?: boolean;
    }
  /**
   * Deletes the conntrack entries of one protocol whose original destination is `destination`
   * (the router's cluster address) and `port`, or whose reply comes from `replySource` (the old
   * fallback): established flows then take the table's new translation with their next packet.
   */
  | {
      readonly type: 'conntrack-flush';
      readonly family: Family;
      readonly protocol: 'tcp' | 'udp' | 'sctp';
      readonly destination: string;
      readonly port?: number;
      readonly replySource?: string;
    }
  /**
   * RFC 5227 ARP probes (sender 0.0.0.0) for IPv4 addresses about to be added; an answer means
   * another host holds one: the pass fails with DuplicateAddress before the address is added.
   */
  | { readonly type: 'arp-probe'; readonly device: string; readonly addresses: readonly string[] };

/** How an action counts: state changes are drift when a pass repairs them; effects never are. */
export type ChangeKind = 'interface' | 'sysctl' | 'address' | 'route' | 'nftables' | 'conntrack' | 'announce';

/** Effects of a pass (announcements, conntrack flushes) are never drift repairs. */
export const isEffect = (kind: ChangeKind): boolean => kind === 'announce' || kind === 'conntrack';

export interface Action {
  readonly step: string;
  readonly kind: ChangeKind;
  /** The object, for error messages: "net1", "192.0.2.100/24", "table inet egress_router". */
  readonly object: string;
  /** Past tense, for logs and `apply` output: "added address 192.0.2.100/24 to net1". */
  readonly message: string;
  readonly op: Op;
  /** What takes it back, newest first when unwinding; none for effects. */
  readonly undo?: readonly Op[];
  /** Overrides the step's failure reason. */
  readonly reason?: FailureReason;
  /** Part of the previous action (the steps of creating a link): not reported on its own. */
  readonly quiet?: boolean;
  /** When it fails, warn with this text and go on, instead of failing the pass. */
  readonly optional?: string;
}

/** One line per action, for `apply --dry-run` and tests. */
export function describeAction(action: Action): string {
  const op = action.op;
  switch (op.type) {
    case 'ip':
      return `${action.step}: ip ${op.family ? `-${op.family} ` : ''}${op.args.join(' ')}${op.where === 'master' ? '   (in the master namespace)' : ''}`;
    case 'sysctl':
      return `${action.step}: sysctl ${op.key.segments.join('.')}=${op.value}`;
    case 'nft':
      return `${action.step}: nft -j -f <${op.batch.nftables.length - 1} command(s): ${action.message}>`;
    case 'wait-dad':
      return `${action.step}: wait for DAD on ${op.cidr}`;
    case 'announce':
      return `${action.step}: announce ${op.address} on ${op.device}${op.byKernel ? ' (by the kernel)' : ''}`;
    case 'conntrack-flush':
      return `${action.step}: ${conntrackDeleteArgv(op).join(' ')}`;
    case 'arp-probe':
      return `${action.step}: ARP probe for ${op.addresses.join(', ')} on ${op.device}`;
  }
}

/** `conntrack -D …` for a flush: exit 1 with "0 flow entries" when nothing matched. */
export function conntrackDeleteArgv(op: Extract<Op, { type: 'conntrack-flush' }>): [string, ...string[]] {
  return [
    'conntrack',
    '-D',
    '-f',
    op.family === 4 ? 'ipv4' : 'ipv6',
    '-p',
    op.protocol,
    '--orig-dst',
    op.destination,
    ...(op.port !== undefined ? ['--orig-port-dst', String(op.port)] : []),
    ...(op.replySource !== undefined ? ['--reply-src', op.replySource] : []),
  ];
}

export const ipOp = (where: Where, args: readonly string[], family?: Family): Op =>
  family === undefined ? { type: 'ip', where, args } : { type: 'ip', where, family, args };
