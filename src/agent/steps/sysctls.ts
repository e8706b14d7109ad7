/**
 * Forwarding, and the kernel's announcement of new IPv6 addresses. A forwarding sysctl the agent
 * turns on is marked in the kernel (sysctls carry no owner): a `nop` policy rule of that family
 * at FORWARDING_MARK_PRIORITY, protocol 77. Cleanup turns forwarding off again only where that
 * mark says the agent turned it on (the pod spec or the runtime may have set it themselves).
 * The per-client ICMP rate limit the agent lifts is recorded the same way, with the value it
 * found in the rule's fwmark (RATELIMIT_RECORD_PRIORITY), which cleanup puts back.
 */
import type { Family } from '../../config/model.js';
import { AGENT_ROUTE_PROTO } from '../../link/iproute.js';
import { type Sysctl, sysctl, sysctlName } from '../../link/sysctl.js';
import { icmpRateLimitSysctl } from '../../plan/ruleset.js';
import { type Action, ipOp } from '../actions.js';
import type { Observation, Step } from './step.js';

const STEP = 'sysctls';
export const FORWARDING_MARK_PRIORITY = 17747;
export const RATELIMIT_RECORD_PRIORITY = 17748;

export const forwardingSysctl = (family: Family): Sysctl =>
  family === 4 ? sysctl('net', 'ipv4', 'ip_forward') : sysctl('net', 'ipv6', 'conf', 'all', 'forwarding');

const markArgs = (verb: 'add' | 'delete'): string[] => [
  'rule',
  verb,
  'priority',
  String(FORWARDING_MARK_PRIORITY),
  'protocol',
  AGENT_ROUTE_PROTO,
  'nop',
];

const hasMark = (observed: Observation, family: Family): boolean =>
  observed.pod.rules[family].some(
    (r) => r.priority === FORWARDING_MARK_PRIORITY && r.protocol === AGENT_ROUTE_PROTO && 'nop' in r,
  );

const markAction = (family: Family, verb: 'add' | 'delete'): Action => ({
  step: STEP,
  kind: 'sysctl',
  object: `IPv${family} forwarding mark`,
  message: `${verb === 'add' ? 'marked' : 'unmarked'} IPv${family} forwarding as turned on by the agent`,
  op: ipOp('pod', markArgs(verb), family),
  undo: [ipOp('pod', markArgs(verb === 'add' ? 'delete' : 'add'), family)],
  quiet: true,
});

const recordArgs = (verb: 'add' | 'delete', value: string): string[] => [
  'rule',
  verb,
  'priority',
  String(RATELIMIT_RECORD_PRIORITY),
  'protocol',
  AGENT_ROUTE_PROTO,
  'fwmark',
  value,
  'nop',
];

/** The ICMP rate limit the agent found before it lifted it, from its record; undefined: none. */
function recordedRateLimit(observed: Observation, family: Family): string | undefined {
  const rule = observed.pod.rules[family].find(
    (r) => r.priority === RATELIMIT_RECORD_PRIORITY && r.protocol === AGENT_ROUTE_PROTO && 'nop' in r,
  );
  return rule?.fwmark === undefined ? undefined : String(Number(rule.fwmark));
}

const recordAction = (family: Family, verb: 'add' | 'delete', value: string): Action => ({
  step: STEP,
  kind: 'sysctl',
  object: `IPv${family} ICMP rate limit record`,
  message: `${verb === 'add' ? 'recorded' : 'dropped the record of'} the IPv${family} ICMP rate limit found (${value})`,
  op: ipOp('pod', recordArgs(verb, value), family),
  undo: [ipOp('pod', recordArgs(verb === 'add' ? 'delete' : 'add', value), family)],
  quiet: true,
});

