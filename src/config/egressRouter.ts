/**
 * The EgressRouter custom resource (network.operator.openshift.io/v1), schema mirrored from
 * the published CRD. Lists are parsed element by element so one bad rule does not hide the
 * problems of the others.
 */
import { z } from 'zod';
import type { DraftAddress, DraftConfig, DraftRule } from './draft.js';
import { type ConfigIssue, joinPath } from './issues.js';
import type { MacvlanMode, Protocol } from './model.js';
import { withoutUnknownKeys, zodIssuesToConfigIssues } from './zodIssues.js';

export const EGRESS_ROUTER_API_VERSION = 'network.operator.openshift.io/v1';

const port = z.number().check((ctx) => {
  if (!Number.isInteger(ctx.value) || ctx.value < 1 || ctx.value > 65535) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `must be 1..65535, got ${ctx.value}` });
  }
});

export const RedirectRuleSchema = z.strictObject({
  destinationIP: z.string(),
  port,
  protocol: z.enum(['TCP', 'UDP', 'SCTP']),
  targetPort: port.optional(),
});

type RedirectRuleInput = z.infer<typeof RedirectRuleSchema>;
const RULE_KEYS: ReadonlySet<string> = new Set(Object.keys(RedirectRuleSchema.shape));
const PROTOCOL_NAMES: ReadonlySet<unknown> = new Set(RedirectRuleSchema.shape.protocol.options);
const isPort = (value: unknown): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;

/**
 * The rule itself when it is exactly what RedirectRuleSchema accepts, checked without zod (a
 * config may hold 131,070 rules); undefined sends it through zod, which words the problems.
 */
export function plainRule(entry: unknown): RedirectRuleInput | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const rule = entry as Record<string, unknown>;
  for (const key of Object.keys(rule)) if (!RULE_KEYS.has(key)) return undefined;
  if (typeof rule.destinationIP !== 'string' || !isPort(rule.port) || !PROTOCOL_NAMES.has(rule.protocol)) {
    return undefined;
  }
  if (rule.targetPort !== undefined && !isPort(rule.targetPort)) return undefined;
  return rule as RedirectRuleInput;
}

export const EgressAddressSchema = z.strictObject({
  ip: z.string(),
  gateway: z.string().optional(),
});

export const MacvlanSchema = z.strictObject({
  mode: z.enum(['Bridge', 'Private', 'VEPA', 'Passthru']).default('Bridge'),
  master: z.string().optional(),
});

const SpecSchema = z.strictObject({
  addresses: z.array(z.unknown()),
  mode: z.enum(['Redirect']).default('Redirect'),
  networkInterface: z.strictObject({ macvlan: z.unknown().optional() }).prefault({}),
  redirect: z
    .strictObject({
      redirectRules: z.array(z.unknown()).optional(),
      fallbackIP: z.string().optional(),
    })
    .optional(),
});

const ObjectSchema = z.looseObject({
  apiVersion: z.literal(EGRESS_ROUTER_API_VERSION),
  kind: z.literal('EgressRouter'),
  metadata: z.looseObject({ name: z.string().optional(), namespace: z.string().optional() }).optional(),
  spec: z.unknown(),
});

const ALLOWED_KEYS: Record<string, readonly string[]> = {
  spec: Object.keys(SpecSchema.shape),
  'spec.networkInterface': ['macvlan'],
  'spec.networkInterface.macvlan': Object.keys(MacvlanSchema.shape),
  'spec.redirect': ['redirectRules', 'fallbackIP'],
};
const allowedKeys = (path: string): readonly string[] =>
  ALLOWED_KEYS[path] ??
  (/^spec\.addresses\[\d+\]$/.test(path)
    ? Object.keys(EgressAddressSchema.shape)
    : /^spec\.redirect\.redirectRules\[\d+\]$/.test(path)
      ? Object.keys(RedirectRuleSchema.shape)
      : []);

function parseWith<T>(
  schema: z.ZodType<T>,
  value: unknown,
  path: string,
  issues: ConfigIssue[],
): T | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  issues.push(...zodIssuesToConfigIssues(result.error, path, allowedKeys));
  // Unknown fields are reported above; parsing goes on without them so other problems show too.
  const stripped = withoutUnknownKeys(value, result.error);
  const retry = stripped === undefined ? undefined : schema.safeParse(stripped);
  return retry?.success ? retry.data : undefined;
}

export interface DraftResult {
  readonly draft?: DraftConfig;
  readonly issues: ConfigIssue[];
  /** Set when the config came from a ConfigMap key (`data["egressrouter.yaml"]`): every issue path starts with it. */
  readonly within?: string;
}

export function parseEgressRouter(document: unknown): DraftResult {
  const issues: ConfigIssue[] = [];
  const object = parseWith(ObjectSchema, document, '', issues);
  if (!object) return { issues };
  const spec = parseWith(SpecSchema, object.spec, 'spec', issues);
  if (!spec) return { issues };

  const macvlan = parseWith(
    MacvlanSchema.prefault({}),
    spec.networkInterface.macvlan,
    'spec.networkInterface.macvlan',
    issues,
  );

  const addresses: DraftAddress[] = [];
  spec.addresses.forEach((entry, index) => {
    const path = joinPath('spec.addresses', index);
    const address = parseWith(EgressAddressSchema, entry, path, issues);
    if (!address) return;
    addresses.push({
      ip: { value: address.ip, path: `${path}.ip` },
      ...(address.gateway !== undefined
        ? { gateway: { value: address.gateway, path: `${path}.gateway` } }
        : {}),
    });
  });

  if (spec.mode === 'Redirect' && !spec.redirect) {
    issues.push({ path: 'spec.redirect', message: 'is required when spec.mode is Redirect' });
  }
  const rules: DraftRule[] = [];
  (spec.redirect?.redirectRules ?? []).forEach((entry, index) => {
    const path = joinPath('spec.redirect.redirectRules', index);
    const rule = plainRule(entry) ?? parseWith(RedirectRuleSchema, entry, path, issues);
    if (!rule) return;
    rules.push({
      path,
      fieldSeparator: '.',
      protocol: rule.protocol.toLowerCase() as Protocol,
      port: rule.port,
      destinationIP: rule.destinationIP,
      ...(rule.targetPort !== undefined ? { targetPort: rule.targetPort } : {}),
    });
  });

  const fallbackIP = spec.redirect?.fallbackIP;
  const draft: DraftConfig = {
    format: 'EgressRouter',
    ...(object.metadata?.name !== undefined
      ? { name: { value: object.metadata.name, path: 'metadata.name' } }
      : {}),
    ...(object.metadata?.namespace !== undefined
      ? { namespace: { value: object.metadata.namespace, path: 'metadata.namespace' } }
      : {}),
    macvlanMode: (macvlan?.mode ?? 'Bridge') as MacvlanMode,
    ...(macvlan?.master !== undefined
      ? { master: { value: macvlan.master, path: 'spec.networkInterface.macvlan.master' } }
      : {}),
    addressesPath: 'spec.addresses',
    addresses,
    rules,
    ...(fallbackIP !== undefined
      ? { fallback: { value: fallbackIP, path: 'spec.redirect.fallbackIP' } }
      : {}),
    notes: [],
  };
  return { draft, issues };
}
