/**
 * One pass: observe the kernel once, plan (the same plan `render` prints, now with facts),
 * converge every step of the registry to a list of actions, execute them in as few processes as
 * possible, and confirm by reading back. Any failure undoes what this pass changed. `cleanup`
 * walks the registry backwards.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RouterConfig } from '../config/model.js';
import { type NamespaceState, observeMasterNamespace, observeNamespace } from '../link/iproute.js';
import type { NftTable } from '../nft/model.js';
import type { AnyTable, TableModel } from '../nft/packed.js';
import { verifyLoad } from '../nft/verify.js';
import { type PlanFacts, planRouter, type RouterPlan } from '../plan/routerPlan.js';
import type { Runner } from '../system/command.js';
import { realSystem, type System } from '../system/system.js';
import type { Action } from './actions.js';
import { type ApplyOptions, stableMac } from './context.js';
import { type Effects, realEffects } from './effects.js';
import { ApplyFailure, execute, executeForced } from './executor.js';
import { cidrContains, factsFrom } from './facts.js';
import {
  type KernelReading,
  presentTable,
  type ReusedReading,
  readKernel,
  readSysctls,
  tableObservation,
} from './observe.js';
import { STEPS, VERIFIABLE } from './registry.js';
import { StepError } from './stepError.js';
import { isOwnedLink } from './steps/link.js';
import type { Finding, Observation, StepInput } from './steps/step.js';

export { ApplyFailure } from './executor.js';

export interface ApplyState {
  /** The table last loaded and verified by this process (see `TableObservation.model`). */
  readonly committed?: TableModel;
  /** True when nothing suggests the kernel's table changed since `committed` was verified. */
  readonly trustCommitted?: boolean;
  /** False once an adopted interface is known: it is not the agent's to re-create. */
  readonly mayCreateInterface?: boolean;
  /** False on an HA standby: everything but the egress addresses. Default true. */
  readonly holdAddresses?: boolean;
  /** The addresses follow a VRRP role (no DAD, no probe). */
  readonly ha?: boolean;
  /** Egress addresses this process held after its last pass (see StepInput.heldBefore). */
  readonly heldBefore?: ReadonlySet<string>;
  /** Namespace readings that still hold, used instead of reading again (the reconciler's call). */
  readonly reuse?: ReusedReading;
}

export interface ApplyDeps {
  readonly system?: System;
  readonly effects?: Effects;
  /** Each change as it takes effect (quiet sub-steps excluded). */
  readonly log?: (action: Action) => void;
  readonly signal?: AbortSignal;
  /** Plan and converge only: return the actions, execute nothing. */
  readonly dryRun?: boolean;
}

export interface ApplyResult {
  /** Changes that took effect (or, on a dry run, that would). */
  readonly changes: readonly Action[];
  /** Every action of the pass, quiet ones included (for `--dry-run` and tests). */
  readonly actions: readonly Action[];
  readonly warnings: readonly string[];
  /** True but not as configured (an adopted interface that differs): Degraded, not failed. */
  readonly findings: readonly Finding[];
  /** Worth telling, not changes ("adopted net1 (macvlan bridge)"). */
  readonly notes: readonly string[];
  readonly interfaceOwned: boolean;
  readonly plan: RouterPlan;
  /** The table now loaded and verified. */
  readonly table: NftTable;
  /** The namespaces as this pass found them before it changed anything. */
  readonly observed: ReusedReading;
  /** Whether the pass changed links, addresses, routes, rules or sysctls (its reading is then old). */
  readonly namespacesChanged: boolean;
}

interface Converged {
  readonly actions: Action[];
  readonly findings: Finding[];
  readonly notes: string[];
}

function inputFor(
  config: RouterConfig,
  options: ApplyOptions,
  state: ApplyState,
  reading: KernelReading,
  facts: PlanFacts,
  plan: RouterPlan,
  nonce: string,
): Omit<StepInput, 'freshDevices' | 'flushedFamilies'> {
  const observed: Observation = { ...reading, table: tableObservation(plan, reading, state.committed) };
  return {
    config,
    options,
    plan,
    facts,
    observed,
    mayCreateInterface: state.mayCreateInterface ?? true,
    holdAddresses: state.holdAddresses ?? true,
    ha: state.ha ?? false,
    ...(state.heldBefore ? { heldBefore: state.heldBefore } : {}),
    podNamespaceRef: String(process.pid),
    nonce,
    linkAddress: stableMac(hostname(), options.masterNetns ?? '', options.egressInterface),
  };
}

