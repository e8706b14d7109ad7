// deploy/: every manifest parses, and they agree with each other and with the agent itself:
// its config loader, its command-line parser, its health endpoints, its plan.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { systemOptionsFrom } from '../../src/cli/commands/apply.js';
import { RUN_HELP } from '../../src/cli/commands/run.js';
import { SYSTEM_FLAGS as SYSTEM_OPTIONS } from '../../src/cli/flags.js';
import { healthAddrFrom, type OptionSpec, parseCommandArgs } from '../../src/cli/options.js';
import { loadConfigText } from '../../src/config/load.js';
import { DEFAULT_OPTIONS, type RouterConfig } from '../../src/config/model.js';
import { sysctlName } from '../../src/link/sysctl.js';
import { planRouter } from '../../src/plan/routerPlan.js';
import { runCli } from '../helpers/runCli.js';

const DEPLOY = 'deploy';
const CONFIGMAP_NAME = 'egress-router-config';

// The parts of the Kubernetes objects this test reads.
interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
}
interface Probe {
  httpGet?: { path?: string; port?: number | string; scheme?: string };
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  configMap?: { name?: string; items?: { key: string; path: string }[]; optional?: boolean };
  emptyDir?: Record<string, unknown>;
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { sysctls?: { name: string; value: string }[] };
}
interface Deployment extends Manifest {
  spec: {
    replicas?: number;
    strategy?: { type?: string };
    selector: { matchLabels?: Record<string, string> };
    template: { metadata?: Meta; spec: PodSpec };
  };
}
interface ConfigMap extends Manifest {
  data?: Record<string, string>;
}
interface Service extends Manifest {
  spec: {
    type?: string;
    selector?: Record<string, string>;
    ports: { name?: string; protocol?: string; port: number; targetPort?: number | string }[];
  };
}
interface Nad extends Manifest {
  spec: { config: string };
}
interface Kustomization extends Manifest {
  namespace?: string;
  resources?: string[];
}

/** Each file of deploy/, parsed as kubectl reads YAML (1.1, duplicate keys refused). */
function loadManifests(): Map<string, Manifest> {
  const files = new Map<string, Manifest>();
  for (const file of readdirSync(DEPLOY).filter((f) => /\.ya?ml$/.test(f))) {
    const documents = YAML.parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'), {
      version: '1.1',
      uniqueKeys: true,
    });
    if (!Array.isArray(documents)) throw new Error(`${file}: not a YAML stream`);
    expect(documents, `${file}: one document per file`).toHaveLength(1);
    const [document] = documents;
    expect(document?.errors.map((e) => e.message) ?? [], file).toEqual([]);
    expect(document?.warnings.map((e) => e.message) ?? [], file).toEqual([]);
    files.set(file, document?.toJS() as Manifest);
  }
  return files;
}

const manifests = loadManifests();

function only<T extends Manifest>(kind: string): T {
  const found = [...manifests.values()].filter((m) => m.kind === kind);
  expect(
    found.map((m) => m.kind),
    `exactly one ${kind} in deploy/`,
  ).toEqual([kind]);
  return found[0] as T;
}

const deployment = only<Deployment>('Deployment');
const configMap = only<ConfigMap>('ConfigMap');
const service = only<Service>('Service');
const nad = only<Nad>('NetworkAttachmentDefinition');
const kustomization = manifests.get('kustomization.yaml') as Kustomization | undefined;
const pod = deployment.spec.template.spec;
const initContainers = pod.initContainers ?? [];
const initContainer = initContainers[0]!;
const mainContainer = pod.containers[0]!;

/** The options `run` takes on top of apply's, read from its own help so they cannot drift apart. */
function runOnlyOptions(): OptionSpec {
  const spec: OptionSpec = {};
  for (const match of RUN_HELP.matchAll(/^ {2}--([a-z-]+)(?: (\S+))?\s{2,}/gm)) {
    const [, name, metavar] = match;
    if (name && !(name in SYSTEM_OPTIONS)) spec[name] = { type: metavar ? 'string' : 'boolean' };
  }
  return spec;
}
const RUN_ONLY = runOnlyOptions();

function flagsOf(args: readonly string[]): string[] {
  return args.filter((a) => a.startsWith('-')).map((a) => a.replace(/^--?/, '').replace(/=.*$/, ''));
}

/** A container's args as the agent parses them: the command, its flags' values and the options they make. */
function parseAgentArgs(container: Container) {
  const [command, ...rest] = container.args ?? [];
  const spec = command === 'run' ? { ...SYSTEM_OPTIONS, ...RUN_ONLY } : SYSTEM_OPTIONS;
  const { values, positionals } = parseCommandArgs(rest, spec);
  const { options, source } = systemOptionsFrom(values, positionals);
  const healthAddr = healthAddrFrom(values['health-addr'] as string | undefined);
  return { command, rest, values: values as Record<string, unknown>, options, source, healthAddr };
}

