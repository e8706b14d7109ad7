/**
 * The egress interface. An existing link is adopted (Multus attached it) or is the agent's own
 * (it carries CREATED_ALIAS). The link's attributes are part of the plan: on the agent's own link
 * a mode is changed in place where the kernel allows it, and the link is re-created when the
 * master changes or passthru is involved; an adopted link that differs is reported, never
 * touched beyond MTU and up. A missing link is created directly in the pod's namespace under a
 * temporary name, marked, then renamed, so a crash at any point leaves nothing unowned.
 */
import type { LinkInfo, NamespaceState } from '../../link/iproute.js';
import type { LinkPlan } from '../../plan/routerPlan.js';
import { type Action, ipOp, type Op } from '../actions.js';
import { CREATED_ALIAS, TEMPORARY_LINK, temporaryLinkName } from '../context.js';
import { StepError } from '../stepError.js';
import type { Finding, Step, StepInput, StepResult } from './step.js';

const STEP = 'interface';

const action = (object: string, message: string, op: Op, undo?: Op[], quiet?: boolean): Action => ({
  step: STEP,
  kind: 'interface',
  object,
  message,
  op,
  ...(undo ? { undo } : {}),
  ...(quiet ? { quiet } : {}),
});

const modeOf = (link: LinkInfo): string | undefined => link.linkinfo?.info_data?.mode;
const kindOf = (link: LinkInfo): string | undefined => link.linkinfo?.info_kind;

/** The name of the link's master in the master's namespace, when it can be told. */
function currentMaster(link: LinkInfo, input: StepInput): string | undefined {
  if (link.link_netnsid === undefined) return link.link ?? undefined;
  const masterNs = input.observed.masterIsPod ? undefined : input.observed.master;
  return masterNs?.links.find((l) => l.ifindex === link.link_index)?.ifname;
}

function describeLink(link: LinkInfo, master: string | undefined): string {
  const mode = modeOf(link);
  return `${link.ifname} (${kindOf(link) ?? 'unknown kind'}${mode ? ` ${mode}` : ''}${master ? ` on ${master}` : ''})`;
}

/** Creating the link: in the master's namespace straight into the pod's, under a temporary name. */
function createActions(input: StepInput, plan: LinkPlan): Action[] {
  const { observed } = input;
  const name = plan.name;
  if (!observed.masterIsPod && !observed.master) {
    throw new StepError(
      STEP,
      'MasterNotFound',
      name,
      `${name} is not in the pod and no master namespace is visible to create it (adopt mode needs the interface attached, e.g. by Multus)`,
    );
  }
  if (!plan.master) {
    const problem = input.facts.master ? undefined : 'the master cannot be found or inferred';
    throw new StepError(STEP, 'MasterNotFound', 'master', problem ?? 'no master');
  }
  const masterNs = observed.masterIsPod ? observed.pod : observed.master;
  if (!masterNs?.links.some((l) => l.ifname === plan.master))
    throw new StepError(
      STEP,
      'MasterNotFound',
      plan.master,
      `master interface ${plan.master} does not exist in ${observed.masterIsPod ? 'the pod' : 'the master namespace'}`,
    );
  const temporary = temporaryLinkName(input.nonce);
  const where = observed.masterIsPod ? 'pod' : 'master';
  const add = [
    'link',
    'add',
    temporary,
    'link',
    plan.master,
    ...(where === 'master' ? ['netns', input.podNamespaceRef] : []),
    ...(input.linkAddress ? ['address', input.linkAddress] : []),
    'type',
    'macvlan',
    'mode',
    plan.mode,
  ];
  const where_ =
    where === 'master' ? ` in the namespace ${input.options.masterNetns ?? 'of the master'}` : '';
  return [
    action(
      name,
      `created ${name}: macvlan ${plan.mode} on ${plan.master}${where_}${plan.mtu && plan.mtuSource === 'configured' ? `, MTU ${plan.mtu}` : ''}`,
      ipOp(where, add),
      [ipOp('pod', ['link', 'delete', 'dev', temporary])],
    ),
    // The ownership mark goes on before the final name: an unmarked `net1` would be adopted forever.
    action(
      name,
      `marked ${temporary} as the agent's`,
      ipOp('pod', ['link', 'set', 'dev', temporary, 'alias', CREATED_ALIAS]),
      undefined,
      true,
    ),
    action(
      name,
      `renamed ${temporary} to ${name}`,
      ipOp('pod', ['link', 'set', 'dev', temporary, 'name', name]),
      [ipOp('pod', ['link', 'set', 'dev', name, 'name', temporary])],
      true,
    ),
    action(
      name,
      `brought ${name} up`,
      ipOp('pod', ['link', 'set', 'dev', name, ...(plan.mtu ? ['mtu', String(plan.mtu)] : []), 'up']),
      undefined,
      true,
    ),
  ];
}

function deleteAction(link: LinkInfo, why: string): Action {
  return action(
    link.ifname,
    `deleted ${link.ifname} (${why})`,
    ipOp('pod', ['link', 'delete', 'dev', link.ifname]),
  );
}

/** Leftovers of a creation that was killed half-way. */
function sweepTemporaries(pod: NamespaceState): Action[] {
  return pod.links
    .filter((l) => TEMPORARY_LINK.test(l.ifname))
    .map((l) => deleteAction(l, 'left over from an interrupted creation'));
}

