/**
 * The ruleset in nft syntax: the table block of a dump (laid out like `render --format nft`, so a
 * test can compare the two) and the lines of `nft monitor`. Rules are printed with the project's
 * own renderer when they use its statements, else as their JSON.
 */
import type { NftStatement } from '../../../src/nft/model.js';
import { ruleText } from '../../../src/nft/text.js';
import type { NftChainState, NftElement, NftRuleState, NftSet, NftTableState } from './ruleset.js';
import { valueText } from './values.js';

const STATEMENTS = ['match', 'dnat', 'snat', 'reject', 'mangle', 'accept', 'drop'];
const EXPRESSIONS = ['meta', 'payload', 'fib', 'ct', 'concat', 'set', 'map'];

function isModelExpr(value: unknown): boolean {
  if (typeof value === 'string' || typeof value === 'number') return true;
  if (Array.isArray(value)) return value.every((v) => typeof v === 'string');
  if (!value || typeof value !== 'object') return false;
  const [key, inner] = Object.entries(value)[0] ?? [];
  if (!key || !EXPRESSIONS.includes(key)) return false;
  if (key === 'concat') return Array.isArray(inner) && inner.every(isModelExpr);
  if (key === 'map') return isModelExpr((inner as { key?: unknown }).key);
  return true;
}

function isModelStatement(value: unknown): value is NftStatement {
  if (!value || typeof value !== 'object') return false;
  const [key, inner] = Object.entries(value)[0] ?? [];
  if (!key || !STATEMENTS.includes(key)) return false;
  if (key === 'match') {
    const m = inner as { left?: unknown; right?: unknown };
    return isModelExpr(m.left) && isModelExpr(m.right);
  }
  if (key === 'dnat') {
    const d = inner as { addr?: unknown; port?: unknown };
    return isModelExpr(d.addr) && (d.port === undefined || isModelExpr(d.port));
  }
  return true;
}

export function ruleBody(rule: Pick<NftRuleState, 'expr' | 'comment'>): string {
  if (rule.expr.every(isModelStatement)) {
    return ruleText({ expr: rule.expr, ...(rule.comment !== undefined ? { comment: rule.comment } : {}) });
  }
  const body = JSON.stringify(rule.expr);
  return rule.comment !== undefined ? `${body} comment ${JSON.stringify(rule.comment)}` : body;
}

const PRIORITY_NAMES: Record<number, string> = {
  [-300]: 'raw',
  [-150]: 'mangle',
  [-100]: 'dstnat',
  0: 'filter',
  50: 'security',
  100: 'srcnat',
};

function chainSpec(chain: NftChainState, named: boolean): string | undefined {
  if (!chain.hook) return undefined;
  const prio = chain.prio ?? 0;
  const priority = named ? (PRIORITY_NAMES[prio] ?? String(prio)) : String(prio);
  return `type ${chain.type} hook ${chain.hook} priority ${priority}; policy ${chain.policy};`;
}

const typeText = (type: unknown): string => (Array.isArray(type) ? type.join(' . ') : String(type));

function setSpec(set: NftSet): string {
  return `type ${typeText(set.type)}${set.kind === 'map' ? ` : ${typeText(set.map)}` : ''}`;
}

export function elementText(set: NftSet, e: NftElement, withCounter: boolean): string {
  const counter = withCounter && set.counter ? ` counter packets ${e.packets} bytes ${e.bytes}` : '';
  return `${valueText(e.key)}${counter}${set.kind === 'map' ? ` : ${valueText(e.value)}` : ''}`;
}

/** Numeric order of each part (protocol number, port, address): tcp before udp before sctp. */
function compareValues(a: unknown, b: unknown): number {
  const parts = (v: unknown): unknown[] => (v as { concat?: unknown[] })?.concat ?? [v];
  const rank = (v: unknown): number | string => {
    if (typeof v === 'number') return v;
    const proto = { tcp: 6, udp: 17, sctp: 132 }[String(v)];
    return proto ?? String(v);
  };
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [rank(pa[i]), rank(pb[i])];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

function setBlock(set: NftSet): string[] {
  const lines = [`\t${set.kind} ${set.name} {`, `\t\t${setSpec(set)}`];
  if (set.counter) lines.push('\t\tcounter');
  if (set.comment) lines.push(`\t\tcomment ${JSON.stringify(set.comment)}`);
  if (set.elements.size > 0) {
    const items = [...set.elements.values()]
      .sort((x, y) => compareValues(x.key, y.key))
      .map((e) => elementText(set, e, false));
    lines.push(`\t\telements = { ${items.join(',\n\t\t\t     ')} }`);
  }
  lines.push('\t}');
  return lines;
}

function chainBlock(chain: NftChainState): string[] {
  const spec = chainSpec(chain, false);
  return [
    `\tchain ${chain.name} {`,
    ...(spec ? [`\t\t${spec}`] : []),
    ...chain.rules.map((rule) => `\t\t${ruleBody(rule)}`),
    '\t}',
  ];
}

/** The table in the layout of `render --format nft`: elements sorted, counters and handles left out. */
export function tableBlock(table: NftTableState): string {
  const blocks = [...table.sets.map(setBlock), ...table.chains.map(chainBlock)];
  return `table ${table.family} ${table.name} {\n${blocks.map((b) => b.join('\n')).join('\n\n')}\n}\n`;
}

// ---- `nft monitor` lines ----

export const monitorLines = {
  addTable: (t: NftTableState): string => `add table ${t.family} ${t.name}`,
  deleteTable: (t: NftTableState): string => `delete table ${t.family} ${t.name}`,
  addSet: (t: NftTableState, s: NftSet): string =>
    `add ${s.kind} ${t.family} ${t.name} ${s.name} { ${setSpec(s)};${s.counter ? ' counter;' : ''} } `,
  deleteSet: (t: NftTableState, s: NftSet): string => `delete set ${t.family} ${t.name} ${s.name}`,
  element: (verb: 'add' | 'delete', t: NftTableState, s: NftSet, e: NftElement): string =>
    `${verb} element ${t.family} ${t.name} ${s.name} { ${elementText(s, e, verb === 'add')} }`,
  addChain: (t: NftTableState, c: NftChainState): string => {
    const spec = chainSpec(c, true);
    return `add chain ${t.family} ${t.name} ${c.name}${spec ? ` { ${spec} }` : ''}`;
  },
  deleteChain: (t: NftTableState, c: NftChainState): string => `delete chain ${t.family} ${t.name} ${c.name}`,
  addRule: (t: NftTableState, c: NftChainState, r: NftRuleState): string =>
    `add rule ${t.family} ${t.name} ${c.name} ${ruleBody(r)}`,
  deleteRule: (t: NftTableState, c: NftChainState, r: NftRuleState): string =>
    `delete rule ${t.family} ${t.name} ${c.name} handle ${r.handle}`,
};
