/**
 * The agent's table name for the suites that read or break the table (runMode, profile, rate).
 * This file held the one-rule-per-port comparison layout (the CNI plugin's) until the rate suite
 * moved to the minimal-NAT and plain-forwarding layouts of layouts.ts (issue 12); the per-rule
 * figures of 2026-11-26 in docs/benchmarks.md were measured with it (see git history).
 */
import { AGENT_TABLE as AGENT_TABLE_ID } from '../../../src/netkit/index.js';

export const AGENT_TABLE = AGENT_TABLE_ID[1];
