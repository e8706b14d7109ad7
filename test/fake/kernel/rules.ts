/** Policy routing rules (`ip rule`), both families, with the kernel's defaults and matching. */
import type { Family } from '../addr.js';
import { rtnetlink } from '../errors.js';
import { ruleLine } from '../ip/render.js';
import type { Netns, PolicyRule } from '../state.js';
import { createTable } from './routes.js';

const KERNEL = 2;

export function defaultRules(ns: Netns): void {
  ns.rules.push(
    { family: 4, priority: 0, table: 255, protocol: KERNEL },
    { family: 4, priority: 32766, table: 254, protocol: KERNEL },
    { family: 4, priority: 32767, table: 253, protocol: KERNEL },
    { family: 6, priority: 0, table: 255, protocol: KERNEL },
    { family: 6, priority: 32766, table: 254, protocol: KERNEL },
  );
}

/** The kernel's rule list for a family, in priority order (equal priorities in insertion order). */
export const rulesOf = (ns: Netns, family: Family): PolicyRule[] =>
  ns.rules.filter((r) => r.family === family);

const sameRule = (a: PolicyRule, b: PolicyRule): boolean =>
  a.family === b.family &&
  a.priority === b.priority &&
  a.fwmark === b.fwmark &&
  (a.fwmask ?? 0xffffffff) === (b.fwmask ?? 0xffffffff) &&
  a.table === b.table &&
  a.protocol === b.protocol;

export interface RuleRequest extends Omit<PolicyRule, 'priority'> {
  readonly priority?: number;
}

export function addRule(ns: Netns, req: RuleRequest): void {
  const family = rulesOf(ns, req.family);
  // Without a priority the kernel picks one below the first non-zero rule.
  const priority = req.priority ?? Math.max(0, (family.find((r) => r.priority > 0)?.priority ?? 1) - 1);
  const rule: PolicyRule = { ...req, priority };
  if (ns.rules.some((r) => sameRule(r, rule))) throw rtnetlink('File exists');
  const after = family.filter((r) => r.priority <= priority).at(-1);
  const at = after ? ns.rules.indexOf(after) + 1 : ns.rules.indexOf(family[0] as PolicyRule);
  ns.rules.splice(at < 0 ? ns.rules.length : at, 0, rule);
  // An IPv6 rule that looks a table up creates that table; an IPv4 one does not.
  if (rule.family === 6 && rule.table !== undefined) createTable(ns, 6, rule.table);
  ns.emit('rule', ruleLine(rule));
}

export interface RuleSelector {
  readonly family: Family;
  readonly priority?: number;
  readonly fwmark?: number;
  readonly fwmask?: number;
  readonly table?: number;
  readonly protocol?: number;
  readonly nop?: boolean;
}

/** `ip rule delete`: the first rule that matches every attribute given. */
export function deleteRule(ns: Netns, sel: RuleSelector): void {
  const match = rulesOf(ns, sel.family).find(
    (r) =>
      (sel.priority === undefined || r.priority === sel.priority) &&
      (sel.fwmark === undefined || r.fwmark === sel.fwmark) &&
      (sel.fwmask === undefined || (r.fwmask ?? 0xffffffff) === sel.fwmask) &&
      (sel.table === undefined || r.table === sel.table) &&
      (sel.protocol === undefined || r.protocol === sel.protocol) &&
      (!sel.nop || r.table === undefined),
  );
  if (!match) throw rtnetlink('No such file or directory');
  ns.rules.splice(ns.rules.indexOf(match), 1);
  ns.emit('rule', ruleLine(match, true));
}
