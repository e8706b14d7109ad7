import YAML from 'yaml';
import { parseIp } from '../../config/ip.js';
import { formatIssue } from '../../config/issues.js';
import { loadConfigText } from '../../config/load.js';
import type { InputFormat, RouterConfig } from '../../config/model.js';
import { configKey } from '../../manifests/config.js';
import { buildManifests, type Manifest } from '../../manifests/index.js';
import type { HaSettings, NetworkPolicySettings, PolicyPeer, RouterInput } from '../../manifests/input.js';
import { defaultHaGroup, namespaceProblem, routerNameProblem } from '../../manifests/names.js';
import { renderJson, renderYaml } from '../../manifests/render.js';
import { CONFIGMAP_MAX_BYTES } from '../../manifests/sizing.js';
import { version } from '../../version.js';
import { readConfigText } from '../configSource.js';
import { flagHelp, MANIFESTS_FLAGS, parseFlags } from '../flags.js';
import { EXIT_INVALID, EXIT_OK, type Io, UsageError } from '../io.js';
import { agentOptionsFrom, healthAddrFrom } from '../options.js';
import { clusterCidrs } from './render.js';

export const MANIFESTS_HELP = `Usage: egress-router-agent manifests CONFIG|- --namespace NS --cluster-cidr CIDR… [options]
       egress-router-agent manifests --crd

Prints the Kubernetes objects that run CONFIG's router, as YAML for "kubectl apply -f -": the
ServiceAccount (with the Role and RoleBinding that status writing needs), a ConfigMap holding
CONFIG, the NetworkAttachmentDefinition (macvlan, adopt mode), the Deployment (init container
apply, main container run), the Service, and the EgressRouter itself. Every object is named
after the router (metadata.name) and selects only its pods. CONFIG is any config with a name:
an EgressRouter first of all (status is written back to it), a NetworkAttachmentDefinition or a
CNI config. Nothing is touched: it only prints.

Options:
${flagHelp(MANIFESTS_FLAGS)}

Example:
  egress-router-agent manifests examples/egressrouter.yaml --cluster-cidr 10.128.0.0/14 \\
      --cluster-cidr 172.30.0.0/16 --crd | kubectl apply -f -
`;

const OPTIONS = MANIFESTS_FLAGS;

const parseManifestsArgs = (argv: readonly string[]) => parseFlags(argv, OPTIONS);
type Values = ReturnType<typeof parseManifestsArgs>['values'];

function integerIn(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return Number(text);
}

function advertInterval(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // VRRPv3 carries the interval in centiseconds, 12 bits: 0.01 to 40.95 s.
  const centiseconds = Math.round(Number(text) * 100);
  if (!/^\d+(\.\d{1,2})?$/.test(text) || centiseconds < 1 || centiseconds > 4095)
    throw new UsageError(
      `--ha-advert-interval must be seconds from 0.01 to 40.95 in steps of 0.01, got ${JSON.stringify(text)}`,
    );
  return text;
}

