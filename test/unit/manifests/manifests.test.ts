// `manifests`: every object it prints validates offline against the real schemas (strictly), the
// NetworkAttachmentDefinition's config against the macvlan plugin's fields, the CRD against the
// published EgressRouter schema; two routers side by side never select or reference each other.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parsePodPeer } from '../../../src/cli/commands/manifests.js';
import { loadConfigText } from '../../../src/config/load.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { defaultHaGroup, routerNameProblem } from '../../../src/manifests/names.js';
import { routerResources } from '../../../src/manifests/sizing.js';
import { runCli } from '../../helpers/runCli.js';
import {
  CLUSTER_CIDRS,
  egressRouterText,
  type KubeDoc,
  manifests,
  ofKind,
  one,
  parseStream,
} from './generate.js';
import { macvlanConfigProblems, nadConfigProblems } from './macvlanCni.js';
import {
  builtinProblems,
  customResourceProblems,
  isBuiltin,
  loadCrdFixture,
  type StructuralSchema,
  schemaProblems,
  unknownFields,
} from './schemas.js';

const CRDS = {
  'network.operator.openshift.io': loadCrdFixture('egressrouters.crd.json'),
  'k8s.cni.cncf.io': loadCrdFixture('network-attachment-definitions.crd.json'),
  PodMonitor: loadCrdFixture('podmonitors.crd.json'),
  PrometheusRule: loadCrdFixture('prometheusrules.crd.json'),
};

async function problemsOf(doc: KubeDoc): Promise<string[]> {
  if (isBuiltin(doc)) return builtinProblems(doc);
  const group = doc.apiVersion.split('/')[0]!;
  if (group === 'monitoring.coreos.com') {
    const crd = CRDS[doc.kind as 'PodMonitor' | 'PrometheusRule'];
    const module = (await import(
      `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${doc.kind}`
    )) as Record<string, new (d: unknown) => { validate(): void }>;
    const problems: string[] = [];
    try {
      new module[doc.kind]!(doc).validate();
    } catch (error) {
      problems.push((error as Error).message);
    }
    return [...problems, ...customResourceProblems(doc, crd.spec)];
  }
  const crd = CRDS[group as keyof typeof CRDS];
  if (!crd) return [`${doc.kind}: no schema known for ${doc.apiVersion}`];
  return customResourceProblems(doc, crd.spec);
}

const FULL = [
  ...CLUSTER_CIDRS,
  '--ha',
  '--network-policy',
  '--allow-namespace',
  'team-a',
  '--allow-pods',
  'team-b/app=billing,tier=web',
  '--allow-pods',
  'app=reports',
  '--allow-metrics-namespace',
  'monitoring',
  '--monitoring',
  '--crd',
];

const VARIANTS: { name: string; args: string[]; stdin?: string }[] = [
  { name: 'the example EgressRouter', args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS] },
  { name: 'the example with every option', args: ['examples/egressrouter.yaml', ...FULL] },
  {
    name: 'a dual-stack EgressRouter',
    args: ['examples/egressrouter-dualstack.yaml', '--namespace', 'egress', ...FULL],
  },
  {
    name: 'a NetworkAttachmentDefinition',
    args: ['examples/nad.yaml', '--namespace', 'egress', ...CLUSTER_CIDRS],
  },
  { name: 'a CNI config', args: ['examples/cni.json', '--namespace', 'egress', '--ha', ...CLUSTER_CIDRS] },
  {
    name: 'an EgressRouter without fallback, from stdin, with a policy',
    args: ['-', '--network-policy', '--allow-namespace', 'clients', ...CLUSTER_CIDRS],
    stdin: egressRouterText('plain', 'routers', { rules: 5 }),
  },
];

function stripDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDescriptions);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'description')
      .map(([key, child]) => [
        key,
        key === 'properties'
          ? Object.fromEntries(Object.entries(child as object).map(([k, v]) => [k, stripDescriptions(v)]))
          : stripDescriptions(child),
      ]),
  );
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

