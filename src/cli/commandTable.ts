/**
 * The commands: name, one-line summary, flags and positional arguments, and the module that
 * runs it. main.ts dispatches from it, `completion` generates shell completion from it, and
 * "did you mean" searches it. To add a command: one entry here, its flags in flags.ts.
 */
import {
  APPLY_FLAGS,
  CLEANUP_FLAGS,
  COMPLETION_FLAGS,
  DEMO_FLAGS,
  type FlagTable,
  MANIFESTS_FLAGS,
  RENDER_FLAGS,
  RUN_FLAGS,
  SHELLS,
  STATUS_FLAGS,
  VALIDATE_FLAGS,
} from './flags.js';
import type { Io } from './io.js';

export type Command = (argv: readonly string[], io: Io) => Promise<number>;

export interface CommandSpec {
  readonly summary: string;
  readonly flags: FlagTable;
  /** The positional argument, for completion: a config file (or - for stdin), fixed words, or none. */
  readonly positional: 'config' | 'none' | readonly string[];
  /** Loaded only when the command runs: `apply` in an init container starts faster, and `run` keeps no render, demo or status code resident. */
  readonly load: () => Promise<Command>;
}

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  validate: {
    summary: 'check a config completely; change nothing',
    flags: VALIDATE_FLAGS,
    positional: 'config',
    load: async () => (await import('./commands/validate.js')).validateCommand,
  },
  render: {
    summary: 'print the interface plan and the nftables ruleset',
    flags: RENDER_FLAGS,
    positional: 'config',
    load: async () => (await import('./commands/render.js')).renderCommand,
  },
  apply: {
    summary: 'make this namespace an egress router, verify it, exit',
    flags: APPLY_FLAGS,
    positional: 'config',
    load: async () => (await import('./commands/apply.js')).applyCommand,
  },
  cleanup: {
    summary: 'remove what apply set up',
    flags: CLEANUP_FLAGS,
    positional: 'config',
    load: async () => (await import('./commands/apply.js')).cleanupCommand,
  },
  manifests: {
    summary: 'print the Kubernetes objects that run a router, from its EgressRouter',
    flags: MANIFESTS_FLAGS,
    positional: 'config',
    load: async () => (await import('./commands/manifests.js')).manifestsCommand,
  },
  run: {
    summary: 'apply, then keep it true: reload, repair drift, serve health and status',
    flags: RUN_FLAGS,
    positional: 'config',
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  demo: {
    summary: 'see it work: a virtual network, the agent, traffic through it',
    flags: DEMO_FLAGS,
    positional: 'none',
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  status: {
    summary: "show a running agent's conditions and per-rule connections",
    flags: STATUS_FLAGS,
    positional: 'none',
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  completion: {
    summary: 'print a shell completion script (bash or zsh)',
    flags: COMPLETION_FLAGS,
    positional: SHELLS,
    load: async () => (await import('./commands/completion.js')).completionCommand,
  },
};

export const PROGRAM = 'egress-router-agent';
