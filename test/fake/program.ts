/** What a fake program gets (the namespace it runs in, its input) and gives back (exit code, output). */
import type { Netns } from './state.js';

export interface ProgramResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The parts of the fake kernel a program may reach beyond its own namespace. */
export interface Host {
  /** The namespace a path opens (`/run/netns/x`, `/proc/PID/ns/net`), if any. */
  readonly namespaceAt: (path: string) => Netns | undefined;
  /** The namespace of a process id (`ip link set … netns PID`). */
  readonly namespaceOfPid: (pid: number) => Netns | undefined;
  /** Records an action that leaves no state behind (gratuitous ARP, unsolicited NA). */
  readonly record: (ns: Netns, argv: readonly string[]) => void;
}

export interface ProgramContext {
  readonly ns: Netns;
  readonly host: Host;
  /** The fake process id of this invocation (what `nft monitor` reports). */
  readonly pid: number;
  readonly input?: string;
  readonly signal?: AbortSignal;
}

export type Program = (
  args: readonly string[],
  ctx: ProgramContext,
) => ProgramResult | Promise<ProgramResult>;
