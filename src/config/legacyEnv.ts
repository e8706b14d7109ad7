/** The 3.x `egress-router.sh` environment: EGRESS_SOURCE, EGRESS_GATEWAY, EGRESS_DESTINATION. */
import { parseDestinationLine } from './destinationLine.js';
import type { DraftConfig, DraftRule, Located } from './draft.js';
import type { DraftResult } from './egressRouter.js';
import { type ConfigIssue, quote } from './issues.js';
import type { LegacyMode } from './model.js';

const LEGACY_MODES: readonly LegacyMode[] = ['init', 'legacy', 'unit-test', 'http-proxy', 'dns-proxy'];

export type Environment = Readonly<Record<string, string | undefined>>;

function parseDestinations(
  text: string,
  issues: ConfigIssue[],
): { rules: DraftRule[]; fallback?: Located<string> } {
  const rules: DraftRule[] = [];
  let fallback: Located<string> | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `EGRESS_DESTINATION line ${index + 1}`;
    if (fallback) {
      issues.push({
        path: where,
        message: `comes after the fallback line (${fallback.path}); the fallback must be the last rule line`,
      });
      return;
    }
    const result = parseDestinationLine(line, { line: where, fieldSeparator: ' ' });
    if (result.kind === 'invalid') issues.push(...result.issues);
    else if (result.kind === 'rule') rules.push(result.rule);
    else fallback = result.ip;
  });
  return { rules, ...(fallback ? { fallback } : {}) };
}

export function parseLegacyEnv(env: Environment): DraftResult {
  const issues: ConfigIssue[] = [];
  const source = env.EGRESS_SOURCE?.trim();
  if (!source) issues.push({ path: 'EGRESS_SOURCE', message: 'is required (the egress IPv4 address)' });
  const gateway = env.EGRESS_GATEWAY?.trim();
  const modeText = env.EGRESS_ROUTER_MODE?.trim() || 'legacy';
  const legacyMode = LEGACY_MODES.find((m) => m === modeText);
  if (!legacyMode) {
    issues.push({
      path: 'EGRESS_ROUTER_MODE',
      message: `must be one of ${LEGACY_MODES.join(', ')}, got ${quote(modeText)}`,
    });
  }
  const notes: string[] = [];
  let rules: DraftRule[] = [];
  let fallback: Located<string> | undefined;
  if (legacyMode === 'http-proxy' || legacyMode === 'dns-proxy') {
    // Those modes only set up the network for a proxy container; EGRESS_DESTINATION is the proxy's own syntax.
    notes.push(`EGRESS_ROUTER_MODE=${legacyMode}: network only; EGRESS_DESTINATION is left to the proxy`);
  } else {
    const parsed = parseDestinations(env.EGRESS_DESTINATION ?? '', issues);
    rules = parsed.rules;
    fallback = parsed.fallback;
  }
  const draft: DraftConfig = {
    format: 'LegacyEnv',
    // The 3.x node created the macvlan in private mode.
    macvlanMode: 'Private',
    addressesPath: 'EGRESS_SOURCE',
    addresses: source
      ? [
          {
            ip: { value: source, path: 'EGRESS_SOURCE' },
            ...(gateway ? { gateway: { value: gateway, path: 'EGRESS_GATEWAY' } } : {}),
          },
        ]
      : [],
    rules,
    ...(fallback ? { fallback } : {}),
    ...(legacyMode ? { legacyMode } : {}),
    notes,
  };
  return { draft, issues };
}
