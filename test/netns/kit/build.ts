/**
 * dist/ for the netns tests: built once per run by the project's global setup (globalSetup.ts),
 * never by a test file, so no build rewrites dist/ under an agent another file is running.
 */
import { existsSync } from 'node:fs';
import { inject } from 'vitest';
import { CLI } from '../../../src/netkit/index.js';

export interface AgentBuild {
  readonly builtAt: string;
  /** The build's output when it failed but still emitted dist/ (type errors). */
  readonly warning?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    agentBuild: AgentBuild;
  }
}

/** Checks that this run's global setup built dist/ (the agent, and the kit's tools it runs). */
export function requireBuiltAgent(): void {
  if (inject('agentBuild') === undefined || !existsSync(CLI))
    throw new Error(
      'dist/ was not built for this run: the netns project builds it in its global setup ' +
        '(test/netns/kit/globalSetup.ts); run the tests through vitest.config.ts',
    );
}