const parsedArgs = new Map<Container, ReturnType<typeof parseAgentArgs>>();
/** Parsed on first use, so a flag the agent rejects fails the tests that need it, not the whole file. */
function agentArgs(container: Container): ReturnType<typeof parseAgentArgs> {
  const known = parsedArgs.get(container);
  if (known) return known;
  const parsed = parseAgentArgs(container);
  parsedArgs.set(container, parsed);
  return parsed;
}
const init = () => agentArgs(initContainer);
const main = () => agentArgs(mainContainer);

/** The ConfigMap key a container reads its config from, following its volume mounts. */
function configKeyOf(container: Container, path: string): string {
  const mount = (container.volumeMounts ?? []).find((m) =>
    path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
  );
  if (!mount) throw new Error(`${container.name}: nothing is mounted above ${path}`);
  expect(mount.subPath, `${container.name}: a subPath mount never sees ConfigMap updates`).toBeUndefined();
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  expect(volume?.configMap?.name, `${container.name}: ${mount.mountPath} is the ConfigMap`).toBe(
    configMap.metadata?.name,
  );
  expect(volume?.configMap?.optional).not.toBe(true);
  const relative = posix.relative(mount.mountPath, path);
  const item = volume?.configMap?.items?.find((i) => i.path === relative);
  if (volume?.configMap?.items) expect(item, `${relative} is one of the volume's items`).toBeDefined();
  return item?.key ?? relative;
}

function loadedConfig(options = DEFAULT_OPTIONS): RouterConfig {
  const key = configKeyOf(mainContainer, main().source.path!);
  const result = loadConfigText(configMap.data?.[key] ?? '', options);
  if (!result.ok) throw new Error(`the ConfigMap's config is invalid: ${JSON.stringify(result.issues)}`);
  return result.config;
}

/** Resolves a probe's port (a number, or the name of one of the container's ports). */
function probePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The k8s.v1.cni.cncf.io/networks annotation, in either of its forms. */
function networksAnnotation(): { name: string; namespace?: string; interface?: string }[] {
  const text = deployment.spec.template.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'] ?? '';
  if (text.trim().startsWith('[')) return JSON.parse(text);
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(?:([^/@]+)\/)?([^/@]+)(?:@(.+))?$/.exec(entry);
      if (!match) throw new Error(`cannot read network ${JSON.stringify(entry)}`);
      return {
        name: match[2]!,
        ...(match[1] ? { namespace: match[1] } : {}),
        ...(match[3] ? { interface: match[3] } : {}),
      };
    });
}

describe('deploy/: the manifests', () => {
  it('are all listed in kustomization.yaml, which lists nothing else', () => {
    expect(kustomization?.kind).toBe('Kustomization');
    const files = [...manifests.keys()].filter((f) => f !== 'kustomization.yaml').sort();
    expect([...(kustomization?.resources ?? [])].sort()).toEqual(files);
  });

  it('each have apiVersion, kind and a name, and no namespace that contradicts the kustomization', () => {
    for (const [file, manifest] of manifests) {
      if (file === 'kustomization.yaml') continue;
      expect(manifest.apiVersion, file).toMatch(/\S/);
      expect(manifest.kind, file).toMatch(/\S/);
      expect(manifest.metadata?.name, file).toMatch(/\S/);
      if (manifest.metadata?.namespace !== undefined && manifest.kind !== 'Namespace')
        expect(manifest.metadata.namespace, file).toBe(kustomization?.namespace);
    }
    const namespace = [...manifests.values()].find((m) => m.kind === 'Namespace');
    if (namespace) {
      expect(namespace.metadata?.name).toBe(kustomization?.namespace);
      // NET_ADMIN, NET_RAW and an unsafe sysctl are beyond the baseline Pod Security level.
      expect(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    }
  });
});

describe('deploy/: the ConfigMap', () => {
  it("holds an EgressRouter under egressrouter.yaml that the agent's loader accepts with no issue", () => {
    expect(configMap.metadata?.name).toBe(CONFIGMAP_NAME);
    const text = configMap.data?.['egressrouter.yaml'];
    expect(text).toBeDefined();
    for (const options of [DEFAULT_OPTIONS, main().options, init().options]) {
      const result = loadConfigText(text!, options);
      expect(result.ok ? [] : result.issues).toEqual([]);
      expect(result.ok && result.config.format).toBe('EgressRouter');
    }
  });

  it('uses documentation addresses only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)', () => {
    const config = loadedConfig();
    const documentation = /^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:)/;
    const used = [
      ...config.addresses.flatMap((a) => [a.address, ...(a.gateway ? [a.gateway] : [])]),
      ...config.redirectRules.map((r) => r.destinationIP),
      ...(config.fallback ? [config.fallback.address] : []),
    ];
    for (const address of used) expect(address).toMatch(documentation);
  });
});