function haSettings(values: Values, namespace: string, name: string): HaSettings | undefined {
  if (!values.ha) {
    const given: Record<string, boolean> = {
      'ha-group': values['ha-group'] !== undefined,
      'ha-priority': values['ha-priority'] !== undefined,
      'ha-advert-interval': values['ha-advert-interval'] !== undefined,
      'ha-peer': values['ha-peer'].length > 0,
    };
    const flag = Object.keys(given).find((name) => given[name]);
    if (flag) throw new UsageError(`--${flag} needs --ha`);
    return undefined;
  }
  const peers = values['ha-peer'].map((peer) => {
    const parsed = parseIp(peer);
    if (!parsed.ok) throw new UsageError(`--ha-peer ${parsed.error}`);
    return parsed.value.address;
  });
  const priority = integerIn(values['ha-priority'], '--ha-priority', 1, 254);
  const interval = advertInterval(values['ha-advert-interval']);
  return {
    group: integerIn(values['ha-group'], '--ha-group', 1, 255) ?? defaultHaGroup(namespace, name),
    ...(priority !== undefined ? { priority } : {}),
    ...(interval !== undefined ? { advertInterval: interval } : {}),
    peers,
  };
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function checkedNamespace(text: string, flag: string): string {
  const problem = namespaceProblem(text);
  if (problem) throw new UsageError(`${flag}: ${problem}`);
  return text;
}

/**
 * "[NS/]key=value[,key=value]" → a peer. The text before a '/' that comes before the first '=' is
 * the namespace unless it has a dot (then it is a label prefix: app.kubernetes.io/name=x); a
 * label prefix without a dot needs the namespace written first (ns/example/key=v).
 */
export function parsePodPeer(text: string): PolicyPeer {
  const equals = text.indexOf('=');
  const slash = text.indexOf('/');
  const hasNamespace = slash >= 0 && (equals < 0 || slash < equals) && !text.slice(0, slash).includes('.');
  const namespace = hasNamespace ? checkedNamespace(text.slice(0, slash), '--allow-pods') : undefined;
  const selector = hasNamespace ? text.slice(slash + 1) : text;
  const podLabels: Record<string, string> = {};
  for (const pair of selector.split(',')) {
    const at = pair.indexOf('=');
    const key = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? '' : pair.slice(at + 1);
    if (at < 0 || !LABEL_KEY.test(key) || key.length > 316 || !LABEL_VALUE.test(value))
      throw new UsageError(
        `--allow-pods must be [NAMESPACE/]KEY=VALUE[,KEY=VALUE…] with valid label keys and values, got ${JSON.stringify(text)}`,
      );
    if (key in podLabels)
      throw new UsageError(`--allow-pods names the label ${key} twice in ${JSON.stringify(text)}`);
    podLabels[key] = value;
  }
  return { ...(namespace !== undefined ? { namespace } : {}), podLabels };
}

function networkPolicySettings(values: Values): NetworkPolicySettings | undefined {
  const clients: PolicyPeer[] = [
    ...values['allow-namespace'].map((ns) => ({ namespace: checkedNamespace(ns, '--allow-namespace') })),
    ...values['allow-pods'].map(parsePodPeer),
  ];
  const metricsNamespaces = values['allow-metrics-namespace'].map((ns) =>
    checkedNamespace(ns, '--allow-metrics-namespace'),
  );
  if (!values['network-policy']) {
    const lists = {
      'allow-namespace': values['allow-namespace'],
      'allow-pods': values['allow-pods'],
      'allow-metrics-namespace': values['allow-metrics-namespace'],
    };
    const flag = Object.entries(lists).find(([, list]) => list.length > 0)?.[0];
    if (flag) throw new UsageError(`--${flag} only shapes the NetworkPolicy: add --network-policy`);
    return undefined;
  }
  if (clients.length === 0)
    throw new UsageError(
      '--network-policy needs at least one --allow-namespace or --allow-pods: else no client reaches the router',
    );
  return { clients, metricsNamespaces };
}

const NAME_PATHS: Record<InputFormat, string> = {
  EgressRouter: 'metadata.name',
  NetworkAttachmentDefinition: 'spec.config: "name"',
  CNI: 'name',
  LegacyEnv: 'name',
};

/** The EgressRouter document in the text (the loader has accepted it already). */
function egressRouterDocument(text: string): Record<string, unknown> | undefined {
  const documents = YAML.parseAllDocuments(text, { version: '1.1' });
  const all = Array.isArray(documents) ? documents : [documents];
  for (const doc of all) {
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'EgressRouter')
      return value as Record<string, unknown>;
  }
  return undefined;
}

type Problem = { path: string; message: string };

function routerProblems(config: RouterConfig, text: string, namespaceFlag: string | undefined): Problem[] {
  const problems: Problem[] = [];
  const namePath = NAME_PATHS[config.format];
  if (config.name === undefined) {
    problems.push({ path: namePath, message: 'is missing: manifests names every object after the router' });
  } else {
    const problem = routerNameProblem(config.name);
    if (problem) problems.push({ path: namePath, message: problem });
  }
  if (config.format === 'EgressRouter' && config.namespace !== undefined) {
    const problem = namespaceProblem(config.namespace);
    if (problem) problems.push({ path: 'metadata.namespace', message: problem });
    else if (namespaceFlag !== undefined && namespaceFlag !== config.namespace)
      problems.push({
        path: 'metadata.namespace',
        message: `is ${JSON.stringify(config.namespace)} but --namespace is ${JSON.stringify(namespaceFlag)}; the router, its Role and its status live in one namespace`,
      });
  }
  const bytes = Buffer.byteLength(text) + configKey(config.format).length;
  if (bytes > CONFIGMAP_MAX_BYTES)
    problems.push({
      path: '',
      message: `the config takes ${bytes} bytes; a ConfigMap holds at most ${CONFIGMAP_MAX_BYTES} (write it as compact JSON, or use fewer rules)`,
    });
  return problems;
}