interface Deployment extends KubeDoc {
  spec: {
    replicas: number;
    strategy: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        serviceAccountName: string;
        affinity?: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              labelSelector: { matchLabels: Record<string, string> };
              topologyKey: string;
            }[];
          };
        };
        securityContext: { sysctls: { name: string; value: string }[] };
        initContainers: {
          args: string[];
          resources: { requests: Record<string, string>; limits: Record<string, string> };
        }[];
        containers: {
          args: string[];
          env?: { name: string }[];
          resources: { requests: Record<string, string>; limits: Record<string, string> };
          volumeMounts: { name: string; mountPath: string }[];
        }[];
        volumes: {
          name: string;
          configMap?: { name: string };
          emptyDir?: { sizeLimit: string };
          projected?: unknown;
        }[];
      };
    };
  };
}

describe('manifests: every object validates offline, strictly', () => {
  for (const variant of VARIANTS) {
    it(variant.name, async () => {
      const docs = await manifests(variant.args, variant.stdin);
      expect(docs.length).toBeGreaterThanOrEqual(5);
      for (const doc of docs) expect(await problemsOf(doc), `${doc.kind} ${doc.metadata.name}`).toEqual([]);
      for (const nad of ofKind(docs, 'NetworkAttachmentDefinition'))
        expect(nadConfigProblems(JSON.parse((nad.spec as { config: string }).config))).toEqual([]);
    });
  }

  it('the validators do fail: an unknown field, a wrong type, a bad enum, a missing field', async () => {
    const docs = await manifests(VARIANTS[1]!.args);
    const deployment = structuredClone(one(docs, 'Deployment')) as Deployment;
    (deployment.spec.template.spec.containers[0] as Record<string, unknown>).imagee = 'typo';
    (deployment.spec as Record<string, unknown>).replicas = 'two';
    const problems = await builtinProblems(deployment);
    expect(problems.some((p) => p.includes('imagee: unknown field'))).toBe(true);
    expect(problems.some((p) => p.includes('replicas'))).toBe(true);
    const router = structuredClone(one(docs, 'EgressRouter')) as KubeDoc & { spec: Record<string, unknown> };
    router.spec.fallbackIp = '192.0.2.20';
    (router.spec.networkInterface as { macvlan: { mode: string } }).macvlan.mode = 'bridge';
    delete router.spec.addresses;
    expect(await problemsOf(router)).toEqual([
      'EgressRouter.spec.addresses: required',
      'EgressRouter.spec.networkInterface.macvlan.mode: must be one of ["Bridge","Private","VEPA","Passthru"], got "bridge"',
      'EgressRouter.spec.fallbackIp: unknown field',
    ]);
    expect(
      macvlanConfigProblems({
        cniVersion: '0.4.0',
        name: 'x',
        type: 'macvlan',
        mode: 'Bridge',
        ipam: {},
        mac: 'x',
      }),
    ).toEqual(['mode: must be one of bridge, private, vepa, passthru', 'mac: not a macvlan plugin field']);
    expect(unknownFields({ metadata: { name: 'x', lables: {} } }, 'V1ConfigMap', 'ConfigMap')).toEqual([
      'ConfigMap.metadata.lables: unknown field of V1ObjectMeta',
    ]);
  });
});

