/**
 * The macvlan CNI plugin's network configuration, as its reference documents it
 * (cni.dev, plugins/main/macvlan; the plugin's NetConf in containernetworking/plugins), plus the
 * keys every CNI network config has. Strict: a key the plugin does not document is a problem.
 */
const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const MODES = ['bridge', 'private', 'vepa', 'passthru'];

type Check = (value: unknown) => string | undefined;

const FIELDS: Record<string, { required: boolean; check: Check }> = {
  cniVersion: {
    required: true,
    check: (v) =>
      SUPPORTED_CNI_VERSIONS.includes(v as string)
        ? undefined
        : `must be one of ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
  },
  name: {
    required: true,
    check: (v) =>
      typeof v === 'string' && CNI_NAME.test(v)
        ? undefined
        : 'must be a network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)',
  },
  type: { required: true, check: (v) => (v === 'macvlan' ? undefined : 'must be "macvlan"') },
  master: {
    required: false,
    check: (v) =>
      typeof v === 'string' && v.length > 0 && v.length <= 15 ? undefined : 'must be an interface name',
  },
  mode: {
    required: false,
    check: (v) => (MODES.includes(v as string) ? undefined : `must be one of ${MODES.join(', ')}`),
  },
  mtu: {
    required: false,
    check: (v) =>
      Number.isInteger(v) && (v as number) >= 0
        ? undefined
        : 'must be an integer ≥ 0 (at most the master MTU)',
  },
  // Required, even empty: {} gives an interface without addresses.
  ipam: {
    required: true,
    check: (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? undefined : 'must be an object',
  },
  linkInContainer: {
    required: false,
    check: (v) => (typeof v === 'boolean' ? undefined : 'must be a boolean'),
  },
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A macvlan network config; inside a conflist a plugin carries no cniVersion or name of its own. */
export function macvlanConfigProblems(config: unknown, standalone = true): string[] {
  if (!isRecord(config)) return ['must be a JSON object'];
  const problems: string[] = [];
  for (const [key, field] of Object.entries(FIELDS)) {
    if (!standalone && (key === 'cniVersion' || key === 'name')) {
      if (config[key] !== undefined) problems.push(`${key}: belongs to the conflist, not the plugin`);
      continue;
    }
    if (config[key] === undefined) {
      if (field.required) problems.push(`${key}: required`);
      continue;
    }
    const problem = field.check(config[key]);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  for (const key of Object.keys(config))
    if (!(key in FIELDS)) problems.push(`${key}: not a macvlan plugin field`);
  return problems;
}

/**
 * A NetworkAttachmentDefinition's config: a macvlan network config, or a conflist (cniVersion,
 * name, plugins) whose first plugin is macvlan, optionally followed by the tuning plugin setting
 * sysctls (its "sysctl" map of strings, as the tuning plugin documents it).
 */
export function nadConfigProblems(config: unknown): string[] {
  if (!isRecord(config)) return ['must be a JSON object'];
  if (!('plugins' in config)) return macvlanConfigProblems(config);
  const problems: string[] = [];
  for (const key of Object.keys(config))
    if (!['cniVersion', 'name', 'plugins', 'disableCheck'].includes(key))
      problems.push(`${key}: not a conflist field`);
  for (const key of ['cniVersion', 'name'] as const) {
    const problem = FIELDS[key]!.check(config[key]);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  const plugins = Array.isArray(config.plugins) ? config.plugins : [];
  if (plugins.length === 0) return [...problems, 'plugins: must be a non-empty list'];
  problems.push(...macvlanConfigProblems(plugins[0], false).map((p) => `plugins[0].${p}`));
  for (const [i, plugin] of plugins.slice(1).entries()) {
    const at = `plugins[${i + 1}]`;
    if (!isRecord(plugin) || plugin.type !== 'tuning') {
      problems.push(`${at}: only the tuning plugin is expected after macvlan`);
      continue;
    }
    for (const key of Object.keys(plugin))
      if (!['type', 'sysctl'].includes(key)) problems.push(`${at}.${key}: not used here`);
    const sysctl = plugin.sysctl;
    if (!isRecord(sysctl) || !Object.values(sysctl).every((v) => typeof v === 'string'))
      problems.push(`${at}.sysctl: must map sysctl names to string values`);
  }
  return problems;
}