/** Puts back the ICMP rate limit the agent found, and drops its record. */
function restoreRateLimit(observed: Observation, family: Family, found: string, why: string): Action[] {
  const key = icmpRateLimitSysctl(family);
  const now = observed.sysctls.get(sysctlName(key));
  const actions: Action[] = [];
  if (now !== found)
    actions.push({
      step: STEP,
      kind: 'sysctl',
      object: sysctlName(key),
      message: `set ${sysctlName(key)}=${found} (${why})`,
      op: { type: 'sysctl', key, value: found },
      ...(now !== undefined ? { undo: [{ type: 'sysctl' as const, key, value: now }] } : {}),
      optional: `${sysctlName(key)} could not be put back to ${found}`,
    });
  actions.push(recordAction(family, 'delete', found));
  return actions;
}

const rateLimitFamily = (name: string): Family | undefined =>
  ([4, 6] as const).find((f) => sysctlName(icmpRateLimitSysctl(f)) === name);

function turnOff(observed: Observation, family: Family, why: string): Action[] {
  const key = forwardingSysctl(family);
  const before = observed.sysctls.get(sysctlName(key));
  const actions: Action[] = [];
  if (before !== '0')
    actions.push({
      step: STEP,
      kind: 'sysctl',
      object: sysctlName(key),
      message: `set ${sysctlName(key)}=0 (${why})`,
      op: { type: 'sysctl', key, value: '0' },
      ...(before !== undefined ? { undo: [{ type: 'sysctl' as const, key, value: before }] } : {}),
    });
  actions.push(markAction(family, 'delete'));
  return actions;
}

export const sysctlsStep: Step = {
  name: STEP,
  reason: 'SysctlFailed',
  converge({ plan, observed }) {
    const actions: Action[] = [];
    // The writes first, then their records: the records are policy rules, and after the
    // interface's own `ip` lines they share one `ip -batch` instead of one process per sysctl.
    // Each record still follows the write it records.
    const records: Action[] = [];
    for (const wanted of plan.sysctls) {
      const name = sysctlName(wanted.key);
      const before = observed.sysctls.get(name);
      if (before === wanted.value) continue;
      actions.push({
        step: STEP,
        kind: 'sysctl',
        object: name,
        message: `set ${name}=${wanted.value}${before !== undefined ? ` (was ${before})` : ''}`,
        op: { type: 'sysctl', key: wanted.key, value: wanted.value },
        ...(before !== undefined
          ? { undo: [{ type: 'sysctl' as const, key: wanted.key, value: before }] }
          : {}),
        ...(wanted.required ? {} : { optional: `${name} could not be set (wanted so that ${wanted.why})` }),
      });
      const family = ([4, 6] as const).find((f) => sysctlName(forwardingSysctl(f)) === name);
      if (family && !hasMark(observed, family)) records.push(markAction(family, 'add'));
      const limited = rateLimitFamily(name);
      if (limited && before !== undefined && recordedRateLimit(observed, limited) === undefined)
        records.push(recordAction(limited, 'add', before));
    }
    actions.push(...records);
    // An ICMP rate limit the agent lifted for a family that now has a fallback (nothing refused).
    for (const family of [4, 6] as const) {
      const found = recordedRateLimit(observed, family);
      const wanted = plan.sysctls.some((s) => sysctlName(s.key) === sysctlName(icmpRateLimitSysctl(family)));
      if (!wanted && found !== undefined)
        actions.push(...restoreRateLimit(observed, family, found, 'no unmatched port is refused any more'));
    }
    // Forwarding the agent turned on for a family the config no longer has.
    for (const family of [4, 6] as const) {
      const wanted = plan.sysctls.some((s) => sysctlName(s.key) === sysctlName(forwardingSysctl(family)));
      if (!wanted && hasMark(observed, family))
        actions.push(...turnOff(observed, family, `no IPv${family} egress address any more`));
    }
    return { actions };
  },
  remove({ observed }) {
    return ([4, 6] as const).flatMap((family) => {
      const found = recordedRateLimit(observed, family);
      return [
        ...(hasMark(observed, family) ? turnOff(observed, family, 'the agent had turned it on') : []),
        ...(found !== undefined
          ? restoreRateLimit(observed, family, found, 'the value found before apply')
          : []),
      ];
    });
  },
};
