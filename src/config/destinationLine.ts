/**
 * The one-line destination grammar shared by the CNI config and the legacy environment:
 * `<port> <proto> <ip> [<targetPort>]`, or a bare `<ip>` meaning the fallback.
 */
import { type DraftRule, fieldPath, type Located } from './draft.js';
import { type ConfigIssue, quote } from './issues.js';
import { PROTOCOLS, type Protocol } from './model.js';
import { parsePortText } from './ports.js';

export type DestinationLine =
  | { kind: 'rule'; rule: DraftRule }
  | { kind: 'fallback'; ip: Located<string> }
  | { kind: 'invalid'; issues: ConfigIssue[] };

export interface LinePaths {
  /** Path of the whole line (`ip.destinations[2]`, `EGRESS_DESTINATION line 4`). */
  readonly line: string;
  /** Between the line's path and a field's name: `ip.destinations[2].port`, `EGRESS_DESTINATION line 4 port`. */
  readonly fieldSeparator: '.' | ' ';
}

export function parseDestinationLine(text: string, paths: LinePaths): DestinationLine {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 1) return { kind: 'fallback', ip: { value: tokens[0]!, path: paths.line } };
  if (tokens.length !== 3 && tokens.length !== 4) {
    return {
      kind: 'invalid',
      issues: [
        {
          path: paths.line,
          message: `expected "<port> <tcp|udp|sctp> <ip> [<targetPort>]" or a bare "<ip>" (fallback), got ${quote(text.trim().slice(0, 80))}`,
        },
      ],
    };
  }
  const [portText, protoText, ipText, targetText] = tokens as [string, string, string, string | undefined];
  const located = { path: paths.line, fieldSeparator: paths.fieldSeparator };
  const issues: ConfigIssue[] = [];
  const port = parsePortText(portText);
  if (!port.ok) issues.push({ path: fieldPath(located, 'port'), message: port.error });
  const protocol = protoText.toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    issues.push({
      path: fieldPath(located, 'protocol'),
      message: `must be tcp, udp or sctp (any case), got ${quote(protoText.slice(0, 40))}`,
    });
  }
  const target = targetText === undefined ? undefined : parsePortText(targetText);
  if (target && !target.ok) issues.push({ path: fieldPath(located, 'targetPort'), message: target.error });
  if (issues.length > 0 || !port.ok || (target && !target.ok)) return { kind: 'invalid', issues };
  return {
    kind: 'rule',
    rule: {
      ...located,
      protocol: protocol as Protocol,
      port: port.value,
      destinationIP: ipText,
      ...(target?.ok ? { targetPort: target.value } : {}),
    },
  };
}
