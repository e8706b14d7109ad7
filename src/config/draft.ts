/**
 * What a format parser hands to the shared validator: structurally sound values, each with
 * the path the user should see in an error, but not yet checked for meaning.
 */
import type { InputFormat, LegacyMode, MacvlanMode, Protocol } from './model.js';

export interface Located<T> {
  readonly value: T;
  readonly path: string;
}

export interface DraftAddress {
  readonly ip: Located<string>;
  readonly gateway?: Located<string>;
}

/**
 * One redirect rule. A config may hold 131,070 of them, so a rule carries its own path once and
 * the paths of its fields are made only when a message needs one (`fieldPath`).
 */
export interface DraftRule {
  /**
   * Path of the whole rule: `spec.redirect.redirectRules[2]`, `ip.destinations[3]`,
   * `EGRESS_DESTINATION line 4`. Cross-rule messages name it, and the model keeps it as `source`.
   */
  readonly path: string;
  /** Between the rule's path and a field's name: `.port` in documents, ` port` on a legacy line. */
  readonly fieldSeparator: '.' | ' ';
  readonly protocol: Protocol;
  readonly port: number;
  readonly destinationIP: string;
  readonly targetPort?: number;
}

export type RuleField = 'port' | 'protocol' | 'destinationIP' | 'targetPort';

export function fieldPath(rule: Pick<DraftRule, 'path' | 'fieldSeparator'>, field: RuleField): string {
  return `${rule.path}${rule.fieldSeparator}${field}`;
}

export interface DraftConfig {
  readonly format: InputFormat;
  readonly name?: Located<string>;
  readonly namespace?: Located<string>;
  readonly macvlanMode: MacvlanMode;
  readonly master?: Located<string>;
  readonly mtu?: Located<number>;
  readonly addressesPath: string;
  readonly addresses: readonly DraftAddress[];
  readonly rules: readonly DraftRule[];
  readonly fallback?: Located<string>;
  readonly legacyMode?: LegacyMode;
  readonly notes: readonly string[];
}
