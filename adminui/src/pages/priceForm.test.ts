import { describe, expect, it } from 'vitest';
import { emptyPriceForm, priceBody, type PriceFormValues } from './priceForm';

const form = (v: Partial<PriceFormValues>): PriceFormValues => ({ ...emptyPriceForm('anthropic.claude-sonnet-4-5-20250929-v1:0'), from: '2030-01-01T00:00', input: '3', output: '15', ...v });

describe('priceBody', () => {
  it('sends dollars per million tokens as micro-dollars, the time in the viewer’s zone', () => {
    expect(priceBody(form({ route: ' global ', cacheRead: '0.30', cacheWrite: '3.75', cacheWrite1h: '6', source: ' aws ' }), 'Asia/Shanghai')).toEqual({
      model: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
      route: 'global',
      effective_from: '2029-12-31T16:00:00Z',
      input_micros_per_mtok: 3_000_000,
      output_micros_per_mtok: 15_000_000,
      cache_read_micros_per_mtok: 300_000,
      cache_write_micros_per_mtok: 3_750_000,
      cache_write_1h_micros_per_mtok: 6_000_000,
      source: 'aws',
    });
  });
  it('leaves empty rates out: the 1-hour write rate is then 2× input', () => {
    expect(priceBody(form({}), 'UTC')).toEqual({
      model: 'anthropic.claude-sonnet-4-5-20250929-v1:0', effective_from: '2030-01-01T00:00:00Z', input_micros_per_mtok: 3_000_000, output_micros_per_mtok: 15_000_000,
    });
  });
  it('sends long-context rates as one tier', () => {
    const b = priceBody(form({ tierAbove: '200000', tierInput: '6', tierOutput: '22.50', tierCacheRead: '0.6', tierCacheWrite: '7.5', tierCacheWrite1h: '$12' }), 'UTC');
    expect(b?.tiers).toEqual([
      { above_tokens: 200_000, input_micros_per_mtok: 6_000_000, output_micros_per_mtok: 22_500_000, cache_read_micros_per_mtok: 600_000, cache_write_micros_per_mtok: 7_500_000, cache_write_1h_micros_per_mtok: 12_000_000 },
    ]);
    expect(priceBody(form({ tierAbove: '200000', tierInput: '6', tierOutput: '22.5' }), 'UTC')?.tiers).toEqual([
      { above_tokens: 200_000, input_micros_per_mtok: 6_000_000, output_micros_per_mtok: 22_500_000, cache_read_micros_per_mtok: 0, cache_write_micros_per_mtok: 0 },
    ]);
  });
  it.each<[string, Partial<PriceFormValues>]>([
    ['no model', { model: ' ' }],
    ['no effective time', { from: '' }],
    ['no input rate', { input: '' }],
    ['an output rate that is not money', { output: 'fifteen' }],
    ['a 1-hour write rate with seven decimals', { cacheWrite1h: '6.0000001' }],
    ['a negative 1-hour write rate', { cacheWrite1h: '-6' }],
    ['a tier without its size', { tierInput: '6', tierOutput: '22.5' }],
    ['a tier of 0 tokens', { tierAbove: '0', tierInput: '6', tierOutput: '22.5' }],
    ['a tier size that is not whole', { tierAbove: '200k', tierInput: '6', tierOutput: '22.5' }],
    ['a tier without its input rate', { tierAbove: '200000', tierOutput: '22.5' }],
  ])('refuses %s', (_, v) => {
    expect(priceBody(form(v), 'UTC')).toBeNull();
  });
});
