/** What every apply/cleanup step needs: where to run things, the options, and a change log. */
import type { RouterConfig } from '../config/model.js';
import type { PlanOptions } from '../plan/interfacePlan.js';
import type { Runner } from '../system/command.js';
import type { UndoStack } from './undo.js';

export interface ApplyOptions extends PlanOptions {
  /** Path of the network namespace that holds the master (default: the agent's own). */
  readonly masterNetns?: string;
  /** How long to wait for IPv6 duplicate address detection. */
  readonly dadTimeoutMs?: number;
}

export interface StepContext {
  readonly config: RouterConfig;
  readonly options: ApplyOptions;
  readonly pod: Runner;
  /** The master's namespace; undefined when it is not visible (adopt mode without --master-netns). */
  readonly master?: Runner;
  readonly undo: UndoStack;
  /** One entry per change made, for the log, the report and drift metrics. */
  readonly changed: (kind: ChangeKind, message: string) => void;
}

/** `announce` records an action (gratuitous ARP), not a state change: it never counts as drift. */
export type ChangeKind = 'interface' | 'sysctl' | 'address' | 'route' | 'nftables' | 'announce';

export interface Change {
  readonly kind: ChangeKind;
  readonly message: string;
}

/** The alias the agent puts on a link it created, so later runs and cleanup know it is theirs. */
export const CREATED_ALIAS = 'egress-router-agent: created';