/** Every step's actions, in registry order; later steps see what earlier ones create or drop. */
function convergeAll(
  base: Omit<StepInput, 'freshDevices' | 'flushedFamilies'>,
  only?: ReadonlySet<unknown>,
): Converged {
  const fresh = new Set<string>();
  const flushed = new Set<4 | 6>();
  const actions: Action[] = [];
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const step of STEPS) {
    if (only && !only.has(step)) continue;
    const result = step.converge({ ...base, freshDevices: fresh, flushedFamilies: flushed });
    actions.push(...result.actions.map((a) => (a.reason ? a : { ...a, reason: step.reason })));
    findings.push(...(result.findings ?? []));
    notes.push(...(result.notes ?? []));
    for (const device of result.freshDevices ?? []) fresh.add(device);
    for (const family of result.flushedFamilies ?? []) flushed.add(family);
  }
  return { actions, findings, notes };
}

/** A redirect to the pod's own cluster subnet would leave through eth0, which the router never forwards to. */
function checkDestinations(config: RouterConfig, options: ApplyOptions, facts: PlanFacts): void {
  const prefixes = facts.clusterPrefixes;
  if (!prefixes?.[4]?.length && !prefixes?.[6]?.length) return;
  // Each distinct destination once (a few, whatever the rule count).
  const seen = new Set<string>();
  // The path is made only for a message: building one per rule cost 0.1 s at 65,534 rules.
  const check = (address: string, family: 4 | 6, path: () => string) => {
    if (seen.has(address)) return;
    seen.add(address);
    const prefix = prefixes[family]?.find((p) => cidrContains(p, address));
    if (prefix)
      throw new StepError(
        'preflight',
        'UnroutableDestination',
        path(),
        `${path()}: ${address} is on the pod's cluster subnet ${prefix} (${options.clusterInterface}); the router only forwards from the cluster to the egress interface, so this redirect could never work`,
      );
  };
  for (const rule of config.redirectRules)
    if (!seen.has(rule.destinationIP))
      check(rule.destinationIP, rule.family, () => `${rule.source}.destinationIP`);
  const fallback = config.fallback;
  if (fallback) check(fallback.address, fallback.family, () => fallback.source);
}

/** Reads back what a load needs confirmed: the whole table when small, its shape when large. */
async function verifyTableLoad(system: System, table: AnyTable, signal?: AbortSignal): Promise<void> {
  const label = `table ${table.family} ${table.name}`;
  let left: string[];
  try {
    left = await verifyLoad(system.pod, table, signal);
  } catch (error) {
    throw new StepError('nftables', 'VerifyFailed', label, (error as Error).message);
  }
  if (left.length > 0)
    throw new StepError(
      'nftables',
      'VerifyFailed',
      label,
      `the kernel's table differs from the rendered one: ${left.join('; ')}`,
    );
}

export async function apply(
  config: RouterConfig,
  options: ApplyOptions,
  deps: ApplyDeps = {},
  state: ApplyState = {},
): Promise<ApplyResult> {
  const system = deps.system ?? realSystem;
  const effects =
    deps.effects ??
    realEffects(system, { ...(options.dadTimeoutMs ? { dadTimeoutMs: options.dadTimeoutMs } : {}) });
  const trusted = Boolean(state.trustCommitted && state.committed);
  const nonce = randomBytes(4).toString('hex');
  let reading: KernelReading;
  try {
    reading = await readKernel(system, options, !trusted, deps.signal, state.reuse);
  } catch (error) {
    throw new ApplyFailure(
      error instanceof StepError
        ? error
        : new StepError('observe', 'ObserveFailed', 'the kernel', (error as Error).message),
      [],
      [],
      Boolean(deps.signal?.aborted),
    );
  }
  let plan: RouterPlan;
  let converged: Converged;
  let base: ReturnType<typeof inputFor>;
  try {
    const facts = factsFrom(config, options, reading);
    plan = planRouter(config, options, facts);
    checkDestinations(config, options, facts);
    base = inputFor(config, options, state, reading, facts, plan, nonce);
    converged = convergeAll(base);
  } catch (error) {
    if (error instanceof StepError) throw new ApplyFailure(error, [], []);
    throw error;
  }
  const interfaceOwned =
    isOwnedLink(reading.pod, options.egressInterface) ||
    !reading.pod.links.some((l) => l.ifname === options.egressInterface);
  if (deps.dryRun)
    return {
      changes: converged.actions.filter((a) => !a.quiet),
      actions: converged.actions,
      warnings: [],
      findings: converged.findings,
      notes: converged.notes,
      interfaceOwned,
      plan,
      table: plan.table,
      observed: observedOf(reading),
      namespacesChanged: false,
    };
  const changesIp = converged.actions.some((a) => a.op.type === 'ip' || a.op.type === 'sysctl');
  const execution = await execute(
    {
      system,
      ...(reading.masterRunner ? { master: reading.masterRunner } : {}),
      effects,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onDone: (action) => {
        if (!action.quiet) deps.log?.(action);
      },
      verifyTable: () => verifyTableLoad(system, plan.packedTable, deps.signal),
      ...(changesIp
        ? {
            verifyAll: () =>
              verifyKernel(
                system,
                config,
                options,
                state,
                nonce,
                masterAfter(reading, converged.actions),
                deps.signal,
              ),
          }
        : {}),
    },
    converged.actions,
  );
  const owned = execution.done.some((a) => a.step === 'interface' && a.message.startsWith('created'))
    ? true
    : isOwnedLink(reading.pod, options.egressInterface);
  return {
    changes: execution.done.filter((a) => !a.quiet),
    actions: converged.actions,
    warnings: execution.warnings,
    findings: converged.findings,
    notes: converged.notes,
    interfaceOwned: owned,
    plan,
    observed: observedOf(reading),
    namespacesChanged: execution.done.some((a) => a.op.type === 'ip' || a.op.type === 'sysctl'),
    // Read only by a caller that needs it (the reconciler, when the config changed).
    get table() {
      return plan.table;
    },
  };
}