describe('manifests --crd: the EgressRouter CRD', () => {
  it('is the published schema, field for field (descriptions aside), with the status subresource and printer columns', async () => {
    const crd = one(await manifests(['--crd']), 'CustomResourceDefinition') as KubeDoc & { spec: unknown };
    const published = CRDS['network.operator.openshift.io'];
    expect(published.source).toMatch(/^openshift\/api networkoperator\/v1\//);
    expect(crd.metadata.name).toBe('egressrouters.network.operator.openshift.io');
    expect(stripDescriptions(crd.spec)).toEqual(published.spec);
    const version = (
      crd.spec as { versions: { subresources: unknown; additionalPrinterColumns: unknown[] }[] }
    ).versions[0]!;
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns).toHaveLength(2);
  });

  it('accepts the examples and the status the agent writes, and refuses a status the API would', async () => {
    const crd = one(await manifests(['--crd']), 'CustomResourceDefinition') as unknown as {
      spec: {
        group: string;
        names: { kind: string; plural: string };
        versions: { name: string; schema: { openAPIV3Schema: StructuralSchema } }[];
      };
    };
    const router = one(await manifests(['examples/egressrouter.yaml', ...CLUSTER_CIDRS]), 'EgressRouter');
    const condition = (type: string, status: string) => ({
      type,
      status,
      lastTransitionTime: '2026-01-02T03:04:05Z',
      reason: 'Applied',
      message: 'in place',
    });
    const withStatus = {
      ...router,
      status: {
        conditions: [
          condition('Available', 'True'),
          condition('Progressing', 'False'),
          condition('Degraded', 'False'),
        ],
      },
    };
    expect(customResourceProblems(withStatus, crd.spec)).toEqual([]);
    const bad = {
      ...router,
      status: {
        conditions: [
          condition('Ready', 'True'),
          condition('Degraded', 'Yes'),
          condition('Degraded', 'False'),
        ],
      },
    };
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
    expect(schemaProblems(bad.status, schema.properties!.status!, 'status')).toEqual([
      'status.conditions[0].type: must be one of ["Available","Progressing","Degraded"], got "Ready"',
      'status.conditions[1].status: must be one of ["True","False","Unknown"], got "Yes"',
      'status.conditions: duplicate keys type',
    ]);
  });
});

