/** NftTable → readable nft syntax, the form `render --format nft` prints and rules/ keeps. */
import type { MapElement, NftChain, NftExpr, NftMap, NftRule, NftStatement, NftTable } from './model.js';

function exprText(expr: NftExpr | string[]): string {
  if (typeof expr === 'string') return expr;
  if (typeof expr === 'number') return String(expr);
  if (Array.isArray(expr)) return expr.join(',');
  if ('meta' in expr) return expr.meta.key.endsWith('ifname') ? expr.meta.key : `meta ${expr.meta.key}`;
  if ('payload' in expr) return `${expr.payload.protocol} ${expr.payload.field}`;
  if ('fib' in expr) return `fib ${expr.fib.flags.join(' . ')} ${expr.fib.result}`;
  if ('ct' in expr) return `ct ${expr.ct.key}`;
  if ('concat' in expr) return expr.concat.map(exprText).join(' . ');
  if ('set' in expr) return `{ ${expr.set.join(', ')} }`;
  return `${exprText(expr.map.key)} map ${expr.map.data}`;
}

const quoted = (left: NftExpr, right: NftExpr | string[]): string =>
  typeof right === 'string' && typeof left === 'object' && 'meta' in left && left.meta.key.endsWith('ifname')
    ? JSON.stringify(right)
    : exprText(right);

function statementText(statement: NftStatement): string {
  if ('match' in statement) {
    const { op, left, right } = statement.match;
    const operator = op === '!=' ? '!= ' : '';
    return `${exprText(left)} ${operator}${quoted(left, right)}`;
  }
  if ('dnat' in statement) {
    const { family, addr, port } = statement.dnat;
    if (port === undefined) return `dnat ${family} to ${exprText(addr)}`;
    const literal = typeof addr === 'string';
    const target =
      literal && family === 'ip6' ? `[${addr}]:${exprText(port)}` : `${exprText(addr)} : ${exprText(port)}`;
    return `dnat ${family} to ${target}`;
  }
  if ('snat' in statement) return `snat ${statement.snat.family} to ${statement.snat.addr}`;
  if ('mangle' in statement) {
    const { key, value } = statement.mangle;
    const target =
      'tcp option' in key ? `tcp option ${key['tcp option'].name} ${key['tcp option'].field}` : exprText(key);
    return `${target} set ${typeof value === 'number' ? value : `rt ${value.rt.key}`}`;
  }
  if ('reject' in statement) {
    const reject = statement.reject;
    return reject.type === 'tcp reset' ? 'reject with tcp reset' : `reject with icmpx ${reject.expr}`;
  }
  return 'accept' in statement ? 'accept' : 'drop';
}

export function ruleText(rule: NftRule): string {
  const body = rule.expr.map(statementText).join(' ');
  return rule.comment ? `${body} comment ${JSON.stringify(rule.comment)}` : body;
}

const elementText = ([key, value]: MapElement): string => `${key[0]} . ${key[1]} : ${value}`;

function mapText(map: NftMap): string[] {
  const lines = [`\tmap ${map.name} {`, `\t\ttype ${map.type.join(' . ')} : ${map.map}`];
  if (map.counter) lines.push('\t\tcounter');
  if (map.comment) lines.push(`\t\tcomment ${JSON.stringify(map.comment)}`);
  if (map.elements.length > 0) {
    const items = map.elements.map(elementText);
    lines.push(`\t\telements = { ${items.join(',\n\t\t\t     ')} }`);
  }
  lines.push('\t}');
  return lines;
}

function chainText(chain: NftChain): string[] {
  return [
    `\tchain ${chain.name} {`,
    `\t\ttype ${chain.type} hook ${chain.hook} priority ${chain.prio}; policy ${chain.policy};`,
    ...chain.rules.map((rule) => `\t\t${ruleText(rule)}`),
    '\t}',
  ];
}

export function tableText(table: NftTable): string {
  const blocks = [...table.maps.map(mapText), ...table.chains.map(chainText)];
  return `table ${table.family} ${table.name} {\n${blocks.map((b) => b.join('\n')).join('\n\n')}\n}\n`;
}
