/** Reads CONFIG (a path, or `-` for stdin) or the legacy environment, and validates it. */
import { readConfigFile } from '../config/configFile.js';
import type { ConfigIssue } from '../config/issues.js';
import { loadConfigText, loadLegacyEnv } from '../config/load.js';
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

/** The text of CONFIG: stdin (bounded by readStdin), or a regular file read by readConfigFile. */
export async function readConfigText(path: string, io: Io): Promise<string> {
  if (path === '-') return io.stdin();
  try {
    return (await readConfigFile(path)).text;
  } catch (error) {
    throw new RuntimeFailure((error as Error).message);
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
