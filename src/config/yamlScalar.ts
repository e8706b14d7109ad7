/**
 * What an untagged plain YAML scalar means, the YAML 1.1 way kubectl reads manifests:
 * `0120` is octal 80, `0x50` and `0b1010000` are 80, `1_000` is 1000, `yes`/`on` are true,
 * `~` is null. Two 1.1 forms are deliberately left as text: base-60 numbers (`1:20`, which some
 * YAML 1.1 readers take as 80 and kubectl as the string "1:20") and timestamps. A number field
 * then refuses the text with its path, instead of the config meaning different things to
 * different readers.
 */

const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSES = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);

const BINARY = /^([-+]?)0b([01_]+)$/;
const HEX = /^([-+]?)0x([0-9a-fA-F_]+)$/;
const OCTAL = /^([-+]?)0([0-7_]+)$/;
const DECIMAL = /^[-+]?(?:0|[1-9][0-9_]*)$/;
// As kubectl's reader takes floats: a dot or an exponent (`1e3`, `80.0`, `.5`); `08` stays text.
const FLOAT = /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$/;
const INFINITY = /^([-+]?)\.(?:inf|Inf|INF)$/;
const NAN = /^\.(?:nan|NaN|NAN)$/;
const BASE_60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** YAML 1.1's sexagesimal numbers (`1:20`, `190:20:30.15`). */
export function isBase60(text: string): boolean {
  return BASE_60.test(text);
}

function signed(sign: string, digits: string, radix: number): number | undefined {
  const clean = digits.replaceAll('_', '');
  if (clean === '') return undefined;
  const value = Number.parseInt(clean, radix);
  return sign === '-' ? -value : value;
}

/** A YAML 1.1 integer, or undefined when `text` is not one. */
export function yaml11Int(text: string): number | undefined {
  let match = BINARY.exec(text);
  if (match) return signed(match[1]!, match[2]!, 2);
  match = HEX.exec(text);
  if (match) return signed(match[1]!, match[2]!, 16);
  match = OCTAL.exec(text);
  if (match) return signed(match[1]!, match[2]!, 8);
  if (DECIMAL.test(text)) return Number(text.replaceAll('_', ''));
  return undefined;
}

/** A YAML 1.1 float, or undefined when `text` is not one. */
export function yaml11Float(text: string): number | undefined {
  if (NAN.test(text)) return Number.NaN;
  const inf = INFINITY.exec(text);
  if (inf) return inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (!FLOAT.test(text) || !/[.eE]/.test(text)) return undefined;
  return Number(text.replaceAll('_', ''));
}

export function yaml11Bool(text: string): boolean | undefined {
  if (TRUES.has(text)) return true;
  if (FALSES.has(text)) return false;
  return undefined;
}

export function isYaml11Null(text: string): boolean {
  return NULLS.has(text);
}

/** The value of an untagged plain scalar. */
export function resolvePlainScalar(text: string): unknown {
  if (isYaml11Null(text)) return null;
  const bool = yaml11Bool(text);
  if (bool !== undefined) return bool;
  const int = yaml11Int(text);
  if (int !== undefined) return int;
  const float = yaml11Float(text);
  if (float !== undefined) return float;
  return text;
}
