/**
 * Forwarding, and the kernel's announcement of new IPv6 addresses. A forwarding sysctl the agent
 * turns on is marked in the kernel (sysctls carry no owner): a `nop` policy rule of that family
 * at FORWARDING_MARK_PRIORITY, protocol 77. Cleanup turns forwarding off again only where that
 * mark says the agent turned it on (the pod spec or the runtime may have set it themselves).
 */
import type { Family } from '../../config/model.js';
import { AGENT_ROUTE_PROTO } from '../../link/iproute.js';
import { type Sysctl, sysctl, sysctlName } from '../../link/sysctl.js';
import { type Action, ipOp } from '../actions.js';
import type { Observation, Step } from './step.js';

const STEP = 'sysctls';
export const FORWARDING_MARK_PRIORITY = 17747;

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
      if (family && !hasMark(observed, family)) actions.push(markAction(family, 'add'));
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
    return ([4, 6] as const).flatMap((family) =>
      hasMark(observed, family) ? turnOff(observed, family, 'the agent had turned it on') : [],
    );
  },
};
