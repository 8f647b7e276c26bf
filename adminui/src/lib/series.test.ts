import { describe, expect, it } from 'vitest';
import type { Series, Totals } from '../api/client';
import { byGroup, emptyTotals, requestRows, tableRows, tokenRows } from './series';

function tot(p: Partial<Totals>): Totals {
  return { ...emptyTotals, ...p };
}

const series: Series = {
  tz: 'Asia/Shanghai',
  granularity: 'hour',
  group_by: 'model',
  from: '2026-12-03T08:00:00+08:00',
  to: '2026-12-03T10:00:00+08:00',
  buckets: ['2026-12-03T08:00:00+08:00', '2026-12-03T09:00:00+08:00'],
  series: [
    { group: 'claude-haiku-4-5', totals: tot({}), points: [tot({ requests: 2, errors: 1, input_tokens: 2000, output_tokens: 400, cost_micros: 4000 }), tot({})] },
    { group: 'claude-sonnet-4-5', totals: tot({}), points: [tot({}), tot({ requests: 1, input_tokens: 10, cache_read_tokens: 5, cost_micros: 90 })] },
  ],
  totals: tot({}),
};

describe('chart rows', () => {
  it('stacks a metric by line, labelled in the series zone', () => {
    const { rows, keys } = byGroup(series, 'cost');
    expect(keys).toEqual(['claude-haiku-4-5', 'claude-sonnet-4-5']);
    expect(rows.map((r) => [r.label, r['claude-haiku-4-5'], r['claude-sonnet-4-5']])).toEqual([
      ['08:00', 4000, 0],
      ['09:00', 0, 90],
    ]);
    expect(rows[1]?.range).toBe('2026-12-03 09:00 – 10:00');
  });
  it('folds lines past the limit into one', () => {
    const { rows, keys } = byGroup(series, 'requests', 1);
    expect(keys).toEqual(['claude-haiku-4-5', '…']);
    expect(rows.map((r) => r['…'])).toEqual([0, 1]);
  });
  it('splits tokens by kind and computes the error rate', () => {
    expect(tokenRows(series).map((r) => [r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens])).toEqual([
      [2000, 400, 0, 0],
      [10, 0, 5, 0],
    ]);
    expect(requestRows(series).map((r) => [r.requests, r.errors, r.error_rate])).toEqual([
      [2, 1, 0.5],
      [1, 0, 0],
    ]);
  });
  it('flattens to the CSV shape', () => {
    expect(tableRows(series).map((r) => [r.group, r.start, r.totals.requests])).toEqual([
      ['claude-haiku-4-5', '2026-12-03T08:00:00+08:00', 2],
      ['claude-haiku-4-5', '2026-12-03T09:00:00+08:00', 0],
      ['claude-sonnet-4-5', '2026-12-03T08:00:00+08:00', 0],
      ['claude-sonnet-4-5', '2026-12-03T09:00:00+08:00', 1],
    ]);
  });
});
