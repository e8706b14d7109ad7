/**
 * Offline validation of Kubernetes objects, strict about unknown fields (which the API server
 * would drop or refuse):
 * - built-in kinds: the kubernetes-models validator (types, required fields, formats, enums),
 *   plus a walk over @kubernetes/client-node's generated models (their attribute type maps list
 *   every field the API knows) that reports any field the API does not have;
 * - custom resources: their CRD's structural schema (openAPIV3Schema), defaults applied first as
 *   the API server does, unknown fields reported, and metadata checked as ObjectMeta.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import * as k8s from '@kubernetes/client-node';

type AttributeMap = { baseName: string; type: string }[];
type ModelClass = { getAttributeTypeMap(): AttributeMap };

function modelClass(type: string): ModelClass | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[type];
  return typeof candidate === 'function' && 'getAttributeTypeMap' in candidate
    ? (candidate as unknown as ModelClass)
    : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of V1JSONSchemaProps typed `any` that hold schemas when they are objects. */
const SCHEMA_VALUED = new Set(['items', 'additionalProperties']);

/** Every field of `value` the generated model of `type` does not know, with its path. */
export function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === undefined || value === null) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [`${path}: must be a list`];
    return value.flatMap((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isObject(value)) return [`${path}: must be a map`];
    return Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`));
  }
  switch (type) {
    case 'string':
    case 'Date':
      return typeof value === 'string' ? [] : [`${path}: must be a string`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: must be a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: must be a boolean`];
    case 'IntOrString':
      return typeof value === 'number' || typeof value === 'string'
        ? []
        : [`${path}: must be an int or a string`];
    case 'any':
    case 'object':
      return [];
  }
  const model = modelClass(type);
  if (!model) return [`${path}: no model ${type}`];
  if (!isObject(value)) return [`${path}: must be an object (${type})`];
  const attributes = model.getAttributeTypeMap();
  return Object.entries(value).flatMap(([key, child]) => {
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) return [`${path}.${key}: unknown field of ${type}`];
    const childType =
      type === 'V1JSONSchemaProps' && SCHEMA_VALUED.has(key) && isObject(child) ? type : attribute.type;
    return unknownFields(child, childType, `${path}.${key}`);
  });
}

const BUILTIN_PATHS: Record<string, string> = {
  v1: 'v1',
  'apps/v1': 'apps/v1',
  'policy/v1': 'policy/v1',
  'rbac.authorization.k8s.io/v1': 'rbac.authorization.k8s.io/v1',
  'networking.k8s.io/v1': 'networking.k8s.io/v1',
  'apiextensions.k8s.io/v1': 'apiextensions.k8s.io/v1',
};

export const isBuiltin = (object: { apiVersion: string }): boolean => object.apiVersion in BUILTIN_PATHS;

/** Problems of a built-in object: the kubernetes-models validator's, then unknown fields. */
export async function builtinProblems(object: { apiVersion: string; kind: string }): Promise<string[]> {
  const module = (await import(
    `kubernetes-models/${BUILTIN_PATHS[object.apiVersion]}/${object.kind}`
  )) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  if (!Model) return [`no kubernetes-models model for ${object.apiVersion} ${object.kind}`];
  const problems: string[] = [];
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push(`${object.kind}: ${(error as Error).message}`);
  }
  return [...problems, ...unknownFields(object, `V1${object.kind}`, object.kind)];
}

