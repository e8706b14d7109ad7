// The status command's paging and filter flags, turned into the /status query the agent reads,
// and the line that says which rules the table shows.
import { describe, expect, it } from 'vitest';
import { formatStatus, statusQuery } from '../../../src/cli/commands/status.js';
import { UsageError } from '../../../src/cli/io.js';

describe('statusQuery', () => {
  it('asks for the summary by default, pages with --all, filters with --protocol and --port', () => {
    expect(statusQuery({}).toString()).toBe('');
    expect(statusQuery({ all: true, offset: '30000', limit: '5' }).toString()).toBe(
      'rules=all&offset=30000&limit=5',
    );
    expect(statusQuery({ protocol: 'UDP', port: '53' }).toString()).toBe('protocol=udp&port=53');
  });

  it('refuses what /status would ignore or misread', () => {
    expect(() => statusQuery({ offset: '10' })).toThrow(UsageError);
    expect(() => statusQuery({ all: true, limit: '5000' })).toThrow(
      /--limit must be a whole number up to 1000/,
    );
    expect(() => statusQuery({ port: '70000' })).toThrow(/--port/);
    expect(() => statusQuery({ port: '-1' })).toThrow(/--port/);
    expect(() => statusQuery({ protocol: 'icmp' })).toThrow(/--protocol must be tcp, udp or sctp/);
  });
});

describe('formatStatus', () => {
  const rule = {
    protocol: 'tcp',
    port: 80,
    destinationIP: '192.0.2.10',
    targetPort: 80,
    family: 4,
    connections: 3,
  };
  const summary = (over: object) => ({
    total: 65_534,
    matched: 65_534,
    shown: 1,
    offset: 0,
    order: 'connections, most first' as const,
    more: true,
    countedAt: null,
    ...over,
  });
  it('says which rules the table shows and how to see the rest', () => {
    const top = formatStatus({ rules: [rule], ruleSummary: summary({}) }, new Date());
    expect(top).toContain('rules 1-1 of 65534, most connections first; all of them: --all');
    const page = formatStatus(
      { rules: [rule], ruleSummary: summary({ offset: 100, order: 'protocol, port' }) },
      new Date(),
    );
    expect(page).toContain('rules 101-101 of 65534, in protocol, port order; next page: --offset 101');
    const filtered = formatStatus(
      { rules: [rule], ruleSummary: summary({ matched: 1, more: false }) },
      new Date(),
    );
    expect(filtered).toContain('rules 1-1 of 1 matching (65534 in all), most connections first\n');
  });
});
