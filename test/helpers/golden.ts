/** The bundled examples and how each is rendered into rules/golden/. */
import { readEnvFile } from './envFile.js';

export interface GoldenCase {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
}

export function goldenCases(): GoldenCase[] {
  const files = ['egressrouter.yaml', 'egressrouter-dualstack.yaml', 'cni.json', 'nad.yaml'];
  const cases: GoldenCase[] = files.map((file) => ({
    name: file.replace(/\.(yaml|json)$/, ''),
    args: [`examples/${file}`],
  }));
  cases.push({ name: 'legacy', args: ['--from-env'], env: readEnvFile('examples/legacy.env') });
  return cases;
}

export const goldenPath = (name: string, format: 'nft' | 'json'): string => `rules/golden/${name}.${format}`;
