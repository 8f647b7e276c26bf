import { describe, expect, it } from 'vitest';
import { budgetShare, change, formatCount, formatMoney, formatMoneyShort, formatPercent, formatTokens, formatTokensShort, microsToDollarsInput, parseMoney } from './format';

describe('formatMoney', () => {
  it.each([
    [0, '$0.00'],
    [1, '$0.000001'],
    [1234, '$0.001234'],
    [10_000, '$0.01'],
    [1_000_000, '$1.00'],
    [1_500_000, '$1.50'],
    [1_234_567, '$1.234567'],
    [1_200_000, '$1.20'],
    [1_000_000_000, '$1,000.00'],
    [1_234_567_891_234, '$1,234,567.891234'],
    [-250, '-$0.00025'],
    [-12_500_000, '-$12.50'],
  ])('%d micros → %s', (micros, want) => {
    expect(formatMoney(micros)).toBe(want);
  });
  it('refuses what is not an integer rather than round money', () => {
    expect(formatMoney(1.5)).toBe('—');
    expect(formatMoney(Number.NaN)).toBe('—');
  });
});

describe('formatMoneyShort', () => {
  it.each([
    [0, '$0.00'],
    [2_000_000, '$2.00'],
    [12_345_678, '$12.35'],
    [25_000_000_000, '$25k'],
    [1_500_000, '$1.50'],
    [1_200, '$0.0012'],
    [450_000, '$0.45'],
    [3_000_000_000_000, '$3M'],
  ])('%d → %s', (micros, want) => {
    expect(formatMoneyShort(micros)).toBe(want);
  });
});

describe('parseMoney', () => {
  it.each([
    ['12.5', 12_500_000],
    ['$1,000', 1_000_000_000],
    ['0.000001', 1],
    [' 3 ', 3_000_000],
    ['0', 0],
    ['250.', 250_000_000],
  ])('%s → %d micros', (text, want) => {
    expect(parseMoney(text)).toBe(want);
  });
  it.each(['', 'abc', '1.0000001', '-1', '1e3', '1.2.3'])('refuses %j', (text) => {
    expect(parseMoney(text)).toBeNull();
  });
  it('round-trips through the form value', () => {
    for (const m of [0, 1, 12_500_000, 1_234_567, 250_000_000]) expect(parseMoney(microsToDollarsInput(m))).toBe(m);
    expect(microsToDollarsInput(12_500_000)).toBe('12.5');
    expect(microsToDollarsInput(3_000_000)).toBe('3');
  });
});

describe('tokens and counts', () => {
  it('formats in full with separators', () => {
    expect(formatTokens(0)).toBe('0');
    expect(formatTokens(999)).toBe('999');
    expect(formatTokens(1000)).toBe('1,000');
    expect(formatTokens(1_234_567)).toBe('1,234,567');
    expect(formatCount(-4200)).toBe('-4,200');
  });
  it('abbreviates for axes', () => {
    expect(formatTokensShort(950)).toBe('950');
    expect(formatTokensShort(12_500)).toBe('12.5k');
    expect(formatTokensShort(3_400_000)).toBe('3.4M');
    expect(formatTokensShort(2_000_000_000)).toBe('2B');
  });
});

describe('change and shares', () => {
  it('compares with the previous period', () => {
    expect(change(150, 100)).toEqual({ direction: 'up', fraction: 0.5 });
    expect(change(50, 100)).toEqual({ direction: 'down', fraction: 0.5 });
    expect(change(7, 7)).toEqual({ direction: 'same' });
    expect(change(7, 0)).toEqual({ direction: 'new' });
  });
  it('formats percentages', () => {
    expect(formatPercent(0.1234)).toBe('12.3%');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.5, 0)).toBe('50%');
  });
  it('measures budgets', () => {
    expect(budgetShare(8_000_000, 10_000_000)).toBe(0.8);
    expect(budgetShare(undefined, 10_000_000)).toBe(0);
    expect(budgetShare(5, 0)).toBeNull();
  });
});
