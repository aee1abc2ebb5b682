import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { usageQueries } from '../../src/adapters/prometheus/promql.js';

/** The query's syntax tree under Prometheus' own PromQL grammar (the one its web UI parses with), or the error's place. */
function tree(query: string): string {
  const t = parser.parse(query);
  let error: number | undefined;
  t.iterate({
    enter: (node) => {
      if (node.type.isError && error === undefined) error = node.from;
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error}: …${query.slice(error, error + 40)}`);
  return t.toString();
}

describe('the usage queries under the PromQL grammar of Prometheus', () => {
  const odd = { namespaces: ['cs101', 'we.ird|ns'], names: ['vm-a', 'a"b\\c', 'x)|(.*', 'line\nbreak'] };

  it('parse without error, even for names full of quotes, backslashes and regex metacharacters', () => {
    for (const [signal, query] of Object.entries(usageQueries(odd, 300))) {
      expect(() => tree(query), signal).not.toThrow();
    }
  });

  it('are aggregations of rates over the window, network and disk as a sum of two, console a max', () => {
    const q = usageQueries({ namespaces: ['cs101'], names: ['vm-a'] }, 300);
    const rateSum =
      'AggregateExpr(AggregateOp(Sum),AggregateModifier(By,GroupingLabels(LabelName,LabelName)),FunctionCallBody(FunctionCall(FunctionIdentifier(Rate),FunctionCallBody(MatrixSelector(VectorSelector(Identifier,LabelMatchers(UnquotedLabelMatcher(LabelName,MatchOp(EqlRegex),StringLiteral),UnquotedLabelMatcher(LabelName,MatchOp(EqlRegex),StringLiteral))),DurationExpr(NumberDurationLiteralInDurationContext))))))';
    expect(tree(q.cpu)).toBe(`PromQL(${rateSum})`);
    expect(tree(q.network)).toBe(`PromQL(BinaryExpr(${rateSum},Add,${rateSum}))`);
    expect(tree(q.disk)).toBe(`PromQL(BinaryExpr(${rateSum},Add,${rateSum}))`);
    expect(tree(q.console)).toBe(
      'PromQL(AggregateExpr(AggregateOp(Max),AggregateModifier(By,GroupingLabels(LabelName,LabelName)),FunctionCallBody(VectorSelector(Identifier,LabelMatchers(UnquotedLabelMatcher(LabelName,MatchOp(EqlRegex),StringLiteral),UnquotedLabelMatcher(LabelName,MatchOp(EqlRegex),StringLiteral))))))',
    );
  });

  it('catches a broken query (the check can fail)', () => {
    expect(() => tree('sum by (namespace, name) (rate(x{name=~"a"b"}[300s]))')).toThrow(/syntax error/);
  });
});
