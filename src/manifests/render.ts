/** Prints manifests: multi-document YAML for `kubectl apply -f -` (with comments), or a JSON List. */
import YAML, { isMap, isSeq, type Node } from 'yaml';
import type { Manifest } from './types.js';

/** The node holding `path`'s key (a map pair's key, or a sequence item), to hang a comment on. */
function keyNode(document: YAML.Document, path: readonly string[]): Node | undefined {
  const parentPath = path.slice(0, -1).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const last = path[path.length - 1];
  const parent = parentPath.length === 0 ? document.contents : document.getIn(parentPath, true);
  if (isMap(parent)) {
    const pair = parent.items.find((item) => (item.key as { value?: unknown } | null)?.value === last);
    return pair?.key as Node | undefined;
  }
  if (isSeq(parent) && last !== undefined && /^\d+$/.test(last))
    return parent.items[Number(last)] as Node | undefined;
  return undefined;
}

const commentLines = (text: string): string =>
  text
    .split('\n')
    .map((line) => (line.length > 0 ? ` ${line}` : ''))
    .join('\n');

/** One object as a YAML document, read back by kubectl exactly as built (YAML 1.1 quoting). */
export function manifestDocument(manifest: Manifest): string {
  // No anchors: objects shared between containers are printed in full, as kubectl users expect.
  const document = new YAML.Document(manifest.object, { version: '1.1', aliasDuplicateObjects: false });
  if (manifest.comment) document.commentBefore = commentLines(manifest.comment);
  for (const [path, comment] of Object.entries(manifest.fieldComments ?? {})) {
    const node = keyNode(document, path.split('.'));
    if (!node) throw new Error(`no field ${path} in ${manifest.object.kind} to comment on`);
    node.commentBefore = commentLines(comment);
  }
  return document.toString({ lineWidth: 0, version: '1.1' } as YAML.ToStringOptions);
}

export function renderYaml(manifests: readonly Manifest[], header: string): string {
  const body = manifests.map(manifestDocument).join('---\n');
  return `${commentLines(header)
    .split('\n')
    .map((line) => `#${line}`)
    .join('\n')}\n\n${body}`;
}

export function renderJson(manifests: readonly Manifest[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests.map((m) => m.object) }, null, 2)}\n`;
}
