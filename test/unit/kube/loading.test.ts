// An agent without --report-status must not pay for the Kubernetes client: nothing reachable by
// static imports from the CLI's entry point loads src/kube/ or @kubernetes/client-node. Only a
// dynamic import() (made when status reporting is asked for) may reach them.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Value imports (not `import type`, not dynamic import()) of a TypeScript module. */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^\s*import\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm))
    specifiers.push(match[1]!);
  for (const match of source.matchAll(/^\s*export\s+(?!type\s)[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm))
    specifiers.push(match[1]!);
  return specifiers;
}

function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of staticImports(file)) {
      if (!specifier.startsWith('.')) {
        packages.add(specifier);
        continue;
      }
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      if (existsSync(target)) visit(target);
    }
  };
  visit(resolve(entry));
  return { files, packages };
}

describe('loading', () => {
  it('the CLI and the run command reach neither src/kube nor @kubernetes/client-node statically', () => {
    for (const entry of ['src/cli.ts', 'src/cli/commands/run.ts', 'src/agent/agent.ts']) {
      const { files, packages } = closure(entry);
      expect(files.size).toBeGreaterThan(1);
      expect([...files].filter((f) => f.includes(join('src', 'kube')))).toEqual([]);
      expect([...packages].filter((p) => p.startsWith('@kubernetes/'))).toEqual([]);
    }
  });

  it('the walk does find them from src/kube/index.ts (the check can fail)', () => {
    const { files, packages } = closure('src/kube/index.ts');
    expect([...files].some((f) => f.endsWith(join('src', 'kube', 'clientNode.ts')))).toBe(true);
    expect([...packages].some((p) => p.startsWith('@kubernetes/client-node'))).toBe(true);
  });
});
