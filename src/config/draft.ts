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

export interface DraftRule {
  /** Path of the whole rule, used for cross-rule messages. */
  readonly path: string;
  readonly protocol: Protocol;
  readonly port: Located<number>;
  readonly destinationIP: Located<string>;
  readonly targetPort?: Located<number>;
}

export interface DraftConfig {
  readonly format: InputFormat;
  readonly name?: string;
  readonly namespace?: string;
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