describe('manifests: two routers in one namespace', () => {
  const both = async () => {
    const flags = ['-', ...FULL];
    const a = await manifests(flags, egressRouterText('router-a', 'shared', { rules: 3 }));
    const b = await manifests(flags, egressRouterText('router-b', 'shared', { rules: 3, fallback: true }));
    const strip = (docs: KubeDoc[]) => docs.filter((d) => d.kind !== 'CustomResourceDefinition');
    return { a: strip(a), b: strip(b) };
  };

  it('never share an object: every (kind, name) is distinct', async () => {
    const { a, b } = await both();
    const keys = (docs: KubeDoc[]) => docs.map((d) => `${d.kind}/${d.metadata.namespace}/${d.metadata.name}`);
    expect(new Set(keys(a)).size).toBe(a.length);
    expect(keys(a).filter((k) => keys(b).includes(k))).toEqual([]);
  });

  it('select only their own pods: Deployment, Service, PDB, NetworkPolicy, PodMonitor and anti-affinity', async () => {
    const { a, b } = await both();
    for (const [mine, theirs] of [
      [a, b],
      [b, a],
    ] as const) {
      const podLabels = (docs: KubeDoc[]) =>
        (one(docs, 'Deployment') as Deployment).spec.template.metadata.labels;
      const deployment = one(mine, 'Deployment') as Deployment;
      const selectors: Record<string, Record<string, string>> = {
        Deployment: deployment.spec.selector.matchLabels,
        Service: (one(mine, 'Service').spec as { selector: Record<string, string> }).selector,
        PodDisruptionBudget: (
          one(mine, 'PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } }
        ).selector.matchLabels,
        NetworkPolicy: (
          one(mine, 'NetworkPolicy').spec as { podSelector: { matchLabels: Record<string, string> } }
        ).podSelector.matchLabels,
        PodMonitor: (one(mine, 'PodMonitor').spec as { selector: { matchLabels: Record<string, string> } })
          .selector.matchLabels,
        antiAffinity:
          deployment.spec.template.spec.affinity!.podAntiAffinity
            .requiredDuringSchedulingIgnoredDuringExecution[0]!.labelSelector.matchLabels,
      };
      for (const [what, selector] of Object.entries(selectors)) {
        expect(Object.keys(selector).length, what).toBeGreaterThan(0);
        expect(matches(selector, podLabels(mine)), `${what} selects its own pods`).toBe(true);
        expect(matches(selector, podLabels(theirs)), `${what} must not select the other router's pods`).toBe(
          false,
        );
      }
    }
  });

  it('refer only to their own objects: NAD, ConfigMap, ServiceAccount, Role, EgressRouter', async () => {
    const { a, b } = await both();
    for (const [docs, name] of [
      [a, 'router-a'],
      [b, 'router-b'],
    ] as const) {
      const pod = (one(docs, 'Deployment') as Deployment).spec.template;
      expect(JSON.parse(pod.metadata.annotations['k8s.v1.cni.cncf.io/networks']!)).toEqual([
        { name, namespace: 'shared', interface: 'net1' },
      ]);
      expect(pod.spec.serviceAccountName).toBe(name);
      expect(pod.spec.volumes.find((v) => v.configMap)?.configMap?.name).toBe(name);
      const binding = one(docs, 'RoleBinding') as KubeDoc & {
        roleRef: { name: string };
        subjects: { name: string }[];
      };
      expect(binding.roleRef.name).toBe(name);
      expect(binding.subjects.map((s) => s.name)).toEqual([name]);
      const role = one(docs, 'Role') as KubeDoc & { rules: { resourceNames?: string[] }[] };
      for (const rule of role.rules.filter((r) => r.resourceNames))
        expect(rule.resourceNames).toEqual([name]);
      expect(one(docs, 'EgressRouter').metadata.name).toBe(name);
      expect(
        (
          one(docs, 'PrometheusRule').spec as { groups: { rules: { expr: string }[] }[] }
        ).groups[0]!.rules.every((r) => r.expr.includes(`router="${name}"`)),
      ).toBe(true);
    }
    const group = (docs: KubeDoc[]) => {
      const args = (one(docs, 'Deployment') as Deployment).spec.template.spec.containers[0]!.args;
      return args[args.indexOf('--ha-group') + 1];
    };
    expect(group(a)).toBe(String(defaultHaGroup('shared', 'router-a')));
    expect(group(a)).not.toBe(group(b));
  });
});

describe('manifests: the Deployment', () => {
  it('one router: one replica, Recreate, no anti-affinity and no PodDisruptionBudget', async () => {
    const docs = await manifests(['examples/egressrouter.yaml', ...CLUSTER_CIDRS]);
    const deployment = one(docs, 'Deployment') as Deployment;
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.spec.template.spec.affinity).toBeUndefined();
    expect(ofKind(docs, 'PodDisruptionBudget')).toEqual([]);
    const [init] = deployment.spec.template.spec.initContainers;
    const [main] = deployment.spec.template.spec.containers;
    expect(init!.args).toEqual([
      'apply',
      '/etc/egress-router/egressrouter.yaml',
      '--health-addr',
      ':9099',
      ...CLUSTER_CIDRS,
    ]);
    expect(main!.args).toEqual([
      'run',
      '/etc/egress-router/egressrouter.yaml',
      '--health-addr',
      ':9099',
      ...CLUSTER_CIDRS,
      '--cleanup-on-exit',
      '--report-status',
    ]);
  });

  it('HA: two replicas on two nodes, a PodDisruptionBudget, and the VRRP flags (apply takes no address)', async () => {
    const docs = await manifests([
      'examples/egressrouter.yaml',
      ...CLUSTER_CIDRS,
      '--ha',
      '--ha-group',
      '7',
      '--ha-priority',
      '150',
      '--ha-advert-interval',
      '0.1',
      '--ha-peer',
      '2001:db8::1',
      '--ha-peer',
      '192.0.2.3',
    ]);
    const deployment = one(docs, 'Deployment') as Deployment;
    expect(deployment.spec.replicas).toBe(2);
    const term =
      deployment.spec.template.spec.affinity!.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term).toEqual([
      {
        labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
        topologyKey: 'kubernetes.io/hostname',
      },
    ]);
    expect(one(docs, 'PodDisruptionBudget').spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: deployment.spec.selector.matchLabels },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
    expect(deployment.spec.template.spec.initContainers[0]!.args.slice(-2)).toEqual(['--ha', 'vrrp']);
    expect(deployment.spec.template.spec.containers[0]!.args.slice(-12)).toEqual([
      '--ha',
      'vrrp',
      '--ha-group',
      '7',
      '--ha-priority',
      '150',
      '--ha-advert-interval',
      '0.1',
      '--ha-peer',
      '2001:db8::1',
      '--ha-peer',
      '192.0.2.3',
    ]);
  });

  it('sizes memory and /tmp from the rule count, and the main container carries the status client', async () => {
    for (const rules of [1, 500, 5000]) {
      const docs = await manifests(['-', ...CLUSTER_CIDRS], egressRouterText('sized', 'ns', { rules }));
      const pod = (one(docs, 'Deployment') as Deployment).spec.template.spec;
      const main = routerResources(rules, { reportStatus: true });
      const init = routerResources(rules, { reportStatus: false });
      expect(pod.containers[0]!.resources).toEqual({ requests: main.requests, limits: main.limits });
      expect(pod.initContainers[0]!.resources).toEqual({ requests: init.requests, limits: init.limits });
      expect(pod.volumes.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit).toBe(main.tmpSizeLimit);
    }
  });

  it('allows the forwarding sysctls of every family the router has', async () => {
    const dual = one(
      await manifests(['examples/egressrouter-dualstack.yaml', '--namespace', 'egress', ...CLUSTER_CIDRS]),
      'Deployment',
    );
    expect((dual as Deployment).spec.template.spec.securityContext.sysctls).toEqual([
      { name: 'net.ipv4.ip_forward', value: '1' },
      { name: 'net.ipv6.conf.all.forwarding', value: '1' },
    ]);
  });

  it("the NAD is a plain macvlan on the config's master and mode; with IPv6, tuning turns ndisc_notify on", async () => {
    const plain = one(
      await manifests(['deploy/egressrouter.yaml', ...CLUSTER_CIDRS]),
      'NetworkAttachmentDefinition',
    );
    expect(JSON.parse((plain.spec as { config: string }).config)).toEqual({
      cniVersion: '0.4.0',
      name: 'egress-router',
      type: 'macvlan',
      master: 'ens4',
      mode: 'bridge',
      ipam: {},
    });
    const dual = one(
      await manifests([
        'examples/egressrouter-dualstack.yaml',
        '--namespace',
        'egress',
        '--interface',
        'egress0',
        ...CLUSTER_CIDRS,
      ]),
      'NetworkAttachmentDefinition',
    );
    const config = JSON.parse((dual.spec as { config: string }).config) as { plugins: unknown[] };
    expect(config.plugins).toEqual([
      expect.objectContaining({ type: 'macvlan', ipam: {} }),
      { type: 'tuning', sysctl: { 'net.ipv6.conf.egress0.ndisc_notify': '1' } },
    ]);
    expect(nadConfigProblems(config)).toEqual([]);
    expect(nadConfigProblems({ ...config, plugins: [...config.plugins, { type: 'bridge' }] })).toEqual([
      'plugins[2]: only the tuning plugin is expected after macvlan',
    ]);
  });

  it('only an EgressRouter gets status writing: RBAC, the token, the downward env, --report-status', async () => {
    const withStatus = await manifests(['examples/egressrouter.yaml', ...CLUSTER_CIDRS]);
    const without = await manifests(['examples/nad.yaml', '--namespace', 'egress', ...CLUSTER_CIDRS]);
    const kinds = (docs: KubeDoc[]) => docs.map((d) => d.kind);
    expect(kinds(withStatus)).toEqual([
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ConfigMap',
      'NetworkAttachmentDefinition',
      'Deployment',
      'Service',
      'EgressRouter',
    ]);
    expect(kinds(without)).toEqual([
      'ServiceAccount',
      'ConfigMap',
      'NetworkAttachmentDefinition',
      'Deployment',
      'Service',
    ]);
    const mainOf = (docs: KubeDoc[]) => (one(docs, 'Deployment') as Deployment).spec.template.spec;
    expect(mainOf(withStatus).containers[0]!.env?.map((e) => e.name)).toEqual([
      'POD_NAME',
      'POD_NAMESPACE',
      'NODE_NAME',
    ]);
    expect(mainOf(withStatus).containers[0]!.volumeMounts.map((m) => m.mountPath)).toContain(
      '/var/run/secrets/kubernetes.io/serviceaccount',
    );
    expect(mainOf(without).containers[0]!.args).not.toContain('--report-status');
    expect(mainOf(without).volumes.some((v) => v.projected)).toBe(false);
  });

  it('emits the EgressRouter without status or server-set metadata (a config saved with kubectl get -o yaml)', async () => {
    const saved = egressRouterText('saved', 'ns').replace(
      'metadata:\n',
      'metadata:\n  uid: 0f1e\n  resourceVersion: "4711"\n  generation: 3\n  creationTimestamp: "2026-01-01T00:00:00Z"\n' +
        '  labels: { team: a }\n  annotations: { kubectl.kubernetes.io/last-applied-configuration: "{}", note: kept }\n',
    );
    const text = `${saved}status:\n  conditions: []\n`;
    const router = one(await manifests(['-', ...CLUSTER_CIDRS], text), 'EgressRouter');
    expect(router.metadata).toEqual({
      name: 'saved',
      namespace: 'ns',
      labels: { team: 'a' },
      annotations: { note: 'kept' },
    });
    expect(Object.keys(router)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  });

  it('the ConfigMap keeps the config byte for byte through the YAML output (trailing spaces, tabs, no final newline)', async () => {
    const base = egressRouterText('odd', 'ns');
    const texts = [
      `# trailing spaces   \n#\ttab\n\n${base}`,
      base.trimEnd(),
      `${base}\n\n\n`,
      JSON.stringify(YAML.parse(base)),
    ];
    for (const text of texts) {
      const docs = await manifests(['-', ...CLUSTER_CIDRS], text);
      const data = (one(docs, 'ConfigMap') as KubeDoc & { data: Record<string, string> }).data;
      expect(Object.values(data)).toEqual([text]);
    }
  });

  it('stores the config verbatim in the ConfigMap, where the agent reads it, and the agent accepts it', async () => {
    for (const file of ['examples/egressrouter.yaml', 'examples/cni.json']) {
      const docs = await manifests([file, '--namespace', 'egress', ...CLUSTER_CIDRS]);
      const data = (one(docs, 'ConfigMap') as KubeDoc & { data: Record<string, string> }).data;
      const [key] = Object.keys(data);
      expect(data[key!]).toBe(readFileSync(file, 'utf8'));
      expect(loadConfigText(data[key!]!, DEFAULT_OPTIONS).ok).toBe(true);
      const args = (one(docs, 'Deployment') as Deployment).spec.template.spec.containers[0]!.args;
      expect(args[1]).toBe(`/etc/egress-router/${key}`);
    }
  });
});

