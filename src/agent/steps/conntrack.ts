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
import { type AnyTable, plannedFrom } from '../../nft/packed.js';
import { type RedirectTarget, type RedirectTargets, redirectTargets } from '../../plan/ruleset.js';
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

const where = (t: RedirectTarget | undefined): string =>
  t === undefined ? 'nowhere' : `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`;

/** Where a (protocol, port) goes under one table: its rule, else the fallback (same port). */
function targetOf(targets: RedirectTargets | undefined, key: string): RedirectTarget | undefined {
  if (!targets) return undefined;
  const rule = targets.rules.get(key);
  if (rule) return rule;
  const port = Number(key.split(' ')[1]);
  return targets.fallback ? { address: targets.fallback, port } : undefined;
}

const same = (a: RedirectTarget | undefined, b: RedirectTarget | undefined): boolean =>
  a?.address === b?.address && a?.port === b?.port;

function familyFlushes(
  family: Family,
  before: RedirectTargets | undefined,
  after: RedirectTargets | undefined,
): Flush[] {
  if (!before) return [];
  const flushes: Flush[] = [];
  const keys = new Set([...before.rules.keys(), ...(after?.rules.keys() ?? [])]);
  for (const key of [...keys].sort()) {
    const [protocol, port] = key.split(' ') as [FlowProtocol, string];
    const old = targetOf(before, key);
    const next = targetOf(after, key);
    if (!old || same(old, next)) continue;
    const why = next
      ? `its mapping changed: ${where(old)} → ${where(next)}`
      : `its mapping to ${where(old)} was removed`;
    flushes.push({ family, protocol, port: Number(port), why });
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
  for (const family of [4, 6] as const) {
    const next = redirectTargets(after, family);
    if (!before) {
      if (present && next)
        for (const protocol of PROTOCOLS)
          flushes.push({ family, protocol, why: 'the table found in the kernel could not be read back' });
      continue;
    }
    flushes.push(...familyFlushes(family, redirectTargets(before, family), next));
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
      input.plan.table,
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
