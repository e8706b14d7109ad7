/** `--cluster-cidr` checked like config: alone, against the egress subnets, and against every destination. */
import { describe, expect, it } from 'vitest';
import { parseClusterCidr, parseClusterCidrs } from '../../../src/config/clusterCidrs.js';
import { DEFAULT_OPTIONS } from '../../../src/config/model.js';
import { runCli } from '../../helpers/runCli.js';
import {
  cniJson,
  expectIssueAt,
  expectIssues,
  expectOk,
  expectOnlyIssue,
  load,
  loadEnv,
  rule,
  withAddresses,
  withRedirect,
} from './helpers.js';

const withCidrs = (...clusterCidrs: string[]) => ({ ...DEFAULT_OPTIONS, clusterCidrs });

describe('one --cluster-cidr value on its own', () => {
  it.each(['198.18.0.0/15', '2001:db8:1::/48', '203.0.113.7/32'])('takes %s', (text) => {
    const parsed = parseClusterCidr(text);
    expect(parsed.ok && parsed.value.cidr).toBe(text);
  });

  it.each([
    ['198.18.0.1/15', 'has host bits set; the range it names is 198.18.0.0/15, write that'],
    ['2001:db8:1::1/48', 'has host bits set; the range it names is 2001:db8:1::/48, write that'],
    ['0.0.0.0/0', 'covers the default route: every destination would stay on the cluster interface'],
    ['::/0', 'covers the default route: every destination would stay on the cluster interface'],
    ['10.0.0.1', 'must be a CIDR such as 198.18.0.0/15, got "10.0.0.1"'],
    ['not-a-cidr', 'must be a CIDR such as 198.18.0.0/15, got "not-a-cidr"'],
  ])('refuses %s: %s', (text, error) => {
    expect(parseClusterCidr(text)).toEqual({ ok: false, error });
  });

  it('names the flag and the value, and refuses a value given twice', () => {
    expect(parseClusterCidrs(['198.18.0.0/15', '198.18.0.1/15'])).toEqual({
      ok: false,
      error:
        '--cluster-cidr 198.18.0.1/15: has host bits set; the range it names is 198.18.0.0/15, write that',
    });
    expect(parseClusterCidrs(['198.18.0.0/15', '2001:db8:1::/48', '198.18.0.0/15'])).toEqual({
      ok: false,
      error: '--cluster-cidr 198.18.0.0/15: is given twice',
    });
    expect(parseClusterCidrs(['a\nb'])).toEqual({
      ok: false,
      error: '--cluster-cidr "a\\nb": must be a CIDR such as 198.18.0.0/15, got "a\\nb"',
    });
  });
});

describe('--cluster-cidr against the config', () => {
  it.each(['192.0.2.0/25', '192.0.0.0/16', '192.0.2.100/32'])(
    'refuses %s, which overlaps the egress subnet',
    (cidr) => {
      expectOnlyIssue(
        load(withRedirect({}), withCidrs('198.18.0.0/15', cidr)),
        `--cluster-cidr ${cidr}`,
        /^overlaps the egress subnet 192\.0\.2\.0\/24 \(spec\.addresses\[0\]\.ip\): that traffic must leave through the egress interface$/,
      );
    },
  );

  it('refuses a range holding the gateway of a host-prefix address', () => {
    const text = withAddresses([{ ip: '192.0.2.100/32', gateway: '198.51.100.1' }]);
    expectOnlyIssue(
      load(text, withCidrs('198.51.100.0/24')),
      '--cluster-cidr 198.51.100.0/24',
      /^holds the egress gateway 198\.51\.100\.1 \(spec\.addresses\[0\]\.gateway\): the default route would lead into the cluster$/,
    );
  });

  it('refuses a destination and a fallback inside a cluster CIDR, at the rule', () => {
    const text = withRedirect({
      redirectRules: [rule('192.0.2.10', 80), rule('198.18.3.4', 81)],
      fallbackIP: '198.19.0.9',
    });
    const issues = expectIssues(load(text, withCidrs('198.18.0.0/15')));
    expect(issues).toHaveLength(2);
    expectIssueAt(
      issues,
      'spec.redirect.redirectRules[1].destinationIP',
      /^198\.18\.3\.4 is inside --cluster-cidr 198\.18\.0\.0\/15: it is reached through the cluster interface/,
    );
    expectIssueAt(
      issues,
      'spec.redirect.fallbackIP',
      /^198\.19\.0\.9 is inside --cluster-cidr 198\.18\.0\.0\/15/,
    );
  });

  it('names the line of a CNI or legacy destination', () => {
    expectOnlyIssue(
      load(
        cniJson({ ip: { addresses: ['192.0.2.5/24'], destinations: ['80 tcp 198.18.0.9'] } }),
        withCidrs('198.18.0.0/15'),
      ),
      'ip.destinations[0].destinationIP',
      /inside --cluster-cidr/,
    );
    expectOnlyIssue(
      loadEnv(
        { EGRESS_SOURCE: '192.0.2.5/24', EGRESS_DESTINATION: '# x\n198.18.0.9' },
        withCidrs('198.18.0.0/15'),
      ),
      'EGRESS_DESTINATION line 2',
      /inside --cluster-cidr/,
    );
  });

  it('takes ranges apart from the egress side, in both families', () => {
    const text = withRedirect({ redirectRules: [rule('192.0.2.10', 80), rule('2001:db8:100::10', 80)] }, [
      { ip: '192.0.2.100/24', gateway: '192.0.2.1' },
      { ip: '2001:db8:100::64/64' },
    ]);
    expectOk(load(text, withCidrs('198.18.0.0/15', '2001:db8:1::/48')));
  });
});

describe('the CLI', () => {
  it('render refuses a cluster CIDR that overlaps the egress subnet, exit 2, nothing printed', async () => {
    const result = await runCli(['render', 'examples/egressrouter.yaml', '--cluster-cidr', '192.0.2.0/25']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      '  --cluster-cidr 192.0.2.0/25: overlaps the egress subnet 192.0.2.0/24 (spec.addresses[0].ip)',
    );
  });

  it.each(['0.0.0.0/0', '198.18.0.1/15'])(
    'render refuses --cluster-cidr %s as a usage error',
    async (cidr) => {
      const result = await runCli(['render', 'examples/egressrouter.yaml', '--cluster-cidr', cidr]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--cluster-cidr ${cidr}: `);
    },
  );
});
