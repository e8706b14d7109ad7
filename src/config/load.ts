/**
 * Reads config text (or the environment), works out which of the accepted formats it is,
 * and returns the validated model or every problem found.
 */
import { createRequire } from 'node:module';
import { parseCniConfig } from './cni.js';
import type { DraftResult } from './egressRouter.js';
import { parseEgressRouter } from './egressRouter.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import { type Environment, parseLegacyEnv } from './legacyEnv.js';
import type { AgentOptions, RouterConfig } from './model.js';
import { validateDraft } from './validate.js';

/** The YAML parser is loaded on first use: a JSON config (the CNI config, a generated one) never needs it. */
let yamlParser: typeof import('yaml') | undefined;
const loadYaml = (): typeof import('yaml') => {
  yamlParser ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlParser;
};

/** Large enough for 65,535 × 2 rules written out as YAML, small enough to refuse garbage quickly. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

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

type Kind = 'EgressRouter' | 'NetworkAttachmentDefinition' | 'CNI' | 'CNIList';

function classify(document: unknown): Kind | undefined {
  if (!isRecord(document)) return undefined;
  if (document.kind === 'EgressRouter') return 'EgressRouter';
  if (document.kind === 'NetworkAttachmentDefinition') return 'NetworkAttachmentDefinition';
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
  const kind =
    typeof document.kind === 'string' ? `kind ${JSON.stringify(document.kind.slice(0, 60))}` : undefined;
  const type =
    typeof document.type === 'string' ? `type ${JSON.stringify(document.type.slice(0, 60))}` : undefined;
  return kind ?? type ?? 'an object with neither "kind" nor "type"';
}

function parseNad(document: Record<string, unknown>): DraftResult {
  const spec = document.spec;
  if (!isRecord(spec) || typeof spec.config !== 'string') {
    return issue('must be the CNI config as a JSON string', 'spec.config');
  }
  let config: unknown;
  try {
    config = JSON.parse(spec.config);
  } catch (error) {
    return issue(`is not valid JSON: ${(error as Error).message}`, 'spec.config');
  }
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

function parseDocument(document: unknown): DraftResult {
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
    default:
      return issue(`${ACCEPTED}; got ${describeDocument(document)}`);
  }
}

function decodeDocuments(text: string): { documents?: unknown[]; error?: string } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { documents: [JSON.parse(text)] };
    } catch {
      // Not strict JSON; YAML (a superset) gets a go and gives the better error position.
    }
  }
  try {
    const parsed = loadYaml().parseAllDocuments(text, {
      // YAML 1.1, as kubectl reads manifests: `port: 0120` is octal 80 there too, never 120.
      version: '1.1',
      uniqueKeys: true,
      // Keys are strings in Kubernetes objects; a collection key is an error, not a warning on stderr.
      stringKeys: true,
      prettyErrors: true,
    });
    if (!Array.isArray(parsed)) return { documents: [] };
    const documents: unknown[] = [];
    for (const doc of parsed) {
      const first = doc.errors[0];
      if (first) return { error: first.message.split('\n')[0] ?? first.message };
      const value = doc.toJS({ maxAliasCount: 100 });
      if (value !== null && value !== undefined) documents.push(value);
    }
    return { documents };
  } catch (error) {
    // Deep nesting and alias bombs end here rather than as a crash.
    return { error: error instanceof RangeError ? 'nested too deeply' : (error as Error).message };
  }
}

/** Parses config text in any accepted file format into a draft (not yet validated). */
export function parseConfigText(text: string): DraftResult {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) return issue(`input is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES}`);
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return issue(`input contains a NUL byte at offset ${nul}; expected YAML or JSON text`);
  const decoded = decodeDocuments(text);
  if (decoded.error !== undefined) return issue(`not valid YAML or JSON: ${decoded.error}`);
  const documents = decoded.documents ?? [];
  if (documents.length === 0) return issue(`input is empty; ${ACCEPTED}`);
  if (documents.length === 1) return parseDocument(documents[0]);
  const usable = documents.filter((d) => classify(d) !== undefined);
  if (usable.length !== 1) {
    return issue(
      `input holds ${documents.length} documents, ${usable.length} of them a config; expected exactly one`,
    );
  }
  return parseDocument(usable[0]);
}

export type LoadResult = { ok: true; config: RouterConfig } | { ok: false; issues: ConfigIssue[] };

/** Runs the shared semantic checks on a draft, keeping the parser's problems too. */
export function finishDraft(result: DraftResult, options: AgentOptions): LoadResult {
  if (!result.draft) return { ok: false, issues: result.issues };
  const draft = result.draft;
  const validated = validateDraft(draft, options);
  if (validated.ok && result.issues.length === 0) return validated;
  const parserPaths = new Set(result.issues.map((i) => i.path));
  // "at least one address" would only repeat a parser problem on the same field.
  const semantic = validated.ok
    ? []
    : validated.issues.filter((i) => !(i.path === draft.addressesPath && parserPaths.has(i.path)));
  return { ok: false, issues: [...result.issues, ...semantic] };
}

export function loadConfigText(text: string, options: AgentOptions): LoadResult {
  return finishDraft(parseConfigText(text), options);
}

export function loadLegacyEnv(env: Environment, options: AgentOptions): LoadResult {
  return finishDraft(parseLegacyEnv(env), options);
}

/** Same as loadConfigText but throws ConfigError, for callers that want exceptions. */
export function loadConfigTextOrThrow(text: string, options: AgentOptions): RouterConfig {
  const result = loadConfigText(text, options);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.config;
}
