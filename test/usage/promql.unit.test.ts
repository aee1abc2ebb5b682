import { describe, expect, it } from 'vitest';
import { alternation, apiAnswer, promString, quoteRegex, samplesByVm, usageQueries, vectorResult } from '../../src/adapters/prometheus/promql.js';

describe('PromQL of the usage adapter', () => {
  it('asks for every VM at once, one query per signal, with KubeVirt’s metric names and labels', () => {
    const q = usageQueries({ namespaces: ['cs101', 'bio200', 'cs101'], names: ['vm-b', 'vm-a'] }, 300);
    const sel = '{namespace=~"bio200|cs101",name=~"vm-a|vm-b"}';
    expect(q.cpu).toBe(`sum by (namespace, name) (rate(kubevirt_vmi_cpu_usage_seconds_total${sel}[300s]))`);
    expect(q.network).toBe(
      `sum by (namespace, name) (rate(kubevirt_vmi_network_receive_bytes_total${sel}[300s])) + ` +
        `sum by (namespace, name) (rate(kubevirt_vmi_network_transmit_bytes_total${sel}[300s]))`,
    );
    expect(q.disk).toBe(
      `sum by (namespace, name) (rate(kubevirt_vmi_storage_read_traffic_bytes_total${sel}[300s])) + ` +
        `sum by (namespace, name) (rate(kubevirt_vmi_storage_write_traffic_bytes_total${sel}[300s]))`,
    );
    // virt-api's connection metrics name the VMI `vmi`, not `name`.
    expect(q.console).toBe(
      'max by (namespace, vmi) (kubevirt_vmi_last_api_connection_timestamp_seconds{namespace=~"bio200|cs101",vmi=~"vm-a|vm-b"})',
    );
  });

  it('quotes regex metacharacters, then escapes the string literal', () => {
    expect(quoteRegex('a.b|c*d(e)[f]{g}^$+?\\')).toBe('a\\.b\\|c\\*d\\(e\\)\\[f\\]\\{g\\}\\^\\$\\+\\?\\\\');
    expect(promString('say "hi"\\\n')).toBe('"say \\"hi\\"\\\\\\n"');
    expect(promString(alternation(['x.y']))).toBe('"x\\\\.y"');
    // What the literal means to Prometheus (Go string rules, as JSON's for these escapes) matches only the name itself.
    for (const odd of ['a.b', 'a|b', 'a"b', 'a\\b', '.*', 'a)|(.*', 'x\ny']) {
      const re = new RegExp(`^(?:${JSON.parse(promString(alternation([odd]))) as string})$`);
      expect(re.test(odd)).toBe(true);
      expect(re.test(`${odd}x`)).toBe(false);
      expect(re.test('anything')).toBe(false);
    }
  });

  it('reads a vector answer per VM, keeping finite samples only', () => {
    const answer = apiAnswer.parse({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { namespace: 'cs101', name: 'vm-a' }, value: [1765000000.5, '0.25'] },
          { metric: { namespace: 'cs101', name: 'vm-b' }, value: [1765000000.5, 'NaN'] },
          { metric: { namespace: 'cs101', name: 'vm-c' }, value: [1765000000.5, '+Inf'] },
          { metric: { namespace: 'cs101' }, value: [1765000000.5, '1'] },
          { metric: { namespace: 'cs101', name: 'vm-d' }, value: [1765000000.5, '1e3'] },
        ],
      },
    });
    expect(answer.status).toBe('success');
    const samples = vectorResult.parse(answer.status === 'success' ? answer.data.result : undefined);
    expect([...samplesByVm(samples, 'name')]).toEqual([
      ['cs101/vm-a', 0.25],
      ['cs101/vm-d', 1000],
    ]);
  });

  it('reads an error answer and refuses what is not a Prometheus answer', () => {
    expect(apiAnswer.parse({ status: 'error', errorType: 'bad_data', error: 'parse error' })).toMatchObject({ errorType: 'bad_data' });
    expect(apiAnswer.safeParse({ status: 'ok' }).success).toBe(false);
    expect(apiAnswer.safeParse({ status: 'success' }).success).toBe(false);
    expect(vectorResult.safeParse([{ metric: {}, value: [1, 'twelve'] }]).success).toBe(false);
    expect(vectorResult.safeParse([{ metric: {}, value: [1, ''] }]).success).toBe(false);
    expect(vectorResult.safeParse([{ metric: {}, values: [[1, '1']] }]).success).toBe(false);
  });
});
