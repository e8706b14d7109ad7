/**
 * Conntrack hygiene. A connection keeps the translation it got with its first packet for as long
 * as its conntrack entry lives, whatever the table says later: a UDP flow that keeps sending (DNS,
 * syslog, metrics) would reach a removed or moved destination indefinitely. After the table step,
 * this step deletes the entries whose mapping the pass changes or removes: those whose original
 * destination is the router's cluster address and the (protocol, port) concerned, and those sent
 * to a fallback that changed or went. UDP and SCTP always; TCP only with --flush-tcp-on-change
 * (established streams otherwise keep their destination until they end). What changed is worked
 * out purely from the table as committed or listed (the observation) against the planned one.
 */
import type { Family } from '../../config/model.js';
import {
  type AnyTable,
  keyPort,
  keyProtocol,
  PackedElements,
  packTable,
  plannedFrom,
} from '../../nft/packed.js';
import { type RedirectTargets, redirectTargets } from '../../plan/ruleset.js';
import type { Action } from '../actions.js';
import type { Step, StepInput } from './step.js';

const STEP = 'conntrack';

export type FlowProtocol = 'tcp' | 'udp' | 'sctp';

/** One kind of entry to delete, before it is multiplied by the cluster addresses. */
export interface Flush {
  readonly family: Family;
  readonly protocol: FlowProtocol;
  /** The redirected port; absent with `replySource` (the old fallback) or for a whole family. */
  readonly port?: number;
  readonly replySource?: string;
  /** Why, for the log: "its mapping changed: 192.0.2.10:53 → 192.0.2.20:53". */
  readonly why: string;
}

const PROTOCOLS: readonly FlowProtocol[] = ['tcp', 'udp', 'sctp'];

/** Where one (protocol, port) of a family is sent: a rule's target or the fallback's. */
interface Target {
  readonly address: string;
  readonly port: number;
}

const where = (t: Target | undefined): string =>
  t === undefined ? 'nowhere' : `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`;

const same = (a: Target | undefined, b: Target | undefined): boolean =>
  a?.address === b?.address && a?.port === b?.port;

/** Where `key` goes under one table: its rule (element `i` of the address map, or -1), else the fallback. */
function targetAt(targets: RedirectTargets | undefined, i: number, key: number): Target | undefined {
  if (!targets) return undefined;
  if (i < 0) return targets.fallback ? { address: targets.fallback, port: keyPort(key) } : undefined;
  const { ports } = targets;
  // The two maps of one table hold the same keys in the same order; a listed table may not.
  const p = ports.keyAt(i) === key ? i : ports.indexOfKey(key);
  const port = p < 0 ? keyPort(key) : ports.valueAt(p);
  return {
    address: String(targets.addresses.valueAt(i)),
    port: typeof port === 'number' ? port : keyPort(key),
  };
}

/**
 * One merge of the two address maps' sorted keys: every key either table maps, in key order
 * (TCP, UDP, SCTP, then port), compared by where it sends a new connection. Nothing is
 * allocated for a key that did not change, so a one-rule reload at 65,534 rules costs a walk.
 */
function familyFlushes(
  family: Family,
  before: RedirectTargets | undefined,
  after: RedirectTargets | undefined,
): Flush[] {
  if (!before) return [];
  const flushes: Flush[] = [];
  const from = before.addresses;
  const to = after?.addresses ?? PackedElements.empty;
  let i = 0;
  let j = 0;
  while (i < from.size || j < to.size) {
    const a = i < from.size ? from.keyAt(i) : Number.POSITIVE_INFINITY;
    const b = j < to.size ? to.keyAt(j) : Number.POSITIVE_INFINITY;
    const key = Math.min(a, b);
    const old = targetAt(before, a === key ? i : -1, key);
    const next = targetAt(after, b === key ? j : -1, key);
    if (a === key) i++;
    if (b === key) j++;
    if (!old || same(old, next)) continue;
    const why = next
      ? `its mapping changed: ${where(old)} → ${where(next)}`
      : `its mapping to ${where(old)} was removed`;
    flushes.push({ family, protocol: keyProtocol(key) as FlowProtocol, port: keyPort(key), why });
  }
  if (before.fallback && before.fallback !== after?.fallback)
    for (const protocol of PROTOCOLS)
      flushes.push({
        family,
        protocol,
        replySource: before.fallback,
        why: after?.fallback
          ? `the fallback moved: ${before.fallback} → ${after.fallback}`
          : `the fallback ${before.fallback} was removed`,
      });
  return flushes;
}

