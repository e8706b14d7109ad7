/**
 * The ordered kernel steps. Apply converges them in this order; cleanup removes in reverse.
 * A new step is one module and one entry here.
 */
import { addressesStep, announceStep } from './steps/addresses.js';
import { conntrackStep } from './steps/conntrack.js';
import { linkStep } from './steps/link.js';
import { nftablesStep } from './steps/nftables.js';
import { replyRoutingStep } from './steps/replyRouting.js';
import { routesStep } from './steps/routes.js';
import type { Step } from './steps/step.js';
import { sysctlsStep } from './steps/sysctls.js';

export const STEPS: readonly Step[] = [
  linkStep,
  sysctlsStep,
  addressesStep,
  routesStep,
  replyRoutingStep,
  // IPv6 DAD is waited for before the table is touched: a duplicate address then fails the pass
  // before a table load whose undo could not give the map elements their counters back.
  announceStep,
  nftablesStep,
  // After the table: a flow whose mapping changed must not be re-created under the old one.
  conntrackStep,
];

/** Steps whose state a re-read of the namespace can confirm after a pass. */
export const VERIFIABLE: ReadonlySet<Step> = new Set([
  linkStep,
  sysctlsStep,
  addressesStep,
  routesStep,
  replyRoutingStep,
]);