export interface StructuralSchema {
  type?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  required?: string[];
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  nullable?: boolean;
  default?: unknown;
  anyOf?: StructuralSchema[];
  oneOf?: StructuralSchema[];
  allOf?: StructuralSchema[];
  not?: StructuralSchema;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

/** A copy of `value` with the schema's defaults filled in, as the API server does before validating. */
export function withDefaults(value: unknown, schema: StructuralSchema): unknown {
  if (isObject(value) && schema.properties) {
    const out: Record<string, unknown> = { ...value };
    for (const [key, sub] of Object.entries(schema.properties)) {
      if (out[key] === undefined && sub.default !== undefined) out[key] = structuredClone(sub.default);
      if (out[key] !== undefined) out[key] = withDefaults(out[key], sub);
    }
    return out;
  }
  if (Array.isArray(value) && schema.items) return value.map((item) => withDefaults(item, schema.items!));
  return value;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function formatProblem(value: string, format: string): string | undefined {
  switch (format) {
    case 'ipv4':
      return isIPv4(value) ? undefined : 'is not an IPv4 address';
    case 'ipv6':
      return isIPv6(value) ? undefined : 'is not an IPv6 address';
    case 'date-time':
      return DATE_TIME.test(value) ? undefined : 'is not an RFC 3339 date-time';
    default:
      return undefined;
  }
}

/**
 * Problems of `value` against a structural schema. `strict`: unknown fields are problems (not in
 * the sub-schemas of anyOf/oneOf/allOf/not, which only validate values in a structural schema).
 */
export function schemaProblems(
  value: unknown,
  schema: StructuralSchema,
  path: string,
  strict = true,
): string[] {
  const problems: string[] = [];
  if (value === null) return schema.nullable ? [] : [`${path}: must not be null`];
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || Number.isInteger(value)))
      problems.push(`${path}: must be an int or a string`);
  } else if (schema.type !== undefined) {
    const ok =
      (schema.type === 'object' && isObject(value)) ||
      (schema.type === 'array' && Array.isArray(value)) ||
      (schema.type === 'string' && typeof value === 'string') ||
      (schema.type === 'integer' && Number.isInteger(value)) ||
      (schema.type === 'number' && typeof value === 'number') ||
      (schema.type === 'boolean' && typeof value === 'boolean');
    if (!ok) return [`${path}: must be of type ${schema.type}, got ${JSON.stringify(value)}`];
  }
  if (schema.enum && !schema.enum.some((e) => e === value))
    problems.push(`${path}: must be one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  if (typeof value === 'string') {
    if (schema.format) {
      const problem = formatProblem(value, schema.format);
      if (problem) problems.push(`${path}: ${JSON.stringify(value)} ${problem}`);
    }
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value))
      problems.push(`${path}: does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && value.length < schema.minLength)
      problems.push(`${path}: too short`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${path}: too long`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      problems.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      problems.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      problems.push(`${path}: too few items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      problems.push(`${path}: too many items`);
    if (schema.items) {
      for (const [i, item] of value.entries())
        problems.push(...schemaProblems(item, schema.items, `${path}[${i}]`, strict));
    }
    const keys = schema['x-kubernetes-list-map-keys'];
    if (schema['x-kubernetes-list-type'] === 'map' && keys) {
      const seen = new Set(
        value.map((item) => JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k]))),
      );
      if (seen.size !== value.length) problems.push(`${path}: duplicate keys ${keys.join(',')}`);
    }
  }
  if (isObject(value)) {
    for (const key of schema.required ?? [])
      if (value[key] === undefined) problems.push(`${path}.${key}: required`);
    for (const [key, child] of Object.entries(value)) {
      const sub = schema.properties?.[key];
      if (sub) problems.push(...schemaProblems(child, sub, `${path}.${key}`, strict));
      else if (isObject(schema.additionalProperties))
        problems.push(...schemaProblems(child, schema.additionalProperties, `${path}.${key}`, strict));
      else if (
        strict &&
        schema.additionalProperties !== true &&
        !schema['x-kubernetes-preserve-unknown-fields']
      )
        problems.push(`${path}.${key}: unknown field`);
    }
  }
  const passes = (sub: StructuralSchema) => schemaProblems(value, sub, path, false).length === 0;
  if (schema.anyOf && !schema.anyOf.some(passes)) problems.push(`${path}: matches none of anyOf`);
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1)
    problems.push(`${path}: must match exactly one of oneOf`);
  for (const sub of schema.allOf ?? []) problems.push(...schemaProblems(value, sub, path, false));
  if (schema.not && passes(schema.not)) problems.push(`${path}: must not match "not"`);
  return problems;
}

export interface CrdFixture {
  readonly source: string;
  readonly spec: {
    group: string;
    names: { kind: string; plural: string };
    versions: { name: string; schema: { openAPIV3Schema: StructuralSchema } }[];
  };
}

export function loadCrdFixture(file: string): CrdFixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8')) as CrdFixture;
}

/** Problems of a custom resource against its CRD (spec of the CRD, not the fixture wrapper). */
export function customResourceProblems(
  object: { apiVersion: string; kind: string; metadata?: unknown },
  crd: CrdFixture['spec'],
): string[] {
  const [group, versionName] = object.apiVersion.split('/');
  if (group !== crd.group || object.kind !== crd.names.kind)
    return [`${object.kind}: not a ${crd.names.kind}`];
  const version = crd.versions.find((v) => v.name === versionName);
  if (!version) return [`${object.kind}: no version ${versionName}`];
  const schema = version.schema.openAPIV3Schema;
  const { metadata, ...rest } = object as Record<string, unknown>;
  // Every object may carry apiVersion and kind, whether or not an old CRD's schema lists them.
  const root = {
    ...schema,
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, ...schema.properties },
  };
  return [
    ...schemaProblems(withDefaults(rest, root), root, object.kind),
    ...unknownFields(metadata, 'V1ObjectMeta', `${object.kind}.metadata`),
  ];
}
