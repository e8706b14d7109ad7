/**
 * A stateful fake kernel for in-process tests of the control loop (test code, not shipped).
 *
 * Like knftables' Fake, it keeps the system's state as data and answers the agent's commands
 * from it: `createFakeKernel()` gives a `System` (src/system/system.ts) whose runners execute
 * `ip`, `nft`, `ping`, `arping`, `conntrack`, `na6` and `nsenter` against per-namespace state
 * (links, addresses, routes of every table, policy rules, neighbours, conntrack entries,
 * sysctls, the nftables ruleset), whose monitors (`ip -o monitor`, `nft monitor`) print a line
 * per change whoever made it, and whose sysctls read and write that state. A test runs a pass,
 * compares `fake.dump()` with the expected text, injects drift (`fake.sh([...])`, `deleteAddress`,
 * `flushChain`, …) or faults (`failNext`, `hang`), runs again, and counts `fake.commands()`.
 *
 * ```ts
 * const fake = createFakeKernel({ timing: 'instant' });
 * await egressRouterTopology(fake);            // pod eth0, /run/netns/node with eth1, the LAN
 * const system = fake.system();                // hand this to the control loop
 * // … run a pass …
 * expect(fake.dump()).toBe(EXPECTED);          // links, addresses, routes, rules, sysctls, table
 * await fake.deleteRoute(['default', 'dev', 'net1']);   // drift, as someone else
 * fake.clearCommands();
 * // … run a pass …
 * expect(fake.commands().map((c) => c.argv.join(' '))).toEqual([...]);  // the minimal repair
 * ```
 *
 * What it reproduces, checked against the real tools by test/netns/fake-fidelity.test.ts:
 * iproute2 6.1's JSON (keys in ip's order, `-details` fields), its error texts and exit codes,
 * `-batch` stopping at the first failing line with `Command failed -:N`; the kernel routes an
 * address brings (connected, local, broadcast; IPv6 prefix routes) and takes away, the silent
 * flush of IPv4 routes with a device's last IPv4 address or when it goes down, IPv6 addresses
 * lost on down, IPv4 secondaries (removed with their primary, promote_secondaries=0), DAD
 * (tentative, then ready or dadfailed), fe80:: link-locals, on-link gateway checks, the dump
 * order of routing tables; macvlans on a master in another namespace (`link_index` +
 * `link_netnsid`), moves that keep the ifindex when free, passthru refusals; nft 1.0.6's JSON
 * batches as one transaction (all or nothing), its listing shape and error words.
 *
 * Where it deliberately simplifies:
 * - No packets. Pings, ARP and DAD are answered by one LAN model (`fake.lan`) that every
 *   non-loopback link of every namespace reaches; addresses in other fake namespaces do not
 *   answer. Conntrack entries and map counters change only when a test says so
 *   (`addConntrack`, `countConnection`).
 * - Carrier loss (a macvlan whose master is down) shows as NO-CARRIER but leaves routes alone
 *   (the kernel marks them `linkdown`).
 * - `ip` prints JSON only (plus `ip -o monitor` lines, with or without -o); options it does not
 *   know are refused with an explicit "fake ip: … not implemented" error rather than ignored.
 * - Neighbour states: REACHABLE while the LAN host answers, INCOMPLETE for one never seen,
 *   FAILED once a known one stops answering (no STALE/DELAY/PROBE aging).
 * - nft speaks JSON only (no nft-syntax files), checks value types (addresses, ports,
 *   protocols) but not rule semantics (hooks, chain types), stores rule expressions exactly as
 *   loaded (nft 1.0.6 can list a few constructs differently), lists map elements newest first
 *   (the kernel's order is arbitrary too), and prints `nft monitor` rules and `nft list table`
 *   (without -j) through the project's own renderer rather than nft's exact text.
 * - Timing is configurable (`timing: 'real' | 'instant' | {dadMs, toolSecondMs}`); all waits
 *   go through the global timers, so vitest's fake timers drive DAD, silent probes, hangs and
 *   deadlines.
 * - Process ids are fake (from 4000); the agent's own pid (`process.pid`, or `options.pid`)
 *   is the pod's namespace for `ip link set … netns PID`.
 */
export type { Clock } from './clock.js';
export type { Lan, Timing } from './env.js';
export type { Announcement, FakeKernelOptions } from './kernel.js';
export { createFakeKernel, FakeKernel } from './kernel.js';
export type { CommandMatch, CommandRecord, FailOptions } from './runner.js';
export type { ConntrackEntry } from './state.js';
export { egressRouterTopology, FAKE_TOPOLOGY, type TopologyOptions } from './topology.js';
