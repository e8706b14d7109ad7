/**
 * The network kit: a router's surroundings in Linux network namespaces, for the data-plane tests
 * (test/netns), the benchmarks (scripts/bench) and the demo. Everything a test needs that is not
 * an expectation lives here; vitest expectations live in test/netns/kit/.
 *
 * | module | offers |
 * |---|---|
 * | topology.ts | `createTopology(options)` / `withTopology`: namespaces, links, addresses, routes (IPv4 and IPv6; one or several router pods on one or several nodes; MTUs; a LAN host); `exec`, `ip`, `spawn` in them; faults: `killPod`/`restorePod`, `removeMaster`/`restoreMaster`, `partition`/`heal`, `gatewayOff`/`gatewayOn`, `claimAddress`, `dropIcmpTooBig`; `destroy` |
 * | layout.ts, plan.ts | the topology as data and the address plan (`PLAN`), pure |
 * | traffic.ts | servers that report the peer address, TCP/UDP requests, long-lived streams, tcpdump capture |
 * | agent.ts | the built agent in a pod: one-shot commands, `startAgent` (run mode, parsed JSON logs, pid, HTTP, stop, memory) |
 * | health.ts | HTTP to the health port from inside a namespace; Prometheus text |
 * | configDir.ts | a ConfigMap-like directory with the `..data` swap; scratch directories |
 * | fixtures.ts | EgressRouter documents from rule specs |
 * | inspect.ts | reading back routes, links, addresses, the ruleset and the agent's maps |
 * | ownership.ts, names.ts, netns.ts | per-run prefixes, owner records and the sweep of crashed runs |
 * | process.ts | commands and tracked children (argument arrays, deadlines), polling |
 * | dist.ts | where the built agent and tools are (`CLI`, `builtFile`) |
 * | scratch.ts | one bare namespace |
 */
export * from './agent.js';
export * from './configDir.js';
export * from './dist.js';
export * from './fixtures.js';
export * from './health.js';
export * from './inspect.js';
export * from './layout.js';
export * from './names.js';
export * from './netns.js';
export * from './ownership.js';
export * from './plan.js';
export * from './process.js';
export * from './scratch.js';
export * from './topology.js';
export * from './traffic.js';