describe('manifests: the Service and the NetworkPolicy', () => {
  it('without a fallback: a ClusterIP Service with one port per rule; with one: headless', async () => {
    const plain = one(
      await manifests(['-', ...CLUSTER_CIDRS], egressRouterText('p', 'ns', { rules: 3 })),
      'Service',
    );
    expect(plain.spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'egress-router-agent', 'app.kubernetes.io/instance': 'p' },
      ports: [
        { name: 'tcp-1000', protocol: 'TCP', port: 1000, targetPort: 1000 },
        { name: 'udp-1001', protocol: 'UDP', port: 1001, targetPort: 1001 },
        { name: 'tcp-1002', protocol: 'TCP', port: 1002, targetPort: 1002 },
      ],
    });
    const fallback = one(
      await manifests(['-', ...CLUSTER_CIDRS], egressRouterText('f', 'ns', { rules: 0, fallback: true })),
      'Service',
    );
    expect(fallback.spec).toEqual({
      type: 'ClusterIP',
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/name': 'egress-router-agent', 'app.kubernetes.io/instance': 'f' },
    });
  });

  it('admits the named clients on the client ports only, and the metrics namespace on the health port only', async () => {
    const args = [
      '-',
      ...CLUSTER_CIDRS,
      '--network-policy',
      '--allow-pods',
      'team-b/app=x',
      '--allow-metrics-namespace',
      'mon',
      '--health-addr',
      ':9500',
    ];
    const plain = one(await manifests(args, egressRouterText('p', 'ns', { rules: 2 })), 'NetworkPolicy')
      .spec as {
      ingress: { from: unknown[]; ports: unknown[] }[];
    };
    expect(plain.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'team-b' } },
            podSelector: { matchLabels: { app: 'x' } },
          },
        ],
        ports: [
          { protocol: 'TCP', port: 1000 },
          { protocol: 'UDP', port: 1001 },
        ],
      },
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mon' } } }],
        ports: [{ protocol: 'TCP', port: 9500 }],
      },
    ]);
    const fallback = one(
      await manifests(args, egressRouterText('f', 'ns', { rules: 1, fallback: true })),
      'NetworkPolicy',
    ).spec as typeof plain;
    expect(fallback.ingress[0]!.ports).toEqual([
      { protocol: 'TCP', port: 1, endPort: 9499 },
      { protocol: 'TCP', port: 9501, endPort: 65535 },
      { protocol: 'UDP', port: 1, endPort: 65535 },
      { protocol: 'SCTP', port: 1, endPort: 65535 },
    ]);
  });
});