describe("deploy/: the Deployment's containers and the agent's command line", () => {
  it('the init container runs apply and the main container run, with the same image and no entrypoint override', () => {
    expect(initContainers).toHaveLength(1);
    expect(pod.containers).toHaveLength(1);
    expect(init().command).toBe('apply');
    expect(main().command).toBe('run');
    expect(initContainer.image).toMatch(/\S/);
    expect(mainContainer.image).toBe(initContainer.image);
    // The image's ENTRYPOINT is the agent; the manifests give only its arguments.
    expect(initContainer.command).toBeUndefined();
    expect(mainContainer.command).toBeUndefined();
  });

  it("use only flags the agent defines: apply's SYSTEM_OPTIONS, and for run also run's own", () => {
    const applyFlags = Object.keys(SYSTEM_OPTIONS);
    expect(flagsOf(initContainer.args?.slice(1) ?? []).filter((f) => !applyFlags.includes(f))).toEqual([]);
    const runFlags = [...applyFlags, ...Object.keys(RUN_ONLY)];
    expect(Object.keys(RUN_ONLY)).toContain('cleanup-on-exit');
    expect(flagsOf(mainContainer.args?.slice(1) ?? []).filter((f) => !runFlags.includes(f))).toEqual([]);
    expect(init().values.help).toBeUndefined();
    expect(main().values.help).toBeUndefined();
  });

  it("pass the CLI's own parser (checked through the dispatcher with --help, which stops before any change)", async () => {
    for (const container of [initContainer, mainContainer]) {
      const args = container.args ?? [];
      const result = await runCli([...args, '--help']);
      expect(result.stderr, container.name).toBe('');
      expect(result.code, container.name).toBe(0);
      expect(result.stdout).toContain(`Usage: egress-router-agent ${args[0]} `);
    }
  });

  it('give init and main the same config, health address, interfaces and cluster CIDRs; run cleans up on exit', () => {
    expect(main().source).toEqual(init().source);
    expect(main().options).toEqual(init().options);
    expect(main().healthAddr).toEqual(init().healthAddr);
    for (const name of Object.keys(SYSTEM_OPTIONS))
      expect(main().values[name], name).toEqual(init().values[name]);
    expect(main().values['cleanup-on-exit']).toBe(true);
    expect(main().source.fromEnv).toBe(false);
    expect(main().values['health-addr'], '--health-addr is explicit').toBeDefined();
    expect(
      main().options.clusterCidrs?.length,
      '--cluster-cidr for the cluster and service ranges',
    ).toBeGreaterThan(1);
  });

  it('read the config from where the ConfigMap is mounted, as a directory, and the key exists', () => {
    for (const container of [initContainer, mainContainer]) {
      const args = agentArgs(container);
      expect(args.source.path).toMatch(/^\//);
      const key = configKeyOf(container, args.source.path!);
      expect(Object.keys(configMap.data ?? {})).toContain(key);
    }
  });

  it('probe /readyz (readiness) and /healthz (liveness) on the port of --health-addr, on every address', () => {
    const port = main().healthAddr.port;
    expect(main().options.healthPort).toBe(port);
    // The kubelet probes the pod's address, so the health server must not listen on loopback only.
    expect(main().healthAddr.host ?? '0.0.0.0').toMatch(/^(0\.0\.0\.0|::)$/);
    const readiness = mainContainer.readinessProbe?.httpGet;
    const liveness = mainContainer.livenessProbe?.httpGet;
    expect(readiness?.path).toBe('/readyz');
    expect(liveness?.path).toBe('/healthz');
    expect(probePort(mainContainer, readiness?.port)).toBe(port);
    expect(probePort(mainContainer, liveness?.port)).toBe(port);
    expect([undefined, 'HTTP']).toContain(readiness?.scheme);
    expect([undefined, 'HTTP']).toContain(liveness?.scheme);
    expect(
      mainContainer.ports?.some((p) => p.containerPort === port && (p.protocol ?? 'TCP') === 'TCP'),
    ).toBe(true);
    // Init containers cannot have probes; apply exits once it has verified its work.
    expect(initContainer.readinessProbe ?? initContainer.livenessProbe ?? initContainer.startupProbe).toBe(
      undefined,
    );
  });

  it('run as root with only NET_ADMIN and NET_RAW, unprivileged, on a read-only root with a writable /tmp', () => {
    for (const container of [initContainer, mainContainer]) {
      const context = container.securityContext;
      expect(context?.runAsUser, container.name).toBe(0);
      expect(context?.privileged ?? false, container.name).toBe(false);
      expect(context?.allowPrivilegeEscalation, container.name).toBe(false);
      expect(context?.capabilities?.drop, container.name).toEqual(['ALL']);
      expect([...(context?.capabilities?.add ?? [])].sort(), container.name).toEqual([
        'NET_ADMIN',
        'NET_RAW',
      ]);
      expect(context?.readOnlyRootFilesystem, container.name).toBe(true);
      // nft reads its batches from a temp file (os.tmpdir()).
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(tmp, `${container.name}: /tmp`).toBeDefined();
      expect(tmp?.readOnly ?? false).toBe(false);
      expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      expect(container.resources?.requests?.memory, container.name).toBeDefined();
      expect(container.resources?.limits?.memory, container.name).toBeDefined();
    }
  });

  it('allow every sysctl the plan needs in the pod (net.ipv4.ip_forward=1 for IPv4)', () => {
    const wanted = planRouter(loadedConfig(main().options), main().options)
      .sysctls.filter((s) => s.required)
      .map((s) => ({ key: sysctlName(s.key), value: s.value }));
    expect(wanted).toContainEqual({ key: 'net.ipv4.ip_forward', value: '1' });
    const allowed = pod.securityContext?.sysctls ?? [];
    for (const { key, value } of wanted) expect(allowed).toContainEqual({ name: key, value });
  });
});

describe('deploy/: the Deployment', () => {
  it('runs one pod, replaced with strategy Recreate so two pods never hold the egress IP', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy?.type).toBe('Recreate');
  });

  it('selects its own pods, and stops them quickly (cleanup on SIGTERM takes a few seconds)', () => {
    const labels = deployment.spec.template.metadata?.labels ?? {};
    const selector = deployment.spec.selector.matchLabels ?? {};
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(selector)) expect(labels[key], key).toBe(value);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds).toBeLessThanOrEqual(30);
  });
});

