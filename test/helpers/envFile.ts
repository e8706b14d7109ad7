/** Loads a shell env file (as `set -a; . FILE`) through bash, so tests read it exactly as a shell would. */
import { execFileSync } from 'node:child_process';

export function readEnvFile(path: string): Record<string, string> {
  const output = execFileSync('bash', ['-c', 'set -a; . "$1"; env -0', 'env-file', path], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  }).toString('utf8');
  const env: Record<string, string> = {};
  for (const entry of output.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}
