/**
 * Reads config text (or the environment), works out which of the accepted formats it is,
 * and returns the validated model or every problem found.
 */
import { parseCniConfig } from './cni.js';
import { decodeConfigText } from './decode.js';
import type { DraftResult } from './egressRouter.js';
import { parseEgressRouter } from './egressRouter.js';
import { type ConfigIssue, keyPath, printableIssue, quote } from './issues.js';
import { jsonStructureIssue } from './jsonStructure.js';
import { type Environment, parseLegacyEnv } from './legacyEnv.js';
import { MAX_CONFIG_BYTES } from './limits.js';
import type { AgentOptions, RouterConfig } from './model.js';
import { type PreviousConfig, validateDraft } from './validate.js';

export { MAX_CONFIG_BYTES } from './limits.js';

const ACCEPTED =
  'expected an EgressRouter (apiVersion network.operator.openshift.io/v1), a NetworkAttachmentDefinition ' +
  'whose spec.config is an egress-router CNI config, or an egress-router CNI network config ' +
  '(JSON with "type": "egress-router"); use --from-env for the legacy EGRESS_* variables';

function issue(message: string, path = ''): DraftResult {
  return { issues: [{ path, message }] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Kind = 'EgressRouter' | 'NetworkAttachmentDefinition' | 'CNI' | 'CNIList' | 'ConfigMap';

function classify(document: unknown): Kind | undefined {
  if (!isRecord(document)) return undefined;
  if (document.kind === 'EgressRouter') return 'EgressRouter';
  if (document.kind === 'NetworkAttachmentDefinition') return 'NetworkAttachmentDefinition';
  if (document.kind === 'ConfigMap') return 'ConfigMap';
  if (document.type === 'egress-router') return 'CNI';
  if (
    Array.isArray(document.plugins) &&
    document.plugins.some((p) => isRecord(p) && p.type === 'egress-router')
  ) {
    return 'CNIList';
  }
  return undefined;
}

function describeDocument(document: unknown): string {
  if (!isRecord(document))
    return Array.isArray(document) ? 'a list' : `${typeof document === 'object' ? 'null' : typeof document}`;
  const kind = typeof document.kind === 'string' ? `kind ${quote(document.kind.slice(0, 60))}` : undefined;
  const type = typeof document.type === 'string' ? `type ${quote(document.type.slice(0, 60))}` : undefined;
  return kind ?? type ?? 'an object with neither "kind" nor "type"';
}

/** `base` + a path relative to it (`spec.config` + `ip.addresses[0]`, `spec.config` + `[0]`). */
function under(base: string, path: string): string {
  if (path === '') return base;
  return path.startsWith('[') ? `${base}${path}` : `${base}.${path}`;
}

/** The CNI config a NAD's spec.config holds, checked as the JSON it must be. */
function nadPayload(document: Record<string, unknown>): { config: unknown } | { issue: ConfigIssue } {
  const spec = document.spec;
  if (!isRecord(spec) || typeof spec.config !== 'string') {
    return { issue: { path: 'spec.config', message: 'must be the CNI config as a JSON string' } };
  }
  let config: unknown;
  try {
    config = JSON.parse(spec.config);
  } catch (error) {
    return { issue: { path: 'spec.config', message: `is not valid JSON: ${(error as Error).message}` } };
  }
  const structure = jsonStructureIssue(spec.config);
  if (structure) return { issue: { ...structure, path: under('spec.config', structure.path) } };
  return { config };
}

function parseNad(document: Record<string, unknown>): DraftResult {
  const payload = nadPayload(document);
  if ('issue' in payload) return { issues: [payload.issue] };
  const { config } = payload;
  if (classify(config) === 'CNIList') {
    const plugins = (config as { plugins: unknown[] }).plugins;
    const index = plugins.findIndex((p) => isRecord(p) && p.type === 'egress-router');
    return parseCniConfig(plugins[index], `spec.config.plugins[${index}]`);
  }
  if (classify(config) !== 'CNI') {
    return issue(
      `must be an egress-router CNI config ("type": "egress-router"), got ${describeDocument(config)}`,
      'spec.config',
    );
  }
  return parseCniConfig(config, 'spec.config');
}

/**
 * Whether a document is a config the agent reads. A NAD or a ConfigMap counts only when it
 * carries one: a file with the whole deployment holds a macvlan NAD and other objects too.
 */
function holdsConfig(document: unknown): boolean {
  switch (classify(document)) {
    case undefined:
      return false;
    case 'NetworkAttachmentDefinition': {
      const payload = nadPayload(document as Record<string, unknown>);
      const kind = 'config' in payload ? classify(payload.config) : 'CNI';
      return kind === 'CNI' || kind === 'CNIList';
    }
    case 'ConfigMap':
      return configMapCandidates(document as Record<string, unknown>).found.length > 0;
    default:
      return true;
  }
}

interface ConfigMapCandidates {
  /** Keys whose text holds a config, with its documents. */
  readonly found: { key: string; documents: unknown[] }[];
  /** Keys whose text is not YAML or JSON at all, with why. */
  readonly unreadable: { key: string; issue: ConfigIssue }[];
}

function configMapCandidates(document: Record<string, unknown>): ConfigMapCandidates {
  const found: ConfigMapCandidates['found'] = [];
  const unreadable: ConfigMapCandidates['unreadable'] = [];
  const data = isRecord(document.data) ? document.data : {};
  for (const [key, text] of Object.entries(data)) {
    if (typeof text !== 'string') continue;
    const decoded = decodeConfigText(text);
    if (!decoded.ok) unreadable.push({ key, issue: decoded.issue });
    // A ConfigMap inside a ConfigMap is not a config.
    else if (decoded.documents.some((d) => classify(d) !== 'ConfigMap' && holdsConfig(d))) {
      found.push({ key, documents: decoded.documents });
    }
  }
  return { found, unreadable };
}

/** The config one of the ConfigMap's data keys holds; every path then starts `data["KEY"]: `. */
function parseConfigMap(document: Record<string, unknown>): DraftResult {
  const { found, unreadable } = configMapCandidates(document);
  const keys = isRecord(document.data) ? Object.keys(document.data) : [];
  const only = found[0];
  if (found.length === 1 && only) {
    return { ...parseDocuments(only.documents, false), within: keyPath('data', only.key) };
  }
  if (found.length > 1) {
    return issue(
      `keys ${found.map((f) => quote(f.key)).join(', ')} each hold a config; a ConfigMap given to the agent must hold exactly one (or give the agent that key's file)`,
      'data',
    );
  }
  const broken = unreadable[0];
  if (unreadable.length === 1 && broken) {
    return { issues: [broken.issue], within: keyPath('data', broken.key) };
  }
  return issue(
    keys.length === 0
      ? 'is empty: this ConfigMap holds no config'
      : `no key holds a config (keys: ${keys
          .slice(0, 10)
          .map((k) => quote(k))
          .join(', ')}); ${ACCEPTED}`,
    'data',
  );
}

function parseDocument(document: unknown, configMapAllowed: boolean): DraftResult {
  switch (classify(document)) {
    case 'EgressRouter':
      return parseEgressRouter(document);
    case 'NetworkAttachmentDefinition':
      return parseNad(document as Record<string, unknown>);
    case 'CNI':
      return parseCniConfig(document);
    case 'CNIList': {
      const plugins = (document as { plugins: unknown[] }).plugins;
      const index = plugins.findIndex((p) => isRecord(p) && p.type === 'egress-router');
      return parseCniConfig(plugins[index], `plugins[${index}]`);
    }
    case 'ConfigMap':
      if (configMapAllowed) return parseConfigMap(document as Record<string, unknown>);
      return issue(`${ACCEPTED}; got a ConfigMap inside a ConfigMap`);
    default:
      return issue(`${ACCEPTED}; got ${describeDocument(document)}`);
  }
}

function parseDocuments(documents: readonly unknown[], configMapAllowed: boolean): DraftResult {
  if (documents.length === 0) return issue(`input is empty; ${ACCEPTED}`);
  if (documents.length === 1) return parseDocument(documents[0], configMapAllowed);
  const usable = documents.filter(holdsConfig);
  if (usable.length !== 1) {
    return issue(
      `input holds ${documents.length} documents, ${usable.length} of them a config; expected exactly one`,
    );
  }
  return parseDocument(usable[0], configMapAllowed);
}

/** Parses config text in any accepted file format into a draft (not yet validated). */
export function parseConfigText(text: string): DraftResult {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) return issue(`input is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES}`);
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return issue(`input contains a NUL byte at offset ${nul}; expected YAML or JSON text`);
  const decoded = decodeConfigText(text);
  if (!decoded.ok) return { issues: [decoded.issue] };
  return parseDocuments(decoded.documents, true);
}

export type LoadResult = { ok: true; config: RouterConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * The issues as they leave the config layer: under the ConfigMap key the config came from, and
 * with any control character escaped, so a path or message can go to any terminal or log.
 */
function finalIssues(issues: readonly ConfigIssue[], within: string | undefined): ConfigIssue[] {
  return issues.map((i) =>
    printableIssue(within ? { path: i.path ? `${within}: ${i.path}` : within, message: i.message } : i),
  );
}

/** Runs the shared semantic checks on a draft, keeping the parser's problems too. */
export function finishDraft(
  result: DraftResult,
  options: AgentOptions,
  previous?: PreviousConfig,
): LoadResult {
  if (!result.draft) return { ok: false, issues: finalIssues(result.issues, result.within) };
  const draft = result.draft;
  const validated = validateDraft(draft, options, previous);
  if (validated.ok && result.issues.length === 0) return validated;
  const parserPaths = new Set(result.issues.map((i) => i.path));
  // "at least one address" would only repeat a parser problem on the same field.
  const semantic = validated.ok
    ? []
    : validated.issues.filter((i) => !(i.path === draft.addressesPath && parserPaths.has(i.path)));
  return { ok: false, issues: finalIssues([...result.issues, ...semantic], result.within) };
}

/**
 * `previous`: the config last read with these same options (a reload); rules it holds unchanged,
 * in the same place, are taken as they are instead of being checked again. The result is the
 * one a fresh read gives.
 */
export function loadConfigText(text: string, options: AgentOptions, previous?: PreviousConfig): LoadResult {
  return finishDraft(parseConfigText(text), options, previous);
}

export function loadLegacyEnv(env: Environment, options: AgentOptions): LoadResult {
  return finishDraft(parseLegacyEnv(env), options);
}
