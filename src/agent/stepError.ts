/** Failures of apply/cleanup: which step, on which object, and the kernel's own words. */

export type FailureReason =
  | 'MasterNotFound'
  | 'InterfaceMissing'
  | 'InterfaceFailed'
  | 'DuplicateAddress'
  | 'AddressFailed'
  | 'SysctlFailed'
  | 'GatewayMissing'
  | 'RouteFailed'
  | 'NftablesFailed'
  | 'VerifyFailed'
  /** The pass was pre-empted by a stop (SIGTERM); what it had changed was taken back. */
  | 'Stopped'
  /** The kernel could not be read (ip or nft failed or timed out while listing). */
  | 'ObserveFailed'
  /** A redirect target that routes back through the cluster interface. */
  | 'UnroutableDestination';

export class StepError extends Error {
  override name = 'StepError';
  constructor(
    readonly step: string,
    readonly reason: FailureReason,
    readonly object: string,
    readonly detail: string,
  ) {
    super(`${step} failed on ${object}: ${detail}`);
  }
}

/** Runs `fn`, turning any failure into a StepError naming the step and object. */
export async function inStep<T>(
  step: string,
  reason: FailureReason,
  object: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(step, reason, object, (error as Error).message);
  }
}
