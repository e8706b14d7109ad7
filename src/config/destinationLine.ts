/**
 * The one-line destination grammar shared by the CNI config and the legacy environment:
 * `<port> <proto> <ip> [<targetPort>]`, or a bare `<ip>` meaning the fallback.
 */
import type { DraftRule, Located } from './draft.js';
import type { ConfigIssue } from './issues.js';
import { PROTOCOLS, type Protocol } from './model.js';
import { parsePortText } from './ports.js';

export type DestinationLine =
  | { kind: 'rule'; rule: DraftRule }
  | { kind: 'fallback'; ip: Located<string> }
  | { kind: 'invalid'; issues: ConfigIssue[] };

export interface LinePaths {
  /** Path of the whole line (`ip.destinations[2]`, `EGRESS_DESTINATION line 4`). */
  readonly line: string;
  /** Path of one field of the line. */
  readonly field: (name: string) => string;
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
          message: `expected "<port> <tcp|udp|sctp> <ip> [<targetPort>]" or a bare "<ip>" (fallback), got ${JSON.stringify(text.trim().slice(0, 80))}`,
        },
      ],
    };
  }
  const [portText, protoText, ipText, targetText] = tokens as [string, string, string, string | undefined];
  const issues: ConfigIssue[] = [];
  const port = parsePortText(portText);
  if (!port.ok) issues.push({ path: paths.field('port'), message: port.error });
  const protocol = protoText.toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    issues.push({
      path: paths.field('protocol'),
      message: `must be tcp, udp or sctp (any case), got ${JSON.stringify(protoText.slice(0, 40))}`,
    });
  }
  const target = targetText === undefined ? undefined : parsePortText(targetText);
  if (target && !target.ok) issues.push({ path: paths.field('targetPort'), message: target.error });
  if (issues.length > 0 || !port.ok || (target && !target.ok)) return { kind: 'invalid', issues };
  return {
    kind: 'rule',
    rule: {
      path: paths.line,
      protocol: protocol as Protocol,
      port: { value: port.value, path: paths.field('port') },
      destinationIP: { value: ipText, path: paths.field('destinationIP') },
      ...(target?.ok ? { targetPort: { value: target.value, path: paths.field('targetPort') } } : {}),
    },
  };
}
