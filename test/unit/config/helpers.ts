/** Shared builders and assertions for the config-layer unit tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { ConfigIssue } from '../../../src/config/issues.js';
import { type LoadResult, loadConfigText, loadLegacyEnv } from '../../../src/config/load.js';
import { type AgentOptions, DEFAULT_OPTIONS, type RouterConfig } from '../../../src/config/model.js';

export const API_VERSION = 'network.operator.openshift.io/v1';

export function examplePath(name: string): string {
  return fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
}

export function example(name: string): string {
  return readFileSync(examplePath(name), 'utf8');
}

export function load(text: string, options: AgentOptions = DEFAULT_OPTIONS): LoadResult {
  return loadConfigText(text, options);
}

export function loadEnv(
  env: Record<string, string | undefined>,
  options: AgentOptions = DEFAULT_OPTIONS,
): LoadResult {
  return loadLegacyEnv(env, options);
}

/** The config of an ok result; fails the test with every issue when it is not ok. */
export function expectOk(result: LoadResult): RouterConfig {
  if (!result.ok)
    throw new Error(`expected a valid config, got issues:\n${JSON.stringify(result.issues, null, 2)}`);
  return result.config;
}

/** The issues of a failed result; fails the test when the result is ok. */
export function expectIssues(result: LoadResult): ConfigIssue[] {
  if (result.ok)
    throw new Error(`expected issues, got a valid config:\n${JSON.stringify(result.config, null, 2)}`);
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) {
    expect(typeof issue.path).toBe('string');
    expect(typeof issue.message).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
  }
  return result.issues;
}

export function paths(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => i.path);
}

/** Asserts the result failed with exactly one issue at `path` matching `message`, and returns it. */
export function expectOnlyIssue(result: LoadResult, path: string, message: RegExp): ConfigIssue {
  const issues = expectIssues(result);
  expect(issues, JSON.stringify(issues)).toHaveLength(1);
  const [issue] = issues as [ConfigIssue];
  expect(issue.path).toBe(path);
  expect(issue.message).toMatch(message);
  return issue;
}

/** Asserts that some issue sits at `path` with a message matching `message`. */
export function expectIssueAt(issues: readonly ConfigIssue[], path: string, message: RegExp): ConfigIssue {
  const found = issues.filter((i) => i.path === path);
  expect(found.length, `no issue at ${JSON.stringify(path)} in ${JSON.stringify(issues, null, 2)}`).toBe(1);
  const issue = found[0]!;
  expect(issue.message).toMatch(message);
  return issue;
}

/** EgressRouter JSON text with the given spec (and optional extra top-level fields). */
export function egressRouterJson(spec: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: API_VERSION,
    kind: 'EgressRouter',
    metadata: { name: 'r' },
    spec,
    ...extra,
  });
}

/** A spec that validates: one IPv4 address with gateway, no rules, no fallback. */
export function spec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    addresses: [{ ip: '192.0.2.100/24', gateway: '192.0.2.1' }],
    redirect: {},
    ...overrides,
  };
}

/** An EgressRouter whose only variable part is the redirect section. */
export function withRedirect(redirect: Record<string, unknown>, addresses?: unknown[]): string {
  return egressRouterJson(spec({ redirect, ...(addresses ? { addresses } : {}) }));
}

/** An EgressRouter whose only variable part is the address list. */
export function withAddresses(addresses: unknown[], redirect: Record<string, unknown> = {}): string {
  return egressRouterJson({ addresses, redirect });
}

export function rule(
  destinationIP: string,
  port: unknown,
  protocol: unknown = 'TCP',
  targetPort?: unknown,
): Record<string, unknown> {
  return { destinationIP, port, protocol, ...(targetPort !== undefined ? { targetPort } : {}) };
}

/** CNI network config JSON text; `type` is filled in. */
export function cniJson(config: Record<string, unknown>): string {
  return JSON.stringify({ cniVersion: '0.4.0', type: 'egress-router', name: 'n', ...config });
}

/** A NetworkAttachmentDefinition in YAML whose spec.config is the given text. */
export function nadYaml(configText: string): string {
  return [
    'apiVersion: k8s.cni.cncf.io/v1',
    'kind: NetworkAttachmentDefinition',
    'metadata: { name: nad, namespace: ns }',
    'spec:',
    `  config: ${JSON.stringify(configText)}`,
    '',
  ].join('\n');
}