describe('manifests: --allow-pods', () => {
  it('reads [NAMESPACE/]KEY=VALUE[,KEY=VALUE], telling a namespace from a label prefix by its dot', () => {
    expect(parsePodPeer('app=x')).toEqual({ podLabels: { app: 'x' } });
    expect(parsePodPeer('team-b/app=x,tier=web')).toEqual({
      namespace: 'team-b',
      podLabels: { app: 'x', tier: 'web' },
    });
    expect(parsePodPeer('app.kubernetes.io/name=x')).toEqual({
      podLabels: { 'app.kubernetes.io/name': 'x' },
    });
    expect(parsePodPeer('ns/example/key=v')).toEqual({ namespace: 'ns', podLabels: { 'example/key': 'v' } });
    expect(parsePodPeer('app=')).toEqual({ podLabels: { app: '' } });
    expect(() => parsePodPeer('app=x,app=y')).toThrow(/names the label app twice/);
    expect(() => parsePodPeer('app=x y')).toThrow(/valid label keys and values/);
  });
});

describe('manifests: output', () => {
  it('YAML and --output json hold the same objects; --kind selects; --crd alone prints the CRD only', async () => {
    const args = ['examples/egressrouter.yaml', ...FULL];
    const yaml = await manifests(args);
    const json = await runCli(['manifests', ...args, '--output', 'json']);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as { kind: string; items: unknown[] };
    expect(list.kind).toBe('List');
    expect(list.items).toEqual(yaml);
    const services = await manifests([...args, '--kind', 'Service', '--kind', 'PodMonitor']);
    expect(services.map((d) => d.kind)).toEqual(['Service', 'PodMonitor']);
    expect((await manifests(['--crd'])).map((d) => d.kind)).toEqual(['CustomResourceDefinition']);
  });

  it('prints no YAML anchors and starts with the command that made it', async () => {
    const result = await runCli(['manifests', 'examples/egressrouter.yaml', ...FULL]);
    expect(result.stdout).not.toMatch(/[&*]a\d/);
    expect(result.stdout.split('\n')[0]).toBe(
      `# Generated by egress-router-agent 0.1.0: egress-router-agent manifests examples/egressrouter.yaml ${FULL.join(' ')}`,
    );
    expect(parseStream(result.stdout).length).toBeGreaterThan(0);
  });
});