function selectKinds(manifests: Manifest[], kinds: readonly string[]): Manifest[] {
  if (kinds.length === 0) return manifests;
  const known = new Set(manifests.map((m) => m.object.kind));
  const unknown = kinds.find((k) => !known.has(k));
  if (unknown !== undefined)
    throw new UsageError(`--kind ${unknown}: no such object in this output (${[...known].join(', ')})`);
  return manifests.filter((m) => kinds.includes(m.object.kind));
}

function header(argv: readonly string[]): string {
  return [
    `Generated by egress-router-agent ${version()}: egress-router-agent manifests ${argv.join(' ')}`,
    'Do not edit: change the config or the flags and generate it again.',
  ].join('\n');
}

export async function manifestsCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseManifestsArgs(argv);
  if (values.help) {
    io.out(MANIFESTS_HELP);
    return EXIT_OK;
  }
  if (values.output !== 'yaml' && values.output !== 'json')
    throw new UsageError('--output must be yaml or json');
  if (values['from-env'])
    throw new UsageError('--from-env has no name to give the objects: write the config as an EgressRouter');
  if (positionals.length > 1) throw new UsageError(`expected one CONFIG, got ${positionals.length}`);
  const print = (manifests: Manifest[]): number => {
    const selected = selectKinds(manifests, values.kind);
    io.out(values.output === 'json' ? renderJson(selected) : renderYaml(selected, header(argv)));
    return EXIT_OK;
  };
  const path = positionals[0];
  if (path === undefined) {
    if (values.crd) return print(buildManifests({ crd: true }));
    throw new UsageError('missing CONFIG (a path, or - for stdin); or --crd alone for the CRD only');
  }
  const options = agentOptionsFrom(values);
  const healthAddr = values['health-addr'] ?? `:${healthAddrFrom(undefined).port}`;
  const healthHost = healthAddrFrom(healthAddr).host;
  if (healthHost !== undefined && healthHost !== '0.0.0.0' && healthHost !== '::')
    throw new UsageError(
      `--health-addr ${healthAddr}: the kubelet probes the pod's own address, so the health server must listen on every address (:PORT)`,
    );
  const cidrs = clusterCidrs(values['cluster-cidr']);
  if (cidrs.length === 0)
    throw new UsageError(
      '--cluster-cidr is required: give the cluster (pod) and service networks, e.g. --cluster-cidr 10.128.0.0/14 ' +
        '--cluster-cidr 172.30.0.0/16, so the pod reaches DNS and the API server through eth0',
    );
  if (values.namespace !== undefined) checkedNamespace(values.namespace, '--namespace');

  const text = await readConfigText(path, io);
  const origin = path === '-' ? 'stdin' : path;
  const result = loadConfigText(text, options);
  const problems = result.ok ? routerProblems(result.config, text, values.namespace) : result.issues;
  if (!result.ok || problems.length > 0) {
    io.err(`invalid config in ${origin}:\n${problems.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`);
    return EXIT_INVALID;
  }
  const config = result.config;
  const name = config.name!;
  const namespace = values.namespace ?? config.namespace;
  if (namespace === undefined)
    throw new UsageError(`${origin} names no namespace: give --namespace (the RoleBinding must name it)`);

  const passThroughArgs = [
    ...(values.interface !== undefined ? ['--interface', options.egressInterface] : []),
    ...(values['cluster-interface'] !== undefined ? ['--cluster-interface', options.clusterInterface] : []),
    ...cidrs.flatMap((cidr) => ['--cluster-cidr', cidr]),
  ];
  const ha = haSettings(values, namespace, name);
  const networkPolicy = networkPolicySettings(values);
  const egressRouter = config.format === 'EgressRouter' ? egressRouterDocument(text) : undefined;
  if (!egressRouter)
    io.err(
      `note: ${origin} is not an EgressRouter: no status is written back (there is no object to write it to)\n`,
    );
  const router: RouterInput = {
    configText: text,
    config,
    ...(egressRouter ? { egressRouter } : {}),
    name,
    namespace,
    image: values.image ?? `quay.io/example/egress-router-agent:${version()}`,
    healthAddr,
    healthPort: options.healthPort,
    egressInterface: options.egressInterface,
    passThroughArgs,
    ...(ha ? { ha } : {}),
    ...(networkPolicy ? { networkPolicy } : {}),
    monitoring: values.monitoring ?? false,
    version: version(),
  };
  return print(buildManifests({ crd: values.crd ?? false, router }));
}
