/**
 * Where the built files are. Programs the kit runs inside namespaces (the agent, the traffic
 * tools) are separate Node processes and must be JavaScript: the kit runs them from `dist/`,
 * whether the kit itself was loaded from `src/` (vitest, tsx: the repository's `dist/`, built by
 * `npm run build`) or from `dist/` (the demo, the installed package: its own directory).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KIT_DIR = dirname(fileURLToPath(import.meta.url));

export const DIST_DIR =
  basename(dirname(KIT_DIR)) === 'src' ? join(dirname(dirname(KIT_DIR)), 'dist') : dirname(KIT_DIR);

/** The built agent CLI, `dist/cli.js`. */
export const CLI = join(DIST_DIR, 'cli.js');

/** A file under dist/, which must exist. */
export function builtFile(relative: string): string {
  const path = join(DIST_DIR, relative);
  if (!existsSync(path)) throw new Error(`${path} does not exist: build first (npm run build)`);
  return path;
}