describe('manifests: bad input is refused with the field and the reason, exit 2', () => {
  const cases: { args: string[]; stdin?: string; error: RegExp }[] = [
    { args: ['examples/egressrouter.yaml'], error: /--cluster-cidr is required/ },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--namespace', 'other'],
      error: /metadata.namespace: is "egress" but --namespace is "other"/,
    },
    {
      args: ['-', ...CLUSTER_CIDRS],
      stdin: egressRouterText('Router_1', 'ns'),
      error: /metadata.name: "Router_1" cannot name a Service/,
    },
    {
      args: ['-', ...CLUSTER_CIDRS],
      stdin: egressRouterText('r', 'ns').replace('port: 1000', 'port: 0'),
      error: /redirectRules\[0\]\.port/,
    },
    { args: ['examples/nad.yaml', ...CLUSTER_CIDRS], error: /names no namespace: give --namespace/ },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--ha', '--ha-group', '0'],
      error: /--ha-group must be an integer from 1 to 255/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--ha-group', '3'],
      error: /--ha-group needs --ha/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--ha', '--ha-priority', '255'],
      error: /--ha-priority must be an integer from 1 to 254/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--ha', '--ha-advert-interval', '0.001'],
      error: /--ha-advert-interval must be seconds/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--ha', '--ha-peer', '010.0.0.1'],
      error: /--ha-peer has a leading zero/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--network-policy'],
      error: /--network-policy needs at least one --allow-namespace or --allow-pods/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--allow-namespace', 'x'],
      error: /--allow-namespace only shapes the NetworkPolicy/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--network-policy', '--allow-pods', 'app'],
      error: /--allow-pods must be \[NAMESPACE\/\]KEY=VALUE/,
    },
    {
      args: [
        'examples/egressrouter.yaml',
        ...CLUSTER_CIDRS,
        '--network-policy',
        '--allow-namespace',
        'Team_A',
      ],
      error: /--allow-namespace: "Team_A" is not a namespace name/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--kind', 'Pod'],
      error: /--kind Pod: no such object/,
    },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--cluster-cidr', '10.0.0.1'],
      error: /--cluster-cidr 10\.0\.0\.1: must be a CIDR/,
    },
    { args: ['--from-env', ...CLUSTER_CIDRS], error: /--from-env has no name/ },
    {
      args: ['examples/egressrouter.yaml', ...CLUSTER_CIDRS, '--health-addr', '127.0.0.1:9099'],
      error: /the kubelet probes the pod's own address/,
    },
    { args: [], error: /missing CONFIG/ },
  ];
  for (const c of cases) {
    it(`${c.args.filter((a) => !CLUSTER_CIDRS.includes(a)).join(' ') || '(no arguments)'} → ${c.error.source}`, async () => {
      const result = await runCli(['manifests', ...c.args], c.stdin !== undefined ? { stdin: c.stdin } : {});
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(c.error);
    });
  }

  it('refuses a config a ConfigMap cannot hold (over 1 MiB)', async () => {
    const result = await runCli(['manifests', '-', ...CLUSTER_CIDRS], {
      stdin: egressRouterText('big', 'ns', { rules: 16_000 }),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the config takes \d+ bytes; a ConfigMap holds at most 1048576/);
  });
});

