/**
 * Names of the kit's namespaces and links (pure).
 *
 * A run's prefix is `<kind><6 hex>-`: kind `ert` for tests, `erb` for benchmarks. Ten characters,
 * so a role of up to five (`node1`, `dst1`, `cli2`) keeps every name within the kernel's 15.
 * Every namespace of a run is `<prefix><role suffix>`, and every link the kit names in a bridge or
 * node namespace is `<prefix><something>`, so a run's teardown and the sweep of crashed runs can
 * find exactly their own. `KIT_PREFIX_PATTERN` is the only pattern the sweep ever matches.
 *
 * A caller may also give a fixed prefix (the demo's `erdemo-`): `isFixedPrefix` says which are
 * acceptable (lowercase, ending in `-`, at most 8 characters); those are never swept.
 */
import { randomBytes } from 'node:crypto';

/** Interface and namespace names: the kernel's IFNAMSIZ less the terminating NUL. */
export const MAX_IFNAME = 15;

export type PrefixKind = 'ert' | 'erb';
export const PREFIX_KINDS: readonly PrefixKind[] = ['ert', 'erb'];

/** A kit-generated prefix at the start of a name. */
export const KIT_PREFIX_PATTERN = /^(ert|erb)[0-9a-f]{6}-/;

/** A random prefix of the given kind (uniqueness is checked by the caller against the system). */
export function randomPrefix(kind: PrefixKind): string {
  return `${kind}${randomBytes(3).toString('hex')}-`;
}

export function isKitPrefix(prefix: string): boolean {
  return KIT_PREFIX_PATTERN.test(prefix) && prefix.length === 10;
}

/** A caller-chosen prefix (the demo's): short, lowercase, ending in `-`, not the kit's pattern. */
export function isFixedPrefix(prefix: string): boolean {
  return /^[a-z][a-z0-9]{0,6}-$/.test(prefix) && !KIT_PREFIX_PATTERN.test(prefix);
}

/** The role part of names: lowercase letters and digits, starting with a letter, at most 5. */
export function checkRoleName(role: string, what = 'role'): void {
  if (!/^[a-z][a-z0-9]{0,4}$/.test(role))
    throw new Error(
      `${what} ${JSON.stringify(role)}: 1 to 5 lowercase letters or digits, starting with a letter`,
    );
}

/** `prefix + suffix`, refusing anything the kernel would refuse. */
export function prefixed(prefix: string, suffix: string): string {
  const name = `${prefix}${suffix}`;
  if (name.length > MAX_IFNAME) throw new Error(`name too long (over ${MAX_IFNAME} characters): ${name}`);
  return name;
}
