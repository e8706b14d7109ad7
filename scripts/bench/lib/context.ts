import type { Topology } from '../../../src/netkit/index.js';
import type { Driver } from './traffic.js';

/** What every suite gets: the network, the traffic driver, a private temp dir and a logger. */
export interface BenchContext {
  readonly topo: Topology;
  readonly driver: Driver;
  /** Private temp directory, removed at the end. */
  readonly tmp: string;
  readonly quick: boolean;
  /** Progress on stderr. */
  log(message: string): void;
  /** True once Ctrl-C or SIGTERM arrived: suites stop at the next step. */
  aborted(): boolean;
}

export class Aborted extends Error {
  override name = 'Aborted';
}

export function checkAbort(ctx: BenchContext): void {
  if (ctx.aborted()) throw new Aborted('interrupted');
}