describe('manifests: names, VRRP group and sizing', () => {
  it('router names must make a Service name', () => {
    expect(routerNameProblem('egress-router-1')).toBeUndefined();
    expect(routerNameProblem('1router')).toMatch(/DNS-1035/);
    expect(routerNameProblem('a.b')).toMatch(/DNS-1035/);
    expect(routerNameProblem('a'.repeat(64))).toMatch(/at most 63/);
  });

  it('the default VRRP group is stable, 1–255, and spreads over the range', () => {
    expect(defaultHaGroup('egress', 'egress-router-demo')).toBe(
      defaultHaGroup('egress', 'egress-router-demo'),
    );
    const groups = Array.from({ length: 2000 }, (_, i) => defaultHaGroup('ns', `router-${i}`));
    expect(Math.min(...groups)).toBe(1);
    expect(Math.max(...groups)).toBe(255);
    expect(new Set(groups).size).toBe(255);
  });

  it('sizing grows with the rules and never falls below the base', () => {
    expect(routerResources(0, { reportStatus: false })).toEqual({
      requests: { cpu: '10m', memory: '80Mi' },
      limits: { memory: '192Mi' },
      tmpSizeLimit: '16Mi',
    });
    expect(routerResources(13_000, { reportStatus: true })).toEqual({
      requests: { cpu: '23m', memory: '144Mi' },
      limits: { memory: '288Mi' },
      tmpSizeLimit: '32Mi',
    });
  });
});