function upAndMtu(link: LinkInfo, plan: LinkPlan, adopted: boolean): Action[] {
  const actions: Action[] = [];
  // On an adopted link only a configured MTU is applied; the master's MTU is what Multus chose.
  const wantMtu = adopted ? (plan.mtuSource === 'configured' ? plan.mtu : undefined) : plan.mtu;
  if (wantMtu !== undefined && link.mtu !== wantMtu)
    actions.push(
      action(
        link.ifname,
        `set MTU of ${link.ifname} to ${wantMtu} (was ${link.mtu})`,
        ipOp('pod', ['link', 'set', 'dev', link.ifname, 'mtu', String(wantMtu)]),
        [ipOp('pod', ['link', 'set', 'dev', link.ifname, 'mtu', String(link.mtu)])],
      ),
    );
  if (!link.flags.includes('UP'))
    actions.push(
      action(
        link.ifname,
        `brought ${link.ifname} up`,
        ipOp('pod', ['link', 'set', 'dev', link.ifname, 'up']),
        [ipOp('pod', ['link', 'set', 'dev', link.ifname, 'down'])],
      ),
    );
  return actions;
}

function convergeOwned(input: StepInput, link: LinkInfo, plan: LinkPlan): StepResult {
  const master = currentMaster(link, input);
  const mode = modeOf(link);
  const why: string[] = [];
  if (kindOf(link) !== 'macvlan') why.push(`it is a ${kindOf(link) ?? 'link of unknown kind'}`);
  if (plan.master && master && master !== plan.master)
    why.push(`its master is ${master}, the plan says ${plan.master}`);
  if (mode && mode !== plan.mode && (mode === 'passthru' || plan.mode === 'passthru'))
    why.push(`mode ${mode} cannot become ${plan.mode} in place`);
  if (why.length > 0) {
    const recreate = [deleteAction(link, `re-created: ${why.join('; ')}`), ...createActions(input, plan)];
    return { actions: recreate, freshDevices: [plan.name] };
  }
  const actions: Action[] = [];
  if (mode && mode !== plan.mode)
    actions.push(
      action(
        link.ifname,
        `changed the macvlan mode of ${link.ifname} from ${mode} to ${plan.mode}`,
        ipOp('pod', ['link', 'set', 'dev', link.ifname, 'type', 'macvlan', 'mode', plan.mode]),
        [ipOp('pod', ['link', 'set', 'dev', link.ifname, 'type', 'macvlan', 'mode', mode])],
      ),
    );
  actions.push(...upAndMtu(link, plan, false));
  return { actions };
}

function convergeAdopted(input: StepInput, link: LinkInfo, plan: LinkPlan): StepResult {
  const master = currentMaster(link, input);
  const mode = modeOf(link);
  const findings: Finding[] = [];
  const mismatch: string[] = [];
  if (kindOf(link) !== 'macvlan')
    mismatch.push(`it is a ${kindOf(link) ?? 'link of unknown kind'}, not a macvlan`);
  else if (mode && mode !== plan.mode) mismatch.push(`its mode is ${mode}, the config says ${plan.mode}`);
  if (plan.masterSource === 'configured' && master && master !== plan.master)
    mismatch.push(`its master is ${master}, the config says ${plan.master}`);
  if (mismatch.length > 0)
    findings.push({
      reason: 'InterfaceMismatch',
      message: `the adopted interface ${describeLink(link, master)} differs from the config: ${mismatch.join('; ')}; it is not the agent's to change: fix the NetworkAttachmentDefinition or the config`,
    });
  return { actions: upAndMtu(link, plan, true), findings, notes: [`adopted ${describeLink(link, master)}`] };
}

/** Up but without carrier: the master is down (or unplugged); nothing can leave. */
function carrierFinding(link: LinkInfo | undefined): Finding[] {
  if (!link?.flags.includes('UP') || link.flags.includes('LOWER_UP')) return [];
  return [
    {
      reason: 'NoCarrier',
      message: `${link.ifname} is up but has no carrier (NO-CARRIER): its master link is down or disconnected, so no traffic can leave`,
      blocksTraffic: true,
    },
  ];
}

export const linkStep: Step = {
  name: STEP,
  reason: 'InterfaceFailed',
  converge(input) {
    const plan = input.plan.link;
    const sweep = sweepTemporaries(input.observed.pod);
    const link = input.observed.pod.links.find((l) => l.ifname === plan.name);
    let result: StepResult;
    if (link?.ifalias === CREATED_ALIAS) result = convergeOwned(input, link, plan);
    else if (link) result = convergeAdopted(input, link, plan);
    else if (!input.mayCreateInterface)
      throw new StepError(
        STEP,
        'InterfaceMissing',
        plan.name,
        `the adopted interface ${plan.name} has disappeared from the pod`,
      );
    else result = { actions: createActions(input, plan), freshDevices: [plan.name] };
    return {
      ...result,
      actions: [...sweep, ...result.actions],
      findings: [...(result.findings ?? []), ...(result.freshDevices ? [] : carrierFinding(link))],
    };
  },
  remove({ options, observed }) {
    const link = observed.pod.links.find((l) => l.ifname === options.egressInterface);
    const actions = sweepTemporaries(observed.pod);
    if (link?.ifalias === CREATED_ALIAS) actions.push(deleteAction(link, 'created by the agent'));
    return actions;
  },
};

/** Whether the egress link is the agent's (for status and cleanup). */
export const isOwnedLink = (pod: NamespaceState, name: string): boolean =>
  pod.links.some((l) => l.ifname === name && l.ifalias === CREATED_ALIAS);
