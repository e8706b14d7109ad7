/**
 * The egress-router CNI network config, as the operator renders it into a
 * NetworkAttachmentDefinition. Unlike the Go plugin, the top-level `fallbackIP` is honoured.
 */
import { z } from 'zod';
import { parseDestinationLine } from './destinationLine.js';
import type { DraftAddress, DraftConfig, DraftRule, Located } from './draft.js';
import type { DraftResult } from './egressRouter.js';
import { parseIp } from './ip.js';
import { type ConfigIssue, joinPath, quote } from './issues.js';
import { MACVLAN_MODES, type MacvlanMode } from './model.js';
import { parsePortText } from './ports.js';
import { withoutUnknownKeys, zodIssuesToConfigIssues } from './zodIssues.js';

const InterfaceArgsSchema = z.strictObject({
  master: z.string().optional(),
  mode: z.string().optional(),
  mtu: z.union([z.string(), z.number()]).optional(),
});

const IpSchema = z.strictObject({
  addresses: z.array(z.string()),
  gateway: z.string().optional(),
  destinations: z.array(z.string()).optional(),
});

export const CniConfigSchema = z.looseObject({
  cniVersion: z.string().optional(),
  type: z.literal('egress-router'),
  name: z.string().optional(),
  interfaceType: z.literal('macvlan').optional(),
  interfaceArgs: InterfaceArgsSchema.optional(),
  ip: IpSchema,
  fallbackIP: z.string().optional(),
});

const ALLOWED: Record<string, readonly string[]> = {
  interfaceArgs: Object.keys(InterfaceArgsSchema.shape),
  ip: Object.keys(IpSchema.shape),
};

function parseMode(raw: string | undefined, path: string, issues: ConfigIssue[]): MacvlanMode {
  if (raw === undefined) return 'Bridge';
  const mode = MACVLAN_MODES.find((m) => m.toLowerCase() === raw.toLowerCase());
  if (!mode)
    issues.push({
      path,
      message: `must be one of bridge, private, vepa, passthru, got ${quote(raw)}`,
    });
  return mode ?? 'Bridge';
}

function parseMtu(
  raw: string | number | undefined,
  path: string,
  issues: ConfigIssue[],
): Located<number> | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'number') return { value: raw, path };
  const parsed = parsePortText(raw);
  if (!parsed.ok) {
    issues.push({ path, message: parsed.error.replace('port number', 'number') });
    return undefined;
  }
  return { value: parsed.value, path };
}

/** The same address in any spelling (`2001:DB8::1`, `2001:db8:0::1`); unparseable text compares as text. */
function sameAddress(a: string, b: string): boolean {
  const pa = parseIp(a);
  const pb = parseIp(b);
  return pa.ok && pb.ok ? pa.value.address === pb.value.address : a === b;
}

/** `basePath` prefixes every path, e.g. `spec.config` when the config came from a NAD. */
export function parseCniConfig(document: unknown, basePath = ''): DraftResult {
  const issues: ConfigIssue[] = [];
  let parsed = CniConfigSchema.safeParse(document, { reportInput: true });
  if (!parsed.success) {
    const at = (p: string) => (basePath && p.startsWith(basePath) ? p.slice(basePath.length + 1) : p);
    issues.push(...zodIssuesToConfigIssues(parsed.error, basePath, (p) => ALLOWED[at(p)] ?? []));
    // Unknown fields alone do not stop parsing: the rest of the config still gets checked.
    const stripped = withoutUnknownKeys(document, parsed.error);
    const retry = stripped === undefined ? undefined : CniConfigSchema.safeParse(stripped);
    if (!retry?.success) return { issues };
    parsed = retry;
  }
  const cni = parsed.data;
  const path = (suffix: string) => joinPath(basePath, suffix);

  const macvlanMode = parseMode(cni.interfaceArgs?.mode, path('interfaceArgs.mode'), issues);
  const mtu = parseMtu(cni.interfaceArgs?.mtu, path('interfaceArgs.mtu'), issues);

  // The single `ip.gateway` belongs to the first address of its own family.
  const gatewayFamily = cni.ip.gateway?.includes(':') ? 6 : 4;
  const gatewayOwner = cni.ip.addresses.findIndex((a) => (a.includes(':') ? 6 : 4) === gatewayFamily);
  if (cni.ip.gateway !== undefined && gatewayOwner < 0 && cni.ip.addresses.length > 0) {
    issues.push({
      path: path('ip.gateway'),
      message: `IPv${gatewayFamily} gateway ${cni.ip.gateway}, but ip.addresses has no IPv${gatewayFamily} address`,
    });
  }
  const addresses: DraftAddress[] = cni.ip.addresses.map((ip, index) => ({
    ip: { value: ip, path: joinPath(path('ip.addresses'), index) },
    ...(index === gatewayOwner && cni.ip.gateway !== undefined
      ? { gateway: { value: cni.ip.gateway, path: path('ip.gateway') } }
      : {}),
  }));

  const rules: DraftRule[] = [];
  let fallback: Located<string> | undefined;
  (cni.ip.destinations ?? []).forEach((text, index) => {
    const line = joinPath(path('ip.destinations'), index);
    const result = parseDestinationLine(text, { line, fieldSeparator: '.' });
    if (result.kind === 'invalid') issues.push(...result.issues);
    else if (result.kind === 'rule') rules.push(result.rule);
    else if (fallback) {
      issues.push({ path: line, message: `a second fallback; ${fallback.path} already is one` });
    } else fallback = result.ip;
  });
  if (cni.fallbackIP !== undefined) {
    if (fallback && !sameAddress(fallback.value, cni.fallbackIP)) {
      issues.push({
        path: path('fallbackIP'),
        message: `${cni.fallbackIP} disagrees with the fallback ${fallback.value} in ${fallback.path}`,
      });
    } else fallback ??= { value: cni.fallbackIP, path: path('fallbackIP') };
  }

  const draft: DraftConfig = {
    // `plugins[N]` (a conflist) is still a CNI config; only what sits under `spec.config` comes from a NAD.
    format: basePath.startsWith('spec.config') ? 'NetworkAttachmentDefinition' : 'CNI',
    ...(cni.name !== undefined ? { name: { value: cni.name, path: path('name') } } : {}),
    macvlanMode,
    ...(cni.interfaceArgs?.master !== undefined
      ? { master: { value: cni.interfaceArgs.master, path: path('interfaceArgs.master') } }
      : {}),
    ...(mtu ? { mtu } : {}),
    addressesPath: path('ip.addresses'),
    addresses,
    rules,
    ...(fallback ? { fallback } : {}),
    notes: [],
  };
  return { draft, issues };
}