describe('deploy/: the NetworkAttachmentDefinition (adopt mode)', () => {
  it('is the network the pod annotation asks for, attached as the interface the agent uses', () => {
    const networks = networksAnnotation();
    expect(networks).toHaveLength(1);
    const [network] = networks;
    expect(network?.name).toBe(nad.metadata?.name);
    if (network?.namespace !== undefined) expect(network.namespace).toBe(kustomization?.namespace);
    expect(network?.interface ?? 'net1').toBe(main().options.egressInterface);
    expect(main().options.egressInterface).toBe(DEFAULT_OPTIONS.egressInterface);
    expect(main().values['master-netns'], 'adopt mode: no --master-netns').toBeUndefined();
  });

  it('is a plain macvlan CNI config without IPAM addresses, on the master and mode of the EgressRouter', () => {
    const cni = JSON.parse(nad.spec.config) as {
      type?: string;
      master?: string;
      mode?: string;
      ipam?: { type?: string; addresses?: unknown[] };
      cniVersion?: string;
    };
    expect(cni.cniVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(cni.type).toBe('macvlan');
    expect(cni.ipam?.type).toBeUndefined();
    expect(cni.ipam?.addresses).toBeUndefined();
    const config = loadedConfig();
    expect(cni.mode).toBe(config.macvlan.mode.toLowerCase());
    if (config.macvlan.master !== undefined) expect(cni.master).toBe(config.macvlan.master);
    expect(cni.master).toMatch(/\S/);
  });
});

describe('deploy/: the Service', () => {
  it('selects the router pod and is a ClusterIP service', () => {
    expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    const labels = deployment.spec.template.metadata?.labels ?? {};
    const selector = service.spec.selector ?? {};
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(selector)) expect(labels[key], key).toBe(value);
  });

  it("has exactly the redirect rules' (protocol, port) pairs, each to the same port on the pod", () => {
    const config = loadedConfig(main().options);
    const rules = config.redirectRules.map((r) => `${r.protocol.toUpperCase()}/${r.port}`).sort();
    const ports = service.spec.ports.map((p) => `${p.protocol ?? 'TCP'}/${p.port}`).sort();
    expect(ports).toEqual(rules);
    for (const port of service.spec.ports) expect(port.targetPort ?? port.port).toBe(port.port);
    // Several ports need names; names must be unique.
    const names = service.spec.ports.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('never exposes the health port', () => {
    const health = main().healthAddr.port;
    for (const port of service.spec.ports) {
      expect(port.port).not.toBe(health);
      expect(port.targetPort).not.toBe(health);
      expect(port.targetPort).not.toBe('health');
    }
  });
});
