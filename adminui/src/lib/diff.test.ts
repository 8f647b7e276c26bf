import { describe, expect, it } from 'vitest';
import { diffJSON } from './diff';

describe('diffJSON', () => {
  it('lists what an audit entry changed', () => {
    const before = { name: 'ci', rpm: 600, allowed_models: ['a'], expires_at: '2027-01-01T00:00:00Z' };
    const after = { name: 'ci', rpm: 1200, allowed_models: ['a', 'b'], monthly_budget_micros: 5_000_000 };
    expect(diffJSON(before, after)).toEqual([
      { path: 'allowed_models[0]', before: '"a"', after: '"a"', kind: 'same' },
      { path: 'allowed_models[1]', after: '"b"', kind: 'added' },
      { path: 'expires_at', before: '"2027-01-01T00:00:00Z"', kind: 'removed' },
      { path: 'monthly_budget_micros', after: '5000000', kind: 'added' },
      { path: 'name', before: '"ci"', after: '"ci"', kind: 'same' },
      { path: 'rpm', before: '600', after: '1200', kind: 'changed' },
    ]);
  });
  it('treats a missing side as empty (creations, deletions)', () => {
    expect(diffJSON(null, { model: 'x' })).toEqual([{ path: 'model', after: '"x"', kind: 'added' }]);
    expect(diffJSON({ model: 'x' }, undefined)).toEqual([{ path: 'model', before: '"x"', kind: 'removed' }]);
  });
});
