import { readFileSync } from 'node:fs';

/** The Node flags in an executable's shebang (`#!/usr/bin/env -S node FLAGS`), as it launches itself. */
export function shebangFlagsOf(executable: string): string[] {
  const first = readFileSync(executable, 'utf8').split('\n')[0] ?? '';
  return /^#!\/usr\/bin\/env -S node\b(.*)$/.exec(first)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
