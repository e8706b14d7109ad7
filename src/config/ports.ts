/**
 * Port numbers written as text (CNI destinations, legacy lines). Only plain decimal is taken:
 * `+80`, `0x50`, `8e1`, `080` are rejected rather than guessed at.
 */
import { quote } from './issues.js';

export type PortText = { ok: true; value: number } | { ok: false; error: string };

export function parsePortText(text: string): PortText {
  if (!/^[0-9]+$/.test(text)) {
    return { ok: false, error: `must be a decimal port number, got ${quote(text.slice(0, 40))}` };
  }
  if (text.length > 1 && text.startsWith('0')) {
    return { ok: false, error: `must not have leading zeros, got ${quote(text.slice(0, 40))}` };
  }
  // Out-of-range values are left to the shared validator, which reports the range.
  return { ok: true, value: text.length > 15 ? Number.MAX_SAFE_INTEGER : Number(text) };
}