/**
 * The entries a change from `before` to `after` leaves pointing the wrong way. `before` undefined
 * with `present` true: a table is there that could not be read back, so every redirected flow
 * of each family is suspect.
 */
export function conntrackFlushes(
  before: AnyTable | undefined,
  present: boolean,
  after: AnyTable,
  flushTcp: boolean,
): Flush[] {
  const flushes: Flush[] = [];
  const was = before ? packTable(before) : undefined;
  const will = packTable(after);
  for (const family of [4, 6] as const) {
    const next = will ? redirectTargets(will, family) : undefined;
    if (!was) {
      if (present && next)
        for (const protocol of PROTOCOLS)
          flushes.push({ family, protocol, why: 'the table found in the kernel could not be read back' });
      continue;
    }
    flushes.push(...familyFlushes(family, redirectTargets(was, family), next));
  }
  return flushes.filter((f) => flushTcp || f.protocol !== 'tcp');
}

/** The router's cluster addresses of a family: what clients connect to. */
function clusterAddresses(input: StepInput, family: Family): string[] {
  const want = family === 4 ? 'inet' : 'inet6';
  return input.observed.pod.addresses
    .filter((a) => a.ifname === input.options.clusterInterface && a.family === want && a.scope === 'global')
    .map((a) => a.local);
}

function flushAction(flush: Flush, destination: string): Action {
  const target =
    flush.port !== undefined
      ? `${destination.includes(':') ? `[${destination}]` : destination}:${flush.port}`
      : destination;
  const what = flush.replySource ? `${target} sent to ${flush.replySource}` : target;
  return {
    step: STEP,
    kind: 'conntrack',
    object: `${flush.protocol.toUpperCase()} ${what}`,
    message: `flushed ${flush.protocol.toUpperCase()} conntrack entries to ${what} (${flush.why})`,
    op: {
      type: 'conntrack-flush',
      family: flush.family,
      protocol: flush.protocol,
      destination,
      ...(flush.port !== undefined ? { port: flush.port } : {}),
      ...(flush.replySource !== undefined ? { replySource: flush.replySource } : {}),
    },
    // The table is already in force; a flow left on its old path is worth a warning, not a rollback.
    optional: `could not flush the ${flush.protocol.toUpperCase()} conntrack entries to ${what}`,
  };
}

export const conntrackStep: Step = {
  name: STEP,
  reason: 'NftablesFailed',
  converge(input) {
    const table = input.observed.table;
    // The committed table of this very config, trusted: no mapping changed (and no need to walk
    // every element of both tables on a quiet pass).
    if (table.trusted && plannedFrom(table.model, input.config, input.options)) return { actions: [] };
    // No table before: no mapping to change (and no walk of every planned element, 85 ms at
    // 20,000 rules, to find that out).
    if (!table.present) return { actions: [] };
    const flushes = conntrackFlushes(
      table.model,
      table.present,
      input.plan.packedTable,
      input.options.flushTcpOnChange ?? false,
    );
    const actions = flushes.flatMap((flush) =>
      clusterAddresses(input, flush.family).map((address) => flushAction(flush, address)),
    );
    return { actions };
  },
  // Cleanup leaves conntrack alone: the table and routes are going, and with them the flows.
  remove: () => [],
};
