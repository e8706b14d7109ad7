/**
 * A UDP "flow" as DNS, syslog or metrics clients make one: datagrams from one fixed source port to
 * one address and port, every interval, and the replies with the time each arrived (the kit
 * servers answer `name=<server> …`, so a reply says which destination the flow reached).
 */
import {
  type Child,
  NODE,
  parseReply,
  pollUntil,
  readLines,
  type Topology,
  within,
} from '../../../src/netkit/index.js';

export interface FlowReply {
  /** Epoch ms when the reply arrived (the same clock as the agent's log times). */
  readonly at: number;
  readonly server: string;
}

export interface UdpFlow {
  readonly replies: FlowReply[];
  /** Replies from `server` that arrived after `since` (epoch ms). */
  from(server: string, since?: number): FlowReply[];
  /** Waits for a reply from `server` after `since`; resolves with it. */
  waitFor(server: string, since: number, timeoutMs: number): Promise<FlowReply>;
  stop(): Promise<void>;
}

const SCRIPT = `
const dgram = require('node:dgram');
const [host, port, sourcePort, interval] = process.argv.slice(1);
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
let n = 0;
socket.on('message', (m) => console.log(JSON.stringify({ at: Date.now(), reply: m.toString() })));
socket.on('error', (e) => console.log(JSON.stringify({ at: Date.now(), error: e.code })));
socket.bind(Number(sourcePort), () => {
  setInterval(() => socket.send('flow ' + n++, Number(port), host), Number(interval));
});
process.on('SIGTERM', () => process.exit(0));
`;

/** Starts the flow in `ns` from `sourcePort` to `host:port`, one datagram every `intervalMs`. */
export function udpFlow(
  topo: Topology,
  ns: string,
  host: string,
  port: number,
  sourcePort: number,
  intervalMs = 50,
): UdpFlow {
  const child: Child = topo.spawn(ns, [
    NODE,
    '-e',
    SCRIPT,
    host,
    String(port),
    String(sourcePort),
    String(intervalMs),
  ]);
  const replies: FlowReply[] = [];
  const closed = readLines(child.stdout, (line) => {
    try {
      const event = JSON.parse(line) as { at: number; reply?: string };
      const parsed = event.reply ? parseReply(event.reply) : undefined;
      if (parsed) replies.push({ at: event.at, server: parsed.name });
    } catch {
      // not a line of ours
    }
  });
  const from = (server: string, since = 0) => replies.filter((r) => r.server === server && r.at > since);
  return {
    replies,
    from,
    waitFor: async (server, since, timeoutMs) => {
      await pollUntil(() => from(server, since).length > 0, timeoutMs, `a reply from ${server}`, 20);
      return from(server, since)[0] as FlowReply;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await within(child.exited, 5_000, 'the UDP flow to stop');
      await closed;
    },
  };
}
