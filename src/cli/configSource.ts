/** Reads CONFIG (a path, or `-` for stdin) or the legacy environment, and validates it. */
import { readFile, stat } from 'node:fs/promises';
import type { ConfigIssue } from '../config/issues.js';
import { loadConfigText, loadLegacyEnv, MAX_CONFIG_BYTES } from '../config/load.js';
import type { AgentOptions, RouterConfig } from '../config/model.js';
import { type Io, RuntimeFailure, UsageError } from './io.js';

export interface ConfigSource {
  readonly path?: string;
  readonly fromEnv: boolean;
}

export function configSourceFrom(positionals: readonly string[], fromEnv: boolean): ConfigSource {
  if (fromEnv && positionals.length > 0) throw new UsageError('give either CONFIG or --from-env, not both');
  if (!fromEnv && positionals.length === 0)
    throw new UsageError('missing CONFIG (a path, or - for stdin), or --from-env');
  if (positionals.length > 1) throw new UsageError(`expected one CONFIG, got ${positionals.length}`);
  return fromEnv ? { fromEnv } : { path: positionals[0]!, fromEnv };
}

export async function readConfigText(path: string, io: Io): Promise<string> {
  if (path === '-') return io.stdin();
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new RuntimeFailure(`cannot read ${path}: it is a directory`);
    if (info.size > MAX_CONFIG_BYTES) {
      throw new RuntimeFailure(`cannot read ${path}: ${info.size} bytes, the limit is ${MAX_CONFIG_BYTES}`);
    }
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof RuntimeFailure) throw error;
    throw new RuntimeFailure(`cannot read ${path}: ${(error as Error).message}`);
  }
}

export type SourceResult =
  | { ok: true; config: RouterConfig; origin: string }
  | { ok: false; issues: ConfigIssue[]; origin: string };

export async function loadFromSource(
  source: ConfigSource,
  options: AgentOptions,
  io: Io,
): Promise<SourceResult> {
  if (source.fromEnv) return { ...loadLegacyEnv(io.env, options), origin: 'the EGRESS_* environment' };
  const path = source.path!;
  const text = await readConfigText(path, io);
  return { ...loadConfigText(text, options), origin: path === '-' ? 'stdin' : path };
}
