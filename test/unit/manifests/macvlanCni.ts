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

export function macvlanConfigProblems(config: unknown): string[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    return ['must be a JSON object'];
  const record = config as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, field] of Object.entries(FIELDS)) {
    if (record[key] === undefined) {
      if (field.required) problems.push(`${key}: required`);
      continue;
    }
    const problem = field.check(record[key]);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  for (const key of Object.keys(record))
    if (!(key in FIELDS)) problems.push(`${key}: not a macvlan plugin field`);
  return problems;
}