const observedOf = (reading: KernelReading): ReusedReading => ({
  pod: reading.pod,
  ...(reading.master ? { master: reading.master } : {}),
});

/**
 * The master's namespace for the verification: read again only when the pass changed something
 * there. Creating the link (`link add … netns POD`) does not: the link is born in the pod's
 * namespace.
 */
function masterAfter(reading: KernelReading, actions: readonly Action[]): MasterAfter {
  if (!reading.masterRunner) return { isPod: true };
  const changesMaster = actions.some(
    (a) => a.op.type === 'ip' && a.op.where === 'master' && !a.op.args.includes('netns'),
  );
  return changesMaster || !reading.master
    ? { isPod: false, runner: reading.masterRunner }
    : { isPod: false, unchanged: reading.master };
}

type MasterAfter =
  | { readonly isPod: true }
  | { readonly isPod: false; readonly runner: Runner }
  | { readonly isPod: false; readonly unchanged: NamespaceState };

/** Reads the namespace again and converges: anything left to do means the kernel did not take it. */
async function verifyKernel(
  system: System,
  config: RouterConfig,
  options: ApplyOptions,
  state: ApplyState,
  nonce: string,
  masterNs: MasterAfter,
  signal?: AbortSignal,
): Promise<void> {
  // The namespaces and the sysctls only: the table was read back right after its load.
  const [pod, master, sysctls] = await Promise.all([
    observeNamespace(system.pod, signal),
    'runner' in masterNs
      ? observeMasterNamespace(masterNs.runner, signal)
      : Promise.resolve('unchanged' in masterNs ? masterNs.unchanged : undefined),
    readSysctls(system, options),
  ]);
  const reading: KernelReading = {
    pod,
    ...(master ? { master } : {}),
    masterIsPod: masterNs.isPod,
    sysctls,
  };
  const facts = factsFrom(config, options, reading);
  const plan = planRouter(config, options, facts);
  const base = inputFor(config, options, { ...state, mayCreateInterface: true }, reading, facts, plan, nonce);
  const left = convergeAll(base, VERIFIABLE).actions.filter((a) => !a.optional);
  if (left.length > 0)
    throw new StepError(
      left[0]!.step,
      'VerifyFailed',
      left[0]!.object,
      `after applying, the kernel still differs: ${left.map((a) => a.message).join('; ')}`,
    );
}

export interface CleanupResult {
  readonly changes: readonly Action[];
  readonly failures: readonly string[];
}

/** Takes back what apply set up, walking the registry backwards. Safe to run twice. */
export async function cleanup(
  config: RouterConfig,
  options: ApplyOptions,
  deps: Omit<ApplyDeps, 'dryRun'> = {},
): Promise<CleanupResult> {
  const system = deps.system ?? realSystem;
  // Only whether the table is there: deleting it needs no listing of its elements.
  const reading = await readKernel(system, options, 'shape', deps.signal);
  const observed: Observation = { ...reading, table: presentTable(reading) };
  const actions = [...STEPS].reverse().flatMap((step) => step.remove({ config, options, observed }));
  const effects = deps.effects ?? realEffects(system);
  return executeForced(
    {
      system,
      ...(reading.masterRunner ? { master: reading.masterRunner } : {}),
      effects,
      onDone: (action) => {
        if (!action.quiet) deps.log?.(action);
      },
    },
    actions,
  );
}
