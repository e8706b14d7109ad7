/** Step 1: the egress interface. Adopt it when it is already in the pod, else create a macvlan on the master. */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { parsePrefix, prefixContains } from '../../config/ip.js';
import { findLink, ip, type LinkInfo, listAddresses, listLinks, listRoutes } from '../../link/iproute.js';
import type { Runner } from '../../system/command.js';
import { CREATED_ALIAS, type StepContext } from '../context.js';
import { inStep, StepError } from '../stepError.js';

export interface LinkOutcome {
  /** The link was created by this run. */
  readonly createdNow: boolean;
  /** The agent created the link (this run or an earlier one): cleanup deletes it. */
  readonly ownedByAgent: boolean;
  readonly master?: string;
}

/** Whether a namespace path is the agent's own namespace (moving a link there would be a no-op). */
export async function isOwnNamespace(path: string): Promise<boolean> {
  const [theirs, ours] = await Promise.all([stat(path), stat('/proc/self/ns/net')]);
  return theirs.ino === ours.ino && theirs.dev === ours.dev;
}

/** The configured master, or the interface whose subnet holds an egress address, else the default route's. */
export async function inferMaster(ctx: StepContext, runner: Runner): Promise<string> {
  const configured = ctx.config.macvlan.master;
  const links = await listLinks(runner);
  if (configured) {
    if (!links.some((l) => l.ifname === configured)) {
      throw new StepError(
        'interface',
        'MasterNotFound',
        configured,
        `master interface ${configured} does not exist in ${runner.where}`,
      );
    }
    return configured;
  }
  const addresses = await listAddresses(runner);
  for (const egress of ctx.config.addresses) {
    const holder = addresses.find((a) => {
      if (a.scope !== 'global' || a.ifname === ctx.options.egressInterface) return false;
      const prefix = parsePrefix(`${a.local}/${a.prefixlen}`);
      return prefix.ok && prefixContains(prefix.value, egress);
    });
    if (holder) return holder.ifname;
  }
  for (const family of [4, 6] as const) {
    const route = (await listRoutes(runner, family)).find((r) => r.dst === 'default' && r.dev);
    if (route?.dev) return route.dev;
  }
  const wanted = ctx.config.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(', ');
  throw new StepError(
    'interface',
    'MasterNotFound',
    'master',
    `no master given and none can be inferred in ${runner.where}: no interface has a subnet holding ${wanted}, and there is no default route`,
  );
}

function describe(link: LinkInfo): string {
  const kind = link.linkinfo?.info_kind ?? 'unknown kind';
  const mode = link.linkinfo?.info_data?.mode;
  return `${link.ifname} (${kind}${mode ? ` ${mode}` : ''})`;
}

async function adopt(ctx: StepContext, link: LinkInfo): Promise<LinkOutcome> {
  const name = link.ifname;
  const owned = link.ifalias === CREATED_ALIAS;
  const wantMtu = ctx.config.macvlan.mtu;
  if (wantMtu !== undefined && link.mtu !== wantMtu) {
    await inStep('interface', 'InterfaceFailed', name, () =>
      ip(ctx.pod, ['link', 'set', 'dev', name, 'mtu', String(wantMtu)]),
    );
    ctx.undo.push(`MTU of ${name}`, () => ip(ctx.pod, ['link', 'set', 'dev', name, 'mtu', String(link.mtu)]));
    ctx.changed('interface', `set MTU of ${name} to ${wantMtu}`);
  }
  if (!link.flags.includes('UP')) {
    await inStep('interface', 'InterfaceFailed', name, () => ip(ctx.pod, ['link', 'set', 'dev', name, 'up']));
    ctx.undo.push(`bringing ${name} up`, () => ip(ctx.pod, ['link', 'set', 'dev', name, 'down']));
    ctx.changed('interface', `brought ${name} up`);
  }
  if (!owned) ctx.changed('interface', `adopted ${describe(link)}`);
  return { createdNow: false, ownedByAgent: owned };
}

async function create(ctx: StepContext): Promise<LinkOutcome> {
  const name = ctx.options.egressInterface;
  const masterRunner = ctx.master;
  if (!masterRunner) {
    throw new StepError(
      'interface',
      'MasterNotFound',
      name,
      `${name} is not in the pod and no master namespace is visible to create it`,
    );
  }
  const master = await inStep('interface', 'MasterNotFound', 'master', () => inferMaster(ctx, masterRunner));
  const temporary = `ert${randomBytes(4).toString('hex')}`;
  const mode = ctx.config.macvlan.mode.toLowerCase();
  const foreign = masterRunner !== ctx.pod;
  await inStep('interface', 'InterfaceFailed', `macvlan on ${master}`, () =>
    ip(masterRunner, ['link', 'add', temporary, 'link', master, 'type', 'macvlan', 'mode', mode]),
  );
  // Until it is renamed in the pod, the link is found by its temporary name where it was made.
  let undoTarget: { runner: Runner; name: string } = { runner: masterRunner, name: temporary };
  ctx.undo.push(`creating ${name}`, () => ip(undoTarget.runner, ['link', 'delete', 'dev', undoTarget.name]));
  if (foreign) {
    await inStep('interface', 'InterfaceFailed', temporary, () =>
      ip(masterRunner, ['link', 'set', 'dev', temporary, 'netns', String(process.pid)]),
    );
    undoTarget = { runner: ctx.pod, name: temporary };
  }
  await inStep('interface', 'InterfaceFailed', temporary, () =>
    ip(ctx.pod, ['link', 'set', 'dev', temporary, 'name', name]),
  );
  undoTarget = { runner: ctx.pod, name };
  const mtu = ctx.config.macvlan.mtu;
  await inStep('interface', 'InterfaceFailed', name, () =>
    ip(ctx.pod, [
      'link',
      'set',
      'dev',
      name,
      'alias',
      CREATED_ALIAS,
      ...(mtu ? ['mtu', String(mtu)] : []),
      'up',
    ]),
  );
  ctx.changed(
    'interface',
    `created ${name}: macvlan ${mode} on ${master}${foreign ? ` in ${masterRunner.where}` : ''}${mtu ? `, MTU ${mtu}` : ''}`,
  );
  return { createdNow: true, ownedByAgent: true, master };
}

/** `mayCreate` false: the interface was adopted earlier, so if it is gone it is not ours to re-create. */
export async function ensureLink(ctx: StepContext, mayCreate = true): Promise<LinkOutcome> {
  const name = ctx.options.egressInterface;
  const existing = await inStep('interface', 'InterfaceFailed', name, () => findLink(ctx.pod, name));
  if (existing) return adopt(ctx, existing);
  if (!mayCreate) {
    throw new StepError(
      'interface',
      'InterfaceMissing',
      name,
      `the adopted interface ${name} has disappeared from the pod`,
    );
  }
  return create(ctx);
}
